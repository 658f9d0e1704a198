//! Rate-limit headers are outside input: absurd values end in a typed error, never a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wikiscriptsync_forge::testkit::test_user_agent;
use wikiscriptsync_forge::{Forge, ForgeConfig, ForgeError, Forges, LimitKind, Usage};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// 9999-12-31T23:59:59Z: the latest instant a wait is clamped to.
fn latest() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(253_402_300_799)
}

async fn github_answering(reply: ResponseTemplate) -> ForgeError {
    let github = MockServer::start().await;
    Mock::given(any()).respond_with(reply).mount(&github).await;
    let config = ForgeConfig::builder(test_user_agent())
        .github_api_url(&github.uri())
        .build()
        .unwrap();
    let forges = Forges::new(config).unwrap();
    let repo = forges.parse_repo_url("https://github.com/o/r").unwrap();
    Forge::head(&forges, &repo, "main", None, &mut Usage::default())
        .await
        .unwrap_err()
}

fn retry_at(err: &ForgeError, expected: LimitKind) -> SystemTime {
    // Formatting the error writes the instant as an HTTP date, which must not panic either.
    let message = err.to_string();
    match err {
        ForgeError::RateLimited { kind, retry_at, .. } if *kind == expected => *retry_at,
        _ => panic!("{message}: {err:?}"),
    }
}

#[tokio::test]
async fn a_huge_primary_reset_is_clamped() {
    let err = github_answering(
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", u64::MAX.to_string()),
    )
    .await;
    assert_eq!(retry_at(&err, LimitKind::Primary), latest());
}

#[tokio::test]
async fn a_huge_secondary_retry_after_is_clamped() {
    let err = github_answering(
        ResponseTemplate::new(429).insert_header("Retry-After", u64::MAX.to_string()),
    )
    .await;
    assert_eq!(retry_at(&err, LimitKind::Secondary), latest());
}

#[tokio::test]
async fn a_huge_gitlab_retry_after_on_exhausted_quota_is_clamped() {
    let gitlab = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("RateLimit-Limit", "2000")
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("Retry-After", u64::MAX.to_string()),
        )
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
    let err = Forge::default_branch(&forges, &repo, &mut Usage::default())
        .await
        .unwrap_err();
    assert_eq!(retry_at(&err, LimitKind::Primary), latest());
}
