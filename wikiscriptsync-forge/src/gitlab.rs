//! GitLab REST v4 client: the numeric project id is resolved once (and handed back as the head
//! validator so later runs skip the lookup; the tree walk and file reads reuse it, and
//! concurrent lookups of one project share one request), the project answers who may read it
//! (its `visibility`), the branch endpoint is the head probe,
//! `repository/branches?search=` lists branch names, the tree comes from keyset-paginated
//! `repository/tree` following `Link` headers, and file bytes from
//! `repository/files/:path/raw?ref=<commit>`. GitLab grants no 304 relief: every request costs 1.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use crate::config::ForgeConfig;
use crate::error::{ForgeError, ForgeResult, Missing};
use crate::forge::{
    Forge, TreeScope, api_url, expected_blob, malformed, name_too_large, unexpected_status,
    verified_content,
};
use crate::instance::ForgeKind;
use crate::instance::Token;
use crate::locator::RepoLocator;
use crate::model::{
    BlobSha, CommitSha, FileContent, HeadProbe, KnownHead, RateLimitSnapshot, TreeFile, Usage,
    Visibility, VisibilityProbe,
};
use crate::transport::{ApiRequest, MAX_JSON_BYTES, Reply, Transport, next_link};

const ACCEPT_JSON: &str = "application/json";
/// Prefix of the head validator that carries the project id.
const VALIDATOR_PREFIX: &str = "gitlab-project:";

/// The GitLab implementation of [`Forge`], for every configured GitLab instance.
pub struct GitLabForge {
    transport: Arc<Transport>,
    /// The configuration, for parsing repository URLs (only GitLab ones are this client's).
    config: Arc<ForgeConfig>,
    /// Tokens by API base.
    tokens: HashMap<Url, Token>,
    /// Numeric project ids by (API base, path with namespace).
    project_ids: Mutex<HashMap<(Url, String), u64>>,
    /// One slot per project holding its latest lookup: a caller waits for a lookup already
    /// under way and takes its answer instead of sending the same request again.
    lookups: Mutex<HashMap<(Url, String), Arc<LookupSlot>>>,
    max_file_bytes: u64,
    max_tree_requests: u32,
}

/// The fields of `GET /projects/:id` this client reads.
#[derive(Clone, Deserialize)]
struct ProjectJson {
    id: u64,
    default_branch: Option<String>,
    /// `public`, `internal` or `private`.
    visibility: Option<String>,
    /// Who may read the repository of the project: `enabled` (everyone who can see the
    /// project), `private` (project members only) or `disabled`; sent only to some callers.
    repository_access_level: Option<String>,
}

impl ProjectJson {
    fn visibility(&self) -> Visibility {
        let Some(word) = self.visibility.as_deref() else {
            // Unknown is not public.
            return Visibility::Private;
        };
        match (
            Visibility::from_word(word),
            self.repository_access_level.as_deref(),
        ) {
            // A public project whose repository only members can read: not readable anonymously.
            (Visibility::Public, Some(level)) if level != "enabled" => Visibility::Private,
            (visibility, _) => visibility,
        }
    }
}

/// Where one project's latest lookup is kept; held while a lookup is under way.
type LookupSlot = tokio::sync::Mutex<Option<Lookup>>;

/// A finished project lookup.
#[derive(Clone)]
struct Lookup {
    finished: Instant,
    project: ProjectJson,
}

#[derive(Deserialize)]
struct BranchJson {
    commit: BranchCommitJson,
}

/// One entry of `GET /projects/:id/repository/branches` (only the name is needed).
#[derive(Deserialize)]
struct BranchNameJson {
    name: String,
}

#[derive(Deserialize)]
struct BranchCommitJson {
    id: String,
}

#[derive(Deserialize)]
struct TreeEntryJson {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    path: String,
}

#[derive(Deserialize)]
struct MessageJson {
    message: Option<String>,
}

/// The project id a validator of this client names (`gitlab-project:<id>`).
fn id_of_validator(validator: Option<&str>) -> Option<u64> {
    validator?.strip_prefix(VALIDATOR_PREFIX)?.parse().ok()
}

