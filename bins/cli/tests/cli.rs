//! The `wikiscriptsync` binary run as a user would, against a fake wiki and a fake GitHub:
//! exit codes 0/1/2/3, `--json`, `--stats`, `migrate`, `rotate-credentials`, and no secret in
//! anything it prints (stdout, stderr at TRACE level) or in its database file.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{ADMIN, Fakes, PAGE, PASSWORD, PATH, REPO, output_of};
use serde_json::Value;
use wikiscriptsync_mw::testkit::FakeAccount;

const LIMITED: &str = "Limited@publisher";

impl Fakes {
    async fn start() -> Self {
        let fakes = Fakes::with_page_and_file(
            &[
                "read",
                "edit",
                "writeapi",
                "createpage",
                "editsitejs",
                "editinterface",
            ],
            "// v1\nmw.log('hi');\n",
        )
        .await;
        fakes.wiki.add_account(FakeAccount::new(LIMITED, PASSWORD));
        fakes
    }

    fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("cli.sqlite3")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.binary(args);
        command
            .env(
                "WIKISCRIPTSYNC_DATABASE_URL",
                format!("sqlite:{}", self.db_path().display()),
            )
            .env("BOT_PASSWORD", PASSWORD)
            .env("RUST_LOG", "trace")
            .stdin(Stdio::null());
        command
    }

    /// `publish` from the fake repository to the fake wiki, plus `extra` flags.
    fn publish_args(&self, bot: &str, extra: &[&str]) -> Vec<String> {
        let mut args = common::publish_args(&self.wiki, &self.github, bot);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    async fn run(&self, args: Vec<String>) -> Output {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        output_of(self.command(&refs)).await
    }

    async fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        for (k, v) in env {
            command.env(k, v);
        }
        output_of(command).await
    }
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Nothing the binary printed, nor its database, contains the password.
fn assert_no_password(output: &Output, db: &Path) {
    let printed = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
    assert!(
        !contains(&printed, PASSWORD.as_bytes()),
        "the password was printed"
    );
    // The database itself must be there (a missing file would make the check vacuous); its
    // write-ahead log and shared-memory index hold recent writes, so check them when present.
    let main = std::fs::read(db)
        .unwrap_or_else(|e| panic!("the database {} cannot be read: {e}", db.display()));
    assert!(!main.is_empty(), "the database {} is empty", db.display());
    assert!(
        !contains(&main, PASSWORD.as_bytes()),
        "the password is in {}",
        db.display()
    );
    for suffix in ["-wal", "-shm", "-journal"] {
        let file = format!("{}{suffix}", db.display());
        match std::fs::read(&file) {
            Ok(bytes) => assert!(
                !contains(&bytes, PASSWORD.as_bytes()),
                "the password is in {file}"
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("{file} exists but cannot be read: {e}"),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_exits_0_and_reports_json_with_request_counts() {
    let fakes = Fakes::start().await;
    let output = fakes
        .run(fakes.publish_args(ADMIN, &["--json", "--stats"]))
        .await;
    assert_eq!(code(&output), 0, "{output:?}");
    let value = json(&output);
    assert_eq!(value["ok"], true);
    assert_eq!(value["outcome"], "published");
    // Branch → head, tree, blob; then login token, login, probe, edit.
    assert_eq!(value["requests"]["forge"], 3, "{value}");
    assert_eq!(value["requests"]["wiki"], 4, "{value}");
    assert!(value["diff_url"].as_str().unwrap().contains("diff="));
    assert_eq!(fakes.wiki.page_text(PAGE).unwrap(), "// v1\nmw.log('hi');");
    // The trace log was really on (so the secret check below means something).
    assert!(String::from_utf8_lossy(&output.stderr).contains("publish"));
    assert_no_password(&output, &fakes.db_path());

    // Again: no change, still exit 0, plain text with --stats.
    let output = fakes.run(fakes.publish_args(ADMIN, &["--stats"])).await;
    assert_eq!(code(&output), 0, "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("no change"), "{stdout}");
    assert!(stdout.contains("requests: forge 3, wiki 3"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_and_missing_rights_exit_3_and_overwrite_drift_exits_0() {
    let fakes = Fakes::start().await;
    assert_eq!(code(&fakes.run(fakes.publish_args(ADMIN, &[])).await), 0);
    fakes
        .wiki
        .edit_as(PAGE, "// hotfix on-wiki\n", "Someone", "hotfix");
    fakes.github.commit(REPO, "main", [(PATH, Some("// v2\n"))]);

    let output = fakes.run(fakes.publish_args(ADMIN, &["--json"])).await;
    assert_eq!(code(&output), 3, "{output:?}");
    let value = json(&output);
    assert_eq!(value["error"]["code"], "drift");
    assert_eq!(value["error"]["step"], "drift_guard");
    assert!(
        value["diff"]
            .as_str()
            .unwrap()
            .contains("+// hotfix on-wiki")
    );
    assert_no_password(&output, &fakes.db_path());

    let output = fakes
        .run(fakes.publish_args(ADMIN, &["--overwrite-drift"]))
        .await;
    assert_eq!(code(&output), 0, "{output:?}");
    assert_eq!(fakes.wiki.page_text(PAGE).unwrap(), "// v2");

    let output = fakes.run(fakes.publish_args(LIMITED, &["--json"])).await;
    assert_eq!(code(&output), 3, "{output:?}");
    assert_eq!(json(&output)["error"]["code"], "missing_right");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_and_a_missing_file_exit_1() {
    let fakes = Fakes::start().await;
    let mut args = fakes.publish_args(ADMIN, &["--json"]);
    let pos = args.iter().position(|a| a == "BOT_PASSWORD").unwrap();
    args[pos] = "WRONG_PASSWORD".to_owned();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = fakes
        .run_with(&refs, &[("WRONG_PASSWORD", "not-the-right-one")])
        .await;
    assert_eq!(code(&output), 1, "{output:?}");
    assert_eq!(json(&output)["error"]["code"], "login_failed");
    assert!(!contains(&output.stdout, b"not-the-right-one"));
    assert!(!contains(&output.stderr, b"not-the-right-one"));

    let output = fakes
        .run_with(
            &[
                "publish",
                "--from-file",
                "does-not-exist.js",
                "--wiki",
                &fakes.wiki.api_url(),
                "--page",
                PAGE,
                "--bot-user",
                ADMIN,
                "--password-env",
                "BOT_PASSWORD",
            ],
            &[],
        )
        .await;
    assert_eq!(code(&output), 1, "{output:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_and_a_password_is_never_taken_from_a_flag() {
    let fakes = Fakes::start().await;
    let base = [
        "publish",
        "--from-file",
        "a.js",
        "--wiki",
        "en.wikipedia.org",
        "--page",
        PAGE,
        "--bot-user",
        ADMIN,
    ];
    // No terminal and no --password-env.
    let output = fakes.run_with(&base, &[]).await;
    assert_eq!(code(&output), 2, "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--password-env"));
    // A password given as a flag value is refused.
    let output = fakes
        .run_with(
            &[&base[..], &["--password", "hunter2hunter2"]].concat(),
            &[],
        )
        .await;
    assert_eq!(code(&output), 2, "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("never accepted on the command line"));
    // A variable that is not set.
    let output = fakes
        .run_with(
            &[&base[..], &["--password-env", "NOT_SET_ANYWHERE"]].concat(),
            &[],
        )
        .await;
    assert_eq!(code(&output), 2, "{output:?}");
    // Missing arguments (clap).
    let output = fakes.run_with(&["publish", "--wiki", "x"], &[]).await;
    assert_eq!(code(&output), 2, "{output:?}");
    // The help documents the exit codes.
    let output = fakes.run_with(&["publish", "--help"], &[]).await;
    assert_eq!(code(&output), 0);
    let help = String::from_utf8_lossy(&output.stdout);
    for line in [
        "0  published",
        "1  any other error",
        "2  usage or configuration error",
        "3  refused",
    ] {
        assert!(help.contains(line), "{help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_says_what_it_did_and_rotation_counts_credentials() {
    let fakes = Fakes::start().await;
    let output = fakes.run_with(&["migrate"], &[]).await;
    assert_eq!(code(&output), 0, "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("applied ") && stdout.contains("migration(s)"),
        "{stdout}"
    );
    let output = fakes.run_with(&["migrate"], &[]).await;
    assert!(String::from_utf8_lossy(&output.stdout).contains("nothing to do"));

    let key = String::from_utf8(fakes.run_with(&["generate-key"], &[]).await.stdout).unwrap();
    let key = key.trim();
    let output = fakes
        .run_with(
            &["rotate-credentials", "--dry-run"],
            &[("CREDENTIAL_ENCRYPTION_KEY", key)],
        )
        .await;
    assert_eq!(code(&output), 0, "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .starts_with("0 stored BotPassword(s): would re-encrypt 0"),
        "{output:?}"
    );
    // Without a key, or with a malformed one, rotation explains how to make one (exit 2).
    let output = fakes.run_with(&["rotate-credentials"], &[]).await;
    assert_eq!(code(&output), 2, "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("generate-key"));
    let output = fakes
        .run_with(
            &["rotate-credentials"],
            &[("CREDENTIAL_ENCRYPTION_KEY", "not a key!")],
        )
        .await;
    assert_eq!(code(&output), 2, "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not URL-safe base64"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_prints_the_diff_exits_0_and_edits_nothing() {
    let fakes = Fakes::start().await;
    let output = fakes
        .run(fakes.publish_args(ADMIN, &["--dry-run", "--stats"]))
        .await;
    assert_eq!(code(&output), 0, "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("dry run: would update"), "{stdout}");
    assert!(stdout.contains("-// old\n+// v1\n"), "{stdout}");
    assert!(stdout.contains("requests: forge 3, wiki 3"), "{stdout}");
    assert_eq!(fakes.wiki.requests_for("edit"), 0);
    assert_eq!(fakes.wiki.page_text(PAGE).unwrap(), "// old");
}

/// `args` with the value after `flag` replaced.
fn with_value(mut args: Vec<String>, flag: &str, value: &str) -> Vec<String> {
    let at = args.iter().position(|a| a == flag).expect("flag present") + 1;
    args[at] = value.to_owned();
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_wiki_page_branch_or_path_in_publish_exits_2_naming_the_flag() {
    let fakes = Fakes::start().await;
    let args = fakes.publish_args(ADMIN, &[]);
    let cases = [
        (
            with_value(args.clone(), "--wiki", "wiki.not-allowed.example"),
            "--wiki",
        ),
        (with_value(args.clone(), "--page", "a|b"), "--page"),
        (
            with_value(args.clone(), "--page", &format!("{PAGE}\n")),
            "--page",
        ),
        // Longer than the publish log's columns (branch 200, path 700).
        (
            with_value(args.clone(), "--branch", &"b".repeat(201)),
            "--branch",
        ),
        (
            with_value(args.clone(), "--file", &format!("{}.js", "a".repeat(700))),
            "--file",
        ),
    ];
    for (args, flag) in cases {
        let output = fakes.run(args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{stderr}");
        assert!(stderr.contains(flag), "{stderr}");
    }
    assert_eq!(fakes.wiki.request_count(), 0, "refused before any request");
    assert_eq!(fakes.github.stats().requests, 0, "and before the forge");
}

/// A command run: arguments, environment, exit code, words stderr must hold.
type Case<'a> = (Vec<String>, &'a [(&'a str, &'a str)], i32, &'a str);

/// One exit-code rule for every command: 2 for bad arguments or configuration (naming the
/// flag), 1 for failures while running; `wikiscriptsync --help` states it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_follows_one_exit_code_rule() {
    let fakes = Fakes::start().await;
    let key = String::from_utf8(fakes.run_with(&["generate-key"], &[]).await.stdout).unwrap();
    let key = key.trim().to_owned();
    let wiki = fakes.wiki.api_url();
    let set = |bot: &str| -> Vec<String> {
        [
            "credential",
            "set",
            "--user",
            "Admin",
            "--wiki",
            &wiki,
            "--bot-user",
            bot,
            "--password-env",
            "BOT_PASSWORD",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let with_key: &[(&str, &str)] = &[("CREDENTIAL_ENCRYPTION_KEY", &key)];
    let no_key: &[(&str, &str)] = &[];
    let comma: &[(&str, &str)] = &[("CREDENTIAL_ENCRYPTION_KEY", ",")];
    let cases: Vec<Case<'_>> = vec![
        // Bad arguments: the flag is named, whichever command takes it.
        (set("@bot"), with_key, 2, "--bot-user"),
        (set("Admin@"), with_key, 2, "--bot-user"),
        (fakes.publish_args("@bot", &[]), no_key, 2, "--bot-user"),
        (
            with_value(
                fakes.publish_args(ADMIN, &[]),
                "--wiki",
                "wiki.not-allowed.example",
            ),
            no_key,
            2,
            "--wiki",
        ),
        (
            [
                "repo",
                "add",
                "--user",
                "Admin",
                "https://127.0.0.1/octo/gadgets",
            ]
            .map(str::to_owned)
            .to_vec(),
            no_key,
            2,
            "is an IP address",
        ),
        // Bad configuration: a missing or empty key is 2 in `credential set` as in
        // `rotate-credentials`.
        (
            set(ADMIN),
            no_key,
            2,
            "CREDENTIAL_ENCRYPTION_KEY is not set",
        ),
        (set(ADMIN), comma, 2, "holds no key"),
        (
            vec!["rotate-credentials".to_owned()],
            no_key,
            2,
            "is not set",
        ),
        (
            vec!["rotate-credentials".to_owned()],
            comma,
            2,
            "holds no key",
        ),
        // A failure while running: the database cannot be reached.
        (
            vec!["migrate".to_owned()],
            &[(
                "WIKISCRIPTSYNC_DATABASE_URL",
                "mysql://root@127.0.0.1:1/none",
            )],
            1,
            "opening the database",
        ),
    ];
    for (args, env, expected, words) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = fakes.run_with(&refs, env).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), expected, "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
    }
    assert_eq!(
        fakes.wiki.request_count(),
        0,
        "every refusal came before any request"
    );
    assert_eq!(fakes.github.stats().requests, 0);

    let output = fakes.run_with(&["--help"], &[]).await;
    let help = String::from_utf8_lossy(&output.stdout);
    for line in [
        "Exit codes (the same rule for every command)",
        "1  failed while running",
        "2  bad arguments or configuration",
        "3  refused by a check",
    ] {
        assert!(help.contains(line), "{help}");
    }
}
