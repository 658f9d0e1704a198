//! Wiki addressing: turning what a user types (`en.wikipedia.org`, a URL, an `api.php` URL) into
//! the one API URL we talk to, and refusing hosts outside the allow-list before any request.
//! The allow-list is built in code: Wikimedia's wikis by default, and any other wiki by the
//! address you have ([`AllowList::with_hosts`], [`AllowList::with_extra_hosts`]: an API URL, a
//! base URL or `host[:port]`). The crate reads no environment; an application that lets its
//! operators name wikis in a setting passes that setting's value to these.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// Wikimedia production domains: these and their subdomains are allowed over https by default,
/// at the default port and only at their real API path, [`WIKIMEDIA_API_PATH`].
pub const WIKIMEDIA_DOMAINS: &[&str] = &[
    "wikipedia.org",
    "wiktionary.org",
    "wikibooks.org",
    "wikinews.org",
    "wikiquote.org",
    "wikisource.org",
    "wikiversity.org",
    "wikivoyage.org",
    "wikimedia.org",
    "wikidata.org",
    "mediawiki.org",
    "wikifunctions.org",
];

/// Where every Wikimedia production wiki serves its Action API.
pub const WIKIMEDIA_API_PATH: &str = "/w/api.php";

/// Why a wiki address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WikiUrlError {
    /// The address was empty.
    #[error("the wiki address is empty; give a host such as en.wikipedia.org")]
    Empty,
    /// The address could not be parsed as a URL.
    #[error(
        "`{input}` is not a valid wiki address ({reason}); give a host such as en.wikipedia.org"
    )]
    Unparsable {
        /// What the caller gave.
        input: String,
        /// What the URL parser said.
        reason: String,
    },
    /// The scheme is neither http nor https.
    #[error(
        "`{input}` uses the scheme `{scheme}`; only https (or http for loopback test wikis) is allowed"
    )]
    UnsupportedScheme {
        /// What the caller gave.
        input: String,
        /// The refused scheme.
        scheme: String,
    },
    /// The host is not a Wikimedia production wiki and not in the extra hosts.
    #[error(
        "the host `{host}` is not an allowed wiki; allowed are Wikimedia production wikis \
         (e.g. en.wikipedia.org) and the hosts given to `AllowList::with_hosts` or \
         `AllowList::with_extra_hosts` (or the application's setting, in WikiScriptSync \
         WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS)"
    )]
    HostNotAllowed {
        /// The refused host (with port if one was given).
        host: String,
    },
    /// Plain http to a host that is not loopback.
    #[error("plain http is only allowed for loopback test wikis; use https://{host}")]
    InsecureHttp {
        /// The host that was addressed over http.
        host: String,
    },
    /// The URL carries a user name or password.
    #[error("a wiki address must not contain credentials; log in with a BotPassword instead")]
    CredentialsInUrl,
    /// The path is neither empty, `/w/api.php`, nor ends in `/api.php`.
    #[error(
        "`{input}` does not point at a wiki's api.php; give just the host (e.g. en.wikipedia.org)"
    )]
    NotAnApiPath {
        /// What the caller gave.
        input: String,
    },
    /// A Wikimedia production wiki addressed at an API path other than its real one.
    #[error(
        "`{input}` is not a Wikimedia wiki's API: Wikimedia wikis answer at /w/api.php only; \
         give just the host (e.g. en.wikipedia.org)"
    )]
    NotWikimediaApiPath {
        /// What the caller gave.
        input: String,
    },
    /// An entry of the extra hosts list is malformed.
    #[error(
        "the extra wiki host `{entry}` given to `AllowList::with_hosts` or \
         `AllowList::with_extra_hosts` (or the application's setting, in WikiScriptSync \
         WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS) is not `host`, `host:port`, the wiki's base URL or \
         its API URL (e.g. `https://wiki.example.org/w/api.php`)"
    )]
    BadExtraHost {
        /// The malformed entry.
        entry: String,
    },
}

/// One allowed extra host (`host` or `host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExtraHost {
    host: String,
    /// The port written in the entry; `None` means the scheme's default port only.
    port: Option<u16>,
}

impl ExtraHost {
    /// Whether a URL's host and port are this entry's: its port when it names one, else the
    /// default port of the URL's scheme (`url_port` is `None` there), never any port.
    fn matches(&self, host: &str, url_port: Option<u16>, effective_port: Option<u16>) -> bool {
        self.host == host
            && match self.port {
                Some(port) => effective_port == Some(port),
                None => url_port.is_none(),
            }
    }
}

/// Which wiki hosts requests may go to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    extra: Vec<ExtraHost>,
}

