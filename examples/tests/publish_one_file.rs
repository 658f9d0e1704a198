//! Runs the `publish_one_file` example (built by `cargo test` next to this test) against a fake
//! GitHub and a fake wiki, so the example stays honest: it really publishes, and says so.

use std::path::PathBuf;
use std::process::{Command, Output};

use wikiscriptsync_forge::testkit::FakeGitHub;
use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki};

/// `target/<profile>/examples/publish_one_file`, from this test's own path
/// (`target/<profile>/deps/publish_one_file-<hash>`).
fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let binary = profile_dir
        .join("examples")
        .join(format!("publish_one_file{}", std::env::consts::EXE_SUFFIX));
    binary.exists().then_some(binary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_publishes_a_file_from_a_repository_to_a_page() {
    let (wiki, github) = fakes().await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_example(&wiki, &github, dir.path(), &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("created User:You/hello.js"), "{stdout}");
    assert!(stdout.contains("requests: forge 3, wiki 4"), "{stdout}");
    assert_eq!(
        wiki.page_text("User:You/hello.js").unwrap(),
        "mw.log('hello');"
    );
    assert!(!stdout.contains("examplePassw0rd"));
}

/// A wiki with the example's bot account, and a repository with the example's file.
async fn fakes() -> (FakeWiki, FakeGitHub) {
    let wiki = FakeWiki::start().await;
    wiki.add_account(
        FakeAccount::new("You@publisher", "examplePassw0rd").with_rights(&[
            "read",
            "edit",
            "writeapi",
            "createpage",
            "editmyuserjs",
        ]),
    );
    let github = FakeGitHub::start().await;
    github.add_repo("you/gadgets", [("src/hello.js", "mw.log('hello');\n")]);
    (wiki, github)
}

/// Runs the example once over `dir`'s database with `extra` arguments.
async fn run_example(
    wiki: &FakeWiki,
    github: &FakeGitHub,
    dir: &std::path::Path,
    extra: &[&str],
) -> Output {
    let mut command = example_command(wiki, github, extra);
    command.env(
        "WIKISCRIPTSYNC_DATABASE_URL",
        format!("sqlite:{}", dir.join("example.sqlite3").display()),
    );
    output(command).await
}

/// The example against the fakes with `extra` arguments, in an empty environment.
fn example_command(wiki: &FakeWiki, github: &FakeGitHub, extra: &[&str]) -> Command {
    let binary = example_binary().expect(
        "the example was not built next to the tests; run `cargo test -p wikiscriptsync-examples`",
    );
    let mut command = Command::new(binary);
    command
        .args([&github.repo_url("you/gadgets"), "main", "src/hello.js"])
        .args(extra)
        .env_clear()
        .env("WIKISCRIPTSYNC_CONTACT", "https://example.org/example-test")
        .env("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS", wiki.host())
        .env("WIKISCRIPTSYNC_GITHUB_API_URL", github.uri())
        .env("WIKISCRIPTSYNC_WIKI", wiki.api_url())
        .env("WIKISCRIPTSYNC_PAGE", "User:You/hello.js")
        .env("WIKISCRIPTSYNC_BOT_USER", "You@publisher")
        .env("WIKISCRIPTSYNC_BOT_PASSWORD", "examplePassw0rd");
    command
}

async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_says_where_it_records_and_overwrites_an_on_wiki_change_only_when_told() {
    let (wiki, github) = fakes().await;
    let dir = tempfile::tempdir().unwrap();
    let first = run_example(&wiki, &github, dir.path(), &[]).await;
    assert!(first.status.success(), "{first:?}");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("recording the attempt in sqlite:") && stderr.contains("example.sqlite3"),
        "{stderr}"
    );
    // Someone edits the page on the wiki, then the file changes in the repository.
    wiki.edit_as(
        "User:You/hello.js",
        "mw.log('by hand');",
        "Other",
        "hand edit",
    );
    github.commit(
        "you/gadgets",
        "main",
        [("src/hello.js", Some("mw.log('hello again');\n"))],
    );
    let refused = run_example(&wiki, &github, dir.path(), &[]).await;
    assert!(!refused.status.success(), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--overwrite"), "{said}");
    assert_eq!(
        wiki.page_text("User:You/hello.js").unwrap(),
        "mw.log('by hand');"
    );
    let overwritten = run_example(&wiki, &github, dir.path(), &["--overwrite"]).await;
    assert!(overwritten.status.success(), "{overwritten:?}");
    assert_eq!(
        wiki.page_text("User:You/hello.js").unwrap(),
        "mw.log('hello again');"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_log_the_example_publishes_without_a_database_and_says_the_drift_guard_is_off() {
    let (wiki, github) = fakes().await;
    // No database URL: a store would be opened at the default `data/…` below this directory.
    let dir = tempfile::tempdir().unwrap();
    let no_log = |extra: &[&str]| {
        let mut command = example_command(&wiki, &github, extra);
        command.arg("--no-log").current_dir(dir.path());
        command
    };

    let first = output(no_log(&[])).await;
    assert!(first.status.success(), "{first:?}");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr),
    );
    assert!(stdout.contains("created User:You/hello.js"), "{stdout}");
    assert!(stdout.contains("drift guard: off"), "{stdout}");
    assert!(stdout.contains("requests: forge 3, wiki 4"), "{stdout}");
    assert!(stderr.contains("recording nothing"), "{stderr}");
    assert!(!stderr.contains("recording the attempt in"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "no database may be created"
    );
    let published = wiki.page("User:You/hello.js").unwrap().latest().unwrap().id;

    // An on-wiki change, then a new version of the file.
    wiki.edit_as(
        "User:You/hello.js",
        "mw.log('by hand');",
        "Other",
        "hand edit",
    );
    github.commit(
        "you/gadgets",
        "main",
        [("src/hello.js", Some("mw.log('hello again');\n"))],
    );
    // Told which revision it last published, the example refuses to replace the change.
    let mut guarded = no_log(&[]);
    guarded.env("WIKISCRIPTSYNC_EXPECTED_REVISION", published.to_string());
    let refused = output(guarded).await;
    assert!(!refused.status.success(), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--overwrite"), "{said}");
    assert_eq!(
        wiki.page_text("User:You/hello.js").unwrap(),
        "mw.log('by hand');"
    );
    // Not told, it remembers nothing and replaces it, saying so.
    let replaced = output(no_log(&[])).await;
    assert!(replaced.status.success(), "{replaced:?}");
    let stdout = String::from_utf8_lossy(&replaced.stdout);
    assert!(stdout.contains("no drift memory"), "{stdout}");
    assert_eq!(
        wiki.page_text("User:You/hello.js").unwrap(),
        "mw.log('hello again');"
    );
    assert!(
        !dir.path().join("data").exists(),
        "no database may be created"
    );
}
