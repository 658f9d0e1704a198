//! The fake GitHub REST API: `repos/{o}/{r}`, `commits/{ref}` (JSON and the `.sha` media type
//! with the quoted SHA as ETag), `git/trees/{sha}[?recursive=1]`, `contents/{path}?ref=` (JSON,
//! or raw bytes for the raw media types) and `git/blobs/{sha}`, with `x-ratelimit-*` headers.

use std::ops::Deref;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::Request;

use super::git::{EntryKind, GitStore, Repo};
use super::{
    Bucket, Ctx, Dialect, Endpoint, FakeServer, Reply, base64_lines, header, page_link, page_of,
    query, segments, test_builder,
};
use crate::config::ForgeConfigBuilder;
use crate::instance::Token;

const DOCS: &str = "https://docs.github.com/rest";

/// A fake GitHub on loopback. Dereferences to [`FakeServer`] for population, faults and counters.
pub struct FakeGitHub {
    inner: FakeServer,
}

impl Deref for FakeGitHub {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.inner
    }
}

impl FakeGitHub {
    /// Starts the fake (quota: 5,000/h with a token, 60/h without, as github.com).
    pub async fn start() -> Self {
        Self {
            inner: FakeServer::start(GitHubDialect).await,
        }
    }

    /// The repository URL users would paste (`https://github.com/<full_name>`): github.com is
    /// routed to the fake API by [`Self::config_builder`].
    pub fn repo_url(&self, full_name: &str) -> String {
        format!("https://github.com/{full_name}")
    }

    /// A configuration pointing GitHub at this fake, without a token, with fast retries.
    pub fn config_builder(&self) -> ForgeConfigBuilder {
        test_builder().github_api_url(&self.uri())
    }

    /// Same, with a token.
    pub fn config_builder_with_token(&self, token: &str) -> ForgeConfigBuilder {
        self.config_builder().github_token(Token::from(token))
    }
}

struct GitHubDialect;

fn not_found(doc: &str) -> Reply {
    Reply::json(
        404,
        &json!({"message": "Not Found", "documentation_url": format!("{DOCS}/{doc}"), "status": "404"}),
    )
}

fn etag_of(body: &[u8], accept: &str, authorized: bool) -> String {
    // GitHub's ETags vary with Accept and Authorization (Vary header), so the fake's do too.
    let mut h = Sha256::new();
    h.update(body);
    h.update(accept.as_bytes());
    h.update([u8::from(authorized)]);
    format!("W/\"{}\"", hex::encode(&h.finalize()[..16]))
}