/// Which kind of thing a GitLab 404 is about, from its `{"message": "404 Project Not Found"}`.
fn missing_from(body: &[u8], default: Missing) -> Missing {
    let message = serde_json::from_slice::<MessageJson>(body)
        .ok()
        .and_then(|m| m.message)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if message.contains("project") {
        Missing::Repository
    } else if message.contains("branch") {
        Missing::Branch
    } else if message.contains("commit") {
        Missing::Commit
    } else if message.contains("file") {
        Missing::File
    } else {
        default
    }
}

impl GitLabForge {
    /// A client for the configured GitLab instances with its own connection pool.
    pub fn new(config: &ForgeConfig) -> Result<Self, crate::ConfigError> {
        let transport =
            Transport::new(config).map_err(|e| crate::ConfigError::HttpClient(e.to_string()))?;
        Ok(Self::with_transport(Arc::new(transport), config))
    }

    pub(crate) fn with_transport(transport: Arc<Transport>, config: &ForgeConfig) -> Self {
        Self {
            transport,
            config: Arc::new(config.clone()),
            tokens: config
                .gitlab
                .iter()
                .filter_map(|i| Some((i.api_base.clone(), i.token.clone()?)))
                .collect(),
            project_ids: Mutex::new(HashMap::new()),
            lookups: Mutex::new(HashMap::new()),
            max_file_bytes: config.max_file_bytes,
            max_tree_requests: config.max_tree_requests,
        }
    }

