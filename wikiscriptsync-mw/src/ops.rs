//! The operations a session offers: user info, batched revision lookup, page text, the
//! pre-publish probe, edits and talk-page notices; with the parsing of their answers and the
//! mapping of edit errors to typed [`Error`] variants.

use std::collections::{HashMap, HashSet};

use secrecy::SecretString;
use serde_json::Value;

use crate::api::{
    BlockInfo, CreatePolicy, EditOutcome, EditRequest, PageLookup, PageRevision, PageState,
    PageText, Probe, ProbedPage, TalkNotice, TalkNoticeOutcome, UserInfo,
};
use crate::client::{ApiFailure, CallError, Method, Session};
use crate::error::Error;
use crate::rights::grant_for_right;
use crate::title::{ContentModel, Title};

/// Titles per request for ordinary sessions (`ApiBase::LIMIT_SML1`).
pub const TITLES_PER_REQUEST: usize = 50;
/// Titles per request with `apihighlimits` (`ApiBase::LIMIT_SML2`).
pub const TITLES_PER_REQUEST_HIGH: usize = 500;

/// MediaWiki's edit summary limit: `CommentStore::COMMENT_CHARACTER_LIMIT` = 500 characters
/// (Unicode code points, as PHP's `mb_strlen` counts them), not bytes.
pub const SUMMARY_CHARACTER_LIMIT: usize = 500;

/// Trims a summary to [`SUMMARY_CHARACTER_LIMIT`] characters. Cutting at a `char` boundary
/// never splits a UTF-8 sequence; an ellipsis marks the cut.
pub fn trim_summary(summary: &str) -> String {
    let summary = summary.trim();
    if summary.chars().count() <= SUMMARY_CHARACTER_LIMIT {
        return summary.to_owned();
    }
    let mut trimmed: String = summary.chars().take(SUMMARY_CHARACTER_LIMIT - 1).collect();
    trimmed.push('…');
    trimmed
}

