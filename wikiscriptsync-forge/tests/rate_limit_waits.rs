//! Rate-limit waits are the client's choice: the jobs' client sleeps out a short secondary
//! limit and retries (holding the host's slot meanwhile), the web app's fails fast, saying
//! when to retry, and asks the host nothing more before then.

use std::time::Duration;

use wikiscriptsync_forge::testkit::{FakeGitHub, Fault, fast_retry};
use wikiscriptsync_forge::{
    Forge, ForgeError, Forges, LimitKind, RateLimitWaits, RetryPolicy, Usage,
};

/// A client of `fake` that would sleep out waits of up to two minutes unless told to fail fast.
async fn forges(fake: &FakeGitHub, waits: RateLimitWaits) -> Forges {
    let retry = RetryPolicy {
        max_wait: Duration::from_secs(120),
        ..fast_retry()
    };
    let config = fake.config_builder().retry(retry).rate_limit_waits(waits);
    Forges::new(config.build().unwrap()).unwrap()
}

#[tokio::test]
async fn a_fail_fast_client_returns_a_secondary_limit_at_once_and_then_leaves_the_host_alone() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/gadgets", [("src/a.js", "// a")]);
    let forges = forges(&fake, RateLimitWaits::FailFast).await;
    assert_eq!(forges.config().rate_limit_waits(), RateLimitWaits::FailFast);
    let repo = forges
        .parse_repo_url(&fake.repo_url("octo/gadgets"))
        .unwrap();
    // A wait the jobs' client would sleep out (see below): 30 s is within the maximum wait.
    fake.push_fault(Fault::SecondaryRateLimit {
        status: 403,
        retry_after: Some(30),
    });
    let mut usage = Usage::default();
    let err = Forge::head(&forges, &repo, "main", None, &mut usage)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::RateLimited {
                kind: LimitKind::Secondary,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("rate limit") && message.contains("no requests before"),
        "{message}"
    );
    assert_eq!(fake.stats().requests, 1, "no retry");
    // Until then the host is not asked again: the next call fails at once too.
    assert!(matches!(
        Forge::head(&forges, &repo, "main", None, &mut usage).await,
        Err(ForgeError::RateLimited { .. })
    ));
    assert_eq!(fake.stats().requests, 1);
}

#[tokio::test]
async fn the_default_client_sleeps_out_a_short_secondary_limit_and_retries() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/gadgets", [("src/a.js", "// a")]);
    let forges = forges(&fake, RateLimitWaits::default()).await;
    let repo = forges
        .parse_repo_url(&fake.repo_url("octo/gadgets"))
        .unwrap();
    fake.push_fault(Fault::SecondaryRateLimit {
        status: 403,
        retry_after: Some(0),
    });
    let mut usage = Usage::default();
    assert!(
        Forge::head(&forges, &repo, "main", None, &mut usage)
            .await
            .is_ok()
    );
    assert_eq!(fake.stats().requests, 2);
}
