//! Answers are read with a size cap: a wiki (or a proxy in front of it) or the OAuth server
//! sending more than any answer we ask for gets a clear error, not all of our memory.

use std::time::Duration;

use serde_json::json;
use url::Url;
use wikiscriptsync_mw::oauth::{OAuthClient, OAuthConfig, OAuthError};
use wikiscriptsync_mw::{
    ActionApiClient, AllowList, ClientConfig, Error, RetryPolicy, SecretString, UserAgent,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn allow(server: &MockServer) -> AllowList {
    let host = server.uri().trim_start_matches("http://").to_owned();
    AllowList::wikimedia().with_extra_hosts(&host).unwrap()
}

/// A JSON answer of about `bytes` bytes, as a wiki would send it.
fn big_answer(bytes: usize) -> serde_json::Value {
    json!({"batchcomplete": true, "padding": "x".repeat(bytes)})
}

#[tokio::test]
async fn a_wiki_answer_larger_than_the_cap_is_refused_saying_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/w/api.php"))
        .respond_with(ResponseTemplate::new(200).set_body_json(big_answer(2 * 1024 * 1024)))
        .mount(&server)
        .await;
    let mut config = ClientConfig::new(UserAgent::from_contact("tests@example.org").unwrap());
    config.allow_list = allow(&server);
    config.retry = RetryPolicy::fast_for_tests();
    config.max_response_bytes = 1024 * 1024;
    let client = ActionApiClient::new(config.clone()).unwrap();
    let wiki = client
        .parse_wiki(&format!("{}/w/api.php", server.uri()))
        .unwrap();
    let session = client.anonymous_session(&wiki).unwrap();
    let err = session.lookup_revisions(&["Main Page"]).await.unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == 1024 * 1024),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("larger than 1048576 bytes"), "{message}");

    // The same answer under the cap is read.
    config.max_response_bytes = 4 * 1024 * 1024;
    let client = ActionApiClient::new(config).unwrap();
    let session = client.anonymous_session(&wiki).unwrap();
    let read = session.lookup_revisions(&["Main Page"]).await;
    assert!(!matches!(read, Err(Error::TooLarge { .. })), "{read:?}");
}

#[tokio::test]
async fn an_oauth_answer_larger_than_the_cap_is_refused_saying_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/w/rest.php/oauth2/resource/profile"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sub": "1",
            "username": "x".repeat(1024 * 1024),
        })))
        .mount(&server)
        .await;
    let client = OAuthClient::new(
        OAuthConfig {
            base_url: Url::parse(&server.uri()).unwrap(),
            client_id: "client".to_owned(),
            client_secret: None,
            redirect_uri: "https://wikiscriptsync.toolforge.org/oauth/callback".to_owned(),
        },
        &UserAgent::from_contact("tests@example.org").unwrap(),
        &allow(&server),
        Duration::from_secs(5),
    )
    .unwrap();
    let err = client
        .profile(&SecretString::from("token"))
        .await
        .unwrap_err();
    match err {
        OAuthError::InvalidResponse(detail) => {
            assert!(detail.contains("larger than 65536 bytes"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}
