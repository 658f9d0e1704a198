//! The page watcher and the notifier against a real MediaWiki (`scripts/mediawiki-test-server`;
//! `source` the variables it prints). Without `WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL` the tests
//! print "skipped: ..." — except in CI (`CI` set), where a missing wiki fails.
//!
//! Each test uses a fresh SQLite store; the wiki pages are shared and created on first use
//! (by the admin account), so the tests can run repeatedly against the same wiki. The watcher's
//! client has a User-Agent of its own, so its request counts are compared with the requests the
//! wiki logged for it.

mod common;
mod monitor_support;

use std::sync::Arc;
use std::time::Duration;

use monitor_support::*;
use secrecy::SecretString;
use wikiscriptsync_core::monitor::{ChangeEvent, PageWatcher};
use wikiscriptsync_core::mw::testkit::{ACCESS_LOG_ENV, AccessLog, unique_user_agent};
use wikiscriptsync_core::mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, CreatePolicy, EditRequest, PageState,
    Title, UserAgent, WikiApi, WikiSession, WikiSessionExt, WikiUrl,
};
use wikiscriptsync_core::notify::{Notifier, NotifierSettings};
use wikiscriptsync_core::store::Store;

/// The shared pages the tests monitor.
const PAGES: usize = 120;

struct Wiki {
    url: WikiUrl,
    admin: BotPassword,
    notifier: BotPassword,
    recipient: String,
}

/// The wiki's coordinates, or `None` after printing "skipped" (panics in CI).
fn wiki() -> Option<Wiki> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let api = common::real_wiki_api_url()?;
    let must = |name: &str| var(name).unwrap_or_else(|| panic!("{name} must be set with the wiki"));
    let bot = |user: &str, password: &str| {
        BotPassword::new(must(user), SecretString::from(must(password)))
    };
    let url = WikiUrl::parse(&api, &allow_list()).expect("the test wiki is allow-listed");
    Some(Wiki {
        url,
        admin: bot(
            "WIKISCRIPTSYNC_TEST_MW_ADMIN_USER",
            "WIKISCRIPTSYNC_TEST_MW_ADMIN_PASSWORD",
        ),
        notifier: bot(
            "WIKISCRIPTSYNC_TEST_MW_NOTIFY_USER",
            "WIKISCRIPTSYNC_TEST_MW_NOTIFY_PASSWORD",
        ),
        recipient: must("WIKISCRIPTSYNC_TEST_MW_RECIPIENT"),
    })
}

fn allow_list() -> AllowList {
    AllowList::wikimedia()
        .with_extra_hosts(&std::env::var("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS").unwrap_or_default())
        .expect("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS names the test wiki")
}

/// A fresh client (its own request counter).
fn client() -> Arc<ActionApiClient> {
    client_as(UserAgent::from_contact("https://example.org/tests").unwrap())
}

/// A fresh client sending `user_agent`.
fn client_as(user_agent: UserAgent) -> Arc<ActionApiClient> {
    let mut config = ClientConfig::new(user_agent);
    config.allow_list = allow_list();
    config.request_timeout = Duration::from_secs(30);
    Arc::new(ActionApiClient::new(config).expect("client"))
}

/// The requests the wiki logged for `user_agent`.
fn server_count(user_agent: &UserAgent) -> u64 {
    let log = std::env::var_os(ACCESS_LOG_ENV)
        .filter(|path| !path.is_empty())
        .map(AccessLog::at)
        .expect("WIKISCRIPTSYNC_TEST_MEDIAWIKI_ACCESS_LOG is set with the wiki");
    let n = log
        .requests_from(user_agent)
        .expect("read the wiki's access log");
    u64::try_from(n).unwrap()
}

fn page_title(i: usize) -> String {
    format!("WikiScriptSync monitor test {i}")
}

/// Creates `titles` where they do not exist yet. Each test seeds only its own pages: a page
/// created (or, if it appeared meanwhile, overwritten) by one test while another edits it
/// would show up as an extra edit, or wipe the other test's talk-page sections.
async fn seed(wiki: &Wiki, titles: &[String]) -> Arc<dyn WikiSession> {
    let admin = client()
        .login(&wiki.url, wiki.admin.clone())
        .await
        .expect("admin login");
    let found = admin.lookup_titles(titles).await.expect("lookup");
    for lookup in found {
        if let PageState::Missing { .. } = lookup.state {
            let mut edit = EditRequest::new(
                Title::parse(&lookup.requested).unwrap(),
                "Seeded by the WikiScriptSync monitor tests.",
                "seed",
            );
            edit.create = CreatePolicy::MayCreate;
            admin.edit(&edit).await.expect("seed page");
        }
    }
    admin
}

/// Edits a page as the admin; returns the new revision id.
async fn edit(admin: &dyn WikiSession, title: &str, marker: &str) -> u64 {
    let edit = EditRequest::new(
        Title::parse(title).unwrap(),
        format!("Edited by the monitor tests: {marker}"),
        format!("monitor test {marker}"),
    );
    match admin.edit(&edit).await.expect("edit") {
        wikiscriptsync_core::mw::EditOutcome::Updated { new_revision, .. } => new_revision,
        other => panic!("expected an update, got {other:?}"),
    }
}

async fn monitored_store(
    wiki: &Wiki,
    titles: &[String],
) -> (TestDb, Arc<dyn Store>, wikiscriptsync_core::store::UserId) {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), &wiki.recipient).await;
    let key = wiki.url.key();
    for title in titles {
        store
            .add_page_monitor(alice, &key, title, chrono::Utc::now())
            .await
            .unwrap();
    }
    (db, store, alice)
}

fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

