//! Resolving a wiki once: find its API from what the user typed (the `api.php` named, the
//! script path of an `index.php` URL, an article page's `<link rel="EditURI">`, or
//! `/w/api.php` then `/api.php` for a bare host), then one `meta=siteinfo` request for its
//! identity. Every URL is allow-listed before it is fetched, redirects included.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use url::Url;

use super::{ActionApiClient, CallError, Method, Session};
use crate::error::Error;
use crate::site::{SITEINFO_PROPS, WikiIdentity};
use crate::wiki::{ApiSearch, WikiAddress, WikiUrl};

/// Redirects followed when reading an article page for its EditURI link.
const MAX_PAGE_REDIRECTS: usize = 3;

impl ActionApiClient {
    /// Resolves any address of a wiki to its identity: 1 siteinfo request at the API (plus,
    /// for a bare host, a second place when the first is not an API; for an article URL, the
    /// page itself first).
    pub async fn resolve_wiki(&self, input: &str) -> Result<WikiIdentity, Error> {
        let address = WikiAddress::parse(input, &self.config().allow_list)?;
        let candidates = match address.search() {
            ApiSearch::Exact(api) => vec![api.clone()],
            ApiSearch::Conventional(candidates) => candidates.clone(),
            ApiSearch::Page { page, fallback } => match self.edit_uri(page, &fallback[0]).await {
                Some(api) => vec![api],
                None => fallback.clone(),
            },
        };
        let mut tried = Vec::new();
        for candidate in candidates {
            let session = self.anonymous_session(&candidate)?;
            match session.siteinfo().await {
                Ok(identity) => return Ok(identity),
                // Not an API here (404, a redirect, an HTML page): try the next place.
                Err(Error::Http { .. } | Error::InvalidResponse { .. }) => {
                    tried.push(candidate.to_string());
                }
                Err(other) => return Err(other),
            }
        }
        Err(Error::NoApi { tried })
    }

    /// The API an article page names in its `<link rel="EditURI">` (MediaWiki's RSD link,
    /// `…/api.php?action=rsd`), if the page can be read and names an allow-listed one.
    async fn edit_uri(&self, page: &Url, any_api: &WikiUrl) -> Option<WikiUrl> {
        let session = Session::new(Arc::clone(&self.shared), any_api, None, None).ok()?;
        let mut url = page.clone();
        for _ in 0..=MAX_PAGE_REDIRECTS {
            self.config().allow_list.check_url(&url).ok()?;
            session.requests.fetch_add(1, Ordering::Relaxed);
            self.shared.requests.fetch_add(1, Ordering::Relaxed);
            let response = session.http.get(url.clone()).send().await.ok()?;
            if response.status().is_redirection() {
                let location = response.headers().get(reqwest::header::LOCATION)?;
                url = url.join(location.to_str().ok()?).ok()?;
                continue;
            }
            if !response.status().is_success() {
                return None;
            }
            let html = crate::body::read_capped(response, self.config().max_response_bytes)
                .await
                .ok()?;
            let html = String::from_utf8_lossy(&html);
            let href = edit_uri_href(&html)?;
            let mut api = url.join(&href).ok()?;
            api.set_query(None);
            api.set_fragment(None);
            return WikiUrl::parse(api.as_str(), &self.config().allow_list).ok();
        }
        None
    }
}

impl Session {
    /// One `meta=siteinfo` request: the wiki's identity.
    pub(crate) async fn siteinfo(&self) -> Result<WikiIdentity, Error> {
        let params = [
            ("action", "query".to_owned()),
            ("meta", "siteinfo".to_owned()),
            ("siprop", SITEINFO_PROPS.to_owned()),
        ];
        let answer =
            self.call(Method::Get, &params, &[], false)
                .await
                .map_err(|err| match err {
                    CallError::Api(failure) => self.api_error(failure),
                    CallError::Other(err) => err,
                })?;
        WikiIdentity::from_siteinfo(&self.wiki, &answer, &self.shared.config.allow_list)
            .map_err(|err| self.invalid(err.to_string()))
    }
}

/// The `href` of the first `<link rel="EditURI" …>` in a page, HTML entities in it decoded.
fn edit_uri_href(html: &str) -> Option<String> {
    html.match_indices("<link")
        .map(|(at, _)| &html[at..])
        .filter_map(|tag| tag.split_once('>').map(|(tag, _)| tag))
        .find(|tag| attribute(tag, "rel").is_some_and(|rel| rel.eq_ignore_ascii_case("EditURI")))
        .and_then(|tag| attribute(tag, "href"))
        .map(|href| href.replace("&amp;", "&"))
}

/// A quoted attribute's value in one tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let after = rest[at + name.len()..].trim_start();
        let preceded = rest[..at].ends_with(char::is_whitespace);
        if preceded && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                return value[1..].split(quote).next();
            }
        }
        rest = &rest[at + name.len()..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edit_uri_link_is_found_as_mediawiki_writes_it() {
        let html = r#"<head><link rel="stylesheet" href="/x.css"/>
            <link rel="EditURI" type="application/rsd+xml" href="//wiki.example.org/w/api.php?action=rsd&amp;x=1"/>"#;
        assert_eq!(
            edit_uri_href(html).as_deref(),
            Some("//wiki.example.org/w/api.php?action=rsd&x=1")
        );
        assert_eq!(edit_uri_href("<link rel='search' href='/o'>"), None);
    }
}
