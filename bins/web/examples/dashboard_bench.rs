//! Dashboard benchmark: one user with 500 watched files and 500 mappings (plus monitors and a
//! publish log), the real server binary in development mode on loopback, and
//!
//! 1. closed-loop throughput with `wrk` (if installed) on the dashboard and on a plain-text
//!    route of the same server (`/robots.txt`, the ceiling), alternating in rounds,
//! 2. an open-loop run at a fixed 200 requests/s (a small tokio client) for the p50/p99 the
//!    issue's goal is stated in,
//! 3. the server's idle RSS and its peak RSS after the load (from /proc).
//!
//! Both with the dashboard cache on (the default) and off, so the cost of a database read is
//! in the table too.
//!
//! Run: `cargo build --release -p wikiscriptsync-web --bins --examples &&
//! target/release/examples/dashboard_bench` (CARGO_TARGET_DIR applies).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use wikiscriptsync_core::store::{
    DashboardLimits, Forge, MappingOptions, MappingScope, NewMapping, NewPublishLogEntry,
    NewRepository, PublishOutcome, PublishedState,
};
use wikiscriptsync_web::WebConfig;
use wikiscriptsync_web::keys::Keys;

const REPOSITORIES: usize = 10;
const FILES_PER_REPOSITORY: usize = 50;
const MONITORS: usize = 50;
const PUBLISHES: usize = 200;
const FIXED_RATES: [u32; 2] = [50, 200];
const FIXED_SECONDS: u64 = 5;
const WRK_SECONDS: &str = "5s";
/// wrk runs on the dashboard and on the plain route, alternating, so both see the same
/// machine (two cores shared with wrk itself); the share is the median of the rounds.
const WRK_ROUNDS: usize = 3;

type BoxError = Box<dyn std::error::Error>;

async fn seed(dir: &Path) -> Result<(), BoxError> {
    Keys::load_or_generate(dir)?;
    let config = WebConfig::development(0, dir.to_owned());
    let store = wikiscriptsync_web::config::open_store(&config).await?;
    let now = Utc::now();
    let user = store.upsert_user("dev:bench", "bench", now).await?;
    let mut mappings = 0;
    for r in 0..REPOSITORIES {
        let repository = store
            .add_repository(
                user.id,
                &NewRepository {
                    forge: Forge::GitHub,
                    host: "github.com".into(),
                    full_name: format!("bench/gadgets-{r}"),
                    url: format!("https://github.com/bench/gadgets-{r}"),
                    branch: "main".into(),
                },
                now,
            )
            .await?;
        for f in 0..FILES_PER_REPOSITORY {
            let file = store
                .watch_file(user.id, repository.id, &format!("src/gadget-{f}.js"), now)
                .await?;
            let mapping = store
                .add_mapping(
                    user.id,
                    &NewMapping {
                        watched_file_id: file.id,
                        wiki: "en.wikipedia.org".into(),
                        page_title: format!("User:Bench/gadget-{r}-{f}.js"),
                        options: MappingOptions::default(),
                    },
                    now,
                )
                .await?;
            if f % 2 == 0 {
                store
                    .record_published(
                        user.id,
                        mapping.id,
                        &PublishedState {
                            blob_sha: format!("{f:040x}"),
                            commit_sha: format!("{r:040x}"),
                            revid: 1000 + f as i64,
                            at: now,
                        },
                    )
                    .await?;
            }
            mappings += 1;
        }
    }
    for m in 0..MONITORS {
        store
            .add_page_monitor(
                user.id,
                "en.wikipedia.org",
                &format!("MediaWiki:Gadget-{m}.js"),
                now,
            )
            .await?;
    }
    for p in 0..PUBLISHES {
        store
            .append_publish_log(&NewPublishLogEntry {
                user_id: user.id,
                mapping_id: None,
                task_id: None,
                at: now,
                outcome: PublishOutcome::Published,
                dry_run: false,
                wiki: "en.wikipedia.org".into(),
                page_title: format!("User:Bench/gadget-{p}.js"),
                repo_url: Some("https://github.com/bench/gadgets-0".into()),
                branch: Some("main".into()),
                file_path: Some("src/gadget-0.js".into()),
                commit_sha: None,
                blob_sha: None,
                base_revid: None,
                new_revid: Some(p as i64),
                message: Some("published".into()),
                content_sha1: None,
            })
            .await?;
    }
    println!(
        "seeded: {} repositories, {} watched files, {mappings} mappings, {MONITORS} monitors, {PUBLISHES} publish-log rows",
        REPOSITORIES,
        REPOSITORIES * FILES_PER_REPOSITORY
    );
    // Where a dashboard request's time goes: the store's queries, and a usage count; next to
    // the full listing one repository's page reads.
    let runs = 50;
    let limits = DashboardLimits {
        recent: 10,
        items: 25,
    };
    let started = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(store.dashboard(user.id, limits).await?);
    }
    let query = started.elapsed() / runs;
    let repositories = store.list_repositories(user.id).await?;
    let started = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(
            store
                .mapping_statuses(user.id, &MappingScope::Repository(repositories[0].id))
                .await?,
        );
    }
    println!(
        "in-process: store.mapping_statuses(one repository, {FILES_PER_REPOSITORY} mappings) {:.2} ms",
        (started.elapsed() / runs).as_secs_f64() * 1e3
    );
    let started = Instant::now();
    for _ in 0..runs {
        store.record_usage(now.date_naive(), "bench", 1).await?;
    }
    let usage = started.elapsed() / runs;
    println!(
        "in-process: store.dashboard() {:.2} ms, store.record_usage() {:.2} ms (mean of {runs})",
        query.as_secs_f64() * 1e3,
        usage.as_secs_f64() * 1e3
    );
    store.close().await;
    Ok(())
}

