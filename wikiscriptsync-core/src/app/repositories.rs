//! Tracking a repository: adding it (URL and branch, the branch must exist), reading it with
//! its files, checking it now, and removing it.

use std::sync::Arc;

use chrono::Utc;

use super::branch_cache::CachedBranch;
use super::{App, Field, UseCaseError, UseCaseResult};
use crate::forge::{
    CommitSha, ForgeError, Missing, RepoLocator, TreeFile, Usage, is_branch_name, near_matches,
};
use crate::monitor::{RepositoryCheckSettings, RepositoryChecker, RepositoryRunReport};
use crate::repository::ReadRefused;
use crate::store::{
    MappingScope, MappingStatus, Repository, RepositoryId, StoreError, UserId, WatchedFile,
};

/// A repository with what the user tracks in it.
#[derive(Debug, Clone)]
pub struct RepositoryOverview {
    /// The repository.
    pub repository: Repository,
    /// Its watched files, by path.
    pub watched: Vec<WatchedFile>,
    /// Its mappings with their sync state.
    pub mappings: Vec<MappingStatus>,
}

/// The publishable files at a branch's head.
#[derive(Debug, Clone)]
pub struct BranchFiles {
    /// The head commit.
    pub head: CommitSha,
    /// The `.js`, `.css` and `.json` files with their blob SHAs, by path.
    pub files: Vec<TreeFile>,
}

/// A repository row with the number of files watched in it (the CLI's list).
#[derive(Debug, Clone)]
pub struct RepositoryListing {
    /// The repository.
    pub repository: Repository,
    /// How many of its files are watched.
    pub watched_files: usize,
}

/// What "check now" found, in a word a page or a script can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckNowOutcome {
    /// Checked: the branch had not moved.
    Unchanged,
    /// Checked: the branch moved; each watched file's check says what changed.
    Moved,
    /// Checked for the first time: the watched files' state at the branch head is known now.
    FirstCheck,
    /// The check failed; each file's check history says why.
    Failed,
    /// Not checked: the forge quota is down to the reserve.
    Reserve,
    /// Not checked: the user's share of the forge's requests for this hour is spent.
    Share,
    /// Not checked: another runner (the scheduled job) holds the repository's lease.
    Busy,
}

impl CheckNowOutcome {
    /// Every outcome.
    pub const ALL: [Self; 7] = [
        Self::Unchanged,
        Self::Moved,
        Self::FirstCheck,
        Self::Failed,
        Self::Reserve,
        Self::Share,
        Self::Busy,
    ];

    fn of(report: &RepositoryRunReport) -> Self {
        if report.checked == 0 {
            if !report.shares_spent.is_empty() {
                Self::Share
            } else if report.reserve_reached.is_empty() {
                Self::Busy
            } else {
                Self::Reserve
            }
        } else if report.failed > 0 {
            Self::Failed
        } else if report.moved > 0 && report.first_seen == report.moved {
            Self::FirstCheck
        } else if report.moved > 0 {
            Self::Moved
        } else {
            Self::Unchanged
        }
    }

    /// A fixed word for URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Moved => "moved",
            Self::FirstCheck => "first",
            Self::Failed => "failed",
            Self::Reserve => "reserve",
            Self::Share => "share",
            Self::Busy => "busy",
        }
    }

    /// The outcome a word names (`None` for any other text).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// What it means, in a sentence for the user.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::Unchanged => "Checked just now: the branch has not moved since the last check.",
            Self::Moved => {
                "Checked just now: the branch moved. Each watched file's state is below."
            }
            Self::FirstCheck => {
                "Checked just now for the first time: each watched file's state at the branch \
                 head is below, and it can be published from its page."
            }
            Self::Failed => {
                "The check failed. Each file's check history says why; the hourly check will \
                 try again."
            }
            Self::Reserve => {
                "Not checked: the forge's request quota for this hour is nearly spent. The \
                 hourly check will check it once the quota is back."
            }
            Self::Share => {
                "Not checked: your share of this forge's requests for this hour is spent. Checks \
                 of your repositories there resume when the next hour begins."
            }
            Self::Busy => {
                "Not checked now: the scheduled check is checking this repository at this \
                 moment. Its result shows here within a few minutes."
            }
        }
    }

    /// Whether the check ran and found no problem.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Unchanged | Self::Moved | Self::FirstCheck)
    }
}

impl App {
    /// Parses a repository URL against the configured forges (no request).
    pub fn parse_repository_url(&self, url: &str) -> UseCaseResult<RepoLocator> {
        let url = url.trim();
        if url.is_empty() {
            return Err(UseCaseError::invalid(
                Field::Url,
                "Give the repository's URL, e.g. https://github.com/owner/name.",
            ));
        }
        self.forges
            .parse_repo_url(url)
            .map_err(|e| UseCaseError::invalid(Field::Url, format!("The URL `{url}`: {e}")))
    }

