//! `credential set | verify | list | remove`: BotPasswords, write-only. Setting or verifying
//! one logs in once and reports the rights it carries against the user's mapped pages.

use std::io::IsTerminal as _;

use clap::Subcommand;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use wikiscriptsync_core::app::{App, CredentialReport};

use super::{Printed, Who, failure, user, when};
use crate::{Exit, Failure};

#[derive(Debug, Subcommand)]
pub(crate) enum CredentialCommand {
    /// Log in once with a BotPassword to check it, then store it (replacing the one before)
    /// encrypted with CREDENTIAL_ENCRYPTION_KEY and report its rights. A failed login stores
    /// nothing. The password comes from --password-env VAR or a prompt without echo, never a
    /// flag.
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
    /// Log in once with the stored BotPassword for a wiki and report its rights. Exit 3 when
    /// it lacks a right one of your mapped pages needs.
    Verify {
        #[command(flatten)]
        who: Who,
        /// The wiki.
        #[arg(long)]
        wiki: String,
    },
    /// List the stored BotPasswords (wiki, bot user, when saved; never the password).
    List {
        #[command(flatten)]
        who: Who,
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

impl CredentialCommand {
    pub(super) fn sends_requests(&self) -> bool {
        matches!(self, Self::Set { .. } | Self::Verify { .. })
    }
}

pub(super) async fn run(app: &App, command: CredentialCommand) -> Result<Printed, Failure> {
    match command {
        CredentialCommand::Set {
            who,
            wiki,
            bot_user,
            password_env,
        } => {
            let login = wikiscriptsync_core::app::parse_bot_login(&bot_user).map_err(failure)?;
            let password = read_password(password_env.as_deref(), &login)?;
            let user = user(app, &who, true).await?;
            let report = app
                .save_credential(user.id, &wiki, &login, password)
                .await
                .map_err(failure)?;
            Ok(reported(
                &who,
                "stored (encrypted) after logging in",
                &report,
            ))
        }
        CredentialCommand::Verify { who, wiki } => {
            let user = user(app, &who, false).await?;
            let report = app
                .verify_credential(user.id, &wiki)
                .await
                .map_err(failure)?;
            Ok(reported(&who, "logged in", &report))
        }
        CredentialCommand::List { who } => {
            let user = user(app, &who, false).await?;
            let saved = app.credentials(user.id).await.map_err(failure)?;
            let rows: Vec<Value> = saved
                .iter()
                .map(|c| {
                    json!({"wiki": c.wiki, "bot_user": c.bot_username,
                    "saved_at": c.saved_at.to_rfc3339()})
                })
                .collect();
            let mut text: String = saved
                .iter()
                .map(|c| {
                    format!(
                        "{}  {}  saved {}\n",
                        c.wiki,
                        c.bot_username,
                        when(Some(c.saved_at))
                    )
                })
                .collect();
            text.push_str(&format!("{} stored BotPassword(s)", saved.len()));
            Ok(Printed::ok(&who, Value::Array(rows), text))
        }
        CredentialCommand::Remove { who, wiki } => {
            let user = user(app, &who, false).await?;
            let wiki = app
                .delete_credential(user.id, &wiki)
                .await
                .map_err(failure)?;
            Ok(Printed::ok(
                &who,
                json!({"ok": true, "removed": wiki}),
                format!("removed the BotPassword for {wiki}"),
            ))
        }
    }
}

/// The check login's report; exit 3 when a mapped page needs a right the BotPassword lacks.
fn reported(who: &Who, what: &str, report: &CredentialReport) -> Printed {
    let mut text = format!(
        "{}: {what} on {}; grants: {}",
        report.bot_username,
        report.wiki,
        report.grants.join(", ")
    );
    for (page, missing) in &report.pages {
        match missing {
            None => text.push_str(&format!("\n  {page}: can publish")),
            Some(missing) => text.push_str(&format!("\n  {page}: cannot publish: {missing}")),
        }
    }
    if !report.broader.is_empty() {
        text.push_str(&format!(
            "\n  grants your mapped pages do not need (untick them on Special:BotPasswords): {}",
            report.broader.join(", ")
        ));
    }
    let printed = Printed::ok(
        who,
        json!({"ok": true, "wiki": report.wiki, "bot_user": report.bot_username,
            "grants": report.grants, "broader": report.broader,
            "pages": report.pages.iter().map(|(page, missing)| json!({"page": page, "missing": missing})).collect::<Vec<_>>(),
            "sufficient": report.suffices()}),
        text,
    );
    if report.suffices() {
        printed
    } else {
        printed.exit(Exit::Refused)
    }
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
