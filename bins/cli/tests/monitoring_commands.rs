//! The monitoring and management commands of `wikiscriptsync`, run as an operator would,
//! against a fake GitHub and a fake wiki: `repo`/`watch`/`map`/`monitor`/`prefs`/`credential`,
//! `check-updates` and `check-wiki-updates` with `--json` listing every change with old and new
//! SHA or revision, `check-health` exit codes, `cleanup-logs` and `clean-orphan-data`; a check
//! stopped by Ctrl-C gives back its claims.

mod common;

use std::process::{Command, Output};

use common::{output_of, wikiscriptsync};
use serde_json::Value;
use wikiscriptsync_forge::testkit::{Endpoint, FakeGitHub, Fault};
use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki};

const SECRET: &str = "cliMonitorBotPassw0rdZZ99yy88xx77";

struct Fakes {
    wiki: FakeWiki,
    github: FakeGitHub,
    dir: tempfile::TempDir,
    key: String,
}

impl Fakes {
    async fn start() -> Self {
        let wiki = FakeWiki::start().await;
        let github = FakeGitHub::start().await;
        github.add_repo("octo/gadgets", [("src/a.js", "one"), ("src/b.css", "two")]);
        let mut fakes = Self {
            wiki,
            github,
            dir: tempfile::tempdir().unwrap(),
            key: String::new(),
        };
        let out = fakes.run(&["generate-key"]).await;
        fakes.key = stdout(&out).trim().to_owned();
        fakes
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = wikiscriptsync(self.dir.path(), &self.wiki, &self.github, args);
        command
            .env(
                "WIKISCRIPTSYNC_GITHUB_TOKEN",
                "ghp_cli0000000000000000000000000000000000",
            )
            .env("CREDENTIAL_ENCRYPTION_KEY", &self.key)
            .env("BOT_SECRET", SECRET)
            .env("WRONG_SECRET", "notTheBotPassword")
            .env(
                "WIKISCRIPTSYNC_HEALTH_FORGES",
                self.github.uri().trim_start_matches("http://"),
            )
            .env("WIKISCRIPTSYNC_HEALTH_PROBE_WIKIS", self.wiki.api_url());
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        output_of(self.command(args)).await
    }

    /// Migrates the database and has Alice track octo/gadgets on `main`; the repository's id.
    async fn alice_tracks_gadgets(&self) -> String {
        self.run(&["migrate"]).await;
        let url = self.github.repo_url("octo/gadgets");
        let repo = self
            .json(&[
                "repo", "add", "--user", "Alice", &url, "--branch", "main", "--json",
            ])
            .await;
        repo["id"].as_i64().unwrap().to_string()
    }

    /// Runs a command that must succeed and print JSON.
    async fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args).await;
        assert!(out.status.success(), "{args:?}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"))
    }
}

