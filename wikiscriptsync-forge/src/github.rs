//! GitHub REST client: `repos/{owner}/{repo}` (conditional) for the default branch and the
//! visibility, `commits/{ref}` with the `.sha` media type as a conditional head probe,
//! `branches?per_page=100` for branch names,
//! `git/trees/{sha}?recursive=1` (walking subtrees by hand when GitHub truncates), and
//! `contents/{path}?ref=<commit>` in the raw media type for file bytes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::config::ForgeConfig;
use crate::error::{ForgeError, ForgeResult, Missing};
use crate::forge::{
    Forge, TreeScope, api_url, expected_blob, malformed, name_too_large, unexpected_status,
    verified_content,
};
use crate::instance::ForgeInstance;
use crate::instance::ForgeKind;
use crate::locator::RepoLocator;
use crate::model::{
    BlobSha, CommitSha, FileContent, HeadProbe, KnownHead, RateLimitSnapshot, TreeFile, Usage,
    Visibility, VisibilityProbe,
};
use crate::transport::{ApiRequest, MAX_JSON_BYTES, Reply, Transport};

const ACCEPT_JSON: &str = "application/vnd.github+json";
const ACCEPT_SHA: &str = "application/vnd.github.sha";
const ACCEPT_RAW: &str = "application/vnd.github.raw+json";

/// The GitHub implementation of [`Forge`].
pub struct GitHubForge {
    transport: Arc<Transport>,
    /// The configuration, for parsing repository URLs (only GitHub ones are this client's).
    config: Arc<ForgeConfig>,
    instance: ForgeInstance,
    max_file_bytes: u64,
    max_tree_requests: u32,
}

/// The fields of `GET /repos/{owner}/{repo}` this client reads.
#[derive(Deserialize)]
struct RepoJson {
    default_branch: String,
    /// `true` for private (and internal) repositories.
    #[serde(default)]
    private: bool,
    /// `public`, `private` or `internal`; newer than `private`, so absent from some answers.
    visibility: Option<String>,
}

impl RepoJson {
    fn visibility(&self) -> Visibility {
        match self.visibility.as_deref() {
            // Both must say public: a disagreement is not public.
            Some(word) if !self.private => Visibility::from_word(word),
            Some("internal") => Visibility::Internal,
            Some(_) => Visibility::Private,
            None if self.private => Visibility::Private,
            None => Visibility::Public,
        }
    }
}

/// One entry of `GET /repos/{o}/{r}/branches` (`commit` and `protected` are not needed).
#[derive(Deserialize)]
struct BranchJson {
    name: String,
}

#[derive(Deserialize)]
struct TreeJson {
    sha: String,
    tree: Vec<TreeEntryJson>,
    truncated: bool,
}

#[derive(Deserialize)]
struct TreeEntryJson {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    sha: String,
    size: Option<u64>,
}

impl GitHubForge {
    /// A client for the configured GitHub instance with its own connection pool.
    pub fn new(config: &ForgeConfig) -> Result<Self, crate::ConfigError> {
        let transport =
            Transport::new(config).map_err(|e| crate::ConfigError::HttpClient(e.to_string()))?;
        Ok(Self::with_transport(Arc::new(transport), config))
    }

    pub(crate) fn with_transport(transport: Arc<Transport>, config: &ForgeConfig) -> Self {
        Self {
            transport,
            config: Arc::new(config.clone()),
            instance: config.github.clone(),
            max_file_bytes: config.max_file_bytes,
            max_tree_requests: config.max_tree_requests,
        }
    }

