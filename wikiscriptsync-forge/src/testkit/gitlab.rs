//! The fake GitLab REST v4 API under `/api/v4`: `projects/:id` (numeric id or URL-encoded path),
//! `repository/branches/:branch`, `repository/branches?search=` (offset pagination),
//! `repository/tree` (keyset pagination with `Link` headers,
//! `per_page` capped at 100), `repository/files/:path[/raw]?ref=` and `repository/blobs/:sha/raw`,
//! with `RateLimit-*` headers; every request is charged (GitLab gives no 304 relief).

use std::ops::Deref;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::Request;

use super::git::{EntryKind, GitStore, Repo};
use super::{
    Bucket, Ctx, Dialect, Endpoint, FakeServer, Reply, base64_plain, header, page_link, page_of,
    query, segments, test_builder,
};
use crate::config::ForgeConfigBuilder;
use crate::instance::Token;

/// A fake GitLab instance on loopback. Dereferences to [`FakeServer`].
pub struct FakeGitLab {
    inner: FakeServer,
}

impl Deref for FakeGitLab {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.inner
    }
}

impl FakeGitLab {
    /// Starts the fake (quota: 2,000/min with a token, 500/min without, as gitlab.com).
    pub async fn start() -> Self {
        Self {
            inner: FakeServer::start(GitLabDialect).await,
        }
    }

    /// The repository URL users would paste (`http://127.0.0.1:<port>/<full_name>`).
    pub fn repo_url(&self, full_name: &str) -> String {
        format!("{}/{full_name}", self.uri())
    }

    /// A configuration with this fake as a GitLab instance, without a token, with fast retries.
    pub fn config_builder(&self) -> ForgeConfigBuilder {
        test_builder().gitlab_instance(&self.uri())
    }

    /// Same, with a token for the fake's host.
    pub fn config_builder_with_token(&self, token: &str) -> ForgeConfigBuilder {
        let host = self.uri().trim_start_matches("http://").to_owned();
        self.config_builder()
            .gitlab_token(&host, Token::from(token))
    }

    /// The numeric project id of a repository.
    pub fn project_id(&self, full_name: &str) -> Option<u64> {
        self.state().git.repos.get(full_name).map(|r| r.id)
    }
}

struct GitLabDialect;

fn keyset_token(path: &str) -> String {
    super::base64_plain(json!({ "file_name": path }).to_string().as_bytes())
}

fn message(status: u16, text: &str) -> Reply {
    Reply::json(status, &json!({ "message": text }))
}

const TIME: &str = "2023-11-14T22:13:20.000+00:00";

impl GitLabDialect {
    fn project_json(base: &str, repo: &Repo) -> Value {
        let (namespace, path) = repo
            .full_name
            .rsplit_once('/')
            .unwrap_or(("", &repo.full_name));
        json!({
            "id": repo.id,
            "description": null,
            "name": path,
            "name_with_namespace": repo.full_name.replace('/', " / "),
            "path": path,
            "path_with_namespace": repo.full_name,
            "created_at": TIME,
            "default_branch": repo.default_branch,
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": format!("git@{}:{}.git", base.trim_start_matches("http://"), repo.full_name),
            "http_url_to_repo": format!("{base}/{}.git", repo.full_name),
            "web_url": format!("{base}/{}", repo.full_name),
            "readme_url": null,
            "forks_count": 0,
            "star_count": 0,
            "last_activity_at": TIME,
            "namespace": {"id": repo.id + 100_000, "name": namespace, "path": namespace.rsplit('/').next().unwrap_or(namespace), "kind": "group", "full_path": namespace, "web_url": format!("{base}/groups/{namespace}")},
            "visibility": repo.visibility.as_str(),
            "repository_access_level": "enabled",
            "empty_repo": false,
            "archived": false,
        })
    }

    fn branch_json(base: &str, repo: &Repo, git: &GitStore, name: &str, sha: &str) -> Value {
        let commit = &git.commits[sha];
        json!({
            "name": name,
            "commit": {
                "id": sha, "short_id": &sha[..8], "created_at": TIME, "parent_ids": commit.parents,
                "title": commit.message, "message": commit.message,
                "author_name": "Fake Author", "author_email": "fake@example.org", "authored_date": TIME,
                "committer_name": "Fake Author", "committer_email": "fake@example.org", "committed_date": TIME,
                "trailers": {}, "extended_trailers": {},
                "web_url": format!("{base}/{}/-/commit/{sha}", repo.full_name)
            },
            "merged": false, "protected": name == repo.default_branch, "developers_can_push": false,
            "developers_can_merge": false, "can_push": false, "default": name == repo.default_branch,
            "web_url": format!("{base}/{}/-/tree/{name}", repo.full_name)
        })
    }

