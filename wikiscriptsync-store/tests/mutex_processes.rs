//! The publish mutex under real concurrency: two OS processes (this test binary re-run in a
//! child role) make 25 attempts each on the same user's mutex, on SQLite and on MariaDB. Each
//! holder records the interval it held the mutex; the parent checks that no two intervals
//! overlap, that both processes got the mutex and were also turned away, and that a stale
//! RUNNING task left behind beforehand was expired and taken over exactly once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use common::{Engine, TestDb};
use wikiscriptsync_store::*;

const ATTEMPTS: usize = 25;
const CHILD_URL: &str = "WSS_MUTEX_CHILD_URL";
const CHILD_USER: &str = "WSS_MUTEX_CHILD_USER";
const CHILD_DIR: &str = "WSS_MUTEX_CHILD_DIR";
const CHILD_NAME: &str = "WSS_MUTEX_CHILD_NAME";

fn epoch_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The child role: run only when the parent starts this binary with the variables set.
#[tokio::test]
#[ignore = "child role of the two-process mutex tests; started by them"]
async fn mutex_child_role() {
    let url = std::env::var(CHILD_URL).expect("started by the parent test");
    let user = UserId(std::env::var(CHILD_USER).unwrap().parse().unwrap());
    let dir = PathBuf::from(std::env::var(CHILD_DIR).unwrap());
    let name = std::env::var(CHILD_NAME).unwrap();
    let store = open(&DatabaseUrl::new(url), &StoreSettings::default())
        .await
        .unwrap();
    std::fs::write(dir.join(format!("{name}.ready")), "").unwrap();
    wait_for(&dir.join("go"));
    let mut lines = Vec::new();
    for _ in 0..ATTEMPTS {
        match store.acquire_publish_task(user, Utc::now()).await.unwrap() {
            PublishLock::Acquired { task, expired } => {
                let start = epoch_nanos();
                tokio::time::sleep(Duration::from_millis(3)).await;
                let end = epoch_nanos();
                assert!(
                    store
                        .release_publish_task(task, &TaskOutcome::Done, Utc::now())
                        .await
                        .unwrap()
                );
                let expired = expired.map_or(-1, |t| t.0);
                lines.push(format!("acquired {} {start} {end} {expired}", task.0));
                // Step back after releasing, as a real publisher does between publishes, so
                // that the other process gets its turn instead of this one winning every race.
                tokio::time::sleep(Duration::from_millis(4)).await;
            }
            PublishLock::Busy { .. } => {
                lines.push("busy".to_owned());
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    std::fs::write(dir.join(format!("{name}.out")), lines.join("\n")).unwrap();
}

struct Holding {
    process: usize,
    task: i64,
    start: u128,
    end: u128,
    expired: i64,
}

fn spawn_child(db: &TestDb, user: UserId, dir: &Path, name: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "mutex_child_role",
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, &db.url)
        .env(CHILD_USER, user.0.to_string())
        .env(CHILD_DIR, dir)
        .env(CHILD_NAME, name)
        .spawn()
        .expect("spawn the child process")
}

async fn two_processes_never_hold_the_mutex_at_once(engine: Engine) {
    let Some(db) = TestDb::new(engine).await else {
        return;
    };
    let store = db.open().await;
    let user = store
        .upsert_user("sub-1", "Contended", Utc::now())
        .await
        .unwrap()
        .id;
    // A publish that died six minutes ago and left its task RUNNING.
    let PublishLock::Acquired { task: stale, .. } = store
        .acquire_publish_task(user, Utc::now() - chrono::Duration::minutes(6))
        .await
        .unwrap()
    else {
        panic!("planting the stale task");
    };
    let dir = tempfile::tempdir().unwrap();
    let mut children: Vec<Child> = ["a", "b"]
        .iter()
        .map(|name| spawn_child(&db, user, dir.path(), name))
        .collect();
    for name in ["a", "b"] {
        wait_for(&dir.path().join(format!("{name}.ready")));
    }
    std::fs::write(dir.path().join("go"), "").unwrap();
    for child in &mut children {
        assert!(child.wait().unwrap().success(), "a child process failed");
    }

    let mut holdings = Vec::new();
    let mut busy = [0_usize; 2];
    for (process, name) in ["a", "b"].iter().enumerate() {
        let out = std::fs::read_to_string(dir.path().join(format!("{name}.out"))).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), ATTEMPTS, "process {name} made every attempt");
        for line in lines {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields.as_slice() {
                ["busy"] => busy[process] += 1,
                ["acquired", task, start, end, expired] => holdings.push(Holding {
                    process,
                    task: task.parse().unwrap(),
                    start: start.parse().unwrap(),
                    end: end.parse().unwrap(),
                    expired: expired.parse().unwrap(),
                }),
                other => panic!("unexpected line {other:?}"),
            }
        }
    }
    for process in 0..2 {
        assert!(
            holdings.iter().any(|h| h.process == process),
            "process {process} never got the mutex"
        );
    }
    assert!(
        busy.iter().sum::<usize>() > 0,
        "the processes never contended: {busy:?}"
    );

    // The invariant: sorted by start, every holding begins after all earlier ones ended.
    holdings.sort_by_key(|h| h.start);
    let mut latest_end = 0;
    for h in &holdings {
        assert!(
            h.start >= latest_end,
            "two RUNNING tasks overlapped (task {} of process {} started {} ns before the \
             previous holder released)",
            h.task,
            h.process,
            latest_end - h.start
        );
        latest_end = latest_end.max(h.end);
    }

    let takeovers: Vec<_> = holdings.iter().filter(|h| h.expired != -1).collect();
    assert_eq!(
        takeovers.len(),
        1,
        "the stale task is taken over exactly once"
    );
    assert_eq!(takeovers[0].expired, stale.0);
    let old = store.publish_task(stale).await.unwrap().unwrap();
    assert_eq!(
        (old.status, old.reason.as_deref()),
        (PublishTaskStatus::Failed, Some("expired"))
    );
    for h in &holdings {
        let task = store
            .publish_task(PublishTaskId(h.task))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(task.status, PublishTaskStatus::Done);
    }
    assert!(matches!(
        store.acquire_publish_task(user, Utc::now()).await.unwrap(),
        PublishLock::Acquired { expired: None, .. }
    ));
    println!(
        "{engine:?}: {} holdings, busy {busy:?}, no overlap, stale task {} taken over",
        holdings.len(),
        stale.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_hold_the_publish_mutex_at_once_on_sqlite() {
    two_processes_never_hold_the_mutex_at_once(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_hold_the_publish_mutex_at_once_on_mariadb() {
    two_processes_never_hold_the_mutex_at_once(Engine::MariaDb).await;
}
