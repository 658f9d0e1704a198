//! What a caller asks the publisher to do: a stored mapping, or an ad-hoc target with its
//! source, credentials and options.

use std::path::PathBuf;

use crate::forge::{BlobSha, CommitSha, RepoLocator};
use crate::mw::BotPassword;
use crate::store::{MappingId, UserId};

/// Which revision of the repository to publish from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceRevision {
    /// Exactly this commit (what the user saw).
    Commit(CommitSha),
    /// The branch's current head, resolved to a commit first (one more forge request).
    Branch(String),
}

/// Where the file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishSource {
    /// A file in a GitHub or GitLab repository.
    Repository {
        /// The repository (a stored one's from [`crate::repository::locator_of`]).
        repo: Box<RepoLocator>,
        /// The commit, or a branch to resolve.
        revision: SourceRevision,
        /// The file's path in the repository.
        path: String,
        /// The blob SHA the bytes must hash to, when known (saves the tree request).
        expected_blob: Option<BlobSha>,
    },
    /// A file on the local disk (CI jobs that build the file). Its git blob SHA is computed
    /// for the log.
    LocalFile {
        /// The file's path.
        path: PathBuf,
    },
}

/// Which BotPassword to log in with.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// The user's stored (encrypted) BotPassword for the target wiki (a logged
    /// [`Publisher`](super::Publisher) only: a
    /// [`StandalonePublish`] has no store to read it from and takes a [`BotPassword`]).
    Stored,
    /// Given directly (the CLI: from an environment variable or a prompt). Never stored.
    Given(BotPassword),
}

/// A publish to a target that is not (necessarily) a stored mapping.
#[derive(Debug, Clone)]
pub struct AdHocPublish {
    /// Who publishes: their mutex, their log, their stored credentials.
    pub user: UserId,
    /// The file.
    pub source: PublishSource,
    /// The wiki (`en.wikipedia.org`, or an API URL for a test wiki).
    pub wiki: String,
    /// The page title.
    pub page: String,
    /// Which BotPassword.
    pub credentials: Credentials,
    /// Whether the page may be created (otherwise `nocreate`).
    pub allow_create: bool,
    /// Whether to put a published-from banner comment at the top (not for JSON).
    pub banner: bool,
}

/// A publish of a stored mapping (its watched file at the commit of the last check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingPublish {
    /// Who publishes (the mapping must be theirs).
    pub user: UserId,
    /// The mapping.
    pub mapping: MappingId,
}

/// Options of one publish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishOptions {
    /// Run steps 2–6 and return the diff; edit nothing. A dry run is a read: it takes no
    /// mutex and writes no publish-task or publish-log row.
    pub dry_run: bool,
    /// Publish even though the page was changed on-wiki since the last publish.
    pub overwrite_drift: bool,
}

/// A one-off publish with a BotPassword the caller supplies, for a
/// [`StandalonePublisher`](super::StandalonePublisher): no user, no stored credentials, no
/// record. The credential is the caller's own by construction: there is no stored one to ask
/// for without a store.
#[derive(Debug, Clone)]
pub struct StandalonePublish {
    /// The file.
    pub source: PublishSource,
    /// The wiki (`en.wikipedia.org`, or an API URL for a test wiki on the allow-list).
    pub wiki: String,
    /// The page title.
    pub page: String,
    /// The BotPassword to log in with. It is moved into the wiki session and wiped when the
    /// publish ends.
    pub credentials: BotPassword,
    /// Whether the page may be created (otherwise the edit is sent with `nocreate`).
    pub allow_create: bool,
    /// Whether to put a published-from banner comment at the top (not for JSON).
    pub banner: bool,
    /// The revision the caller's last publish to this page made, if it remembers one. There
    /// is no publish log to remember it for the caller, so without it the drift guard is off
    /// ([`DriftMemory::Off`](super::DriftMemory::Off)): an on-wiki change made since is
    /// replaced like any other difference. With it, the page being at any other revision
    /// (with other text than the file's) is refused as [`PublishError::Drift`](super::PublishError::Drift)
    /// unless [`PublishOptions::overwrite_drift`] is set.
    pub expected_revision: Option<u64>,
}