    fn request(
        &self,
        repo: &RepoLocator,
        tail: &[&str],
        accept: &'static str,
        what: &'static str,
    ) -> ApiRequest<'_> {
        let mut segments = vec!["repos", repo.namespace.as_str(), repo.name.as_str()];
        segments.extend_from_slice(tail);
        ApiRequest {
            forge: ForgeKind::GitHub,
            url: api_url(&repo.api_base, &segments),
            accept,
            token: self.instance.token.as_ref(),
            conditional: false,
            validator: None,
            max_bytes: MAX_JSON_BYTES,
            what,
            free: false,
        }
    }

    /// `GET /repos/{owner}/{repo}`, conditional on `validator` (else on the ETag cache): with
    /// a token an unchanged repository is a free `304`. The body is `None` for a `304` to a
    /// validator the cache does not hold; the ETag is the answer's.
    async fn repository_reply(
        &self,
        repo: &RepoLocator,
        validator: Option<String>,
        usage: &mut Usage,
    ) -> Result<(Option<RepoJson>, Option<String>), ForgeError> {
        let mut req = self.request(repo, &[], ACCEPT_JSON, "repository");
        req.conditional = true;
        req.validator = validator;
        let reply = self.transport.send(req, usage).await?;
        let etag = reply.etag;
        let body = match reply.status {
            StatusCode::OK => reply.body,
            StatusCode::NOT_MODIFIED => match reply.cached_body {
                Some(body) => body,
                None => return Ok((None, etag)),
            },
            StatusCode::NOT_FOUND => {
                return Err(ForgeError::NotFound {
                    what: Missing::Repository,
                    subject: repo.full_name(),
                });
            }
            other => return Err(unexpected_status(repo, "repository", other)),
        };
        Ok((Some(Self::parse_json(repo, "repository", &body)?), etag))
    }

    /// [`Self::repository_reply`] conditional on the ETag cache only, so it always has a body.
    async fn repository(
        &self,
        repo: &RepoLocator,
        usage: &mut Usage,
    ) -> Result<RepoJson, ForgeError> {
        self.repository_reply(repo, None, usage)
            .await?
            .0
            .ok_or_else(|| malformed(repo, "repository", "304 without a cached answer"))
    }

    fn parse_json<T: for<'de> Deserialize<'de>>(
        repo: &RepoLocator,
        what: &'static str,
        body: &[u8],
    ) -> Result<T, ForgeError> {
        serde_json::from_slice(body).map_err(|e| malformed(repo, what, e))
    }

    async fn tree(
        &self,
        repo: &RepoLocator,
        tree_ish: &str,
        recursive: bool,
        usage: &mut Usage,
    ) -> Result<TreeJson, ForgeError> {
        let mut req = self.request(repo, &["git", "trees", tree_ish], ACCEPT_JSON, "tree");
        if recursive {
            req.url.query_pairs_mut().append_pair("recursive", "1");
        }
        let reply = self.transport.send(req, usage).await?;
        match reply.status {
            StatusCode::OK => Self::parse_json(repo, "tree", &reply.body),
            StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => {
                Err(ForgeError::NotFound {
                    what: Missing::Commit,
                    subject: format!("{}@{tree_ish}", repo.full_name()),
                })
            }
            other => Err(unexpected_status(repo, "tree", other)),
        }
    }

    async fn files(
        &self,
        repo: &RepoLocator,
        commit: &CommitSha,
        scope: &TreeScope<'_>,
        usage: &mut Usage,
    ) -> Result<Vec<TreeFile>, ForgeError> {
        let root = self.tree(repo, commit.as_str(), true, usage).await?;
        if !root.truncated {
            return collect(repo, root.tree, "", scope);
        }
        // Over 100,000 entries or 7 MB: walk subtrees non-recursively, entering only directories
        // that can hold what we want.
        tracing::info!(repository = %repo, "tree truncated; walking subtrees");
        let mut files = Vec::new();
        let mut queue = VecDeque::from([(String::new(), root.sha)]);
        let mut requests = 0u32;
        while let Some((dir, sha)) = queue.pop_front() {
            if requests >= self.max_tree_requests {
                return Err(ForgeError::TreeTooLarge {
                    repository: repo.full_name(),
                    limit: self.max_tree_requests,
                });
            }
            requests += 1;
            let tree = self.tree(repo, &sha, false, usage).await?;
            for entry in &tree.tree {
                let path = join(&dir, &entry.path);
                if entry.kind == "tree" && scope.enters(&path) {
                    queue.push_back((path, entry.sha.clone()));
                }
            }
            files.extend(collect(repo, tree.tree, &dir, scope)?);
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn collect(
    repo: &RepoLocator,
    entries: Vec<TreeEntryJson>,
    dir: &str,
    scope: &TreeScope<'_>,
) -> Result<Vec<TreeFile>, ForgeError> {
    let mut files = Vec::new();
    for entry in entries {
        if entry.kind != "blob" {
            continue;
        }
        let path = join(dir, &entry.path);
        if !scope.keeps(&path) {
            continue;
        }
        let blob_sha = BlobSha::parse(&entry.sha).map_err(|e| malformed(repo, "tree", e))?;
        files.push(TreeFile {
            path,
            blob_sha,
            size: entry.size,
        });
    }
    Ok(files)
}

fn parse_sha(repo: &RepoLocator, body: &[u8]) -> Result<CommitSha, ForgeError> {
    let text = std::str::from_utf8(body).map_err(|e| malformed(repo, "head", e))?;
    CommitSha::parse(text).map_err(|e| malformed(repo, "head", e))
}

#[async_trait]
impl Forge for GitHubForge {
    async fn default_branch(
        &self,
        repo: &RepoLocator,
        usage: &mut Usage,
    ) -> Result<String, ForgeError> {
        Ok(self.repository(repo, usage).await?.default_branch)
    }

    fn asks_visibility(&self, _repo: &RepoLocator) -> bool {
        self.instance.token.is_some()
    }

    async fn visibility(
        &self,
        repo: &RepoLocator,
        known: Option<&str>,
        usage: &mut Usage,
    ) -> Result<VisibilityProbe, ForgeError> {
        if !self.asks_visibility(repo) {
            // Every request of this client is anonymous: it can only read public repositories.
            return Ok(VisibilityProbe::public(None));
        }
        let sent = known.map(str::to_owned);
        match self.repository_reply(repo, sent.clone(), usage).await? {
            (Some(json), etag) => {
                let visibility = json.visibility();
                Ok(VisibilityProbe {
                    visibility,
                    // Handed out only with a public answer: a later 304 to it means public.
                    validator: etag.filter(|_| visibility.is_public()),
                })
            }
            // Unchanged since a validator that was only ever handed out with a public answer.
            (None, _) => Ok(VisibilityProbe::public(sent)),
        }
    }

    async fn head(
        &self,
        repo: &RepoLocator,
        branch: &str,
        known: Option<&KnownHead>,
        usage: &mut Usage,
    ) -> Result<HeadProbe, ForgeError> {
        let mut req = self.request(repo, &["commits", branch], ACCEPT_SHA, "head");
        req.conditional = true;
        // GitHub documents the quoted SHA as a valid ETag for this media type.
        req.validator = known.map(|k| {
            k.validator
                .clone()
                .unwrap_or_else(|| format!("\"{}\"", k.sha))
        });
        let reply: Reply = self.transport.send(req, usage).await?;
        match reply.status {
            StatusCode::OK => {
                let sha = parse_sha(repo, &reply.body)?;
                if known.is_some_and(|k| k.sha == sha) {
                    return Ok(HeadProbe::NotModified { sha });
                }
                Ok(HeadProbe::Moved {
                    sha,
                    validator: reply.etag,
                })
            }
            StatusCode::NOT_MODIFIED => match (known, reply.cached_body) {
                (Some(k), _) => Ok(HeadProbe::NotModified { sha: k.sha.clone() }),
                (None, Some(body)) => Ok(HeadProbe::Moved {
                    sha: parse_sha(repo, &body)?,
                    validator: reply.etag,
                }),
                (None, None) => Err(malformed(repo, "head", "304 without a cached answer")),
            },
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound {
                what: Missing::Repository,
                subject: repo.full_name(),
            }),
            // 422 "No commit found for SHA: <ref>"; 409 "Git Repository is empty."
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => {
                Err(ForgeError::BranchNotFound {
                    repository: repo.full_name(),
                    branch: branch.to_owned(),
                })
            }
            other => Err(unexpected_status(repo, "head", other)),
        }
    }

    async fn branches(
        &self,
        repo: &RepoLocator,
        search: &str,
        usage: &mut Usage,
    ) -> ForgeResult<Vec<String>> {
        let mut req = self.request(repo, &["branches"], ACCEPT_JSON, "branches");
        req.url.query_pairs_mut().append_pair("per_page", "100");
        let reply = self.transport.send(req, usage).await?;
        match reply.status {
            StatusCode::OK => {
                let listed: Vec<BranchJson> = Self::parse_json(repo, "branches", &reply.body)?;
                let search = search.to_lowercase();
                let mut names: Vec<String> = listed
                    .into_iter()
                    .map(|b| b.name)
                    .filter(|name| name.to_lowercase().contains(&search))
                    .collect();
                names.sort();
                Ok(names)
            }
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound {
                what: Missing::Repository,
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
        let (expected, size) = expected_blob(self, repo, commit, path, expected, usage).await?;
        if let Some(size) = size.filter(|s| *s > self.max_file_bytes) {
            return Err(ForgeError::TooLarge {
                path: path.to_owned(),
                size,
                limit: self.max_file_bytes,
            });
        }
        let mut tail = vec!["contents"];
        tail.extend(path.split('/'));
        let mut req = self.request(repo, &tail, ACCEPT_RAW, "file content");
        req.url
            .query_pairs_mut()
            .append_pair("ref", commit.as_str());
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
                what: Missing::File,
                subject: format!("{path} at {}", commit.short()),
            }),
            other => Err(unexpected_status(repo, "file content", other)),
        }
    }

    fn rate_limit(&self, repo: &RepoLocator) -> Option<RateLimitSnapshot> {
        self.transport.latest_snapshot(&repo.api_host())
    }

    fn parse_repo_url(&self, input: &str) -> Result<RepoLocator, crate::locator::LocatorError> {
        crate::locator::only_kind(self.config.parse_repo_url(input)?, ForgeKind::GitHub, input)
    }

    fn locate(
        &self,
        kind: ForgeKind,
        web_host: &str,
        full_name: &str,
    ) -> Result<RepoLocator, crate::locator::LocatorError> {
        // Only this client's kind: another kind's host is unknown to it.
        if kind != ForgeKind::GitHub {
            return Err(crate::locator::LocatorError::UnknownHost {
                host: web_host.to_owned(),
                known: "the GitHub instance of this client".to_owned(),
            });
        }
        self.config.locate(kind, web_host, full_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_is_public_only_when_both_fields_say_so() {
        let cases = [
            (
                r#"{"default_branch":"main","private":false,"visibility":"public"}"#,
                Visibility::Public,
            ),
            (
                r#"{"default_branch":"main","private":false}"#,
                Visibility::Public,
            ),
            (
                r#"{"default_branch":"main","private":true}"#,
                Visibility::Private,
            ),
            (
                r#"{"default_branch":"main","private":true,"visibility":"private"}"#,
                Visibility::Private,
            ),
            (
                r#"{"default_branch":"main","private":true,"visibility":"internal"}"#,
                Visibility::Internal,
            ),
            (
                r#"{"default_branch":"main","private":true,"visibility":"public"}"#,
                Visibility::Private,
            ),
            (
                r#"{"default_branch":"main","private":false,"visibility":"internal"}"#,
                Visibility::Internal,
            ),
        ];
        for (json, expected) in cases {
            let repo: RepoJson = serde_json::from_str(json).unwrap();
            assert_eq!(repo.visibility(), expected, "{json}");
        }
    }
}
