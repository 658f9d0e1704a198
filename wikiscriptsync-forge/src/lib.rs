//! GitHub and GitLab clients that spend as little API quota as possible, repository URL parsing
//! and webhook verification for WikiScriptSync.
//!
//! - [`ForgeConfig`] (from values, through its builder; the crate reads no environment) →
//!   [`Forges`], which implements [`Forge`].
//! - [`Forges::parse_repo_url`] turns a URL into a [`RepoLocator`] or a [`LocatorError`] saying why not.
//! - [`Forges::locate`] (and [`Forge::locate`]) rebuilds a stored repository's [`RepoLocator`]
//!   from its kind, web host and `namespace/name`, without parsing a URL.
//! - Only public repositories may be read for a user: [`Forge::visibility`] says who can read
//!   one ([`Visibility`]), free when the client sends no token to that host (then every read is
//!   anonymous), else one request (on GitHub a conditional one, free when unchanged).
//! - A check is [`Forge::head`] (one conditional request; free on GitHub with a token when
//!   nothing moved) and, only if the branch moved, [`Forge::blob_shas`] (one tree request).
//! - A branch that does not exist is [`ForgeError::BranchNotFound`]; [`Forge::branches`] and
//!   [`near_matches`] find what the user may have meant.
//! - [`Forge::file_content`] reads bytes at a commit SHA and verifies their Git blob SHA.
//! - Every call fills a [`Usage`] with requests, quota spent and rate-limit snapshots.
//! - [`webhook`] verifies and parses GitHub and GitLab push hooks.
//! - With the `testkit` feature, `testkit::FakeGitHub` and `testkit::FakeGitLab` serve in-memory
//!   repositories on loopback.
#![warn(missing_docs)]

pub mod config;
pub mod error;
mod etag_cache;
pub mod forge;
pub mod github;
pub mod gitlab;
pub mod instance;
pub mod locator;
pub mod model;
pub mod router;
pub mod suggest;
#[cfg(feature = "testkit")]
pub mod testkit;
mod transport;
pub mod webhook;

pub use config::{
    ConfigError, ForgeConfig, ForgeConfigBuilder, RateLimitWaits, RetryPolicy, UserAgent,
    UserAgentError,
};
pub use error::{ForgeError, ForgeResult, LimitKind, Missing};
pub use forge::Forge;
pub use github::GitHubForge;
pub use gitlab::GitLabForge;
pub use instance::{ForgeInstance, ForgeKind, Token};
pub use locator::{LocatorError, RepoLocator, is_branch_name};
pub use model::{
    BlobSha, CommitSha, FileContent, HeadProbe, InvalidSha, KnownHead, RateLimitSnapshot, TreeFile,
    Usage, Visibility, VisibilityProbe, is_publishable,
};
pub use router::{Forges, HostHealth};
pub use suggest::near_matches;
