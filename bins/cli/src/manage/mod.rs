//! Managing what a user tracks from the command line (for operators, scripting and
//! single-user local use; the web app does the same for logged-in users): repositories,
//! watched files, file → page mappings and their publishing, monitored pages, BotPasswords and
//! notification preferences. Every command takes `--user NAME` and prints JSON with `--json`.
//!
//! Each command parses its arguments, calls one use case of `wikiscriptsync_core::app::App`
//! and prints the answer; the rules (what is valid, what a refusal says) live in core, shared
//! with the web app. A name that is not yet a user is created as the local user `cli:<NAME>` by
//! the commands that add or set something; listing and removing need an existing user.

mod credential;
mod map;
mod monitor;
mod prefs;
mod repo;
mod watch;

use std::sync::Arc;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use wikiscriptsync_core::app::{App, AppParts, Field, UseCaseError};
use wikiscriptsync_core::settings::Settings;
use wikiscriptsync_core::setup;
use wikiscriptsync_core::store::{MigrationPolicy, User};
use wikiscriptsync_core::vault::VaultError;

pub(crate) use credential::read_password;

use crate::{Exit, Failure};

/// Options every management command takes.
#[derive(Debug, Args)]
pub(crate) struct Who {
    /// The user (Wikimedia user name) whose data to manage.
    #[arg(long, value_name = "NAME")]
    user: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Management commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ManageCommand {
    /// Tracked repositories: add, list, check now, remove.
    #[command(subcommand)]
    Repo(repo::RepoCommand),
    /// Watched files of a repository: add, list, publish everywhere, remove.
    #[command(subcommand)]
    Watch(watch::WatchCommand),
    /// File → wiki page mappings: add, list, options, preview, publish, remove.
    #[command(subcommand)]
    Map(map::MapCommand),
    /// Monitored wiki pages: add, list, remove.
    #[command(subcommand)]
    Monitor(monitor::MonitorCommand),
    /// Stored BotPasswords (encrypted with CREDENTIAL_ENCRYPTION_KEY): set, verify, list,
    /// remove. Setting one always logs in once to check it.
    #[command(subcommand)]
    Credential(credential::CredentialCommand),
    /// Notification preferences: set, show.
    #[command(subcommand)]
    Prefs(prefs::PrefsCommand),
}

impl ManageCommand {
    /// Whether the command may send a request to a forge or a wiki (then the User-Agent
    /// contact is required, as for `publish`).
    fn sends_requests(&self) -> bool {
        match self {
            Self::Repo(c) => c.sends_requests(),
            Self::Watch(c) => c.sends_requests(),
            Self::Map(c) => c.sends_requests(),
            Self::Credential(c) => c.sends_requests(),
            Self::Monitor(_) | Self::Prefs(_) => false,
        }
    }
}

/// What a command prints: the JSON flag, the JSON value, the text, and the exit code.
pub(crate) struct Printed {
    json: bool,
    value: Value,
    text: String,
    exit: Exit,
}

impl Printed {
    /// A successful command's output.
    fn ok(who: &Who, value: Value, text: impl Into<String>) -> Self {
        Self {
            json: who.json,
            value,
            text: text.into(),
            exit: Exit::Ok,
        }
    }

    /// The same output with another exit code.
    fn exit(mut self, exit: Exit) -> Self {
        self.exit = exit;
        self
    }
}

/// The use cases over the database, wiki client, forges and vault the settings name.
/// Without `CREDENTIAL_ENCRYPTION_KEY` the commands that need a stored BotPassword refuse.
pub(crate) async fn open_app(settings: &Settings, sends_requests: bool) -> Result<App, Failure> {
    let contact = match settings.contact() {
        Ok(contact) => contact.to_owned(),
        Err(err) if sends_requests => return Err(Failure::Usage(err.to_string())),
        // Nothing will be sent: the contact is never used.
        Err(_) => setup::DEVELOPMENT_CONTACT.to_owned(),
    };
    let wiki =
        setup::wiki_client_with_contact(settings, &contact, true).map_err(crate::config_failure)?;
    let forges = setup::forges_with_contact(settings, &contact).map_err(crate::config_failure)?;
    let vault = match settings.vault() {
        Ok(vault) => Some(Arc::new(vault)),
        Err(VaultError::MissingKey) => None,
        Err(err) => return Err(Failure::Usage(err.to_string())),
    };
    let url = setup::database_url(settings).map_err(crate::config_failure)?;
    let store = setup::open_store(&url, MigrationPolicy::Apply)
        .await
        .map_err(|err| {
            Failure::Other(anyhow::Error::new(err).context(crate::database_context()))
        })?;
    Ok(App::new(AppParts {
        store,
        wiki: Arc::new(wiki),
        forges: Arc::new(forges),
        vault,
        runner_host: settings.runner_host.clone(),
    })
    .with_quota_policy(settings.forge.quota)
    .with_limits(settings.limits))
}

pub(crate) async fn run(command: ManageCommand, settings: &Settings) -> Result<Exit, Failure> {
    let app = open_app(settings, command.sends_requests()).await?;
    let result = dispatch(&app, command).await;
    app.close().await;
    let printed = result?;
    if printed.json {
        println!("{}", printed.value);
    } else {
        println!("{}", printed.text);
    }
    Ok(printed.exit)
}

async fn dispatch(app: &App, command: ManageCommand) -> Result<Printed, Failure> {
    match command {
        ManageCommand::Repo(c) => repo::run(app, c).await,
        ManageCommand::Watch(c) => watch::run(app, c).await,
        ManageCommand::Map(c) => map::run(app, c).await,
        ManageCommand::Monitor(c) => monitor::run(app, c).await,
        ManageCommand::Credential(c) => credential::run(app, c).await,
        ManageCommand::Prefs(c) => prefs::run(app, c).await,
    }
}

/// The user named `--user`, created as a local CLI user when `create` and unknown.
async fn user(app: &App, who: &Who, create: bool) -> Result<User, Failure> {
    app.cli_user(&who.user, create)
        .await
        .map_err(|e| refusal("--user", e))
}

/// A use case's error as the CLI reports it (the exit-code rule in `crate::EXIT_CODES`): the
/// user's to fix (exit 2, naming the flag when it is about one input), a missing or malformed
/// key (exit 2, as in every command), or a failure while running (exit 1).
pub(crate) fn refusal(flag: &str, error: UseCaseError) -> Failure {
    if let UseCaseError::Vault(vault) = &error
        && vault.is_configuration()
    {
        return Failure::Usage(error.to_string());
    }
    if !error.is_user_error() {
        return Failure::Other(error.into());
    }
    match error.field() {
        Some(_) => Failure::Usage(format!("{flag}: {error}")),
        None => Failure::Usage(error.to_string()),
    }
}

/// A use case's error whose field names the flag (`--url`, `--wiki`, ...).
fn failure(error: UseCaseError) -> Failure {
    // Positional arguments are named as the help shows them; the rest are flags.
    let flag = error.field().map(|field| match field {
        Field::Url => "URL".to_owned(),
        Field::Paths => "PATHS".to_owned(),
        Field::Title => "--page / TITLES".to_owned(),
        other => format!("--{}", other.as_str().replace('_', "-")),
    });
    refusal(flag.as_deref().unwrap_or("input"), error)
}

/// The JSON and text of a removal.
fn removed(who: &Who, what: &str, id: i64) -> Printed {
    Printed::ok(
        who,
        json!({"ok": true, "removed": id}),
        format!("removed {what} {id}"),
    )
}

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}
