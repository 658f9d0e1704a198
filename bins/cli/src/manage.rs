//! Managing what a user tracks from the command line (for operators, scripting and
//! single-user local use; the web app does the same for logged-in users): repositories,
//! watched files, file → page mappings, monitored pages, BotPasswords and notification
//! preferences. Every command takes `--user NAME` and prints JSON with `--json`.
//!
//! A name that is not yet a user is created as the local user `cli:<NAME>` by the `add` and
//! `set` commands (as `publish` does); listing and removing need an existing user.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use clap::{Args, Subcommand};
use std::io::IsTerminal as _;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use wikiscriptsync_core::forge::{Forge as _, ForgeKind, Usage};
use wikiscriptsync_core::monitor::ChangeEvent;
use wikiscriptsync_core::mw::{Title, WikiUrl};
use wikiscriptsync_core::setup;
use wikiscriptsync_core::store::{
    Forge, MappingId, MappingOptions, MigrationPolicy, NewMapping, NewRepository,
    NotificationPreferences, PageMonitorId, RepositoryId, Store, StoreError, User, WatchedFileId,
};
use wikiscriptsync_core::vault::Vault;

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
    /// Tracked repositories: add, list, remove.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Watched files of a repository: add, list, remove.
    #[command(subcommand)]
    Watch(WatchCommand),
    /// File → wiki page mappings: add, list, remove.
    #[command(subcommand)]
    Map(MapCommand),
    /// Monitored wiki pages: add, list, remove.
    #[command(subcommand)]
    Monitor(MonitorCommand),
    /// Stored BotPasswords (encrypted with CREDENTIAL_ENCRYPTION_KEY): set, remove.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Notification preferences: set, show.
    #[command(subcommand)]
    Prefs(PrefsCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum RepoCommand {
    /// Track a repository (GitHub or GitLab); it is checked on the next check-updates.
    Add {
        #[command(flatten)]
        who: Who,
        /// The repository's URL.
        url: String,
        /// The branch to follow (default: from a /tree/ URL, else the default branch).
        #[arg(long)]
        branch: Option<String>,
    },
    /// List the user's repositories.
    List {
        #[command(flatten)]
        who: Who,
    },
    /// Stop tracking a repository (with its watched files, mappings and logs).
    Remove {
        #[command(flatten)]
        who: Who,
        /// The repository's id (see `repo list`).
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WatchCommand {
    /// Watch files of a repository.
    Add {
        #[command(flatten)]
        who: Who,
        /// The repository's id.
        #[arg(long, value_name = "ID")]
        repo: i64,
        /// Paths inside the repository.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// List the watched files of a repository.
    List {
        #[command(flatten)]
        who: Who,
        /// The repository's id.
        #[arg(long, value_name = "ID")]
        repo: i64,
    },
    /// Stop watching a file.
    Remove {
        #[command(flatten)]
        who: Who,
        /// The watched file's id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MapCommand {
    /// Map a watched file to a wiki page.
    Add {
        #[command(flatten)]
        who: Who,
        /// The watched file's id.
        #[arg(long, value_name = "ID")]
        file: i64,
        /// The wiki (host such as en.wikipedia.org, or an api.php URL).
        #[arg(long)]
        wiki: String,
        /// The page title.
        #[arg(long)]
        page: String,
        /// Allow publishing to create the page.
        #[arg(long)]
        allow_create: bool,
        /// Put a "published from" banner comment at the top.
        #[arg(long)]
        banner: bool,
        /// Add the mapping with publishing switched off.
        #[arg(long)]
        disabled: bool,
        /// Also monitor the page for edits made on the wiki, so that they show as drift
        /// (`check-wiki-updates` then checks it).
        #[arg(long)]
        monitor: bool,
    },
    /// List the mappings of a watched file.
    List {
        #[command(flatten)]
        who: Who,
        /// The watched file's id.
        #[arg(long, value_name = "ID")]
        file: i64,
    },
    /// Remove a mapping.
    Remove {
        #[command(flatten)]
        who: Who,
        /// The mapping's id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MonitorCommand {
    /// Monitor wiki pages for new revisions.
    Add {
        #[command(flatten)]
        who: Who,
        /// The wiki (host such as en.wikipedia.org, or an api.php URL).
        #[arg(long)]
        wiki: String,
        /// Page titles.
        #[arg(required = true)]
        titles: Vec<String>,
    },
    /// List monitored pages.
    List {
        #[command(flatten)]
        who: Who,
    },
    /// Stop monitoring a page.
    Remove {
        #[command(flatten)]
        who: Who,
        /// The monitor's id (see `monitor list`).
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CredentialCommand {
    /// Store (or replace) a BotPassword for a wiki, encrypted with CREDENTIAL_ENCRYPTION_KEY.
    /// The password comes from --password-env VAR or a prompt without echo, never a flag.
    Set {
        #[command(flatten)]
        who: Who,
        /// The wiki.
        #[arg(long)]
        wiki: String,
        /// The BotPassword login name, as shown on Special:BotPasswords.
        #[arg(long, value_name = "User@BotName")]
        bot_user: String,
        /// Read the password from this environment variable (otherwise: a prompt).
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// Delete the stored BotPassword for a wiki.
    Remove {
        #[command(flatten)]
        who: Who,
        /// The wiki.
        #[arg(long)]
        wiki: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PrefsCommand {
    /// Change notification preferences (only what is given changes).
    Set {
        #[command(flatten)]
        who: Who,
        /// The wiki whose user talk page gets the notifications.
        #[arg(long, conflicts_with = "no_home_wiki")]
        home_wiki: Option<String>,
        /// Switch notifications off (no home wiki).
        #[arg(long)]
        no_home_wiki: bool,
        /// One message per run summarising every change.
        #[arg(long, conflicts_with = "per_change")]
        digest: bool,
        /// One message per change.
        #[arg(long)]
        per_change: bool,
        /// Switch an event kind on (file_changed, file_missing, page_changed, page_deleted,
        /// page_moved).
        #[arg(long, value_name = "KIND", value_parser = clap::builder::PossibleValuesParser::new(ChangeEvent::KINDS))]
        enable: Vec<String>,
        /// Switch an event kind off.
        #[arg(long, value_name = "KIND", value_parser = clap::builder::PossibleValuesParser::new(ChangeEvent::KINDS))]
        disable: Vec<String>,
    },
    /// Show notification preferences.
    Show {
        #[command(flatten)]
        who: Who,
    },
}

/// Opens the store, applying migrations (as `publish` does, for local use).
pub(crate) async fn open_store() -> Result<Arc<dyn Store>, Failure> {
    let url = setup::database_url_from_env().map_err(|err| Failure::Other(err.into()))?;
    setup::open_store(&url, MigrationPolicy::Apply)
        .await
        .map_err(|err| Failure::Other(err.into()))
}

pub(crate) async fn run(command: ManageCommand) -> Result<Exit, Failure> {
    let store = open_store().await?;
    let result = dispatch(store.as_ref(), command).await;
    store.close().await;
    let (json, value, text) = result?;
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
    Ok(Exit::Ok)
}

/// What a command prints: the JSON flag, the JSON value and the text.
type Printed = (bool, Value, String);

async fn dispatch(store: &dyn Store, command: ManageCommand) -> Result<Printed, Failure> {
    match command {
        ManageCommand::Repo(c) => repo(store, c).await,
        ManageCommand::Watch(c) => watch(store, c).await,
        ManageCommand::Map(c) => map(store, c).await,
        ManageCommand::Monitor(c) => monitor(store, c).await,
        ManageCommand::Credential(c) => credential(store, c).await,
        ManageCommand::Prefs(c) => prefs(store, c).await,
    }
}

/// The user named `--user`, created as a local CLI user when `create` and unknown.
async fn user(store: &dyn Store, who: &Who, create: bool) -> Result<User, Failure> {
    let name = who.user.trim();
    if name.is_empty() || name.contains(['@', '/', ':']) {
        return Err(Failure::Usage(format!(
            "--user `{}` is not a user name: give the plain Wikimedia user name, e.g. --user Alice",
            who.user
        )));
    }
    if let Some(user) = store.user_by_name(name).await? {
        return Ok(user);
    }
    if create {
        return Ok(setup::cli_user(store, name).await?);
    }
    Err(Failure::Usage(format!(
        "there is no user `{name}` yet: add something for them first (e.g. `repo add --user {name} URL`)"
    )))
}

fn removed(json: bool, what: &str, id: i64, gone: bool) -> Result<Printed, Failure> {
    if !gone {
        return Err(Failure::Usage(format!(
            "no {what} with id {id} for this user (see the list command)"
        )));
    }
    Ok((
        json,
        json!({"ok": true, "removed": id}),
        format!("removed {what} {id}"),
    ))
}

fn not_found(error: StoreError) -> Failure {
    match error {
        StoreError::NotFound { what } => Failure::Usage(format!(
            "{what} not found for this user (see the list commands)"
        )),
        StoreError::AlreadyExists { what } => Failure::Usage(format!("{what} already exists")),
        StoreError::InvalidInput(text) => Failure::Usage(text),
        other => Failure::Other(other.into()),
    }
}

fn when(at: Option<chrono::DateTime<Utc>>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

async fn repo(store: &dyn Store, command: RepoCommand) -> Result<Printed, Failure> {
    match command {
        RepoCommand::Add { who, url, branch } => {
            let forges = setup::forges_from_env().map_err(|e| Failure::Usage(e.to_string()))?;
            let locator = forges
                .parse_repo_url(&url)
                .map_err(|e| Failure::Usage(format!("{url}: {e}")))?;
            let branch = match branch.or_else(|| locator.branch.clone()) {
                Some(branch) => branch,
                None => forges
                    .default_branch(&locator, &mut Usage::default())
                    .await
                    .map_err(|e| {
                        Failure::Other(anyhow::anyhow!("finding the default branch: {e}"))
                    })?,
            };
            let user = user(store, &who, true).await?;
            let repo = store
                .add_repository(
                    user.id,
                    &NewRepository {
                        forge: match locator.kind {
                            ForgeKind::GitHub => Forge::GitHub,
                            ForgeKind::GitLab => Forge::GitLab,
                        },
                        host: locator.web_base.host_str().unwrap_or_default().to_owned(),
                        url: locator.web_url(),
                        branch: branch.clone(),
                    },
                    Utc::now(),
                )
                .await
                .map_err(not_found)?;
            Ok((
                who.json,
                json!({"ok": true, "id": repo.id.0, "url": repo.url, "branch": repo.branch}),
                format!(
                    "added repository {} ({} on {})",
                    repo.id, repo.url, repo.branch
                ),
            ))
        }
        RepoCommand::List { who } => {
            let user = user(store, &who, false).await?;
            let repos = store.list_repositories(user.id).await?;
            let mut rows = Vec::new();
            let mut text = String::new();
            for r in &repos {
                let files = store.list_watched_files(user.id, r.id).await?;
                rows.push(json!({
                    "id": r.id.0, "url": r.url, "branch": r.branch, "head_sha": r.head_sha,
                    "last_status": r.last_status.map(|s| s.as_str()),
                    "last_checked_at": r.last_checked_at.map(|t| t.to_rfc3339()),
                    "watched_files": files.len(),
                }));
                text.push_str(&format!(
                    "{:>5}  {} ({})  {} file(s), last check {} {}\n",
                    r.id,
                    r.url,
                    r.branch,
                    files.len(),
                    when(r.last_checked_at),
                    r.last_status.map_or("", |s| s.as_str())
                ));
            }
            text.push_str(&format!("{} repositories", repos.len()));
            Ok((who.json, Value::Array(rows), text))
        }
        RepoCommand::Remove { who, id } => {
            let user = user(store, &who, false).await?;
            let gone = store.remove_repository(user.id, RepositoryId(id)).await?;
            removed(who.json, "repository", id, gone)
        }
    }
}

async fn watch(store: &dyn Store, command: WatchCommand) -> Result<Printed, Failure> {
    match command {
        WatchCommand::Add { who, repo, paths } => {
            let user = user(store, &who, true).await?;
            let mut added = Vec::new();
            for path in &paths {
                let path = path.trim().trim_start_matches('/');
                let file = store
                    .watch_file(user.id, RepositoryId(repo), path, Utc::now())
                    .await
                    .map_err(not_found)?;
                added.push(file);
            }
            let text = added
                .iter()
                .map(|f| format!("watching {} as file {}", f.path, f.id))
                .collect::<Vec<_>>()
                .join("\n");
            let rows: Vec<Value> = added
                .iter()
                .map(|f| json!({"id": f.id.0, "path": f.path}))
                .collect();
            Ok((who.json, json!({"ok": true, "added": rows}), text))
        }
        WatchCommand::List { who, repo } => {
            let user = user(store, &who, false).await?;
            let files = store
                .list_watched_files(user.id, RepositoryId(repo))
                .await
                .map_err(not_found)?;
            let rows: Vec<Value> = files
                .iter()
                .map(|f| {
                    json!({
                        "id": f.id.0, "path": f.path, "blob_sha": f.last_blob_sha,
                        "last_status": f.last_status.map(|s| s.as_str()),
                        "last_checked_at": f.last_checked_at.map(|t| t.to_rfc3339()),
                    })
                })
                .collect();
            let mut text: String = files
                .iter()
                .map(|f| {
                    format!(
                        "{:>5}  {}  {}  last check {}\n",
                        f.id,
                        f.path,
                        f.last_blob_sha
                            .as_deref()
                            .map_or("-", |s| s.get(..7).unwrap_or(s)),
                        when(f.last_checked_at)
                    )
                })
                .collect();
            text.push_str(&format!("{} watched file(s)", files.len()));
            Ok((who.json, Value::Array(rows), text))
        }
        WatchCommand::Remove { who, id } => {
            let user = user(store, &who, false).await?;
            let gone = store.unwatch_file(user.id, WatchedFileId(id)).await?;
            removed(who.json, "watched file", id, gone)
        }
    }
}

/// A wiki as stored: the host for Wikimedia-style wikis, else the API URL.
fn wiki_name(input: &str) -> Result<String, Failure> {
    let url = WikiUrl::parse_with_env(input).map_err(|e| Failure::Usage(format!("--wiki: {e}")))?;
    Ok(url.key())
}

fn title(input: &str) -> Result<String, Failure> {
    Title::parse(input)
        .map(|t| t.to_string())
        .map_err(|e| Failure::Usage(format!("`{input}`: {e}")))
}

async fn map(store: &dyn Store, command: MapCommand) -> Result<Printed, Failure> {
    match command {
        MapCommand::Add {
            who,
            file,
            wiki,
            page,
            allow_create,
            banner,
            disabled,
            monitor,
        } => {
            let user = user(store, &who, true).await?;
            let mapping = store
                .add_mapping(
                    user.id,
                    &NewMapping {
                        watched_file_id: WatchedFileId(file),
                        wiki: wiki_name(&wiki)?,
                        page_title: title(&page)?,
                        options: MappingOptions {
                            publish_enabled: !disabled,
                            allow_create,
                            add_banner: banner,
                        },
                    },
                    Utc::now(),
                )
                .await
                .map_err(not_found)?;
            if monitor {
                store
                    .ensure_page_monitor(user.id, &mapping.wiki, &mapping.page_title, Utc::now())
                    .await
                    .map_err(not_found)?;
            }
            Ok((
                who.json,
                json!({"ok": true, "id": mapping.id.0, "wiki": mapping.wiki, "page": mapping.page_title, "monitored": monitor}),
                format!(
                    "mapped file {file} to {} on {} (mapping {})",
                    mapping.page_title, mapping.wiki, mapping.id
                ),
            ))
        }
        MapCommand::List { who, file } => {
            let user = user(store, &who, false).await?;
            let mappings = store
                .list_mappings(user.id, WatchedFileId(file))
                .await
                .map_err(not_found)?;
            let rows: Vec<Value> = mappings
                .iter()
                .map(|m| {
                    json!({
                        "id": m.id.0, "wiki": m.wiki, "page": m.page_title,
                        "publish_enabled": m.options.publish_enabled,
                        "allow_create": m.options.allow_create, "banner": m.options.add_banner,
                        "last_published_revision": m.last_published.as_ref().map(|p| p.revid),
                    })
                })
                .collect();
            let mut text: String = mappings
                .iter()
                .map(|m| {
                    format!(
                        "{:>5}  {} {}{}\n",
                        m.id,
                        m.wiki,
                        m.page_title,
                        if m.options.publish_enabled {
                            ""
                        } else {
                            " (off)"
                        }
                    )
                })
                .collect();
            text.push_str(&format!("{} mapping(s)", mappings.len()));
            Ok((who.json, Value::Array(rows), text))
        }
        MapCommand::Remove { who, id } => {
            let user = user(store, &who, false).await?;
            let gone = store.remove_mapping(user.id, MappingId(id)).await?;
            removed(who.json, "mapping", id, gone)
        }
    }
}

async fn monitor(store: &dyn Store, command: MonitorCommand) -> Result<Printed, Failure> {
    match command {
        MonitorCommand::Add { who, wiki, titles } => {
            let wiki = wiki_name(&wiki)?;
            let titles = titles
                .iter()
                .map(|t| title(t))
                .collect::<Result<Vec<_>, _>>()?;
            let user = user(store, &who, true).await?;
            let mut rows = Vec::new();
            for page in &titles {
                let monitor = store
                    .add_page_monitor(user.id, &wiki, page, Utc::now())
                    .await
                    .map_err(not_found)?;
                rows.push(
                    json!({"id": monitor.id.0, "wiki": monitor.wiki, "title": monitor.page_title}),
                );
            }
            Ok((
                who.json,
                json!({"ok": true, "added": rows}),
                format!("monitoring {} page(s) on {wiki}", titles.len()),
            ))
        }
        MonitorCommand::List { who } => {
            let user = user(store, &who, false).await?;
            let monitors = store.list_page_monitors(user.id).await?;
            let rows: Vec<Value> = monitors
                .iter()
                .map(|m| {
                    json!({
                        "id": m.id.0, "wiki": m.wiki, "title": m.page_title, "revision": m.last_revid,
                        "last_status": m.last_status.map(|s| s.as_str()),
                        "last_checked_at": m.last_checked_at.map(|t| t.to_rfc3339()),
                    })
                })
                .collect();
            let mut text: String = monitors
                .iter()
                .map(|m| {
                    format!(
                        "{:>5}  {} {}  r{}  last check {}\n",
                        m.id,
                        m.wiki,
                        m.page_title,
                        m.last_revid
                            .map_or_else(|| "?".to_owned(), |r| r.to_string()),
                        when(m.last_checked_at)
                    )
                })
                .collect();
            text.push_str(&format!("{} monitored page(s)", monitors.len()));
            Ok((who.json, Value::Array(rows), text))
        }
        MonitorCommand::Remove { who, id } => {
            let user = user(store, &who, false).await?;
            let gone = store
                .remove_page_monitor(user.id, PageMonitorId(id))
                .await?;
            removed(who.json, "monitored page", id, gone)
        }
    }
}

async fn credential(store: &dyn Store, command: CredentialCommand) -> Result<Printed, Failure> {
    match command {
        CredentialCommand::Set {
            who,
            wiki,
            bot_user,
            password_env,
        } => {
            if !bot_user.contains('@') {
                return Err(Failure::Usage(format!(
                    "--bot-user `{bot_user}` is not a BotPassword login name: use `User@BotName` \
                     as shown on Special:BotPasswords"
                )));
            }
            let wiki = wiki_name(&wiki)?;
            let vault = Vault::from_env()?;
            let password = read_password(password_env.as_deref(), &bot_user)?;
            let ciphertext = vault.encrypt(&password);
            drop(password);
            let user = user(store, &who, true).await?;
            let saved = store
                .set_credential(user.id, &wiki, &bot_user, &ciphertext, Utc::now())
                .await
                .map_err(not_found)?;
            Ok((
                who.json,
                json!({"ok": true, "wiki": saved.wiki, "bot_user": saved.bot_username}),
                format!(
                    "stored the BotPassword of {} for {} (encrypted)",
                    saved.bot_username, saved.wiki
                ),
            ))
        }
        CredentialCommand::Remove { who, wiki } => {
            let wiki = wiki_name(&wiki)?;
            let user = user(store, &who, false).await?;
            if !store.delete_credential(user.id, &wiki).await? {
                return Err(Failure::Usage(format!("no BotPassword stored for {wiki}")));
            }
            Ok((
                who.json,
                json!({"ok": true, "removed": wiki}),
                format!("removed the BotPassword for {wiki}"),
            ))
        }
    }
}

async fn prefs(store: &dyn Store, command: PrefsCommand) -> Result<Printed, Failure> {
    let (who, preferences) = match command {
        PrefsCommand::Show { who } => {
            let user = user(store, &who, false).await?;
            let preferences = store.notification_preferences(user.id).await?;
            (who, preferences)
        }
        PrefsCommand::Set {
            who,
            home_wiki,
            no_home_wiki,
            digest,
            per_change,
            enable,
            disable,
        } => {
            let user = user(store, &who, true).await?;
            let mut preferences = store.notification_preferences(user.id).await?;
            if let Some(wiki) = home_wiki {
                preferences.home_wiki = Some(wiki_name(&wiki)?);
            }
            if no_home_wiki {
                preferences.home_wiki = None;
            }
            if digest {
                preferences.digest = true;
            }
            if per_change {
                preferences.digest = false;
            }
            for kind in enable {
                preferences.disabled_event_kinds.remove(&kind);
            }
            preferences.disabled_event_kinds.extend(disable);
            store
                .set_notification_preferences(user.id, &preferences, Utc::now())
                .await
                .map_err(not_found)?;
            (who, preferences)
        }
    };
    Ok(prefs_printed(who.json, &preferences))
}

fn prefs_printed(json: bool, p: &NotificationPreferences) -> Printed {
    let enabled: BTreeSet<&str> = ChangeEvent::KINDS
        .iter()
        .copied()
        .filter(|k| p.is_enabled(k))
        .collect();
    let value = json!({
        "home_wiki": p.home_wiki,
        "digest": p.digest,
        "enabled": enabled,
        "disabled": p.disabled_event_kinds,
    });
    let text = format!(
        "notifications: {}; {}; on: {}",
        p.home_wiki.as_deref().map_or_else(
            || "off (no home wiki)".to_owned(),
            |w| format!("to your talk page on {w}")
        ),
        if p.digest {
            "one digest per run"
        } else {
            "one message per change"
        },
        enabled.into_iter().collect::<Vec<_>>().join(", ")
    );
    (json, value, text)
}

/// The BotPassword from the variable `var` (`--password-env`), or typed at a prompt without echo
/// on a terminal; never from a flag value, which would end up in shell history and `ps`.
pub(crate) fn read_password(var: Option<&str>, login: &str) -> Result<SecretString, Failure> {
    if let Some(var) = var {
        return match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
            _ => Err(Failure::Usage(format!(
                "--password-env {var}: the variable {var} is not set or empty; export it with \
                 the generated password from Special:BotPasswords"
            ))),
        };
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "no password: standard input is not a terminal, so there is nobody to prompt; pass \
             --password-env VAR naming a variable that holds the BotPassword"
                .to_owned(),
        ));
    }
    let typed = rpassword::prompt_password(format!("BotPassword for {login}: "))
        .map_err(|err| Failure::Other(anyhow::anyhow!("cannot read the password: {err}")))?;
    let typed = SecretString::from(typed);
    if typed.expose_secret().is_empty() {
        return Err(Failure::Usage("the password is empty".to_owned()));
    }
    Ok(typed)
}