/// Sets every repository and page monitor due in the CLI's SQLite file, through sqlx (no
/// `sqlite3` command needed, so the change-detection half of the test always runs).
async fn make_everything_due(db: &std::path::Path) {
    use sqlx::Connection as _;
    assert!(
        db.is_file(),
        "the CLI's database is not at {}",
        db.display()
    );
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .expect("open the CLI's SQLite database");
    for table in ["sync_trackedrepository", "wiki_monitor_pagemonitor"] {
        let updated = sqlx::query(&format!("UPDATE {table} SET next_check_at = 0"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("make {table} due: {e}"))
            .rows_affected();
        assert_eq!(updated, 1, "{table}: one row to make due");
    }
    conn.close().await.expect("close the SQLite database");
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_commands_add_list_and_remove_what_a_user_tracks() {
    let fakes = Fakes::start().await;
    // The fake wiki, named by its API URL here and by other spellings below.
    let wiki = fakes.wiki.api_url();
    let wiki_key = fakes.wiki.wiki_url().key();
    let url = fakes.github.repo_url("octo/gadgets");
    let repo = fakes
        .json(&["repo", "add", "--user", "Alice", &url, "--json"])
        .await;
    assert_eq!(
        repo["branch"], "main",
        "the default branch was looked up: {repo}"
    );
    let repo_id = repo["id"].as_i64().unwrap().to_string();
    let dup = fakes.run(&["repo", "add", "--user", "Alice", &url]).await;
    assert_eq!(
        dup.status.code(),
        Some(2),
        "a duplicate is a usage error: {dup:?}"
    );

    let watched = fakes
        .json(&[
            "watch",
            "add",
            "--user",
            "Alice",
            "--repo",
            &repo_id,
            "src/a.js",
            "/src/b.css",
            "--json",
        ])
        .await;
    assert_eq!(watched["added"][1]["path"], "src/b.css");
    let file_id = watched["added"][0]["id"].as_i64().unwrap().to_string();
    let mapping = fakes
        .json(&[
            "map",
            "add",
            "--user",
            "Alice",
            "--file",
            &file_id,
            "--wiki",
            &wiki,
            "--page",
            "MediaWiki:Gadget-a.js",
            "--monitor",
            "--json",
        ])
        .await;
    assert_eq!(mapping["wiki"], wiki_key);
    assert_eq!(mapping["monitored"], true);
    let monitors = fakes
        .json(&[
            "monitor",
            "add",
            "--user",
            "Alice",
            "--wiki",
            &format!("http://{}", fakes.wiki.host()),
            "MediaWiki:Common.js",
            "User:Alice/common.js",
            "--json",
        ])
        .await;
    assert_eq!(
        monitors["added"][0]["wiki"], wiki_key,
        "one wiki, however spelled"
    );
    let prefs = fakes
        .json(&[
            "prefs",
            "set",
            "--user",
            "Alice",
            "--home-wiki",
            &fakes.wiki.host(),
            "--digest",
            "--disable",
            "page_moved",
            "--json",
        ])
        .await;
    assert_eq!(prefs["digest"], true);
    assert_eq!(prefs["disabled"][0], "page_moved");
    let bad_kind = fakes
        .run(&["prefs", "set", "--user", "Alice", "--disable", "everything"])
        .await;
    assert_eq!(bad_kind.status.code(), Some(2));

    let repos = fakes
        .json(&["repo", "list", "--user", "Alice", "--json"])
        .await;
    assert_eq!(repos[0]["watched_files"], 2);
    let files = fakes
        .json(&[
            "watch", "list", "--user", "Alice", "--repo", &repo_id, "--json",
        ])
        .await;
    assert_eq!(files.as_array().unwrap().len(), 2);
    let maps = fakes
        .json(&[
            "map", "list", "--user", "Alice", "--file", &file_id, "--json",
        ])
        .await;
    assert_eq!(maps[0]["page"], "MediaWiki:Gadget-a.js");
    let pages = fakes
        .json(&["monitor", "list", "--user", "Alice", "--json"])
        .await;
    let listed = fakes.run(&["monitor", "list", "--user", "Alice"]).await;
    let listed = stdout(&listed);
    assert!(
        listed.contains(&format!(
            "FakeWiki ({}) MediaWiki:Common.js",
            fakes.wiki.host()
        )),
        "the text names the wiki by name and host: {listed}"
    );
    assert_eq!(
        pages.as_array().unwrap().len(),
        3,
        "the two added and the mapped page (--monitor): {pages}"
    );
    assert!(
        pages
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["wiki"] == wiki_key && p["title"] == "MediaWiki:Gadget-a.js"),
        "{pages}"
    );

    // Another user sees none of it, and cannot remove it.
    let bob = fakes.run(&["repo", "list", "--user", "Bob"]).await;
    assert_eq!(bob.status.code(), Some(2), "{bob:?}");
    fakes
        .json(&[
            "monitor",
            "add",
            "--user",
            "Bob",
            "--wiki",
            &wiki,
            "Main Page",
            "--json",
        ])
        .await;
    let steal = fakes
        .run(&["repo", "remove", "--user", "Bob", &repo_id])
        .await;
    assert_eq!(steal.status.code(), Some(2), "{steal:?}");

    let gone = fakes
        .json(&["repo", "remove", "--user", "Alice", &repo_id, "--json"])
        .await;
    assert_eq!(gone["removed"].as_i64().unwrap().to_string(), repo_id);
    let repos = fakes
        .json(&["repo", "list", "--user", "Alice", "--json"])
        .await;
    assert_eq!(repos, Value::Array(Vec::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_set_logs_in_once_stores_only_ciphertext_and_never_prints_the_password() {
    let fakes = Fakes::start().await;
    fakes
        .wiki
        .add_account(FakeAccount::new("Alice@sync", SECRET).with_rights(&["edit", "editmyuserjs"]));
    let wiki = fakes.wiki.api_url();
    let set = |bot: &'static str, env: Option<&'static str>| {
        let mut args = vec![
            "credential",
            "set",
            "--user",
            "Alice",
            "--wiki",
            wiki.as_str(),
            "--bot-user",
            bot,
        ];
        if let Some(env) = env {
            args.extend(["--password-env", env]);
        }
        args
    };
    // A wrong password is refused at the wiki and stores nothing.
    let wrong = fakes.run(&set("Alice@sync", Some("WRONG_SECRET"))).await;
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("failed, so it was not saved"));
    // Login names without a user or a bot name are refused before any request.
    let before = fakes.wiki.request_count();
    for bad in ["@sync", "Alice@", "Alice"] {
        let out = fakes.run(&set(bad, Some("BOT_SECRET"))).await;
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--bot-user"),
            "{out:?}"
        );
    }
    assert_eq!(
        fakes.wiki.request_count(),
        before,
        "refused before any request"
    );
    let listed = fakes
        .run(&["credential", "list", "--user", "Alice", "--json"])
        .await;
    assert_eq!(
        stdout(&listed).trim(),
        "[]",
        "nothing stored by the refusals"
    );

    let mut args = set("Alice@sync", Some("BOT_SECRET"));
    args.push("--json");
    let report = fakes.json(&args).await;
    assert_eq!(report["bot_user"], "Alice@sync");
    assert!(
        report["grants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "basic"),
        "{report}"
    );
    assert_eq!(
        fakes.wiki.requests_for("login"),
        2,
        "one check login (plus the wrong one)"
    );
    let verified = fakes
        .json(&[
            "credential",
            "verify",
            "--user",
            "Alice",
            "--wiki",
            &wiki,
            "--json",
        ])
        .await;
    assert_eq!(verified["bot_user"], "Alice@sync");
    assert_eq!(fakes.wiki.requests_for("login"), 3, "verify logs in once");
    let database = std::fs::read(fakes.dir.path().join("data/wikiscriptsync.sqlite3")).unwrap();
    assert!(
        !database
            .windows(SECRET.len())
            .any(|w| w == SECRET.as_bytes()),
        "the password is not in the database file"
    );
    let no_env = fakes.run(&set("Alice@sync", None)).await;
    assert_eq!(
        no_env.status.code(),
        Some(2),
        "no terminal, no --password-env: {no_env:?}"
    );
    for out in [&wrong, &no_env, &listed] {
        let printed = format!("{}{}", stdout(out), String::from_utf8_lossy(&out.stderr));
        assert!(!printed.contains(SECRET));
    }
    let removed = fakes
        .json(&[
            "credential",
            "remove",
            "--user",
            "Alice",
            "--wiki",
            &wiki,
            "--json",
        ])
        .await;
    assert_eq!(removed["removed"], report["wiki"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_commands_list_every_changed_file_and_page_with_old_and_new_values() {
    let fakes = Fakes::start().await;
    let repo_id = fakes.alice_tracks_gadgets().await;
    fakes
        .json(&[
            "watch",
            "add",
            "--user",
            "Alice",
            "--repo",
            &repo_id,
            "src/a.js",
            "src/b.css",
            "--json",
        ])
        .await;
    fakes.wiki.add_page("MediaWiki:Common.js", "a();");
    fakes
        .json(&[
            "monitor",
            "add",
            "--user",
            "Alice",
            "--wiki",
            &fakes.wiki.api_url(),
            "MediaWiki:Common.js",
            "--json",
        ])
        .await;

    // Watching checked the repository at once (first sight: no change events), so the
    // scheduled run finds nothing due.
    let first = fakes.json(&["check-updates", "--json"]).await;
    assert_eq!(first["checked"], 0, "{first}");
    assert_eq!(first["changes"], Value::Array(Vec::new()));
    assert_eq!(first["notifications"]["enabled"], false);
    let old = fakes
        .github
        .blob_sha_of("octo/gadgets", "main", "src/a.js")
        .unwrap();
    fakes
        .github
        .commit("octo/gadgets", "main", [("src/a.js", Some("one!"))]);
    let new = fakes
        .github
        .blob_sha_of("octo/gadgets", "main", "src/a.js")
        .unwrap();
    // Due again only after the interval: a second run at once checks nothing.
    let early = fakes.json(&["check-updates", "--json"]).await;
    assert_eq!(early["checked"], 0);

    let pages = fakes.json(&["check-wiki-updates", "--json"]).await;
    assert_eq!(pages["checked"], 1);
    assert_eq!(pages["requests"], 1);

    // Make everything due now, as the next hourly run would find it.
    make_everything_due(&fakes.dir.path().join("data/wikiscriptsync.sqlite3")).await;
    let old_rev = fakes
        .wiki
        .page("MediaWiki:Common.js")
        .unwrap()
        .latest()
        .unwrap()
        .id;
    let new_rev = fakes
        .wiki
        .edit_as("MediaWiki:Common.js", "b();", "Mallory", "sneaky");
    let report = fakes.json(&["check-updates", "--json"]).await;
    assert_eq!(report["changes"].as_array().unwrap().len(), 1, "{report}");
    let change = &report["changes"][0];
    assert_eq!(change["kind"], "file_changed");
    assert_eq!(change["path"], "src/a.js");
    assert_eq!(change["old_sha"], old.as_str());
    assert_eq!(change["new_sha"], new.as_str());
    let pages = fakes.json(&["check-wiki-updates", "--json"]).await;
    let change = &pages["changes"][0];
    assert_eq!(change["kind"], "page_changed");
    assert_eq!(change["old_revision"], old_rev);
    assert_eq!(change["new_revision"], new_rev);
    assert_eq!(change["editor"], "Mallory");

    let text = fakes.run(&["check-updates"]).await;
    assert!(
        stdout(&text).contains("check-updates: 0 repositories checked"),
        "{text:?}"
    );
    assert!(stdout(&text).contains("notifications are off"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_finds_nothing_due_says_when_the_next_is_and_repo_or_page_checks_now() {
    let fakes = Fakes::start().await;
    let repo_id = fakes.alice_tracks_gadgets().await;
    let watched = fakes
        .json(&[
            "watch", "add", "--user", "Alice", "--repo", &repo_id, "src/a.js", "--json",
        ])
        .await;
    assert_eq!(
        watched["check"], "first",
        "watching checks at once: {watched}"
    );
    fakes.wiki.add_page("MediaWiki:Common.js", "a();");
    let monitor = fakes
        .json(&[
            "monitor",
            "add",
            "--user",
            "Alice",
            "--wiki",
            &fakes.wiki.api_url(),
            "MediaWiki:Common.js",
            "--json",
        ])
        .await;
    let page_id = monitor["added"][0]["id"].as_i64().unwrap().to_string();
    // Watching checked the repository at once: nothing is due.
    assert_eq!(fakes.json(&["check-updates", "--json"]).await["checked"], 0);
    assert_eq!(
        fakes.json(&["check-wiki-updates", "--json"]).await["checked"],
        1
    );
    fakes
        .github
        .commit("octo/gadgets", "main", [("src/a.js", Some("one!"))]);

    // Not due for a while: the run says so, and when.
    let early = fakes.json(&["check-updates", "--json"]).await;
    assert_eq!(early["checked"], 0);
    assert_eq!(early["outlook"]["due"], 0, "{early}");
    assert_eq!(early["outlook"]["held_by_another_runner"], 0);
    assert!(early["outlook"]["next_due_at"].is_string(), "{early}");
    let text = stdout(&fakes.run(&["check-updates"]).await);
    assert!(text.contains("; 0 due; next due at "), "{text}");
    assert!(text.contains(" UTC"), "{text}");

    // --repo checks it now, through the usual path: the change is found and reported.
    let now = fakes
        .json(&["check-updates", "--repo", &repo_id, "--json"])
        .await;
    assert_eq!(now["checked"], 1, "{now}");
    assert_eq!(now["changes"].as_array().unwrap().len(), 1, "{now}");
    assert_eq!(now["changes"][0]["kind"], "file_changed");
    assert_eq!(now["outlook"]["due"], 0);
    let missing = fakes
        .json(&["check-updates", "--repo", "987654", "--json"])
        .await;
    assert_eq!(missing["checked"], 0);
    assert_eq!(missing["outlook"]["not_found"], serde_json::json!([987654]));
    assert_eq!(
        fakes.json(&["check-updates", "--all", "--json"]).await["checked"],
        1
    );
    let conflicting = fakes
        .run(&["check-updates", "--all", "--repo", &repo_id])
        .await;
    assert!(!conflicting.status.success());

    // The same for pages.
    let early = fakes.json(&["check-wiki-updates", "--json"]).await;
    assert_eq!(early["checked"], 0);
    assert!(early["outlook"]["next_due_at"].is_string(), "{early}");
    let now = fakes
        .json(&["check-wiki-updates", "--page", &page_id, "--json"])
        .await;
    assert_eq!(now["checked"], 1, "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_health_passes_against_the_fakes_and_fails_with_exit_1_when_something_is_wrong() {
    let fakes = Fakes::start().await;
    fakes.run(&["migrate"]).await;
    let report = fakes.json(&["check-health", "--json"]).await;
    assert_eq!(report["ok"], true, "{report}");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("database")));
    assert!(names.contains(&"encryption key"));
    assert!(names.iter().any(|n| n.starts_with("GitHub ")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("wiki ")));
    assert!(fakes.github.requests().iter().all(|r| {
        r.user_agent
            .as_deref()
            .is_some_and(|ua| ua.contains("https://example.org/cli-tests"))
    }));

    let mut no_key = fakes.command(&["check-health"]);
    no_key.env_remove("CREDENTIAL_ENCRYPTION_KEY");
    let out = output_of(no_key).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout(&out).contains("[FAIL] encryption key"), "{out:?}");

    // A forge that does not answer (nothing listens on the discard port).
    let mut bad_forge = fakes.command(&["check-health", "--json"]);
    bad_forge
        .env("WIKISCRIPTSYNC_GITHUB_API_URL", "http://127.0.0.1:9")
        .env("WIKISCRIPTSYNC_HEALTH_FORGES", "127.0.0.1:9");
    let out = output_of(bad_forge).await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_logs_and_clean_orphan_data_report_counts_and_refuse_bad_arguments() {
    let fakes = Fakes::start().await;
    let report = fakes
        .json(&["cleanup-logs", "--dry-run", "--older-than", "30", "--json"])
        .await;
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["file_checks"], 0);
    let zero = fakes.run(&["cleanup-logs", "--older-than", "0"]).await;
    assert_eq!(zero.status.code(), Some(2));
    let orphans = fakes
        .json(&["clean-orphan-data", "--dry-run", "--json"])
        .await;
    assert_eq!(orphans["total"], 0);
    let text = fakes.run(&["clean-orphan-data"]).await;
    assert!(
        stdout(&text).starts_with("clean-orphan-data: removed 0 orphaned rows"),
        "{text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_updates_json_prints_an_error_object_when_the_database_fails() {
    let fakes = Fakes::start().await;
    // A "directory" that is a regular file: no database can be opened beneath it.
    let not_a_dir = fakes.dir.path().join("not-a-directory");
    std::fs::write(&not_a_dir, "").unwrap();
    let url = format!("sqlite:{}/wikiscriptsync.sqlite3", not_a_dir.display());
    for command in ["check-updates", "check-wiki-updates"] {
        let mut check = fakes.command(&[command, "--json"]);
        check.env("WIKISCRIPTSYNC_DATABASE_URL", &url);
        let out = output_of(check).await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let value: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{command}: stdout is not JSON ({e}): {out:?}"));
        assert_eq!(value["ok"], false, "{value}");
        assert_eq!(value["outcome"], "failed", "{value}");
        assert!(
            value["message"]
                .as_str()
                .is_some_and(|m| m.contains("database")),
            "{value}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_share_is_said_by_repo_check_and_in_the_check_updates_summary() {
    use sqlx::Connection as _;
    let fakes = Fakes::start().await;
    let url = fakes.github.repo_url("octo/gadgets");
    let repo = fakes
        .json(&["repo", "add", "--user", "Alice", &url, "--json"])
        .await;
    let repo_id = repo["id"].as_i64().unwrap().to_string();
    // Alice spent far more than her share of github.com this hour (as a burst of page views
    // in the web app would have). The CLI reads the wall clock, so the spending is dated at
    // the start of the next hour: it counts in this hour and in that one, and the test holds
    // even when the hour turns while it runs.
    use chrono::DurationRound as _;
    let next_hour = chrono::Utc::now()
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap()
        + chrono::Duration::hours(1);
    let db = fakes.dir.path().join("data/wikiscriptsync.sqlite3");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO sync_forgequotause (user_id, host, spent, recorded_at) \
         SELECT user_id, host, 100000, ? FROM sync_trackedrepository",
    )
    .bind(next_hour.timestamp_millis())
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    fakes.github.reset_stats();
    // When checks resume: the next hour, or the one after if the hour turned meanwhile.
    let resumes = [next_hour, next_hour + chrono::Duration::hours(1)]
        .map(|at| format!("checks resume at {} UTC", at.format("%H:00")));
    let says_when = |text: &str| resumes.iter().any(|r| text.contains(r.as_str()));

    let check = fakes
        .run(&["repo", "check", "--user", "Alice", &repo_id])
        .await;
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    let text = stdout(&check);
    assert!(
        text.contains("Your share of github.com's requests for this hour is spent"),
        "{text}"
    );
    assert!(says_when(&text), "{text}");

    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE sync_trackedrepository SET next_check_at = 0")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let run = fakes.json(&["check-updates", "--json"]).await;
    assert_eq!(run["checked"], 0, "{run}");
    assert_eq!(run["shares_spent"][0]["host"], "github.com", "{run}");
    assert_eq!(run["shares_spent"][0]["repositories_left"], 1, "{run}");
    let summary = run["summary"].as_str().unwrap();
    assert!(
        summary.contains("share of github.com's requests for this hour is spent"),
        "{summary}"
    );
    assert!(says_when(summary), "{summary}");
    assert_eq!(fakes.github.stats().requests, 0, "nothing sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_limit_set_by_the_operator_is_refused_with_the_same_words_as_the_web() {
    let fakes = Fakes::start().await;
    fakes.github.add_repo("octo/tools", [("tool.js", "// t")]);
    let add = |repo: &str| {
        let mut command = fakes.command(&[
            "repo",
            "add",
            "--user",
            "Alice",
            &fakes.github.repo_url(repo),
        ]);
        command.env("WIKISCRIPTSYNC_MAX_REPOSITORIES_PER_USER", "1");
        command
    };
    let first = output_of(add("octo/gadgets")).await;
    assert!(first.status.success(), "{first:?}");
    let requests = fakes.github.stats().requests;
    let second = output_of(add("octo/tools")).await;
    assert_eq!(second.status.code(), Some(2), "a usage error: {second:?}");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("Limit reached: this service allows 1 tracked repositories per user")
            && said.contains("WIKISCRIPTSYNC_MAX_REPOSITORIES_PER_USER"),
        "{said}"
    );
    assert_eq!(fakes.github.stats().requests, requests, "no request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_repository_is_refused_although_the_token_could_read_it() {
    let fakes = Fakes::start().await;
    // The operator's token (set in `command`) can read it; the tool must not.
    fakes
        .github
        .add_repo_with("octo/secret", "main", true, [("src/a.js", "secret")]);
    let url = fakes.github.repo_url("octo/secret");
    let refused = fakes
        .run(&["repo", "add", "--user", "Alice", &url, "--branch", "main"])
        .await;
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(
            "https://github.com/octo/secret is private on github.com; only public \
             repositories can be tracked"
        ),
        "{stderr}"
    );
    assert!(
        fakes
            .github
            .requests()
            .iter()
            .all(|r| r.endpoint == wikiscriptsync_forge::testkit::Endpoint::Repository),
        "{:?}",
        fakes.github.requests()
    );
}

/// How many repositories and pages are claimed in the CLI's SQLite file now.
async fn claimed(db: &std::path::Path) -> i64 {
    use sqlx::Connection as _;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let (count,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sync_trackedrepository WHERE lease_owner IS NOT NULL) \
         + (SELECT COUNT(*) FROM wiki_monitor_pagemonitor WHERE lease_owner IS NOT NULL)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_updates_stopped_by_ctrl_c_gives_back_its_claims_and_exits_130() {
    let fakes = Fakes::start().await;
    let repo_id = fakes.alice_tracks_gadgets().await;
    fakes
        .json(&[
            "watch", "add", "--user", "Alice", "--repo", &repo_id, "src/a.js", "--json",
        ])
        .await;
    let db = fakes.dir.path().join("data/wikiscriptsync.sqlite3");
    // The head probe hangs, so Ctrl-C finds the check holding its claim.
    fakes.github.push_fault_on(
        Endpoint::Commit,
        Fault::Delay(std::time::Duration::from_secs(60)),
        1,
    );
    let mut command = fakes.command(&["check-updates", "--all", "--json"]);
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    let mut polls = 0;
    while claimed(&db).await == 0 {
        assert!(polls < 3000, "check-updates never claimed the repository");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        polls += 1;
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["outcome"], "stopped", "{value}");
    assert_eq!(value["signal"], "SIGINT", "{value}");
    assert_eq!(value["released"], 1, "{value}");
    assert_eq!(claimed(&db).await, 0, "no lease outlives the command");
    // Checked by hand again at once: nothing is held by another runner.
    let again = fakes
        .json(&["check-updates", "--repo", &repo_id, "--json"])
        .await;
    assert_eq!(again["checked"], 1, "{again}");
}