    fn request(
        &self,
        repo: &RepoLocator,
        url: Url,
        accept: &'static str,
        what: &'static str,
    ) -> ApiRequest<'_> {
        ApiRequest {
            forge: ForgeKind::GitLab,
            url,
            accept,
            token: self.tokens.get(&repo.api_base),
            conditional: false,
            validator: None,
            max_bytes: MAX_JSON_BYTES,
            what,
            free: false,
        }
    }

    fn project_url(repo: &RepoLocator, id: &str, tail: &[&str]) -> Url {
        let mut segments = vec!["projects", id];
        segments.extend_from_slice(tail);
        api_url(&repo.api_base, &segments)
    }

    fn cache_key(repo: &RepoLocator) -> (Url, String) {
        (repo.api_base.clone(), repo.full_name())
    }

    /// `GET /projects/:id` (by the numeric id when known, else by `namespace%2Fname`): the
    /// project's id (remembered), default branch and visibility. Callers that ask while a
    /// lookup of the same project is under way wait for it and share its answer, so two
    /// branches of one project checked at once cost one lookup.
    async fn lookup_project(
        &self,
        repo: &RepoLocator,
        id: Option<u64>,
        usage: &mut Usage,
    ) -> Result<ProjectJson, ForgeError> {
        let asked = Instant::now();
        let slot = Arc::clone(
            self.lookups
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(Self::cache_key(repo))
                .or_default(),
        );
        let mut latest = slot.lock().await;
        if let Some(done) = latest.as_ref().filter(|l| l.finished >= asked) {
            return Ok(done.project.clone());
        }
        let project = match id {
            Some(id) => match self.fetch_project(repo, &id.to_string(), usage).await {
                // A stale id (project deleted or recreated): resolve the path once more.
                Err(ForgeError::NotFound { .. }) => {
                    self.forget_project(repo);
                    self.fetch_project(repo, &repo.full_name(), usage).await
                }
                other => other,
            },
            None => self.fetch_project(repo, &repo.full_name(), usage).await,
        }?;
        *latest = Some(Lookup {
            finished: Instant::now(),
            project: project.clone(),
        });
        Ok(project)
    }

    /// One `GET /projects/:id`, `id` being the numeric id or `namespace%2Fname`.
    async fn fetch_project(
        &self,
        repo: &RepoLocator,
        id: &str,
        usage: &mut Usage,
    ) -> Result<ProjectJson, ForgeError> {
        let url = Self::project_url(repo, id, &[]);
        let reply = self
            .transport
            .send(self.request(repo, url, ACCEPT_JSON, "project"), usage)
            .await?;
        match reply.status {
            StatusCode::OK => {
                let project: ProjectJson = serde_json::from_slice(&reply.body)
                    .map_err(|e| malformed(repo, "project", e))?;
                self.remember_id(repo, project.id);
                Ok(project)
            }
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound {
                what: Missing::Repository,
                subject: repo.full_name(),
            }),
            other => Err(unexpected_status(repo, "project", other)),
        }
    }

    fn cached_id(&self, repo: &RepoLocator) -> Option<u64> {
        self.project_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&Self::cache_key(repo))
            .copied()
    }

    fn remember_id(&self, repo: &RepoLocator, id: u64) {
        self.project_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Self::cache_key(repo), id);
    }

    /// The numeric id: remembered by this client, else from the caller's validator (then
    /// remembered, so that the tree walk and file reads of this check need no lookup), else
    /// one lookup.
    async fn project_id(
        &self,
        repo: &RepoLocator,
        known: Option<&KnownHead>,
        usage: &mut Usage,
    ) -> Result<u64, ForgeError> {
        if let Some(id) = self.cached_id(repo) {
            return Ok(id);
        }
        if let Some(id) = known.and_then(|k| id_of_validator(k.validator.as_deref())) {
            self.remember_id(repo, id);
            return Ok(id);
        }
        Ok(self.lookup_project(repo, None, usage).await?.id)
    }

    fn forget_project(&self, repo: &RepoLocator) {
        self.project_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&Self::cache_key(repo));
    }

    async fn probe_branch(
        &self,
        repo: &RepoLocator,
        id: u64,
        branch: &str,
        usage: &mut Usage,
    ) -> Result<Reply, ForgeError> {
        let url = Self::project_url(repo, &id.to_string(), &["repository", "branches", branch]);
        self.transport
            .send(self.request(repo, url, ACCEPT_JSON, "head"), usage)
            .await
    }

    /// `GET /projects/:id/repository/branches?search=<search>&per_page=100` (no `search` when
    /// it is empty).
    async fn list_branches(
        &self,
        repo: &RepoLocator,
        id: u64,
        search: &str,
        usage: &mut Usage,
    ) -> Result<Reply, ForgeError> {
        let mut url = Self::project_url(repo, &id.to_string(), &["repository", "branches"]);
        {
            let mut query = url.query_pairs_mut();
            if !search.is_empty() {
                query.append_pair("search", search);
            }
            query.append_pair("per_page", "100");
        }
        self.transport
            .send(self.request(repo, url, ACCEPT_JSON, "branches"), usage)
            .await
    }

    async fn files(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        scope: &TreeScope<'_>,
        usage: &mut Usage,
    ) -> Result<Vec<TreeFile>, ForgeError> {
        let id = self.project_id(repo, None, usage).await?.to_string();
        let mut url = Self::project_url(repo, &id, &["repository", "tree"]);
        let dir = scope.common_dir();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("ref", commit.as_str());
            if !dir.is_empty() {
                // Only the subtree holding the watched paths: fewer pages.
                query.append_pair("path", &dir);
            }
            query
                .append_pair("recursive", "true")
                .append_pair("per_page", "100")
                .append_pair("pagination", "keyset");
        }
        let mut files = Vec::new();
        let mut pages = 0u32;
        loop {
            if pages >= self.max_tree_requests {
                return Err(ForgeError::TreeTooLarge {
                    repository: repo.full_name(),
                    limit: self.max_tree_requests,
                });
            }
            pages += 1;
            let reply = self
                .transport
                .send(self.request(repo, url, ACCEPT_JSON, "tree"), usage)
                .await?;
            match reply.status {
                StatusCode::OK => {}
                // Since GitLab 17.7 a missing directory is a 404: none of the paths exist.
                StatusCode::NOT_FOUND if !dir.is_empty() && pages == 1 => {
                    if missing_from(&reply.body, Missing::File) == Missing::Repository {
                        return Err(ForgeError::NotFound {
                            what: Missing::Repository,
                            subject: repo.full_name(),
                        });
                    }
                    return Ok(Vec::new());
                }
                StatusCode::NOT_FOUND => {
                    return Err(ForgeError::NotFound {
                        what: missing_from(&reply.body, Missing::Commit),
                        subject: format!("{}@{}", repo.full_name(), commit.short()),
                    });
                }
                other => return Err(unexpected_status(repo, "tree", other)),
            }
            let entries: Vec<TreeEntryJson> =
                serde_json::from_slice(&reply.body).map_err(|e| malformed(repo, "tree", e))?;
            for entry in entries {
                if entry.kind == "blob" && scope.keeps(&entry.path) {
                    let blob_sha =
                        BlobSha::parse(&entry.id).map_err(|e| malformed(repo, "tree", e))?;
                    files.push(TreeFile {
                        path: entry.path,
                        blob_sha,
                        size: None,
                    });
                }
            }
            // Follow the server's Link header; never build page URLs ourselves.
            let Some(next) = next_link(&reply.headers) else {
                break;
            };
            url = Url::parse(&next).map_err(|e| malformed(repo, "tree Link header", e))?;
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }
}

