//! Notification preferences, claims and the notification log.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::*;

/// A user's notification preferences. Every event kind is on unless disabled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotificationPreferences {
    /// The wiki whose user talk page gets the notifications (None: notifications off).
    pub home_wiki: Option<String>,
    /// One message per run summarising every change, instead of one per change.
    pub digest: bool,
    /// Event kinds switched off (`[a-z0-9_]+` names, e.g. `file_changed`).
    pub disabled_event_kinds: BTreeSet<String>,
}

impl NotificationPreferences {
    /// Whether the user wants notifications of this kind.
    pub fn is_enabled(&self, event_kind: &str) -> bool {
        !self.disabled_event_kinds.contains(event_kind)
    }
}

/// A notification about to be sent; `dedup_key` identifies the change (e.g.
/// `file:<id>:<new blob sha>`), so one change is never notified twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Recipient.
    pub user_id: UserId,
    /// Identifies the change (or digest) across runs.
    pub dedup_key: String,
    /// The event kind (`file_changed`, `page_changed`, `digest`, ...).
    pub event_kind: String,
    /// Section heading.
    pub subject: String,
    /// Message text (a change summary; never file content).
    pub body: String,
}

/// Outcome of claiming a notification for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationClaim {
    /// Ours to send; finish it with [`crate::Store::finish_notification`].
    Claimed(NotificationId),
    /// Already posted; do nothing.
    AlreadySent,
    /// Another runner holds an unexpired claim on it.
    InProgress,
}

/// How sending a notification ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationResult {
    /// Posted.
    Sent {
        /// Wiki it was posted to.
        wiki: String,
        /// Revision id of the post.
        revid: Option<i64>,
    },
    /// Posting failed; retried next run.
    Failed(String),
}

/// A notification log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationLogEntry {
    /// Row id.
    pub id: NotificationId,
    /// Recipient.
    pub user_id: UserId,
    /// The dedup key.
    pub dedup_key: String,
    /// The event kind.
    pub event_kind: String,
    /// Section heading.
    pub subject: String,
    /// Message text.
    pub body: String,
    /// Delivery state.
    pub status: NotificationStatus,
    /// Send attempts so far.
    pub attempts: i64,
    /// Wiki it was posted to.
    pub posted_wiki: Option<String>,
    /// Revision id of the post.
    pub posted_revid: Option<i64>,
    /// Last error.
    pub error: Option<String>,
    /// First recorded.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}
