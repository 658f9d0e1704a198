//! OAuth 2.0 identity: authorize URL with PKCE S256 and state, code exchange, profile.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::json;
use url::Url;
use wikiscriptsync_mw::oauth::{
    OAuthClient, OAuthConfig, OAuthError, pkce_challenge, verify_state,
};
use wikiscriptsync_mw::{AllowList, SecretString, UserAgent, WikiUrlError};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_SECRET: &str = "client-secret-value-1234";

fn config(base: &str) -> OAuthConfig {
    OAuthConfig {
        base_url: Url::parse(base).unwrap(),
        client_id: "client-id-1".to_owned(),
        client_secret: Some(SecretString::from(CLIENT_SECRET)),
        redirect_uri: "https://wikiscriptsync.toolforge.org/oauth/callback".to_owned(),
    }
}

async fn server_and_client() -> (MockServer, OAuthClient) {
    let server = MockServer::start().await;
    let host = server.uri().trim_start_matches("http://").to_owned();
    let allow = AllowList::wikimedia().with_extra_hosts(&host).unwrap();
    let client = OAuthClient::new(
        config(&server.uri()),
        &UserAgent::from_contact("tests@example.org").unwrap(),
        &allow,
        Duration::from_secs(5),
    )
    .unwrap();
    (server, client)
}

#[test]
fn the_authorize_url_carries_pkce_s256_and_a_random_state() {
    let client = OAuthClient::new(
        config("https://meta.wikimedia.org"),
        &UserAgent::from_contact("tests@example.org").unwrap(),
        &AllowList::wikimedia(),
        Duration::from_secs(5),
    )
    .unwrap();

    let first = client.authorize().unwrap();
    let second = client.authorize().unwrap();

    assert_eq!(first.url.host_str(), Some("meta.wikimedia.org"));
    assert_eq!(first.url.path(), "/w/rest.php/oauth2/authorize");
    let params: HashMap<String, String> = first.url.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "client-id-1");
    assert_eq!(
        params["redirect_uri"],
        "https://wikiscriptsync.toolforge.org/oauth/callback"
    );
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["state"], first.state);
    assert_eq!(
        params["code_challenge"],
        pkce_challenge(first.verifier.expose_secret())
    );
    assert!(first.verifier.expose_secret().len() >= 43);
    assert!(!first.url.as_str().contains(first.verifier.expose_secret()));
    assert!(!first.url.as_str().contains(CLIENT_SECRET));
    assert_ne!(first.state, second.state);
    assert_ne!(
        first.verifier.expose_secret(),
        second.verifier.expose_secret()
    );
}

#[test]
fn an_oauth_server_outside_the_allow_list_is_refused() {
    let err = OAuthClient::new(
        config("https://evil.example.com"),
        &UserAgent::from_contact("tests@example.org").unwrap(),
        &AllowList::wikimedia(),
        Duration::from_secs(5),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        OAuthError::BaseUrl(WikiUrlError::HostNotAllowed { .. })
    ));
}

#[tokio::test]
async fn the_code_is_exchanged_with_the_verifier_and_secret_in_the_body_and_the_profile_read() {
    let (server, client) = server_and_client().await;
    let pending = client.authorize().unwrap();
    Mock::given(method("POST"))
        .and(path("/w/rest.php/oauth2/access_token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains(format!(
            "code_verifier={}",
            pending.verifier.expose_secret()
        )))
        .and(body_string_contains(format!(
            "client_secret={CLIENT_SECRET}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3600,
            "access_token": "access-token-xyz", "refresh_token": "refresh"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/w/rest.php/oauth2/resource/profile"))
        .and(header("authorization", "Bearer access-token-xyz"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sub": "12345", "username": "Alice", "editcount": 10, "confirmed_email": true,
            "blocked": false, "registered": "20200101000000", "groups": ["*", "user"],
            "rights": ["read"], "grants": ["mwoauth-authonly"]
        })))
        .expect(1)
        .mount(&server)
        .await;

    verify_state(&pending.state, &pending.state).unwrap();
    let token = client
        .exchange_code("the-code", &pending.verifier)
        .await
        .unwrap();
    let profile = client.profile(&token).await.unwrap();

    assert_eq!(profile.sub, "12345");
    assert_eq!(profile.username.as_deref(), Some("Alice"));
    assert!(!profile.blocked);
    assert_eq!(profile.grants, ["mwoauth-authonly"]);
    for request in server.received_requests().await.unwrap() {
        assert!(!request.url.as_str().contains(CLIENT_SECRET));
        assert!(!request.url.as_str().contains("access-token-xyz"));
        assert!(request.headers.get("user-agent").is_some());
    }
}

#[tokio::test]
async fn a_wrong_state_is_refused_and_server_refusals_are_typed() {
    let (server, client) = server_and_client().await;
    let pending = client.authorize().unwrap();
    let err = verify_state(&pending.state, "forged-state").unwrap_err();
    assert!(matches!(err, OAuthError::StateMismatch));
    assert!(server.received_requests().await.unwrap().is_empty());

    Mock::given(method("POST"))
        .and(path("/w/rest.php/oauth2/access_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "The code has expired"
        })))
        .mount(&server)
        .await;
    let err = client
        .exchange_code("old", &pending.verifier)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OAuthError::Refused { status: 400, ref error, .. } if error == "invalid_grant"),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(CLIENT_SECRET));
}
