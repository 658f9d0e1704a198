//! The maintainer's journey's key steps through the `wikiscriptsync` binary, as an operator or a
//! CI job runs it, against a real MediaWiki and a fake GitHub: `repo add`, `watch add`,
//! `repo check`, `map add --monitor`, `credential set` (one check login), `map preview`,
//! `map publish`, an on-wiki edit seen by `check-wiki-updates`, `map publish` refused for drift
//! (exit 3) and `map publish --overwrite-drift` (exit 0).
//!
//! Runs when `WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL` is set (see `scripts/mediawiki-test-server`);
//! prints "skipped" otherwise, and fails under CI.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::{RealWiki, cli_binary, marker};
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::{EditOutcome, EditRequest, Title};

const REPO: &str = "octo/cli-journey";
const PATH: &str = "src/Gadget-cli.js";

struct Cli {
    dir: tempfile::TempDir,
    github: FakeGitHub,
    wiki: RealWiki,
    key: String,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(cli_binary());
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WIKISCRIPTSYNC_CONTACT", "https://example.org/cli-journey")
            .env("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS", &self.wiki.hosts)
            .env("WIKISCRIPTSYNC_GITHUB_API_URL", self.github.uri())
            .env("CREDENTIAL_ENCRYPTION_KEY", &self.key)
            .env("ADMIN_BOT_PASSWORD", &self.wiki.admin.1)
            .env("WIKISCRIPTSYNC_NOTIFY_BOT_USER", &self.wiki.notifier.0)
            .env("WIKISCRIPTSYNC_NOTIFY_BOT_PASSWORD", &self.wiki.notifier.1);
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().expect("run wikiscriptsync"))
            .await
            .unwrap()
    }

    /// Runs a command that must exit with `code` and print JSON.
    async fn json(&self, code: i32, args: &[&str]) -> Value {
        let out = self.run(args).await;
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_tracks_previews_publishes_and_refuses_drift_until_told() {
    let Some(wiki) = RealWiki::from_env("CLI journey") else {
        return;
    };
    let run = marker();
    let page = format!("MediaWiki:Gadget-cli-{run}.js");
    let github = FakeGitHub::start().await;
    github.add_repo(REPO, [(PATH, format!("// cli {run} v1\n"))]);
    let mut cli = Cli {
        dir: tempfile::tempdir().unwrap(),
        github,
        wiki,
        key: String::new(),
    };
    let key = cli.run(&["generate-key"]).await;
    cli.key = String::from_utf8_lossy(&key.stdout).trim().to_owned();
    let url = cli.github.repo_url(REPO);
    let api = cli.wiki.api.clone();
    fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [args, &["--user", "Alice", "--json"]].concat()
    }

    let repo = cli.json(0, &with(&["repo", "add", &url])).await;
    let repo_id = repo["id"].to_string();
    let watched = cli
        .json(0, &with(&["watch", "add", "--repo", &repo_id, PATH]))
        .await;
    let file_id = watched["added"][0]["id"].to_string();
    assert_eq!(
        watched["check"], "first",
        "watching checks at once: {watched}"
    );
    let checked = cli.json(0, &with(&["repo", "check", &repo_id])).await;
    assert_eq!(checked["outcome"], "unchanged", "{checked}");
    let mapping = cli
        .json(
            0,
            &with(&[
                "map",
                "add",
                "--file",
                &file_id,
                "--wiki",
                &api,
                "--page",
                &page,
                "--allow-create",
                "--monitor",
            ]),
        )
        .await;
    let mapping_id = mapping["id"].to_string();
    let saved = cli
        .json(
            0,
            &with(&[
                "credential",
                "set",
                "--wiki",
                &api,
                "--bot-user",
                &cli.wiki.admin.0,
                "--password-env",
                "ADMIN_BOT_PASSWORD",
            ]),
        )
        .await;
    assert_eq!(saved["sufficient"], true, "{saved}");

    let preview = cli.json(0, &with(&["map", "preview", &mapping_id])).await;
    assert_eq!(preview["creates"], true, "{preview}");
    let published = cli.json(0, &with(&["map", "publish", &mapping_id])).await;
    assert_eq!(published["outcome"], "created", "{published}");
    let first = published["new_revision"].as_u64().unwrap();

    // An on-wiki edit: the page check reports it, and publishing is refused (exit 3).
    let admin = cli.wiki.admin_session().await;
    let title = Title::parse(&page).unwrap();
    let live = admin.page_text(&title, None).await.unwrap().unwrap();
    let mut hotfix = EditRequest::new(title.clone(), format!("{}// hotfix\n", live.text), "hotfix");
    hotfix.base_revision = Some(first);
    let EditOutcome::Updated { new_revision, .. } = admin.edit(&hotfix).await.unwrap() else {
        panic!("hotfix");
    };
    let pages = cli.json(0, &["check-wiki-updates", "--json"]).await;
    assert!(
        pages.to_string().contains(&page),
        "the edit is listed: {pages}"
    );
    let refused = cli.json(3, &with(&["map", "publish", &mapping_id])).await;
    assert_eq!(refused["error"]["code"], "drift", "{refused}");
    let live = admin.page_text(&title, None).await.unwrap().unwrap();
    assert_eq!(live.revision_id, new_revision, "nothing was edited");

    // A new version of the file, published over the hotfix on purpose.
    cli.github
        .commit(REPO, "main", [(PATH, Some(format!("// cli {run} v2\n")))]);
    let checked = cli.json(0, &with(&["repo", "check", &repo_id])).await;
    assert_eq!(checked["outcome"], "moved", "{checked}");
    let published = cli
        .json(
            0,
            &with(&["map", "publish", &mapping_id, "--overwrite-drift"]),
        )
        .await;
    assert_eq!(published["overwrote_drift"], true, "{published}");
    let live = admin.page_text(&title, None).await.unwrap().unwrap();
    assert_eq!(live.text.trim_end(), format!("// cli {run} v2"));
}
