//! The repository checker, page watcher and notifier over the fakes: request counts, change
//! detection, the check logs, exactly-once notification, the quota reserve, per-repository
//! failures and the database going away mid-run.

mod monitor_support;

use std::sync::Arc;
use std::time::Duration;

use monitor_support::*;
use wikiscriptsync_core::forge::testkit::{Endpoint, FakeGitHub, Fault};
use wikiscriptsync_core::monitor::{
    ChangeEvent, PageWatcher, Progress, RepositoryCheckSettings, RepositoryChecker, RunError,
};
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::notify::{Notifier, NotifierSettings};
use wikiscriptsync_core::store::{PageRequest, Store};

fn notifier(store: &Arc<dyn Store>, wiki: &FakeWiki, bot: bool) -> Notifier {
    let bot = bot
        .then(|| wikiscriptsync_core::mw::BotPassword::new(NOTIFIER, PASSWORD.to_owned().into()));
    Notifier::new(
        Arc::clone(store),
        wiki_client(&[wiki.host()]),
        bot,
        NotifierSettings::new("notifier-test"),
    )
}

/// A fake wiki with the notification bot (talk-page rights only) and Alice's talk page.
async fn notify_wiki() -> FakeWiki {
    let wiki = FakeWiki::start().await;
    wiki.add_account(FakeAccount::new(NOTIFIER, PASSWORD));
    wiki.add_page("User talk:Alice", "Welcome!");
    wiki
}

#[tokio::test]
async fn unchanged_repositories_cost_no_quota_with_a_token() {
    let github = FakeGitHub::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let at = times(5);
    for (i, added) in at.iter().enumerate() {
        let name = format!("octo/repo{i}");
        github.add_repo(
            &name,
            [("a.js", format!("a{i}")), ("b.css", format!("b{i}"))],
        );
        track(
            store.as_ref(),
            alice,
            &github,
            &name,
            &["a.js", "b.css"],
            *added,
        )
        .await;
    }
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(github_with_token(&github)),
        repo_settings("runner-a", 4),
    );
    let first = checker.run().await.unwrap();
    assert_eq!(first.checked, 5);
    assert_eq!(
        first.requests, 15,
        "first sight: who may read it, a head probe and a tree each"
    );
    assert!(
        first.changes.is_empty(),
        "first sightings are baselines, not changes"
    );

    github.reset_stats();
    let second = checker.run().await.unwrap();
    assert_eq!((second.checked, second.unchanged), (5, 5));
    // Each: who may read it and the head probe, both conditional.
    assert_eq!(second.requests, 10, "{}", second.summary());
    assert_eq!(second.not_modified, 10);
    assert_eq!(second.quota_spent, 0, "authorised 304s are free");
    let stats = github.stats();
    assert_eq!(stats.requests, 10);
    assert_eq!(stats.by_endpoint.get(&Endpoint::Tree), None);
    assert!(second.changes.is_empty());
}

