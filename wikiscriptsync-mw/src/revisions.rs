//! Reading pages: the latest revisions of many titles in batches of 50 (500 with
//! `apihighlimits`), following continuations, normalisations and redirects; and the text of one
//! page at its latest or a given revision.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::answer::{bool_field, revision_slot, str_field, u64_field};
use crate::api::{PageLookup, PageRevision, PageState, PageText};
use crate::client::{Method, Session};
use crate::error::Error;
use crate::timestamp::Timestamp;
use crate::title::{ContentModel, Title};

/// Titles per request for ordinary sessions (`ApiBase::LIMIT_SML1`).
pub const TITLES_PER_REQUEST: usize = 50;
/// Titles per request with `apihighlimits` (`ApiBase::LIMIT_SML2`).
pub const TITLES_PER_REQUEST_HIGH: usize = 500;

#[derive(Default)]
struct TitleMap {
    normalized: HashMap<String, String>,
    redirects: HashMap<String, String>,
}

impl TitleMap {
    fn absorb(&mut self, query: &Value) {
        for (key, map) in [
            ("normalized", &mut self.normalized),
            ("redirects", &mut self.redirects),
        ] {
            for entry in query
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(from), Some(to)) = (str_field(entry, "from"), str_field(entry, "to")) {
                    map.insert(from, to);
                }
            }
        }
    }

    /// (normalised title, final title after one redirect hop)
    fn resolve(&self, requested: &str) -> (String, String) {
        let normalized = self
            .normalized
            .get(requested)
            .cloned()
            .unwrap_or_else(|| requested.to_owned());
        let target = self
            .redirects
            .get(&normalized)
            .cloned()
            .unwrap_or_else(|| normalized.clone());
        (normalized, target)
    }
}

impl Session {
    /// Titles per request: 500 when the cached user info shows `apihighlimits`, else 50.
    pub fn titles_per_request(&self) -> usize {
        match self.cached_user_info() {
            Some(info) if info.has_high_limits() => TITLES_PER_REQUEST_HIGH,
            _ => TITLES_PER_REQUEST,
        }
    }

    /// Latest revisions of `titles`, in the caller's order: ⌈N/50⌉ requests, or ⌈N/500⌉ after
    /// [`Session::user_info`] (or a probe) showed `apihighlimits`. Continuations are followed.
    /// `titles` are anything that is a title as text: `&str`s, `String`s or [`Title`]s.
    pub async fn lookup_revisions<T: AsRef<str>>(
        &self,
        titles: &[T],
    ) -> Result<Vec<PageLookup>, Error> {
        let mut unique: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        for title in titles.iter().map(AsRef::as_ref) {
            // A `|` would split the batch; such titles are invalid anyway.
            if !title.trim().is_empty() && !title.contains('|') && seen.insert(title) {
                unique.push(title);
            }
        }
        let mut map = TitleMap::default();
        let mut pages: HashMap<String, Value> = HashMap::new();
        for chunk in unique.chunks(self.titles_per_request()) {
            let base = vec![
                ("action", "query".to_owned()),
                ("prop", "info|revisions".to_owned()),
                (
                    "rvprop",
                    "ids|timestamp|user|comment|sha1|size|contentmodel".to_owned(),
                ),
                ("rvslots", "main".to_owned()),
                ("redirects", "1".to_owned()),
                ("titles", chunk.join("|")),
            ];
            self.query_with_continuation(base, &mut map, &mut pages)
                .await?;
        }
        titles
            .iter()
            .map(|requested| {
                let requested = requested.as_ref();
                Ok(PageLookup {
                    requested: requested.to_owned(),
                    state: lookup_state(requested, &map, &pages)
                        .map_err(|detail| self.invalid_answer(&detail))?,
                })
            })
            .collect()
    }

    async fn query_with_continuation(
        &self,
        base: Vec<(&'static str, String)>,
        map: &mut TitleMap,
        pages: &mut HashMap<String, Value>,
    ) -> Result<(), Error> {
        let mut continuation: Vec<(String, String)> = Vec::new();
        loop {
            let mut params = base.clone();
            // Parameter names are `&'static str`; the wiki's continuation keys are mapped onto
            // the known set (unknown ones were dropped when the answer was read).
            for (key, value) in &continuation {
                if let Some(key) = CONTINUE_KEYS.iter().find(|k| **k == key.as_str()) {
                    params.push((key, value.clone()));
                }
            }
            let answer = self
                .call_authed(Method::Get, &params, false)
                .await
                .map_err(|e| self.to_error(e))?;
            let query = answer.get("query").cloned().unwrap_or(Value::Null);
            map.absorb(&query);
            for page in query
                .get("pages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(title) = str_field(page, "title") else {
                    continue;
                };
                match pages.get_mut(&title) {
                    Some(existing) if existing.get("revisions").is_none() => {
                        *existing = page.clone();
                    }
                    Some(_) => {}
                    None => {
                        pages.insert(title, page.clone());
                    }
                }
            }
            match answer.get("continue").and_then(Value::as_object) {
                Some(next) if !next.is_empty() => {
                    let next: Vec<(String, String)> = next
                        .iter()
                        .filter_map(|(k, v)| {
                            let value = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            CONTINUE_KEYS
                                .contains(&k.as_str())
                                .then(|| (k.clone(), value))
                        })
                        .collect();
                    if next.is_empty() || next == continuation {
                        return Err(self.invalid_answer("the continuation did not advance"));
                    }
                    continuation = next;
                }
                _ => return Ok(()),
            }
        }
    }

