//! Requests and quota of one repository check pass, measured against the fakes.
//!
//! Builds R repositories × F watched files in the fake GitHub and the fake GitLab and runs one
//! check pass in three situations: nothing changed, k files changed in some repositories, and a
//! naive baseline that asks for each file separately. A check is what the jobs runner does: one
//! conditional head probe per repository and, only if the branch moved, one tree request for the
//! watched paths' blob SHAs.
//!
//! ```text
//! cargo run -p wikiscriptsync-forge --release --features testkit --example quota_bench -- [R] [F] [latency_ms]
//! ```

use std::time::{Duration, Instant};

use wikiscriptsync_forge::testkit::{FakeGitHub, FakeGitLab, FakeServer, TEST_USER_AGENT};
use wikiscriptsync_forge::{
    CommitSha, Forge, ForgeKind, Forges, HeadProbe, KnownHead, RepoLocator, TreeFile, Usage,
};

const TOKEN: &str = "bench-token";

struct Tracked {
    locator: RepoLocator,
    full_name: String,
    watched: Vec<String>,
    known: KnownHead,
    blobs: Vec<Option<TreeFile>>,
}

struct Row {
    forge: &'static str,
    auth: &'static str,
    scenario: String,
    repos: usize,
    requests: u64,
    quota: u64,
    max_per_repo: u32,
    changed_files_found: usize,
    client_requests: u32,
    client_quota: u32,
    wall: Duration,
    target: String,
}

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn files_of(i: usize, f: usize) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = (0..f)
        .map(|j| (format!("src/file{j}.js"), format!("// repo {i} file {j}\n")))
        .collect();
    files.push(("README.md".into(), format!("# repo {i}\n")));
    files.push(("docs/notes.txt".into(), "notes\n".into()));
    files
}

/// What one pass measured on the client side.
struct Pass {
    max_per_repo: u32,
    changed_files_found: usize,
    /// As reported by the client's [`Usage`] (the fake counts independently).
    client: Usage,
}

/// One check pass: probe, and a tree request only for moved repositories.
async fn check_pass(forges: &Forges, tracked: &mut [Tracked]) -> Pass {
    let mut max_per_repo = 0;
    let mut changed = 0;
    let mut client = Usage::default();
    for repo in tracked.iter_mut() {
        let mut usage = Usage::default();
        let probe = Forge::head(forges, &repo.locator, "main", Some(&repo.known), &mut usage).await;
        match probe {
            Ok(HeadProbe::NotModified { .. }) => {}
            Ok(HeadProbe::Moved { sha, validator }) => {
                let found =
                    Forge::blob_shas(forges, &repo.locator, &sha, &repo.watched, &mut usage).await;
                if let Ok(found) = found {
                    let new: Vec<Option<TreeFile>> =
                        repo.watched.iter().map(|p| found.get(p).cloned()).collect();
                    changed += new
                        .iter()
                        .zip(&repo.blobs)
                        .filter(|(a, b)| {
                            a.as_ref().map(|f| &f.blob_sha) != b.as_ref().map(|f| &f.blob_sha)
                        })
                        .count();
                    repo.blobs = new;
                }
                repo.known = KnownHead { sha, validator };
            }
            Err(e) => eprintln!("{}: {e}", repo.full_name),
        }
        max_per_repo = max_per_repo.max(usage.requests);
        usage.snapshots.clear();
        client.absorb(usage);
    }
    Pass {
        max_per_repo,
        changed_files_found: changed,
        client,
    }
}

/// The baseline: one request per watched file, every time (what a naive poller does).
async fn naive_pass(
    kind: ForgeKind,
    api: &str,
    tracked: &[Tracked],
    client: &reqwest::Client,
) -> Pass {
    let mut max_per_repo = 0;
    for repo in tracked {
        let mut n = 0;
        for path in &repo.watched {
            let url = match kind {
                ForgeKind::GitHub => {
                    format!("{api}/repos/{}/contents/{path}?ref=main", repo.full_name)
                }
                ForgeKind::GitLab => format!(
                    "{api}/api/v4/projects/{}/repository/files/{}?ref=main",
                    repo.full_name.replace('/', "%2F"),
                    path.replace('/', "%2F")
                ),
            };
            let request = match kind {
                ForgeKind::GitHub => client.get(url).bearer_auth(TOKEN),
                ForgeKind::GitLab => client.get(url).header("PRIVATE-TOKEN", TOKEN),
            };
            if let Err(e) = request
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
            {
                eprintln!("naive {}: {e}", repo.full_name);
            }
            n += 1;
        }
        max_per_repo = max_per_repo.max(n);
    }
    Pass {
        max_per_repo,
        changed_files_found: 0,
        client: Usage::default(),
    }
}