#[async_trait]
impl Forge for GitLabForge {
    async fn default_branch(
        &self,
        repo: &RepoLocator,
        usage: &mut Usage,
    ) -> Result<String, ForgeError> {
        self.lookup_project(repo, None, usage)
            .await?
            .default_branch
            .ok_or_else(|| ForgeError::NotFound {
                what: Missing::Branch,
                subject: format!("{} (empty repository)", repo.full_name()),
            })
    }

    fn asks_visibility(&self, repo: &RepoLocator) -> bool {
        self.tokens.contains_key(&repo.api_base)
    }

    async fn visibility(
        &self,
        repo: &RepoLocator,
        known: Option<&str>,
        usage: &mut Usage,
    ) -> Result<VisibilityProbe, ForgeError> {
        if !self.asks_visibility(repo) {
            // Every request of this client to the host is anonymous: only public projects.
            return Ok(VisibilityProbe::public(None));
        }
        // By the id when known: the project the other calls read, even after a rename.
        let id = self.cached_id(repo).or_else(|| id_of_validator(known));
        let project = self.lookup_project(repo, id, usage).await?;
        Ok(VisibilityProbe {
            visibility: project.visibility(),
            validator: Some(format!("{VALIDATOR_PREFIX}{}", project.id)),
        })
    }

    async fn head(
        &self,
        repo: &RepoLocator,
        branch: &str,
        known: Option<&KnownHead>,
        usage: &mut Usage,
    ) -> Result<HeadProbe, ForgeError> {
        let mut id = self.project_id(repo, known, usage).await?;
        let mut reply = self.probe_branch(repo, id, branch, usage).await?;
        if reply.status == StatusCode::NOT_FOUND
            && missing_from(&reply.body, Missing::Branch) == Missing::Repository
        {
            // A stale id (project recreated): resolve the path once more.
            self.forget_project(repo);
            id = self.lookup_project(repo, None, usage).await?.id;
            reply = self.probe_branch(repo, id, branch, usage).await?;
        }
        match reply.status {
            StatusCode::OK => {
                let parsed: BranchJson =
                    serde_json::from_slice(&reply.body).map_err(|e| malformed(repo, "head", e))?;
                let sha =
                    CommitSha::parse(&parsed.commit.id).map_err(|e| malformed(repo, "head", e))?;
                if known.is_some_and(|k| k.sha == sha) {
                    Ok(HeadProbe::NotModified { sha })
                } else {
                    Ok(HeadProbe::Moved {
                        sha,
                        validator: Some(format!("{VALIDATOR_PREFIX}{id}")),
                    })
                }
            }
            StatusCode::NOT_FOUND => match missing_from(&reply.body, Missing::Branch) {
                // `{"message": "404 Branch Not Found"}`
                Missing::Branch => Err(ForgeError::BranchNotFound {
                    repository: repo.full_name(),
                    branch: branch.to_owned(),
                }),
                what => Err(ForgeError::NotFound {
                    what,
                    subject: format!("{}@{branch}", repo.full_name()),
                }),
            },
            other => Err(unexpected_status(repo, "head", other)),
        }
    }

