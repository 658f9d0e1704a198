//! Fairness benchmark: one hostile user and 50 ordinary users share one fake GitHub, first
//! with GitHub's anonymous limit (60 requests an hour), then with its token limit (5,000).
//!
//! The fake enforces the limit per credential and sends the `x-ratelimit-*` headers as GitHub
//! does (a 304 to a request with a token is free; without one it costs a request). Every
//! repository was checked in an earlier hour (its head and blob SHAs are known, as the store
//! holds them after any check), and the quota log holds the host's limit from then. In the hour
//! measured:
//!
//! 1. the hostile user, tracking thousands of repositories that all moved, clicks through their
//!    repository pages as fast as the app answers (each page a different repository, so the
//!    page-view cache cannot help) and presses "check now" on some;
//! 2. the scheduled `check-updates` run checks what is due: the hostile user's repositories are
//!    claimed first (added first), then the ordinary users' (with a token, one in three moved;
//!    anonymous, none: 50 moved repositories cost 100 requests, more than the 60 there are).
//!
//! It prints how many of the ordinary users' due repositories the run checked, what the hostile
//! user spent against their fair share of the host, and the host's quota spent in all, next to
//! the goal: every ordinary user's due repositories checked; the hostile user no more than
//! their share (a check admitted with one request left may cost its tree request too).
//!
//! Run: `cargo run -p wikiscriptsync-core --example fairness_bench` (its figures are counts,
//! not times, so a debug build gives the same table).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use wikiscriptsync_core::app::{App, AppParts, UseCaseError};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::forge::{ForgeConfigBuilder, Forges};
use wikiscriptsync_core::monitor::{RepositoryCheckSettings, RepositoryChecker};
use wikiscriptsync_core::mw::{ActionApiClient, ClientConfig, UserAgent};
use wikiscriptsync_core::quota::{Clock, QuotaPolicy, hour_of};
use wikiscriptsync_core::store::testkit::TestDatabase;
use wikiscriptsync_core::store::{
    ApiQuotaSnapshot, ClaimRequest, FileCheckResult, FileCheckStatus, Forge, NewRepository,
    RepositoryCheck, RepositoryCheckStatus, Store, UserId,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ORDINARY_USERS: usize = 50;
const HOST: &str = "github.com";

/// One scenario: a limit and what the users do with it.
struct Scenario {
    name: &'static str,
    token: bool,
    limit: u64,
    hostile_repositories: usize,
    hostile_page_views: usize,
    hostile_check_nows: usize,
    ordinary_repositories: usize,
    /// Every n-th ordinary repository moved since the last check (0: none).
    ordinary_moved_every: usize,
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "anonymous",
        token: false,
        limit: 60,
        hostile_repositories: 300,
        hostile_page_views: 100,
        hostile_check_nows: 10,
        ordinary_repositories: 1,
        ordinary_moved_every: 0,
    },
    Scenario {
        name: "token",
        token: true,
        limit: 5000,
        hostile_repositories: 3000,
        hostile_page_views: 1000,
        hostile_check_nows: 100,
        ordinary_repositories: 3,
        ordinary_moved_every: 3,
    },
];

/// What one scenario measured.
struct Figures {
    users: u64,
    share: u64,
    views_served: usize,
    views_refused: usize,
    hostile_spent: u64,
    hostile_checked: u64,
    ordinary_due: usize,
    ordinary_checked: usize,
    ordinary_users_fully_checked: usize,
    host_spent: u64,
    requests: u64,
    summary: String,
    seconds: f64,
}

fn builder(github: &FakeGitHub, token: bool) -> ForgeConfigBuilder {
    if token {
        github.config_builder_with_token("ghp_fairness_bench")
    } else {
        github.config_builder()
    }
}

fn forges(github: &FakeGitHub, token: bool) -> Result<Arc<Forges>, BoxError> {
    Ok(Arc::new(Forges::new(builder(github, token).build()?)?))
}

async fn track(
    store: &dyn Store,
    user: UserId,
    github: &FakeGitHub,
    name: &str,
) -> Result<(), BoxError> {
    github.add_repo(name, [("gadget.js", format!("// {name}"))]);
    let repo = store
        .add_repository(
            user,
            &NewRepository {
                forge: Forge::GitHub,
                host: HOST.to_owned(),
                full_name: name.to_owned(),
                url: github.repo_url(name),
                branch: "main".to_owned(),
            },
            Utc::now() - Duration::hours(2),
        )
        .await?;
    store
        .watch_file(user, repo.id, "gadget.js", Utc::now() - Duration::hours(2))
        .await?;
    Ok(())
}

