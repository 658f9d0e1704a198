//! Push webhooks: GitHub `X-Hub-Signature-256` (HMAC-SHA256 of the raw body) and GitLab
//! `X-Gitlab-Token` (shared secret), both compared in constant time, and push payloads parsed into
//! a [`PushEvent`]. Payloads are hints: they are truncated on large pushes (flagged in
//! [`PushEvent::truncated`]), so re-derive state with a head probe and a tree request.

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::instance::ForgeKind;
use crate::model::CommitSha;

/// GitHub lists at most this many commits in a push payload.
pub const GITHUB_MAX_COMMITS: usize = 2048;
/// GitHub lists at most this many changed files per commit.
pub const GITHUB_MAX_FILES_PER_COMMIT: usize = 3000;

/// Header names, for handlers.
pub mod headers {
    /// GitHub's body signature.
    pub const GITHUB_SIGNATURE: &str = "X-Hub-Signature-256";
    /// GitHub's event name (`push`).
    pub const GITHUB_EVENT: &str = "X-GitHub-Event";
    /// GitHub's delivery id (dedupe on it: signatures carry no timestamp).
    pub const GITHUB_DELIVERY: &str = "X-GitHub-Delivery";
    /// GitLab's shared secret.
    pub const GITLAB_TOKEN: &str = "X-Gitlab-Token";
    /// GitLab's event name (`Push Hook`).
    pub const GITLAB_EVENT: &str = "X-Gitlab-Event";
}

/// Why a webhook delivery was refused. Messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature or token header is absent.
    #[error("the {0} header is missing: configure the webhook's secret on the forge")]
    MissingHeader(&'static str),
    /// The header is not `sha256=<64 hex digits>`.
    #[error("the X-Hub-Signature-256 header is not of the form sha256=<hex>")]
    MalformedSignature,
    /// The signature or token does not match the configured secret (wrong secret or altered body).
    #[error("the webhook signature does not match: wrong secret or the body was altered")]
    SignatureMismatch,
    /// The body is not a push payload.
    #[error("not a push payload: {0}")]
    BadPayload(String),
}

/// `sha256=<hex HMAC-SHA256 of body keyed by secret>`, as GitHub computes it (for tests and for
/// sending signed deliveries).
pub fn github_signature(secret: &SecretString, body: &[u8]) -> String {
    github_mac(secret, body).map_or_else(String::new, |mac| {
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    })
}

/// HMAC-SHA256 keyed by the secret over the body. HMAC takes keys of any length, so this is
/// `None` only if the hmac crate ever changes that; callers then refuse the delivery.
fn github_mac(secret: &SecretString, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
    mac.update(body);
    Some(mac)
}

/// Verifies GitHub's `X-Hub-Signature-256` over the **raw** body, in constant time. Call before
/// parsing the JSON.
pub fn verify_github_signature(
    secret: &SecretString,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingHeader(headers::GITHUB_SIGNATURE))?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(WebhookError::MalformedSignature)?;
    let signature = hex::decode(hex_sig).map_err(|_| WebhookError::MalformedSignature)?;
    if signature.len() != 32 {
        return Err(WebhookError::MalformedSignature);
    }
    // `verify_slice` compares in constant time.
    github_mac(secret, body)
        .ok_or(WebhookError::SignatureMismatch)?
        .verify_slice(&signature)
        .map_err(|_| WebhookError::SignatureMismatch)
}

/// Verifies GitLab's `X-Gitlab-Token` against the configured secret in constant time.
pub fn verify_gitlab_token(
    secret: &SecretString,
    header: Option<&str>,
) -> Result<(), WebhookError> {
    let given = header.ok_or(WebhookError::MissingHeader(headers::GITLAB_TOKEN))?;
    let expected = secret.expose_secret().as_bytes();
    if bool::from(given.as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        Err(WebhookError::SignatureMismatch)
    }
}

/// A push, reduced to what a sync needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// Which forge sent it.
    pub forge: ForgeKind,
    /// `owner/name` or `group/sub/project`.
    pub repository: String,
    /// The repository's web URL (feed it to the locator parser).
    pub repository_url: String,
    /// The full ref (`refs/heads/main`, `refs/tags/v1`).
    pub git_ref: String,
    /// The branch, when the ref is a branch.
    pub branch: Option<String>,
    /// Head before the push; `None` when the ref was created.
    pub before: Option<CommitSha>,
    /// Head after the push; `None` when the ref was deleted.
    pub after: Option<CommitSha>,
    /// Paths added, modified or removed by the listed commits.
    pub changed_paths: BTreeSet<String>,
    /// The subset of `changed_paths` whose last listed change removed them.
    pub removed_paths: BTreeSet<String>,
    /// The payload lists only part of the push (too many commits or files): do not trust
    /// `changed_paths` alone.
    pub truncated: bool,
}

