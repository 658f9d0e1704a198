//! [`Forges`]: one object that parses repository URLs against the configuration and routes each
//! call to the GitHub or GitLab client, sharing one connection pool, one set of per-host gates
//! and one ETag cache. Core holds it as `Arc<dyn Forge>` or asks it for the client of a locator.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigError, ForgeConfig};
use crate::error::ForgeError;
use crate::forge::Forge;
use crate::github::GitHubForge;
use crate::gitlab::GitLabForge;
use crate::locator::{ForgeKind, LocatorError, RepoLocator};
use crate::model::{
    BlobSha, CommitSha, FileContent, HeadProbe, KnownHead, RateLimitSnapshot, TreeFile, Usage,
};
use crate::transport::Transport;

/// Every configured forge behind one [`Forge`] implementation.
pub struct Forges {
    config: ForgeConfig,
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
            gitlab: Arc::new(GitLabForge::with_transport(transport, &config)),
            config,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ForgeConfig {
        &self.config
    }

    /// Parses a repository URL against the configured instances (no request is made).
    pub fn parse_repo_url(&self, input: &str) -> Result<RepoLocator, LocatorError> {
        self.config.parse_repo_url(input)
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

    /// Latest rate-limit snapshot of every API host contacted so far, by host.
    pub fn rate_limits(&self) -> BTreeMap<String, RateLimitSnapshot> {
        std::iter::once(&self.config.github)
            .chain(&self.config.gitlab)
            .filter_map(|i| {
                let host = crate::config::host_key(&i.api_base);
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

    async fn head(
        &self,
        repo: &RepoLocator,
        branch: &str,
        known: Option<&KnownHead>,
        usage: &mut Usage,
    ) -> Result<HeadProbe, ForgeError> {
        self.client(repo).head(repo, branch, known, usage).await
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
}
