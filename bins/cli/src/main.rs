//! `wikiscriptsync`: the command-line face of WikiScriptSync.
//!
//! Thin by design: it parses arguments, reads configuration and calls into
//! `wikiscriptsync-core`; the exit code says what happened, by one rule for every command
//! ([`EXIT_CODES`]: 0 done, 1 failed while running, 2 bad arguments or configuration,
//! 3 refused).

mod checks;
mod manage;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{ArgGroup, Args, Parser, Subcommand};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use wikiscriptsync_core::app::operations::migrate_database;
use wikiscriptsync_core::app::{App, Field, UseCaseError};
use wikiscriptsync_core::forge::CommitSha;
use wikiscriptsync_core::mw::BotPassword;
use wikiscriptsync_core::publish::{
    AdHocPublish, Credentials, FailureClass, PublishError, PublishFailure, PublishOptions,
    PublishOutcome, PublishReport, PublishSource, RequestCounts, SourceRevision,
};
use wikiscriptsync_core::settings::{Settings, vars};
use wikiscriptsync_core::setup::{self, DATABASE_URL_ENV};
use wikiscriptsync_core::vault::{Vault, VaultError};

/// The publish command's help after the options: exit codes, where the password comes from,
/// the variables it reads (from the one list in core) and examples.
fn publish_help() -> String {
    format!(
        "{PUBLISH_EXIT_CODES}\n\n{}\nThe CLI records its attempts as the local user `cli:<User>` (the part of \
         --bot-user before @).\n\n{PUBLISH_EXAMPLES}",
        vars::env_help(vars::Reader::Publish)
    )
}

/// The exit-code rule of every command, shown by `wikiscriptsync --help`.
const EXIT_CODES: &str = "\
Exit codes (the same rule for every command):
  0  done (publish: published, or the page already had the file's text)
  1  failed while running: a network, wiki, forge or database failure, a publish whose
     login failed, a stored BotPassword that cannot be decrypted or was not saved for this
     user and wiki
  2  bad arguments or configuration: a refused or missing flag or argument (the message
     names it; refused before any request), an unknown id, a BotPassword whose check login
     failed when saving it, an unusable variable such as a missing or malformed
     CREDENTIAL_ENCRYPTION_KEY or a missing WIKISCRIPTSYNC_CONTACT
  3  refused by a check: the page changed on-wiki since your last publish (drift), an edit
     conflict, a missing right (publish, map publish, credential verify)";

const PUBLISH_EXIT_CODES: &str = "\
Exit codes:
  0  published, or the page already had the file's text (no change); a dry run that ran
  1  any other error (network, login, forge, database, configuration), and any attempt whose
     record (publish log row, lock release) could not be written, even when the edit landed
  2  usage or configuration error (bad or missing arguments, no password available,
     WIKISCRIPTSYNC_CONTACT missing, a malformed variable such as CREDENTIAL_ENCRYPTION_KEY)
  3  refused: the page changed on-wiki since your last publish (drift), an edit conflict,
     a missing right, a missing page without --create, a protected page or a block; also
     an edit MediaWiki merged into on-wiki changes made while publishing (outcome `merged`:
     the page holds them as well as the file; the merged change is shown)
  130/143  stopped by SIGINT/SIGTERM: the running publish was let finish and recorded first

Password: from the variable named by --password-env, or typed at a prompt (no echo). It is
never accepted as a flag value. Without a terminal and without --password-env the command
stops with exit code 2.";

const PUBLISH_EXAMPLES: &str = "\
Examples:
  # Preview what would change, then publish
  wikiscriptsync publish --repo https://github.com/octo/gadgets --branch main \\
      --file src/Gadget-hello.js --wiki en.wikipedia.org --page MediaWiki:Gadget-hello.js \\
      --bot-user Octo@publisher --dry-run
  BOT_PASSWORD=... wikiscriptsync publish --repo https://github.com/octo/gadgets \\
      --branch main --file src/Gadget-hello.js --wiki en.wikipedia.org \\
      --page MediaWiki:Gadget-hello.js --bot-user Octo@publisher --password-env BOT_PASSWORD

  # From CI, a file the job built, with machine-readable output and request counts
  wikiscriptsync publish --from-file dist/gadget.js --wiki test.wikipedia.org \\
      --page User:Octo/gadget.js --bot-user Octo@ci --password-env BOT_PASSWORD --json --stats";

/// The settings, read from the environment on first use and kept for the process (commands
/// that need no configuration, such as `generate-key`, never read them).
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// The settings (see [`SETTINGS`]); unusable variables are a usage error (exit code 2).
pub(crate) fn settings() -> Result<&'static Settings, Failure> {
    if let Some(settings) = SETTINGS.get() {
        return Ok(settings);
    }
    let settings = Settings::from_env().map_err(|err| Failure::Usage(err.to_string()))?;
    Ok(SETTINGS.get_or_init(|| settings))
}