#[tokio::test]
async fn a_change_is_detected_logged_and_notified_exactly_once() {
    let github = FakeGitHub::start().await;
    let wiki = notify_wiki().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    notify_on(store.as_ref(), alice, &wiki.wiki_url().key(), false).await;
    github.add_repo("octo/gadgets", [("src/a.js", "one"), ("src/b.js", "two")]);
    let (_, files) = track(
        store.as_ref(),
        alice,
        &github,
        "octo/gadgets",
        &["src/a.js", "src/b.js"],
        times(1)[0],
    )
    .await;
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(github_with_token(&github)),
        repo_settings("runner-a", 2),
    );
    let notifier = notifier(&store, &wiki, true);
    checker.run().await.unwrap();
    let old = github
        .blob_sha_of("octo/gadgets", "main", "src/a.js")
        .unwrap();

    let head = github.commit("octo/gadgets", "main", [("src/a.js", Some("one, edited"))]);
    let new = github
        .blob_sha_of("octo/gadgets", "main", "src/a.js")
        .unwrap();
    let report = checker.run().await.unwrap();
    assert_eq!(report.moved, 1);
    assert_eq!(report.changes.len(), 1, "only the edited file changed");
    let ChangeEvent::FileChanged(change) = &report.changes[0] else {
        panic!("expected a file change, got {:?}", report.changes[0]);
    };
    assert_eq!(change.path, "src/a.js");
    assert_eq!(change.old_blob_sha.as_deref(), Some(old.as_str()));
    assert_eq!(change.new_blob_sha.as_deref(), Some(new.as_str()));
    assert_eq!(change.commit_sha, head.as_str());

    let log = store
        .file_check_log(alice, files[0].id, PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(log[0].status.as_str(), "changed");
    assert_eq!(log[0].old_blob_sha.as_deref(), Some(old.as_str()));
    assert_eq!(log[0].new_blob_sha.as_deref(), Some(new.as_str()));
    assert_eq!(
        file_log(store.as_ref(), alice, &files[1]).await[0],
        "unchanged:"
    );

    let sent = notifier.notify(&report.changes).await.unwrap();
    assert_eq!(sent.sent, 1, "{}", sent.summary());
    let talk = wiki.page_text("User talk:Alice").unwrap();
    assert_eq!(
        talk.matches("== WikiScriptSync: <nowiki>src/a.js</nowiki> changed ==")
            .count(),
        1,
        "{talk}"
    );
    assert!(talk.contains(&new.as_str()[..7]), "{talk}");

    // The same change again (a second runner, a re-run): nothing is posted.
    let again = notifier.notify(&report.changes).await.unwrap();
    assert_eq!((again.sent, again.already_sent), (0, 1));
    let next = checker.run().await.unwrap();
    assert!(next.changes.is_empty());
    assert_eq!(wiki.requests_for("edit"), 1, "exactly one post");
    let talk = wiki.page_text("User talk:Alice").unwrap();
    assert_eq!(talk.matches("src/a.js</nowiki> changed").count(), 1);
}

#[tokio::test]
async fn check_now_checks_only_the_named_repository_of_its_owner_at_once() {
    let github = FakeGitHub::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let bob = user(store.as_ref(), "Bob").await;
    let at = times(2);
    github.add_repo("alice/gadget", [("a.js", "one")]);
    github.add_repo("bob/gadget", [("b.js", "two")]);
    let (alices, _) = track(
        store.as_ref(),
        alice,
        &github,
        "alice/gadget",
        &["a.js"],
        at[0],
    )
    .await;
    let (bobs, _) = track(store.as_ref(), bob, &github, "bob/gadget", &["b.js"], at[1]).await;
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(github_with_token(&github)),
        RepositoryCheckSettings {
            interval: chrono::Duration::hours(1),
            ..repo_settings("runner-web", 2)
        },
    );
    assert_eq!(checker.run().await.unwrap().checked, 2, "baselines");
    // A new commit on Alice's repository, which is due only in an hour; Bob's is due now.
    github.commit("alice/gadget", "main", [("a.js", Some("one, edited"))]);
    assert!(
        store
            .mark_repository_due(bob, bobs.id, at[0])
            .await
            .unwrap()
    );
    github.reset_stats();

    let report = checker
        .check_one(alice, alices.id)
        .await
        .unwrap()
        .expect("Alice's repository");
    assert_eq!(
        (report.checked, report.moved),
        (1, 1),
        "{}",
        report.summary()
    );
    assert_eq!(report.changes.len(), 1, "the edited file");
    let stats = github.stats();
    assert_eq!(
        stats.by_endpoint.get(&Endpoint::Commit),
        Some(&1),
        "one head probe"
    );
    assert_eq!(
        stats.requests, 3,
        "who may read it, the head probe and one tree"
    );
    assert_eq!(
        store
            .due_counts(chrono::Utc::now())
            .await
            .unwrap()
            .repositories,
        1,
        "Bob's repository is left for the job"
    );

    // Alice cannot check Bob's repository.
    github.reset_stats();
    assert!(checker.check_one(alice, bobs.id).await.unwrap().is_none());
    assert_eq!(github.stats().requests, 0);
}

