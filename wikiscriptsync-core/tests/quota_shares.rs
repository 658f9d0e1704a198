//! One user cannot spend what everyone shares: a repository page view at an unchanged head
//! sends no tree request, the reserve is a share of the host's own limit (so checks run on
//! GitHub's 60 anonymous requests an hour), and a user past their share of a host is refused
//! or skipped — saying which host and when it resumes — while another user's check still runs.

mod common;
mod monitor_support;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use monitor_support::*;
use wikiscriptsync_core::app::{App, AppParts, CheckNowOutcome, UseCaseError};
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::forge::testkit::{Endpoint, FakeGitHub};
use wikiscriptsync_core::monitor::RepositoryChecker;
use wikiscriptsync_core::mw::testkit::FakeWiki;
use wikiscriptsync_core::quota::{Clock, QuotaPolicy, hour_of};
use wikiscriptsync_core::store::{ApiQuotaSnapshot, ForgeQuotaUse, Store, UserId};

/// The fake GitHub's web host as the stored repositories name it.
const HOST: &str = "github.com";

/// The instant the shares are reckoned at, whatever the wall clock says: the last second of
/// an hour, where a test reading the wall clock would see the hour turn between its steps.
fn share_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 3, 59, 59).unwrap()
}

fn clock() -> Clock {
    Clock::fixed(share_time())
}

fn app(store: &Arc<dyn Store>, wiki: &FakeWiki, github: &FakeGitHub) -> App {
    common::use_cases(Arc::clone(store), wiki, github, false).with_quota_clock(clock())
}

fn app_with_token(store: &Arc<dyn Store>, wiki: &FakeWiki, github: &FakeGitHub) -> App {
    App::new(AppParts {
        store: Arc::clone(store),
        wiki: Arc::new(common::mw_client(wiki)),
        forges: Arc::new(Forges::new(github_with_token(github).build().unwrap()).unwrap()),
        vault: None,
        runner_host: "tests".to_owned(),
    })
    .with_quota_clock(clock())
}

/// A snapshot of GitHub's anonymous limit in the quota log, as a run before left it.
async fn anonymous_limit_seen(store: &dyn Store, github: &FakeGitHub, remaining: i64) {
    let api_host = github.uri().trim_start_matches("http://").to_owned();
    store
        .record_api_quota(&ApiQuotaSnapshot {
            host: api_host,
            resource: "core".to_owned(),
            limit: 60,
            remaining,
            reset_at: Some(Utc::now() + Duration::minutes(50)),
            recorded_at: Utc::now(),
        })
        .await
        .unwrap();
}

/// Spends `spent` of the user's share of github.com in this hour.
async fn spend(store: &dyn Store, user: UserId, spent: u64) {
    store
        .record_forge_quota_use(&ForgeQuotaUse {
            user_id: user,
            host: HOST.to_owned(),
            spent,
            recorded_at: share_time(),
        })
        .await
        .unwrap();
}

/// For each of `owners` in turn, a repository `{org}/r{i}` on the fake GitHub holding one file,
/// `x.js`, tracked by that owner a second after the one before (so they fall due in this order).
async fn track_one_each(store: &dyn Store, github: &FakeGitHub, org: &str, owners: &[UserId]) {
    for (i, (owner, added)) in owners.iter().zip(times(owners.len())).enumerate() {
        let name = format!("{org}/r{i}");
        github.add_repo(&name, [("x.js", "1")]);
        track(store, *owner, github, &name, &["x.js"], added).await;
    }
}

/// A repository checker named `runner` over the fake GitHub, `parallel` checks at a time, its
/// shares reckoned at [`share_time`].
fn repo_checker(
    store: &Arc<dyn Store>,
    github: &FakeGitHub,
    runner: &str,
    parallel: usize,
) -> RepositoryChecker {
    RepositoryChecker::new(
        Arc::clone(store),
        forges(github.config_builder()),
        repo_settings(runner, parallel),
    )
    .with_quota_clock(clock())
}

