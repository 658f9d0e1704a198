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

use std::error::Error as StdError;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::forge::{ForgeConfig, Forges, Token, user_agent};
use wikiscriptsync_core::monitor::{
    PageCheckSettings, PageWatcher, Progress, RepositoryCheckSettings, RepositoryChecker,
};
use wikiscriptsync_core::mw::testkit::{FakeWiki, Fault};
use wikiscriptsync_core::mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, EditOutcome, EditRequest, Error,
    PageLookup, PageText, Probe, TalkNotice, TalkNoticeOutcome, Title, UserAgent, UserInfo,
    WikiApi, WikiSession, WikiUrl,
};
use wikiscriptsync_core::store::{DatabaseUrl, Forge, NewRepository, StoreSettings};

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
        return serve_fakes(scale);
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

// ----- the fakes' process -------------------------------------------------------------------

/// Starts and fills the fakes, prints their addresses, then serves commands until stdin closes.
/// Each wiremock server runs on its own thread, so blocking on stdin here does not stall them.
fn serve_fakes(scale: Scale) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let paths = watched_paths();
    let (github, wikis) = runtime.block_on(async {
        let github = FakeGitHub::start().await;
        github.record_requests(false);
        for r in 0..scale.repositories {
            let name = repo_name(r);
            github.add_repo(
                &name,
                paths
                    .iter()
                    .map(|p| (p.clone(), format!("// {name} {p}\n"))),
            );
        }
        github.set_latency(LATENCY);
        let mut wikis = Vec::with_capacity(scale.wikis);
        for _ in 0..scale.wikis {
            let wiki = FakeWiki::start().await;
            for p in 0..PAGES_PER_WIKI {
                wiki.add_page(&page_title(p), "x();");
            }
            wiki.inject(Fault::Delay(LATENCY), usize::MAX / 2);
            wikis.push(wiki);
        }
        (github, wikis)
    });
    let mut out = std::io::stdout().lock();
    let mut reply = |value: Value| -> std::io::Result<()> {
        writeln!(out, "{value}")?;
        out.flush()
    };
    reply(json!({
        "pid": std::process::id(),
        "github_api_url": github.uri(),
        "wiki_api_urls": wikis.iter().map(FakeWiki::api_url).collect::<Vec<_>>(),
        "wiki_hosts": wikis.iter().map(FakeWiki::host).collect::<Vec<_>>(),
    }))?;
    for line in std::io::stdin().lock().lines() {
        let answer = match line?.trim() {
            "stats" => {
                let stats = github.stats();
                json!({
                    "github": {
                        "requests": stats.requests,
                        "quota_spent": stats.quota_spent,
                        "not_modified": stats.not_modified,
                    },
                    "wiki_requests": wikis.iter().map(FakeWiki::request_count).collect::<Vec<_>>(),
                })
            }
            "reset-github" => {
                github.reset_stats();
                json!({"ok": true})
            }
            "move-repositories" => {
                let mut moved = 0;
                for r in (0..scale.repositories).step_by(10) {
                    github.commit(&repo_name(r), "main", [(paths[0].clone(), Some("changed"))]);
                    moved += 1;
                }
                json!({"ok": true, "moved": moved})
            }
            "edit-pages" => {
                let mut edited = 0;
                for wiki in &wikis {
                    for p in (0..PAGES_PER_WIKI).step_by(20) {
                        wiki.edit_as(&page_title(p), "y();", "Someone", "edit");
                        edited += 1;
                    }
                }
                json!({"ok": true, "edited": edited})
            }
            other => json!({"error": format!("unknown command {other:?}")}),
        };
        reply(answer)?;
    }
    // stdin closed: the benchmark is over (or gone). Stop the servers inside the runtime.
    runtime.block_on(async move {
        drop(github);
        drop(wikis);
    });
    Ok(())
}

/// The fakes' process as the benchmark sees it.
struct FakesProcess {
    child: Child,
    /// `None` once closed (closing it tells the child to exit).
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    github_api_url: String,
    wiki_api_urls: Vec<String>,
    wiki_hosts: Vec<String>,
}