/// Keep gadget and user-script pages in step with the Git repositories they are developed in.
#[derive(Debug, Parser)]
#[command(name = "wikiscriptsync", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Publish one file to one wiki page (or preview it with --dry-run).
    ///
    /// In order: take your publish lock, fetch the file at the commit and verify its blob SHA,
    /// log in with your BotPassword, check rights and the page's current revision, refuse if
    /// the page changed on-wiki since your last publish (unless --overwrite-drift), skip if
    /// nothing changes, edit, and record the attempt in the publish log.
    #[command(after_help = publish_help())]
    Publish(Box<PublishArgs>),
    /// Create or update the database schema and say what was done.
    Migrate,
    /// Re-encrypt every stored BotPassword with the newest key in CREDENTIAL_ENCRYPTION_KEY,
    /// so older keys (listed after it) can be removed.
    RotateCredentials {
        /// Only count what would be re-encrypted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print a new key for CREDENTIAL_ENCRYPTION_KEY.
    ///
    /// Stored BotPasswords are encrypted with it (Fernet). To rotate, put the new key first and
    /// keep the old one after a comma until `rotate-credentials` has re-encrypted everything.
    GenerateKey,
    #[command(flatten)]
    Checks(checks::CheckCommand),
    #[command(flatten)]
    Manage(manage::ManageCommand),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["repo", "from_file"])))]
struct PublishArgs {
    /// The repository's URL (GitHub or GitLab).
    #[arg(long, value_name = "URL", requires = "file")]
    repo: Option<String>,
    /// The branch to publish from (its current head is resolved to a commit).
    #[arg(long, value_name = "B", requires = "repo", conflicts_with = "commit")]
    branch: Option<String>,
    /// The exact commit to publish from, instead of a branch.
    #[arg(long, value_name = "SHA", requires = "repo")]
    commit: Option<String>,
    /// The file's path in the repository.
    #[arg(long, value_name = "PATH", requires = "repo")]
    file: Option<String>,
    /// Publish a local file instead (e.g. one a CI job built).
    #[arg(long, value_name = "LOCAL", conflicts_with_all = ["repo", "branch", "commit", "file"])]
    from_file: Option<PathBuf>,
    /// The wiki: a host such as en.wikipedia.org, or an api.php URL.
    #[arg(long, value_name = "HOST")]
    wiki: String,
    /// The page title, e.g. MediaWiki:Gadget-foo.js or User:You/common.js.
    #[arg(long, value_name = "TITLE")]
    page: String,
    /// The BotPassword login name, as shown on Special:BotPasswords.
    #[arg(long, value_name = "User@BotName")]
    bot_user: String,
    /// Read the BotPassword from this environment variable (otherwise: a prompt).
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Refused on purpose: a password on the command line leaks into shell history and the
    /// process list.
    #[arg(long, hide = true, value_name = "PASSWORD")]
    password: Option<String>,
    /// Show the diff and what would happen; edit nothing.
    #[arg(long)]
    dry_run: bool,
    /// Allow creating the page if it does not exist.
    #[arg(long)]
    create: bool,
    /// Publish even though the page changed on-wiki since your last publish.
    #[arg(long)]
    overwrite_drift: bool,
    /// Put a "published from" comment at the top of the page (not for JSON pages).
    #[arg(long)]
    banner: bool,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Print how many requests went to the forge and to the wiki.
    #[arg(long)]
    stats: bool,
}

/// How the command ended; the discriminant is the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Ok = 0,
    Other = 1,
    Usage = 2,
    Refused = 3,
    /// Stopped by SIGINT (128 + 2): after the running publish finished and was recorded, or a
    /// check run cut short with its claims given back.
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15), as [`Exit::Interrupted`].
    Terminated = 143,
}