#[tokio::test]
async fn a_second_page_view_at_the_same_head_sends_no_tree_request() {
    let (wiki, github) = (FakeWiki::start().await, FakeGitHub::start().await);
    github.add_repo("octo/gadgets", [("a.js", "1"), ("README.md", "r")]);
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    for app in [
        app(&store, &wiki, &github),
        app_with_token(&store, &wiki, &github),
    ] {
        let repo = match app
            .add_repository(alice, &github.repo_url("octo/gadgets"), None)
            .await
        {
            Ok(repo) => repo,
            Err(UseCaseError::Conflict(_)) => {
                app.repositories(alice).await.unwrap()[0].repository.clone()
            }
            Err(err) => panic!("{err}"),
        };
        let first = app.branch_files(&repo).await.unwrap();
        github.reset_stats();
        let second = app.branch_files(&repo).await.unwrap();
        let stats = github.stats();
        assert_eq!(stats.by_endpoint.get(&Endpoint::Tree), None, "{stats:?}");
        // Without a token, only the conditional head probe; with one, the repository is
        // first asked whether it is still public (a conditional request too).
        let asked_visibility = stats.by_endpoint.get(&Endpoint::Repository).copied();
        let expected = 1 + asked_visibility.unwrap_or(0);
        assert!(asked_visibility.is_none_or(|n| n == 1), "{stats:?}");
        assert_eq!(
            stats.requests, expected,
            "the conditional head probe (+ visibility)"
        );
        assert_eq!(stats.not_modified, expected, "every one answered 304");
        assert_eq!((second.head, second.files), (first.head, first.files));
    }
    // With a token the probe costs no quota at all; a moved head reads the tree again.
    let app = app_with_token(&store, &wiki, &github);
    let repo = app.repositories(alice).await.unwrap()[0].repository.clone();
    app.branch_files(&repo).await.unwrap();
    github.reset_stats();
    app.branch_files(&repo).await.unwrap();
    assert_eq!(github.stats().quota_spent, 0);
    github.commit("octo/gadgets", "main", [("b.css", Some("2"))]);
    let moved = app.branch_files(&repo).await.unwrap();
    assert_eq!(github.stats().by_endpoint.get(&Endpoint::Tree), Some(&1));
    let paths: Vec<&str> = moved.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["a.js", "b.css"]);
}

#[tokio::test]
async fn the_reserve_on_a_60_per_hour_host_lets_scheduled_checks_run() {
    let github = FakeGitHub::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    track_one_each(store.as_ref(), &github, "octo", &[alice; 3]).await;
    // Anonymous GitHub: 60 an hour, 50 of them left. A fixed reserve of 100 checked nothing.
    anonymous_limit_seen(store.as_ref(), &github, 50).await;
    let checker = repo_checker(&store, &github, "runner", 1);
    let report = checker.run().await.unwrap();
    assert_eq!(report.checked, 3, "{}", report.summary());
    assert!(report.reserve_reached.is_empty(), "{}", report.summary());

    // The reserve is still kept: 10% of 60 is 6, and a host below it is left alone.
    anonymous_limit_seen(store.as_ref(), &github, 5).await;
    let checker = repo_checker(&store, &github, "runner-2", 1);
    let again = checker.run().await.unwrap();
    assert_eq!(again.checked, 0, "{}", again.summary());
    assert_eq!(again.reserve_reached[0].remaining, Some(5));
}

