//! Runs the `publish_one_file` example (built by `cargo test` next to this test) against a fake
//! GitHub and a fake wiki, so the example stays honest: it really publishes, and says so.

use std::path::PathBuf;
use std::process::Command;

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
    let Some(binary) = example_binary() else {
        panic!(
            "the example was not built next to the tests; run `cargo test -p wikiscriptsync-examples`"
        );
    };
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
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary);
    command
        .args([&github.repo_url("you/gadgets"), "main", "src/hello.js"])
        .env_clear()
        .env("WIKISCRIPTSYNC_CONTACT", "https://example.org/example-test")
        .env("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS", wiki.host())
        .env("WIKISCRIPTSYNC_GITHUB_API_URL", github.uri())
        .env(
            "WIKISCRIPTSYNC_DATABASE_URL",
            format!("sqlite:{}", dir.path().join("example.sqlite3").display()),
        )
        .env("WIKISCRIPTSYNC_WIKI", wiki.api_url())
        .env("WIKISCRIPTSYNC_PAGE", "User:You/hello.js")
        .env("WIKISCRIPTSYNC_BOT_USER", "You@publisher")
        .env("WIKISCRIPTSYNC_BOT_PASSWORD", "examplePassw0rd");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
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
