//! [`ForgeError`]: what went wrong talking to a forge, one variant per thing the caller does
//! differently (fix the URL, add a token, wait until a time, retry next run, refuse the file).

use std::time::SystemTime;

use crate::model::BlobSha;

/// Which secondary or primary limit stopped a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// The hourly (GitHub) or per-minute (GitLab) request quota is used up; nothing is sent to
    /// the host before the reset.
    Primary,
    /// A secondary / abuse limit or a 429 asked us to slow down for longer than we wait.
    Secondary,
}

/// What could not be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The repository (or it is not public and the request was anonymous).
    Repository,
    /// The branch.
    Branch,
    /// The commit.
    Commit,
    /// The file at that commit.
    File,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Repository => "repository",
            Self::Branch => "branch",
            Self::Commit => "commit",
            Self::File => "file",
        })
    }
}

/// A failed forge call. Messages never contain tokens (they travel only in headers).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForgeError {
    /// The repository, branch, commit or file does not exist (both forges also answer 404 for
    /// a repository that is not public to a request without a token that can see it).
    #[error(
        "{what} not found: {subject} (check the spelling; only public repositories can be read)"
    )]
    NotFound {
        /// What is missing.
        what: Missing,
        /// Repository, branch or path, as asked for.
        subject: String,
    },
    /// The repository exists but has no branch of that name (GitHub answers `422 No commit found
    /// for SHA` for `commits/{ref}`, or `409` when the repository is empty; GitLab `404 Branch Not
    /// Found`). [`Forge::branches`](crate::Forge::branches) and
    /// [`near_matches`](crate::near_matches) find what the user may have meant.
    #[error(
        "{repository} has no branch `{branch}`: check its spelling, or pick one of the repository's branches"
    )]
    BranchNotFound {
        /// The repository (`owner/name`).
        repository: String,
        /// The branch, as asked for.
        branch: String,
    },
    /// 401/403 that is not a rate limit: a bad or under-scoped token, or a repository that is
    /// not public.
    #[error(
        "{host} refused access ({status}): the configured token is invalid or lacks read access to public repositories, or the repository is not public"
    )]
    Unauthorized {
        /// API host.
        host: String,
        /// 401 or 403.
        status: u16,
    },
    /// A rate limit; do not send requests to this host before `retry_at`.
    #[error("{host} rate limit ({kind:?}) reached: no requests before {}", httpdate::fmt_http_date(*retry_at))]
    RateLimited {
        /// API host.
        host: String,
        /// Primary quota or secondary limit.
        kind: LimitKind,
        /// When requests may resume.
        retry_at: SystemTime,
    },
    /// 5xx after the allowed retries; try again on the next run.
    #[error("{host} answered {status} (server error) after {attempts} attempts: try again later")]
    Server {
        /// API host.
        host: String,
        /// Last status.
        status: u16,
        /// Requests made.
        attempts: u32,
    },
    /// No answer within the configured timeout.
    #[error("{host} did not answer within the timeout: try again later")]
    Timeout {
        /// API host.
        host: String,
    },
    /// Connection-level failure (DNS, TLS, reset).
    #[error("could not reach {host}: {source}")]
    Network {
        /// API host.
        host: String,
        /// The transport error (its URL carries no credentials).
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not shaped as the API documents.
    #[error("{host} sent a malformed answer for {what}: {detail}")]
    Malformed {
        /// API host.
        host: String,
        /// Which call.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The file is bigger than a wiki page may be.
    #[error(
        "{path} is {size} bytes, more than the {limit}-byte limit of a wiki page: it cannot be published"
    )]
    TooLarge {
        /// File path.
        path: String,
        /// Size, as far as known (at least `limit + 1`).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The bytes received do not hash to the blob SHA the tree names: never publish them.
    #[error(
        "{path}: the bytes received hash to {actual}, not to the expected blob {expected}; the content was altered in transit or by a cache, retry later"
    )]
    BlobMismatch {
        /// File path.
        path: String,
        /// Blob SHA from the tree.
        expected: BlobSha,
        /// Blob SHA of the bytes received.
        actual: BlobSha,
    },
    /// A truncated tree needed more requests than allowed.
    #[error("the tree of {repository} is too large to walk within {limit} requests")]
    TreeTooLarge {
        /// Repository.
        repository: String,
        /// Request budget.
        limit: u32,
    },
    /// A URL (redirect, `Link` header, locator) pointed at a host that is not allow-listed.
    #[error("refused to contact {host}: it is not a configured forge API host")]
    HostNotAllowed {
        /// The host.
        host: String,
    },
    /// The locator is of a forge this router has no client for.
    #[error("no client configured for {0}")]
    NoClient(String),
}

/// The result of a forge call.
pub type ForgeResult<T> = Result<T, ForgeError>;

impl ForgeError {
    /// Whether trying the same call again later may succeed (rate limits, 5xx, timeouts,
    /// network, mismatched bytes).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Network { .. }
                | Self::BlobMismatch { .. }
        )
    }
}
