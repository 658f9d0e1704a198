//! The publish mutex, the publish log and stored BotPasswords.

use std::fmt;

use chrono::{DateTime, Utc};

use super::*;

/// Outcome of trying to take a user's publish mutex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishLock {
    /// The mutex is ours; release it with [`crate::Store::release_publish_task`].
    Acquired {
        /// The new RUNNING task.
        task: PublishTaskId,
        /// A stale RUNNING task that was marked FAILED ("expired") to take over.
        expired: Option<PublishTaskId>,
    },
    /// Another publish of this user is running.
    Busy {
        /// The running task.
        task: PublishTaskId,
        /// Since when it runs.
        running_since: DateTime<Utc>,
    },
}

/// How a publish task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// DONE.
    Done,
    /// FAILED with a reason.
    Failed(String),
}

/// A publish task row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishTask {
    /// Row id.
    pub id: PublishTaskId,
    /// Owner.
    pub user_id: UserId,
    /// State.
    pub status: PublishTaskStatus,
    /// Why it failed.
    pub reason: Option<String>,
    /// When it started running.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A publish attempt to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPublishLogEntry {
    /// Who published.
    pub user_id: UserId,
    /// The stored mapping, if the target was one (None for ad-hoc targets).
    pub mapping_id: Option<MappingId>,
    /// The mutex task the attempt ran under, if it got that far.
    pub task_id: Option<PublishTaskId>,
    /// When.
    pub at: DateTime<Utc>,
    /// What came of it.
    pub outcome: PublishOutcome,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Target wiki host.
    pub wiki: String,
    /// Target page title.
    pub page_title: String,
    /// Source repository URL (None for a local file).
    pub repo_url: Option<String>,
    /// Source branch.
    pub branch: Option<String>,
    /// Source file path.
    pub file_path: Option<String>,
    /// Source commit.
    pub commit_sha: Option<String>,
    /// Git blob SHA of the file.
    pub blob_sha: Option<String>,
    /// The page revision the edit was based on.
    pub base_revid: Option<i64>,
    /// The revision the edit created.
    pub new_revid: Option<i64>,
    /// Human-readable message (error text, refusal reason). Never a secret.
    pub message: Option<String>,
    /// SHA-1 (hex) of the text an edit sent, after MediaWiki's save normalisation: written
    /// ahead of the edit, so that the page's revision can later be recognised as this edit.
    pub content_sha1: Option<String>,
}

/// The result that settles a publish-log row written ahead of its edit
/// ([`PublishOutcome::Pending`]); see [`crate::Store::settle_publish_log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishSettlement {
    /// What came of the edit (anything but `Pending`).
    pub outcome: PublishOutcome,
    /// The revision the edit created, when known.
    pub new_revid: Option<i64>,
    /// What happened, for the user. Never a secret.
    pub message: Option<String>,
}

/// A recorded publish attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishLogEntry {
    /// Row id.
    pub id: PublishLogId,
    /// The attempt.
    pub entry: NewPublishLogEntry,
}

/// Which publish log rows to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublishLogFilter {
    /// All of the user's attempts.
    #[default]
    All,
    /// Attempts for one mapping.
    Mapping(MappingId),
}

/// A stored BotPassword: the ciphertext only. Debug does not print the ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// Row id.
    pub id: CredentialId,
    /// Owner.
    pub user_id: UserId,
    /// The wiki host.
    pub wiki: String,
    /// `User@BotName`.
    pub bot_username: String,
    /// The Fernet token of the BotPassword.
    pub ciphertext: String,
    /// When it was saved.
    pub saved_at: DateTime<Utc>,
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("wiki", &self.wiki)
            .field("bot_username", &self.bot_username)
            .field("ciphertext", &"[REDACTED]")
            .field("saved_at", &self.saved_at)
            .finish()
    }
}

/// What the web app shows about a stored BotPassword (never the password or ciphertext).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSummary {
    /// Row id.
    pub id: CredentialId,
    /// The wiki host.
    pub wiki: String,
    /// `User@BotName`.
    pub bot_username: String,
    /// When it was saved.
    pub saved_at: DateTime<Utc>,
}
