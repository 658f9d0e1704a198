//! Users, tracked repositories, watched files and their mappings to wiki pages.

use chrono::{DateTime, Utc};

use super::*;

/// A user, keyed by the OAuth central id (`sub`), not by the renameable user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: UserId,
    /// The OAuth 2.0 `sub` claim (the global account's central id).
    pub central_id: String,
    /// The user name at the last login.
    pub username: String,
    /// When the user first logged in.
    pub created_at: DateTime<Utc>,
    /// When the user last logged in.
    pub last_login_at: DateTime<Utc>,
}

/// A repository to track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRepository {
    /// GitHub or GitLab.
    pub forge: Forge,
    /// The forge's web host (`github.com`, `gitlab.wikimedia.org`; `host:port` when the
    /// instance is not on its scheme's default port).
    pub host: String,
    /// The repository's path on the forge: `namespace/name` (GitHub's `full_name`, GitLab's
    /// `path_with_namespace`). With `forge` and `host` it locates the repository without
    /// parsing `url`.
    pub full_name: String,
    /// The repository's web URL (for people and links; not parsed to locate the repository).
    pub url: String,
    /// The branch to follow.
    pub branch: String,
}

/// A tracked repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Row id.
    pub id: RepositoryId,
    /// Owner.
    pub user_id: UserId,
    /// GitHub or GitLab.
    pub forge: Forge,
    /// The forge's web host (`host` or `host:port`).
    pub host: String,
    /// The repository's path on the forge (`namespace/name`); empty for a row stored before
    /// the column existed whose URL did not have the canonical `https://<host>/<full_name>`
    /// shape (its locator comes from parsing `url` instead).
    pub full_name: String,
    /// The repository's web URL.
    pub url: String,
    /// The branch followed.
    pub branch: String,
    /// The branch head SHA seen at the last successful check.
    pub head_sha: Option<String>,
    /// The ETag of the last head probe, for the next conditional request.
    pub etag: Option<String>,
    /// When the repository was last checked.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// The result of the last check.
    pub last_status: Option<RepositoryCheckStatus>,
    /// When the repository is due for its next check.
    pub next_check_at: DateTime<Utc>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A file of a repository under monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedFile {
    /// Row id.
    pub id: WatchedFileId,
    /// The repository.
    pub repository_id: RepositoryId,
    /// Path inside the repository.
    pub path: String,
    /// Git blob SHA seen at the last check (file content is never stored).
    pub last_blob_sha: Option<String>,
    /// When it was last checked.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Result of the last check.
    pub last_status: Option<FileCheckStatus>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Per-target publishing options of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingOptions {
    /// Whether publishing to this target is switched on.
    pub publish_enabled: bool,
    /// Whether a publish may create the page (otherwise `nocreate`).
    pub allow_create: bool,
    /// Whether to put a "published from" banner comment at the top.
    pub add_banner: bool,
}

impl Default for MappingOptions {
    fn default() -> Self {
        Self {
            publish_enabled: true,
            allow_create: false,
            add_banner: false,
        }
    }
}

/// A new file → wiki page mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMapping {
    /// The watched file to publish.
    pub watched_file_id: WatchedFileId,
    /// The wiki's host name, e.g. `en.wikipedia.org`.
    pub wiki: String,
    /// The page title, e.g. `User:Example/common.js`.
    pub page_title: String,
    /// Publishing options.
    pub options: MappingOptions,
}

/// What was published last to a mapping's page (the drift guard compares against it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedState {
    /// Git blob SHA of the published file.
    pub blob_sha: String,
    /// Commit the file was taken from.
    pub commit_sha: String,
    /// Revision id our edit created (or found, for "no change").
    pub revid: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// A file → wiki page mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Row id.
    pub id: MappingId,
    /// The watched file.
    pub watched_file_id: WatchedFileId,
    /// The wiki host.
    pub wiki: String,
    /// The page title.
    pub page_title: String,
    /// Publishing options.
    pub options: MappingOptions,
    /// The last successful publish, if any.
    pub last_published: Option<PublishedState>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// Which mappings [`crate::Store::mapping_statuses`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingScope {
    /// Every mapping of the user.
    All,
    /// The mappings of one repository's watched files.
    Repository(RepositoryId),
    /// The mappings of one watched file.
    File(WatchedFileId),
    /// The mappings to pages on one wiki (as stored, e.g. `en.wikipedia.org`).
    Wiki(String),
}

/// A mapping with the file and repository it publishes from and how it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingStatus {
    /// The mapping.
    pub mapping: Mapping,
    /// The watched file's path.
    pub file_path: String,
    /// The repository the file is in.
    pub repository_id: RepositoryId,
    /// The repository's URL.
    pub repository_url: String,
    /// How the page stands against the file.
    pub state: MappingSyncState,
}
