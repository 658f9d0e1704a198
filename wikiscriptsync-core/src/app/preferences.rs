//! Notification preferences: where notices go (the user's talk page on a home wiki, or
//! nowhere), digest or one per change, and which kinds of change.

use chrono::Utc;

use super::{App, Field, UseCaseError, UseCaseResult};
use crate::monitor::ChangeEvent;
use crate::store::{NotificationPreferences, UserId};

/// A change of preferences: what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct PreferencesChange {
    /// `Some(None)`: notifications off; `Some(Some(wiki))`: to the talk page on that wiki
    /// (as typed: a host or an `api.php` URL).
    pub home_wiki: Option<Option<String>>,
    /// One digest per run (`true`) or one message per change (`false`).
    pub digest: Option<bool>,
    /// Event kinds to switch on.
    pub enable: Vec<String>,
    /// Event kinds to switch off.
    pub disable: Vec<String>,
    /// When given, exactly these kinds are on and every other is off (a form's checkboxes).
    pub enabled_exactly: Option<Vec<String>>,
}

impl App {
    /// The user's preferences (defaults when never saved).
    pub async fn preferences(&self, user: UserId) -> UseCaseResult<NotificationPreferences> {
        Ok(self.store.notification_preferences(user).await?)
    }

    /// Changes the user's preferences; everything is validated before anything is saved (the
    /// home wiki is resolved: no request once known).
    /// Returns the preferences as saved.
    pub async fn set_preferences(
        &self,
        user: UserId,
        change: PreferencesChange,
    ) -> UseCaseResult<NotificationPreferences> {
        let home_wiki = match &change.home_wiki {
            Some(Some(wiki)) if !wiki.trim().is_empty() => {
                Some(Some(self.resolve_wiki(Field::HomeWiki, wiki).await?.key()))
            }
            Some(_) => Some(None),
            None => None,
        };
        let kinds = change
            .enable
            .iter()
            .chain(&change.disable)
            .chain(change.enabled_exactly.iter().flatten());
        for kind in kinds {
            if !ChangeEvent::KINDS.contains(&kind.as_str()) {
                return Err(UseCaseError::invalid(
                    Field::EventKind,
                    format!(
                        "`{}` is not a kind of change; the kinds are {}.",
                        kind.escape_debug(),
                        ChangeEvent::KINDS.join(", ")
                    ),
                ));
            }
        }
        let mut preferences = self.store.notification_preferences(user).await?;
        if let Some(home_wiki) = home_wiki {
            preferences.home_wiki = home_wiki;
        }
        if let Some(digest) = change.digest {
            preferences.digest = digest;
        }
        if let Some(on) = &change.enabled_exactly {
            preferences.disabled_event_kinds = ChangeEvent::KINDS
                .iter()
                .filter(|kind| !on.iter().any(|k| k == *kind))
                .map(|kind| (*kind).to_owned())
                .collect();
        }
        for kind in &change.enable {
            preferences.disabled_event_kinds.remove(kind);
        }
        preferences.disabled_event_kinds.extend(change.disable);
        self.store
            .set_notification_preferences(user, &preferences, Utc::now())
            .await?;
        Ok(preferences)
    }
}
