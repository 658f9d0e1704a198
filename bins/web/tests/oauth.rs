//! Wikimedia OAuth 2.0 login against a wiremock OAuth server: PKCE S256 and state, the user
//! keyed by `sub`, the access token used once and never shown or kept.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::*;
use wikiscriptsync_core::mw::oauth::{OAuthClient, OAuthConfig, pkce_challenge};
use wikiscriptsync_core::mw::{AllowList, UserAgent};

const ACCESS_TOKEN: &str = "access-token-that-must-not-leak-77";

async fn production_app() -> (TestApp, MockServer) {
    let server = MockServer::start().await;
    let host = server.uri().trim_start_matches("http://").to_owned();
    let client = OAuthClient::new(
        OAuthConfig {
            base_url: Url::parse(&server.uri()).unwrap(),
            client_id: "client-1".into(),
            client_secret: Some("client-secret".to_owned().into()),
            redirect_uri: "https://wikiscriptsync.toolforge.org/oauth/callback".into(),
        },
        &UserAgent::from_contact("https://example.org/tests").unwrap(),
        &AllowList::wikimedia().with_extra_hosts(&host).unwrap(),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut app = TestApp::start().await;
    let mut state = app.state.clone();
    state.mode = wikiscriptsync_web::Mode::Production;
    state.oauth = Some(Arc::new(client));
    app.router = wikiscriptsync_web::router(state.clone());
    app.state = state;
    (app, server)
}

fn query(url: &str, name: &str) -> String {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn oauth_login_uses_pkce_and_state_keys_the_user_by_sub_and_drops_the_token() {
    let (app, server) = production_app().await;
    let mut agent = Agent::default();
    let login = app.get(&mut agent, "/login").await;
    assert!(login.body.contains("/login/oauth"), "{}", login.body);

    let start = app.get(&mut agent, "/login/oauth").await;
    start.expect(StatusCode::SEE_OTHER);
    let authorize = start.location().unwrap().to_owned();
    assert!(authorize.starts_with(&format!("{}/w/rest.php/oauth2/authorize", server.uri())));
    assert_eq!(query(&authorize, "code_challenge_method"), "S256");
    assert_eq!(query(&authorize, "response_type"), "code");
    let state = query(&authorize, "state");
    let challenge = query(&authorize, "code_challenge");
    assert!(state.len() >= 32 && challenge.len() == 43);
    // The verifier is only in the encrypted cookie, never in the redirect.
    assert!(!authorize.contains("code_verifier"));

    // A forged state is refused before any request to the OAuth server.
    let forged = app
        .get(
            &mut agent.clone(),
            "/oauth/callback?code=the-code&state=forged",
        )
        .await;
    forged.expect(StatusCode::BAD_REQUEST);
    assert!(server.received_requests().await.unwrap().is_empty());

    // The real callback: the token exchange carries the verifier whose S256 is the challenge.
    Mock::given(method("POST"))
        .and(path("/w/rest.php/oauth2/access_token"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("code_verifier="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/w/rest.php/oauth2/resource/profile"))
        .and(header(
            "authorization",
            format!("Bearer {ACCESS_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sub": "4242", "username": "Alice Example", "blocked": false
        })))
        .expect(1)
        .mount(&server)
        .await;
    let callback = app
        .get(
            &mut agent,
            &format!("/oauth/callback?code=the-code&state={state}"),
        )
        .await;
    callback.expect(StatusCode::SEE_OTHER);
    assert_eq!(callback.location(), Some("/"));
    let requests = server.received_requests().await.unwrap();
    let exchange = String::from_utf8_lossy(&requests[0].body).into_owned();
    let verifier = exchange
        .split('&')
        .find_map(|kv| kv.strip_prefix("code_verifier="))
        .unwrap();
    assert_eq!(pkce_challenge(verifier), challenge);

    let dashboard = app.get(&mut agent, "/").await;
    dashboard.expect(StatusCode::OK);
    assert!(dashboard.body.contains("Alice Example"));
    assert!(!dashboard.body.contains("Development mode"));
    let user = app.store.user_by_central_id("4242").await.unwrap().unwrap();
    assert_eq!(user.username, "Alice Example");
    for response in [&start, &callback, &dashboard] {
        assert!(!response.body.contains(ACCESS_TOKEN));
        for value in response.headers.values() {
            assert!(!value.to_str().unwrap_or_default().contains(ACCESS_TOKEN));
        }
    }

    // The state is single-use: replaying the callback does not log in again.
    let replay = app
        .get(
            &mut agent.clone(),
            &format!("/oauth/callback?code=the-code&state={state}"),
        )
        .await;
    replay.expect(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_refused_oauth_login_says_so_and_logs_nobody_in() {
    let (app, server) = production_app().await;
    let mut agent = Agent::default();
    let start = app.get(&mut agent, "/login/oauth").await;
    let state = query(start.location().unwrap(), "state");
    Mock::given(method("POST"))
        .and(path("/w/rest.php/oauth2/access_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "The code has expired"
        })))
        .mount(&server)
        .await;
    let callback = app
        .get(
            &mut agent,
            &format!("/oauth/callback?code=old&state={state}"),
        )
        .await;
    callback.expect(StatusCode::BAD_REQUEST);
    assert!(
        callback.body.contains("did not confirm the login"),
        "{}",
        callback.body
    );
    assert_eq!(app.get(&mut agent, "/").await.location(), Some("/login"));
    // The user declined on Wikimedia's page.
    let declined = app
        .get(&mut agent, "/oauth/callback?error=access_denied")
        .await;
    declined.expect(StatusCode::BAD_REQUEST);
}

/// Logs in through the OAuth round trip as the profile `profile`, with `code` (each login its
/// own code and token); the callback's response.
async fn oauth_login(
    app: &TestApp,
    server: &MockServer,
    agent: &mut Agent,
    code: &str,
    profile: serde_json::Value,
) -> TestResponse {
    let start = app.get(agent, "/login/oauth").await;
    let state = query(start.location().unwrap(), "state");
    let token = format!("token-{code}");
    Mock::given(method("POST"))
        .and(path("/w/rest.php/oauth2/access_token"))
        .and(body_string_contains(format!("code={code}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "token_type": "Bearer", "expires_in": 3600
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/w/rest.php/oauth2/resource/profile"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(profile))
        .mount(server)
        .await;
    app.get(agent, &format!("/oauth/callback?code={code}&state={state}"))
        .await
}

#[tokio::test]
async fn a_blocked_account_cannot_log_in() {
    let (app, server) = production_app().await;
    let mut agent = Agent::default();
    let callback = oauth_login(
        &app,
        &server,
        &mut agent,
        "blocked-code",
        json!({ "sub": "666", "username": "Vandal", "blocked": true }),
    )
    .await;
    callback.expect(StatusCode::FORBIDDEN);
    assert!(callback.body.contains("blocked"), "{}", callback.body);
    assert_eq!(app.get(&mut agent, "/").await.location(), Some("/login"));
    assert!(app.store.user_by_central_id("666").await.unwrap().is_none());
}

/// Administrators are known by central id: a renamed administrator keeps the metrics page,
/// and whoever takes the old name later does not get it.
#[tokio::test]
async fn admin_rights_follow_the_central_id_not_the_user_name() {
    let (mut app, server) = production_app().await;
    let mut state = app.state.clone();
    state.admins = Arc::new(["4242".to_owned()].into_iter().collect());
    app.router = wikiscriptsync_web::router(state.clone());
    app.state = state;

    let mut admin = Agent::default();
    oauth_login(
        &app,
        &server,
        &mut admin,
        "c1",
        json!({ "sub": "4242", "username": "Alice Example", "blocked": false }),
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    app.get(&mut admin, "/admin/metrics")
        .await
        .expect(StatusCode::OK);

    let mut renamed = Agent::default();
    oauth_login(
        &app,
        &server,
        &mut renamed,
        "c2",
        json!({ "sub": "4242", "username": "Alice Renamed", "blocked": false }),
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let metrics = app.get(&mut renamed, "/admin/metrics").await;
    metrics.expect(StatusCode::OK);
    assert!(metrics.body.contains("Alice Renamed"), "{}", metrics.body);

    let mut usurper = Agent::default();
    oauth_login(
        &app,
        &server,
        &mut usurper,
        "c3",
        json!({ "sub": "9999", "username": "Alice Example", "blocked": false }),
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    app.get(&mut usurper, "/").await.expect(StatusCode::OK);
    app.get(&mut usurper, "/admin/metrics")
        .await
        .expect(StatusCode::NOT_FOUND);
}
