//! Forge instances: what kind of forge a host is ([`ForgeKind`]), where its pages and API live
//! and with which [`Token`] ([`ForgeInstance`]), and the host keys rate limits are counted by. Both the configuration
//! ([`crate::config`]) and URL parsing ([`crate::locator`]) build on this module, which depends on
//! neither.

use std::fmt;
use std::net::IpAddr;

use url::Url;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Which kind of forge hosts a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ForgeKind {
    /// github.com or GitHub Enterprise.
    GitHub,
    /// gitlab.com, gitlab.wikimedia.org or another configured GitLab.
    GitLab,
}

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::GitHub => "GitHub",
            Self::GitLab => "GitLab",
        })
    }
}

/// An API token. Its `Debug` never shows the value; the fingerprint keys the ETag cache (ETags
/// vary by credential) without keeping the token around in another form.
#[derive(Clone)]
pub struct Token {
    secret: SecretString,
    fingerprint: String,
}

impl Token {
    /// Wraps a token.
    pub fn new(secret: SecretString) -> Self {
        let digest = Sha256::digest(secret.expose_secret().as_bytes());
        Self {
            fingerprint: hex::encode(&digest[..8]),
            secret,
        }
    }

    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

impl From<&str> for Token {
    fn from(value: &str) -> Self {
        Self::new(SecretString::from(value.to_owned()))
    }
}

/// One forge instance: where its repository pages live and where its API answers.
#[derive(Debug, Clone)]
pub struct ForgeInstance {
    /// GitHub or GitLab.
    pub kind: ForgeKind,
    /// Web base of repository URLs (`https://github.com/`, `https://gitlab.wikimedia.org/`), with a
    /// trailing slash.
    pub web_base: Url,
    /// API base with a trailing slash (`https://api.github.com/`, `https://host/api/v4/`).
    pub api_base: Url,
    /// Optional token sent as `Authorization` (GitHub `Bearer`, GitLab `PRIVATE-TOKEN`).
    pub token: Option<Token>,
}

/// A web base under which repository URLs are accepted, and the instance serving it (an
/// instance can have several: a GitHub API override also stands in for github.com).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WebBase<'a> {
    pub(crate) instance: &'a ForgeInstance,
    pub(crate) web_base: &'a Url,
}

/// `host` or `host:port` (port only when not the scheme's default).
pub(crate) fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// Whether a host is a loopback address (where plain http is allowed for fakes and mirrors).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
