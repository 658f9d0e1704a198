//! A user's share of a forge host, on the web: a repository page viewed again at an unchanged
//! head sends no tree request; once the user's share of the host for this hour is spent, the
//! page, "check now" and adding a repository say so, naming the host and when checks resume,
//! and send nothing to the forge.

mod common;

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};

use common::*;
use wikiscriptsync_core::forge::testkit::Endpoint;
use wikiscriptsync_core::quota::{Clock, hour_of};
use wikiscriptsync_core::store::{Forge, ForgeQuotaUse, NewRepository};

#[tokio::test]
async fn a_spent_share_is_said_on_the_page_and_sends_nothing() {
    let mut app = TestApp::start().await;
    // The shares are reckoned at a fixed instant, the last second of an hour, so the test
    // does not depend on the hour it runs in.
    let at = Utc.with_ymd_and_hms(2026, 6, 1, 3, 59, 59).unwrap();
    app.state.app = app.state.app.clone().with_quota_clock(Clock::fixed(at));
    app.router = wikiscriptsync_web::router(app.state.clone());
    let mut alice = app.login("alice").await;
    let user = app.user("alice").await;
    let repository = app
        .store
        .add_repository(
            user.id,
            &NewRepository {
                forge: Forge::GitHub,
                host: "github.com".into(),
                full_name: REPO.into(),
                url: app.github.repo_url(REPO),
                branch: "main".into(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let path = format!("/repositories/{}", repository.id);
    let first = app.get(&mut alice, &path).await;
    first.expect(StatusCode::OK);
    assert!(first.body.contains(SCRIPT_PATH), "{}", first.body);

    // Viewed again at the same head: only the conditional head probe.
    app.github.reset_stats();
    let again = app.get(&mut alice, &path).await;
    again.expect(StatusCode::OK);
    assert!(again.body.contains(SCRIPT_PATH));
    let stats = app.github.stats();
    assert_eq!(stats.by_endpoint.get(&Endpoint::Tree), None, "{stats:?}");
    assert_eq!(stats.requests, 1);

    // Alice's share of github.com for this hour is spent.
    app.store
        .record_forge_quota_use(&ForgeQuotaUse {
            user_id: user.id,
            host: "github.com".into(),
            spent: 1_000,
            recorded_at: at,
        })
        .await
        .unwrap();
    app.github.reset_stats();
    let (_, next) = hour_of(at);
    let resumes = format!("checks resume at {} UTC", next.format("%H:%M"));
    assert_eq!(resumes, "checks resume at 04:00 UTC");
    let page = app.get(&mut alice, &path).await;
    page.expect(StatusCode::OK);
    assert!(page.body.contains("share of github.com"), "{}", page.body);
    assert!(page.body.contains("requests for this hour is spent"));
    assert!(page.body.contains(&resumes), "{}", page.body);

    let check = app.post(&mut alice, &format!("{path}/check"), &[]).await;
    check.expect(StatusCode::SEE_OTHER);
    let location = check.location().unwrap().to_owned();
    assert!(location.ends_with("?check=share"), "{location}");
    let page = app.get(&mut alice, &location).await;
    assert!(
        page.body
            .contains("your share of this forge&#39;s requests for this hour is spent")
            || page
                .body
                .contains("your share of this forge&#x27;s requests for this hour is spent"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&resumes));

    let lookup = app
        .get(
            &mut alice,
            &format!(
                "/repositories/new?url={}",
                url::form_urlencoded::byte_serialize(app.github.repo_url(REPO).as_bytes())
                    .collect::<String>()
            ),
        )
        .await;
    assert!(lookup.body.contains(&resumes), "{}", lookup.body);
    assert_eq!(app.github.stats().requests, 0, "nothing sent to the forge");
}