impl PushEvent {
    /// Whether any of `paths` may have changed (always true for a truncated payload).
    pub fn may_touch<'a>(&self, mut paths: impl Iterator<Item = &'a str>) -> bool {
        self.truncated || paths.any(|p| self.changed_paths.contains(p))
    }
}

#[derive(Deserialize)]
struct CommitJson {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

#[derive(Deserialize)]
struct GitHubPushJson {
    #[serde(rename = "ref")]
    git_ref: String,
    before: String,
    after: String,
    #[serde(default)]
    commits: Vec<CommitJson>,
    repository: GitHubRepoJson,
}

#[derive(Deserialize)]
struct GitHubRepoJson {
    full_name: String,
    html_url: String,
}

#[derive(Deserialize)]
struct GitLabPushJson {
    #[serde(rename = "ref")]
    git_ref: String,
    before: String,
    after: String,
    #[serde(default)]
    commits: Vec<CommitJson>,
    total_commits_count: Option<u64>,
    project: GitLabProjectJson,
}

#[derive(Deserialize)]
struct GitLabProjectJson {
    path_with_namespace: String,
    web_url: String,
}

/// The object id, or `None` for git's null id (all zeros: the ref was created or deleted). The
/// null id has an object id's length; an empty or short run of zeros is refused.
fn sha_or_none(value: &str) -> Result<Option<CommitSha>, WebhookError> {
    if matches!(value.len(), 40 | 64) && value.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    CommitSha::parse(value)
        .map(Some)
        .map_err(|e| WebhookError::BadPayload(e.to_string()))
}

fn changes(commits: &[CommitJson]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut changed = BTreeSet::new();
    let mut removed = BTreeSet::new();
    // Commits are listed oldest first; the last change to a path decides whether it is gone.
    for commit in commits {
        for path in commit.added.iter().chain(&commit.modified) {
            removed.remove(path);
            changed.insert(path.clone());
        }
        for path in &commit.removed {
            removed.insert(path.clone());
            changed.insert(path.clone());
        }
    }
    (changed, removed)
}

fn branch_of(git_ref: &str) -> Option<String> {
    git_ref.strip_prefix("refs/heads/").map(str::to_owned)
}

/// Parses a GitHub `push` payload (verify the signature first).
pub fn parse_github_push(body: &[u8]) -> Result<PushEvent, WebhookError> {
    let push: GitHubPushJson =
        serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
    let truncated = push.commits.len() >= GITHUB_MAX_COMMITS
        || push.commits.iter().any(|c| {
            c.added.len() + c.modified.len() + c.removed.len() >= GITHUB_MAX_FILES_PER_COMMIT
        });
    let (changed_paths, removed_paths) = changes(&push.commits);
    Ok(PushEvent {
        forge: ForgeKind::GitHub,
        repository: push.repository.full_name,
        repository_url: push.repository.html_url,
        branch: branch_of(&push.git_ref),
        git_ref: push.git_ref,
        before: sha_or_none(&push.before)?,
        after: sha_or_none(&push.after)?,
        changed_paths,
        removed_paths,
        truncated,
    })
}

/// Parses a GitLab `Push Hook` payload (verify the token first).
pub fn parse_gitlab_push(body: &[u8]) -> Result<PushEvent, WebhookError> {
    let push: GitLabPushJson =
        serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
    // GitLab lists only the newest 20 commits; total_commits_count is the real number.
    let truncated = push
        .total_commits_count
        .is_some_and(|total| total > push.commits.len() as u64);
    let (changed_paths, removed_paths) = changes(&push.commits);
    Ok(PushEvent {
        forge: ForgeKind::GitLab,
        repository: push.project.path_with_namespace,
        repository_url: push.project.web_url,
        branch: branch_of(&push.git_ref),
        git_ref: push.git_ref,
        before: sha_or_none(&push.before)?,
        after: sha_or_none(&push.after)?,
        changed_paths,
        removed_paths,
        truncated,
    })
}
