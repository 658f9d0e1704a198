//! Publish one file from a GitHub or GitLab repository to one wiki page, using the crates
//! directly — the same path the `wikiscriptsync publish` command and the web app take.
//!
//! ```text
//! export WIKISCRIPTSYNC_CONTACT=https://example.org/you      # goes into the User-Agent
//! export WIKISCRIPTSYNC_WIKI=test.wikipedia.org
//! export WIKISCRIPTSYNC_PAGE='User:You/hello.js'
//! export WIKISCRIPTSYNC_BOT_USER='You@publisher'             # from Special:BotPasswords
//! export WIKISCRIPTSYNC_BOT_PASSWORD='the generated password'
//! cargo run -p wikiscriptsync-examples --example publish_one_file -- \
//!     https://github.com/you/gadgets main src/hello.js [--dry-run] [--overwrite] [--no-log]
//! ```
//!
//! - `--dry-run` shows the diff and edits nothing; `--overwrite` publishes over an on-wiki
//!   change made since your last publish (without it such a change is shown and refused).
//! - `--no-log` publishes without any database: nothing is recorded, and with nothing
//!   remembered there is no drift guard, so an on-wiki change since your last publish is
//!   replaced (the example says so). Give `WIKISCRIPTSYNC_EXPECTED_REVISION=<the revision
//!   your last publish made>` to have such a change refused anyway. This is the store-less
//!   `StandalonePublisher`, for tools that keep their own records.
//! - Only Wikimedia wikis are contacted unless you allow more: for your own test wiki add
//!   `export WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS=http://localhost:8080/w/api.php` (its API URL,
//!   or `host[:port]`) and set `WIKISCRIPTSYNC_WIKI` to that API URL.
//! - A GitHub stand-in or GitHub Enterprise: `export WIKISCRIPTSYNC_GITHUB_API_URL=<its API URL>`;
//!   a GitLab instance other than gitlab.com and gitlab.wikimedia.org:
//!   `WIKISCRIPTSYNC_GITLAB_INSTANCES` (see `.env.example`).
//! - The repository, branch and path can also come from `WIKISCRIPTSYNC_REPO`,
//!   `WIKISCRIPTSYNC_BRANCH` and `WIKISCRIPTSYNC_FILE`.
//! - Without `--no-log`, every attempt is recorded in the database named by
//!   `WIKISCRIPTSYNC_DATABASE_URL` (default: `data/wikiscriptsync.sqlite3` below the current
//!   directory, created on first use; the example says which it uses). That log is what lets
//!   the next publish tell an on-wiki change from your own last publish.

use std::sync::Arc;

use anyhow::Context as _;
use wikiscriptsync_core::mw::{BotPassword, SecretString};
use wikiscriptsync_core::publish::{
    AdHocPublish, Credentials, DriftMemory, PublishFailure, PublishOptions, PublishReport,
    PublishSource, Publisher, SourceRevision, StandalonePublish, StandalonePublisher,
};
use wikiscriptsync_core::settings::Settings;
use wikiscriptsync_core::setup;
use wikiscriptsync_core::store::MigrationPolicy;

