//! Repository URLs → typed [`RepoLocator`]s, refusing anything that is not plainly a repository
//! on a configured instance *before* any request is made.
//!
//! Accepted forms (on github.com, a configured GitHub Enterprise or a configured GitLab instance):
//! `https://host/owner/name`, with `.git`, a trailing slash, `?query` or `#fragment` (ignored);
//! `…/tree/<branch>[/<dir>]` and `…/blob/<branch>/<path>` (GitLab: `…/-/tree/…`, `…/-/blob/…`);
//! `git@host:owner/name.git` and `ssh://git@host/owner/name.git`. GitLab project paths may have
//! subgroups (`group/sub/project`). In `/tree/` and `/blob/` URLs the first segment is taken as the
//! branch: a branch whose name contains `/` must be given separately.

use std::fmt;

use percent_encoding::percent_decode_str;
use url::Url;

use crate::instance::{ForgeKind, WebBase, host_key};

/// A repository on a configured forge, as parsed from a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoLocator {
    /// GitHub or GitLab.
    pub kind: ForgeKind,
    /// Web base of the instance (`https://github.com/`), trailing slash included.
    pub web_base: Url,
    /// API base of the instance, trailing slash included.
    pub api_base: Url,
    /// GitHub owner, or GitLab namespace with subgroups (`group/sub`).
    pub namespace: String,
    /// Repository (project) name, without `.git`.
    pub name: String,
    /// Branch from a `/tree/` or `/blob/` URL.
    pub branch: Option<String>,
    /// File or directory path from a `/tree/` or `/blob/` URL.
    pub path: Option<String>,
}

impl RepoLocator {
    /// `namespace/name`, as GitHub's `full_name` and GitLab's `path_with_namespace`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The canonical web URL of the repository (no branch, no `.git`).
    pub fn web_url(&self) -> String {
        format!("{}{}", self.web_base, self.full_name())
    }

    /// The web URL of a commit, for edit summaries and logs.
    pub fn commit_url(&self, sha: &crate::CommitSha) -> String {
        match self.kind {
            ForgeKind::GitHub => format!("{}/commit/{sha}", self.web_url()),
            ForgeKind::GitLab => format!("{}/-/commit/{sha}", self.web_url()),
        }
    }

    /// `host[:port]` of the web base (port only when not the scheme's default): with
    /// [`Self::kind`] and [`Self::full_name`], what [`crate::ForgeConfig::locate`] takes back.
    pub fn web_host(&self) -> String {
        host_key(&self.web_base)
    }

    /// `host[:port]` of the API; rate limits and request serialisation are per API host.
    pub fn api_host(&self) -> String {
        host_key(&self.api_base)
    }
}

impl fmt::Display for RepoLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.web_url())
    }
}

