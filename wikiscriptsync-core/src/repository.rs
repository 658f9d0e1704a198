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
/// request, which on GitHub is conditional on `known` (a validator an earlier answer gave, see
/// [`Validators`]) and free when nothing changed. Returns the validator to keep.
///
/// # Errors
/// [`ReadRefused::NotPublic`] for an internal or private repository; the forge's error when it
/// could not answer.
pub async fn require_public(
    forge: &dyn ForgeClient,
    locator: &RepoLocator,
    known: Option<&str>,
    usage: &mut Usage,
) -> Result<Option<String>, ReadRefused> {
    let probe = forge.visibility(locator, known, usage).await?;
    if probe.visibility.is_public() {
        return Ok(probe.validator);
    }
    Err(NotPublic {
        url: locator.web_url(),
        host: locator.web_host(),
        visibility: probe.visibility,
    }
    .into())
}

/// The longest validator text the repository row keeps (`etag VARCHAR(255)`).
const MAX_VALIDATOR_CHARS: usize = 255;

/// The validators a repository row keeps in its one `etag` column: the head probe's, and on
/// a second line the visibility probe's (so that the hourly check, a new process each time,
/// can ask GitHub conditionally and free). A row from before keeps only the head's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The head probe's ([`crate::forge::KnownHead::validator`]).
    pub head: Option<String>,
    /// The visibility probe's ([`crate::forge::VisibilityProbe::validator`]).
    pub visibility: Option<String>,
}

impl Validators {
    /// The validators in a row's `etag` column (validators hold no line breaks).
    pub fn parse(stored: Option<&str>) -> Self {
        let Some(stored) = stored else {
            return Self::default();
        };
        let (head, visibility) = stored.split_once('\n').unwrap_or((stored, ""));
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Self {
            head: some(head),
            visibility: some(visibility),
        }
    }

    /// The text for the `etag` column (`None` when there is nothing to keep). The visibility
    /// validator is dropped rather than the column overflowed: it only saves a request.
    pub fn to_column(&self) -> Option<String> {
        let head = self.head.clone().unwrap_or_default();
        let joined = match &self.visibility {
            Some(v) if !v.contains('\n') => format!("{head}\n{v}"),
            _ => head.clone(),
        };
        let kept = if joined.chars().count() > MAX_VALIDATOR_CHARS {
            head
        } else {
            joined
        };
        (!kept.is_empty()).then_some(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_validators_share_the_column_and_old_rows_keep_their_head_validator() {
        let both = Validators {
            head: Some("\"abc\"".to_owned()),
            visibility: Some("W/\"def\"".to_owned()),
        };
        let column = both.to_column();
        assert_eq!(column.as_deref(), Some("\"abc\"\nW/\"def\""));
        assert_eq!(Validators::parse(column.as_deref()), both);
        let old = Validators::parse(Some("gitlab-project:42"));
        assert_eq!(old.head.as_deref(), Some("gitlab-project:42"));
        assert_eq!(old.visibility, None);
        assert_eq!(Validators::parse(None), Validators::default());
        assert_eq!(Validators::default().to_column(), None);
        let only_visibility = Validators {
            head: None,
            visibility: Some("W/\"v\"".to_owned()),
        };
        assert_eq!(
            Validators::parse(only_visibility.to_column().as_deref()),
            only_visibility
        );
        // Too long for the column: the head validator is what matters.
        let long = Validators {
            head: Some("h".repeat(200)),
            visibility: Some("v".repeat(100)),
        };
        assert_eq!(long.to_column(), Some("h".repeat(200)));
    }
}
