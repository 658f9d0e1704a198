//! The [`Forge`] trait every caller programs against, and the helpers both implementations
//! share (URL building, blob verification, tree filters).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use url::Url;

use crate::error::{ForgeError, ForgeResult, Missing};
use crate::instance::ForgeKind;
use crate::locator::{LocatorError, RepoLocator};
use crate::model::{
    BlobSha, CommitSha, FileContent, HeadProbe, KnownHead, RateLimitSnapshot, TreeFile, Usage,
    VisibilityProbe,
};

/// Read access to a forge, in the fewest requests the API allows.
///
/// Every method records the requests it sent, the quota they cost and every rate-limit snapshot
/// in `usage` — also when it fails — so callers can keep a quota log and count requests.
///
/// # Errors
///
/// Every method that sends a request can fail with these, for which
/// [`ForgeError::is_transient`] tells whether the same call may succeed later:
/// [`ForgeError::NotFound`] (the repository is missing, or not public to this client's
/// token), [`ForgeError::Unauthorized`] (a bad or under-scoped token, or a repository that is
/// not public), [`ForgeError::RateLimited`] (send nothing to that host before its
/// `retry_at`), [`ForgeError::Server`] (5xx after the retries; try again on the next run),
/// [`ForgeError::Timeout`], [`ForgeError::Network`], [`ForgeError::Malformed`] (an answer not
/// shaped as the API documents), [`ForgeError::HostNotAllowed`] (a redirect or link to a host
/// this client does not serve) and [`ForgeError::NoClient`] (the repository is on a forge this
/// client has no configuration for). Each method lists the errors particular to it.
#[async_trait]
pub trait Forge: Send + Sync {
    /// The repository's default branch (one request).
    ///
    /// # Errors
    ///
    /// Only those listed on the trait.
    async fn default_branch(
        &self,
        repo: &RepoLocator,
        usage: &mut Usage,
    ) -> Result<String, ForgeError>;

    /// Whether [`Forge::visibility`] sends a request for `repo` (it does when this client sends
    /// the operator's token to the repository's host), so a caller that budgets requests can
    /// count it before asking. No request is made.
    fn asks_visibility(&self, repo: &RepoLocator) -> bool;

    /// Who may read the repository ([`crate::Visibility`]), asked afresh: a repository can turn
    /// private at any time, so ask before each read made for a user. `known` is the
    /// [`VisibilityProbe::validator`] of an earlier probe, if the caller kept one.
    ///
    /// When this client sends no token to the repository's host, every request it makes is
    /// anonymous and can only ever read public repositories: the answer is
    /// [`crate::Visibility::Public`] without a request (a private repository then looks missing to
    /// the reads that follow). With a token, one request: GitHub's `GET /repos/{owner}/{repo}`,
    /// conditional on `known` or the ETag cache (a `304` sent with a token costs no quota);
    /// GitLab's `GET /projects/:id` (by the id a kept validator names, else by the path),
    /// which also resolves the numeric id the other calls need, and which concurrent calls for
    /// one project share.
    ///
    /// # Errors
    ///
    /// Those listed on the trait; [`ForgeError::NotFound`] also for a repository that turned
    /// private or was deleted since the caller last saw it: stop reading it for the user.
    async fn visibility(
        &self,
        repo: &RepoLocator,
        known: Option<&str>,
        usage: &mut Usage,
    ) -> Result<VisibilityProbe, ForgeError>;

    /// Where `branch` points, as a conditional probe against what the caller knows: one request;
    /// on GitHub with a token an unchanged branch costs no quota.
    ///
    /// # Errors
    ///
    /// [`ForgeError::BranchNotFound`] when the repository has no branch of that name (see
    /// [`Forge::branches`] for suggestions); otherwise those listed on the trait.
    async fn head(
        &self,
        repo: &RepoLocator,
        branch: &str,
        known: Option<&KnownHead>,
        usage: &mut Usage,
    ) -> Result<HeadProbe, ForgeError>;