/// A failure before or around the publish itself.
#[derive(Debug)]
pub(crate) enum Failure {
    Usage(String),
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self::Other(error.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Point a usage error at the help of the command that was run (the CLI has no global
    // options, so the first plain argument is the subcommand).
    let help = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map_or_else(
            || "wikiscriptsync --help".to_owned(),
            |c| format!("wikiscriptsync {c} --help"),
        );
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(Exit::Other as u8);
        }
    };
    let exit = match runtime.block_on(run(cli)) {
        Ok(exit) => exit,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}\n\nRun `{help}` for usage.");
            Exit::Usage
        }
        Err(Failure::Other(error)) => {
            eprintln!("error: {error:#}");
            Exit::Other
        }
    };
    ExitCode::from(exit as u8)
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn run(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Publish(args) => publish(*args, settings()?).await,
        Command::Migrate => migrate(settings()?).await,
        Command::RotateCredentials { dry_run } => rotate(dry_run, settings()?).await,
        Command::GenerateKey => {
            println!("{}", Vault::generate_key().expose_secret());
            Ok(Exit::Ok)
        }
        Command::Checks(command) => checks::run(command, settings()?).await,
        Command::Manage(command) => manage::run(command, settings()?).await,
    }
}

async fn publish(args: PublishArgs, settings: &Settings) -> Result<Exit, Failure> {
    if args.password.is_some() {
        return Err(Failure::Usage(
            "a password is never accepted on the command line (it would leak into shell history \
             and the process list); put it in an environment variable and pass its name with \
             --password-env VAR, or leave both out to be prompted"
                .to_owned(),
        ));
    }
    let login = wikiscriptsync_core::app::parse_bot_login(&args.bot_user)
        .map_err(|e| Failure::Usage(format!("--bot-user: {e}")))?;
    let password = manage::read_password(args.password_env.as_deref(), &login)?;
    let app = manage::open_app(settings, true).await?;
    let source = match publish_source(&args, &app) {
        Ok(source) => source,
        Err(failure) => {
            app.close().await;
            return Err(failure);
        }
    };
    let credentials = BotPassword::new(login, password);
    // The CLI records its attempts as the local user `cli:<User>` (the bot's account).
    let user = app.cli_user(credentials.user_name(), true).await;
    let user = match user {
        Ok(user) => user,
        Err(err) => {
            app.close().await;
            return Err(Failure::Other(err.into()));
        }
    };
    let request = AdHocPublish {
        user: user.id,
        source,
        wiki: args.wiki.clone(),
        page: args.page.clone(),
        credentials: Credentials::Given(credentials),
        allow_create: args.create,
        banner: args.banner,
    };
    let options = PublishOptions {
        dry_run: args.dry_run,
        overwrite_drift: args.overwrite_drift,
    };
    let (result, stopped) = finish_despite_signal(app.publish_ad_hoc(request, options)).await;
    app.close().await;
    // A refused input is a usage error naming its flag (exit 2), as in every other command.
    let result = result.map_err(|e| {
        let flag = match e.field() {
            Some(Field::Wiki) => "--wiki",
            Some(Field::Title) => "--page",
            Some(Field::Branch) => "--branch",
            Some(Field::Paths) => "--file",
            Some(Field::Url) => "--repo",
            Some(Field::BotUser) => "--bot-user",
            Some(Field::Password) => "--password-env",
            _ => "input",
        };
        manage::refusal(flag, e)
    })?;
    let exit = print_result(&args, &result);
    Ok(stopped.unwrap_or(exit))
}

/// Runs a publish to its end even when SIGINT or SIGTERM comes: the edit may be in flight, and
/// its result must be recorded (and the lock released) before the process ends. Returns the
/// exit code of the signal, if one came, for the caller to end with (non-zero).
pub(crate) async fn finish_despite_signal<F: std::future::Future>(
    publishing: F,
) -> (F::Output, Option<Exit>) {
    tokio::pin!(publishing);
    tokio::select! {
        result = &mut publishing => (result, None),
        signal = stop_signal() => {
            eprintln!("stopping: letting the running publish finish and record its result first");
            (publishing.await, Some(signal))
        }
    }
}