fn conditional(req: &Request, etag: &str, reply: Reply) -> Reply {
    let matches = header(req, "if-none-match").is_some_and(|inm| {
        inm.split(',').any(|candidate| {
            let c = candidate.trim();
            c == etag || c.trim_start_matches("W/") == etag.trim_start_matches("W/")
        })
    });
    let reply = if matches {
        Reply::raw(304, "", Vec::new())
    } else {
        reply
    };
    reply
        .header("ETag", etag)
        .header("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
        .header("Cache-Control", "private, max-age=60, s-maxage=60")
}

impl GitHubDialect {
    fn repo_json(base: &str, repo: &Repo) -> Value {
        let (owner, name) = repo
            .full_name
            .split_once('/')
            .unwrap_or(("", &repo.full_name));
        json!({
            "id": repo.id,
            "node_id": format!("R_kgDO{}", repo.id),
            "name": name,
            "full_name": repo.full_name,
            "private": !repo.visibility.is_public(),
            "owner": {"login": owner, "id": repo.id + 7, "type": "User", "url": format!("{base}/users/{owner}"), "html_url": format!("https://github.com/{owner}")},
            "html_url": format!("https://github.com/{}", repo.full_name),
            "description": null,
            "fork": false,
            "url": format!("{base}/repos/{}", repo.full_name),
            "git_url": format!("git://github.com/{}.git", repo.full_name),
            "ssh_url": format!("git@github.com:{}.git", repo.full_name),
            "clone_url": format!("https://github.com/{}.git", repo.full_name),
            "default_branch": repo.default_branch,
            "visibility": repo.visibility.as_str(),
            "archived": false,
            "disabled": false,
            "size": 1,
        })
    }

    /// `GET /repos/{o}/{r}/branches`: `[{name, commit: {sha, url}, protected}]`, 30 per page by
    /// default (at most 100), with a `Link` header (`next`, `last`, `first`, `prev`) when there
    /// is more than one page, and an `ETag`.
    fn branches_reply(
        base: &str,
        req: &Request,
        repo: &Repo,
        accept: &str,
        authorized: bool,
    ) -> Reply {
        let protected = query(req, "protected").map(|v| v == "true");
        let names: Vec<(&String, &String)> = repo
            .branches
            .iter()
            .filter(|(name, _)| protected.is_none_or(|p| p == (**name == repo.default_branch)))
            .collect();
        let (page, per_page, start) = page_of(req, 30);
        let items: Vec<Value> = names
            .iter()
            .skip(start)
            .take(per_page)
            .map(|(name, sha)| {
                json!({
                    "name": name,
                    "commit": {"sha": sha, "url": format!("{base}/repos/{}/commits/{sha}", repo.full_name)},
                    "protected": **name == repo.default_branch,
                })
            })
            .collect();
        let body = serde_json::to_vec(&items).unwrap_or_default();
        let etag = etag_of(&body, accept, authorized);
        let mut reply = Reply::raw(200, "application/json; charset=utf-8", body);
        let last = names.len().div_ceil(per_page).max(1);
        if last > 1 {
            let mut links = Vec::new();
            if page < last {
                links.push(format!(
                    "<{}>; rel=\"next\"",
                    page_link(base, req, page + 1)
                ));
                links.push(format!("<{}>; rel=\"last\"", page_link(base, req, last)));
            }
            if page > 1 {
                links.push(format!("<{}>; rel=\"first\"", page_link(base, req, 1)));
                links.push(format!(
                    "<{}>; rel=\"prev\"",
                    page_link(base, req, page - 1)
                ));
            }
            reply = reply.header("Link", links.join(", "));
        }
        conditional(req, &etag, reply)
    }

    fn commit_json(base: &str, repo: &Repo, git: &GitStore, sha: &str) -> Value {
        let commit = &git.commits[sha];
        let person = json!({"name": "Fake Author", "email": "fake@example.org", "date": "2023-11-14T22:13:20Z"});
        json!({
            "sha": sha,
            "node_id": format!("C_{sha}"),
            "commit": {
                "author": person, "committer": person, "message": commit.message,
                "tree": {"sha": commit.tree, "url": format!("{base}/repos/{}/git/trees/{}", repo.full_name, commit.tree)},
                "url": format!("{base}/repos/{}/git/commits/{sha}", repo.full_name),
                "comment_count": 0,
                "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null}
            },
            "url": format!("{base}/repos/{}/commits/{sha}", repo.full_name),
            "html_url": format!("https://github.com/{}/commit/{sha}", repo.full_name),
            "comments_url": format!("{base}/repos/{}/commits/{sha}/comments", repo.full_name),
            "author": null,
            "committer": null,
            "parents": commit.parents.iter().map(|p| json!({"sha": p, "url": format!("{base}/repos/{}/commits/{p}", repo.full_name), "html_url": format!("https://github.com/{}/commit/{p}", repo.full_name)})).collect::<Vec<_>>(),
            "files": [],
        })
    }

    fn tree_reply(
        base: &str,
        repo: &Repo,
        git: &GitStore,
        tree_ish: &str,
        recursive: bool,
        truncate: bool,
    ) -> Reply {
        let tree_sha = match git.resolve(repo, tree_ish) {
            Some(commit) => git.commits[&commit].tree.clone(),
            None if git.trees.contains_key(tree_ish) => tree_ish.to_owned(),
            None => return not_found("git/trees#get-a-tree"),
        };
        let entry_json = |path: &str, e: &super::git::TreeEntry| {
            let kind = if e.kind == EntryKind::Tree {
                "tree"
            } else {
                "blob"
            };
            let segment = if kind == "tree" { "trees" } else { "blobs" };
            let mut v = json!({"path": path, "mode": e.mode(), "type": kind, "sha": e.sha, "url": format!("{base}/repos/{}/git/{segment}/{}", repo.full_name, e.sha)});
            if e.kind == EntryKind::Blob {
                v["size"] = json!(git.blobs.get(&e.sha).map_or(0, |b| b.len()));
            }
            v
        };
        let mut entries = Vec::new();
        if recursive && !truncate {
            git.walk(&tree_sha, "", &mut entries);
        } else {
            for e in git.trees.get(&tree_sha).into_iter().flatten() {
                entries.push((e.name.clone(), e.clone()));
            }
        }
        let tree: Vec<Value> = entries.iter().map(|(p, e)| entry_json(p, e)).collect();
        Reply::json(
            200,
            &json!({
                "sha": tree_sha,
                "url": format!("{base}/repos/{}/git/trees/{tree_sha}", repo.full_name),
                "tree": tree,
                "truncated": recursive && truncate,
            }),
        )
    }

    fn contents_reply(base: &str, req: &Request, repo: &Repo, git: &GitStore, path: &str) -> Reply {
        let reference = query(req, "ref").unwrap_or_else(|| repo.default_branch.clone());
        let Some(commit) = git.resolve(repo, &reference) else {
            return Reply::json(
                404,
                &json!({"message": format!("No commit found for the ref {reference}"), "documentation_url": format!("{DOCS}/repos/contents#get-repository-content"), "status": "404"}),
            );
        };
        let files = &git.commits[&commit].files;
        let Some(blob_sha) = files.get(path) else {
            // A directory: an array of its entries, each with its blob or tree SHA.
            let root = &git.commits[&commit].tree;
            let Some(dir) = git.subtree(root, path) else {
                return not_found("repos/contents#get-repository-content");
            };
            let listing: Vec<Value> = git
                .trees
                .get(&dir)
                .into_iter()
                .flatten()
                .map(|e| {
                    let entry_path = format!("{path}/{}", e.name);
                    let (kind, segment) = if e.kind == EntryKind::Tree { ("dir", "trees") } else { ("file", "blobs") };
                    let size = if e.kind == EntryKind::Tree { 0 } else { git.blobs.get(&e.sha).map_or(0, |b| b.len()) };
                    let self_url = format!("{base}/repos/{}/contents/{entry_path}?ref={reference}", repo.full_name);
                    let git_url = format!("{base}/repos/{}/git/{segment}/{}", repo.full_name, e.sha);
                    let html_url = format!("https://github.com/{}/{}/{reference}/{entry_path}", repo.full_name, if kind == "dir" { "tree" } else { "blob" });
                    let download = (kind == "file").then(|| format!("https://raw.githubusercontent.com/{}/{reference}/{entry_path}", repo.full_name));
                    json!({"type": kind, "size": size, "name": e.name, "path": entry_path, "sha": e.sha, "url": self_url,
                           "git_url": git_url, "html_url": html_url, "download_url": download,
                           "_links": {"self": self_url, "git": git_url, "html": html_url}})
                })
                .collect();
            return Reply::json(200, &Value::Array(listing));
        };
        let bytes = git
            .blobs
            .get(blob_sha)
            .map(|b| b.as_ref().clone())
            .unwrap_or_default();
        let accept = header(req, "accept").unwrap_or_default();
        if accept.contains("vnd.github.raw") {
            let mut reply = Reply::raw(200, "application/vnd.github.raw; charset=utf-8", bytes);
            reply.is_content = true;
            return reply.header("ETag", format!("\"{blob_sha}\""));
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let self_url = format!(
            "{base}/repos/{}/contents/{path}?ref={reference}",
            repo.full_name
        );
        let git_url = format!("{base}/repos/{}/git/blobs/{blob_sha}", repo.full_name);
        let html_url = format!(
            "https://github.com/{}/blob/{reference}/{path}",
            repo.full_name
        );
        let mut reply = Reply::json(
            200,
            &json!({
                "type": "file", "encoding": "base64", "size": bytes.len(), "name": name, "path": path,
                "content": base64_lines(&bytes), "sha": blob_sha, "url": self_url, "git_url": git_url,
                "html_url": html_url,
                "download_url": format!("https://raw.githubusercontent.com/{}/{reference}/{path}", repo.full_name),
                "_links": {"git": git_url, "self": self_url, "html": html_url}
            }),
        );
        reply.is_content = false;
        reply
    }
}

impl Dialect for GitHubDialect {
    fn endpoint(&self, req: &Request) -> Endpoint {
        let s = segments(req);
        match s.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["repos", _, _] => Endpoint::Repository,
            ["repos", _, _, "commits", _, ..] => Endpoint::Commit,
            ["repos", _, _, "branches"] => Endpoint::Branches,
            ["repos", _, _, "git", "trees", _] => Endpoint::Tree,
            ["repos", _, _, "git", "blobs", _] => Endpoint::Blob,
            ["repos", _, _, "contents", ..] => Endpoint::Contents,
            ["rate_limit"] => Endpoint::RateLimit,
            _ => Endpoint::Other,
        }
    }

    fn credential(&self, req: &Request) -> Option<String> {
        let auth = header(req, "authorization")?;
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("token "))?;
        Some(token.trim().to_owned())
    }

    fn route(&self, git: &GitStore, req: &Request, ctx: &Ctx) -> Reply {
        let base = ctx.base_url.as_str();
        let s = segments(req);
        if s == ["rate_limit"] {
            return Reply::json(
                200,
                &json!({"resources": {}, "rate": {"note": "see the x-ratelimit-* headers"}}),
            );
        }
        if s.len() < 3 || s[0] != "repos" {
            return not_found("");
        }
        let full_name = format!("{}/{}", s[1], s[2]);
        let Some(repo) = git
            .repos
            .get(&full_name)
            .filter(|r| r.visibility.is_public() || ctx.authorized)
        else {
            return not_found("repos/repos#get-a-repository");
        };
        let accept = header(req, "accept").unwrap_or_default();
        let rest: Vec<&str> = s[3..].iter().map(String::as_str).collect();
        match rest.as_slice() {
            [] => {
                let body = serde_json::to_vec(&Self::repo_json(base, repo)).unwrap_or_default();
                let etag = etag_of(&body, &accept, ctx.authorized);
                conditional(
                    req,
                    &etag,
                    Reply::raw(200, "application/json; charset=utf-8", body),
                )
            }
            ["commits", reference @ ..] => {
                let reference = reference.join("/");
                let Some(sha) = git.resolve(repo, &reference) else {
                    return Reply::json(
                        422,
                        &json!({"message": format!("No commit found for SHA: {reference}"), "documentation_url": format!("{DOCS}/commits/commits#get-a-commit"), "status": "422"}),
                    );
                };
                if accept.contains("application/vnd.github.sha") {
                    // Documented: the SHA is the body and its quoted form the ETag.
                    let etag = format!("\"{sha}\"");
                    conditional(
                        req,
                        &etag,
                        Reply::raw(
                            200,
                            "application/vnd.github.sha; charset=utf-8",
                            sha.into_bytes(),
                        ),
                    )
                } else {
                    let body = serde_json::to_vec(&Self::commit_json(base, repo, git, &sha))
                        .unwrap_or_default();
                    let etag = etag_of(&body, &accept, ctx.authorized);
                    conditional(
                        req,
                        &etag,
                        Reply::raw(200, "application/json; charset=utf-8", body),
                    )
                }
            }
            ["branches"] => Self::branches_reply(base, req, repo, &accept, ctx.authorized),
            ["git", "trees", tree_ish] => {
                let recursive = query(req, "recursive")
                    .is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
                Self::tree_reply(base, repo, git, tree_ish, recursive, ctx.truncate_tree)
            }
            ["git", "blobs", sha] => match git.blobs.get(*sha) {
                Some(bytes) => Reply::json(
                    200,
                    &json!({"content": base64_lines(bytes), "encoding": "base64", "url": format!("{base}/repos/{full_name}/git/blobs/{sha}"), "sha": sha, "size": bytes.len(), "node_id": format!("B_{sha}")}),
                ),
                None => not_found("git/blobs#get-a-blob"),
            },
            ["contents", path @ ..] if !path.is_empty() => {
                Self::contents_reply(base, req, repo, git, &path.join("/"))
            }
            _ => not_found(""),
        }
    }

    fn limits(&self) -> (u64, u64) {
        (5000, 60)
    }

    fn window(&self) -> Duration {
        Duration::from_secs(3600)
    }

    fn free_authorized_304(&self) -> bool {
        true
    }

    fn rate_headers(
        &self,
        limit: u64,
        bucket: &Bucket,
        _authorized: bool,
    ) -> Vec<(String, String)> {
        vec![
            ("x-ratelimit-limit".into(), limit.to_string()),
            (
                "x-ratelimit-remaining".into(),
                limit.saturating_sub(bucket.used).to_string(),
            ),
            (
                "x-ratelimit-used".into(),
                bucket.used.min(limit).to_string(),
            ),
            ("x-ratelimit-reset".into(), bucket.reset.to_string()),
            ("x-ratelimit-resource".into(), "core".into()),
            ("x-github-api-version-selected".into(), "2022-11-28".into()),
        ]
    }

    fn primary_limited(&self, _reset: u64) -> Reply {
        Reply::json(
            403,
            &json!({"message": "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)", "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}),
        )
    }

    fn secondary_limited(&self, status: u16, retry_after: Option<u64>) -> Reply {
        let reply = Reply::json(
            status,
            &json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}),
        );
        match retry_after {
            Some(secs) => reply.header("retry-after", secs.to_string()),
            None => reply,
        }
    }

    fn bad_credentials(&self) -> Reply {
        Reply::json(
            401,
            &json!({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}),
        )
    }
}
