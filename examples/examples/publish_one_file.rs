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
//!     https://github.com/you/gadgets main src/hello.js [--dry-run] [--overwrite]
//! ```
//!
//! - `--dry-run` shows the diff and edits nothing; `--overwrite` publishes over an on-wiki
//!   change made since your last publish (without it such a change is shown and refused).
//! - Only Wikimedia wikis are contacted unless you allow more: for your own test wiki add
//!   `export WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS=http://localhost:8080/w/api.php` (its API URL,
//!   or `host[:port]`) and set `WIKISCRIPTSYNC_WIKI` to that API URL.
//! - A GitHub stand-in or GitHub Enterprise: `export WIKISCRIPTSYNC_GITHUB_API_URL=<its API URL>`;
//!   a GitLab instance other than gitlab.com and gitlab.wikimedia.org:
//!   `WIKISCRIPTSYNC_GITLAB_INSTANCES` (see `.env.example`).
//! - The repository, branch and path can also come from `WIKISCRIPTSYNC_REPO`,
//!   `WIKISCRIPTSYNC_BRANCH` and `WIKISCRIPTSYNC_FILE`.
//! - Every attempt is recorded in the database named by `WIKISCRIPTSYNC_DATABASE_URL`
//!   (default: `data/wikiscriptsync.sqlite3` below the current directory, created on first
//!   use; the example says which it uses). That log is what lets the next publish tell an
//!   on-wiki change from your own last publish.

use std::sync::Arc;

use anyhow::Context as _;
use wikiscriptsync_core::mw::{BotPassword, SecretString};
use wikiscriptsync_core::publish::{
    AdHocPublish, Credentials, PublishOptions, PublishSource, Publisher, SourceRevision,
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
    let flags = ["--dry-run", "--overwrite"];
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !flags.contains(&a.as_str()))
        .collect();
    let dry_run = std::env::args().any(|a| a == "--dry-run");
    let overwrite = std::env::args().any(|a| a == "--overwrite");
    let repo_url = arg_or_env(&args, 0, "WIKISCRIPTSYNC_REPO")?;
    let branch = arg_or_env(&args, 1, "WIKISCRIPTSYNC_BRANCH")?;
    let path = arg_or_env(&args, 2, "WIKISCRIPTSYNC_FILE")?;
    let env = |var: &str| std::env::var(var).with_context(|| format!("set {var}"));

    // 1. The three clients, configured from the settings read once from the environment: the
    //    wiki (only Wikimedia wikis and WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS may be contacted), the
    //    forges, and the database that holds the publish lock and the publish log.
    let settings = Settings::from_env()?;
    let wiki = Arc::new(setup::wiki_client(&settings, true)?);
    let forges = Arc::new(setup::forges(&settings)?);
    let database = setup::database_url(&settings)?;
    eprintln!("recording the attempt in {}", database.redacted());
    let store = setup::open_store(&database, MigrationPolicy::Apply).await?;

    // 2. The BotPassword. It stays a SecretString (never printed, wiped when dropped). We pass
    //    it directly, so no stored credential (and no vault) is needed.
    let bot_user = env("WIKISCRIPTSYNC_BOT_USER")?;
    let password = SecretString::from(env("WIKISCRIPTSYNC_BOT_PASSWORD")?);

    // 3. Who is publishing: a local user named after the bot account. Their publish lock
    //    stops two publishes from running at once; their log remembers what was published.
    let user = setup::cli_user(store.as_ref(), &bot_user).await?;

    // 4. What to publish, and where. A branch is resolved to its current commit, and the
    //    file's bytes are checked against the commit's blob SHA before anything is sent.
    let request = AdHocPublish {
        user: user.id,
        source: PublishSource::Repository {
            repo: Box::new(forges.parse_repo_url(&repo_url)?),
            revision: SourceRevision::Branch(branch),
            path,
            expected_blob: None,
        },
        wiki: env("WIKISCRIPTSYNC_WIKI")?,
        page: env("WIKISCRIPTSYNC_PAGE")?,
        credentials: Credentials::Given(BotPassword::new(bot_user, password)),
        allow_create: true,
        banner: false,
    };

    // 5. Publish. The publisher logs in, checks rights and the page's current revision,
    //    refuses to overwrite an on-wiki edit made since your last publish, skips the edit if
    //    nothing changes, and records the attempt whatever happens.
    let publisher = Publisher::new(wiki, forges, store, None);
    let options = PublishOptions {
        dry_run,
        overwrite_drift: overwrite,
    };
    match publisher.publish(request, options).await {
        Ok(report) => {
            println!("{}", report.message);
            if let Some(link) = &report.diff_url {
                println!("diff: {link}");
            }
            if report.dry_run {
                print!("{}", report.diff);
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