fn server_binary() -> Result<PathBuf, BoxError> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target directory")?;
    let binary = profile_dir.join("wikiscriptsync-web");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release -p wikiscriptsync-web --bins`",
            binary.display()
        )
        .into());
    }
    Ok(binary)
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Logs in through the development form and returns the session cookie.
async fn login(base: &str) -> Result<String, BoxError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = http.get(format!("{base}/login")).send().await?;
    let cookie = session_cookie(&page).ok_or("no session cookie")?;
    let html = page.text().await?;
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).ok_or("no nonce")? + marker.len();
    let nonce = &html[start..start + html[start..].find('"').ok_or("no nonce")?];
    let response = http
        .post(format!("{base}/login/dev"))
        .header("cookie", &cookie)
        .form(&[("username", "bench"), ("csrf", nonce)])
        .send()
        .await?;
    Ok(session_cookie(&response).ok_or("login failed")?)
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

struct WrkResult {
    rps: f64,
    p50: String,
    p99: String,
}

fn wrk(url: &str, cookie: &str) -> Option<WrkResult> {
    let output = Command::new("wrk")
        .args(["-t2", "-c32", "-d", WRK_SECONDS, "--latency", "-H"])
        .arg(format!("Cookie: {cookie}"))
        .arg(url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let find = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_owned)
    };
    Some(WrkResult {
        rps: find("Requests/sec:")?.parse().ok()?,
        p50: find("50%")?,
        p99: find("99%")?,
    })
}

/// Open loop: one request every 1/rate seconds regardless of answers; latency per request.
async fn fixed_rate(
    url: &str,
    cookie: &str,
    rate: u32,
) -> Result<(f64, Duration, Duration, usize), BoxError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()?;
    let total = u64::from(rate) * FIXED_SECONDS;
    let interval = Duration::from_secs(1) / rate;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let http = http.clone();
        let (url, cookie) = (url.to_owned(), cookie.to_owned());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let ok = match http.get(&url).header("cookie", cookie).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (sent.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for task in tasks {
        let (latency, ok) = task.await?;
        if !ok {
            failures += 1;
        }
        latencies.push(latency);
    }
    let achieved = total as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Ok((achieved, pct(0.50), pct(0.99), failures))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let binary = server_binary()?;
    let mut guard = Some(tempfile::tempdir()?);
    let data_dir = guard
        .as_ref()
        .map(|d| d.path().to_owned())
        .unwrap_or_default();
    seed(&data_dir).await?;
    // DASHBOARD_BENCH_KEEP=1 keeps the seeded database to look at (e.g. sqlite3's `.timer on`).
    if std::env::var_os("DASHBOARD_BENCH_KEEP").is_some() {
        let kept = guard
            .take()
            .map(tempfile::TempDir::keep)
            .unwrap_or_default();
        println!("keeping the data directory {}", kept.display());
    }
    for (label, cache_seconds) in [
        ("dashboard cache on (the default, 5 s)", "5"),
        (
            "dashboard cache off (every request reads the database)",
            "0",
        ),
    ] {
        println!();
        println!("## {label}");
        measure(&binary, &data_dir, cache_seconds).await?;
    }
    Ok(())
}

/// Starts the server over `data_dir` with the dashboard cache set to `cache_seconds`, loads
/// it, and prints the table and the issue's goals.
async fn measure(binary: &Path, data_dir: &Path, cache_seconds: &str) -> Result<(), BoxError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = Command::new(binary)
        .args(["--dev", "--port", &port.to_string(), "--data-dir"])
        .arg(data_dir)
        .env("WIKISCRIPTSYNC_CONTACT", "https://example.org/bench")
        .env("WIKISCRIPTSYNC_DASHBOARD_CACHE_SECONDS", cache_seconds)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = server.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !up {
        let _ = server.kill();
        return Err("the server did not start".into());
    }
    let cookie = login(&base).await?;
    let dashboard = http
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await?;
    let size = dashboard.bytes().await?.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib(pid, "VmRSS:");
    println!(
        "dashboard page: {size} bytes; server idle RSS {:.1} MiB",
        idle as f64 / 1024.0
    );

    let mut open_loop = Vec::new();
    for rate in FIXED_RATES {
        open_loop.push((
            rate,
            fixed_rate(&format!("{base}/"), &cookie, rate).await?,
            fixed_rate(&format!("{base}/robots.txt"), &cookie, rate).await?,
        ));
    }
    let mut rounds = Vec::new();
    for _ in 0..WRK_ROUNDS {
        match (
            wrk(&format!("{base}/"), &cookie),
            wrk(&format!("{base}/robots.txt"), &cookie),
        ) {
            (Some(d), Some(p)) => rounds.push((d, p)),
            _ => break,
        }
    }
    // The round whose share is the median.
    rounds.sort_by(|(d1, p1), (d2, p2)| (d1.rps / p1.rps).total_cmp(&(d2.rps / p2.rps)));
    let shares: Vec<String> = rounds
        .iter()
        .map(|(d, p)| format!("{:.1} %", 100.0 * d.rps / p.rps))
        .collect();
    let median = rounds.get(rounds.len() / 2);
    let (dash_wrk, plain_wrk) = (median.map(|(d, _)| d), median.map(|(_, p)| p));
    let peak = rss_kib(pid, "VmHWM:");
    let after = rss_kib(pid, "VmRSS:");
    let _ = server.kill();
    let _ = server.wait();

    println!();
    println!("| measurement | dashboard (500 files, 500 mappings) | plain text /robots.txt |");
    println!("|---|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (
        rate,
        (achieved, p50, p99, failed),
        (plain_achieved, plain_p50, plain_p99, plain_failed),
    ) in &open_loop
    {
        println!(
            "| open loop {rate} req/s for {FIXED_SECONDS} s: achieved | {achieved:.0} req/s ({failed} failed) | {plain_achieved:.0} req/s ({plain_failed} failed) |"
        );
        println!(
            "| open loop {rate} req/s: p50 / p99 | {:.2} ms / {:.2} ms | {:.2} ms / {:.2} ms |",
            ms(*p50),
            ms(*p99),
            ms(*plain_p50),
            ms(*plain_p99)
        );
    }
    match (dash_wrk, plain_wrk) {
        (Some(d), Some(p)) => {
            println!(
                "| wrk -t2 -c32 {WRK_SECONDS}, median of {WRK_ROUNDS} alternating rounds: throughput | {:.0} req/s | {:.0} req/s |",
                d.rps, p.rps
            );
            println!(
                "| wrk: p50 / p99 | {} / {} | {} / {} |",
                d.p50, d.p99, p.p50, p.p99
            );
            println!(
                "| dashboard share of the ceiling (each round) | {:.1} % ({}) | 100 % |",
                100.0 * d.rps / p.rps,
                shares.join(", ")
            );
        }
        _ => println!("| wrk | not installed (apt-get install wrk) | |"),
    }
    println!(
        "| server RSS: idle / after load / peak | {:.1} MiB / {:.1} MiB / {:.1} MiB | (same process) |",
        idle as f64 / 1024.0,
        after as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    if let Some((_, (_, _, p99, _), _)) = open_loop.iter().find(|(rate, ..)| *rate == 200) {
        println!(
            "goal p99 < 20 ms at 200 req/s: {} ({:.2} ms)",
            verdict(*p99 < Duration::from_millis(20)),
            ms(*p99)
        );
    }
    if let (Some(d), Some(p)) = (dash_wrk, plain_wrk) {
        println!(
            "goal throughput >= half the plain-text route: {} ({:.1} %)",
            verdict(d.rps * 2.0 >= p.rps),
            100.0 * d.rps / p.rps
        );
    }
    println!(
        "goal idle RSS < 30 MiB: {} ({:.1} MiB)",
        verdict(idle < 30 * 1024),
        idle as f64 / 1024.0
    );
    Ok(())
}
