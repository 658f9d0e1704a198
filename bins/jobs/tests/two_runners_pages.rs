//! Two `wikiscriptsync-jobs check-wiki-updates` processes started at once against one
//! database and the same two fake wikis, on SQLite and on MariaDB: every monitored page is
//! looked up and logged exactly once in the run, with the fewest lookups between them, and
//! every notification reaches its talk page exactly once.

mod support;

use std::collections::{BTreeSet, HashSet};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use support::{TestDatabase, jobs_command, stdout, summary_numbers};
use wikiscriptsync_core::monitor::{PageCheckSettings, PageWatcher};
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki, Fault};
use wikiscriptsync_core::mw::{ActionApiClient, AllowList, ClientConfig, RetryPolicy, UserAgent};
use wikiscriptsync_core::notify::{NOTIFY_BOT_PASSWORD_ENV, NOTIFY_BOT_USER_ENV};
use wikiscriptsync_core::store::{
    NotificationPreferences, NotificationStatus, PageCheckStatus, PageRequest, Store,
    StoreSettings, UserId,
};

/// Monitored pages, spread evenly over the wikis and the people.
const PAGES: usize = 120;
/// Fake wikis.
const WIKIS: usize = 2;
/// Titles per lookup without `apihighlimits` (anonymous lookups never have it).
const TITLES_PER_LOOKUP: usize = 50;
/// How late each lookup of the concurrent run is answered, so that the process that claimed
/// the pages still holds its claims while the other one runs.
const LOOKUP_LATENCY: Duration = Duration::from_millis(400);
/// The notification bot, with an account on every fake wiki.
const BOT_USER: &str = "Notifier@notify";
const BOT_PASSWORD: &str = "n0tifyBotPassw0rdQQ77zz11yy22xx33";

/// What a person asked to be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wants {
    /// A section per change.
    EachChange,
    /// One section per run.
    Digest,
    /// Page edits switched off.
    Nothing,
}

/// A user of the tool with notifications on their talk page on wiki `home`.
struct Person {
    name: &'static str,
    home: usize,
    wants: Wants,
}

const PEOPLE: [Person; 4] = [
    Person {
        name: "Alice",
        home: 0,
        wants: Wants::EachChange,
    },
    Person {
        name: "Bob",
        home: 1,
        wants: Wants::EachChange,
    },
    Person {
        name: "Carol",
        home: 0,
        wants: Wants::Digest,
    },
    Person {
        name: "Dave",
        home: 1,
        wants: Wants::Nothing,
    },
];

/// A monitored page: its title, the wiki it is on and the index of its owner in [`PEOPLE`].
struct Page {
    title: String,
    wiki: usize,
    owner: usize,
}

/// The database, the fakes and who monitors what.
struct Scenario {
    db: TestDatabase,
    wikis: Vec<FakeWiki>,
    store: Arc<dyn Store>,
    /// Per person, in [`PEOPLE`] order.
    users: Vec<UserId>,
    pages: Vec<Page>,
}

/// One process of the concurrent pair.
struct Run {
    output: Output,
    started: Instant,
    ended: Instant,
    /// Talk-page notices the fakes had received when this process ended.
    notices_when_ended: usize,
}

