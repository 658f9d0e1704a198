//! Store benchmark: loads 1,000 repositories × 10 watched files, 500 mappings and 5,000
//! monitored pages for 200 users, then times the hot queries — what is due for a check, a
//! user's dashboard, a publish mutex acquire + release — on SQLite and, when
//! `WIKISCRIPTSYNC_TEST_MARIADB_URL` is set, on MariaDB, and prints a table.
//!
//! `cargo run -p wikiscriptsync-store --release --example store_bench`

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::Connection;
use wikiscriptsync_store::*;

const USERS: usize = 200;
const REPOSITORIES: usize = 1_000;
const FILES_PER_REPOSITORY: usize = 10;
const MAPPINGS: usize = 500;
const PAGES: usize = 5_000;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Row {
    backend: &'static str,
    op: &'static str,
    samples: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

async fn load(store: &Arc<dyn Store>) -> BenchResult<Vec<UserId>> {
    let now = Utc::now();
    let mut users = Vec::with_capacity(USERS);
    for u in 0..USERS {
        users.push(
            store
                .upsert_user(&format!("{}", 100_000 + u), &format!("User{u}"), now)
                .await?
                .id,
        );
    }
    let mut mappings = 0;
    for r in 0..REPOSITORIES {
        let user = users[r % USERS];
        let repo = store
            .add_repository(
                user,
                &NewRepository {
                    forge: if r % 4 == 0 {
                        Forge::GitLab
                    } else {
                        Forge::GitHub
                    },
                    host: if r % 4 == 0 {
                        "gitlab.wikimedia.org"
                    } else {
                        "github.com"
                    }
                    .to_owned(),
                    full_name: format!("owner{}/gadget{r}", r % USERS),
                    url: format!("https://github.com/owner{}/gadget{r}", r % USERS),
                    branch: "main".to_owned(),
                },
                now,
            )
            .await?;
        for f in 0..FILES_PER_REPOSITORY {
            let file = store
                .watch_file(user, repo.id, &format!("src/file{f}.js"), now)
                .await?;
            if f == 0 && mappings < MAPPINGS {
                store
                    .add_mapping(
                        user,
                        &NewMapping {
                            watched_file_id: file.id,
                            wiki: "en.wikipedia.org".to_owned(),
                            page_title: format!("User:User{}/gadget{r}.js", r % USERS),
                            options: MappingOptions::default(),
                        },
                        now,
                    )
                    .await?;
                mappings += 1;
            }
        }
    }
    for p in 0..PAGES {
        let wiki = [
            "en.wikipedia.org",
            "de.wikipedia.org",
            "commons.wikimedia.org",
            "meta.wikimedia.org",
        ][p % 4];
        store
            .add_page_monitor(
                users[p % USERS],
                wiki,
                &format!("MediaWiki:Gadget-{p}.js"),
                now,
            )
            .await?;
    }
    Ok(users)
}

async fn time<F, Fut>(iterations: usize, mut op: F) -> BenchResult<Vec<Duration>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = BenchResult<()>>,
{
    // Warm-up (statement caches, pool connections).
    for i in 0..5 {
        op(i).await?;
    }
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let started = Instant::now();
        op(i).await?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

async fn bench(backend: &'static str, url: &str, rows: &mut Vec<Row>) -> BenchResult<()> {
    let store = open(&DatabaseUrl::new(url), &StoreSettings::migrating()).await?;
    let started = Instant::now();
    let users = load(&store).await?;
    println!(
        "{backend}: loaded {USERS} users, {REPOSITORIES} repositories, {} watched files, \
         {MAPPINGS} mappings, {PAGES} pages in {:.1} s",
        REPOSITORIES * FILES_PER_REPOSITORY,
        started.elapsed().as_secs_f64()
    );
    let now = Utc::now();
    let claim = |limit| ClaimRequest {
        owner: "bench".to_owned(),
        now,
        lease: chrono::Duration::minutes(10),
        limit,
    };

    let s = time(200, |_| {
        let store = Arc::clone(&store);
        async move {
            let due = store.due_counts(now).await?;
            assert_eq!(due.repositories as usize, REPOSITORIES);
            Ok(())
        }
    })
    .await?;
    rows.push(Row {
        backend,
        op: "due counts (all due)",
        samples: s,
    });

    // Claim 100 due repositories with their files, then give them back (release untimed).
    let mut samples = Vec::new();
    for i in 0..205 {
        let started = Instant::now();
        let claimed = store.claim_due_repositories(&claim(100)).await?;
        let elapsed = started.elapsed();
        assert_eq!(claimed.len(), 100);
        assert_eq!(claimed[0].files.len(), FILES_PER_REPOSITORY);
        let ids: Vec<_> = claimed.iter().map(|c| c.repository.id).collect();
        store.release_repository_claims("bench", &ids).await?;
        if i >= 5 {
            samples.push(elapsed);
        }
    }
    rows.push(Row {
        backend,
        op: "claim 100 due repos + files",
        samples,
    });

    let mut samples = Vec::new();
    for i in 0..205 {
        let started = Instant::now();
        let claimed = store.claim_due_pages(&claim(500)).await?;
        let elapsed = started.elapsed();
        assert_eq!(claimed.len(), 500);
        let ids: Vec<_> = claimed.iter().map(|p| p.id).collect();
        store.release_page_claims("bench", &ids).await?;
        if i >= 5 {
            samples.push(elapsed);
        }
    }
    rows.push(Row {
        backend,
        op: "claim 500 due pages",
        samples,
    });

    let s = time(500, |i| {
        let store = Arc::clone(&store);
        let user = users[(i * 7) % USERS];
        async move {
            let limits = DashboardLimits {
                recent: 20,
                items: 50,
            };
            let dashboard = store.dashboard(user, limits).await?;
            assert_eq!(dashboard.repositories.len(), REPOSITORIES / USERS);
            assert_eq!(dashboard.pages_total as usize, PAGES / USERS);
            Ok(())
        }
    })
    .await?;
    rows.push(Row {
        backend,
        op: "dashboard (5 repos, 50 files, 25 pages)",
        samples: s,
    });

    let s = time(500, |i| {
        let store = Arc::clone(&store);
        let user = users[i % USERS];
        async move {
            let PublishLock::Acquired { task, .. } =
                store.acquire_publish_task(user, Utc::now()).await?
            else {
                return Err("mutex unexpectedly busy".into());
            };
            store
                .release_publish_task(task, &TaskOutcome::Done, Utc::now())
                .await?;
            Ok(())
        }
    })
    .await?;
    rows.push(Row {
        backend,
        op: "mutex acquire + release",
        samples: s,
    });
    store.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let mut rows = Vec::new();
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    bench("sqlite", &sqlite_url, &mut rows).await?;

    match std::env::var("WIKISCRIPTSYNC_TEST_MARIADB_URL") {
        Ok(server) if !server.is_empty() => {
            let name = format!("wss_bench_{}", std::process::id());
            let mut admin = sqlx::MySqlConnection::connect(&server).await?;
            sqlx::query(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
                .execute(&mut admin)
                .await?;
            let mut url = url::Url::parse(&server)?;
            url.set_path(&name);
            let result = bench("mariadb", url.as_str(), &mut rows).await;
            sqlx::query(&format!("DROP DATABASE {name}"))
                .execute(&mut admin)
                .await?;
            result?;
        }
        _ => println!("skipped MariaDB: WIKISCRIPTSYNC_TEST_MARIADB_URL not set"),
    }

    println!();
    println!("| backend | operation | n | p50 ms | p99 ms | mean ms |");
    println!("|---|---|---:|---:|---:|---:|");
    for mut row in rows {
        row.samples.sort();
        let mean = row.samples.iter().sum::<Duration>() / row.samples.len() as u32;
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.backend,
            row.op,
            row.samples.len(),
            ms(percentile(&row.samples, 0.5)),
            ms(percentile(&row.samples, 0.99)),
            ms(mean)
        );
    }
    Ok(())
}
