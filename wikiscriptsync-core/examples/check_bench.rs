//! Benchmark of one full check pass of each kind, over the fakes:
//!
//! - repositories: 1,000 repositories × 5 watched files on a fake GitHub answering after 50 ms,
//!   with a token, `per_host_concurrency` requests in flight; a first pass (every head and tree
//!   is new), an unchanged pass, and a pass where 10% of the repositories moved;
//! - pages: 20 fake wikis × 500 monitored pages, each wiki answering after 50 ms, a first pass
//!   and a pass where 5% of the pages were edited.
//!
//! For each pass it prints requests sent, quota spent, wall time and the process's peak memory
//! (VmHWM; the fakes live in the same process, so this over-counts the checker), next to the
//! physical limit (requests × latency ÷ allowed concurrency) and a naive baseline of one
//! request per file or page.
//!
//! Run: `cargo run --release -p wikiscriptsync-core --example check_bench` (add
//! `-- --small` for a quick run with a tenth of the data).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::monitor::{
    PageCheckSettings, PageWatcher, RepositoryCheckSettings, RepositoryChecker,
};
use wikiscriptsync_core::mw::testkit::{FakeWiki, Fault};
use wikiscriptsync_core::mw::{ActionApiClient, AllowList, ClientConfig, UserAgent};
use wikiscriptsync_core::publish::wiki_key;
use wikiscriptsync_core::store::{DatabaseUrl, Forge, NewRepository, StoreSettings};

const LATENCY: Duration = Duration::from_millis(50);
const FILES_PER_REPO: usize = 5;
const PAGES_PER_WIKI: usize = 500;
/// Requests in flight per forge host (the forge client's gate) and repositories at once.
const FORGE_CONCURRENCY: usize = 8;
/// Wikis looked up at once (each wiki strictly serially).
const WIKI_CONCURRENCY: usize = 4;

struct Row {
    pass: String,
    requests: u64,
    quota: String,
    wall: Duration,
    limit: Duration,
    naive_requests: u64,
    naive_limit: Duration,
    rss_before_mib: f64,
    peak_mib: f64,
}