impl Scenario {
    /// [`PAGES`] pages over [`WIKIS`] wikis and the [`PEOPLE`] (page `i` is on wiki `i % 2`,
    /// every person has pages on both), each monitored by its owner, and every revision
    /// recorded by a first run.
    async fn new(db: TestDatabase) -> Self {
        let mut wikis = Vec::new();
        for _ in 0..WIKIS {
            let wiki = FakeWiki::start().await;
            wiki.add_account(FakeAccount::new(BOT_USER, BOT_PASSWORD));
            wikis.push(wiki);
        }
        let store =
            wikiscriptsync_core::store::open(&db.database_url(), &StoreSettings::migrating())
                .await
                .expect("open and migrate the test database");
        let mut users = Vec::new();
        for person in &PEOPLE {
            let user = store
                .upsert_user(&format!("central-{}", person.name), person.name, Utc::now())
                .await
                .unwrap()
                .id;
            let home = &wikis[person.home];
            home.add_page(&talk_page(person), "Welcome!");
            let disabled_event_kinds = match person.wants {
                Wants::Nothing => BTreeSet::from(["page_changed".to_owned()]),
                Wants::EachChange | Wants::Digest => BTreeSet::new(),
            };
            store
                .set_notification_preferences(
                    user,
                    &NotificationPreferences {
                        home_wiki: Some(home.wiki_url().key()),
                        digest: person.wants == Wants::Digest,
                        disabled_event_kinds,
                    },
                    Utc::now(),
                )
                .await
                .unwrap();
            users.push(user);
        }
        let mut pages = Vec::new();
        for i in 0..PAGES {
            let (wiki, owner) = (i % WIKIS, (i / WIKIS) % PEOPLE.len());
            let title = format!("User:{}/p{i}.js", PEOPLE[owner].name);
            wikis[wiki].add_page(&title, "x();");
            store
                .add_page_monitor(
                    users[owner],
                    &wikis[wiki].wiki_url().key(),
                    &title,
                    Utc::now(),
                )
                .await
                .unwrap();
            pages.push(Page { title, wiki, owner });
        }
        let scenario = Self {
            db,
            wikis,
            store,
            users,
            pages,
        };
        scenario.record_every_revision().await;
        scenario
    }

    /// The first run, in this process: records every page's revision and leaves every page
    /// due again at once (the binary would not check them again for 25 minutes).
    async fn record_every_revision(&self) {
        let mut config = ClientConfig::new(
            UserAgent::from_contact("https://example.org/tests").expect("a contact URL"),
        );
        config.allow_list = AllowList::wikimedia()
            .with_extra_hosts(&self.hosts().join(","))
            .expect("loopback hosts");
        config.retry = RetryPolicy::fast_for_tests();
        let client = Arc::new(ActionApiClient::new(config).expect("a wiki client"));
        let settings = PageCheckSettings {
            interval: chrono::Duration::zero(),
            ..PageCheckSettings::new("first-run")
        };
        let first = PageWatcher::new(Arc::clone(&self.store), client, settings)
            .run()
            .await
            .unwrap();
        assert_eq!(
            (first.checked, first.changed),
            (PAGES as u64, 0),
            "{}",
            first.summary()
        );
    }

    fn hosts(&self) -> Vec<String> {
        self.wikis.iter().map(FakeWiki::host).collect()
    }

    /// `check-wiki-updates` with the notification bot configured.
    fn check_wiki_updates(&self) -> Command {
        let mut command = jobs_command(&["check-wiki-updates"], self.db.url(), &self.hosts());
        command
            .env(NOTIFY_BOT_USER_ENV, BOT_USER)
            .env(NOTIFY_BOT_PASSWORD_ENV, BOT_PASSWORD);
        command
    }

    /// The pages owned by `PEOPLE[person]`.
    fn pages_of(&self, person: usize) -> impl Iterator<Item = &Page> {
        self.pages.iter().filter(move |page| page.owner == person)
    }
}

/// Lookups of latest revisions a wiki received (`prop=info|revisions` asking for `sha1`: not
/// the notifier's talk-page queries, not its login).
fn lookups(wiki: &FakeWiki) -> usize {
    wiki.requests()
        .iter()
        .filter(|r| {
            r.action == "query"
                && r.param("prop") == Some("info|revisions")
                && r.param("rvprop").is_some_and(|p| p.contains("sha1"))
        })
        .count()
}

/// The lookups one wiki needs at least: ⌈its pages ÷ 50⌉.
fn fewest_lookups_per_wiki() -> usize {
    (PAGES / WIKIS).div_ceil(TITLES_PER_LOOKUP)
}

fn talk_page(person: &Person) -> String {
    format!("User talk:{}", person.name)
}