#[tokio::test]
async fn a_user_past_their_share_is_skipped_while_another_users_check_still_runs() {
    let github = FakeGitHub::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let (alice, bob) = (
        user(store.as_ref(), "Alice").await,
        user(store.as_ref(), "Bob").await,
    );
    track_one_each(store.as_ref(), &github, "octo", &[alice, alice, alice, bob]).await;
    anonymous_limit_seen(store.as_ref(), &github, 60).await;
    // Two users on github.com: each may spend (60 - 6) / 2 = 27 this hour.
    let share = QuotaPolicy::default().user_share(60, 2);
    assert_eq!(share, 27);
    spend(store.as_ref(), alice, share - 2).await;
    let checker = repo_checker(&store, &github, "runner", 1);
    let report = checker.run().await.unwrap();
    // Alice's first repository costs her last 2 (probe and tree); her other two wait. Bob's
    // repository, due last, is still checked.
    assert_eq!(report.checked, 2, "{}", report.summary());
    assert_eq!(report.shares_spent.len(), 1, "{}", report.summary());
    let spent = &report.shares_spent[0];
    assert_eq!(
        (spent.spent.user, spent.spent.host.as_str(), spent.skipped),
        (alice, HOST, 2)
    );
    let (start, next) = hour_of(share_time());
    let summary = report.summary();
    assert!(
        summary.contains(&format!(
            "user {alice}'s share of github.com's requests for this hour is spent (27 of 27): \
             2 of their repositories left, checks resume at {} UTC",
            next.format("%H:%M")
        )),
        "{summary}"
    );
    // What each check cost is counted against its own user.
    assert_eq!(
        store.forge_quota_spent(alice, HOST, start).await.unwrap(),
        27
    );
    assert_eq!(store.forge_quota_spent(bob, HOST, start).await.unwrap(), 2);
    // Alice's skipped repositories are still due for a later run.
    assert_eq!(
        store.due_counts(Utc::now()).await.unwrap().repositories,
        4,
        "checked ones are due again at once in tests, skipped ones stay due"
    );
}

#[tokio::test]
async fn a_spent_share_refuses_page_views_and_checks_naming_the_host_and_when_it_resumes() {
    let (wiki, github) = (FakeWiki::start().await, FakeGitHub::start().await);
    github.add_repo("octo/gadgets", [("a.js", "1")]);
    let db = TestDb::sqlite();
    let store = db.open().await;
    let app = app(&store, &wiki, &github);
    let (alice, bob) = (
        user(store.as_ref(), "Alice").await,
        user(store.as_ref(), "Bob").await,
    );
    let url = github.repo_url("octo/gadgets");
    let mine = app.add_repository(alice, &url, None).await.unwrap();
    let theirs = app.add_repository(bob, &url, None).await.unwrap();
    let (start, next) = hour_of(share_time());
    let spent_before = store.forge_quota_spent(alice, HOST, start).await.unwrap();
    assert!(
        spent_before > 0,
        "adding a repository counts against the share"
    );
    // Alice clicks until her share is spent.
    spend(store.as_ref(), alice, 27).await;
    github.reset_stats();
    let expected = format!(
        "Your share of github.com's requests for this hour is spent ({} of 27); checks resume \
         at {} UTC.",
        spent_before + 27,
        next.format("%H:%M")
    );
    let refused = app.branch_files(&mine).await.unwrap_err();
    assert!(
        matches!(refused, UseCaseError::ShareSpent(_)),
        "{refused:?}"
    );
    assert_eq!(refused.to_string(), expected);
    let refused = app
        .add_repository(alice, &github.repo_url("octo/gadgets"), Some("other"))
        .await
        .unwrap_err();
    assert_eq!(refused.to_string(), expected);
    let (outcome, report) = app
        .check_repository_now(alice, mine.id, "tests")
        .await
        .unwrap();
    assert_eq!(outcome, CheckNowOutcome::Share);
    assert!(outcome.sentence().contains("your share"));
    assert_eq!(
        report.unwrap().shares_spent[0].spent.to_string(),
        expected,
        "the CLI prints this"
    );
    assert_eq!(github.stats().requests, 0, "refused before any request");

    // Bob's share is his own.
    let (outcome, _) = app
        .check_repository_now(bob, theirs.id, "tests")
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert!(app.branch_files(&theirs).await.is_ok());
}

#[tokio::test]
async fn every_repository_skipped_for_a_spent_share_is_counted_with_checks_in_parallel() {
    let github = FakeGitHub::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let mallory = user(store.as_ref(), "Mallory").await;
    track_one_each(store.as_ref(), &github, "mallory", &[mallory; 20]).await;
    anonymous_limit_seen(store.as_ref(), &github, 60).await;
    spend(store.as_ref(), mallory, 54).await;
    let checker = repo_checker(&store, &github, "runner", 8);
    let report = checker.run().await.unwrap();
    assert_eq!(report.checked, 0, "{}", report.summary());
    assert_eq!(report.shares_spent.len(), 1);
    assert_eq!(report.shares_spent[0].skipped, 20, "{}", report.summary());
    assert_eq!(github.stats().requests, 0);
}

