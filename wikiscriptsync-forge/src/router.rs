//! [`Forges`]: one object that parses repository URLs against the configuration and routes each
//! call to the GitHub or GitLab client, sharing one connection pool, one set of per-host gates
//! and one ETag cache. Core holds it as `Arc<dyn Forge>` (each call filling the caller's
//! [`Usage`]) or asks it for the client of a locator; a program using it directly calls its own
//! methods, which take no `Usage` and add to the router's running total ([`Forges::usage`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::config::{ConfigError, ForgeConfig};
use crate::error::{ForgeError, ForgeResult};
use crate::forge::Forge;
use crate::github::GitHubForge;
use crate::gitlab::GitLabForge;
use crate::instance::{ForgeInstance, ForgeKind, host_key};
use crate::locator::{LocatorError, RepoLocator};
use crate::model::{
    BlobSha, CommitSha, FileContent, HeadProbe, KnownHead, RateLimitSnapshot, TreeFile, Usage,
    VisibilityProbe,
};
use crate::transport::{ApiRequest, Transport};

/// Whether one forge API host answers us, for `check-health`.
#[derive(Debug)]
pub struct HostHealth {
    /// GitHub or GitLab.
    pub kind: ForgeKind,
    /// The API base that was asked.
    pub api_base: url::Url,
    /// Whether a token is configured (and was accepted, when `result` is `Ok`).
    pub authenticated: bool,
    /// The host's rate-limit snapshot, or why it could not be reached or refused the token.
    pub result: Result<Option<RateLimitSnapshot>, ForgeError>,
}

/// Every configured forge behind one [`Forge`] implementation.
///
/// Two ways to call it, one behaviour:
///
/// - Its own methods ([`Forges::head`], [`Forges::publishable_files`], …) take no [`Usage`]:
///   what each call costs is added to the router's running total, [`Forges::usage`]. This is
///   the way for a program that wants the answers and, now and then, the count.
/// - The [`Forge`] trait's methods (`Forge::head(&forges, …, &mut usage)`, or any call
///   through an `Arc<dyn Forge>`) fill the caller's [`Usage`] with exactly that call's cost, for
///   a caller that accounts per call or per user; they add to the running total as well.
///
/// The own methods call the trait's: the requests sent, the caching and the errors are the
/// same. With the trait in scope, `forges.head(…)` is the router's own method; write
/// `Forge::head(&forges, …)` for the trait's.
pub struct Forges {
    config: ForgeConfig,
    transport: Arc<Transport>,
    github: Arc<GitHubForge>,
    gitlab: Arc<GitLabForge>,
    /// Requests, quota and 304s of every call so far (no snapshots: see `usage`).
    total: Mutex<Usage>,
}

