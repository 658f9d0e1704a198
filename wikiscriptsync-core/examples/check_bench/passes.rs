//! The check passes: stores the monitored repositories and pages, runs each pass of each kind
//! against the fakes, checks its counts, measures it and adds its row to the table.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use wikiscriptsync_core::forge::{ForgeConfig, Forges, Token};
use wikiscriptsync_core::monitor::{
    PageCheckSettings, PageWatcher, Progress, RepositoryCheckSettings, RepositoryChecker,
};
use wikiscriptsync_core::mw::{ActionApiClient, AllowList, ClientConfig, UserAgent};
use wikiscriptsync_core::store::{Forge, NewRepository, Store, UserId};

use crate::fakes::FakesProcess;
use crate::memory::Memory;
use crate::report::{Row, limit};
use crate::timeline::{
    SharedTimeline, TimedWikiApi, Timeline, explain_page_pass, print_page_timeline, since_origin,
};
use crate::{
    BoxError, FILES_PER_REPO, FORGE_CONCURRENCY, PAGES_PER_WIKI, Scale, TITLES_PER_LOOKUP,
    WIKI_CONCURRENCY, page_title, repo_name, watched_paths,
};

/// What every pass shares: the fakes, the memory gauges, the store with the benchmark's user,
/// and the table the passes fill.
pub(crate) struct Run {
    pub(crate) scale: Scale,
    pub(crate) fakes: FakesProcess,
    pub(crate) memory: Memory,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) user: UserId,
    pub(crate) sqlite_url: String,
    /// When the setup says the repositories and pages were added.
    pub(crate) start: DateTime<Utc>,
    pub(crate) rows: Vec<Row>,
}

/// The wiki client the page passes used, for the calibration after them.
pub(crate) struct WikiClient {
    pub(crate) client: Arc<ActionApiClient>,
    /// Requests in flight per wiki the client allows.
    pub(crate) per_wiki_in_flight: usize,
}

impl Run {
    /// Stores the repositories and their watched files, then runs the three repository passes:
    /// first sight, unchanged, and 10% moved.
    pub(crate) async fn repository_passes(&mut self) -> Result<(), BoxError> {
        let Self {
            scale: Scale { repositories, .. },
            fakes,
            memory,
            store,
            user,
            sqlite_url,
            start,
            rows,
        } = self;
        let (repositories, user, start) = (*repositories, *user, *start);
        eprintln!("storing {repositories} repositories × {FILES_PER_REPO} watched files ...");
        let paths = watched_paths();
        for r in 0..repositories {
            let repo = store
                .add_repository(
                    user,
                    &NewRepository {
                        forge: Forge::GitHub,
                        host: "github.com".to_owned(),
                        full_name: repo_name(r),
                        url: format!("https://github.com/{}", repo_name(r)),
                        branch: "main".to_owned(),
                    },
                    start + chrono::Duration::milliseconds(r as i64),
                )
                .await?;
            for path in &paths {
                store.watch_file(user, repo.id, path, start).await?;
            }
        }
        settle_database(sqlite_url).await?;
        // As an operator would configure it: WIKISCRIPTSYNC_GITHUB_API_URL and a token.
        let forges = Arc::new(Forges::new(
            ForgeConfig::builder(UserAgent::from_contact("https://example.org/bench")?)
                .github_api_url(&fakes.github_api_url)
                .github_token(Token::from("ghp_bench00000000000000000000000000000000"))
                .per_host_concurrency(FORGE_CONCURRENCY)
                .request_timeout(Duration::from_secs(30))
                .build()?,
        )?);
        let checker = RepositoryChecker::new(
            Arc::clone(store),
            forges,
            RepositoryCheckSettings {
                concurrency: FORGE_CONCURRENCY,
                interval: chrono::Duration::zero(),
                ..RepositoryCheckSettings::new("bench")
            },
        );
        let naive_files = (repositories * FILES_PER_REPO) as u64;
        for pass in ["first sight", "unchanged", "10% moved"] {
            if pass == "10% moved" {
                fakes.ask("move-repositories")?;
            }
            fakes.ask("reset-github")?;
            let rss_before = memory.rss();
            memory.reset_peak();
            let began = Instant::now();
            let report = checker.run().await?;
            let wall = began.elapsed();
            let peak_in_pass = memory.peak();
            let stats = fakes.ask("stats")?;
            let requests = stats["github"]["requests"].as_u64().unwrap_or_default();
            let quota = stats["github"]["quota_spent"].as_u64().unwrap_or_default();
            assert_eq!(report.checked, repositories as u64, "{}", report.summary());
            if report.requests != requests {
                eprintln!(
                    "note: the checker counted {} requests, the fake received {requests}",
                    report.requests
                );
            }
            rows.push(Row {
                pass: format!("repos: {pass}"),
                requests,
                quota: quota.to_string(),
                wall,
                limit: limit(requests, FORGE_CONCURRENCY),
                concurrency: FORGE_CONCURRENCY,
                naive_requests: naive_files,
                naive_limit: limit(naive_files, FORGE_CONCURRENCY),
                rss_before,
                peak_in_pass,
                fakes_peak: fakes.peak_bytes(),
            });
            eprintln!("{}", report.summary());
        }
        drop(checker);
        Ok(())
    }