#[tokio::test]
async fn notifications_go_only_to_the_users_talk_page_respect_preferences_and_retry_failures() {
    let wiki = notify_wiki().await;
    let github = FakeGitHub::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let bob = user(store.as_ref(), "Bob").await;
    notify_on(store.as_ref(), alice, &wiki.wiki_url().key(), true).await;
    // Bob has no home wiki: never notified.
    for (who, name) in [(alice, "octo/a"), (alice, "octo/b"), (bob, "octo/c")] {
        github.add_repo(name, [("x.js", "1")]);
        track(store.as_ref(), who, &github, name, &["x.js"], times(1)[0]).await;
    }
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(github_with_token(&github)),
        repo_settings("runner", 2),
    );
    checker.run().await.unwrap();
    for name in ["octo/a", "octo/b", "octo/c"] {
        github.commit(name, "main", [("x.js", Some("2"))]);
    }
    let report = checker.run().await.unwrap();
    assert_eq!(report.changes.len(), 3);

    // The first post fails (the wiki answers 500): recorded, and retried on the next run.
    wiki.inject_for(
        "edit",
        wikiscriptsync_core::mw::testkit::Fault::HttpStatus(500),
        1,
    );
    let failed = notifier(&store, &wiki, true)
        .notify(&report.changes)
        .await
        .unwrap();
    assert_eq!(failed.sent, 0);
    assert_eq!(
        failed.failures.len(),
        1,
        "one digest for Alice: {}",
        failed.summary()
    );
    assert_eq!(failed.no_home_wiki, 1, "Bob's change");
    assert_eq!(store.failed_notifications(10).await.unwrap().len(), 1);

    // The next run has no new changes, but retries the failed digest.
    let retried = notifier(&store, &wiki, true).notify(&[]).await.unwrap();
    assert_eq!(
        (retried.sent, retried.retried),
        (1, 1),
        "{}",
        retried.summary()
    );
    let talk = wiki.page_text("User talk:Alice").unwrap();
    assert_eq!(
        talk.matches("== WikiScriptSync: 2 changes ==").count(),
        1,
        "{talk}"
    );
    assert!(wiki.page_text("User talk:Bob").is_none());
    for request in wiki.requests().iter().filter(|r| r.action == "edit") {
        assert_eq!(request.param("title"), Some("User talk:Alice"));
    }
}

#[tokio::test]
async fn without_a_bot_checks_still_run_and_the_report_says_notifications_are_off() {
    let wiki = notify_wiki().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    notify_on(store.as_ref(), alice, &wiki.wiki_url().key(), false).await;
    store
        .add_page_monitor(
            alice,
            &wiki.wiki_url().key(),
            "MediaWiki:Common.js",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    wiki.add_page("MediaWiki:Common.js", "a();");
    let watcher = PageWatcher::new(
        Arc::clone(&store),
        wiki_client(&[wiki.host()]),
        page_settings("w"),
    );
    watcher.run().await.unwrap();
    wiki.edit_as("MediaWiki:Common.js", "b();", "Mallory", "tweak");
    let report = watcher.run().await.unwrap();
    assert_eq!(report.changed, 1);
    let off = notifier(&store, &wiki, false)
        .notify(&report.changes)
        .await
        .unwrap();
    assert!(!off.enabled);
    assert!(off.summary().contains("notifications are off"));
    assert_eq!(wiki.requests_for("edit"), 0);
}

#[tokio::test]
async fn the_quota_reserve_stops_a_host_for_the_run_and_leaves_the_rest_due() {
    let github = FakeGitHub::start().await;
    // Anonymous: 10 requests per window, half of it kept in reserve.
    github.set_rate_limits(5000, 10);
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let at = times(8);
    for (i, added) in at.iter().enumerate() {
        let name = format!("octo/r{i}");
        github.add_repo(&name, [("x.js", "1")]);
        track(store.as_ref(), alice, &github, &name, &["x.js"], *added).await;
    }
    let mut settings = repo_settings("runner", 1);
    settings.quota.reserve_percent = 50;
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(github.config_builder()),
        settings,
    );
    let report = checker.run().await.unwrap();
    // Each first check costs 2 (probe + tree): 10 → 8 → 6 → 4, which is below the reserve.
    assert_eq!(report.checked, 3, "{}", report.summary());
    assert_eq!(report.reserve_reached.len(), 1);
    assert_eq!(report.reserve_reached[0].skipped, 5);
    assert_eq!(report.reserve_reached[0].remaining, Some(4));
    assert!(
        report.summary().contains("quota reserve reached"),
        "{}",
        report.summary()
    );
    assert_eq!(github.stats().requests, 6);
    // Nothing is lost: the skipped ones are released and still due.
    let due = store.due_counts(chrono::Utc::now()).await.unwrap();
    assert_eq!(
        due.repositories,
        5 + 3,
        "checked ones are due again at once in tests"
    );
    // And the snapshots went to the quota log.
    let latest = store
        .latest_api_quota(&report.reserve_reached[0].host)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.remaining, 4);

    // A new run (a new process) sees the stored snapshot and does not spend the reserve.
    let checker = RepositoryChecker::new(Arc::clone(&store), forges(github.config_builder()), {
        let mut s = repo_settings("runner-2", 1);
        s.quota.reserve_percent = 50;
        s
    });
    let again = checker.run().await.unwrap();
    assert_eq!(again.checked, 0, "{}", again.summary());
    assert_eq!(
        github.stats().requests,
        6,
        "no request once the reserve is reached"
    );
}