impl FakesProcess {
    fn spawn(scale: Scale) -> Result<Self, BoxError> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .env(ROLE_ENV, SERVE_FAKES)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if scale.is_small() {
            command.arg("--small");
        }
        let mut child = command.spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the fakes' process has no stdin/stdout pipe".into());
        };
        let mut fakes = Self {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            github_api_url: String::new(),
            wiki_api_urls: Vec::new(),
            wiki_hosts: Vec::new(),
        };
        let hello = fakes.read_reply()?;
        let strings = |key: &str| -> Vec<String> {
            hello[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        fakes.github_api_url = hello["github_api_url"]
            .as_str()
            .ok_or("the fakes' process did not say where its GitHub is")?
            .to_owned();
        fakes.wiki_api_urls = strings("wiki_api_urls");
        fakes.wiki_hosts = strings("wiki_hosts");
        if fakes.wiki_api_urls.len() != scale.wikis || fakes.wiki_hosts.len() != scale.wikis {
            return Err(format!("the fakes' process announced wrong wikis: {hello}").into());
        }
        Ok(fakes)
    }

    fn read_reply(&mut self) -> Result<Value, BoxError> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("the fakes' process exited (see its messages above)".into());
        }
        let value: Value = serde_json::from_str(&line)?;
        if let Some(error) = value.get("error") {
            return Err(format!("the fakes' process refused a command: {error}").into());
        }
        Ok(value)
    }

    /// Sends one command and waits for its answer (outside any timed section).
    fn ask(&mut self, command: &str) -> Result<Value, BoxError> {
        tokio::task::block_in_place(|| {
            let stdin = self.stdin.as_mut().ok_or("the fakes' process was closed")?;
            writeln!(stdin, "{command}")?;
            stdin.flush()?;
            self.read_reply()
        })
    }

    fn wiki_requests(&mut self) -> Result<Vec<u64>, BoxError> {
        Ok(self.ask("stats")?["wiki_requests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect())
    }

    /// The fakes' process's peak resident memory so far (VmHWM).
    fn peak_bytes(&self) -> f64 {
        status_bytes(&format!("/proc/{}/status", self.child.id()), "VmHWM:")
    }
}

impl Drop for FakesProcess {
    fn drop(&mut self) {
        // Closing stdin is the child's signal to stop.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

// ----- memory -------------------------------------------------------------------------------

fn status_bytes(status_file: &str, field: &str) -> f64 {
    std::fs::read_to_string(status_file)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb * 1024.0)
}

/// This process's memory: resident now, the peak since the last reset, and the peak over the
/// whole run (kept here because each reset forgets the kernel's).
struct Memory {
    run_peak: f64,
    resettable: bool,
}

impl Memory {
    fn new() -> Self {
        Self {
            run_peak: 0.0,
            resettable: true,
        }
    }

    fn rss(&self) -> f64 {
        status_bytes("/proc/self/status", "VmRSS:")
    }

    fn peak(&mut self) -> f64 {
        let peak = status_bytes("/proc/self/status", "VmHWM:");
        self.run_peak = self.run_peak.max(peak);
        peak
    }

    /// Starts a new peak window (Linux: writing 5 to clear_refs resets VmHWM to VmRSS). If
    /// that is refused, peaks stay cumulative and the table says so.
    fn reset_peak(&mut self) {
        self.peak();
        self.resettable &= std::fs::write("/proc/self/clear_refs", "5").is_ok();
    }
}

// ----- the table ----------------------------------------------------------------------------

struct Row {
    pass: String,
    requests: u64,
    quota: String,
    wall: Duration,
    limit: Duration,
    concurrency: usize,
    naive_requests: u64,
    naive_limit: Duration,
    rss_before: f64,
    peak_in_pass: f64,
    fakes_peak: f64,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.wall.as_secs_f64() / self.limit.as_secs_f64().max(f64::EPSILON)
    }
}

fn limit(requests: u64, concurrency: usize) -> Duration {
    LATENCY * u32::try_from(requests).unwrap_or(u32::MAX) / u32::try_from(concurrency).unwrap_or(1)
}

fn mib(bytes: f64) -> f64 {
    bytes / MIB
}

// ----- page lookup timeline -----------------------------------------------------------------

/// When each wiki's lookup ran and when its results were written, relative to the pass start.
#[derive(Debug, Default)]
struct Timeline {
    origin: Option<Instant>,
    lookups: Vec<LookupSpan>,
    written: Vec<Duration>,
}

#[derive(Debug, Clone)]
struct LookupSpan {
    wiki: String,
    start: Duration,
    end: Duration,
    requests: u64,
}

type SharedTimeline = Arc<Mutex<Timeline>>;

fn since_origin(timeline: &SharedTimeline) -> Duration {
    let timeline = timeline.lock().unwrap_or_else(PoisonError::into_inner);
    timeline.origin.map_or(Duration::ZERO, |o| o.elapsed())
}

/// The client the watcher uses, with every anonymous session's lookups timed.
struct TimedWikiApi {
    inner: Arc<ActionApiClient>,
    timeline: SharedTimeline,
}

#[async_trait]
impl WikiApi for TimedWikiApi {
    fn parse_wiki(&self, input: &str) -> Result<WikiUrl, Error> {
        self.inner.parse_wiki(input)
    }

    async fn login(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
    ) -> Result<Arc<dyn WikiSession>, Error> {
        WikiApi::login(self.inner.as_ref(), wiki, credentials).await
    }

    fn anonymous(&self, wiki: &WikiUrl) -> Result<Arc<dyn WikiSession>, Error> {
        Ok(Arc::new(TimedSession {
            inner: WikiApi::anonymous(self.inner.as_ref(), wiki)?,
            timeline: Arc::clone(&self.timeline),
        }))
    }

    fn request_count(&self) -> u64 {
        self.inner.request_count()
    }
}

struct TimedSession {
    inner: Arc<dyn WikiSession>,
    timeline: SharedTimeline,
}

#[async_trait]
impl WikiSession for TimedSession {
    fn wiki(&self) -> &WikiUrl {
        self.inner.wiki()
    }

    fn user_name(&self) -> Option<String> {
        self.inner.user_name()
    }

    fn request_count(&self) -> u64 {
        self.inner.request_count()
    }

    async fn user_info(&self) -> Result<UserInfo, Error> {
        self.inner.user_info().await
    }

    async fn lookup_revisions(&self, titles: &[String]) -> Result<Vec<PageLookup>, Error> {
        let start = since_origin(&self.timeline);
        let before = self.inner.request_count();
        let result = self.inner.lookup_revisions(titles).await;
        let end = since_origin(&self.timeline);
        let span = LookupSpan {
            wiki: self.inner.wiki().host(),
            start,
            end,
            requests: self.inner.request_count() - before,
        };
        self.timeline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lookups
            .push(span);
        result
    }

    async fn page_text(
        &self,
        title: &Title,
        revision: Option<u64>,
    ) -> Result<Option<PageText>, Error> {
        self.inner.page_text(title, revision).await
    }

    async fn probe(&self, title: &Title) -> Result<Probe, Error> {
        self.inner.probe(title).await
    }

    async fn edit(&self, request: &EditRequest) -> Result<EditOutcome, Error> {
        self.inner.edit(request).await
    }

    async fn post_talk_notice(&self, notice: &TalkNotice) -> Result<TalkNoticeOutcome, Error> {
        self.inner.post_talk_notice(notice).await
    }
}

/// Where a page pass spent its time, from the timeline.
fn explain_page_pass(pass: &str, timeline: &Timeline, wall: Duration, concurrency: usize) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let lookups = &timeline.lookups;
    let (Some(first_start), Some(last_end)) = (
        lookups.iter().map(|s| s.start).min(),
        lookups.iter().map(|s| s.end).max(),
    ) else {
        return;
    };
    let busy: Duration = lookups.iter().map(|s| s.end - s.start).sum();
    let requests: u64 = lookups.iter().map(|s| s.requests).sum();
    let ideal = LATENCY * u32::try_from(requests).unwrap_or(u32::MAX);
    let last_written = timeline.written.iter().max().copied().unwrap_or(wall);
    eprintln!(
        "  {pass}: claim before first lookup {:.0} ms; lookups {:.0}–{:.0} ms ({:.0} ms of \
         lookups for {requests} requests: {:.1} ms per request against {} ms latency, \
         i.e. {:.0} ms over latency in all); {:.2} lookups in flight on average (allowed \
         {concurrency}); last write done at {:.0} ms; run ended at {:.0} ms",
        ms(first_start),
        ms(first_start),
        ms(last_end),
        ms(busy),
        ms(busy) / requests.max(1) as f64,
        LATENCY.as_millis(),
        ms(busy.saturating_sub(ideal)),
        busy.as_secs_f64() / (last_end - first_start).as_secs_f64().max(f64::EPSILON),
        ms(last_written),
        ms(wall),
    );
}