impl std::fmt::Debug for Forges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forges")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Forges {
    /// Builds the clients for a configuration.
    pub fn new(config: ForgeConfig) -> Result<Self, ConfigError> {
        let transport =
            Arc::new(Transport::new(&config).map_err(|e| ConfigError::HttpClient(e.to_string()))?);
        Ok(Self {
            github: Arc::new(GitHubForge::with_transport(Arc::clone(&transport), &config)),
            gitlab: Arc::new(GitLabForge::with_transport(Arc::clone(&transport), &config)),
            transport,
            config,
            total: Mutex::new(Usage::default()),
        })
    }

    /// What every call through this router has cost so far, by either way of calling:
    /// requests sent (retries included), quota spent and `304 Not Modified` answers. Its
    /// `snapshots` hold the latest rate-limit snapshot of each API host contacted, as
    /// [`Forges::rate_limits`] has them (the running total keeps no history of snapshots).
    pub fn usage(&self) -> Usage {
        let total = self.total.lock().unwrap_or_else(PoisonError::into_inner);
        Usage {
            requests: total.requests,
            quota_spent: total.quota_spent,
            not_modified: total.not_modified,
            snapshots: self.rate_limits().into_values().collect(),
        }
    }

    /// Adds one call's cost to the running total and hands it to the caller's `usage`.
    fn count(&self, call: Usage, usage: &mut Usage) {
        self.add_to_total(&call);
        usage.absorb(call);
    }

    /// Adds one call's requests, quota and 304s to the running total.
    fn add_to_total(&self, call: &Usage) {
        let mut total = self.total.lock().unwrap_or_else(PoisonError::into_inner);
        total.requests = total.requests.saturating_add(call.requests);
        total.quota_spent = total.quota_spent.saturating_add(call.quota_spent);
        total.not_modified = total.not_modified.saturating_add(call.not_modified);
    }

    /// The repository's default branch (one request). The same as [`Forge::default_branch`],
    /// its cost added to [`Forges::usage`].
    ///
    /// # Errors
    ///
    /// As for [`Forge::default_branch`].
    pub async fn default_branch(&self, repo: &RepoLocator) -> Result<String, ForgeError> {
        Forge::default_branch(self, repo, &mut Usage::default()).await
    }

    /// Who may read the repository, asked afresh; `known` is an earlier probe's
    /// [`VisibilityProbe::validator`]. The same as [`Forge::visibility`] (free without a token
    /// for the host, else one request), its cost added to [`Forges::usage`].
    ///
    /// # Errors
    ///
    /// As for [`Forge::visibility`].
    pub async fn visibility(
        &self,
        repo: &RepoLocator,
        known: Option<&str>,
    ) -> Result<VisibilityProbe, ForgeError> {
        Forge::visibility(self, repo, known, &mut Usage::default()).await
    }

    /// Where `branch` points, as a conditional probe against `known` (what an earlier probe
    /// said, through [`HeadProbe::into_known`]): one request, which on GitHub with a token
    /// costs no quota when nothing moved. The same as [`Forge::head`], its cost added to
    /// [`Forges::usage`].
    ///
    /// # Errors
    ///
    /// As for [`Forge::head`]: [`ForgeError::BranchNotFound`] for a branch that does not exist.
    pub async fn head(
        &self,
        repo: &RepoLocator,
        branch: &str,
        known: Option<&KnownHead>,
    ) -> Result<HeadProbe, ForgeError> {
        Forge::head(self, repo, branch, known, &mut Usage::default()).await
    }

    /// The repository's branch names containing `search` (all when empty), at most 100, in
    /// one request. The same as [`Forge::branches`], its cost added to [`Forges::usage`].
    ///
    /// # Errors
    ///
    /// As for [`Forge::branches`].
    pub async fn branches(&self, repo: &RepoLocator, search: &str) -> ForgeResult<Vec<String>> {
        Forge::branches(self, repo, search, &mut Usage::default()).await
    }

    /// Every publishable file (`.js`, `.css`, `.json`) at `commit` with its blob SHA, sorted by
    /// path (one tree request). The same as [`Forge::publishable_files`], its cost added to
    /// [`Forges::usage`].
    ///
    /// # Errors
    ///
    /// As for [`Forge::publishable_files`].
    pub async fn publishable_files(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
    ) -> Result<Vec<TreeFile>, ForgeError> {
        Forge::publishable_files(self, repo, commit, &mut Usage::default()).await
    }

    /// The blob SHAs of `paths` at `commit` (one tree request); paths absent from the answer
    /// are not files at that commit. The same as [`Forge::blob_shas`], its cost added to
    /// [`Forges::usage`].
    ///
    /// # Errors
    ///
    /// As for [`Forge::blob_shas`].
    pub async fn blob_shas(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        paths: &[String],
    ) -> Result<BTreeMap<String, TreeFile>, ForgeError> {
        Forge::blob_shas(self, repo, commit, paths, &mut Usage::default()).await
    }

    /// The bytes of `path` at `commit`, verified against `expected` (or, without it, the
    /// tree's blob SHA, one more request). The same as [`Forge::file_content`], its cost added
    /// to [`Forges::usage`].
    ///
    /// # Errors
    ///
    /// As for [`Forge::file_content`]: [`ForgeError::BlobMismatch`] for bytes that do not hash
    /// to the expected blob SHA, [`ForgeError::TooLarge`] over the configured limit.
    pub async fn file_content(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        path: &str,
        expected: Option<&BlobSha>,
    ) -> Result<FileContent, ForgeError> {
        Forge::file_content(self, repo, commit, path, expected, &mut Usage::default()).await
    }

    /// The configuration in use.
    pub fn config(&self) -> &ForgeConfig {
        &self.config
    }

    /// Parses a repository URL against the configured instances (no request is made; the
    /// same as [`Forge::parse_repo_url`], callable without the trait in scope).
    pub fn parse_repo_url(&self, input: &str) -> Result<RepoLocator, LocatorError> {
        self.config.parse_repo_url(input)
    }

    /// Locates a stored repository from its typed parts (no request is made; the same as
    /// [`Forge::locate`], callable without the trait in scope).
    pub fn locate(
        &self,
        kind: ForgeKind,
        web_host: &str,
        full_name: &str,
    ) -> Result<RepoLocator, LocatorError> {
        self.config.locate(kind, web_host, full_name)
    }

    /// The client for a locator's forge.
    pub fn for_repo(&self, repo: &RepoLocator) -> Arc<dyn Forge> {
        match repo.kind {
            ForgeKind::GitHub => Arc::clone(&self.github) as Arc<dyn Forge>,
            ForgeKind::GitLab => Arc::clone(&self.gitlab) as Arc<dyn Forge>,
        }
    }

    fn client(&self, repo: &RepoLocator) -> &dyn Forge {
        match repo.kind {
            ForgeKind::GitHub => self.github.as_ref(),
            ForgeKind::GitLab => self.gitlab.as_ref(),
        }
    }

    /// Asks every configured API host whether it answers our User-Agent and accepts our token:
    /// GitHub `GET /rate_limit` (free of quota), GitLab `GET /version` (a 401 without a token
    /// still proves the host is reachable). One request per host.
    pub async fn check_health(&self) -> Vec<HostHealth> {
        let mut report = Vec::new();
        for instance in std::iter::once(&self.config.github).chain(&self.config.gitlab) {
            report.push(self.check_instance(instance).await);
        }
        report
    }

    /// [`Self::check_health`] for one instance.
    pub async fn check_instance(&self, instance: &ForgeInstance) -> HostHealth {
        let (path, free) = match instance.kind {
            ForgeKind::GitHub => ("rate_limit", true),
            ForgeKind::GitLab => ("version", false),
        };
        let request = ApiRequest {
            forge: instance.kind,
            url: crate::forge::api_url(&instance.api_base, &[path]),
            accept: "application/json",
            token: instance.token.as_ref(),
            conditional: false,
            validator: None,
            max_bytes: 1024 * 1024,
            what: "health check",
            free,
        };
        let mut usage = Usage::default();
        let sent = self.transport.send(request, &mut usage).await;
        self.add_to_total(&usage);
        let result = match sent {
            Ok(reply) if reply.status.is_success() => Ok(usage.snapshots.pop()),
            Ok(reply) => Err(ForgeError::Malformed {
                host: host_key(&instance.api_base),
                what: "health check",
                detail: format!("unexpected HTTP status {}", reply.status),
            }),
            // Anonymous callers get 401 from GitLab's /version: the host is up.
            Err(ForgeError::Unauthorized { status: 401, .. }) if instance.token.is_none() => {
                Ok(usage.snapshots.pop())
            }
            Err(error) => Err(error),
        };
        HostHealth {
            kind: instance.kind,
            api_base: instance.api_base.clone(),
            authenticated: instance.token.is_some(),
            result,
        }
    }

    /// Latest rate-limit snapshot of every API host contacted so far, by host.
    pub fn rate_limits(&self) -> BTreeMap<String, RateLimitSnapshot> {
        std::iter::once(&self.config.github)
            .chain(&self.config.gitlab)
            .filter_map(|i| {
                let host = host_key(&i.api_base);
                let probe = RepoLocator {
                    kind: i.kind,
                    web_base: i.web_base.clone(),
                    api_base: i.api_base.clone(),
                    namespace: String::new(),
                    name: String::new(),
                    branch: None,
                    path: None,
                };
                Some((host, self.client(&probe).rate_limit(&probe)?))
            })
            .collect()
    }
}