    async fn branches(
        &self,
        repo: &RepoLocator,
        search: &str,
        usage: &mut Usage,
    ) -> ForgeResult<Vec<String>> {
        let mut id = self.project_id(repo, None, usage).await?;
        let mut reply = self.list_branches(repo, id, search, usage).await?;
        if reply.status == StatusCode::NOT_FOUND {
            // A stale id (project recreated): resolve the path once more.
            self.forget_project(repo);
            id = self.lookup_project(repo, None, usage).await?.id;
            reply = self.list_branches(repo, id, search, usage).await?;
        }
        match reply.status {
            StatusCode::OK => {
                let listed: Vec<BranchNameJson> = serde_json::from_slice(&reply.body)
                    .map_err(|e| malformed(repo, "branches", e))?;
                let mut names: Vec<String> = listed.into_iter().map(|b| b.name).collect();
                names.sort();
                Ok(names)
            }
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound {
                what: missing_from(&reply.body, Missing::Repository),
                subject: repo.full_name(),
            }),
            other => Err(unexpected_status(repo, "branches", other)),
        }
    }

    async fn publishable_files(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        usage: &mut Usage,
    ) -> Result<Vec<TreeFile>, ForgeError> {
        self.files(repo, commit, &TreeScope::Publishable, usage)
            .await
    }

    async fn blob_shas(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        paths: &[String],
        usage: &mut Usage,
    ) -> Result<BTreeMap<String, TreeFile>, ForgeError> {
        let wanted: BTreeSet<String> = paths.iter().cloned().collect();
        if wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        let files = self
            .files(repo, commit, &TreeScope::Paths(&wanted), usage)
            .await?;
        Ok(files.into_iter().map(|f| (f.path.clone(), f)).collect())
    }

    async fn file_content(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        path: &str,
        expected: Option<&BlobSha>,
        usage: &mut Usage,
    ) -> Result<FileContent, ForgeError> {
        let (expected, _) = expected_blob(self, repo, commit, path, expected, usage).await?;
        let id = self.project_id(repo, None, usage).await?.to_string();
        // The whole path is one segment, so its slashes are sent as %2F as the API requires.
        let mut url = Self::project_url(repo, &id, &["repository", "files", path, "raw"]);
        url.query_pairs_mut().append_pair("ref", commit.as_str());
        let mut req = self.request(repo, url, "*/*", "file content");
        req.max_bytes = self.max_file_bytes;
        let reply = self
            .transport
            .send(req, usage)
            .await
            .map_err(|e| name_too_large(e, path))?;
        match reply.status {
            StatusCode::OK => {
                verified_content(path, commit, &expected, reply.body, self.max_file_bytes)
            }
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound {
                what: missing_from(&reply.body, Missing::File),
                subject: format!("{path} at {}", commit.short()),
            }),
            other => Err(unexpected_status(repo, "file content", other)),
        }
    }

    fn rate_limit(&self, repo: &RepoLocator) -> Option<RateLimitSnapshot> {
        self.transport.latest_snapshot(&repo.api_host())
    }

    fn parse_repo_url(&self, input: &str) -> Result<RepoLocator, crate::locator::LocatorError> {
        crate::locator::only_kind(self.config.parse_repo_url(input)?, ForgeKind::GitLab, input)
    }

    fn locate(
        &self,
        kind: ForgeKind,
        web_host: &str,
        full_name: &str,
    ) -> Result<RepoLocator, crate::locator::LocatorError> {
        // Only this client's kind: another kind's host is unknown to it.
        if kind != ForgeKind::GitLab {
            return Err(crate::locator::LocatorError::UnknownHost {
                host: web_host.to_owned(),
                known: "the GitLab instances of this client".to_owned(),
            });
        }
        self.config.locate(kind, web_host, full_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(json: &str) -> ProjectJson {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn only_a_public_project_with_an_open_repository_is_public() {
        let cases = [
            (
                r#"{"id":1,"visibility":"public","repository_access_level":"enabled"}"#,
                Visibility::Public,
            ),
            (r#"{"id":1,"visibility":"public"}"#, Visibility::Public),
            (r#"{"id":1,"visibility":"internal"}"#, Visibility::Internal),
            (r#"{"id":1,"visibility":"private"}"#, Visibility::Private),
            // Members only, or no repository: an anonymous request cannot read its files.
            (
                r#"{"id":1,"visibility":"public","repository_access_level":"private"}"#,
                Visibility::Private,
            ),
            (
                r#"{"id":1,"visibility":"public","repository_access_level":"disabled"}"#,
                Visibility::Private,
            ),
            // Unknown is not public.
            (r#"{"id":1}"#, Visibility::Private),
            (
                r#"{"id":1,"visibility":"secret-new-level"}"#,
                Visibility::Private,
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(project(json).visibility(), expected, "{json}");
        }
    }
}
