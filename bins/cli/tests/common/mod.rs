//! What the CLI's integration tests share: the `wikiscriptsync` binary started as a user would
//! start it against a fake wiki and a fake GitHub, and the `publish` arguments between them.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use wikiscriptsync_forge::testkit::FakeGitHub;
use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki};

/// The BotPassword of the fake accounts: distinctive, so a leak is easy to find.
pub const PASSWORD: &str = "cliBotPassw0rdQQ77zz31secretvalue";
/// The fake wiki's admin account.
pub const ADMIN: &str = "Admin@publisher";
/// The repository on the fake GitHub.
pub const REPO: &str = "octo/gadgets";
/// The file in it.
pub const PATH: &str = "src/Gadget-hello.js";
/// The target page.
pub const PAGE: &str = "MediaWiki:Gadget-hello.js";

/// The fakes a publish runs against, and the directory the binary runs in; each test file adds
/// the commands it needs in an `impl` of its own.
pub struct Fakes {
    pub wiki: FakeWiki,
    pub github: FakeGitHub,
    pub dir: tempfile::TempDir,
}

impl Fakes {
    /// A wiki where [`ADMIN`] has `admin_rights` and [`PAGE`] holds `// old`, and a GitHub
    /// where [`REPO`] holds `file` at [`PATH`].
    pub async fn with_page_and_file(admin_rights: &[&str], file: &str) -> Self {
        let wiki = FakeWiki::start().await;
        wiki.add_account(FakeAccount::new(ADMIN, PASSWORD).with_rights(admin_rights));
        wiki.add_page(PAGE, "// old\n");
        let github = FakeGitHub::start().await;
        github.add_repo(REPO, [(PATH, file)]);
        Self {
            wiki,
            github,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// [`wikiscriptsync`] with `args` against these fakes.
    pub fn binary(&self, args: &[&str]) -> Command {
        wikiscriptsync(self.dir.path(), &self.wiki, &self.github, args)
    }
}

/// The binary with `args`, run in `dir` with no environment but `PATH`, a contact and the
/// fakes' addresses (the wiki's host allowed, GitHub's API pointed at the fake); each test adds
/// what else its commands need.
pub fn wikiscriptsync(dir: &Path, wiki: &FakeWiki, github: &FakeGitHub, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wikiscriptsync"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WIKISCRIPTSYNC_CONTACT", "https://example.org/cli-tests")
        .env("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS", wiki.host())
        .env("WIKISCRIPTSYNC_GITHUB_API_URL", github.uri());
    command
}

/// `publish` of [`PATH`] on the fake repository's `main` to [`PAGE`] on the fake wiki as
/// `bot`, its password read from `BOT_PASSWORD`.
pub fn publish_args(wiki: &FakeWiki, github: &FakeGitHub, bot: &str) -> Vec<String> {
    [
        "publish",
        "--repo",
        &github.repo_url(REPO),
        "--branch",
        "main",
        "--file",
        PATH,
        "--wiki",
        &wiki.api_url(),
        "--page",
        PAGE,
        "--bot-user",
        bot,
        "--password-env",
        "BOT_PASSWORD",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Runs `command` to its end off the async runtime's threads.
pub async fn output_of(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run wikiscriptsync"))
        .await
        .unwrap()
}