#[tokio::test]
async fn rate_limits_server_errors_and_timeouts_are_logged_per_repository_while_the_rest_completes()
{
    let github = FakeGitHub::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let at = times(6);
    let mut files = Vec::new();
    for (i, added) in at.iter().enumerate() {
        let name = format!("octo/r{i}");
        github.add_repo(&name, [("x.js", format!("{i}"))]);
        files.push(
            track(store.as_ref(), alice, &github, &name, &["x.js"], *added)
                .await
                .1,
        );
    }
    // In claim order: r0 gets 429 on all three attempts, r1 gets 502 on all three, r2 times
    // out; r3..r5 are answered normally.
    github.push_fault_on(
        Endpoint::Commit,
        Fault::SecondaryRateLimit {
            status: 429,
            retry_after: Some(0),
        },
        3,
    );
    github.push_fault_on(Endpoint::Commit, Fault::ServerError(502), 3);
    github.push_fault_on(
        Endpoint::Commit,
        Fault::Delay(Duration::from_millis(800)),
        1,
    );
    let config = github_with_token(&github).request_timeout(Duration::from_millis(300));
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(config),
        repo_settings("runner", 1),
    );
    let report = checker.run().await.unwrap();
    assert_eq!(report.checked, 6, "{}", report.summary());
    assert_eq!(report.failed, 3, "{:?}", report.failures);
    let details: Vec<&str> = report.failures.iter().map(|f| f.detail.as_str()).collect();
    assert!(details[0].contains("rate limit"), "{details:?}");
    assert!(details[1].contains("502"), "{details:?}");
    assert!(details[2].contains("timeout"), "{details:?}");
    for (i, file) in files.iter().enumerate() {
        let log = file_log(store.as_ref(), alice, &file[0]).await;
        assert_eq!(log.len(), 1, "one row per file per run: {log:?}");
        if i < 3 {
            assert!(log[0].starts_with("error:"), "r{i}: {log:?}");
        } else {
            assert_eq!(log[0], "unchanged:first check", "r{i}");
        }
    }
}