async fn scenario(
    rows: &mut Vec<Row>,
    labels: (&'static str, &'static str, String),
    fake: &FakeServer,
    repos: usize,
    target: String,
    run: impl AsyncFnOnce() -> Pass,
) {
    fake.reset_stats();
    let started = Instant::now();
    let pass = run().await;
    let wall = started.elapsed();
    let stats = fake.stats();
    rows.push(Row {
        forge: labels.0,
        auth: labels.1,
        scenario: labels.2,
        repos,
        requests: stats.requests,
        quota: stats.quota_spent,
        max_per_repo: pass.max_per_repo,
        changed_files_found: pass.changed_files_found,
        client_requests: pass.client.requests,
        client_quota: pass.client.quota_spent,
        wall,
        target,
    });
}

#[expect(
    clippy::too_many_lines,
    reason = "a linear script of scenarios reads best in one place"
)]
#[tokio::main]
async fn main() {
    let r = usize::try_from(arg(1, 200)).unwrap_or(200);
    let f = usize::try_from(arg(2, 5)).unwrap_or(5);
    let latency = Duration::from_millis(arg(3, 0));
    let changed_repos = (r / 10).max(1);
    let k = 2.min(f);
    let client = reqwest::Client::builder()
        .user_agent(TEST_USER_AGENT)
        .build()
        .expect("HTTP client");
    let mut rows = Vec::new();

    for kind in [ForgeKind::GitHub, ForgeKind::GitLab] {
        for with_token in [true, false] {
            if kind == ForgeKind::GitLab && !with_token {
                continue; // GitLab charges every request either way; one row set is enough.
            }
            let (github, gitlab);
            let (fake, forges, name): (&FakeServer, Forges, &'static str) = match kind {
                ForgeKind::GitHub => {
                    github = FakeGitHub::start().await;
                    let builder = if with_token {
                        github.config_builder_with_token(TOKEN)
                    } else {
                        github.config_builder()
                    };
                    (
                        &github,
                        Forges::new(builder.build().expect("config")).expect("forges"),
                        "GitHub",
                    )
                }
                ForgeKind::GitLab => {
                    gitlab = FakeGitLab::start().await;
                    (
                        &gitlab,
                        Forges::new(
                            gitlab
                                .config_builder_with_token(TOKEN)
                                .build()
                                .expect("config"),
                        )
                        .expect("forges"),
                        "GitLab",
                    )
                }
            };
            fake.record_requests(false);
            fake.set_rate_limits(1_000_000, 1_000_000);
            let auth = if with_token { "token" } else { "none" };
            let api = fake.uri();
            let mut tracked = Vec::with_capacity(r + 1);
            for i in 0..r {
                let full_name = format!("owner{i}/repo{i}");
                fake.add_repo(&full_name, files_of(i, f));
                let url = match kind {
                    ForgeKind::GitHub => format!("https://github.com/{full_name}"),
                    ForgeKind::GitLab => format!("{api}/{full_name}"),
                };
                let locator = forges.parse_repo_url(&url).expect("locator");
                tracked.push(Tracked {
                    locator,
                    full_name,
                    watched: (0..f).map(|j| format!("src/file{j}.js")).collect(),
                    known: KnownHead {
                        sha: CommitSha::parse(&"0".repeat(40)).expect("sha"),
                        validator: None,
                    },
                    blobs: vec![None; f],
                });
            }
            // First pass learns heads, validators and blob SHAs (what the store holds between runs).
            check_pass(&forges, &mut tracked).await;
            fake.set_latency(latency);

            let target = match (kind, with_token) {
                (ForgeKind::GitHub, true) => "1 req, 0 quota per repo".to_owned(),
                (ForgeKind::GitHub, false) => {
                    "1 req per repo (unauthenticated 304s cost 1)".to_owned()
                }
                (ForgeKind::GitLab, _) => "1 req per repo".to_owned(),
            };
            scenario(
                &mut rows,
                (name, auth, "unchanged".into()),
                fake,
                r,
                target,
                async || check_pass(&forges, &mut tracked).await,
            )
            .await;

            for repo in tracked.iter().take(changed_repos) {
                let changes: Vec<(String, Option<String>)> = (0..k)
                    .map(|j| (format!("src/file{j}.js"), Some(format!("// changed {j}\n"))))
                    .collect();
                fake.commit(&repo.full_name, "main", changes);
            }
            scenario(
                &mut rows,
                (
                    name,
                    auth,
                    format!("{k} files changed in {changed_repos} repos"),
                ),
                fake,
                r,
                "≤ 2 req per changed repo".into(),
                async || check_pass(&forges, &mut tracked).await,
            )
            .await;

            if with_token {
                scenario(
                    &mut rows,
                    (name, auth, "naive: 1 req per file".into()),
                    fake,
                    r,
                    "baseline".into(),
                    async || naive_pass(kind, &api, &tracked, &client).await,
                )
                .await;
            }

            if kind == ForgeKind::GitLab {
                // A very large tree: every extra page of 100 entries costs one request.
                let full_name = "big/monorepo".to_owned();
                let big: Vec<(String, String)> = (0..450)
                    .map(|j| (format!("src/file{j}.js"), format!("// {j}\n")))
                    .collect();
                fake.add_repo(&full_name, big);
                let locator = forges
                    .parse_repo_url(&format!("{api}/{full_name}"))
                    .expect("locator");
                let mut one = vec![Tracked {
                    locator,
                    full_name: full_name.clone(),
                    watched: (0..f).map(|j| format!("src/file{j}.js")).collect(),
                    known: KnownHead {
                        sha: CommitSha::parse(&"0".repeat(40)).expect("sha"),
                        validator: None,
                    },
                    blobs: vec![None; f],
                }];
                check_pass(&forges, &mut one).await;
                fake.commit(&full_name, "main", [("src/file0.js", Some("// changed\n"))]);
                scenario(
                    &mut rows,
                    (name, auth, "1 file changed, 450 files in dir".into()),
                    fake,
                    1,
                    "1 + ⌈450/100⌉ = 6 req".into(),
                    async || check_pass(&forges, &mut one).await,
                )
                .await;
            }
        }
    }

    println!(
        "\nquota_bench: {r} repositories × {f} watched files, {} ms latency per request\n",
        latency.as_millis()
    );
    println!(
        "| {:<6} | {:<5} | {:<32} | {:>5} | {:>8} | {:>6} | {:>8} | {:>8} | {:>14} | {:>11} | {:>7} | {:<44} |",
        "forge",
        "token",
        "scenario",
        "repos",
        "requests",
        "quota",
        "req/repo",
        "max/repo",
        "client req/quo",
        "files found",
        "wall ms",
        "target"
    );
    println!(
        "|{:-<8}|{:-<7}|{:-<34}|{:->7}|{:->10}|{:->8}|{:->10}|{:->10}|{:->16}|{:->13}|{:->9}|{:-<46}|",
        "", "", "", "", "", "", "", "", "", "", "", ""
    );
    for row in &rows {
        let client = if row.client_requests == 0 {
            "n/a".to_owned()
        } else {
            format!("{}/{}", row.client_requests, row.client_quota)
        };
        println!(
            "| {:<6} | {:<5} | {:<32} | {:>5} | {:>8} | {:>6} | {:>8.2} | {:>8} | {:>14} | {:>11} | {:>7} | {:<44} |",
            row.forge,
            row.auth,
            row.scenario,
            row.repos,
            row.requests,
            row.quota,
            row.requests as f64 / row.repos as f64,
            row.max_per_repo,
            client,
            row.changed_files_found,
            row.wall.as_millis(),
            row.target
        );
    }
}