    /// The repository a URL names and its default branch (one request, counted against the
    /// user's share of the host), to offer the branch before the repository is added.
    pub async fn default_branch(
        &self,
        user: UserId,
        url: &str,
    ) -> UseCaseResult<(RepoLocator, String)> {
        let locator = self.parse_repository_url(url)?;
        let branch = self
            .read_for(user, &locator, 1, async |usage| {
                self.forges
                    .default_branch(&locator, usage)
                    .await
                    .map_err(|e| repository_error(&locator, e))
            })
            .await?;
        Ok((locator, branch))
    }

    /// Runs `read` the way every read made for a user runs: refused before any request when
    /// their share of the host has no room for `requests` (see [`Self::require_share`]), then
    /// refused when the repository is not public, and what it cost (the visibility question
    /// included) counted against their share, also when it fails.
    async fn read_for<T>(
        &self,
        user: UserId,
        locator: &RepoLocator,
        requests: u64,
        read: impl AsyncFnOnce(&mut Usage) -> UseCaseResult<T>,
    ) -> UseCaseResult<T> {
        self.require_share(user, locator, requests).await?;
        let mut usage = Usage::default();
        let result = match self.require_public(locator, &mut usage).await {
            Ok(()) => read(&mut usage).await,
            Err(refused) => Err(refused),
        };
        self.quota.record(user, locator, &usage).await?;
        result
    }

    /// Refuses, before any request, when the user's share of the repository's forge host for
    /// this hour has no room for `requests` more, plus the question whether the repository is
    /// still public when that costs one (see [`crate::quota`]).
    pub(crate) async fn require_share(
        &self,
        user: UserId,
        locator: &RepoLocator,
        requests: u64,
    ) -> UseCaseResult<()> {
        let visibility = u64::from(self.forges.asks_visibility(locator));
        self.quota
            .check(user, locator, requests + visibility)
            .await?
            .map_err(UseCaseError::ShareSpent)
    }