impl AllowList {
    /// Only the Wikimedia production domains.
    pub fn wikimedia() -> Self {
        Self::default()
    }

    /// Wikimedia production domains plus `hosts`, e.g. a test wiki on loopback. Each entry is
    /// what you have at hand: the wiki's API URL (`http://127.0.0.1:8080/w/api.php`) or base URL
    /// (`https://wiki.example.org/`), or just `host` or `host:port`. A host without a port is
    /// allowed at its scheme's default port only. Blank entries are ignored.
    ///
    /// ```
    /// # use wikiscriptsync_mw::{AllowList, WikiUrl};
    /// let allow = AllowList::with_hosts(["http://127.0.0.1:8080/w/api.php"])?;
    /// let wiki = WikiUrl::parse("http://127.0.0.1:8080/w/api.php", &allow)?;
    /// assert_eq!(wiki.as_str(), "http://127.0.0.1:8080/w/api.php");
    /// assert!(WikiUrl::parse("http://127.0.0.1:9999/w/api.php", &allow).is_err());
    /// # Ok::<(), wikiscriptsync_mw::WikiUrlError>(())
    /// ```
    ///
    /// # Errors
    /// [`WikiUrlError::BadExtraHost`] for an entry that is none of these (a URL's path must be
    /// empty or end in `api.php`); [`WikiUrlError::CredentialsInUrl`] for a URL with a user name
    /// or password.
    pub fn with_hosts<I>(hosts: I) -> Result<Self, WikiUrlError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut allow = Self::wikimedia();
        for entry in hosts {
            let entry = entry.as_ref().trim();
            if !entry.is_empty() {
                allow.extra.push(parse_extra_host(entry)?);
            }
        }
        Ok(allow)
    }

    /// Adds extra hosts from a comma-separated list of entries as [`AllowList::with_hosts`]
    /// takes them (blank entries are ignored).
    ///
    /// # Errors
    /// As [`AllowList::with_hosts`].
    pub fn with_extra_hosts(mut self, list: &str) -> Result<Self, WikiUrlError> {
        self.extra.extend(Self::with_hosts(list.split(','))?.extra);
        Ok(self)
    }

    fn allows(
        &self,
        host: &str,
        port: Option<u16>,
        effective_port: Option<u16>,
        https: bool,
    ) -> Result<(), WikiUrlError> {
        let host_display = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let is_extra = self
            .extra
            .iter()
            .any(|extra| extra.matches(host, port, effective_port));
        let is_wikimedia = https && port.is_none() && is_wikimedia_host(host);
        if !is_wikimedia && !is_extra {
            let https_would_pass = !https && port.is_none() && is_wikimedia_host(host);
            return Err(if https_would_pass {
                WikiUrlError::InsecureHttp { host: host_display }
            } else {
                WikiUrlError::HostNotAllowed { host: host_display }
            });
        }
        if !https && !is_loopback(host) {
            return Err(WikiUrlError::InsecureHttp { host: host_display });
        }
        Ok(())
    }

    /// Checks that an arbitrary URL (e.g. an OAuth endpoint) is on an allowed host.
    pub fn check_url(&self, url: &Url) -> Result<(), WikiUrlError> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(WikiUrlError::UnsupportedScheme {
                    input: url.to_string(),
                    scheme: other.to_owned(),
                });
            }
        };
        let host = host_string(url).ok_or_else(|| WikiUrlError::Unparsable {
            input: url.to_string(),
            reason: "no host".to_owned(),
        })?;
        self.allows(&host, url.port(), url.port_or_known_default(), https)
    }
}

/// Whether `host` is a Wikimedia production domain or one of its subdomains.
fn is_wikimedia_host(host: &str) -> bool {
    WIKIMEDIA_DOMAINS
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

/// Whether an API URL's path is one its host may serve the API at: anywhere ending in
/// `/api.php` for an extra host, only [`WIKIMEDIA_API_PATH`] on a Wikimedia host.
fn api_path_allowed(api: &Url) -> bool {
    !host_string(api).is_some_and(|host| is_wikimedia_host(&host))
        || api.path() == WIKIMEDIA_API_PATH
}

fn parse_extra_host(entry: &str) -> Result<ExtraHost, WikiUrlError> {
    let bad = || WikiUrlError::BadExtraHost {
        entry: entry.to_owned(),
    };
    if entry.contains("://") {
        return parse_extra_url(entry);
    }
    let url = Url::parse(&format!("http://{entry}")).map_err(|_| bad())?;
    if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
        return Err(bad());
    }
    let host = host_string(&url).ok_or_else(bad)?;
    // The url crate forgets a port that is its scheme's default: `:80` survives only under
    // https, `:443` only under http, so the port written is whichever parse kept one.
    let under_https = Url::parse(&format!("https://{entry}")).map_err(|_| bad())?;
    Ok(ExtraHost {
        host,
        port: url.port().or(under_https.port()),
    })
}