#[tokio::test]
async fn the_database_going_away_mid_run_ends_the_run_with_a_clear_error_and_nothing_half_written()
{
    let github = FakeGitHub::start().await;
    github.set_latency(Duration::from_millis(60));
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let at = times(6);
    let mut tracked = Vec::new();
    for (i, added) in at.iter().enumerate() {
        let name = format!("octo/r{i}");
        github.add_repo(&name, [("x.js", "1"), ("y.js", "2")]);
        tracked.push(
            track(
                store.as_ref(),
                alice,
                &github,
                &name,
                &["x.js", "y.js"],
                *added,
            )
            .await,
        );
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(github_with_token(&github)),
        repo_settings("runner", 1),
    )
    .with_progress(Arc::new(move |p| {
        let _ = tx.send(p);
    }));
    let closer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            // After the second repository is written, the database goes away.
            while let Some(p) = rx.recv().await {
                if p.done == 2 {
                    store.close().await;
                    break;
                }
            }
        })
    };
    let err = checker.run().await.unwrap_err();
    closer.await.unwrap();
    assert!(matches!(err, RunError::Store(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("the database failed during the run"),
        "{message}"
    );
    assert!(message.contains("nothing is half-written"), "{message}");

    let reopened = db.open().await;
    let mut complete = 0;
    for (repo, files) in &tracked {
        let repo = reopened.repository(alice, repo.id).await.unwrap().unwrap();
        let rows = [
            file_log_len(reopened.as_ref(), alice, &files[0]).await,
            file_log_len(reopened.as_ref(), alice, &files[1]).await,
        ];
        match repo.last_checked_at {
            Some(_) => {
                assert_eq!(rows, [1, 1], "a written check has every file's row");
                complete += 1;
            }
            None => assert_eq!(rows, [0, 0], "an unwritten check has no rows"),
        }
    }
    assert_eq!(
        complete, 2,
        "exactly the checks finished before the database went away"
    );
}

#[tokio::test]
async fn pages_are_looked_up_fifty_per_request_and_edits_deletions_and_moves_are_reported() {
    let wiki = FakeWiki::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let bob = user(store.as_ref(), "Bob").await;
    let key = wiki.wiki_url().key();
    let now = chrono::Utc::now();
    for i in 0..120 {
        let title = format!("User:Alice/script{i}.js");
        wiki.add_page(&title, "x();");
        store
            .add_page_monitor(alice, &key, &title, now)
            .await
            .unwrap();
    }
    // Bob watches one of the same pages: one title in the lookup, two monitors.
    store
        .add_page_monitor(bob, &key, "User:Alice/script0.js", now)
        .await
        .unwrap();
    let watcher = PageWatcher::new(
        Arc::clone(&store),
        wiki_client(&[wiki.host()]),
        page_settings("w"),
    );
    let first = watcher.run().await.unwrap();
    assert_eq!(
        (first.checked, first.requests),
        (121, 3),
        "{}",
        first.summary()
    );
    assert_eq!(wiki.request_count(), 3);
    assert!(first.changes.is_empty(), "first sightings are baselines");

    let old = wiki
        .page("User:Alice/script0.js")
        .unwrap()
        .latest()
        .unwrap()
        .id;
    let new = wiki.edit_as("User:Alice/script0.js", "y();", "Mallory", "sneaky");
    wiki.delete_page("User:Alice/script1.js");
    wiki.add_page("User:Alice/renamed2.js", "x();");
    wiki.delete_page("User:Alice/script2.js");
    wiki.add_redirect("User:Alice/script2.js", "User:Alice/renamed2.js");
    let second = watcher.run().await.unwrap();
    assert_eq!(second.requests, 3);
    assert_eq!(
        (second.changed, second.deleted, second.moved),
        (2, 1, 1),
        "{}",
        second.summary()
    );
    let edited: Vec<_> = second
        .changes
        .iter()
        .filter_map(|e| match e {
            ChangeEvent::PageChanged(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(edited.len(), 2, "Alice and Bob each hear of the edit");
    assert_eq!(edited[0].editor.as_deref(), Some("Mallory"));
    assert_eq!(edited[0].summary.as_deref(), Some("sneaky"));
    assert_eq!(edited[0].old_revid, Some(old as i64));
    assert_eq!(edited[0].new_revid, Some(new as i64));
    let diff = edited[0].diff_url.as_deref().unwrap();
    assert!(
        diff.ends_with(&format!("index.php?diff={new}&oldid={old}")),
        "{diff}"
    );
    assert!(
        second.changes.iter().any(
            |e| matches!(e, ChangeEvent::PageDeleted(p) if p.title == "User:Alice/script1.js")
        )
    );
    assert!(second.changes.iter().any(|e| matches!(e, ChangeEvent::PageMoved(p) if p.new_title.as_deref() == Some("User:Alice/renamed2.js"))));

    // Reported once: the next run finds nothing new.
    let third = watcher.run().await.unwrap();
    assert!(third.changes.is_empty(), "{:?}", third.changes);
    let monitors = store.list_page_monitors(alice).await.unwrap();
    let deleted = monitors
        .iter()
        .find(|m| m.page_title == "User:Alice/script1.js")
        .unwrap();
    let log = store
        .page_check_log(alice, deleted.id, PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        log.iter().map(|e| e.status.as_str()).collect::<Vec<_>>(),
        ["deleted", "deleted", "unchanged"]
    );
}

#[tokio::test]
async fn a_long_rate_limit_back_off_stops_the_host_for_the_run_instead_of_failing_every_repository()
{
    let github = FakeGitHub::start().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let at = times(4);
    for (i, added) in at.iter().enumerate() {
        let name = format!("octo/r{i}");
        github.add_repo(&name, [("x.js", "1")]);
        track(store.as_ref(), alice, &github, &name, &["x.js"], *added).await;
    }
    // GitHub asks for a minute of back-off: longer than the client will sleep.
    github.push_fault_on(
        Endpoint::Commit,
        Fault::SecondaryRateLimit {
            status: 429,
            retry_after: Some(60),
        },
        1,
    );
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(github_with_token(&github)),
        repo_settings("runner", 1),
    );
    let report = checker.run().await.unwrap();
    assert_eq!(
        (report.checked, report.failed),
        (1, 1),
        "{}",
        report.summary()
    );
    assert_eq!(report.reserve_reached.len(), 1);
    assert_eq!(
        report.reserve_reached[0].remaining, None,
        "stopped by the error"
    );
    assert_eq!(report.reserve_reached[0].skipped, 3);
    assert_eq!(
        github.stats().requests,
        2,
        "who may read the first one and its refused head probe; nothing more"
    );
    let due = store.due_counts(chrono::Utc::now()).await.unwrap();
    assert_eq!(
        due.repositories, 4,
        "all still due (the failed one at once in tests)"
    );
}

#[tokio::test]
async fn a_bot_that_cannot_log_in_is_tried_once_per_run_and_its_messages_are_retried_later() {
    let wiki = notify_wiki().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let key = wiki.wiki_url().key();
    notify_on(store.as_ref(), alice, &key, false).await;
    let now = chrono::Utc::now();
    for i in 0..3 {
        let title = format!("User:Alice/s{i}.js");
        wiki.add_page(&title, "a();");
        store
            .add_page_monitor(alice, &key, &title, now)
            .await
            .unwrap();
    }
    let watcher = PageWatcher::new(
        Arc::clone(&store),
        wiki_client(&[wiki.host()]),
        page_settings("w"),
    );
    watcher.run().await.unwrap();
    for i in 0..3 {
        wiki.edit_as(&format!("User:Alice/s{i}.js"), "b();", "Mallory", "x");
    }
    let report = watcher.run().await.unwrap();
    assert_eq!(report.changes.len(), 3);
    let wrong = Notifier::new(
        Arc::clone(&store),
        wiki_client(&[wiki.host()]),
        Some(wikiscriptsync_core::mw::BotPassword::new(
            NOTIFIER,
            "wrong-password".to_owned().into(),
        )),
        NotifierSettings::new("n"),
    );
    let failed = wrong.notify(&report.changes).await.unwrap();
    assert_eq!(failed.failures.len(), 3);
    assert!(
        failed.failures[0].detail.contains("could not log in"),
        "{:?}",
        failed.failures
    );
    assert_eq!(
        wiki.requests_for("login"),
        1,
        "one login attempt for the whole run"
    );
    assert!(!format!("{failed:?}").contains("wrong-password"));

    let fixed = notifier(&store, &wiki, true).notify(&[]).await.unwrap();
    assert_eq!((fixed.sent, fixed.retried), (3, 3), "{}", fixed.summary());
    assert_eq!(wiki.requests_for("edit"), 3);
}

#[tokio::test]
async fn a_flow_board_gets_a_new_topic_instead_of_an_edit() {
    let wiki = FakeWiki::start().await;
    wiki.add_account(FakeAccount::new(NOTIFIER, PASSWORD));
    wiki.set_content_model(
        "User talk:Alice",
        wikiscriptsync_core::mw::ContentModel::FlowBoard,
    );
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), "Alice").await;
    let key = wiki.wiki_url().key();
    notify_on(store.as_ref(), alice, &key, false).await;
    let monitor = store
        .add_page_monitor(alice, &key, "MediaWiki:Common.js", chrono::Utc::now())
        .await
        .unwrap();
    let event = ChangeEvent::PageDeleted(wikiscriptsync_core::monitor::PageChange {
        user: alice,
        page_monitor_id: monitor.id,
        wiki: key,
        title: "MediaWiki:Common.js".to_owned(),
        old_revid: Some(7),
        new_revid: None,
        editor: None,
        timestamp: None,
        summary: None,
        diff_url: None,
        new_title: None,
    });
    let report = notifier(&store, &wiki, true)
        .notify(&[event])
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "{}", report.summary());
    assert_eq!(wiki.requests_for("edit"), 0);
    assert_eq!(wiki.requests_for("flow"), 1);
    let topics = wiki.page("User talk:Alice").unwrap().flow_topics;
    assert_eq!(topics.len(), 1);
    // A Flow title is not wikitext: the title shows literally, without nowiki tags.
    assert_eq!(
        topics[0].0,
        "WikiScriptSync: MediaWiki:Common.js was deleted"
    );
}