/// The use cases over the publisher test environment's parts.
fn publishing_app(env: &common::Env) -> App {
    App::new(AppParts {
        store: Arc::clone(&env.store),
        wiki: env.client.clone(),
        forges: Arc::clone(&env.forges),
        vault: Some(Arc::clone(&env.vault)),
        runner_host: "tests".to_owned(),
    })
    .with_quota_clock(clock())
}

#[tokio::test]
async fn a_publish_counts_against_the_users_share_and_is_refused_past_it_before_any_request() {
    let env = common::Env::start().await;
    env.store_credential(common::ADMIN).await;
    let mapping = env
        .checked_mapping(common::PAGE, common::create_allowed())
        .await;
    let app = publishing_app(&env);
    // GitHub's anonymous 60 an hour, one user tracking there: a share of 54.
    anonymous_limit_seen(env.store.as_ref(), &env.github, 59).await;
    let (start, _) = hour_of(share_time());
    env.github.reset_stats();
    let published = app.publish(env.user, mapping, false).await.unwrap();
    published.result.unwrap();
    let sent = env.github.stats().quota_spent;
    assert!(sent >= 1, "the file was fetched");
    assert_eq!(
        env.store
            .forge_quota_spent(env.user, HOST, start)
            .await
            .unwrap(),
        sent,
        "the publish's forge requests count against the publishing user"
    );

    spend(env.store.as_ref(), env.user, 54 - sent).await;
    env.github.reset_stats();
    let wiki_before = env.wiki.request_count();
    let refusals = [
        app.publish(env.user, mapping, false).await.map(|_| ()),
        app.preview(env.user, mapping).await.map(|_| ()),
        app.publish_ad_hoc(
            env.ad_hoc(common::ADMIN, common::PASSWORD, common::PAGE),
            common::opts(false, false),
        )
        .await
        .map(|_| ()),
    ];
    for refused in refusals {
        let Err(UseCaseError::ShareSpent(spent)) = refused else {
            panic!("not refused: {refused:?}");
        };
        assert_eq!(
            (spent.host.as_str(), spent.spent, spent.share),
            (HOST, 54, 54)
        );
        assert!(
            spent
                .to_string()
                .starts_with("Your share of github.com's requests for this hour is spent"),
            "{spent}"
        );
    }
    assert_eq!(env.github.stats().requests, 0, "no forge request");
    assert_eq!(env.wiki.request_count(), wiki_before, "no wiki request");
}

#[tokio::test]
async fn with_a_token_a_read_budgets_the_visibility_question_and_the_check_too() {
    let (wiki, github) = (FakeWiki::start().await, FakeGitHub::start().await);
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    github.add_repo("octo/gadgets", [("a.js", "1")]);
    let (repo, _) = track(
        store.as_ref(),
        alice,
        &github,
        "octo/gadgets",
        &["a.js"],
        times(1)[0],
    )
    .await;
    anonymous_limit_seen(store.as_ref(), &github, 60).await;
    // Alice alone on github.com: a share of 54, of which 2 are left.
    let share = QuotaPolicy::default().user_share(60, 1);
    spend(store.as_ref(), alice, share - 2).await;
    github.reset_stats();
    // With a token, a page view not in the cache asks whether the repository is still
    // public, then probes the head and reads the tree: 3 requests do not fit in 2.
    let app = app_with_token(&store, &wiki, &github);
    let refused = app.branch_files(&repo).await.unwrap_err();
    assert!(matches!(refused, UseCaseError::ShareSpent(_)), "{refused}");
    assert_eq!(github.stats().requests, 0, "refused before any request");
    // And so is a scheduled check left only 1: the visibility question and the probe.
    spend(store.as_ref(), alice, 1).await;
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(github_with_token(&github)),
        repo_settings("runner", 1),
    )
    .with_quota_clock(clock());
    let report = checker.run().await.unwrap();
    assert_eq!(report.checked, 0, "{}", report.summary());
    assert_eq!(report.shares_spent.len(), 1, "{}", report.summary());
    assert_eq!(github.stats().requests, 0, "skipped before any request");
}