/// Records an earlier hour's check of every repository: the heads and blob SHAs the fake
/// holds now and the ETag it sends for them; then makes every one due now.
async fn checked_last_hour(store: &dyn Store, github: &FakeGitHub) -> Result<(), BoxError> {
    let now = Utc::now();
    let mut checked = Vec::new();
    loop {
        let claimed = store
            .claim_due_repositories(&ClaimRequest {
                owner: "last-hour".to_owned(),
                now,
                lease: Duration::minutes(5),
                limit: 500,
            })
            .await?;
        if claimed.is_empty() {
            break;
        }
        for claim in claimed {
            let repo = &claim.repository;
            checked.push((repo.user_id, repo.id));
            let full_name = repo.full_name.as_str();
            let head = github.head_of(full_name, "main").ok_or("no head")?;
            let files = claim
                .files
                .iter()
                .map(|f| FileCheckResult {
                    watched_file_id: f.id,
                    status: FileCheckStatus::Unchanged,
                    new_blob_sha: github
                        .blob_sha_of(full_name, "main", &f.path)
                        .map(|b| b.to_string()),
                    commit_sha: Some(head.to_string()),
                    detail: None,
                })
                .collect();
            store
                .complete_repository_check(&RepositoryCheck {
                    repository_id: repo.id,
                    owner: "last-hour".to_owned(),
                    checked_at: now - Duration::hours(1),
                    status: RepositoryCheckStatus::Unchanged,
                    head_sha: Some(head.to_string()),
                    etag: Some(format!("\"{head}\"")),
                    // Not due while the rest are seeded; all made due below.
                    next_check_at: now + Duration::hours(1),
                    files,
                })
                .await?;
        }
    }
    for (user, id) in checked {
        store.mark_repository_due(user, id, now).await?;
    }
    Ok(())
}

