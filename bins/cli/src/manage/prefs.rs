//! `prefs set | show`: notification preferences.

use std::collections::BTreeSet;

use clap::Subcommand;
use serde_json::json;
use wikiscriptsync_core::app::{App, PreferencesChange};
use wikiscriptsync_core::monitor::ChangeEvent;
use wikiscriptsync_core::store::NotificationPreferences;

use super::{Printed, Who, failure, user};
use crate::Failure;

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

pub(super) async fn run(app: &App, command: PrefsCommand) -> Result<Printed, Failure> {
    let (who, preferences) = match command {
        PrefsCommand::Show { who } => {
            let user = user(app, &who, false).await?;
            let preferences = app.preferences(user.id).await.map_err(failure)?;
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
            let user = user(app, &who, true).await?;
            let change = PreferencesChange {
                home_wiki: match (home_wiki, no_home_wiki) {
                    (Some(wiki), _) => Some(Some(wiki)),
                    (None, true) => Some(None),
                    (None, false) => None,
                },
                digest: match (digest, per_change) {
                    (true, _) => Some(true),
                    (false, true) => Some(false),
                    (false, false) => None,
                },
                enable,
                disable,
                enabled_exactly: None,
            };
            let preferences = app
                .set_preferences(user.id, change)
                .await
                .map_err(failure)?;
            (who, preferences)
        }
    };
    Ok(printed(&who, &preferences))
}

fn printed(who: &Who, p: &NotificationPreferences) -> Printed {
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
    Printed::ok(who, value, text)
}
