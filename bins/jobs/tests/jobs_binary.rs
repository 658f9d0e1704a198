//! The `wikiscriptsync-jobs` binary against the fakes: each job prints its summary, two
//! processes that provably run at the same time never check a repository twice, and
//! `run-scheduler` stops cleanly on SIGTERM after its first round, or in the middle of one,
//! giving back what it had claimed.

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};

use chrono::Utc;
use support::{Meeting, Rendezvous, TestDatabase, jobs_command, output, stdout, summary_numbers};
use wikiscriptsync_core::forge::testkit::{Endpoint, FakeGitHub, Fault as ForgeFault};
use wikiscriptsync_core::mw::testkit::FakeWiki;
use wikiscriptsync_core::store::{
    CheckQueue, Forge, NewRepository, PageRequest, Store, StoreSettings, UserId,
};

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
                    full_name: name.clone(),
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
            &wiki.wiki_url().key(),
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

/// More repositories than one claim takes (the checker claims 100 per database round trip),
/// so the process that claims first leaves work for the other unless the database hides it.
const REPOSITORIES: usize = 130;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_at_once_on_sqlite_check_every_repository_exactly_once() {
    two_processes_check_every_repository_exactly_once(env(REPOSITORIES).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_at_once_on_mariadb_check_every_repository_exactly_once() {
    let Some(db) = support::mariadb().await else {
        return;
    };
    two_processes_check_every_repository_exactly_once(env_on(REPOSITORIES, db).await).await;
}

async fn two_processes_check_every_repository_exactly_once(env: Env) {
    // Every GitHub request is held at the rendezvous until both processes have one out (each
    // holds claimed repositories then), or until one of them ends.
    let rendezvous = Rendezvous::start(&env.github.uri(), 2).await;
    let contact = |name: &str| format!("https://example.org/tests/{name}");
    let run = |name: &str| {
        let mut command = env.command(&["check-updates"]);
        command
            .env("WIKISCRIPTSYNC_GITHUB_API_URL", rendezvous.uri())
            .env("WIKISCRIPTSYNC_CONTACT", contact(name));
        let (rendezvous, contact) = (&rendezvous, contact(name));
        async move {
            let out = output(command).await;
            rendezvous.ended(&contact);
            out
        }
    };
    let (a, b) = tokio::join!(run("a"), run("b"));
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    let both = format!("{} | {}", stdout(&a), stdout(&b));
    let checked = |out: &Output| summary_numbers(out, "check-updates: ")[0];
    // Who claims what is up to the database (on MariaDB, SKIP LOCKED may leave the later
    // process nothing); every repository is checked exactly once between them.
    assert_eq!(checked(&a) + checked(&b), REPOSITORIES as u64, "{both}");
    // They ran at the same time: both had claimed work and a request out at one moment, or
    // one ended first having checked nothing although every repository was due, i.e. the
    // other had claimed them all, and could not have finished, its requests being held.
    match rendezvous.meeting() {
        Meeting::Met => {}
        Meeting::Ended(first) => {
            let first = if first == contact("a") { &a } else { &b };
            assert_eq!(checked(first), 0, "ended first with work done: {both}");
        }
        other => panic!("the two processes did not run at the same time ({other:?}): {both}"),
    }
    assert_eq!(
        env.github.stats().requests,
        2 * REPOSITORIES as u64,
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
    let mut child = command.spawn().expect("start the scheduler");
    let pid = child.id();
    // Its summary lines, as it prints them (one line per job run, flushed at each newline).
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let out = child.stdout.take().expect("piped stdout");
    let reader = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait for the first round of all three jobs, then ask it to stop.
    let jobs = ["check-updates: ", "check-wiki-updates: ", "cleanup-logs: "];
    let mut text = String::new();
    while !jobs
        .iter()
        .all(|job| text.lines().any(|line| line.starts_with(job)))
    {
        let line = lines
            .recv()
            .await
            .unwrap_or_else(|| panic!("the scheduler stopped early: {text}"));
        text.push_str(&line);
        text.push('\n');
    }
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    while let Some(line) = lines.recv().await {
        text.push_str(&line);
        text.push('\n');
    }
    reader.await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}\n{text}");
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

/// How many repositories another runner than "observer" holds now.
async fn held(env: &Env) -> u64 {
    env.store
        .check_outlook(CheckQueue::Repositories, "observer", Utc::now())
        .await
        .unwrap()
        .held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_scheduler_stopped_mid_check_gives_back_its_claims_and_a_check_by_hand_names_held_work()
{
    let env = env(2).await;
    // The scheduler's first head probe hangs, so SIGTERM finds it in the middle of a run.
    env.github.push_fault_on(
        Endpoint::Commit,
        ForgeFault::Delay(std::time::Duration::from_secs(60)),
        1,
    );
    let mut command = env.command(&["run-scheduler"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("start the scheduler");
    let pid = child.id();
    let mut polls = 0;
    while held(&env).await == 0 {
        assert!(polls < 3000, "the scheduler never claimed anything");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        polls += 1;
    }

    // A check started by hand meanwhile says why it could not check what is held.
    let out = output(env.command(&["check-updates", "--all"])).await;
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("held by another runner until"), "{text}");

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
    assert!(text.contains("scheduler: gave back"), "{text}");
    assert_eq!(held(&env).await, 0, "no lease outlives the scheduler");
    // The repository it was checking is due again at once, not in fifteen minutes.
    let out = output(env.command(&["check-updates"])).await;
    let text = stdout(&out);
    assert!(!text.contains("0 repositories checked"), "{text}");
    assert!(text.contains("repositories checked"), "{text}");
}