/// MediaWiki's save-time normalisation of text content (`TextContent::normalizeLineEndings`):
/// CRLF and CR become LF and trailing whitespace is removed. Compare files with wiki text after
/// applying it to both.
pub fn normalize_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim_end()
        .to_owned()
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn u64_field(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

fn bool_field(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn parse_user_info(info: &Value) -> UserInfo {
    let block = info.get("blockid").map(|_| BlockInfo {
        id: u64_field(info, "blockid"),
        by: str_field(info, "blockedby"),
        reason: str_field(info, "blockreason"),
        expiry: str_field(info, "blockexpiry"),
        partial: bool_field(info, "blockpartial"),
    });
    UserInfo {
        id: u64_field(info, "id").unwrap_or(0),
        name: str_field(info, "name").unwrap_or_default(),
        anonymous: bool_field(info, "anon"),
        groups: string_list(info.get("groups")),
        rights: string_list(info.get("rights")),
        block,
    }
}

/// The main slot's model and content of a revision (`rvslots=main`), tolerating the
/// pre-slots shape.
fn revision_slot(revision: &Value) -> (Option<String>, Option<String>) {
    let slot = revision.pointer("/slots/main").unwrap_or(revision);
    (str_field(slot, "contentmodel"), str_field(slot, "content"))
}

/// Maps requested titles to answer titles through `normalized` and `redirects`.
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
    /// Fetches the session's user info and a CSRF token in one request and caches both.
    pub async fn user_info(&self) -> Result<UserInfo, Error> {
        let answer = self
            .call_authed(
                Method::Get,
                &[
                    ("action", "query".into()),
                    ("meta", "userinfo|tokens".into()),
                    ("type", "csrf".into()),
                    ("uiprop", "rights|groups|blockinfo".into()),
                ],
                false,
            )
            .await
            .map_err(|e| self.to_error(e))?;
        self.absorb_tokens(&answer);
        let info = answer
            .pointer("/query/userinfo")
            .map(parse_user_info)
            .ok_or_else(|| self.invalid_answer("no userinfo in the answer"))?;
        self.cache_user_info(info.clone());
        Ok(info)
    }

    fn absorb_tokens(&self, answer: &Value) {
        if let Some(token) = answer
            .pointer("/query/tokens/csrftoken")
            .and_then(Value::as_str)
        {
            self.cache_csrf(SecretString::from(token.to_owned()));
        }
    }

    fn invalid_answer(&self, detail: &str) -> Error {
        Error::InvalidResponse {
            wiki: self.host().to_owned(),
            detail: detail.to_owned(),
        }
    }

    /// Titles per request: 500 when the cached user info shows `apihighlimits`, else 50.
    pub fn titles_per_request(&self) -> usize {
        match self.cached_user_info() {
            Some(info) if info.has_high_limits() => TITLES_PER_REQUEST_HIGH,
            _ => TITLES_PER_REQUEST,
        }
    }

    /// Latest revisions of `titles`, in the caller's order: ⌈N/50⌉ requests, or ⌈N/500⌉ after
    /// [`Session::user_info`] (or a probe) showed `apihighlimits`. Continuations are followed.
    pub async fn lookup_revisions(&self, titles: &[String]) -> Result<Vec<PageLookup>, Error> {
        let mut unique: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        for title in titles {
            // A `|` would split the batch; such titles are invalid anyway.
            if !title.trim().is_empty() && !title.contains('|') && seen.insert(title.as_str()) {
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
        Ok(titles
            .iter()
            .map(|requested| PageLookup {
                requested: requested.clone(),
                state: lookup_state(requested, &map, &pages),
            })
            .collect())
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
            timestamp: str_field(rev, "timestamp").unwrap_or_default(),
            content_model: ContentModel::from_api(model.as_deref().unwrap_or("wikitext")),
            text,
        }))
    }

    /// The pre-publish probe, one request: `meta=tokens|userinfo`, the target's current
    /// revision with its text, and `curtimestamp`. Caches the token and user info.
    pub async fn probe(&self, title: &Title) -> Result<Probe, Error> {
        let answer = self
            .call_authed(
                Method::Get,
                &[
                    ("action", "query".into()),
                    ("meta", "tokens|userinfo".into()),
                    ("type", "csrf".into()),
                    ("uiprop", "rights|groups|blockinfo".into()),
                    ("prop", "info|revisions".into()),
                    ("rvprop", "ids|timestamp|content|contentmodel".into()),
                    ("rvslots", "main".into()),
                    ("titles", title.to_string()),
                    ("curtimestamp", "1".into()),
                ],
                false,
            )
            .await
            .map_err(|e| self.to_error(e))?;
        self.absorb_tokens(&answer);
        let user = answer
            .pointer("/query/userinfo")
            .map(parse_user_info)
            .ok_or_else(|| self.invalid_answer("no userinfo in the probe answer"))?;
        self.cache_user_info(user.clone());
        let page = answer
            .pointer("/query/pages/0")
            .ok_or_else(|| self.invalid_answer("no page in the probe answer"))?;
        if bool_field(page, "invalid") {
            return Err(Error::Api {
                code: "invalidtitle".to_owned(),
                text: page
                    .pointer("/invalidreason/text")
                    .and_then(Value::as_str)
                    .unwrap_or("invalid title")
                    .to_owned(),
            });
        }
        let exists = !bool_field(page, "missing");
        let revision = page.pointer("/revisions/0");
        let (slot_model, text) = revision.map(revision_slot).unwrap_or_default();
        let model = slot_model
            .or_else(|| str_field(page, "contentmodel"))
            .map(|m| ContentModel::from_api(&m))
            .or_else(|| title.implied_content_model());
        Ok(Probe {
            user,
            page: ProbedPage {
                title: str_field(page, "title").unwrap_or_else(|| title.to_string()),
                exists,
                page_id: exists.then(|| u64_field(page, "pageid")).flatten(),
                revision_id: revision.and_then(|r| u64_field(r, "revid")),
                timestamp: revision.and_then(|r| str_field(r, "timestamp")),
                content_model: model,
                text: if exists { text } else { None },
            },
            server_time: str_field(&answer, "curtimestamp").unwrap_or_default(),
        })
    }

    /// Edits a page (POST, CSRF token, `assert=user`, `watchlist=nochange`).
    pub async fn edit(&self, request: &EditRequest) -> Result<EditOutcome, Error> {
        let title = request.title.to_string();
        let mut params = vec![
            ("action", "edit".to_owned()),
            ("title", title.clone()),
            ("text", request.text.clone()),
            ("summary", trim_summary(&request.summary)),
            ("watchlist", "nochange".to_owned()),
        ];
        params.push(if request.minor {
            ("minor", "1".to_owned())
        } else {
            ("notminor", "1".to_owned())
        });
        if let Some(base) = request.base_revision {
            params.push(("baserevid", base.to_string()));
        }
        if let Some(start) = &request.start_timestamp {
            params.push(("starttimestamp", start.clone()));
        }
        match request.create {
            CreatePolicy::MustExist => params.push(("nocreate", "1".to_owned())),
            CreatePolicy::MustNotExist => params.push(("createonly", "1".to_owned())),
            CreatePolicy::MayCreate => {}
        }
        let may_create = request.create != CreatePolicy::MustExist;
        if let (true, None, Some(model)) =
            (may_create, request.base_revision, &request.content_model)
        {
            params.push(("contentmodel", model.as_str().to_owned()));
        }
        if !request.tags.is_empty() {
            params.push(("tags", request.tags.join("|")));
        }
        let answer = self
            .call_authed(Method::Post, &params, true)
            .await
            .map_err(|e| self.edit_error(e, &title))?;
        let edit = answer
            .get("edit")
            .ok_or_else(|| self.invalid_answer("no `edit` object in the answer"))?;
        self.edit_outcome(edit, &title)
    }

    fn edit_outcome(&self, edit: &Value, title: &str) -> Result<EditOutcome, Error> {
        let result = edit
            .get("result")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if result != "Success" {
            if edit.get("captcha").is_some() {
                return Err(Error::Captcha {
                    title: title.to_owned(),
                });
            }
            return Err(Error::Api {
                code: "edit-failure".to_owned(),
                text: format!("the edit of `{title}` failed with result `{result}`"),
            });
        }
        if bool_field(edit, "nochange") {
            return Ok(EditOutcome::NoChange);
        }
        let new_revision = u64_field(edit, "newrevid")
            .ok_or_else(|| self.invalid_answer("the edit answer has no newrevid"))?;
        let timestamp = str_field(edit, "newtimestamp");
        let old_revision = u64_field(edit, "oldrevid").unwrap_or(0);
        if bool_field(edit, "new") || old_revision == 0 {
            Ok(EditOutcome::Created {
                page_id: u64_field(edit, "pageid").unwrap_or(0),
                revision: new_revision,
                timestamp,
            })
        } else {
            Ok(EditOutcome::Updated {
                old_revision,
                new_revision,
                timestamp,
            })
        }
    }

    /// Maps edit (and Flow) errors to typed variants.
    fn edit_error(&self, error: CallError, title: &str) -> Error {
        let failure = match error {
            CallError::Api(failure) => failure,
            CallError::Other(error) => return error,
        };
        let title = title.to_owned();
        let ApiFailure { code, text, data } = failure;
        let permission = |right: &str| Error::PermissionDenied {
            title: title.clone(),
            right: Some(right.to_owned()),
            grant: grant_for_right(right),
            text: text.clone(),
        };
        match code.as_str() {
            "editconflict" => Error::EditConflict { title },
            "pagedeleted" => Error::PageDeleted { title },
            "missingtitle" => Error::PageMissing { title },
            "articleexists" => Error::PageExists { title },
            "protectedpage" | "cascadeprotected" | "protectedtitle" => {
                Error::ProtectedPage { title, text }
            }
            "sitejsprotected" => permission("editsitejs"),
            "sitecssprotected" => permission("editsitecss"),
            "sitejsonprotected" => permission("editsitejson"),
            "customjsprotected" => permission("edituserjs"),
            "customcssprotected" => permission("editusercss"),
            "customjsonprotected" => permission("edituserjson"),
            "mycustomjsprotected" => permission("editmyuserjs"),
            "mycustomcssprotected" => permission("editmyusercss"),
            "mycustomjsonprotected" => permission("editmyuserjson"),
            "protectedinterface" | "protectednamespace-interface" => permission("editinterface"),
            // Talk pages need `createtalk`, everything else `createpage`.
            "cantcreate" | "nocreate-loggedin" | "cantcreate-anon" => {
                let is_talk = Title::parse(&title)
                    .is_ok_and(|t| t.namespace() == crate::title::Namespace::UserTalk);
                permission(if is_talk { "createtalk" } else { "createpage" })
            }
            "noedit" | "noedit-anon" => permission("edit"),
            "permissiondenied" | "protectednamespace" | "writeapidenied" => {
                Error::PermissionDenied {
                    title,
                    right: None,
                    grant: None,
                    text,
                }
            }
            "blocked" | "autoblocked" | "blockedfrommail" => Error::Blocked { text },
            "spamblacklist" => Error::SpamBlacklist {
                title,
                matches: string_list(
                    data.as_ref()
                        .and_then(|d| d.pointer("/spamblacklist/matches")),
                ),
            },
            "abusefilter-disallowed" | "abusefilter-warning" => {
                let filter = data.as_ref().and_then(|d| d.get("abusefilter"));
                Error::AbuseFilter {
                    title,
                    filter_id: filter.and_then(|f| match f.get("id") {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(Value::Number(n)) => Some(n.to_string()),
                        _ => None,
                    }),
                    description: filter
                        .and_then(|f| str_field(f, "description"))
                        .unwrap_or(text),
                    warning: code == "abusefilter-warning",
                }
            }
            "captcha" => Error::Captcha { title },
            "contentmodel-mismatch" => Error::ContentModelMismatch { title, text },
            _ => self.api_error(ApiFailure { code, text, data }),
        }
    }

    /// Posts a notice on a user's talk page: 1 request to learn the page's content model (and
    /// a CSRF token if none is cached), then a new section, or a new topic on a Flow board.
    pub async fn post_talk_notice(&self, notice: &TalkNotice) -> Result<TalkNoticeOutcome, Error> {
        let title = notice.page.to_string();
        let meta = if self.has_csrf() {
            Vec::new()
        } else {
            vec![("meta", "tokens".to_owned()), ("type", "csrf".to_owned())]
        };
        let mut params = vec![
            ("action", "query".to_owned()),
            ("prop", "info".to_owned()),
            ("titles", title.clone()),
        ];
        params.extend(meta);
        let answer = self
            .call_authed(Method::Get, &params, false)
            .await
            .map_err(|e| self.to_error(e))?;
        self.absorb_tokens(&answer);
        let is_flow = answer
            .pointer("/query/pages/0/contentmodel")
            .and_then(Value::as_str)
            == Some("flow-board");
        // Flow attributes topics itself; wikitext sections are signed with `~~~~`.
        let text = if is_flow || notice.text.contains("~~~~") {
            notice.text.clone()
        } else {
            format!("{} ~~~~", notice.text.trim_end())
        };
        let summary = trim_summary(notice.summary.as_deref().unwrap_or(&notice.heading));
        if is_flow {
            let answer = self
                .call_authed(
                    Method::Post,
                    &[
                        ("action", "flow".to_owned()),
                        ("submodule", "new-topic".to_owned()),
                        ("page", title.clone()),
                        ("nttopic", notice.heading.clone()),
                        ("ntcontent", text),
                        ("ntformat", "wikitext".to_owned()),
                    ],
                    true,
                )
                .await
                .map_err(|e| self.edit_error(e, &title))?;
            let topic = answer
                .pointer("/flow/new-topic/committed/topiclist/topic-id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            return Ok(TalkNoticeOutcome::FlowTopic { topic });
        }
        let answer = self
            .call_authed(
                Method::Post,
                &[
                    ("action", "edit".to_owned()),
                    ("title", title.clone()),
                    ("section", "new".to_owned()),
                    ("sectiontitle", notice.heading.clone()),
                    ("text", text),
                    ("summary", summary),
                    ("notminor", "1".to_owned()),
                    ("watchlist", "nochange".to_owned()),
                ],
                true,
            )
            .await
            .map_err(|e| self.edit_error(e, &title))?;
        let edit = answer
            .get("edit")
            .ok_or_else(|| self.invalid_answer("no `edit` object in the answer"))?;
        match self.edit_outcome(edit, &title)? {
            EditOutcome::Created { revision, .. } => Ok(TalkNoticeOutcome::Section { revision }),
            EditOutcome::Updated { new_revision, .. } => Ok(TalkNoticeOutcome::Section {
                revision: new_revision,
            }),
            EditOutcome::NoChange => Err(Error::Api {
                code: "nochange".to_owned(),
                text: format!("adding a section to `{title}` made no change"),
            }),
        }
    }
}

/// Continuation keys the lookup query can produce.
const CONTINUE_KEYS: &[&str] = &["continue", "rvcontinue", "incontinue"];

fn lookup_state(requested: &str, map: &TitleMap, pages: &HashMap<String, Value>) -> PageState {
    if requested.trim().is_empty() || requested.contains('|') {
        return PageState::Invalid {
            reason: "the title is empty or contains `|`".to_owned(),
        };
    }
    let (normalized, target) = map.resolve(requested);
    let Some(page) = pages.get(&target).or_else(|| pages.get(&normalized)) else {
        return PageState::Invalid {
            reason: "the wiki did not report this title".to_owned(),
        };
    };
    if bool_field(page, "invalid") {
        return PageState::Invalid {
            reason: page
                .pointer("/invalidreason/text")
                .and_then(Value::as_str)
                .unwrap_or("invalid title")
                .to_owned(),
        };
    }
    if bool_field(page, "missing") {
        return PageState::Missing {
            title: str_field(page, "title").unwrap_or(target),
        };
    }
    let revision = page.pointer("/revisions/0").unwrap_or(&Value::Null);
    let (slot_model, _) = revision_slot(revision);
    let model = slot_model
        .or_else(|| str_field(page, "contentmodel"))
        .unwrap_or_else(|| "wikitext".to_owned());
    let title = str_field(page, "title").unwrap_or_else(|| target.clone());
    PageState::Exists(PageRevision {
        redirected_from: (target != normalized).then_some(normalized),
        title,
        page_id: u64_field(page, "pageid").unwrap_or(0),
        revision_id: u64_field(revision, "revid")
            .or_else(|| u64_field(page, "lastrevid"))
            .unwrap_or(0),
        timestamp: str_field(revision, "timestamp").unwrap_or_default(),
        user: str_field(revision, "user"),
        comment: str_field(revision, "comment"),
        sha1: str_field(revision, "sha1"),
        size: u64_field(revision, "size")
            .or_else(|| u64_field(page, "length"))
            .unwrap_or(0),
        content_model: ContentModel::from_api(&model),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_trimmed_to_500_characters_without_splitting_utf8() {
        let short = "a".repeat(500);
        assert_eq!(trim_summary(&short), short);
        // 499 ASCII characters then multi-byte ones: the cut lands between characters.
        let long = format!("{}é€😀😀", "a".repeat(499));
        let trimmed = trim_summary(&long);
        assert_eq!(trimmed.chars().count(), 500);
        assert!(trimmed.ends_with('…'));
        assert!(std::str::from_utf8(trimmed.as_bytes()).is_ok());
        let emoji = "😀".repeat(600);
        let trimmed = trim_summary(&emoji);
        assert_eq!(trimmed.chars().count(), 500);
        assert_eq!(trimmed.chars().filter(|c| *c == '😀').count(), 499);
    }

    #[test]
    fn text_is_normalised_like_mediawiki_saves_it() {
        assert_eq!(normalize_text("a\r\nb\rc  \n\n\t"), "a\nb\nc");
        assert_eq!(normalize_text("  lead"), "  lead");
    }
}