#[tokio::test]
async fn a_hundred_and_twenty_pages_cost_exactly_three_requests_and_an_edit_between_runs_is_detected()
 {
    let Some(wiki) = wiki() else { return };
    let titles: Vec<String> = (0..PAGES).map(page_title).collect();
    let admin = seed(&wiki, &titles).await;
    let (_db, store, _) = monitored_store(&wiki, &titles).await;
    let reader_agent = unique_user_agent("monitor-120");
    let reader = client_as(reader_agent.clone());
    let watcher = PageWatcher::new(Arc::clone(&store), reader.clone(), page_settings("real"));
    let first = watcher.run().await.unwrap();
    assert_eq!(first.checked, PAGES as u64, "{}", first.summary());
    assert_eq!(first.requests, 3, "⌈120/50⌉ lookups");
    assert_eq!(reader.request_count(), 3, "and nothing else");
    assert_eq!(
        server_count(&reader_agent),
        3,
        "the wiki saw the same three"
    );
    assert_eq!(first.unchanged, PAGES as u64);

    let marker = marker();
    let new = edit(admin.as_ref(), &titles[7], &marker).await;
    let second = watcher.run().await.unwrap();
    assert_eq!(reader.request_count(), 6);
    assert_eq!(server_count(&reader_agent), 6);
    assert_eq!(second.changed, 1, "{}", second.summary());
    let ChangeEvent::PageChanged(change) = &second.changes[0] else {
        panic!("expected an edit, got {:?}", second.changes);
    };
    assert_eq!(change.title, titles[7]);
    assert_eq!(change.new_revid, Some(new as i64));
    assert_eq!(change.editor.as_deref(), Some(wiki.admin.user_name()));
    assert_eq!(
        change.summary.as_deref(),
        Some(format!("monitor test {marker}").as_str())
    );
    let diff = change.diff_url.as_deref().unwrap();
    assert!(diff.contains(&format!("diff={new}&oldid=")), "{diff}");
}

#[tokio::test]
async fn the_notification_appears_on_the_users_talk_page_and_digest_mode_posts_one_section() {
    let Some(wiki) = wiki() else { return };
    // Three pages apart from the lookup test's, so the tests can run in parallel.
    let titles: Vec<String> = (PAGES..PAGES + 3).map(page_title).collect();
    // The recipient's talk page too: the notification bot's grants do not include creating it.
    let mut seeded = titles.clone();
    seeded.push(format!("User talk:{}", wiki.recipient));
    let admin = seed(&wiki, &seeded).await;
    let (_db, store, alice) = monitored_store(&wiki, &titles).await;
    let key = wiki.url.key();
    let watcher_agent = unique_user_agent("monitor-notify-watcher");
    let watcher_client = client_as(watcher_agent.clone());
    let watcher = PageWatcher::new(
        Arc::clone(&store),
        watcher_client.clone(),
        page_settings("real-notify"),
    );
    watcher.run().await.unwrap();
    // Every notifier run gets a fresh client (as every job run does), all with one User-Agent.
    let notifier_agent = unique_user_agent("monitor-notify-notifier");
    let notifier_clients = std::sync::Mutex::new(Vec::new());
    let notifier = |store: &Arc<dyn Store>| {
        let client = client_as(notifier_agent.clone());
        notifier_clients.lock().unwrap().push(client.clone());
        Notifier::new(
            Arc::clone(store),
            client,
            Some(wiki.notifier.clone()),
            NotifierSettings::new("real-notify"),
        )
    };
    let talk = Title::parse(&format!("User talk:{}", wiki.recipient)).unwrap();
    let talk_text = || async {
        admin
            .page_text(&talk, None)
            .await
            .expect("read the talk page")
            .expect("the talk page exists")
            .text
    };

    // One message per change.
    notify_on(store.as_ref(), alice, &key, false).await;
    let single = edit(admin.as_ref(), &titles[0], &marker()).await;
    let report = watcher.run().await.unwrap();
    let sent = notifier(&store).notify(&report.changes).await.unwrap();
    assert_eq!(sent.sent, 1, "{}", sent.summary());
    let text = talk_text().await;
    assert!(
        text.contains(&format!("diff={single}&")),
        "the section links the diff: {text}"
    );
    assert_eq!(text.matches(&format!("diff={single}&")).count(), 1);
    // The same change again: not posted twice.
    let again = notifier(&store).notify(&report.changes).await.unwrap();
    assert_eq!((again.sent, again.already_sent), (0, 1));

    // Digest: two changes, one section.
    notify_on(store.as_ref(), alice, &key, true).await;
    let before = talk_text()
        .await
        .matches("== WikiScriptSync: 2 changes ==")
        .count();
    let a = edit(admin.as_ref(), &titles[1], &marker()).await;
    let b = edit(admin.as_ref(), &titles[2], &marker()).await;
    let report = watcher.run().await.unwrap();
    assert_eq!(report.changed, 2, "{}", report.summary());
    let sent = notifier(&store).notify(&report.changes).await.unwrap();
    assert_eq!(sent.sent, 1, "{}", sent.summary());
    let text = talk_text().await;
    assert_eq!(
        text.matches("== WikiScriptSync: 2 changes ==").count(),
        before + 1
    );
    let section = text
        .rsplit("== WikiScriptSync: 2 changes ==")
        .next()
        .unwrap();
    assert!(
        section.contains(&format!("diff={a}&")) && section.contains(&format!("diff={b}&")),
        "{section}"
    );
    // The wiki received exactly what the watcher's and the notifiers' clients counted.
    assert_eq!(
        server_count(&watcher_agent),
        watcher_client.request_count(),
        "watcher"
    );
    let notified: u64 = notifier_clients
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.request_count())
        .sum();
    assert!(notified > 0);
    assert_eq!(server_count(&notifier_agent), notified, "notifier");
}
