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
//! - [`Forges`]' own methods take what the call needs and no more; what they cost (requests,
//!   quota spent, 304s, rate-limit snapshots) adds up in [`Forges::usage`]. The [`Forge`]
//!   trait's methods, which core calls through `Arc<dyn Forge>`, fill a caller's [`Usage`] per
//!   call instead.
//! - [`webhook`] verifies and parses GitHub and GitLab push hooks.
//! - With the `testkit` feature, `testkit::FakeGitHub` and `testkit::FakeGitLab` serve in-memory
//!   repositories on loopback.
//!
//! Everything is configured in code; the crate reads no environment variable. Name your tool
//! in the User-Agent ([`UserAgent::new`]: product, version, contact, as the Wikimedia
//! User-Agent policy asks) and give [`ForgeConfig::builder`] what you have: a GitHub
//! Enterprise API URL ([`ForgeConfigBuilder::github_api_url`]), a GitLab instance's base URL
//! ([`ForgeConfigBuilder::gitlab_instance`]), tokens. github.com, gitlab.com and
//! gitlab.wikimedia.org are known without configuration.
//!
//! Reading a repository's head, its publishable files and one file, then asking again whether
//! the branch moved (free on GitHub with a token). The example runs against the crate's fake
//! GitHub (feature `testkit`); for github.com leave out `github_api_url`:
//!
//! ```
//! # #[cfg(feature = "testkit")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use wikiscriptsync_forge::testkit::FakeGitHub;
//! use wikiscriptsync_forge::*;
//! # let fake = FakeGitHub::start().await;
//! # fake.add_repo("octo/gadgets", [("src/Gadget.js", "mw.log('hi');\n"), ("README.md", "")]);
//! let api_url = fake.uri(); // e.g. "https://ghe.example.org/api/v3" for Enterprise
//!
//! let agent = UserAgent::new("MyTool", "1.0", "https://example.org/mytool")?;
//! let forges = Forges::new(ForgeConfig::builder(agent).github_api_url(&api_url).build()?)?;
//! let repo = forges.parse_repo_url("https://github.com/octo/gadgets")?;
//! let head = forges.head(&repo, "main", None).await?;
//! let files = forges.publishable_files(&repo, head.sha()).await?;
//! let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
//! assert_eq!(paths, ["src/Gadget.js"]); // only .js, .css and .json files
//! let file = forges
//!     .file_content(&repo, head.sha(), "src/Gadget.js", Some(&files[0].blob_sha))
//!     .await?;
//! assert_eq!(file.text()?, "mw.log('hi');\n");
//!
//! // Next time: hand back what the probe said; an unchanged branch is `NotModified`.
//! let known = head.into_known(None);
//! let again = forges.head(&repo, "main", Some(&known)).await?;
//! assert!(!again.moved());
//! assert_eq!(forges.usage().requests, 4);
//! # Ok(()) }
//! # #[cfg(not(feature = "testkit"))]
//! # fn main() {}
//! ```
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
/// The secret type of the signatures that take one (tokens, webhook secrets), re-exported so a
/// caller needs no direct dependency on `secrecy` to call them.
pub use secrecy::SecretString;
pub use suggest::near_matches;
