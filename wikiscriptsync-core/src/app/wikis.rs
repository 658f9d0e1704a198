//! Wikis known by what they are: a wiki the user names is resolved once (its API found and one
//! `meta=siteinfo` request) and remembered in the store with every spelling that named it, so
//! two spellings of one wiki are one wiki everywhere and a known wiki costs no request. Titles
//! are then checked against that wiki's own namespaces, before anything is saved.

use std::collections::HashMap;

use chrono::Utc;

use super::{App, Field, UseCaseError, UseCaseResult};
use crate::mw::{self, ContentModel, SiteNamespace, SiteTitle, WikiIdentity};
use crate::store::KnownWiki;

impl App {
    /// The wiki a user named (a host, an article, `index.php` or `api.php` URL), by its
    /// identity: from the store when any spelling of it was resolved before (no request), else
    /// found and identified with one siteinfo request and remembered.
    pub async fn resolve_wiki(&self, field: Field, input: &str) -> UseCaseResult<WikiIdentity> {
        let input = input.trim();
        if input.is_empty() {
            return Err(UseCaseError::invalid(
                field,
                "Name the wiki, e.g. en.wikipedia.org.",
            ));
        }
        let address = self
            .wiki
            .parse_address(input)
            .map_err(|e| UseCaseError::invalid(field, format!("The wiki `{input}`: {e}")))?;
        if let Some(known) = self.store.wiki_by_spelling(address.spelling()).await?
            && let Some(identity) = self.identity_of(&known)
        {
            return Ok(identity);
        }
        let identity = self
            .wiki
            .resolve_wiki(input)
            .await
            .map_err(|cause| match cause {
                mw::Error::WikiUrl(_) | mw::Error::NoApi { .. } => {
                    UseCaseError::invalid(field, format!("The wiki `{input}`: {cause}"))
                }
                cause => UseCaseError::Wiki {
                    context: format!("identifying the wiki `{input}`"),
                    cause,
                },
            })?;
        let namespaces = serde_json::to_string(&identity.namespaces)
            .map_err(|e| crate::store::StoreError::InvalidInput(e.to_string()))?;
        let known = KnownWiki {
            key: identity.key(),
            api_url: identity.api.as_str().to_owned(),
            wiki_id: identity.wiki_id.clone(),
            server: identity.server.clone(),
            sitename: identity.sitename.clone(),
            language: identity.language.clone(),
            namespaces,
            resolved_at: Utc::now(),
        };
        self.store
            .save_wiki(&known, &[address.spelling().to_owned()])
            .await?;
        Ok(identity)
    }

    /// How each known wiki is shown (`Sitename (host)`), by its stored key. Wikis never
    /// resolved are absent: show their key.
    pub async fn wiki_names(&self) -> UseCaseResult<HashMap<String, String>> {
        Ok(self
            .store
            .known_wikis()
            .await?
            .iter()
            .filter_map(|known| self.identity_of(known))
            .map(|identity| (identity.key(), identity.display_name()))
            .collect())
    }

    /// A stored wiki back to its identity (`None` when its API is no longer allow-listed or the
    /// stored namespaces do not read: then it is resolved again).
    fn identity_of(&self, known: &KnownWiki) -> Option<WikiIdentity> {
        let api = self.wiki.parse_wiki(&known.api_url).ok()?;
        let namespaces: Vec<SiteNamespace> = serde_json::from_str(&known.namespaces).ok()?;
        Some(WikiIdentity {
            wiki_id: known.wiki_id.clone(),
            server: known.server.clone(),
            sitename: known.sitename.clone(),
            language: known.language.clone(),
            api,
            namespaces,
        })
    }
}

/// A title checked against the wiki's namespaces (no request); refusals name the title field.
pub(crate) fn site_title(wiki: &WikiIdentity, input: &str) -> UseCaseResult<SiteTitle> {
    let title = super::mappings::title_text(input)?;
    if title.is_empty() {
        return Err(UseCaseError::invalid(Field::Title, "Name the page."));
    }
    let site_title = wiki.title(title).map_err(|e| {
        UseCaseError::invalid(
            Field::Title,
            format!("The title `{}` on {}: {e}", title, wiki.display_name()),
        )
    })?;
    // The wiki's local namespace name may be longer than the one typed.
    super::mappings::fits_title_column(site_title.title.as_str())?;
    Ok(site_title)
}

/// The content model a file needs its page to have, from its suffix (`None`: any).
pub(crate) fn model_for_file(path: &str) -> Option<ContentModel> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".js") {
        Some(ContentModel::JavaScript)
    } else if lower.ends_with(".css") {
        Some(ContentModel::Css)
    } else if lower.ends_with(".json") {
        Some(ContentModel::Json)
    } else {
        None
    }
}
