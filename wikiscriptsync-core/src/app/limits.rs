//! Limits per user: how many repositories, watched files, mappings and monitored pages one
//! user may hold, and how many BotPassword checks (each a login to a wiki from the service's
//! shared address) they may make in an hour. The service is shared: without these, one user's
//! thousands of repositories or a script retrying wrong passwords would spend what every user
//! needs (the forges' hourly quota, the wiki's patience with failed logins from one address).
//!
//! The use cases check them here, once, before any request or write; a refusal is a
//! [`UseCaseError::LimitReached`] naming the limit, its value, the operator's variable and what
//! to do, so the web app and the CLI say the same. The operator sets them through
//! [`crate::settings`] ([`UserLimits`] in [`crate::settings::Settings::limits`]).

use chrono::{TimeDelta, Utc};

use super::{App, UseCaseError, UseCaseResult};
use crate::settings::vars;
use crate::store::{ActionSlot, UserAction, UserCounts, UserId};

/// Repositories one user may track unless the operator says otherwise: more than a busy
/// gadget maintainer keeps (most keep a handful), few enough that one user's hourly checks
/// stay a small part of a forge's quota.
pub const DEFAULT_MAX_REPOSITORIES: u64 = 50;
/// Watched files one user may have: a large gadget collection is a few hundred files.
pub const DEFAULT_MAX_WATCHED_FILES: u64 = 500;
/// Mappings one user may have: room for a gadget published to hundreds of wikis.
pub const DEFAULT_MAX_MAPPINGS: u64 = 1000;
/// Monitored pages one user may have: every mapping monitors its page by default, so twice
/// the mappings.
pub const DEFAULT_MAX_MONITORED_PAGES: u64 = 2000;
/// BotPassword checks (saves and verifications) one user may make per hour: enough to set up
/// a dozen wikis in an hour; a script looping on a wrong password stops long before the
/// wikis throttle the service's shared address.
pub const DEFAULT_CREDENTIAL_CHECKS_PER_HOUR: u32 = 12;

/// The operator's limits per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserLimits {
    /// Tracked repositories.
    pub repositories: u64,
    /// Watched files over all repositories.
    pub watched_files: u64,
    /// File → page mappings.
    pub mappings: u64,
    /// Monitored pages (including those mappings monitor).
    pub monitored_pages: u64,
    /// BotPassword checks (logins) per hour.
    pub credential_checks_per_hour: u32,
}

impl Default for UserLimits {
    fn default() -> Self {
        Self {
            repositories: DEFAULT_MAX_REPOSITORIES,
            watched_files: DEFAULT_MAX_WATCHED_FILES,
            mappings: DEFAULT_MAX_MAPPINGS,
            monitored_pages: DEFAULT_MAX_MONITORED_PAGES,
            credential_checks_per_hour: DEFAULT_CREDENTIAL_CHECKS_PER_HOUR,
        }
    }
}

/// One of the limits of [`UserLimits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`UserLimits::repositories`].
    Repositories,
    /// [`UserLimits::watched_files`].
    WatchedFiles,
    /// [`UserLimits::mappings`].
    Mappings,
    /// [`UserLimits::monitored_pages`].
    MonitoredPages,
    /// [`UserLimits::credential_checks_per_hour`].
    CredentialChecks,
}

impl Limit {
    /// The operator's variable that sets it.
    pub fn variable(self) -> &'static str {
        match self {
            Self::Repositories => vars::MAX_REPOSITORIES_ENV,
            Self::WatchedFiles => vars::MAX_WATCHED_FILES_ENV,
            Self::Mappings => vars::MAX_MAPPINGS_ENV,
            Self::MonitoredPages => vars::MAX_MONITORED_PAGES_ENV,
            Self::CredentialChecks => vars::CREDENTIAL_CHECKS_PER_HOUR_ENV,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Repositories => "tracked repositories",
            Self::WatchedFiles => "watched files",
            Self::Mappings => "mappings",
            Self::MonitoredPages => "monitored pages",
            Self::CredentialChecks => "BotPassword checks an hour",
        }
    }

    fn remedy(self) -> &'static str {
        match self {
            Self::Repositories => "Remove a repository you no longer publish from first.",
            Self::WatchedFiles => {
                "Unwatch files you no longer publish first, or watch fewer at once."
            }
            Self::Mappings => "Remove mappings you no longer need first.",
            Self::MonitoredPages => {
                "Stop monitoring pages you no longer need first (mapping a page monitors it \
                 unless you untick that)."
            }
            Self::CredentialChecks => "",
        }
    }

    fn held(self, counts: &UserCounts) -> u64 {
        match self {
            Self::Repositories => counts.repositories,
            Self::WatchedFiles => counts.watched_files,
            Self::Mappings => counts.mappings,
            Self::MonitoredPages => counts.monitored_pages,
            Self::CredentialChecks => 0,
        }
    }

    fn of(self, limits: &UserLimits) -> u64 {
        match self {
            Self::Repositories => limits.repositories,
            Self::WatchedFiles => limits.watched_files,
            Self::Mappings => limits.mappings,
            Self::MonitoredPages => limits.monitored_pages,
            Self::CredentialChecks => u64::from(limits.credential_checks_per_hour),
        }
    }
}

