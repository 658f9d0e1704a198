//! The `wikiscriptsync-jobs` binary against the fakes: each job prints its summary, two
//! processes at once never check a repository twice, and `run-scheduler` stops cleanly on
//! SIGTERM.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::Utc;
use support::{TestDatabase, jobs_command, output, stdout, summary_numbers};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::testkit::FakeWiki;
use wikiscriptsync_core::publish::wiki_key;
use wikiscriptsync_core::store::{Forge, NewRepository, PageRequest, Store, StoreSettings, UserId};

struct Env {
    github: FakeGitHub,
    wiki: FakeWiki,
    store: std::sync::Arc<dyn Store>,
    user: UserId,
    db: TestDatabase,
}

async fn env(repositories: usize) -> Env {
    env_on(repositories, TestDatabase::sqlite()).await
}

async fn env_on(repositories: usize, db: TestDatabase) -> Env {
    let github = FakeGitHub::start().await;
    let wiki = FakeWiki::start().await;
    let store = wikiscriptsync_core::store::open(&db.database_url(), &StoreSettings::migrating())
        .await
        .unwrap();
    let user = store
        .upsert_user("central-1", "Alice", Utc::now())
        .await
        .unwrap()
        .id;
    for i in 0..repositories {
        let name = format!("octo/r{i}");
        github.add_repo(&name, [("x.js", "1")]);
        let repo = store
            .add_repository(
                user,
                &NewRepository {
                    forge: Forge::GitHub,
                    host: "github.com".to_owned(),
                    url: github.repo_url(&name),
                    branch: "main".to_owned(),
                },
                Utc::now(),
            )
            .await
            .unwrap();
        store
            .watch_file(user, repo.id, "x.js", Utc::now())
            .await
            .unwrap();
    }
    wiki.add_page("MediaWiki:Common.js", "a();");
    store
        .add_page_monitor(
            user,
            &wiki_key(&wiki.wiki_url()),
            "MediaWiki:Common.js",
            Utc::now(),
        )
        .await
        .unwrap();
    Env {
        github,
        wiki,
        store,
        user,
        db,
    }
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = jobs_command(args, self.db.url(), &[self.wiki.host()]);
        command
            .env("WIKISCRIPTSYNC_GITHUB_API_URL", self.github.uri())
            .env(
                "WIKISCRIPTSYNC_GITHUB_TOKEN",
                "ghp_test0000000000000000000000000000000",
            );
        command
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_job_prints_a_summary_and_says_once_that_notifications_are_off() {
    let env = env(2).await;
    let out = output(env.command(&["check-updates"])).await;
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains("check-updates: 2 repositories checked"),
        "{text}"
    );
    assert_eq!(text.matches("notifications are off").count(), 1, "{text}");

    let out = output(env.command(&["check-wiki-updates"])).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("check-wiki-updates: 1 pages on 1 wikis checked"),
        "{out:?}"
    );

    let out = output(env.command(&["cleanup-logs", "--dry-run"])).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("cleanup-logs: would remove 0 rows"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_nothing_due_says_when_the_next_is_and_repo_checks_one_now() {
    let env = env(2).await;
    let out = output(env.command(&["check-updates"])).await;
    assert!(out.status.success(), "{out:?}");
    let out = output(env.command(&["check-updates"])).await;
    let text = stdout(&out);
    assert!(
        text.contains("check-updates: 0 repositories checked"),
        "{text}"
    );
    assert!(text.contains("; 0 due; next due at "), "{text}");

    let id = env.store.list_repositories(env.user).await.unwrap()[1].id;
    let out = output(env.command(&["check-updates", "--repo", &id.to_string()])).await;
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains("check-updates: 1 repositories checked"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_contact_is_a_configuration_error_with_exit_code_2() {
    let env = env(0).await;
    let mut command = env.command(&["check-updates"]);
    command.env_remove("WIKISCRIPTSYNC_CONTACT");
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("WIKISCRIPTSYNC_CONTACT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_at_once_on_sqlite_check_every_repository_exactly_once() {
    two_processes_check_every_repository_exactly_once(env(30).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_at_once_on_mariadb_check_every_repository_exactly_once() {
    let Some(db) = support::mariadb().await else {
        return;
    };
    two_processes_check_every_repository_exactly_once(env_on(30, db).await).await;
}

async fn two_processes_check_every_repository_exactly_once(env: Env) {
    env.github.set_latency(Duration::from_millis(20));
    let (a, b) = tokio::join!(
        output(env.command(&["check-updates"])),
        output(env.command(&["check-updates"]))
    );
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    let checked = |out: &Output| summary_numbers(out, "check-updates: ")[0];
    assert_eq!(
        checked(&a) + checked(&b),
        30,
        "{} | {}",
        stdout(&a),
        stdout(&b)
    );
    assert_eq!(
        env.github.stats().requests,
        60,
        "probe + tree once per repository"
    );
    for repo in env.store.list_repositories(env.user).await.unwrap() {
        let file = &env
            .store
            .list_watched_files(env.user, repo.id)
            .await
            .unwrap()[0];
        let log = env
            .store
            .file_check_log(env.user, file.id, PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(log.items.len(), 1, "{}", repo.url);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_scheduler_runs_the_jobs_and_stops_cleanly_on_sigterm() {
    let env = env(1).await;
    let mut command = env.command(&["run-scheduler"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("start the scheduler");
    let pid = child.id();
    // Let it run its first round of jobs, then ask it to stop.
    let mut waited = Duration::ZERO;
    while waited < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
        let ids = env.store.list_page_monitors(env.user).await.unwrap();
        if ids.iter().all(|m| m.last_checked_at.is_some()) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains("check-updates: 1 repositories checked"),
        "{text}"
    );
    assert!(text.contains("check-wiki-updates: 1 pages"), "{text}");
    assert!(text.contains("cleanup-logs: removed"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("scheduler: stopping (shutdown requested)"),
        "{text}"
    );
}