/// Completes on SIGINT or, on Unix, SIGTERM, with the exit code a shell reports for it.
async fn stop_signal() -> Exit {
    match wikiscriptsync_core::jobs::stop_signal().await {
        wikiscriptsync_core::jobs::StopSignal::Interrupt => Exit::Interrupted,
        wikiscriptsync_core::jobs::StopSignal::Terminate => Exit::Terminated,
    }
}

fn publish_source(args: &PublishArgs, app: &App) -> Result<PublishSource, Failure> {
    if let Some(path) = &args.from_file {
        return Ok(PublishSource::LocalFile { path: path.clone() });
    }
    let (Some(url), Some(file)) = (&args.repo, &args.file) else {
        return Err(Failure::Usage(
            "give --repo URL with --file PATH, or --from-file LOCAL".to_owned(),
        ));
    };
    let repo = app
        .parse_repository_url(url)
        .map_err(|err| Failure::Usage(format!("--repo: {err}")))?;
    let revision = match (&args.commit, &args.branch, &repo.branch) {
        (Some(sha), _, _) => SourceRevision::Commit(
            CommitSha::parse(sha).map_err(|err| Failure::Usage(format!("--commit: {err}")))?,
        ),
        (None, Some(branch), _) | (None, None, Some(branch)) => {
            SourceRevision::Branch(branch.clone())
        }
        (None, None, None) => {
            return Err(Failure::Usage(
                "say which revision to publish: --branch B or --commit SHA".to_owned(),
            ));
        }
    };
    Ok(PublishSource::Repository {
        repo: Box::new(repo),
        revision,
        path: file.trim_start_matches('/').to_owned(),
        expected_blob: None,
    })
}

pub(crate) fn config_failure(error: setup::SetupError) -> Failure {
    match error {
        setup::SetupError::MissingContact
        | setup::SetupError::Wiki(_)
        | setup::SetupError::Forge(_) => Failure::Usage(error.to_string()),
        other => Failure::Other(other.into()),
    }
}

/// A missing or malformed CREDENTIAL_ENCRYPTION_KEY is a configuration mistake (exit 2, as in
/// every command); the message says how to make a key.
fn key_failure(error: &VaultError) -> Failure {
    if error.is_configuration() {
        Failure::Usage(error.to_string())
    } else {
        Failure::Other(anyhow::anyhow!("{error}"))
    }
}

pub(crate) fn database_context() -> String {
    format!(
        "opening the database ({DATABASE_URL_ENV}, default {})",
        setup::DEFAULT_DATABASE_URL
    )
}

/// Prints the result (text or JSON) and chooses the exit code.
fn print_result(args: &PublishArgs, result: &Result<PublishReport, PublishFailure>) -> Exit {
    // The same words as the web app's result page, from core.
    let unrecorded = match result {
        Ok(report) => report.unrecorded_warning(),
        Err(failure) => failure.unrecorded_warning(),
    };
    let exit = match result {
        // What happened is not (fully) on record: never a success.
        _ if unrecorded.is_some() => Exit::Other,
        // The edit landed, merged into on-wiki changes made meanwhile: drift, not a success.
        Ok(report) if matches!(report.outcome, PublishOutcome::Merged { .. }) => Exit::Refused,
        Ok(_) => Exit::Ok,
        Err(failure) if failure.class() == FailureClass::Refused => Exit::Refused,
        Err(_) => Exit::Other,
    };
    if let Some(warning) = unrecorded {
        eprintln!("error: {warning}");
    }
    if args.json {
        println!("{}", result_json(result));
        return exit;
    }
    match result {
        Ok(report) => {
            println!("{}", report.message);
            if let Some(link) = &report.diff_url {
                println!("diff: {link}");
            }
            if report.dry_run && !report.diff.is_empty() {
                print!("{}", report.diff);
            }
            if let (PublishOutcome::Merged { .. }, Some(merged)) = (&report.outcome, &report.drift)
            {
                eprintln!("the on-wiki change MediaWiki merged this publish into:\n{merged}");
            }
            if args.stats {
                print_stats(report.requests);
            }
        }
        Err(failure) => {
            eprintln!("error: {}", failure.user_message());
            if let PublishError::Drift { diff, .. } = &failure.error {
                eprintln!("on-wiki change since your last publish:\n{diff}");
            }
            if args.stats {
                print_stats(failure.requests);
            }
        }
    }
    exit
}

fn print_stats(requests: RequestCounts) {
    println!(
        "requests: forge {}, wiki {} (total {})",
        requests.forge,
        requests.wiki,
        requests.forge + requests.wiki
    );
}

