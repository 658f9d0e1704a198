//! What the per-user limits are checked against: how much a user holds, and actions a user may
//! take only so often.

use chrono::{DateTime, Utc};

/// How many of each kind of object one user holds (every count the per-user limits bound).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    /// Tracked repositories.
    pub repositories: u64,
    /// Watched files, over all their repositories.
    pub watched_files: u64,
    /// File → page mappings, over all their files.
    pub mappings: u64,
    /// Monitored pages (the user's own and those their mappings created).
    pub monitored_pages: u64,
}

/// A kind of action a user may take only so often within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserAction {
    /// A BotPassword check: a login to a wiki (saving or verifying a BotPassword).
    CredentialCheck,
}

impl UserAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialCheck => "credential_check",
        }
    }
}

/// What taking an action found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionSlot {
    /// Below the limit: the action is recorded; go ahead.
    Taken,
    /// The limit is reached: nothing was recorded.
    Refused {
        /// When the oldest action in the window leaves it (one may be taken again then).
        next_at: DateTime<Utc>,
    },
}
