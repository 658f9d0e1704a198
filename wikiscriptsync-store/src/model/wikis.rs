//! Wikis known by what they are: resolved once, stored with their identity.

use chrono::{DateTime, Utc};

/// A wiki as resolved once by one siteinfo request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownWiki {
    /// How the other tables name the wiki (the key of its canonical API URL).
    pub key: String,
    /// The canonical API URL.
    pub api_url: String,
    /// The wiki id (`wikiid`).
    pub wiki_id: String,
    /// The server (`server`).
    pub server: String,
    /// The wiki's name (`sitename`).
    pub sitename: String,
    /// The content language.
    pub language: String,
    /// The namespaces, as the caller serialised them (JSON); the store does not read them.
    pub namespaces: String,
    /// When it was resolved.
    pub resolved_at: DateTime<Utc>,
}