/// Peak resident memory of the process so far (VmHWM).
fn peak_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Resident memory now (VmRSS).
fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn limit(requests: u64, concurrency: usize) -> Duration {
    LATENCY * u32::try_from(requests).unwrap_or(u32::MAX) / u32::try_from(concurrency).unwrap_or(1)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let small = std::env::args().any(|a| a == "--small");
    let (repositories, wikis) = if small { (100, 2) } else { (1000, 20) };
    let dir = tempfile::tempdir()?;
    let url = DatabaseUrl::new(format!(
        "sqlite:{}",
        dir.path().join("bench.sqlite3").display()
    ));
    let store = wikiscriptsync_core::store::open(&url, &StoreSettings::migrating()).await?;
    let user = store
        .upsert_user("central-1", "Bench", Utc::now())
        .await?
        .id;
    let mut rows = Vec::new();

    // ----- repositories -------------------------------------------------------------------
    eprintln!("setting up {repositories} repositories × {FILES_PER_REPO} files ...");
    let github = FakeGitHub::start().await;
    github.record_requests(false);
    let paths: Vec<String> = (0..FILES_PER_REPO)
        .map(|f| format!("src/Gadget-{f}.js"))
        .collect();
    let start = Utc::now() - chrono::Duration::hours(1);
    for r in 0..repositories {
        let name = format!("bench/repo{r}");
        github.add_repo(
            &name,
            paths
                .iter()
                .map(|p| (p.clone(), format!("// {name} {p}\n"))),
        );
        let repo = store
            .add_repository(
                user,
                &NewRepository {
                    forge: Forge::GitHub,
                    host: "github.com".to_owned(),
                    url: github.repo_url(&name),
                    branch: "main".to_owned(),
                },
                start + chrono::Duration::milliseconds(r as i64),
            )
            .await?;
        for path in &paths {
            store.watch_file(user, repo.id, path, start).await?;
        }
    }
    github.set_latency(LATENCY);
    let forges = Arc::new(Forges::new(
        github
            .config_builder_with_token("ghp_bench00000000000000000000000000000000")
            .per_host_concurrency(FORGE_CONCURRENCY)
            .request_timeout(Duration::from_secs(30))
            .build()?,
    )?);
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
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
            for r in (0..repositories).step_by(10) {
                github.commit(
                    &format!("bench/repo{r}"),
                    "main",
                    [(paths[0].clone(), Some("changed"))],
                );
            }
        }
        github.reset_stats();
        let rss_before_mib = rss_mib();
        let began = Instant::now();
        let report = checker.run().await?;
        let wall = began.elapsed();
        let stats = github.stats();
        assert_eq!(report.checked, repositories as u64, "{}", report.summary());
        rows.push(Row {
            pass: format!("repos: {pass}"),
            requests: stats.requests,
            quota: stats.quota_spent.to_string(),
            wall,
            limit: limit(stats.requests, FORGE_CONCURRENCY),
            naive_requests: naive_files,
            naive_limit: limit(naive_files, FORGE_CONCURRENCY),
            rss_before_mib,
            peak_mib: peak_mib(),
        });
        eprintln!("{}", report.summary());
    }
    drop(github);

    // ----- pages --------------------------------------------------------------------------
    eprintln!("setting up {wikis} wikis × {PAGES_PER_WIKI} pages ...");
    let mut fakes = Vec::new();
    let mut hosts = Vec::new();
    for w in 0..wikis {
        let wiki = FakeWiki::start().await;
        let key = wiki_key(&wiki.wiki_url());
        for p in 0..PAGES_PER_WIKI {
            let title = format!("User:Bench/page{p}.js");
            wiki.add_page(&title, "x();");
            store.add_page_monitor(user, &key, &title, start).await?;
        }
        wiki.inject(Fault::Delay(LATENCY), usize::MAX / 2);
        hosts.push(wiki.host());
        fakes.push(wiki);
        let _ = w;
    }
    let mut config = ClientConfig::new(UserAgent::from_contact("https://example.org/bench")?);
    config.allow_list = AllowList::wikimedia().with_extra_hosts(&hosts.join(","))?;
    config.request_timeout = Duration::from_secs(30);
    let client = Arc::new(ActionApiClient::new(config)?);
    let watcher = PageWatcher::new(
        Arc::clone(&store),
        client.clone(),
        PageCheckSettings {
            concurrency: WIKI_CONCURRENCY,
            interval: chrono::Duration::zero(),
            batch_size: 20_000,
            ..PageCheckSettings::new("bench")
        },
    );
    let naive_pages = (wikis * PAGES_PER_WIKI) as u64;
    for pass in ["first sight", "5% edited"] {
        if pass == "5% edited" {
            for wiki in &fakes {
                for p in (0..PAGES_PER_WIKI).step_by(20) {
                    wiki.edit_as(&format!("User:Bench/page{p}.js"), "y();", "Someone", "edit");
                }
            }
        }
        let before = client.request_count();
        let rss_before_mib = rss_mib();
        let began = Instant::now();
        let report = watcher.run().await?;
        let wall = began.elapsed();
        let requests = client.request_count() - before;
        assert_eq!(report.checked, naive_pages, "{}", report.summary());
        rows.push(Row {
            pass: format!("pages: {pass}"),
            requests,
            quota: "n/a".to_owned(),
            wall,
            // Each wiki is asked serially: the limit is also one wiki's requests in a row.
            limit: limit(requests, WIKI_CONCURRENCY.min(wikis)),
            naive_requests: naive_pages,
            naive_limit: limit(naive_pages, WIKI_CONCURRENCY.min(wikis)),
            rss_before_mib,
            peak_mib: peak_mib(),
        });
        eprintln!("{}", report.summary());
    }

    println!(
        "\nlatency {} ms; forge concurrency {FORGE_CONCURRENCY} per host; wiki concurrency {WIKI_CONCURRENCY} (serial per wiki); store SQLite\n",
        LATENCY.as_millis()
    );
    println!(
        "| pass | requests | quota spent | wall time | physical limit | wall ÷ limit | naive requests | naive limit | RSS before pass | peak RSS (process, incl. fakes) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.2} s | {:.2} s | {:.2}× | {} | {:.2} s | {:.1} MiB | {:.1} MiB |",
            row.pass,
            row.requests,
            row.quota,
            row.wall.as_secs_f64(),
            row.limit.as_secs_f64(),
            row.wall.as_secs_f64() / row.limit.as_secs_f64().max(f64::EPSILON),
            row.naive_requests,
            row.naive_limit.as_secs_f64(),
            row.rss_before_mib,
            row.peak_mib
        );
    }
    store.close().await;
    Ok(())
}