/// The sections of a talk page (each from its `== heading ==` line to the next one).
fn sections(text: &str) -> Vec<String> {
    let mut sections: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("== ") && line.ends_with(" ==") {
            sections.push(String::new());
        }
        if let Some(section) = sections.last_mut() {
            section.push_str(line);
            section.push('\n');
        }
    }
    sections
}

/// Runs the binary, noting when it started and ended and how many notices the `wikis` had
/// received by then.
async fn timed(mut command: Command, wikis: &[FakeWiki]) -> Run {
    let wikis = wikis.to_vec();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let output = command.output().expect("run the binary");
        Run {
            output,
            started,
            ended: Instant::now(),
            notices_when_ended: wikis.iter().map(|w| w.requests_for("edit")).sum(),
        }
    })
    .await
    .expect("the blocking task")
}

async fn two_processes_check_every_page_and_notify_exactly_once(scenario: Scenario) {
    for page in &scenario.pages {
        scenario.wikis[page.wiki].edit_as(&page.title, "y();", "Mallory", "a fix");
    }
    let before: Vec<usize> = scenario.wikis.iter().map(lookups).collect();
    for wiki in &scenario.wikis {
        wiki.inject_for(
            "query",
            Fault::Delay(LOOKUP_LATENCY),
            fewest_lookups_per_wiki(),
        );
    }

    let (a, b) = tokio::join!(
        timed(scenario.check_wiki_updates(), &scenario.wikis),
        timed(scenario.check_wiki_updates(), &scenario.wikis)
    );
    let both = format!("{} | {}", stdout(&a.output), stdout(&b.output));
    assert!(
        a.output.status.success() && b.output.status.success(),
        "{:?} {:?}",
        a.output,
        b.output
    );
    assert!(
        a.started < b.ended && b.started < a.ended,
        "the two processes did not run at the same time: {both}"
    );
    for run in [&a, &b] {
        let logs = format!(
            "{}{}",
            stdout(&run.output),
            String::from_utf8_lossy(&run.output.stderr)
        );
        assert!(
            !logs.contains(BOT_PASSWORD),
            "the BotPassword leaked: {logs}"
        );
    }
    // Which process finds the pages is up to timing; the other finds them claimed.
    for (name, run) in [("a", &a), ("b", &b)] {
        println!(
            "process {name}: {} after {:?}; {} notices posted by then",
            stdout(&run.output).trim().replace('\n', "; "),
            run.ended - run.started,
            run.notices_when_ended
        );
    }

    // Every page checked once, by one of the two, with the fewest lookups between them.
    let checks = |run: &Run| summary_numbers(&run.output, "check-wiki-updates: ");
    let (checks_a, checks_b) = (checks(&a), checks(&b));
    assert_eq!(checks_a[0] + checks_b[0], PAGES as u64, "checked: {both}");
    assert_eq!(checks_a[3] + checks_b[3], PAGES as u64, "edited: {both}");
    // They overlapped: either both claimed pages, or the one that found every page claimed
    // ended before the other had posted any notice, i.e. while the other still held its
    // claims (its lookups alone take `fewest_lookups_per_wiki() × LOOKUP_LATENCY`).
    for (checked, run) in [(checks_a[0], &a), (checks_b[0], &b)] {
        if checked == 0 {
            assert_eq!(
                run.notices_when_ended, 0,
                "the process that checked nothing ran after the other had finished: {both}"
            );
        }
    }
    assert!(!both.contains("taken over"), "{both}");
    for (wiki, before) in scenario.wikis.iter().zip(before) {
        assert_eq!(
            lookups(wiki) - before,
            fewest_lookups_per_wiki(),
            "lookups on {} between both processes",
            wiki.host()
        );
    }
    assert_eq!(
        checks_a[7] + checks_b[7],
        (WIKIS * fewest_lookups_per_wiki()) as u64,
        "requests the processes counted: {both}"
    );
    for (person, &user) in PEOPLE.iter().zip(&scenario.users) {
        for monitor in scenario.store.list_page_monitors(user).await.unwrap() {
            let log = scenario
                .store
                .page_check_log(user, monitor.id, PageRequest::first(10))
                .await
                .unwrap()
                .items;
            assert_eq!(
                log.len(),
                2,
                "{} of {}: the first run and exactly one check since",
                monitor.page_title,
                person.name
            );
            assert_eq!(log[0].status, PageCheckStatus::Changed, "{log:?}");
        }
    }

    // Every change notified once: a section per change, or every change in exactly one
    // digest section; nothing for changes switched off; nothing anywhere but the home wiki.
    let notices = |run: &Run| summary_numbers(&run.output, "notifications: ");
    let (notices_a, notices_b) = (notices(&a), notices(&b));
    let mut sections_per_wiki = [0; WIKIS];
    for (index, (person, &user)) in PEOPLE.iter().zip(&scenario.users).enumerate() {
        let talk = scenario.wikis[person.home]
            .page_text(&talk_page(person))
            .expect("the talk page exists");
        let posted = sections(&talk);
        for page in scenario.pages_of(index) {
            let link = format!("[[:{}]]", page.title);
            let mentions = posted.iter().filter(|s| s.contains(&link)).count();
            let expected = usize::from(person.wants != Wants::Nothing);
            assert_eq!(
                mentions,
                expected,
                "{link} on {}: {talk}",
                talk_page(person)
            );
        }
        let owned = scenario.pages_of(index).count();
        match person.wants {
            Wants::EachChange => assert_eq!(posted.len(), owned, "{talk}"),
            // One digest from each process that found some of the changes.
            Wants::Digest => assert!((1..=2).contains(&posted.len()), "{talk}"),
            Wants::Nothing => assert!(posted.is_empty(), "{talk}"),
        }
        for (other, wiki) in scenario.wikis.iter().enumerate() {
            if other != person.home {
                assert_eq!(wiki.page(&talk_page(person)), None, "{}", person.name);
            }
        }
        let log = scenario
            .store
            .notification_log(user, PageRequest::first(500))
            .await
            .unwrap()
            .items;
        assert_eq!(log.len(), posted.len(), "{}: {log:?}", person.name);
        assert!(
            log.iter().all(|n| n.status == NotificationStatus::Sent),
            "{log:?}"
        );
        let keys: HashSet<&str> = log.iter().map(|n| n.dedup_key.as_str()).collect();
        assert_eq!(keys.len(), log.len(), "{log:?}");
        sections_per_wiki[person.home] += posted.len();
    }
    for (wiki, sections) in scenario.wikis.iter().zip(sections_per_wiki) {
        assert_eq!(
            wiki.requests_for("edit"),
            sections,
            "edits on {}: one per section, none repeated",
            wiki.host()
        );
    }
    let switched_off = scenario
        .pages
        .iter()
        .filter(|page| PEOPLE[page.owner].wants == Wants::Nothing)
        .count() as u64;
    assert_eq!(
        notices_a[0] + notices_b[0],
        sections_per_wiki.iter().sum::<usize>() as u64,
        "sent: {both}"
    );
    assert_eq!(notices_a[2] + notices_b[2], 0, "failed: {both}");
    assert_eq!(notices_a[3] + notices_b[3], 0, "already sent: {both}");
    assert_eq!(
        notices_a[4] + notices_b[4],
        switched_off,
        "switched off: {both}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_at_once_on_sqlite_check_every_page_and_notify_each_change_once() {
    let scenario = Scenario::new(TestDatabase::sqlite()).await;
    two_processes_check_every_page_and_notify_exactly_once(scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_at_once_on_mariadb_check_every_page_and_notify_each_change_once() {
    let Some(db) = support::mariadb().await else {
        return;
    };
    two_processes_check_every_page_and_notify_exactly_once(Scenario::new(db).await).await;
}