    /// Tracks a public repository at a branch: the one given, else the one in a `/tree/` URL,
    /// else the default branch. An internal or private repository is refused before anything
    /// else is read; the branch must exist (one request), and a missing one is refused with the
    /// default branch and near matches suggested. The repository is due for a check at once.
    /// A user at their repository limit is refused before any request.
    pub async fn add_repository(
        &self,
        user: crate::store::UserId,
        url: &str,
        branch: Option<&str>,
    ) -> UseCaseResult<Repository> {
        let locator = self.parse_repository_url(url)?;
        let given = branch.map(str::trim).filter(|b| !b.is_empty());
        if let Some(branch) = given {
            validate_branch_name(branch)?;
        }
        self.ensure_room(user, super::Limit::Repositories, 1)
            .await?;
        // The branch's head, and the default branch when none is given.
        let requests = if given.is_some() || locator.branch.is_some() {
            1
        } else {
            2
        };
        let branch = self
            .read_for(user, &locator, requests, async |usage| {
                self.existing_branch(&locator, given.map(str::to_owned), usage)
                    .await
            })
            .await?;
        let new = crate::repository::new_repository(&locator, branch);
        match self.store.add_repository(user, &new, Utc::now()).await {
            Ok(repository) => Ok(repository),
            Err(StoreError::AlreadyExists { .. }) => Err(UseCaseError::Conflict(format!(
                "You already track {} at branch {}.",
                new.url, new.branch
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// The branch given (else the one in the URL, else the default branch), which must exist.
    async fn existing_branch(
        &self,
        locator: &RepoLocator,
        given: Option<String>,
        usage: &mut Usage,
    ) -> UseCaseResult<String> {
        let branch = match given.or_else(|| locator.branch.clone()) {
            Some(branch) => branch,
            None => self
                .forges
                .default_branch(locator, usage)
                .await
                .map_err(|e| repository_error(locator, e))?,
        };
        self.require_branch(locator, &branch, usage).await?;
        Ok(branch)
    }

    /// Refuses a branch that does not exist, naming the default branch and the branches whose
    /// names are close to the one given (two more requests, only on this path).
    async fn require_branch(
        &self,
        locator: &RepoLocator,
        branch: &str,
        usage: &mut Usage,
    ) -> UseCaseResult<()> {
        match self.forges.head(locator, branch, None, usage).await {
            Ok(_) => Ok(()),
            Err(ForgeError::BranchNotFound { .. }) => {
                let mut message = format!(
                    "The branch `{branch}` does not exist in {}.",
                    locator.web_url()
                );
                if let Ok(default) = self.forges.default_branch(locator, usage).await {
                    message.push_str(&format!(" Its default branch is `{default}`."));
                }
                let names = self
                    .forges
                    .branches(locator, "", usage)
                    .await
                    .unwrap_or_default();
                let near = near_matches(branch, &names);
                if !near.is_empty() {
                    let near: Vec<String> = near.iter().map(|n| format!("`{n}`")).collect();
                    message.push_str(&format!(" Did you mean {}?", near.join(" or ")));
                }
                message.push_str(" Check the spelling, or leave the branch empty for the default.");
                Err(UseCaseError::invalid(Field::Branch, message))
            }
            Err(err) => Err(repository_error(locator, err)),
        }
    }

    /// One of the user's repositories.
    pub async fn repository(
        &self,
        user: crate::store::UserId,
        id: RepositoryId,
    ) -> UseCaseResult<Repository> {
        self.store
            .repository(user, id)
            .await?
            .ok_or(UseCaseError::NotFound {
                what: "repository",
                id: id.0,
            })
    }

    /// The user's repositories, oldest first, with how many files each has watched.
    pub async fn repositories(
        &self,
        user: crate::store::UserId,
    ) -> UseCaseResult<Vec<RepositoryListing>> {
        let mut listings = Vec::new();
        for repository in self.store.list_repositories(user).await? {
            let watched_files = self
                .store
                .list_watched_files(user, repository.id)
                .await?
                .len();
            listings.push(RepositoryListing {
                repository,
                watched_files,
            });
        }
        Ok(listings)
    }

    /// One of the user's repositories with its watched files and their mappings (no request).
    pub async fn repository_overview(
        &self,
        user: crate::store::UserId,
        id: RepositoryId,
    ) -> UseCaseResult<RepositoryOverview> {
        let repository = self.repository(user, id).await?;
        let watched = self.store.list_watched_files(user, id).await?;
        let mappings = self
            .store
            .mapping_statuses(user, &MappingScope::Repository(id))
            .await?;
        Ok(RepositoryOverview {
            repository,
            watched,
            mappings,
        })
    }

    /// The publishable files at the head of the repository's branch, to choose which to
    /// watch: a conditional head probe, and a tree request only when the head is not the one
    /// these files were last read at (by any user: the repositories are public). Refused,
    /// before either, when the repository is no longer public; counted against the
    /// repository's user's share of the host, and refused when it is spent.
    pub async fn branch_files(&self, repository: &Repository) -> UseCaseResult<BranchFiles> {
        let locator = self.locator(repository)?;
        let user = repository.user_id;
        let cached = self.branches.get(&locator, &repository.branch);
        // Unknown to the cache: the head probe and the tree request.
        let requests = if cached.is_some() { 1 } else { 2 };
        self.read_for(user, &locator, requests, async |usage| {
            self.read_branch_files(&locator, &repository.branch, cached, usage)
                .await
        })
        .await
    }

    async fn read_branch_files(
        &self,
        locator: &RepoLocator,
        branch: &str,
        cached: Option<CachedBranch>,
        usage: &mut Usage,
    ) -> UseCaseResult<BranchFiles> {
        let probe = self
            .forges
            .head(locator, branch, cached.as_ref().map(|c| &c.head), usage)
            .await
            .map_err(|e| repository_error(locator, e))?;
        if let Some(cached) = cached
            && cached.head.sha == *probe.sha()
        {
            return Ok(BranchFiles {
                head: cached.head.sha,
                files: cached.files,
            });
        }
        let files = self
            .forges
            .publishable_files(locator, probe.sha(), usage)
            .await
            .map_err(|e| repository_error(locator, e))?;
        let known = probe.into_known(None);
        self.branches.put(
            locator,
            branch,
            known.sha.clone(),
            known.validator,
            files.clone(),
        );
        Ok(BranchFiles {
            head: known.sha,
            files,
        })
    }

    /// Refuses a repository that is not public (see [`crate::repository::require_public`]),
    /// with the reason, as a fault of the repository URL.
    pub(crate) async fn require_public(
        &self,
        locator: &RepoLocator,
        usage: &mut Usage,
    ) -> UseCaseResult<()> {
        match crate::repository::require_public(self.forges.as_ref(), locator, None, usage).await {
            Ok(_) => Ok(()),
            Err(ReadRefused::NotPublic(refusal)) => {
                Err(UseCaseError::invalid(Field::Url, refusal.to_string()))
            }
            Err(ReadRefused::Forge(err)) => Err(repository_error(locator, err)),
        }
    }

    /// Where a stored repository lives, as the forge router knows it (from the row's typed
    /// parts; see [`crate::repository::locator_of`]).
    pub(crate) fn locator(&self, repository: &Repository) -> UseCaseResult<RepoLocator> {
        crate::repository::locator_of(self.forges.as_ref(), repository).map_err(|e| {
            UseCaseError::invalid(
                Field::Url,
                format!(
                    "The stored repository {} can no longer be located ({e}); remove the \
                     repository and add it again.",
                    repository.url
                ),
            )
        })
    }

    /// Checks one of the user's repositories now, and only it: neither waiting for it to be due
    /// nor spending the forge quota on other repositories. Same lease, log, quota and change
    /// events as the scheduled check.
    pub async fn check_repository_now(
        &self,
        user: crate::store::UserId,
        id: RepositoryId,
        runner: &str,
    ) -> UseCaseResult<(CheckNowOutcome, Option<RepositoryRunReport>)> {
        // `check_one` makes the repository due only when it is this user's: another user's id
        // comes back as `None` below, with no separate ownership read first.
        let mut settings = RepositoryCheckSettings::new(self.runner_id(runner));
        settings.quota = self.quota.policy();
        // The reserve is kept for what people do, and this is that; the user's share applies.
        settings.leave_reserve = false;
        let checker =
            RepositoryChecker::new(Arc::clone(&self.store), Arc::clone(&self.forges), settings)
                .with_quota_clock(self.quota.clock().clone());
        match checker.check_one(user, id).await {
            Ok(Some(report)) => {
                tracing::info!(summary = %report.summary(), "repository checked on request");
                Ok((CheckNowOutcome::of(&report), Some(report)))
            }
            // Not this user's repository (or removed meanwhile).
            Ok(None) => Err(UseCaseError::NotFound {
                what: "repository",
                id: id.0,
            }),
            Err(err) => {
                tracing::warn!(error = %err, "repository check on request failed");
                Ok((CheckNowOutcome::Failed, None))
            }
        }
    }

    /// Stops tracking one of the user's repositories, with its watched files, mappings (and the
    /// monitors those mappings created) and check logs.
    pub async fn remove_repository(
        &self,
        user: crate::store::UserId,
        id: RepositoryId,
    ) -> UseCaseResult<()> {
        if self.store.remove_repository(user, id).await? {
            Ok(())
        } else {
            Err(UseCaseError::NotFound {
                what: "repository",
                id: id.0,
            })
        }
    }
}

/// The longest branch name the store keeps.
const MAX_BRANCH_CHARS: usize = 200;

/// Refuses branch names git itself refuses (`git check-ref-format`'s rules that matter here),
/// before any request.
pub(crate) fn validate_branch_name(branch: &str) -> UseCaseResult<()> {
    if branch.chars().count() > MAX_BRANCH_CHARS || !is_branch_name(branch) {
        return Err(UseCaseError::invalid(
            Field::Branch,
            format!(
                "`{}` is not a branch name git accepts (no spaces, `..`, `~^:?*[\\`, at most \
                 {MAX_BRANCH_CHARS} characters).",
                branch.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// A forge error about a repository, in words: a missing or private repository is the user's
/// to fix; anything else is the forge's.
fn repository_error(locator: &RepoLocator, error: ForgeError) -> UseCaseError {
    match error {
        ForgeError::NotFound {
            what: Missing::Repository,
            ..
        } => UseCaseError::invalid(
            Field::Url,
            format!(
                "{} does not exist or is not public. Check the URL; only public repositories \
                 can be tracked.",
                locator.web_url()
            ),
        ),
        other => UseCaseError::Forge {
            context: format!(
                "asking {} about {}",
                locator.api_host(),
                locator.full_name()
            ),
            cause: other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_git_refuses_are_refused_before_any_request() {
        for good in ["main", "feature/x", "release-1.2", "ünïcode"] {
            assert!(validate_branch_name(good).is_ok(), "{good}");
        }
        for bad in [
            "-x", "a..b", "a b", "a~1", "x.lock", "x/", "a:b", "a\nb", "a@{1}",
        ] {
            let err = validate_branch_name(bad).unwrap_err();
            assert_eq!(err.field(), Some(Field::Branch), "{bad}");
        }
        assert!(validate_branch_name(&"b".repeat(201)).is_err());
    }

    #[test]
    fn check_outcomes_round_trip_through_their_words() {
        for outcome in CheckNowOutcome::ALL {
            assert_eq!(CheckNowOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(CheckNowOutcome::parse("<script>"), None);
    }
}