/// An argument by position, else an environment variable.
fn arg_or_env(args: &[String], position: usize, var: &str) -> anyhow::Result<String> {
    args.get(position)
        .cloned()
        .or_else(|| std::env::var(var).ok())
        .with_context(|| format!("give argument {} or set {var}", position + 1))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = ["--dry-run", "--overwrite", "--no-log"];
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !flags.contains(&a.as_str()))
        .collect();
    let flag = |name: &str| std::env::args().any(|a| a == name);
    let options = PublishOptions {
        dry_run: flag("--dry-run"),
        overwrite_drift: flag("--overwrite"),
    };
    let repo_url = arg_or_env(&args, 0, "WIKISCRIPTSYNC_REPO")?;
    let branch = arg_or_env(&args, 1, "WIKISCRIPTSYNC_BRANCH")?;
    let path = arg_or_env(&args, 2, "WIKISCRIPTSYNC_FILE")?;
    let env = |var: &str| std::env::var(var).with_context(|| format!("set {var}"));

    // 1. The wiki and forge clients, configured from the settings read once from the
    //    environment (only Wikimedia wikis and WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS may be
    //    contacted).
    let settings = Settings::from_env()?;
    let wiki = Arc::new(setup::wiki_client(&settings, true)?);
    let forges = Arc::new(setup::forges(&settings)?);

    // 2. The BotPassword. It stays a SecretString (never printed, wiped when dropped). We pass
    //    it directly, so no stored credential (and no vault) is needed.
    let bot_user = env("WIKISCRIPTSYNC_BOT_USER")?;
    let password = SecretString::from(env("WIKISCRIPTSYNC_BOT_PASSWORD")?);
    let credentials = BotPassword::new(bot_user.clone(), password);

    // 3. What to publish, and where. A branch is resolved to its current commit, and the
    //    file's bytes are checked against the commit's blob SHA before anything is sent.
    let source = PublishSource::Repository {
        repo: Box::new(forges.parse_repo_url(&repo_url)?),
        revision: SourceRevision::Branch(branch),
        path,
        expected_blob: None,
    };
    let (wiki_name, page) = (env("WIKISCRIPTSYNC_WIKI")?, env("WIKISCRIPTSYNC_PAGE")?);

    // 4. Publish. The publisher logs in, checks rights and the page's current revision,
    //    refuses to overwrite an on-wiki edit it knows of, skips the edit if nothing changes,
    //    and sends the edit based on the revision it saw, so a change made meanwhile is
    //    never lost.
    let result = if flag("--no-log") {
        // 4a. Without a database: nothing recorded, no lock, and the drift guard only when
        //     told which revision you last published.
        let expected_revision = match std::env::var("WIKISCRIPTSYNC_EXPECTED_REVISION") {
            Ok(revision) => Some(revision.parse().with_context(|| {
                format!(
                    "WIKISCRIPTSYNC_EXPECTED_REVISION must be a revision number, not {revision:?}"
                )
            })?),
            Err(_) => None,
        };
        eprintln!("--no-log: recording nothing (no database)");
        let request = StandalonePublish {
            source,
            wiki: wiki_name,
            page,
            credentials,
            allow_create: true,
            banner: false,
            expected_revision,
        };
        StandalonePublisher::new(wiki, forges)
            .publish(request, options)
            .await
    } else {
        // 4b. With the database that holds the publish lock and the publish log. Who is
        //     publishing: a local user named after the bot account. Their lock stops two
        //     publishes from running at once; their log remembers what was published, which
        //     is the drift guard's memory.
        let database = setup::database_url(&settings)?;
        eprintln!("recording the attempt in {}", database.redacted());
        let store = setup::open_store(&database, MigrationPolicy::Apply).await?;
        let user = setup::cli_user(store.as_ref(), &bot_user).await?;
        let request = AdHocPublish {
            user: user.id,
            source,
            wiki: wiki_name,
            page,
            credentials: Credentials::Given(credentials),
            allow_create: true,
            banner: false,
        };
        Publisher::new(wiki, forges, store, None)
            .publish(request, options)
            .await
    };
    show(result)
}

/// Prints what happened, or fails with what to do.
fn show(result: Result<PublishReport, PublishFailure>) -> anyhow::Result<()> {
    match result {
        Ok(report) => {
            println!("{}", report.message);
            if let Some(link) = &report.diff_url {
                println!("diff: {link}");
            }
            if report.dry_run {
                print!("{}", report.diff);
            }
            if report.drift_memory == DriftMemory::Off {
                println!(
                    "drift guard: off (--no-log remembers nothing; set \
                     WIKISCRIPTSYNC_EXPECTED_REVISION to the revision you last published)"
                );
            }
            println!(
                "requests: forge {}, wiki {}",
                report.requests.forge, report.requests.wiki
            );
            Ok(())
        }
        // The failure says which step stopped and what to do about it.
        Err(failure) if failure.error.code() == "drift" => anyhow::bail!(
            "{}\n(to overwrite it with this example, run it again with --overwrite)",
            failure.user_message()
        ),
        Err(failure) => anyhow::bail!("{}", failure.user_message()),
    }
}