/// Why a repository URL was refused. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocatorError {
    /// Nothing was given.
    #[error("the repository URL is empty: paste the address of the repository's home page")]
    Empty,
    /// Not a URL at all.
    #[error("not a repository URL ({reason}): paste e.g. https://github.com/owner/name")]
    Malformed {
        /// What the URL parser said.
        reason: String,
    },
    /// A scheme other than https (or ssh / scp-like `git@`).
    #[error("the scheme {scheme:?} is not supported: use the https:// address of the repository")]
    UnsupportedScheme {
        /// The scheme given.
        scheme: String,
    },
    /// A scheme other than the one the instance at that host is served over (`http://` for
    /// github.com, `https://` for a plain-http loopback instance).
    #[error(
        "{host} is served over {expected}, not {given}: use {expected}:// as the configured instance does ({base})"
    )]
    WrongScheme {
        /// The host (with its port when the URL gave one).
        host: String,
        /// The scheme the configured instance uses.
        expected: String,
        /// The scheme the URL used.
        given: String,
        /// The configured instance's web address.
        base: String,
    },
    /// User name or password inside the URL.
    #[error(
        "the URL contains a user name or password: remove it (tokens are configured separately, never in URLs)"
    )]
    Userinfo,
    /// An IP address instead of a host name.
    #[error(
        "{host} is an IP address: use the forge's host name (only configured instances are accepted)"
    )]
    IpLiteral {
        /// The address.
        host: String,
    },
    /// A host that is not a configured forge.
    #[error(
        "{host} is not a supported forge: use one of {known} (GitLab instances are added with \
         `ForgeConfigBuilder::gitlab_instance`, or the application's setting, in WikiScriptSync \
         WIKISCRIPTSYNC_GITLAB_INSTANCES)"
    )]
    UnknownHost {
        /// The host given.
        host: String,
        /// The accepted hosts, comma-separated.
        known: String,
    },
    /// A port other than the instance's.
    #[error("port {port} is not the port of {host}: remove it from the URL")]
    OddPort {
        /// The host.
        host: String,
        /// The port given.
        port: u16,
    },
    /// `.` or `..` segments, encoded slashes or backslashes in the path.
    #[error(
        "the URL path contains '.', '..', an encoded slash or a backslash: use the repository's plain address"
    )]
    PathTraversal,
    /// The owner or namespace is missing.
    #[error("the URL has no owner or group: use https://host/owner/name")]
    EmptyOwner,
    /// The repository name is missing.
    #[error("the URL has no repository name: use https://host/owner/name")]
    EmptyName,
    /// A character a forge never allows in that part.
    #[error("{part} {value:?} contains characters {forge} does not allow")]
    InvalidCharacters {
        /// GitHub or GitLab.
        forge: ForgeKind,
        /// Which part ("owner", "repository name", "group", "branch", "path").
        part: &'static str,
        /// The offending value.
        value: String,
    },
    /// A stored web host that several configured instances of the kind share (they differ
    /// only by port, which the host does not name).
    #[error(
        "{host} names several configured {forge} instances ({known}): give the host with its port"
    )]
    AmbiguousHost {
        /// GitHub or GitLab.
        forge: ForgeKind,
        /// The host given.
        host: String,
        /// The matching instances' hosts, comma-separated.
        known: String,
    },
    /// A repository path (`full_name`) that is not `owner/name` (GitLab:
    /// `group[/subgroup…]/project`).
    #[error(
        "{value:?} is not a {forge} repository path: give owner/name (GitLab: group/project, with any subgroups between)"
    )]
    BadFullName {
        /// GitHub or GitLab.
        forge: ForgeKind,
        /// The path given.
        value: String,
    },
    /// A page of the forge that is not a repository (issues, settings, a user profile…).
    #[error(
        "this is not a repository's address ({reason}): use https://host/owner/name, optionally with /tree/<branch> or /blob/<branch>/<path>"
    )]
    NotARepository {
        /// What was found instead.
        reason: String,
    },
}

