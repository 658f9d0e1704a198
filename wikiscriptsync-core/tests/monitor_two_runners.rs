//! Two runners at once, each with its own store handle (its own connection pool), on SQLite
//! and on MariaDB: no repository or page is checked twice in a run, and no notification is
//! posted twice.

mod monitor_support;

use std::sync::Arc;
use std::time::Duration;

use monitor_support::*;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::monitor::{PageWatcher, RepositoryChecker};
use wikiscriptsync_core::mw::BotPassword;
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::notify::{Notifier, NotifierSettings};
use wikiscriptsync_core::store::PageRequest;

const REPOSITORIES: usize = 24;
const PAGES: usize = 150;

async fn two_runners_never_check_the_same_item_twice(db: TestDb) {
    let github = FakeGitHub::start().await;
    github.set_latency(Duration::from_millis(25));
    let wikis = [FakeWiki::start().await, FakeWiki::start().await];
    let setup = db.open().await;
    let alice = user(setup.as_ref(), "Alice").await;
    let home = wikis[0].wiki_url().key();
    wikis[0].add_account(FakeAccount::new(NOTIFIER, PASSWORD));
    wikis[0].add_page("User talk:Alice", "Welcome!");
    notify_on(setup.as_ref(), alice, &home, false).await;
    let at = times(REPOSITORIES);
    let mut files = Vec::new();
    for (i, added) in at.iter().enumerate() {
        let name = format!("octo/r{i}");
        github.add_repo(&name, [("x.js", "1")]);
        let (_, watched) = track(setup.as_ref(), alice, &github, &name, &["x.js"], *added).await;
        files.push(watched[0].clone());
    }
    for i in 0..PAGES {
        let wiki = &wikis[i % 2];
        let title = format!("User:Alice/p{i}.js");
        wiki.add_page(&title, "x();");
        setup
            .add_page_monitor(alice, &wiki.wiki_url().key(), &title, chrono::Utc::now())
            .await
            .unwrap();
    }
    let hosts: Vec<String> = wikis.iter().map(FakeWiki::host).collect();

    // Baseline, then change every file and page, then two runners at once.
    let baseline = RepositoryChecker::new(
        Arc::clone(&setup),
        forges(github_with_token(&github)),
        repo_settings("baseline", 4),
    );
    assert_eq!(baseline.run().await.unwrap().checked, REPOSITORIES as u64);
    PageWatcher::new(
        Arc::clone(&setup),
        wiki_client(&hosts),
        page_settings("baseline"),
    )
    .run()
    .await
    .unwrap();
    for i in 0..REPOSITORIES {
        github.commit(&format!("octo/r{i}"), "main", [("x.js", Some("2"))]);
    }
    for i in 0..PAGES {
        wikis[i % 2].edit_as(&format!("User:Alice/p{i}.js"), "y();", "Mallory", "edit");
    }
    github.reset_stats();

    // Each runner has its own pool, opened before either starts so that they overlap.
    let (pool_a, pool_b) = (db.open().await, db.open().await);
    let runner = |name: &'static str, store: Arc<dyn wikiscriptsync_core::store::Store>| {
        let (github_config, hosts) = (github_with_token(&github), hosts.clone());
        async move {
            let mut settings = repo_settings(name, 3);
            settings.batch_size = 4;
            settings.interval = chrono::Duration::hours(1);
            let repos = RepositoryChecker::new(Arc::clone(&store), forges(github_config), settings)
                .run()
                .await
                .unwrap();
            let mut page_settings = page_settings(name);
            page_settings.batch_size = 20;
            page_settings.interval = chrono::Duration::hours(1);
            let pages = PageWatcher::new(Arc::clone(&store), wiki_client(&hosts), page_settings)
                .run()
                .await
                .unwrap();
            (store, repos, pages)
        }
    };
    let ((store_a, repos_a, pages_a), (store_b, repos_b, pages_b)) =
        tokio::join!(runner("runner-a", pool_a), runner("runner-b", pool_b));
    assert_eq!(repos_a.checked + repos_b.checked, REPOSITORIES as u64);
    // How the work is split is up to timing (on MariaDB a runner whose claim meets the other's
    // locked rows skips them, and may find nothing left); what matters is that nothing is
    // checked twice and nothing is left out.
    println!(
        "runner a checked {}, runner b {}",
        repos_a.checked, repos_b.checked
    );
    assert_eq!(
        github.stats().requests,
        3 * REPOSITORIES as u64,
        "who may read it, probe and tree, once each"
    );
    for file in &files {
        let log = setup
            .file_check_log(alice, file.id, PageRequest::first(10))
            .await
            .unwrap()
            .items;
        assert_eq!(log.len(), 2, "baseline + exactly one check");
    }
    assert_eq!(pages_a.checked + pages_b.checked, PAGES as u64);
    assert_eq!(pages_a.changed + pages_b.changed, PAGES as u64);
    for monitor in setup.list_page_monitors(alice).await.unwrap() {
        let log = setup
            .page_check_log(alice, monitor.id, PageRequest::first(10))
            .await
            .unwrap()
            .items;
        assert_eq!(
            log.len(),
            2,
            "{}: baseline + exactly one check",
            monitor.page_title
        );
    }

    // Both runners notify the union of what they found, each through its own handle: every
    // change is posted once.
    let mut all = repos_a.changes.clone();
    all.extend(repos_b.changes.iter().cloned());
    let bot = || Some(BotPassword::new(NOTIFIER, PASSWORD.to_owned().into()));
    let notifier_a = Notifier::new(
        store_a,
        wiki_client(&hosts),
        bot(),
        NotifierSettings::new("a"),
    );
    let notifier_b = Notifier::new(
        store_b,
        wiki_client(&hosts),
        bot(),
        NotifierSettings::new("b"),
    );
    let (a, b) = tokio::join!(notifier_a.notify(&all), notifier_b.notify(&all));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.sent + b.sent,
        REPOSITORIES as u64,
        "{} / {}",
        a.summary(),
        b.summary()
    );
    assert_eq!(
        a.already_sent + b.already_sent + a.in_progress + b.in_progress,
        REPOSITORIES as u64
    );
    assert_eq!(wikis[0].requests_for("edit"), REPOSITORIES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runners_on_sqlite_never_check_the_same_repository_or_page_twice() {
    two_runners_never_check_the_same_item_twice(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runners_on_mariadb_never_check_the_same_repository_or_page_twice() {
    let Some(db) = monitor_support::mariadb().await else {
        return;
    };
    two_runners_never_check_the_same_item_twice(db).await;
}