    /// The text of `title` at its latest revision, or at `revision`. `Ok(None)` when the page
    /// does not exist.
    pub async fn page_text(
        &self,
        title: &Title,
        revision: Option<u64>,
    ) -> Result<Option<PageText>, Error> {
        let mut params = vec![
            ("action", "query".to_owned()),
            ("prop", "revisions".to_owned()),
            ("rvprop", "ids|timestamp|content|contentmodel".to_owned()),
            ("rvslots", "main".to_owned()),
        ];
        match revision {
            Some(id) => params.push(("revids", id.to_string())),
            None => params.push(("titles", title.to_string())),
        }
        let answer = self
            .call_authed(Method::Get, &params, false)
            .await
            .map_err(|e| self.to_error(e))?;
        let revision_missing = || Error::RevisionNotFound {
            wiki: self.host().to_owned(),
            revision: revision.unwrap_or(0),
        };
        if answer.pointer("/query/badrevids").is_some() {
            return Err(revision_missing());
        }
        let Some(page) = answer.pointer("/query/pages/0") else {
            return Err(self.invalid_answer("no page in the answer"));
        };
        if bool_field(page, "missing") || bool_field(page, "invalid") {
            return match revision {
                Some(_) => Err(revision_missing()),
                None => Ok(None),
            };
        }
        let Some(rev) = page.pointer("/revisions/0") else {
            return Err(revision_missing());
        };
        let (model, content) = revision_slot(rev);
        let text = content.ok_or_else(revision_missing)?;
        Ok(Some(PageText {
            title: str_field(page, "title").unwrap_or_else(|| title.to_string()),
            revision_id: u64_field(rev, "revid").unwrap_or(0),
            timestamp: revision_timestamp(rev).map_err(|detail| self.invalid_answer(&detail))?,
            content_model: ContentModel::from_api(model.as_deref().unwrap_or("wikitext")),
            text,
        }))
    }
}

/// Continuation keys the lookup query can produce.
const CONTINUE_KEYS: &[&str] = &["continue", "rvcontinue", "incontinue"];

/// A revision's `timestamp`, which MediaWiki always sends: its absence (or another form) makes
/// the answer one we cannot read.
fn revision_timestamp(revision: &Value) -> Result<Timestamp, String> {
    let text = revision
        .get("timestamp")
        .and_then(Value::as_str)
        .ok_or("a revision without a timestamp")?;
    Timestamp::parse(text).map_err(|error| error.to_string())
}

/// What the answers say of one requested title; `Err` names what is wrong with an answer.
fn lookup_state(
    requested: &str,
    map: &TitleMap,
    pages: &HashMap<String, Value>,
) -> Result<PageState, String> {
    if requested.trim().is_empty() || requested.contains('|') {
        return Ok(PageState::Invalid {
            reason: "the title is empty or contains `|`".to_owned(),
        });
    }
    let (normalized, target) = map.resolve(requested);
    let Some(page) = pages.get(&target).or_else(|| pages.get(&normalized)) else {
        return Ok(PageState::Invalid {
            reason: "the wiki did not report this title".to_owned(),
        });
    };
    if bool_field(page, "invalid") {
        return Ok(PageState::Invalid {
            reason: page
                .pointer("/invalidreason/text")
                .and_then(Value::as_str)
                .unwrap_or("invalid title")
                .to_owned(),
        });
    }
    if bool_field(page, "missing") {
        return Ok(PageState::Missing {
            title: str_field(page, "title").unwrap_or(target),
        });
    }
    let revision = page.pointer("/revisions/0").unwrap_or(&Value::Null);
    let (slot_model, _) = revision_slot(revision);
    let model = slot_model
        .or_else(|| str_field(page, "contentmodel"))
        .unwrap_or_else(|| "wikitext".to_owned());
    let title = str_field(page, "title").unwrap_or_else(|| target.clone());
    Ok(PageState::Exists(PageRevision {
        redirected_from: (target != normalized).then_some(normalized),
        title,
        page_id: u64_field(page, "pageid").unwrap_or(0),
        revision_id: u64_field(revision, "revid")
            .or_else(|| u64_field(page, "lastrevid"))
            .unwrap_or(0),
        timestamp: revision_timestamp(revision)?,
        user: str_field(revision, "user"),
        comment: str_field(revision, "comment"),
        sha1: str_field(revision, "sha1"),
        size: u64_field(revision, "size")
            .or_else(|| u64_field(page, "length"))
            .unwrap_or(0),
        content_model: ContentModel::from_api(&model),
    }))
}