#[async_trait]
impl Forge for Forges {
    async fn default_branch(
        &self,
        repo: &RepoLocator,
        usage: &mut Usage,
    ) -> Result<String, ForgeError> {
        let mut call = Usage::default();
        let result = self.client(repo).default_branch(repo, &mut call).await;
        self.count(call, usage);
        result
    }

    fn asks_visibility(&self, repo: &RepoLocator) -> bool {
        self.client(repo).asks_visibility(repo)
    }

    async fn visibility(
        &self,
        repo: &RepoLocator,
        known: Option<&str>,
        usage: &mut Usage,
    ) -> Result<VisibilityProbe, ForgeError> {
        let mut call = Usage::default();
        let result = self.client(repo).visibility(repo, known, &mut call).await;
        self.count(call, usage);
        result
    }

    async fn head(
        &self,
        repo: &RepoLocator,
        branch: &str,
        known: Option<&KnownHead>,
        usage: &mut Usage,
    ) -> Result<HeadProbe, ForgeError> {
        let mut call = Usage::default();
        let result = self.client(repo).head(repo, branch, known, &mut call).await;
        self.count(call, usage);
        result
    }

    async fn branches(
        &self,
        repo: &RepoLocator,
        search: &str,
        usage: &mut Usage,
    ) -> ForgeResult<Vec<String>> {
        let mut call = Usage::default();
        let result = self.client(repo).branches(repo, search, &mut call).await;
        self.count(call, usage);
        result
    }

    async fn publishable_files(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        usage: &mut Usage,
    ) -> Result<Vec<TreeFile>, ForgeError> {
        let mut call = Usage::default();
        let result = self
            .client(repo)
            .publishable_files(repo, commit, &mut call)
            .await;
        self.count(call, usage);
        result
    }

    async fn blob_shas(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        paths: &[String],
        usage: &mut Usage,
    ) -> Result<BTreeMap<String, TreeFile>, ForgeError> {
        let mut call = Usage::default();
        let result = self
            .client(repo)
            .blob_shas(repo, commit, paths, &mut call)
            .await;
        self.count(call, usage);
        result
    }

    async fn file_content(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        path: &str,
        expected: Option<&BlobSha>,
        usage: &mut Usage,
    ) -> Result<FileContent, ForgeError> {
        let mut call = Usage::default();
        let result = self
            .client(repo)
            .file_content(repo, commit, path, expected, &mut call)
            .await;
        self.count(call, usage);
        result
    }

    fn rate_limit(&self, repo: &RepoLocator) -> Option<RateLimitSnapshot> {
        self.client(repo).rate_limit(repo)
    }

    fn parse_repo_url(&self, input: &str) -> Result<RepoLocator, LocatorError> {
        self.config.parse_repo_url(input)
    }

    fn locate(
        &self,
        kind: ForgeKind,
        web_host: &str,
        full_name: &str,
    ) -> Result<RepoLocator, LocatorError> {
        self.config.locate(kind, web_host, full_name)
    }
}