    /// The names of the repository's branches that contain `search` (all when it is empty), in
    /// one request: at most 100 names, sorted by name. GitLab filters on the server (its
    /// `search` parameter, where `^term` and `term$` anchor the match); GitHub has no branch
    /// search, so its first 100 branches are filtered here, ignoring case.
    ///
    /// With [`near_matches`](crate::near_matches) this turns a
    /// [`ForgeError::BranchNotFound`] into "did you mean `main`?".
    ///
    /// # Errors
    ///
    /// Only those listed on the trait; no branch matching is an empty list, not an error.
    async fn branches(
        &self,
        repo: &RepoLocator,
        search: &str,
        usage: &mut Usage,
    ) -> ForgeResult<Vec<String>>;

    /// Every publishable file (`.js`, `.css`, `.json`) at `commit` with its blob SHA, sorted by
    /// path (one tree request; more only for very large trees).
    ///
    /// # Errors
    ///
    /// [`ForgeError::TreeTooLarge`] when a truncated tree needed more requests than allowed;
    /// [`ForgeError::NotFound`] also when the commit does not exist; otherwise those listed on
    /// the trait.
    async fn publishable_files(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        usage: &mut Usage,
    ) -> Result<Vec<TreeFile>, ForgeError>;

    /// The blob SHAs of `paths` at `commit`, from one tree request. Paths absent from the answer
    /// do not exist (as files) at that commit.
    ///
    /// # Errors
    ///
    /// As for [`Forge::publishable_files`]; a path that does not exist is absent from the map,
    /// not an error.
    async fn blob_shas(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        paths: &[String],
        usage: &mut Usage,
    ) -> Result<BTreeMap<String, TreeFile>, ForgeError>;

    /// The bytes of `path` at `commit` (a SHA, never a branch: branch-addressed content can be
    /// stale), verified against `expected` — or, without it, against the tree's blob SHA, which
    /// costs one more request. Refuses files over the configured limit (2 MiB).
    ///
    /// # Errors
    ///
    /// [`ForgeError::NotFound`] when the file (or commit) does not exist;
    /// [`ForgeError::TooLarge`] when the file is over the limit (nothing of it is returned);
    /// [`ForgeError::BlobMismatch`] when the bytes received do not hash to the expected blob
    /// SHA (never publish them; fetching again may help); otherwise those listed on the trait.
    async fn file_content(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        path: &str,
        expected: Option<&BlobSha>,
        usage: &mut Usage,
    ) -> Result<FileContent, ForgeError>;

    /// The latest rate-limit snapshot seen from the repository's API host, for quota reserves.
    fn rate_limit(&self, repo: &RepoLocator) -> Option<RateLimitSnapshot>;

    /// The repository a web URL names on a forge this client serves (no request is made), so
    /// a caller holding only the trait can turn what a user typed, or a stored URL, into a
    /// [`RepoLocator`].
    ///
    /// # Errors
    /// A [`LocatorError`] saying what is wrong with the URL, or that its host is not one this
    /// client serves.
    fn parse_repo_url(&self, input: &str) -> Result<RepoLocator, LocatorError>;

    /// The repository at `full_name` (`namespace/name`) on the instance of `kind` at
    /// `web_host`, from these typed parts as they are stored (no URL is parsed, no request is
    /// made); see [`crate::ForgeConfig::locate`].
    ///
    /// # Errors
    /// A [`LocatorError`] when no instance this client serves matches, or the path is not one
    /// the forge would have.
    fn locate(
        &self,
        kind: ForgeKind,
        web_host: &str,
        full_name: &str,
    ) -> Result<RepoLocator, LocatorError>;
}

/// `base` + segments, each percent-encoded as one path segment (`/` inside becomes `%2F`).
pub(crate) fn api_url(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Which files a tree walk keeps, and which directories it must enter.
pub(crate) enum TreeScope<'a> {
    /// Every publishable file.
    Publishable,
    /// Exactly these paths.
    Paths(&'a BTreeSet<String>),
}

impl TreeScope<'_> {
    pub(crate) fn keeps(&self, path: &str) -> bool {
        match self {
            Self::Publishable => crate::model::is_publishable(path),
            Self::Paths(paths) => paths.contains(path),
        }
    }

    /// Whether a directory may hold a kept file (entered when a tree must be walked by hand).
    pub(crate) fn enters(&self, dir: &str) -> bool {
        match self {
            Self::Publishable => true,
            Self::Paths(paths) => {
                let prefix = format!("{dir}/");
                paths.iter().any(|p| p.starts_with(&prefix))
            }
        }
    }

    /// The deepest directory holding every wanted path ("" for the root).
    pub(crate) fn common_dir(&self) -> String {
        let Self::Paths(paths) = self else {
            return String::new();
        };
        let mut dirs = paths
            .iter()
            .map(|p| p.rsplit_once('/').map_or("", |(d, _)| d));
        let Some(first) = dirs.next() else {
            return String::new();
        };
        let mut common: Vec<&str> = if first.is_empty() {
            Vec::new()
        } else {
            first.split('/').collect()
        };
        for dir in dirs {
            let parts: Vec<&str> = if dir.is_empty() {
                Vec::new()
            } else {
                dir.split('/').collect()
            };
            let same = common
                .iter()
                .zip(&parts)
                .take_while(|(a, b)| a == b)
                .count();
            common.truncate(same);
        }
        common.join("/")
    }
}

