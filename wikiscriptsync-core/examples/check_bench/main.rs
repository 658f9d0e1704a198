//! Benchmark of one full check pass of each kind, over the fakes:
//!
//! - repositories: 1,000 repositories × 5 watched files on a fake GitHub answering after 50 ms,
//!   with a token, `per_host_concurrency` requests in flight; a first pass (every head and tree
//!   is new), an unchanged pass, and a pass where 10% of the repositories moved;
//! - pages: 20 fake wikis × 500 monitored pages, each wiki answering after 50 ms, a first pass
//!   and a pass where 5% of the pages were edited (both claiming every page at once), then an
//!   unchanged pass with the default claim size (5,000), to show what batch boundaries cost.
//!
//! After each bulk setup the SQLite write-ahead log is checkpointed, so the first pass does not
//! pay for the setup's thousands of one-row transactions.
//!
//! The fakes run in a child process (this program started again with
//! `CHECK_BENCH_ROLE=serve-fakes`): it starts and fills them, prints their addresses as one line
//! of JSON, then answers one command per stdin line (`stats`, `reset-github`,
//! `move-repositories`, `edit-pages`) with one line of JSON, and exits when stdin closes. The
//! checker runs in this process, configured from those addresses the way an operator would
//! (GitHub API URL, `WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS`-style host list), so the memory figures
//! are the checker's own (with its SQLite store); the fakes' peak is read from
//! `/proc/<child>/status` and shown apart.
//!
//! For each pass it prints requests sent (as the fakes counted them), quota spent, wall time,
//! the checker's resident memory before the pass, its peak during the pass (VmHWM, reset before
//! each pass through `/proc/self/clear_refs`) and the growth, next to the physical limit
//! (requests × latency ÷ the concurrency the code allows) and a naive baseline of one request
//! per file or page at the same concurrency. Page passes also get a timeline summary (database
//! claim before the first lookup, lookup time against requests × latency, lookups in flight on
//! average, write tail after the last lookup); `--profile` prints every lookup call (the
//! watcher sends one request per call) and when each wiki's writes were done, and `RUST_LOG`
//! (e.g. `sqlx=debug`) logs every statement with its time. At the end, one lookup request is timed
//! alone on an idle wiki: what the fakes and the client add to the latency on this machine.
//!
//! Run: `cargo run --release -p wikiscriptsync-core --example check_bench` (add
//! `-- --small` for a quick run with a tenth of the data, `-- --profile` for the timelines).
//!
//! Layout: this file holds the settings, the shared names and the run from setup to figures;
//! `fakes` the fakes' process (both sides of its pipe), `passes` the check passes, `timeline`
//! the timing of page lookups, `memory` the resident-memory gauges and `report` the table.

mod fakes;
mod memory;
mod passes;
mod report;
mod timeline;

use std::error::Error as StdError;
use std::time::Duration;

use chrono::Utc;
use wikiscriptsync_core::store::{DatabaseUrl, StoreSettings};

use crate::fakes::FakesProcess;
use crate::memory::Memory;
use crate::passes::Run;
use crate::report::Summary;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Selects what this process does; the parent sets it when it starts the fakes' process.
const ROLE_ENV: &str = "CHECK_BENCH_ROLE";
const SERVE_FAKES: &str = "serve-fakes";

const LATENCY: Duration = Duration::from_millis(50);
const FILES_PER_REPO: usize = 5;
const PAGES_PER_WIKI: usize = 500;
/// Titles per lookup request for an anonymous session (no `apihighlimits`).
const TITLES_PER_LOOKUP: usize = 50;
/// Requests in flight per forge host (the forge client's gate) and repositories at once.
const FORGE_CONCURRENCY: usize = 8;
/// Wikis looked up at once (each wiki strictly serially: one anonymous session per wiki sends
/// its lookups one after the other, and the client allows one request in flight per wiki).
const WIKI_CONCURRENCY: usize = 4;
/// The goals of issue 6.
const GOAL_RATIO: f64 = 1.2;
const GOAL_BYTES: f64 = 64_000_000.0;
const MIB: f64 = 1024.0 * 1024.0;

/// How much data: the full benchmark, or a tenth of the repositories and two wikis.
#[derive(Debug, Clone, Copy)]
struct Scale {
    repositories: usize,
    wikis: usize,
}

impl Scale {
    fn from_args() -> Self {
        if std::env::args().any(|a| a == "--small") {
            Self {
                repositories: 100,
                wikis: 2,
            }
        } else {
            Self {
                repositories: 1000,
                wikis: 20,
            }
        }
    }

    fn is_small(self) -> bool {
        self.wikis < 20
    }
}

fn repo_name(r: usize) -> String {
    format!("bench/repo{r}")
}

fn watched_paths() -> Vec<String> {
    (0..FILES_PER_REPO)
        .map(|f| format!("src/Gadget-{f}.js"))
        .collect()
}

fn page_title(p: usize) -> String {
    format!("User:Bench/page{p}.js")
}

fn main() -> Result<(), BoxError> {
    let scale = Scale::from_args();
    if std::env::var(ROLE_ENV).as_deref() == Ok(SERVE_FAKES) {
        return fakes::serve_fakes(scale);
    }
    let profile = std::env::args().any(|a| a == "--profile");
    if std::env::var_os("RUST_LOG").is_some() {
        // e.g. RUST_LOG=sqlx=debug: every statement with its time, to see where a pass waits.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .with_writer(std::io::stderr)
            .init();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench(scale, profile))
}

/// The whole run: starts the fakes, opens a fresh SQLite store, runs the passes, calibrates one
/// request and prints the figures.
async fn bench(scale: Scale, profile: bool) -> Result<(), BoxError> {
    let Scale {
        repositories,
        wikis,
    } = scale;
    let memory = Memory::new();
    eprintln!(
        "starting the fakes' process: {repositories} repositories × {FILES_PER_REPO} files, \
         {wikis} wikis × {PAGES_PER_WIKI} pages ..."
    );
    let fakes = FakesProcess::spawn(scale)?;
    eprintln!(
        "fakes' process {} serving GitHub at {} and {} wikis",
        fakes.pid(),
        fakes.github_api_url,
        fakes.wiki_hosts.len()
    );

    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite:{}", dir.path().join("bench.sqlite3").display());
    let store = wikiscriptsync_core::store::open(
        &DatabaseUrl::new(sqlite_url.clone()),
        &StoreSettings::migrating(),
    )
    .await?;
    let user = store
        .upsert_user("central-1", "Bench", Utc::now())
        .await?
        .id;
    let mut run = Run {
        scale,
        fakes,
        memory,
        store,
        user,
        sqlite_url,
        start: Utc::now() - chrono::Duration::hours(1),
        rows: Vec::new(),
    };
    run.repository_passes().await?;
    let wiki_client = run.page_passes(profile).await?;
    let one_request =
        passes::calibrate_one_request(&wiki_client.client, &run.fakes.wiki_api_urls[0]).await?;
    let Run {
        fakes,
        mut memory,
        store,
        rows,
        ..
    } = run;
    let fakes_peak = fakes.peak_bytes();
    drop(fakes);
    store.close().await;
    let checker_peak = memory.peak().max(memory.run_peak);

    report::print_figures(
        &rows,
        &Summary {
            per_wiki_in_flight: wiki_client.per_wiki_in_flight,
            wikis_at_once: WIKI_CONCURRENCY.min(wikis),
            peak_resettable: memory.resettable,
            one_request,
            checker_peak,
            fakes_peak,
        },
    );
    Ok(())
}