    /// Stores the monitored pages, then runs the three page passes: first sight and 5% edited
    /// (each claiming every page at once), and unchanged with the default claim size.
    pub(crate) async fn page_passes(&mut self, profile: bool) -> Result<WikiClient, BoxError> {
        let Self {
            scale: Scale { wikis, .. },
            fakes,
            memory,
            store,
            user,
            sqlite_url,
            start,
            rows,
        } = self;
        let (wikis, user, start) = (*wikis, *user, *start);
        eprintln!("storing {wikis} wikis × {PAGES_PER_WIKI} monitored pages ...");
        // As an operator would configure it: WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS=host:port,...
        let mut config = ClientConfig::new(UserAgent::from_contact("https://example.org/bench")?);
        config.allow_list = AllowList::wikimedia().with_extra_hosts(&fakes.wiki_hosts.join(","))?;
        config.request_timeout = Duration::from_secs(30);
        // One request in flight per wiki (the default, and what Wikimedia asks of bots).
        let per_wiki_in_flight = config.max_in_flight;
        let client = Arc::new(ActionApiClient::new(config)?);
        for api_url in &fakes.wiki_api_urls {
            let key = client.parse_wiki(api_url)?.key();
            for p in 0..PAGES_PER_WIKI {
                store
                    .add_page_monitor(user, &key, &page_title(p), start)
                    .await?;
            }
        }
        settle_database(sqlite_url).await?;
        let timeline: SharedTimeline = Arc::default();
        let progress_timeline = Arc::clone(&timeline);
        let progress: wikiscriptsync_core::monitor::ProgressSink = Arc::new(move |_: Progress| {
            let at = since_origin(&progress_timeline);
            progress_timeline
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .written
                .push(at);
        });
        let settings = |batch_size: u32| PageCheckSettings {
            concurrency: WIKI_CONCURRENCY,
            interval: chrono::Duration::zero(),
            batch_size,
            ..PageCheckSettings::new("bench")
        };
        let watcher = |batch_size: u32| {
            PageWatcher::new(
                Arc::clone(store),
                Arc::new(TimedWikiApi {
                    inner: Arc::clone(&client),
                    timeline: Arc::clone(&timeline),
                }),
                settings(batch_size),
            )
            .with_progress(Arc::clone(&progress))
        };
        let default_batch = PageCheckSettings::new("bench").batch_size;
        // What the watcher is allowed: its wiki slots (no more than there are wikis) × requests in
        // flight per wiki (a session's lookups are sequential anyway), read from the very settings
        // it runs with.
        let page_concurrency = settings(default_batch).concurrency.min(wikis) * per_wiki_in_flight;
        let requests_per_wiki = PAGES_PER_WIKI.div_ceil(TITLES_PER_LOOKUP) as u64;
        let naive_pages = (wikis * PAGES_PER_WIKI) as u64;
        // The two passes claim every page at once; a third, unchanged pass uses the
        // default claim size, to show what batch boundaries cost when pages outnumber it.
        let default_pass = format!("unchanged, claims of {default_batch} (default)");
        for (pass, batch_size) in [
            ("first sight", 20_000),
            ("5% edited", 20_000),
            (default_pass.as_str(), default_batch),
        ] {
            if pass == "5% edited" {
                fakes.ask("edit-pages")?;
            }
            let watcher = watcher(batch_size);
            let served_before = fakes.wiki_requests()?;
            let before = client.request_count();
            *timeline.lock().unwrap_or_else(PoisonError::into_inner) = Timeline {
                origin: Some(Instant::now()),
                ..Timeline::default()
            };
            let rss_before = memory.rss();
            memory.reset_peak();
            let began = Instant::now();
            let report = watcher.run().await?;
            let wall = began.elapsed();
            let peak_in_pass = memory.peak();
            let sent = client.request_count() - before;
            let served: Vec<u64> = fakes
                .wiki_requests()?
                .iter()
                .zip(&served_before)
                .map(|(after, before)| after - before)
                .collect();
            let requests: u64 = served.iter().sum();
            assert_eq!(report.checked, naive_pages, "{}", report.summary());
            assert_eq!(sent, requests, "the client and the fakes disagree");
            // The monitor must ask each wiki exactly ⌈pages ÷ 50⌉ times, no more.
            if !served.iter().all(|&n| n == requests_per_wiki) {
                eprintln!(
                    "note: requests per wiki {served:?}, {requests_per_wiki} each was the minimum \
                     (a wiki split across two claims is asked twice)"
                );
            }
            rows.push(Row {
                pass: format!("pages: {pass}"),
                requests,
                quota: "n/a".to_owned(),
                wall,
                limit: limit(requests, page_concurrency),
                concurrency: page_concurrency,
                naive_requests: naive_pages,
                naive_limit: limit(naive_pages, page_concurrency),
                rss_before,
                peak_in_pass,
                fakes_peak: fakes.peak_bytes(),
            });
            eprintln!("{}", report.summary());
            let timeline = timeline.lock().unwrap_or_else(PoisonError::into_inner);
            if profile {
                print_page_timeline(&timeline);
            }
            explain_page_pass(&format!("pages: {pass}"), &timeline, wall, page_concurrency);
        }
        Ok(WikiClient {
            client,
            per_wiki_in_flight,
        })
    }
}

/// Checkpoints the SQLite write-ahead log after the bulk setup (thousands of one-row
/// transactions a moment ago). Without it, the first pass's claim commit pays the checkpoint of
/// the whole setup (about 0.5 s with an fsync on this disk), which a production run, whose
/// monitors were added over days, does not.
async fn settle_database(sqlite_url: &str) -> Result<(), BoxError> {
    use sqlx::Connection as _;
    let mut connection = sqlx::SqliteConnection::connect(sqlite_url).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut connection)
        .await?;
    connection.close().await?;
    Ok(())
}

/// One lookup request alone on an otherwise idle wiki: the round trip the fakes and the
/// client need on this machine beyond the injected latency.
pub(crate) async fn calibrate_one_request(
    client: &ActionApiClient,
    api_url: &str,
) -> Result<Duration, BoxError> {
    let session = client.anonymous_session(&client.parse_wiki(api_url)?)?;
    let titles: Vec<String> = (0..TITLES_PER_LOOKUP).map(page_title).collect();
    // The first request also opens the connection; time the second.
    session.lookup_revisions(&titles).await?;
    let began = Instant::now();
    session.lookup_revisions(&titles).await?;
    Ok(began.elapsed())
}