fn result_json(result: &Result<PublishReport, PublishFailure>) -> Value {
    match result {
        Ok(report) => json!({
            "ok": true,
            "outcome": report.outcome.as_str(),
            "dry_run": report.dry_run,
            "message": report.message,
            "wiki": report.target.wiki,
            "page": report.target.page,
            "repo_url": report.target.repo_url,
            "path": report.target.path,
            "commit": report.target.commit,
            "blob_sha": report.target.blob_sha,
            "base_revision": report.target.base_revision,
            "new_revision": report.new_revision(),
            "diff_url": report.diff_url,
            "diff": report.diff,
            "drift": report.drift,
            "overwrote_drift": report.overwrote_drift,
            "record_error": report.record_error,
            "requests": { "forge": report.requests.forge, "wiki": report.requests.wiki },
        }),
        Err(failure) => json!({
            "ok": false,
            "outcome": match failure.class() {
                FailureClass::Refused => "refused",
                FailureClass::Busy => "busy",
                FailureClass::Other => "failed",
            },
            "dry_run": failure.dry_run,
            "message": failure.user_message(),
            "error": {
                "code": failure.error.code(),
                "step": failure.step.as_str(),
                "step_number": failure.step.number(),
            },
            "diff": match &failure.error {
                PublishError::Drift { diff, .. } => Some(diff.as_str()),
                _ => None,
            },
            "wiki": failure.target.wiki,
            "page": failure.target.page,
            "commit": failure.target.commit,
            "blob_sha": failure.target.blob_sha,
            "base_revision": failure.target.base_revision,
            "record_error": failure.record_error,
            "requests": { "forge": failure.requests.forge, "wiki": failure.requests.wiki },
        }),
    }
}

async fn migrate(settings: &Settings) -> Result<Exit, Failure> {
    let url = setup::database_url(settings).map_err(config_failure)?;
    println!("database: {}", url.redacted());
    let outcome = migrate_database(&url)
        .await
        .map_err(|err| Failure::Other(anyhow::Error::new(err).context(database_context())))?;
    let version = outcome
        .report
        .current
        .map_or_else(|| "none".to_owned(), |v| v.to_string());
    if outcome.applied == 0 {
        println!("schema already current (version {version}); nothing to do");
    } else {
        println!(
            "applied {} migration(s); schema now at version {version}",
            outcome.applied
        );
    }
    Ok(Exit::Ok)
}

async fn rotate(dry_run: bool, settings: &Settings) -> Result<Exit, Failure> {
    settings.vault().map_err(|e| key_failure(&e))?;
    let app = manage::open_app(settings, false).await?;
    let report = app.rotate_credentials(dry_run).await;
    app.close().await;
    let report = report.map_err(|e| match e {
        UseCaseError::Vault(e) => key_failure(&e),
        other => Failure::Other(other.into()),
    })?;
    let verb = if dry_run {
        "would re-encrypt"
    } else {
        "re-encrypted"
    };
    println!(
        "{} stored BotPassword(s): {verb} {}, already on the newest key {}, undecryptable {}, \
         changed meanwhile {}, sealed for another user or wiki {}",
        report.total,
        report.reencrypted,
        report.current,
        report.undecryptable,
        report.changed_meanwhile,
        report.wrong_owner
    );
    if report.undecryptable > 0 {
        eprintln!(
            "warning: {} BotPassword(s) cannot be decrypted with any configured key; keep the \
             old key until their owners save them again",
            report.undecryptable
        );
        return Ok(Exit::Other);
    }
    if report.wrong_owner > 0 {
        eprintln!(
            "warning: {} BotPassword(s) are sealed for another user or wiki than the database \
             row that holds them (the row was altered); they are never used: their owners must \
             save them again",
            report.wrong_owner
        );
        return Ok(Exit::Other);
    }
    if report.old_keys_retirable() && app.vault_key_count() > 1 {
        println!("every stored BotPassword is on the newest key: the older keys can be removed");
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_publish_without_a_source_is_a_usage_error() {
        let err = Cli::try_parse_from([
            "wikiscriptsync",
            "publish",
            "--wiki",
            "en.wikipedia.org",
            "--page",
            "User:X/a.js",
            "--bot-user",
            "X@y",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