/// Checks size and blob SHA of fetched bytes.
pub(crate) fn verified_content(
    path: &str,
    commit: &CommitSha,
    expected: &BlobSha,
    bytes: Vec<u8>,
    limit: u64,
) -> Result<FileContent, ForgeError> {
    if bytes.len() as u64 > limit {
        return Err(ForgeError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit,
        });
    }
    let actual = BlobSha::of_bytes(&bytes);
    if &actual != expected {
        return Err(ForgeError::BlobMismatch {
            path: path.to_owned(),
            expected: expected.clone(),
            actual,
        });
    }
    Ok(FileContent {
        path: path.to_owned(),
        commit: commit.clone(),
        blob_sha: actual,
        bytes,
    })
}

/// The blob SHA (and size) to verify `path` against: the caller's, or one tree lookup.
pub(crate) async fn expected_blob(
    forge: &(dyn Forge + '_),
    repo: &RepoLocator,
    commit: &CommitSha,
    path: &str,
    expected: Option<&BlobSha>,
    usage: &mut Usage,
) -> Result<(BlobSha, Option<u64>), ForgeError> {
    if let Some(sha) = expected {
        return Ok((sha.clone(), None));
    }
    let found = forge
        .blob_shas(repo, commit, &[path.to_owned()], usage)
        .await?;
    let file = found.get(path).ok_or_else(|| ForgeError::NotFound {
        what: Missing::File,
        subject: format!("{path} at {}", commit.short()),
    })?;
    Ok((file.blob_sha.clone(), file.size))
}

/// Re-labels a size error raised while reading a body with the file's path.
pub(crate) fn name_too_large(error: ForgeError, path: &str) -> ForgeError {
    match error {
        ForgeError::TooLarge { size, limit, .. } => ForgeError::TooLarge {
            path: path.to_owned(),
            size,
            limit,
        },
        other => other,
    }
}

/// A typed error for a status the endpoint does not document.
pub(crate) fn unexpected_status(
    repo: &RepoLocator,
    what: &'static str,
    status: reqwest::StatusCode,
) -> ForgeError {
    ForgeError::Malformed {
        host: repo.api_host(),
        what,
        detail: format!("unexpected HTTP status {status}"),
    }
}

/// A typed error for a body that does not parse.
pub(crate) fn malformed(
    repo: &RepoLocator,
    what: &'static str,
    detail: impl std::fmt::Display,
) -> ForgeError {
    ForgeError::Malformed {
        host: repo.api_host(),
        what,
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_encodes_each_segment_separately() {
        let base = Url::parse("https://gitlab.example.org/api/v4/").unwrap();
        let url = api_url(
            &base,
            &["projects", "42", "repository", "branches", "feature/x"],
        );
        assert_eq!(
            url.as_str(),
            "https://gitlab.example.org/api/v4/projects/42/repository/branches/feature%2Fx"
        );
    }

    #[test]
    fn common_dir_is_the_deepest_shared_directory() {
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        let paths = set(&["src/a/x.js", "src/a/y.css"]);
        assert_eq!(TreeScope::Paths(&paths).common_dir(), "src/a");
        let paths = set(&["src/a/x.js", "src/b/y.css"]);
        assert_eq!(TreeScope::Paths(&paths).common_dir(), "src");
        let paths = set(&["x.js", "src/y.css"]);
        assert_eq!(TreeScope::Paths(&paths).common_dir(), "");
        assert!(TreeScope::Paths(&paths).enters("src"));
        assert!(!TreeScope::Paths(&paths).enters("lib"));
    }
}
