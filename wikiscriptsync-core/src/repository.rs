//! Where a tracked repository lives on its forge: the one place a stored [`Repository`] row
//! becomes the [`RepoLocator`] the forge clients take ([`locator_of`]), and a locator becomes
//! the typed parts a row keeps ([`new_repository`]). A stored repository is located from its
//! forge kind, web host and `full_name`; its URL is for people and links, not parsed again.
//!
//! It also holds the one rule on what may be read for a user ([`require_public`]): only public
//! repositories. Every forge request carries the operator's token for its host, so without
//! this rule any user could read (and publish to a public wiki) whatever that token can read.
//! Adding, listing files, watching, checking, previewing and publishing all ask it first.

use crate::forge::{
    Forge as ForgeClient, ForgeError, ForgeKind, LocatorError, RepoLocator, Usage, Visibility,
};
use crate::store::{Forge as StoredForge, NewRepository, Repository};

/// The forge kind a stored row names.
pub fn forge_kind(forge: StoredForge) -> ForgeKind {
    match forge {
        StoredForge::GitHub => ForgeKind::GitHub,
        StoredForge::GitLab => ForgeKind::GitLab,
    }
}

/// How a row stores a forge kind.
pub fn stored_forge(kind: ForgeKind) -> StoredForge {
    match kind {
        ForgeKind::GitHub => StoredForge::GitHub,
        ForgeKind::GitLab => StoredForge::GitLab,
    }
}

/// The row for a repository at `branch`: its kind, web host (`host[:port]`) and
/// `namespace/name` as typed parts, and its canonical web URL for display.
pub fn new_repository(locator: &RepoLocator, branch: String) -> NewRepository {
    NewRepository {
        forge: stored_forge(locator.kind),
        host: locator.web_host(),
        full_name: locator.full_name(),
        url: locator.web_url(),
        branch,
    }
}

/// Where a stored repository lives, as `forge` knows it: located from the row's forge kind,
/// web host and `full_name`, without parsing its URL (no request is made). Only a row stored
/// before `full_name` was kept, whose URL the migration could not split (an empty
/// `full_name`), has its URL parsed, here and nowhere else.
///
/// # Errors
/// A [`LocatorError`] when the configured forges no longer serve the repository's host, or
/// the stored parts (or a legacy row's URL) do not name a repository.
pub fn locator_of(
    forge: &dyn ForgeClient,
    repository: &Repository,
) -> Result<RepoLocator, LocatorError> {
    if repository.full_name.is_empty() {
        let parsed = forge.parse_repo_url(&repository.url)?;
        // The row names the repository; a branch or path in an old URL is not its branch.
        return Ok(RepoLocator {
            branch: None,
            path: None,
            ..parsed
        });
    }
    forge.locate(
        forge_kind(repository.forge),
        &repository.host,
        &repository.full_name,
    )
}

/// A repository that is not public, so it is not read for anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{url} is {visibility} on {host}; only public repositories can be tracked (make it public \
     there, or remove it here)"
)]
pub struct NotPublic {
    /// The repository's web URL (built from its validated parts).
    pub url: String,
    /// Its forge's web host (`host[:port]`).
    pub host: String,
    /// What its forge says.
    pub visibility: Visibility,
}

/// Why a repository was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadRefused {
    /// It is not public.
    #[error(transparent)]
    NotPublic(#[from] NotPublic),
    /// Its forge could not say (not found, rate limit, network, ...).
    #[error(transparent)]
    Forge(#[from] ForgeError),
}

/// Asks the forge, afresh, who may read `locator`, and refuses unless it is public: the rule
/// every read made for a user goes through first (a repository can turn private at any time).
/// Free when no token is configured for the host (every read is anonymous then); otherwise one
/// request, which on GitHub is conditional and free when nothing changed.
///
/// # Errors
/// [`ReadRefused::NotPublic`] for an internal or private repository; the forge's error when it
/// could not answer.
pub async fn require_public(
    forge: &dyn ForgeClient,
    locator: &RepoLocator,
    usage: &mut Usage,
) -> Result<(), ReadRefused> {
    let visibility = forge.visibility(locator, usage).await?;
    if visibility.is_public() {
        return Ok(());
    }
    Err(NotPublic {
        url: locator.web_url(),
        host: locator.web_host(),
        visibility,
    }
    .into())
}
