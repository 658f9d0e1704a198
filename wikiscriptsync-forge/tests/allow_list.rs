//! Requests go only to configured API hosts: not through a `Link` header, not through a redirect.

use wikiscriptsync_forge::testkit::{TEST_USER_AGENT, test_user_agent};
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
    let config = ForgeConfig::builder(test_user_agent())
        .gitlab_instance(&gitlab.uri())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges
        .parse_repo_url(&format!("{}/g/p", gitlab.uri()))
        .unwrap();
    let commit = CommitSha::parse(SHA).unwrap();
    let err = Forge::publishable_files(&forges, &repo, &commit, &mut Usage::default())
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
    let config = ForgeConfig::builder(test_user_agent())
        .github_api_url(&github.uri())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges.parse_repo_url("https://github.com/o/r").unwrap();
    let err = Forge::head(&forges, &repo, "main", None, &mut Usage::default())
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
    let config = ForgeConfig::builder(test_user_agent())
        .github_api_url(&github.uri())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges.parse_repo_url("https://github.com/o/old").unwrap();
    let probe = Forge::head(&forges, &repo, "main", None, &mut Usage::default())
        .await
        .unwrap();
    assert_eq!(probe.sha().as_str(), SHA);
}

#[tokio::test]
async fn health_check_asks_each_fake_host_once_without_spending_github_quota() {
    use wikiscriptsync_forge::testkit::{Endpoint, FakeGitHub, FakeGitLab};
    let github = FakeGitHub::start().await;
    let gitlab = FakeGitLab::start().await;
    let config = github
        .config_builder_with_token("ghp_x")
        .gitlab_instance(&gitlab.uri())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let github_health = forges.check_instance(forges.config().github()).await;
    let snapshot = github_health.result.unwrap().unwrap();
    assert_eq!(snapshot.limit, Some(5000));
    assert_eq!(github.stats().quota_spent, 0);
    assert_eq!(github.requests()[0].endpoint, Endpoint::RateLimit);
    assert_eq!(
        github.requests()[0].user_agent.as_deref(),
        Some(TEST_USER_AGENT)
    );

    let instance = forges
        .config()
        .gitlab_instances()
        .iter()
        .find(|i| i.api_base.as_str().starts_with(&gitlab.uri()))
        .unwrap();
    // Anonymous: GitLab answers 401, which still proves the host is up.
    let anonymous = forges.check_instance(instance).await;
    assert!(anonymous.result.is_ok(), "{anonymous:?}");
    assert!(!anonymous.authenticated);

    // A token GitLab refuses is reported.
    gitlab.accept_only_token("glpat-right");
    let config = gitlab
        .config_builder_with_token("glpat-wrong")
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let instance = forges
        .config()
        .gitlab_instances()
        .iter()
        .find(|i| i.api_base.as_str().starts_with(&gitlab.uri()))
        .unwrap();
    let refused = forges.check_instance(instance).await;
    assert!(
        matches!(
            refused.result,
            Err(ForgeError::Unauthorized { status: 401, .. })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_unreachable_host_is_a_network_error_after_the_retries() {
    // Bind and drop a listener so the port is (very likely) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ForgeConfig::builder(test_user_agent())
        .github_api_url(&format!("http://127.0.0.1:{port}"))
        .retry(wikiscriptsync_forge::testkit::fast_retry())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges.parse_repo_url("https://github.com/o/r").unwrap();
    let mut usage = Usage::default();
    let err = Forge::head(&forges, &repo, "main", None, &mut usage)
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(usage.requests, 0, "no request reached a server");
}

#[tokio::test]
async fn the_gitlab_token_never_follows_a_redirect_to_another_allowed_host() {
    const GITLAB_TOKEN: &str = "glpat-TokenThatMustStayOnItsHost";
    let gitlab = MockServer::start().await;
    // Another configured instance: allowed as a host, but not the token's.
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/api/v4/projects/g%2Fp", other.uri())),
        )
        .mount(&gitlab)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": 7, "default_branch": "main"})),
        )
        .mount(&other)
        .await;
    let host = gitlab.uri().trim_start_matches("http://").to_owned();
    let config = ForgeConfig::builder(test_user_agent())
        .gitlab_instance(&gitlab.uri())
        .gitlab_instance(&other.uri())
        .gitlab_token(&host, wikiscriptsync_forge::Token::from(GITLAB_TOKEN))
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges
        .parse_repo_url(&format!("{}/g/p", gitlab.uri()))
        .unwrap();
    let result = Forge::default_branch(&forges, &repo, &mut Usage::default()).await;
    let leaked = other
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .any(|r| r.headers.contains_key("private-token"));
    assert!(!leaked, "the token went to {}", other.uri());
    assert!(
        matches!(result, Err(ForgeError::HostNotAllowed { .. })),
        "{result:?}"
    );
    assert_eq!(
        gitlab.received_requests().await.unwrap_or_default().len(),
        1
    );
}