fn print_page_timeline(timeline: &Timeline) {
    let mut spans = timeline.lookups.clone();
    spans.sort_by_key(|s| s.start);
    for span in spans {
        eprintln!(
            "    {:>22}  lookup {:>6.0} → {:>6.0} ms  ({} requests, {:.1} ms each)",
            span.wiki,
            span.start.as_secs_f64() * 1000.0,
            span.end.as_secs_f64() * 1000.0,
            span.requests,
            (span.end - span.start).as_secs_f64() * 1000.0 / span.requests.max(1) as f64
        );
    }
    let mut written = timeline.written.clone();
    written.sort();
    eprintln!(
        "    writes done at (ms): {}",
        written
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

// ----- the benchmark ------------------------------------------------------------------------

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
async fn calibrate_one_request(
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

async fn bench(scale: Scale, profile: bool) -> Result<(), BoxError> {
    let Scale {
        repositories,
        wikis,
    } = scale;
    let mut memory = Memory::new();
    eprintln!(
        "starting the fakes' process: {repositories} repositories × {FILES_PER_REPO} files, \
         {wikis} wikis × {PAGES_PER_WIKI} pages ..."
    );
    let mut fakes = FakesProcess::spawn(scale)?;
    eprintln!(
        "fakes' process {} serving GitHub at {} and {} wikis",
        fakes.child.id(),
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
    let mut rows = Vec::new();

    // ----- repositories -------------------------------------------------------------------
    eprintln!("storing {repositories} repositories × {FILES_PER_REPO} watched files ...");
    let paths = watched_paths();
    let start = Utc::now() - chrono::Duration::hours(1);
    for r in 0..repositories {
        let repo = store
            .add_repository(
                user,
                &NewRepository {
                    forge: Forge::GitHub,
                    host: "github.com".to_owned(),
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
    settle_database(&sqlite_url).await?;
    // As an operator would configure it: WIKISCRIPTSYNC_GITHUB_API_URL and a token.
    let forges = Arc::new(Forges::new(
        ForgeConfig::builder(user_agent("https://example.org/bench")?)
            .github_api_url(&fakes.github_api_url)
            .github_token(Token::from("ghp_bench00000000000000000000000000000000"))
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

    // ----- pages --------------------------------------------------------------------------
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
    settle_database(&sqlite_url).await?;
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
            Arc::clone(&store),
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
    let one_request = calibrate_one_request(&client, &fakes.wiki_api_urls[0]).await?;
    let fakes_peak = fakes.peak_bytes();
    drop(fakes);
    store.close().await;
    let checker_peak = memory.peak().max(memory.run_peak);

    let peak_label = if memory.resettable {
        "peak in pass"
    } else {
        "peak so far (reset refused)"
    };
    println!(
        "\nlatency {} ms; forge: {FORGE_CONCURRENCY} requests in flight per host, \
         {FORGE_CONCURRENCY} repositories at once; wikis: {} at once × {per_wiki_in_flight} \
         request in flight per wiki; store SQLite (in the checker's process); fakes in a \
         separate process\n",
        LATENCY.as_millis(),
        WIKI_CONCURRENCY.min(wikis),
    );
    println!(
        "| pass | requests | quota spent | wall time | physical limit (requests × {} ms ÷ concurrency) | wall ÷ limit | naive requests | naive limit | checker RSS before pass | checker {peak_label} | checker growth in pass | fakes' process peak RSS |",
        LATENCY.as_millis()
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {:.2} s | {:.2} s (÷{}) | {:.2}× | {} | {:.2} s | {:.1} MiB | {:.1} MiB | {:+.1} MiB | {:.1} MiB |",
            row.pass,
            row.requests,
            row.quota,
            row.wall.as_secs_f64(),
            row.limit.as_secs_f64(),
            row.concurrency,
            row.ratio(),
            row.naive_requests,
            row.naive_limit.as_secs_f64(),
            mib(row.rss_before),
            mib(row.peak_in_pass),
            mib(row.peak_in_pass - row.rss_before),
            mib(row.fakes_peak),
        );
    }
    println!(
        "\none lookup request alone on an idle fake wiki takes {:.1} ms against {} ms of \
         injected latency (the fakes' and the client's own time on this 2-core machine)",
        one_request.as_secs_f64() * 1000.0,
        LATENCY.as_millis()
    );
    let worst = rows.iter().map(Row::ratio).fold(0.0, f64::max);
    println!(
        "\nchecker process peak RSS over the whole run (setup included): {:.1} MiB; fakes' \
         process peak RSS: {:.1} MiB",
        mib(checker_peak),
        mib(fakes_peak)
    );
    println!(
        "goal wall ≤ {GOAL_RATIO}× limit: {} (worst {worst:.2}×); goal checker peak < 64 MB \
         ({:.1} MiB): {} ({:.1} MB)",
        if worst <= GOAL_RATIO {
            "met"
        } else {
            "NOT met"
        },
        mib(GOAL_BYTES),
        if checker_peak < GOAL_BYTES {
            "met"
        } else {
            "NOT met"
        },
        checker_peak / 1e6
    );
    Ok(())
}
