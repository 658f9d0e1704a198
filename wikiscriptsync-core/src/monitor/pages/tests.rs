//! Unit tests of the page watcher: chunking and lanes against fake wikis.

use std::time::Duration;

use super::*;
use crate::mw::testkit::{FakeWiki, Fault};
use crate::mw::{ActionApiClient, AllowList, ClientConfig, RetryPolicy, UserAgent};
use crate::store::{DatabaseUrl, PageRequest, StoreSettings, UserId};

fn queued(id: i64, title: &str) -> PageMonitor {
    PageMonitor {
        id: PageMonitorId(id),
        user_id: UserId(1),
        wiki: "w".to_owned(),
        page_title: title.to_owned(),
        origin: crate::store::MonitorOrigin::User,
        last_revid: None,
        last_checked_at: None,
        last_status: None,
        next_check_at: Utc::now(),
        created_at: Utc::now(),
    }
}

#[test]
fn a_chunk_has_at_most_the_titles_of_one_lookup_with_every_monitor_of_them() {
    let mut backlog = Backlog::default();
    let new = backlog.add(vec![
        queued(1, "A"),
        queued(2, "B"),
        queued(3, "C"),
        queued(4, "A"),
    ]);
    assert_eq!((new, backlog.queued), (1, 4));
    let ids = |chunk: Vec<PageMonitor>| chunk.iter().map(|m| m.id.0).collect::<Vec<_>>();
    // Two titles per lookup: A (both users) and B; C waits.
    assert_eq!(backlog.take_chunk("w", 2).map(ids), Some(vec![1, 2, 4]));
    assert_eq!(backlog.queued, 1);
    // Pages claimed while the lane runs join it, no new lane.
    assert_eq!(backlog.add(vec![queued(5, "D")]), 0);
    assert_eq!(backlog.take_chunk("w", 2).map(ids), Some(vec![3, 5]));
    assert_eq!(backlog.take_chunk("w", 2), None, "empty: the lane ends");
    assert!(backlog.queues.is_empty());
    assert_eq!(
        backlog.add(vec![queued(6, "E")]),
        1,
        "a later claim: a new lane"
    );
    assert_eq!(backlog.queued, 1);
}

struct Fixture {
    store: Arc<dyn Store>,
    client: Arc<ActionApiClient>,
    user: UserId,
    _dir: tempfile::TempDir,
}

async fn fixture(wikis: &[&FakeWiki]) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("store.sqlite3").display());
    let store = crate::store::open(&DatabaseUrl::new(url), &StoreSettings::migrating())
        .await
        .expect("store");
    let user = store
        .upsert_user("central-1", "Alice", Utc::now())
        .await
        .expect("user")
        .id;
    let hosts: Vec<String> = wikis.iter().map(|w| w.host()).collect();
    let mut config = ClientConfig::new(UserAgent::from_contact("https://example.org/t").unwrap());
    config.allow_list = AllowList::wikimedia()
        .with_extra_hosts(&hosts.join(","))
        .expect("loopback hosts");
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    let client = Arc::new(ActionApiClient::new(config).expect("client"));
    Fixture {
        store,
        client,
        user,
        _dir: dir,
    }
}

impl Fixture {
    async fn monitor_pages(&self, wiki: &FakeWiki, pages: usize) {
        let key = wiki.wiki_url().key();
        let now = Utc::now();
        for i in 0..pages {
            let title = format!("User:Alice/p{i}.js");
            wiki.add_page(&title, "x();");
            self.store
                .add_page_monitor(self.user, &key, &title, now)
                .await
                .expect("monitor");
        }
    }

    fn watcher(&self, batch_size: u32) -> PageWatcher {
        PageWatcher::new(
            Arc::clone(&self.store),
            Arc::clone(&self.client) as Arc<dyn WikiApi>,
            PageCheckSettings {
                batch_size,
                interval: chrono::Duration::zero(),
                ..PageCheckSettings::new("runner")
            },
        )
    }

    /// Every monitor's check log statuses, newest first.
    async fn logs(&self) -> Vec<Vec<PageCheckStatus>> {
        let mut logs = Vec::new();
        for monitor in self.store.list_page_monitors(self.user).await.unwrap() {
            let log = self
                .store
                .page_check_log(self.user, monitor.id, PageRequest::first(10))
                .await
                .unwrap();
            logs.push(log.items.iter().map(|e| e.status).collect());
        }
        logs
    }
}

#[tokio::test]
async fn claims_smaller_than_a_lookup_still_give_one_lane_per_wiki_and_one_row_per_page() {
    let wikis = [FakeWiki::start().await, FakeWiki::start().await];
    let fx = fixture(&[&wikis[0], &wikis[1]]).await;
    for wiki in &wikis {
        fx.monitor_pages(wiki, 120).await;
        // Lookups slower than claims, as on a real wiki.
        wiki.inject(Fault::Delay(Duration::from_millis(100)), usize::MAX / 2);
    }
    let progress = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&progress);
    let report = fx
        .watcher(30)
        .with_progress(Arc::new(move |p| seen.lock().unwrap().push(p)))
        .run()
        .await
        .unwrap();
    assert_eq!(
        (report.checked, report.unchanged),
        (240, 240),
        "{}",
        report.summary()
    );
    assert_eq!(
        report.wikis, 2,
        "pages claimed later joined their wiki's lane"
    );
    for wiki in &wikis {
        // ⌈120/50⌉ = 3, and one more if the lane's first lookup went out with the first
        // claim's 30 titles only.
        let asked = wiki.request_count();
        assert!((3..=4).contains(&asked), "{asked} requests");
    }
    assert_eq!(
        report.requests,
        (wikis[0].request_count() + wikis[1].request_count()) as u64
    );
    assert!(
        fx.logs()
            .await
            .iter()
            .all(|log| log == &[PageCheckStatus::Unchanged])
    );
    let progress = progress.lock().unwrap();
    assert_eq!(progress.len(), 2);
    assert_eq!(
        progress.last(),
        Some(&Progress {
            done: 2,
            pending: 0
        })
    );
}

#[tokio::test]
async fn a_lookup_failing_mid_wiki_keeps_the_results_before_and_logs_the_rest_as_errors() {
    let (broken, fine) = (FakeWiki::start().await, FakeWiki::start().await);
    let fx = fixture(&[&broken, &fine]).await;
    fx.monitor_pages(&broken, 120).await;
    fx.monitor_pages(&fine, 60).await;
    // The first lookup is answered, every later one is broken.
    broken.inject(Fault::Delay(Duration::from_millis(1)), 1);
    broken.inject(Fault::MalformedJson, usize::MAX / 2);
    let report = fx.watcher(1000).run().await.unwrap();
    assert_eq!(
        (report.checked, report.unchanged, report.errors),
        (180, 50 + 60, 70),
        "{}",
        report.summary()
    );
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].wiki, broken.wiki_url().key());
    assert_eq!(report.failures[0].pages, 70);
    assert_eq!(fine.request_count(), 2, "the other wiki went on");
    let logs = fx.logs().await;
    assert_eq!(logs.len(), 180);
    assert!(logs.iter().all(|log| log.len() == 1), "one row per page");
    let errors = logs
        .iter()
        .filter(|log| log[0] == PageCheckStatus::Error)
        .count();
    assert_eq!(errors, 70);
}