impl App {
    /// The limits this service applies to every user.
    pub fn limits(&self) -> &UserLimits {
        &self.limits
    }

    /// How much the user holds of everything a limit bounds (one query).
    pub async fn user_counts(&self, user: UserId) -> UseCaseResult<UserCounts> {
        Ok(self.store.user_counts(user).await?)
    }

    /// Refuses when adding `adding` more of `limit`'s kind would take the user past it.
    pub(crate) async fn ensure_room(
        &self,
        user: UserId,
        limit: Limit,
        adding: u64,
    ) -> UseCaseResult<()> {
        let counts = self.store.user_counts(user).await?;
        check_room(&self.limits, &counts, limit, adding)
    }

    /// Takes one of the user's BotPassword checks of the hour, or refuses saying when the
    /// next one is free. Called right before the login it stands for.
    pub(crate) async fn take_credential_check(&self, user: UserId) -> UseCaseResult<()> {
        let max = self.limits.credential_checks_per_hour;
        let slot = self
            .store
            .take_action_slot(
                user,
                UserAction::CredentialCheck,
                Utc::now(),
                TimeDelta::hours(1),
                max,
            )
            .await?;
        match slot {
            ActionSlot::Taken => Ok(()),
            ActionSlot::Refused { next_at } => Err(UseCaseError::LimitReached {
                limit: Limit::CredentialChecks,
                message: format!(
                    "Limit reached: this service allows {max} BotPassword checks an hour per \
                     user ({}), and you made them all in the last hour. Each check logs in to \
                     the wiki from the address every user of this service shares, and many \
                     logins from it would get it throttled for everyone. Try again after {} \
                     UTC.",
                    Limit::CredentialChecks.variable(),
                    next_at.format("%H:%M")
                ),
            }),
        }
    }
}

/// The refusal when `adding` more of `limit`'s kind would take `counts` past `limits`.
pub(crate) fn check_room(
    limits: &UserLimits,
    counts: &UserCounts,
    limit: Limit,
    adding: u64,
) -> UseCaseResult<()> {
    let held = limit.held(counts);
    let max = limit.of(limits);
    let after = held.saturating_add(adding);
    if adding == 0 || after <= max {
        return Ok(());
    }
    Err(UseCaseError::LimitReached {
        limit,
        message: format!(
            "Limit reached: this service allows {max} {noun} per user ({variable}); you have \
             {held}, and this would make {after}. {remedy}",
            noun = limit.noun(),
            variable = limit.variable(),
            remedy = limit.remedy(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_refused_only_past_the_limit_naming_it_and_what_to_do() {
        let limits = UserLimits {
            watched_files: 3,
            ..UserLimits::default()
        };
        let counts = UserCounts {
            watched_files: 2,
            ..UserCounts::default()
        };
        assert!(check_room(&limits, &counts, Limit::WatchedFiles, 1).is_ok());
        assert!(check_room(&limits, &counts, Limit::WatchedFiles, 0).is_ok());
        let err = check_room(&limits, &counts, Limit::WatchedFiles, 2).unwrap_err();
        assert!(err.is_user_error());
        let message = err.to_string();
        for part in [
            "allows 3 watched files per user",
            vars::MAX_WATCHED_FILES_ENV,
            "you have 2",
            "would make 4",
            "Unwatch files",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
        assert!(matches!(
            err,
            UseCaseError::LimitReached {
                limit: Limit::WatchedFiles,
                ..
            }
        ));
    }
}