/// An extra host given as the wiki's address (`https://wiki.example.org/w/api.php`, or its
/// base URL): its host, and its port when the URL names one other than the scheme's default.
fn parse_extra_url(entry: &str) -> Result<ExtraHost, WikiUrlError> {
    let url = Url::parse(entry).map_err(|_| WikiUrlError::BadExtraHost {
        entry: entry.to_owned(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the entry: it holds credentials.
        return Err(WikiUrlError::CredentialsInUrl);
    }
    let path = url.path();
    let api_or_base = path == "/" || path.ends_with("/api.php");
    if !matches!(url.scheme(), "http" | "https")
        || !api_or_base
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(WikiUrlError::BadExtraHost {
            entry: entry.to_owned(),
        });
    }
    let host = host_string(&url).ok_or_else(|| WikiUrlError::BadExtraHost {
        entry: entry.to_owned(),
    })?;
    Ok(ExtraHost {
        host,
        port: url.port(),
    })
}

fn host_string(url: &Url) -> Option<String> {
    match url.host()? {
        Host::Domain(domain) => Some(domain.to_ascii_lowercase()),
        Host::Ipv4(ip) => Some(ip.to_string()),
        Host::Ipv6(ip) => Some(format!("[{ip}]")),
    }
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// A wiki's Action API endpoint, checked against the allow-list.
///
/// Its [`Display`](fmt::Display) / [`WikiUrl::as_str`] form is the API URL and is stable, so
/// storage can use it as a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WikiUrl {
    api: Url,
}

impl WikiUrl {
    /// Parses and normalises a wiki address, checking it against `allow`.
    ///
    /// Accepts `en.wikipedia.org`, `https://en.wikipedia.org`, `https://en.wikipedia.org/w/api.php`
    /// and any URL whose path ends in `/api.php`.
    pub fn parse(input: &str, allow: &AllowList) -> Result<Self, WikiUrlError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(WikiUrlError::Empty);
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|err| WikiUrlError::Unparsable {
            input: trimmed.to_owned(),
            reason: err.to_string(),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WikiUrlError::CredentialsInUrl);
        }
        allow.check_url(&url)?;
        let path = url.path().to_owned();
        if path.is_empty() || path == "/" || path == "/w" || path == "/w/" || path == "/wiki/" {
            url.set_path(WIKIMEDIA_API_PATH);
        } else if !path.ends_with("/api.php") {
            return Err(WikiUrlError::NotAnApiPath {
                input: trimmed.to_owned(),
            });
        }
        if !api_path_allowed(&url) {
            return Err(WikiUrlError::NotWikimediaApiPath {
                input: trimmed.to_owned(),
            });
        }
        url.set_query(None);
        url.set_fragment(None);
        Ok(Self { api: url })
    }

    /// The API URL (`https://en.wikipedia.org/w/api.php`).
    pub fn api_url(&self) -> &Url {
        &self.api
    }

    /// The API URL as a string, usable as a storage key.
    pub fn as_str(&self) -> &str {
        self.api.as_str()
    }

    /// The host (with port if non-default) for display, e.g. `en.wikipedia.org`.
    pub fn host(&self) -> String {
        let host = host_string(&self.api).unwrap_or_default();
        match self.api.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }

    /// The wiki's script path base (the API URL without `api.php`), for building
    /// `index.php` and `rest.php` links.
    pub fn script_base(&self) -> String {
        let s = self.api.as_str();
        s.strip_suffix("api.php").unwrap_or(s).to_owned()
    }

    /// A link to the diff of a revision: `<script base>index.php?diff=<rev>`.
    pub fn diff_url(&self, revision: u64) -> String {
        format!("{}index.php?diff={revision}", self.script_base())
    }

    /// How the wiki is recorded in storage (credentials, mappings, monitors, the publish log):
    /// the host for Wikimedia-style wikis (`https://host/w/api.php`), else the API URL, so that
    /// [`WikiUrl::parse`] always turns the key back into the same wiki.
    pub fn key(&self) -> String {
        let host = self.host();
        if self.as_str() == format!("https://{host}/w/api.php") {
            host
        } else {
            self.as_str().to_owned()
        }
    }

    /// A link to the change from revision `old` to `new`
    /// (`<script base>index.php?diff=<new>&oldid=<old>`), or to `new` alone
    /// ([`WikiUrl::diff_url`]) for a page's first revision.
    pub fn diff_link(&self, new: u64, old: Option<u64>) -> String {
        match old {
            Some(old) => format!("{}index.php?diff={new}&oldid={old}", self.script_base()),
            None => self.diff_url(new),
        }
    }
}