fn known_hosts(candidates: &[WebBase<'_>]) -> String {
    candidates
        .iter()
        .map(|c| host_key(c.web_base))
        .collect::<Vec<_>>()
        .join(", ")
}

fn same_host(url_host: &str, base: &Url) -> bool {
    let base_host = base.host_str().unwrap_or_default();
    url_host.eq_ignore_ascii_case(base_host)
        || (base_host == "github.com" && url_host.eq_ignore_ascii_case("www.github.com"))
}

/// Parses a repository URL against the web bases of the configured instances (see
/// [`crate::ForgeConfig::parse_repo_url`]).
pub(crate) fn parse(candidates: &[WebBase<'_>], input: &str) -> Result<RepoLocator, LocatorError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(LocatorError::Empty);
    }
    if let Some((user_host, path)) = scp_like(input) {
        return parse_ssh(candidates, user_host, path);
    }
    // The url crate resolves `..`; look at the raw path first so traversal is refused, not hidden.
    let raw_path = raw_path(input);
    check_segments(raw_path)?;
    let url = Url::parse(input).map_err(|e| LocatorError::Malformed {
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() && url.scheme() != "ssh" || url.password().is_some() {
        return Err(LocatorError::Userinfo);
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        None => {
            return Err(LocatorError::Malformed {
                reason: "no host".into(),
            });
        }
    };
    let is_ip = !matches!(url.host(), Some(url::Host::Domain(_)));
    match url.scheme() {
        "https" | "http" => {}
        "ssh" => {
            if url.username() != "git" {
                return Err(LocatorError::Userinfo);
            }
            return parse_ssh(
                candidates,
                &format!("git@{host}"),
                url.path().trim_start_matches('/'),
            );
        }
        other => {
            return Err(LocatorError::UnsupportedScheme {
                scheme: other.to_owned(),
            });
        }
    }
    let by_host: Vec<&WebBase<'_>> = candidates
        .iter()
        .filter(|c| same_host(url.host_str().unwrap_or_default(), c.web_base))
        .collect();
    let Some(first) = by_host.first() else {
        return Err(if is_ip {
            LocatorError::IpLiteral { host }
        } else {
            LocatorError::UnknownHost {
                host,
                known: known_hosts(candidates),
            }
        });
    };
    let port_matches =
        |c: &&&WebBase<'_>| c.web_base.port_or_known_default() == url.port_or_known_default();
    let Some(candidate) = by_host
        .iter()
        .find(|c| port_matches(c) && c.web_base.scheme() == url.scheme())
    else {
        return Err(mismatch(&url, host, is_ip, &by_host, first));
    };
    // Strip the instance's own path prefix (GitLab served under /gitlab/).
    let base_path = candidate.web_base.path().trim_end_matches('/');
    let path = url.path();
    let Some(rest) = path.strip_prefix(base_path) else {
        return Err(LocatorError::NotARepository {
            reason: format!("the path is outside {}", candidate.web_base),
        });
    };
    let segments = decoded_segments(rest)?;
    build(candidate, &segments)
}

/// Why a URL on a configured instance's host is not that instance: the scheme differs from the
/// instance's at the same port (say which scheme it uses), an IP address names no instance at
/// that port (an IP address, whatever instance shares the address), a host name is never
/// served over this scheme, or the port is not the instance's.
fn mismatch(
    url: &Url,
    host: String,
    is_ip: bool,
    by_host: &[&WebBase<'_>],
    first: &WebBase<'_>,
) -> LocatorError {
    let port = url.port_or_known_default();
    let wrong_scheme = |instance: &WebBase<'_>| LocatorError::WrongScheme {
        host: match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        },
        expected: instance.web_base.scheme().to_owned(),
        given: url.scheme().to_owned(),
        base: instance.web_base.to_string(),
    };
    if let Some(same_port) = by_host
        .iter()
        .find(|c| c.web_base.port_or_known_default() == port)
    {
        return wrong_scheme(same_port);
    }
    if is_ip {
        return LocatorError::IpLiteral { host };
    }
    if by_host.iter().all(|c| c.web_base.scheme() != url.scheme()) {
        return wrong_scheme(first);
    }
    LocatorError::OddPort {
        host,
        port: port.unwrap_or_default(),
    }
}

/// Builds the locator of a repository from its typed parts — forge kind, web host (`host` or
/// `host:port`) and `namespace/name` — without parsing a URL (see
/// [`crate::ForgeConfig::locate`]). The path's segments are validated as [`parse`] validates a
/// URL's.
pub(crate) fn locate(
    candidates: &[WebBase<'_>],
    kind: ForgeKind,
    web_host: &str,
    full_name: &str,
) -> Result<RepoLocator, LocatorError> {
    let web_host = web_host.trim().to_ascii_lowercase();
    let of_kind: Vec<&WebBase<'_>> = candidates
        .iter()
        .filter(|c| c.instance.kind == kind)
        .collect();
    // `host:port` names one web base; a bare host (rows stored before ports were kept) is
    // accepted when exactly one web base of the kind is on that host.
    let exact: Vec<&WebBase<'_>> = of_kind
        .iter()
        .copied()
        .filter(|c| host_key(c.web_base) == web_host)
        .collect();
    let by_host: Vec<&WebBase<'_>> = if exact.is_empty() {
        of_kind
            .iter()
            .copied()
            .filter(|c| c.web_base.host_str() == Some(web_host.as_str()))
            .collect()
    } else {
        exact
    };
    let candidate = match by_host.as_slice() {
        [one] => *one,
        [] => {
            let known: Vec<WebBase<'_>> = of_kind.iter().map(|c| **c).collect();
            return Err(LocatorError::UnknownHost {
                host: web_host,
                known: format!("the {kind} instances {}", known_hosts(&known)),
            });
        }
        several => {
            let known: Vec<WebBase<'_>> = several.iter().map(|c| **c).collect();
            return Err(LocatorError::AmbiguousHost {
                forge: kind,
                host: web_host,
                known: known_hosts(&known),
            });
        }
    };
    let bad = || LocatorError::BadFullName {
        forge: kind,
        value: full_name.to_owned(),
    };
    let segments: Vec<String> = full_name.split('/').map(str::to_owned).collect();
    let shape_ok = match kind {
        ForgeKind::GitHub => segments.len() == 2,
        ForgeKind::GitLab => segments.len() >= 2 && segments.iter().all(|s| s != "-"),
    };
    if !shape_ok || segments.iter().any(String::is_empty) {
        return Err(bad());
    }
    let locator = build(candidate, &segments)?;
    // `build` forgives what a URL may carry (`.git`); a stored path is exactly the canonical one.
    if locator.full_name() != full_name || locator.branch.is_some() || locator.path.is_some() {
        return Err(bad());
    }
    Ok(locator)
}

/// `git@host:path` (scp-like syntax, no scheme).
fn scp_like(input: &str) -> Option<(&str, &str)> {
    if input.contains("://") {
        return None;
    }
    let (user_host, path) = input.split_once(':')?;
    user_host.contains('@').then_some((user_host, path))
}

fn parse_ssh(
    candidates: &[WebBase<'_>],
    user_host: &str,
    path: &str,
) -> Result<RepoLocator, LocatorError> {
    let (user, host) = user_host.split_once('@').ok_or(LocatorError::Userinfo)?;
    if user != "git" {
        return Err(LocatorError::Userinfo);
    }
    let host = host.to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return Err(LocatorError::IpLiteral { host });
    }
    check_segments(path)?;
    let candidate = candidates
        .iter()
        .find(|c| same_host(&host, c.web_base))
        .ok_or_else(|| LocatorError::UnknownHost {
            host: host.clone(),
            known: known_hosts(candidates),
        })?;
    let segments = decoded_segments(path)?;
    let mut locator = build(candidate, &segments)?;
    if locator.branch.is_some() {
        return Err(LocatorError::NotARepository {
            reason: "an ssh address names no branch".into(),
        });
    }
    locator.path = None;
    Ok(locator)
}

/// The path part of a URL string as typed (before the url crate normalises it).
fn raw_path(input: &str) -> &str {
    let after_scheme = input.split_once("://").map_or(input, |(_, rest)| rest);
    let path_start = after_scheme.find(['/', '\\']).unwrap_or(after_scheme.len());
    let path = &after_scheme[path_start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

fn check_segments(raw_path: &str) -> Result<(), LocatorError> {
    if raw_path.contains('\\') {
        return Err(LocatorError::PathTraversal);
    }
    for segment in raw_path.split('/') {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        if decoded == "." || decoded == ".." || decoded.contains(['/', '\\']) {
            return Err(LocatorError::PathTraversal);
        }
    }
    Ok(())
}

/// Decoded path segments, with one trailing empty segment (a trailing slash) dropped.
fn decoded_segments(path: &str) -> Result<Vec<String>, LocatorError> {
    let mut segments: Vec<String> = Vec::new();
    for raw in path.strip_prefix('/').unwrap_or(path).split('/') {
        let decoded =
            percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| LocatorError::Malformed {
                    reason: "the path is not valid UTF-8".into(),
                })?;
        if decoded.chars().any(char::is_control) {
            return Err(LocatorError::Malformed {
                reason: "the path contains control characters".into(),
            });
        }
        segments.push(decoded.into_owned());
    }
    if segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }
    Ok(segments)
}

fn strip_git(name: &str) -> &str {
    name.strip_suffix(".git").unwrap_or(name)
}

fn build(candidate: &WebBase<'_>, segments: &[String]) -> Result<RepoLocator, LocatorError> {
    let kind = candidate.instance.kind;
    let (namespace_parts, name, rest) = match kind {
        ForgeKind::GitHub => {
            let owner = segments.first().ok_or(LocatorError::EmptyOwner)?;
            if owner.is_empty() {
                return Err(LocatorError::EmptyOwner);
            }
            let name = segments.get(1).ok_or(LocatorError::EmptyName)?;
            (vec![owner.as_str()], strip_git(name), &segments[2..])
        }
        ForgeKind::GitLab => {
            let dash = segments
                .iter()
                .position(|s| s == "-")
                .unwrap_or(segments.len());
            let project = &segments[..dash];
            if project.first().is_none_or(String::is_empty) {
                return Err(LocatorError::EmptyOwner);
            }
            if project.len() < 2 {
                return Err(LocatorError::EmptyName);
            }
            let (name, namespace) = project.split_last().ok_or(LocatorError::EmptyName)?;
            let rest = if dash < segments.len() {
                &segments[dash + 1..]
            } else {
                &[][..]
            };
            if dash < segments.len() && rest.is_empty() {
                return Err(LocatorError::NotARepository {
                    reason: "nothing follows /-/".into(),
                });
            }
            (
                namespace.iter().map(String::as_str).collect(),
                strip_git(name),
                rest,
            )
        }
    };
    if name.is_empty() {
        return Err(LocatorError::EmptyName);
    }
    for part in &namespace_parts {
        if part.is_empty() {
            return Err(LocatorError::EmptyOwner);
        }
        // github.com logins are letters, digits and hyphens; Enterprise (managed users) adds `_`.
        let part_name = match kind {
            ForgeKind::GitHub if candidate.web_base.host_str() == Some("github.com") => "owner",
            ForgeKind::GitHub => "enterprise owner",
            ForgeKind::GitLab => "group",
        };
        validate_name(kind, part_name, part)?;
    }
    validate_name(kind, "repository name", name)?;
    if kind == ForgeKind::GitHub
        && RESERVED_GITHUB_OWNERS.contains(&namespace_parts[0].to_ascii_lowercase().as_str())
    {
        return Err(LocatorError::NotARepository {
            reason: format!("/{} is a GitHub page", namespace_parts[0]),
        });
    }
    let (branch, path) = match rest {
        [] => (None, None),
        [kind_seg, branch, path @ ..] if kind_seg == "tree" || kind_seg == "blob" => {
            validate_ref(kind, branch)?;
            if kind_seg == "blob" && path.is_empty() {
                return Err(LocatorError::NotARepository {
                    reason: "a /blob/ URL without a file path".into(),
                });
            }
            if path.iter().any(String::is_empty) {
                return Err(LocatorError::InvalidCharacters {
                    forge: kind,
                    part: "path",
                    value: path.join("/"),
                });
            }
            (
                Some(branch.clone()),
                (!path.is_empty()).then(|| path.join("/")),
            )
        }
        [other, ..] => {
            return Err(LocatorError::NotARepository {
                reason: format!("/{other} is not a repository file view"),
            });
        }
    };
    Ok(RepoLocator {
        kind,
        web_base: candidate.web_base.clone(),
        api_base: candidate.instance.api_base.clone(),
        namespace: namespace_parts.join("/"),
        name: name.to_owned(),
        branch,
        path,
    })
}

/// First path segments of github.com that are site pages, not users.
const RESERVED_GITHUB_OWNERS: [&str; 12] = [
    "settings",
    "orgs",
    "marketplace",
    "features",
    "topics",
    "collections",
    "explore",
    "notifications",
    "login",
    "sponsors",
    "apps",
    "about",
];

fn validate_name(forge: ForgeKind, part: &'static str, value: &str) -> Result<(), LocatorError> {
    let allowed = |c: char| match (forge, part) {
        (ForgeKind::GitHub, "owner") => c.is_ascii_alphanumeric() || c == '-',
        (ForgeKind::GitHub, "enterprise owner") => {
            c.is_ascii_alphanumeric() || c == '-' || c == '_'
        }
        _ => c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
    };
    let max_len = if forge == ForgeKind::GitHub && part == "owner" {
        39
    } else {
        255
    };
    if value.len() > max_len || !value.chars().all(allowed) || value.starts_with('.') {
        return Err(LocatorError::InvalidCharacters {
            forge,
            part,
            value: value.to_owned(),
        });
    }
    Ok(())
}

fn validate_ref(forge: ForgeKind, branch: &str) -> Result<(), LocatorError> {
    if !is_branch_name(branch) {
        return Err(LocatorError::InvalidCharacters {
            forge,
            part: "branch",
            value: branch.to_owned(),
        });
    }
    Ok(())
}

/// Whether git accepts `branch` as a branch name (the rules of `git check-ref-format` that a
/// typed name can break): not empty; no whitespace, control characters or `~^:?*[\`; no `..`,
/// `//` or `@{`; not starting with `-` or `/`; not ending with `/`, `.` or `.lock`. The one rule
/// for branches in URLs and branches typed on their own.
pub fn is_branch_name(branch: &str) -> bool {
    !(branch.is_empty()
        || branch.starts_with(['-', '/'])
        || branch.ends_with(['/', '.'])
        || branch.ends_with(".lock")
        || branch.contains("..")
        || branch.contains("//")
        || branch.contains("@{")
        || branch
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c)))
}

/// `locator` when it is on a forge of `kind`, else the refusal a client of that kind gives
/// for a repository it does not serve.
pub(crate) fn only_kind(
    locator: RepoLocator,
    kind: ForgeKind,
    input: &str,
) -> Result<RepoLocator, LocatorError> {
    if locator.kind == kind {
        return Ok(locator);
    }
    Err(LocatorError::UnknownHost {
        host: locator.web_base.host_str().unwrap_or(input).to_owned(),
        known: match kind {
            ForgeKind::GitHub => "the GitHub instance of this client",
            ForgeKind::GitLab => "the GitLab instances of this client",
        }
        .to_owned(),
    })
}