    /// `GET /projects/:id/repository/branches`: branch objects sorted by name, filtered by
    /// `search` (contains, ignoring case; `^term` begins with, `term$` ends with), 20 per page by
    /// default (at most 100), with GitLab's offset-pagination headers (`Link`, `x-page`,
    /// `x-per-page`, `x-next-page`, `x-prev-page`, `x-total`, `x-total-pages`).
    fn branches_reply(base: &str, req: &Request, repo: &Repo, git: &GitStore) -> Reply {
        let search = query(req, "search").unwrap_or_default().to_lowercase();
        let (anchored_start, rest) = match search.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, search.as_str()),
        };
        let (anchored_end, term) = match rest.strip_suffix('$') {
            Some(term) => (true, term),
            None => (false, rest),
        };
        let matching: Vec<(&String, &String)> = repo
            .branches
            .iter()
            .filter(|(name, _)| {
                let name = name.to_lowercase();
                match (anchored_start, anchored_end) {
                    (true, true) => name == term,
                    (true, false) => name.starts_with(term),
                    (false, true) => name.ends_with(term),
                    (false, false) => name.contains(term),
                }
            })
            .collect();
        let (page, per_page, start) = page_of(req, 20);
        let items: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(per_page)
            .map(|(name, sha)| Self::branch_json(base, repo, git, name, sha))
            .collect();
        let total_pages = matching.len().div_ceil(per_page).max(1);
        let has_next = page < total_pages;
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!(
                "<{}>; rel=\"prev\"",
                page_link(base, req, page - 1)
            ));
        }
        if has_next {
            links.push(format!(
                "<{}>; rel=\"next\"",
                page_link(base, req, page + 1)
            ));
        }
        links.push(format!("<{}>; rel=\"first\"", page_link(base, req, 1)));
        links.push(format!(
            "<{}>; rel=\"last\"",
            page_link(base, req, total_pages)
        ));
        let next = if has_next {
            (page + 1).to_string()
        } else {
            String::new()
        };
        let prev = if page > 1 {
            (page - 1).to_string()
        } else {
            String::new()
        };
        Reply::json(200, &Value::Array(items))
            .header("Link", links.join(", "))
            .header("x-page", page.to_string())
            .header("x-per-page", per_page.to_string())
            .header("x-next-page", next)
            .header("x-prev-page", prev)
            .header("x-total", matching.len().to_string())
            .header("x-total-pages", total_pages.to_string())
    }

    fn tree_reply(base: &str, req: &Request, repo: &Repo, git: &GitStore, ctx: &Ctx) -> Reply {
        let reference = query(req, "ref").unwrap_or_else(|| repo.default_branch.clone());
        let Some(commit) = git.resolve(repo, &reference) else {
            return message(404, "404 Tree Not Found");
        };
        let root = &git.commits[&commit].tree;
        let dir = query(req, "path").unwrap_or_default();
        let dir = dir.trim_matches('/');
        let Some(tree) = git.subtree(root, dir) else {
            return message(404, "404 Tree Not Found");
        };
        let recursive = query(req, "recursive").is_some_and(|v| v == "true");
        let mut entries = Vec::new();
        if recursive {
            git.walk(&tree, dir, &mut entries);
        } else {
            for e in git.trees.get(&tree).into_iter().flatten() {
                let path = if dir.is_empty() {
                    e.name.clone()
                } else {
                    format!("{dir}/{}", e.name)
                };
                entries.push((path, e.clone()));
            }
        }
        let per_page = query(req, "per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(20)
            .clamp(1, 100);
        let keyset =
            !ctx.offset_pagination && query(req, "pagination").as_deref() == Some("keyset");
        let start = if keyset {
            // An opaque cursor, as GitLab's: base64 of {"file_name": <last path of the page>}.
            match query(req, "page_token") {
                Some(token) => entries
                    .iter()
                    .position(|(p, _)| keyset_token(p) == token)
                    .map_or(entries.len(), |i| i + 1),
                None => 0,
            }
        } else {
            let page = query(req, "page")
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1);
            (page - 1) * per_page
        };
        let page: Vec<Value> = entries
            .iter()
            .skip(start)
            .take(per_page)
            .map(|(path, e)| {
                let name = path.rsplit('/').next().unwrap_or(path);
                let kind = if e.kind == EntryKind::Tree {
                    "tree"
                } else {
                    "blob"
                };
                json!({"id": e.sha, "name": name, "type": kind, "path": path, "mode": e.mode()})
            })
            .collect();
        let mut reply =
            Reply::json(200, &Value::Array(page)).header("x-per-page", per_page.to_string());
        let has_next = start + per_page < entries.len();
        // wiremock reports the request URL without our port; link from the server's own base.
        let link_to = |replace: &[(&str, String)]| {
            let mut next = url::Url::parse(&format!("{base}{}", req.url.path()))
                .unwrap_or_else(|_| req.url.clone());
            let mut pairs: Vec<(String, String)> = vec![("id".into(), repo.id.to_string())];
            pairs.extend(
                req.url
                    .query_pairs()
                    .filter(|(k, _)| k != "id" && !replace.iter().any(|(r, _)| r == k))
                    .map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
            pairs.extend(replace.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            pairs.sort();
            next.query_pairs_mut().clear().extend_pairs(pairs);
            next
        };
        if keyset {
            if has_next && let Some((last, _)) = entries.get(start + per_page - 1) {
                let next = link_to(&[("page", "1".into()), ("page_token", keyset_token(last))]);
                reply = reply.header("Link", format!("<{next}>; rel=\"next\""));
            }
            return reply;
        }
        // Offset pagination (instances before keyset support for trees).
        let page = start / per_page + 1;
        let total_pages = entries.len().div_ceil(per_page).max(1);
        let mut links = Vec::new();
        if has_next {
            links.push(format!(
                "<{}>; rel=\"next\"",
                link_to(&[("page", (page + 1).to_string())])
            ));
        }
        links.push(format!(
            "<{}>; rel=\"first\"",
            link_to(&[("page", "1".into())])
        ));
        links.push(format!(
            "<{}>; rel=\"last\"",
            link_to(&[("page", total_pages.to_string())])
        ));
        reply
            .header("Link", links.join(", "))
            .header("x-page", page.to_string())
            .header(
                "x-next-page",
                if has_next {
                    (page + 1).to_string()
                } else {
                    String::new()
                },
            )
            .header(
                "x-prev-page",
                if page > 1 {
                    (page - 1).to_string()
                } else {
                    String::new()
                },
            )
            .header("x-total", entries.len().to_string())
            .header("x-total-pages", total_pages.to_string())
    }

    fn file_reply(req: &Request, repo: &Repo, git: &GitStore, path: &str, raw: bool) -> Reply {
        let Some(reference) = query(req, "ref") else {
            return Reply::json(400, &json!({"error": "ref is missing"}));
        };
        let Some(commit) = git.resolve(repo, &reference) else {
            return message(404, "404 Commit Not Found");
        };
        let Some(blob_sha) = git.commits[&commit].files.get(path) else {
            return message(404, "404 File Not Found");
        };
        let bytes = git
            .blobs
            .get(blob_sha)
            .map(|b| b.as_ref().clone())
            .unwrap_or_default();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let name = path.rsplit('/').next().unwrap_or(path).to_owned();
        let size = bytes.len();
        let mut reply = if raw {
            let mut r = Reply::raw(200, "text/plain; charset=utf-8", bytes);
            r.is_content = true;
            r
        } else {
            Reply::json(
                200,
                &json!({
                    "file_name": name, "file_path": path, "size": size, "encoding": "base64",
                    "content_sha256": sha256, "ref": reference, "blob_id": blob_sha, "commit_id": commit,
                    "last_commit_id": commit, "execute_filemode": false, "content": base64_plain(git.blobs.get(blob_sha).map_or(&[][..], |b| b.as_slice()))
                }),
            )
        };
        for (k, v) in [
            ("X-Gitlab-Blob-Id", blob_sha.clone()),
            ("X-Gitlab-Commit-Id", commit.clone()),
            ("X-Gitlab-Content-Sha256", sha256),
            ("X-Gitlab-Encoding", "base64".into()),
            ("X-Gitlab-File-Name", name),
            ("X-Gitlab-File-Path", path.to_owned()),
            ("X-Gitlab-Last-Commit-Id", commit.clone()),
            ("X-Gitlab-Ref", reference),
            ("X-Gitlab-Size", size.to_string()),
            ("X-Gitlab-Execute-Filemode", "false".into()),
        ] {
            reply = reply.header(k, v);
        }
        reply
    }
}

impl Dialect for GitLabDialect {
    fn endpoint(&self, req: &Request) -> Endpoint {
        let s = segments(req);
        match s.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["api", "v4", "version"] => Endpoint::Version,
            ["api", "v4", "projects", _] => Endpoint::Project,
            ["api", "v4", "projects", _, "repository", "branches"] => Endpoint::Branches,
            ["api", "v4", "projects", _, "repository", "branches", ..] => Endpoint::Branch,
            ["api", "v4", "projects", _, "repository", "tree"] => Endpoint::Tree,
            ["api", "v4", "projects", _, "repository", "files", ..] => Endpoint::Files,
            ["api", "v4", "projects", _, "repository", "blobs", ..] => Endpoint::Blob,
            _ => Endpoint::Other,
        }
    }

    fn credential(&self, req: &Request) -> Option<String> {
        header(req, "private-token").or_else(|| {
            header(req, "authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_owned))
        })
    }

    fn route(&self, git: &GitStore, req: &Request, ctx: &Ctx) -> Reply {
        let base = ctx.base_url.as_str();
        let s = segments(req);
        if s == ["api", "v4", "version"] {
            if !ctx.authorized {
                return message(401, "401 Unauthorized");
            }
            return Reply::json(
                200,
                &json!({"version": "17.7.0", "revision": "fake", "kas": {"enabled": false}, "enterprise": false}),
            );
        }
        if s.len() < 4 || s[0] != "api" || s[1] != "v4" || s[2] != "projects" {
            return message(404, "404 Not Found");
        }
        // `:id` is a numeric id or the URL-encoded path (decoded by `segments`).
        let full_name = match s[3].parse::<u64>() {
            Ok(id) => git.repo_ids.get(&id).cloned(),
            Err(_) => Some(s[3].clone()),
        };
        let Some(repo) = full_name
            .and_then(|n| git.repos.get(&n))
            .filter(|r| r.visibility.is_public() || ctx.authorized)
        else {
            return message(404, "404 Project Not Found");
        };
        let rest: Vec<&str> = s[4..].iter().map(String::as_str).collect();
        match rest.as_slice() {
            [] => Reply::json(200, &Self::project_json(base, repo)),
            ["repository", "branches"] => Self::branches_reply(base, req, repo, git),
            ["repository", "branches", branch] => match repo.branches.get(*branch) {
                Some(sha) => Reply::json(200, &Self::branch_json(base, repo, git, branch, sha)),
                None => message(404, "404 Branch Not Found"),
            },
            ["repository", "tree"] => Self::tree_reply(base, req, repo, git, ctx),
            ["repository", "files", path, "raw"] => Self::file_reply(req, repo, git, path, true),
            ["repository", "files", path] => Self::file_reply(req, repo, git, path, false),
            ["repository", "blobs", sha, "raw"] => match git.blobs.get(*sha) {
                Some(bytes) => {
                    let mut r =
                        Reply::raw(200, "text/plain; charset=utf-8", bytes.as_ref().clone());
                    r.is_content = true;
                    r
                }
                None => message(404, "404 Blob Not Found"),
            },
            _ => message(404, "404 Not Found"),
        }
    }

    fn limits(&self) -> (u64, u64) {
        (2000, 500)
    }

    fn window(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn free_authorized_304(&self) -> bool {
        false
    }

    fn rate_headers(&self, limit: u64, bucket: &Bucket, authorized: bool) -> Vec<(String, String)> {
        let name = if authorized {
            "throttle_authenticated_api"
        } else {
            "throttle_unauthenticated_api"
        };
        vec![
            ("RateLimit-Name".into(), name.into()),
            ("RateLimit-Limit".into(), limit.to_string()),
            (
                "RateLimit-Observed".into(),
                bucket.used.min(limit).to_string(),
            ),
            (
                "RateLimit-Remaining".into(),
                limit.saturating_sub(bucket.used).to_string(),
            ),
            ("RateLimit-Reset".into(), bucket.reset.to_string()),
        ]
    }

    fn primary_limited(&self, reset: u64) -> Reply {
        let now = super::now_epoch();
        Reply::raw(429, "text/plain", b"Retry later\n".to_vec())
            .header("Retry-After", reset.saturating_sub(now).max(1).to_string())
            .header(
                "RateLimit-ResetTime",
                httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(reset)),
            )
    }

    fn secondary_limited(&self, status: u16, retry_after: Option<u64>) -> Reply {
        let reply = Reply::raw(status, "text/plain", b"Retry later\n".to_vec());
        match retry_after {
            Some(secs) => reply.header("Retry-After", secs.to_string()),
            None => reply,
        }
    }

    fn bad_credentials(&self) -> Reply {
        message(401, "401 Unauthorized")
    }
}