/// Where a wiki's API is to be found, from what a user typed (decided without a request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiSearch {
    /// The input named the API (`…/api.php`) or a script next to it (`…/index.php…`).
    Exact(WikiUrl),
    /// A bare host or site root: MediaWiki's conventional places, in order (`/w/api.php`, then
    /// `/api.php`).
    Conventional(Vec<WikiUrl>),
    /// An article URL (`/wiki/Foo`): the page's `<link rel="EditURI">` names the API; the
    /// conventional places are the fallback.
    Page {
        /// The article URL.
        page: Url,
        /// Where to look when the page names no API.
        fallback: Vec<WikiUrl>,
    },
}

/// A wiki address as typed, checked against the allow-list, before any request: how the input is
/// remembered ([`WikiAddress::spelling`]) and where its API is to be looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WikiAddress {
    spelling: String,
    search: ApiSearch,
}

impl WikiAddress {
    /// Parses any address of a wiki: a host (`en.wikipedia.org`, `127.0.0.1:8080`), a site URL,
    /// an article URL, an `index.php` URL or an `api.php` URL. A bare loopback host means plain
    /// http (test wikis); every other bare host means https.
    pub fn parse(input: &str, allow: &AllowList) -> Result<Self, WikiUrlError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(WikiUrlError::Empty);
        }
        let unparsable = |err: url::ParseError| WikiUrlError::Unparsable {
            input: trimmed.to_owned(),
            reason: err.to_string(),
        };
        let mut url = if trimmed.contains("://") {
            Url::parse(trimmed).map_err(unparsable)?
        } else {
            let url = Url::parse(&format!("https://{trimmed}")).map_err(unparsable)?;
            match host_string(&url) {
                Some(host) if is_loopback(&host) => {
                    Url::parse(&format!("http://{trimmed}")).map_err(unparsable)?
                }
                _ => url,
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WikiUrlError::CredentialsInUrl);
        }
        allow.check_url(&url)?;
        url.set_fragment(None);
        let path = url.path().to_owned();
        let base = url.clone();
        let at = |path: &str| -> WikiUrl {
            let mut api = base.clone();
            api.set_path(path);
            api.set_query(None);
            WikiUrl { api }
        };
        // A Wikimedia wiki has one API path; other hosts are looked for where MediaWiki is
        // usually installed.
        let conventional = || {
            let mut places = vec![at(WIKIMEDIA_API_PATH), at("/api.php")];
            places.retain(|place| api_path_allowed(place.api_url()));
            places
        };
        let (spelling_path, search) = if path.ends_with("/api.php") {
            (path.clone(), ApiSearch::Exact(at(&path)))
        } else if let Some(index) = path.find("/index.php").filter(|i| {
            let after = &path[i + "/index.php".len()..];
            after.is_empty() || after.starts_with('/')
        }) {
            let api = format!("{}/api.php", &path[..index]);
            (api.clone(), ApiSearch::Exact(at(&api)))
        } else if path.is_empty() || path == "/" {
            ("/".to_owned(), ApiSearch::Conventional(conventional()))
        } else if path == "/w" || path == "/w/" {
            ("/w/api.php".to_owned(), ApiSearch::Exact(at("/w/api.php")))
        } else {
            url.set_query(None);
            (
                path,
                ApiSearch::Page {
                    page: url.clone(),
                    fallback: conventional(),
                },
            )
        };
        if let ApiSearch::Exact(api) = &search
            && !api_path_allowed(api.api_url())
        {
            return Err(WikiUrlError::NotWikimediaApiPath {
                input: trimmed.to_owned(),
            });
        }
        let mut spelled = url.clone();
        spelled.set_path(&spelling_path);
        spelled.set_query(None);
        Ok(Self {
            spelling: spelled.to_string(),
            search,
        })
    }

    /// The input in one normal form (scheme, lower-case host, port, the path that decides the
    /// API; no query): two inputs with the same spelling are the same wiki, so a store can
    /// remember spellings it has resolved.
    pub fn spelling(&self) -> &str {
        &self.spelling
    }

    /// Where to look for the API.
    pub fn search(&self) -> &ApiSearch {
        &self.search
    }
}

impl fmt::Display for WikiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
