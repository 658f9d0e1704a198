//! `wikiscriptsync publish` (and `map publish`) under faults, as a user meets them: SIGTERM
//! while the edit is in flight (the publish finishes and is recorded, then the process exits
//! 143), and a database that refuses writes after the edit (the edit is reported, and the exit
//! code is non-zero because the attempt could not be recorded), and a user whose share of the
//! forge host is spent (refused before any request, exit 1, with the words of every refusal).

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{ADMIN, Fakes, PAGE, PASSWORD, PATH, REPO, output_of};
use serde_json::Value;
use sqlx::{Connection as _, SqliteConnection};
use wikiscriptsync_mw::testkit::Fault;

impl Fakes {
    async fn start() -> Self {
        Fakes::with_page_and_file(
            &["read", "edit", "writeapi", "editsitejs", "editinterface"],
            "// v1\n",
        )
        .await
    }

    fn db_url(&self) -> String {
        format!("sqlite:{}", self.dir.path().join("cli.sqlite3").display())
    }

    fn command(&self, args: &[&str], key: &str) -> Command {
        let mut command = self.binary(args);
        command
            .env("WIKISCRIPTSYNC_DATABASE_URL", self.db_url())
            .env("CREDENTIAL_ENCRYPTION_KEY", key)
            .env("BOT_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs a management command as Alice that must exit 0 and print JSON.
    async fn json(&self, args: &[&str], key: &str) -> Value {
        let args = [args, &["--user", "Alice", "--json"]].concat();
        let out = output_of(self.command(&args, key)).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn publish(&self, extra: &[&str]) -> Command {
        let args = common::publish_args(&self.wiki, &self.github, ADMIN);
        let mut command = self.binary(&[]);
        command
            .args(args)
            .args(extra)
            .env("WIKISCRIPTSYNC_DATABASE_URL", self.db_url())
            .env("BOT_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    async fn sql(&self, statement: &str) {
        let mut conn = SqliteConnection::connect(&self.db_url()).await.unwrap();
        sqlx::query(statement).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }

    async fn rows(&self, query: &str) -> Vec<(String, Option<i64>)> {
        let mut conn = SqliteConnection::connect(&self.db_url()).await.unwrap();
        let rows = sqlx::query_as(query).fetch_all(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        rows
    }
}

/// Sends SIGTERM to `child` once the fake wiki has received an edit, and waits for it.
async fn terminate_during_the_edit(fakes: &Fakes, child: std::process::Child) -> Output {
    let mut waited = 0;
    while fakes.wiki.requests_for("edit") == 0 {
        assert!(waited < 3000, "the publish never reached the edit");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_the_edit_lets_the_publish_finish_and_record_then_exits_143() {
    let fakes = Fakes::start().await;
    // The wiki saves the edit and answers three seconds later; SIGTERM comes in between.
    fakes
        .wiki
        .inject_for("edit", Fault::Delay(Duration::from_secs(3)), 1);
    let child = fakes.publish(&[]).spawn().unwrap();
    let output = terminate_during_the_edit(&fakes, child).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{output:?}");
    assert!(
        stderr.contains("letting the running publish finish"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("published"),
        "{output:?}"
    );
    let revision = fakes.wiki.page(PAGE).unwrap().latest().unwrap().id;
    let log = fakes
        .rows("SELECT outcome, new_revid FROM publish_log ORDER BY id")
        .await;
    assert_eq!(
        log,
        vec![("published".to_owned(), i64::try_from(revision).ok())]
    );
    let running = fakes
        .rows("SELECT status, id FROM publish_task WHERE status = 'RUNNING'")
        .await;
    assert!(running.is_empty(), "the lock was released: {running:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_refuses_the_record_after_the_edit_exits_1_and_says_so() {
    let fakes = Fakes::start().await;
    let first = output_of(fakes.publish(&[])).await;
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    fakes.github.commit(REPO, "main", [(PATH, Some("// v2\n"))]);
    fakes
        .sql(
            "CREATE TRIGGER fail_log_updates BEFORE UPDATE ON publish_log \
             BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END",
        )
        .await;
    let output = output_of(fakes.publish(&["--json"])).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        value["outcome"], "published",
        "the edit is reported: {value}"
    );
    assert!(
        value["record_error"]
            .as_str()
            .is_some_and(|e| e.contains("injected")),
        "{value}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("could not be recorded"), "{stderr}");
    assert_eq!(fakes.wiki.page_text(PAGE).unwrap(), "// v2");
    // The row written ahead of the edit is there, saying an edit was being sent.
    let log = fakes
        .rows("SELECT outcome, base_revid FROM publish_log ORDER BY id")
        .await;
    assert_eq!(log.last().unwrap().0, "pending", "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_map_publish_lets_it_finish_and_record_then_exits_143() {
    let fakes = Fakes::start().await;
    let key = output_of(fakes.command(&["generate-key"], "")).await;
    let key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
    let api = fakes.wiki.api_url();
    let repo = fakes
        .json(&["repo", "add", &fakes.github.repo_url(REPO)], &key)
        .await;
    let repo_id = repo["id"].to_string();
    let watched = fakes
        .json(&["watch", "add", "--repo", &repo_id, PATH], &key)
        .await;
    let file_id = watched["added"][0]["id"].to_string();
    let mapping = fakes
        .json(
            &[
                "map", "add", "--file", &file_id, "--wiki", &api, "--page", PAGE,
            ],
            &key,
        )
        .await;
    let mapping_id = mapping["id"].to_string();
    fakes
        .json(
            &[
                "credential",
                "set",
                "--wiki",
                &api,
                "--bot-user",
                ADMIN,
                "--password-env",
                "BOT_PASSWORD",
            ],
            &key,
        )
        .await;
    fakes
        .wiki
        .inject_for("edit", Fault::Delay(Duration::from_secs(3)), 1);
    let child = fakes
        .command(
            &["map", "publish", &mapping_id, "--user", "Alice", "--json"],
            &key,
        )
        .spawn()
        .unwrap();
    let output = terminate_during_the_edit(&fakes, child).await;
    assert_eq!(output.status.code(), Some(143), "{output:?}");
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["outcome"], "published", "{value}");
    let log = fakes
        .rows("SELECT outcome, new_revid FROM publish_log ORDER BY id")
        .await;
    let revision = fakes.wiki.page(PAGE).unwrap().latest().unwrap().id;
    assert_eq!(
        log,
        vec![("published".to_owned(), i64::try_from(revision).ok())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_past_the_users_share_of_the_forge_exits_1_with_the_share_words_and_sends_nothing()
 {
    let fakes = Fakes::start().await;
    let first = output_of(fakes.publish(&[])).await;
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    // The publish's fetch counted against the publishing user's share of the host.
    let counted = fakes
        .rows("SELECT host, SUM(spent) FROM sync_forgequotause GROUP BY host")
        .await;
    assert_eq!(counted.len(), 1, "{counted:?}");
    assert!(counted[0].1.is_some_and(|spent| spent >= 1), "{counted:?}");
    // Then the user spends far beyond their share, dated at the start of the next hour so it
    // counts whichever hour the CLI's clock is in.
    use chrono::DurationRound as _;
    let next_hour = chrono::Utc::now()
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap()
        + chrono::Duration::hours(1);
    fakes
        .sql(&format!(
            "INSERT INTO sync_forgequotause (user_id, host, spent, recorded_at) \
             SELECT user_id, host, 100000, {} FROM sync_forgequotause LIMIT 1",
            next_hour.timestamp_millis()
        ))
        .await;
    fakes.github.commit(REPO, "main", [(PATH, Some("// v2\n"))]);
    fakes.github.reset_stats();
    let wiki_requests = fakes.wiki.request_count();

    let refused = output_of(fakes.publish(&[])).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains(&format!(
            "Your share of {}'s requests for this hour is spent",
            counted[0].0
        )),
        "{said}"
    );
    assert!(said.contains("checks resume at"), "{said}");
    assert_eq!(fakes.github.stats().requests, 0, "no forge request");
    assert_eq!(fakes.wiki.request_count(), wiki_requests, "no wiki request");
    assert_eq!(fakes.wiki.page_text(PAGE).unwrap(), "// v1");
}
