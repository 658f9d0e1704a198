//! [`Forges`]: one object that parses repository URLs against the configuration and routes each
//! call to the GitHub or GitLab client, sharing one connection pool, one set of per-host gates
//! and one ETag cache. Core holds it as `Arc<dyn Forge>` or asks it for the client of a locator.

use std::collections::BTreeMap;
use std::sync::Arc;

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
pub struct Forges {
    config: ForgeConfig,
    transport: Arc<Transport>,
    github: Arc<GitHubForge>,
    gitlab: Arc<GitLabForge>,
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
        })
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
        let result = match self.transport.send(request, &mut usage).await {
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
        self.client(repo).default_branch(repo, usage).await
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
        self.client(repo).visibility(repo, known, usage).await
    }

    async fn head(
        &self,
        repo: &RepoLocator,
        branch: &str,
        known: Option<&KnownHead>,
        usage: &mut Usage,
    ) -> Result<HeadProbe, ForgeError> {
        self.client(repo).head(repo, branch, known, usage).await
    }

    async fn branches(
        &self,
        repo: &RepoLocator,
        search: &str,
        usage: &mut Usage,
    ) -> ForgeResult<Vec<String>> {
        self.client(repo).branches(repo, search, usage).await
    }

    async fn publishable_files(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        usage: &mut Usage,
    ) -> Result<Vec<TreeFile>, ForgeError> {
        self.client(repo)
            .publishable_files(repo, commit, usage)
            .await
    }

    async fn blob_shas(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        paths: &[String],
        usage: &mut Usage,
    ) -> Result<BTreeMap<String, TreeFile>, ForgeError> {
        self.client(repo)
            .blob_shas(repo, commit, paths, usage)
            .await
    }

    async fn file_content(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        path: &str,
        expected: Option<&BlobSha>,
        usage: &mut Usage,
    ) -> Result<FileContent, ForgeError> {
        self.client(repo)
            .file_content(repo, commit, path, expected, usage)
            .await
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
