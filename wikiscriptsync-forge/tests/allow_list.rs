//! Requests go only to configured API hosts: not through a `Link` header, not through a redirect.

use wikiscriptsync_forge::testkit::TEST_USER_AGENT;
use wikiscriptsync_forge::{CommitSha, Forge, ForgeConfig, ForgeError, Forges, Usage};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SHA: &str = "3b18e512dba79e4c8300dd08aeb37f8e728b8dad";

#[tokio::test]
async fn a_link_header_pointing_at_another_host_is_not_followed() {
    let gitlab = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/g%2Fp"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": 7, "default_branch": "main"})),
        )
        .mount(&gitlab)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/7/repository/tree"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([]))
                .insert_header(
                    "Link",
                    format!("<{}/steal?page_token=x>; rel=\"next\"", elsewhere.uri()),
                ),
        )
        .expect(1)
        .mount(&gitlab)
        .await;
    let config = ForgeConfig::builder(TEST_USER_AGENT)
        .gitlab_instance(&gitlab.uri())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges
        .parse_repo_url(&format!("{}/g/p", gitlab.uri()))
        .unwrap();
    let commit = CommitSha::parse(SHA).unwrap();
    let err = forges
        .publishable_files(&repo, &commit, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::HostNotAllowed { .. }), "{err:?}");
    assert!(
        elsewhere
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let github = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path_regex("^/repos/o/r/commits/.*"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/collect", elsewhere.uri())),
        )
        .expect(1)
        .mount(&github)
        .await;
    let config = ForgeConfig::builder(TEST_USER_AGENT)
        .github_api_url(&github.uri())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges.parse_repo_url("https://github.com/o/r").unwrap();
    let err = forges
        .head(&repo, "main", None, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::HostNotAllowed { .. }), "{err:?}");
    assert!(
        elsewhere
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_redirect_within_the_api_host_is_followed() {
    let github = MockServer::start().await;
    Mock::given(path("/repos/o/old/commits/main"))
        .respond_with(ResponseTemplate::new(301).insert_header(
            "Location",
            format!("{}/repos/o/new/commits/main", github.uri()),
        ))
        .mount(&github)
        .await;
    Mock::given(path("/repos/o/new/commits/main"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(SHA)
                .insert_header("ETag", format!("\"{SHA}\"")),
        )
        .expect(1)
        .mount(&github)
        .await;
    let config = ForgeConfig::builder(TEST_USER_AGENT)
        .github_api_url(&github.uri())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges.parse_repo_url("https://github.com/o/old").unwrap();
    let probe = forges
        .head(&repo, "main", None, &mut Usage::default())
        .await
        .unwrap();
    assert_eq!(probe.sha().as_str(), SHA);
}