async fn run(scenario: &Scenario) -> Result<Figures, BoxError> {
    let started = Instant::now();
    let github = FakeGitHub::start().await;
    github.set_rate_limits(5000, 60);
    let db = TestDatabase::sqlite();
    let store = db.open().await;
    let mut names = Vec::new();
    let hostile = store
        .upsert_user("hostile", "Hostile", Utc::now())
        .await?
        .id;
    for r in 0..scenario.hostile_repositories {
        let name = format!("hostile/r{r}");
        track(store.as_ref(), hostile, &github, &name).await?;
    }
    let mut ordinary = Vec::new();
    for u in 0..ORDINARY_USERS {
        let user = store
            .upsert_user(&format!("ordinary-{u}"), &format!("User{u}"), Utc::now())
            .await?
            .id;
        for r in 0..scenario.ordinary_repositories {
            let name = format!("user{u}/r{r}");
            track(store.as_ref(), user, &github, &name).await?;
            names.push((user, name));
        }
        ordinary.push(user);
    }
    checked_last_hour(store.as_ref(), &github).await?;
    progress(&started, "seeded");
    // Since then: every hostile repository moved, and some of the ordinary ones.
    for r in 0..scenario.hostile_repositories {
        github.commit(
            &format!("hostile/r{r}"),
            "main",
            [("gadget.js", Some(format!("// moved {r}")))],
        );
    }
    for (i, (_, name)) in names.iter().enumerate() {
        if scenario.ordinary_moved_every > 0 && i % scenario.ordinary_moved_every == 0 {
            github.commit(name, "main", [("gadget.js", Some("// moved"))]);
        }
    }
    // The host's limit as an earlier hour's run logged it (its window long reset).
    let api_host = github.uri().trim_start_matches("http://").to_owned();
    store
        .record_api_quota(&ApiQuotaSnapshot {
            host: api_host,
            resource: "core".to_owned(),
            limit: i64::try_from(scenario.limit)?,
            remaining: 0,
            reset_at: Some(Utc::now() - Duration::minutes(1)),
            recorded_at: Utc::now() - Duration::minutes(61),
        })
        .await?;
    github.reset_stats();
    github.set_rate_limits(5000, 60);
    progress(&started, "moved");
    // One instant for the whole measured hour, so the hour cannot turn between its steps.
    let clock = Clock::fixed(Utc::now());
    let (hour, _) = hour_of(clock.now());
    let users = store.users_tracking_host(Forge::GitHub, HOST).await?;
    let share = QuotaPolicy::default().user_share(scenario.limit, users);

    // 1. The hostile user's clicks, through the web app's use cases.
    let wiki = ActionApiClient::new(ClientConfig::new(UserAgent::from_contact(
        "https://example.org/fairness-bench",
    )?))?;
    let app = App::new(AppParts {
        store: Arc::clone(&store),
        wiki: Arc::new(wiki),
        forges: forges(&github, scenario.token)?,
        vault: None,
        runner_host: "bench".to_owned(),
    })
    .with_quota_clock(clock.clone());
    let repositories = app.repositories(hostile).await?;
    progress(&started, "app");
    let (mut views_served, mut views_refused) = (0, 0);
    for listing in repositories.iter().take(scenario.hostile_page_views) {
        match app.branch_files(&listing.repository).await {
            Ok(_) => views_served += 1,
            Err(UseCaseError::ShareSpent(_)) => views_refused += 1,
            Err(err) => return Err(err.into()),
        }
    }
    for listing in repositories.iter().rev().take(scenario.hostile_check_nows) {
        app.check_repository_now(hostile, listing.repository.id, "bench")
            .await?;
    }

    // 2. The scheduled run, in the jobs' own process (its own forge client).
    progress(&started, "clicked");
    let checker = RepositoryChecker::new(
        Arc::clone(&store),
        forges(&github, scenario.token)?,
        RepositoryCheckSettings::new("bench-check-updates"),
    )
    .with_quota_clock(clock);
    let report = checker.run().await?;
    progress(&started, "run");

    let mut ordinary_due = 0;
    let mut ordinary_checked = 0;
    let mut ordinary_users_fully_checked = 0;
    for user in &ordinary {
        let mut all = true;
        for listing in app.repositories(*user).await? {
            ordinary_due += 1;
            if listing
                .repository
                .last_checked_at
                .is_some_and(|t| t >= hour)
            {
                ordinary_checked += 1;
            } else {
                all = false;
            }
        }
        ordinary_users_fully_checked += usize::from(all);
    }
    let hostile_checked = store
        .list_repositories(hostile)
        .await?
        .iter()
        .filter(|r| r.last_checked_at.is_some_and(|t| t >= hour))
        .count() as u64;
    let stats = github.stats();
    Ok(Figures {
        users,
        share,
        views_served,
        views_refused,
        hostile_spent: store.forge_quota_spent(hostile, HOST, hour).await?,
        hostile_checked,
        ordinary_due,
        ordinary_checked,
        ordinary_users_fully_checked,
        host_spent: stats.quota_spent,
        requests: stats.requests,
        summary: report.summary(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A progress line on stderr (the table goes to stdout).
fn progress(started: &Instant, step: &str) {
    eprintln!("  [{:6.1} s] {step}", started.elapsed().as_secs_f64());
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    println!(
        "fairness benchmark: 1 hostile user and {ORDINARY_USERS} ordinary users on one fake \
         GitHub; reserve {}% of the host's limit, the rest shared evenly per hour\n",
        QuotaPolicy::default().reserve_percent
    );
    println!(
        "| limit | users | fair share | hostile: repos, page views served/refused | hostile \
         spent (of share) | hostile repos checked | ordinary due repos checked | ordinary users \
         fully checked | host quota spent (requests) | goal met |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut summaries = Vec::new();
    for scenario in &SCENARIOS {
        let f = run(scenario).await?;
        // One admitted check may cost its tree request beyond the last request of the share.
        let fair = f.hostile_spent <= f.share + 1;
        let all = f.ordinary_checked == f.ordinary_due;
        println!(
            "| {} ({}/h) | {} | {} | {}, {}/{} | {} ({:.0}%) | {} | {}/{} | {}/{} | {} of {} ({}) | \
             {} |",
            scenario.name,
            scenario.limit,
            f.users,
            f.share,
            scenario.hostile_repositories,
            f.views_served,
            f.views_refused,
            f.hostile_spent,
            100.0 * f.hostile_spent as f64 / f.share as f64,
            f.hostile_checked,
            f.ordinary_checked,
            f.ordinary_due,
            f.ordinary_users_fully_checked,
            ORDINARY_USERS,
            f.host_spent,
            scenario.limit,
            f.requests,
            if fair && all { "yes" } else { "NO" },
        );
        summaries.push((scenario.name, f.summary, f.seconds));
    }
    println!(
        "\ngoal: every ordinary user's due repositories checked in the run; the hostile user \
         spends no more than their fair share (+1: a check admitted on the share's last request \
         may need its tree request)"
    );
    for (name, summary, seconds) in summaries {
        let summary: String = summary.chars().take(600).collect();
        println!("\n{name} ({seconds:.1} s): {summary}");
    }
    Ok(())
}
