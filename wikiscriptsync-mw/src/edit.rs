//! Editing a page: the edit request (base revision and start time for conflict detection,
//! create policy, content model, tags), replacing or appending text, its outcome (a stale base
//! MediaWiki merged is its own outcome, never a plain update), and the mapping of MediaWiki's edit errors
//! to typed [`Error`] variants that name the missing right and grant; with the summary limit and
//! the save-time text normalisation callers compare against.

use serde_json::Value;

use crate::answer::{bool_field, str_field, string_list, u64_field};
use crate::api::{CreatePolicy, EditOutcome, EditRequest};
use crate::client::{ApiFailure, CallError, Method, Session};
use crate::error::Error;
use crate::rights::grant_for_right;
use crate::timestamp::Timestamp;
use crate::title::Title;

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

/// Where an edit's text goes: it replaces the page's text, or is added at its end.
#[derive(Clone, Copy)]
enum TextParam {
    Replace,
    Append,
}

impl Session {
    /// Edits a page (POST, CSRF token, `assert=user`, `watchlist=nochange`): `text` replaces
    /// the page's text.
    ///
    /// With a [`EditRequest::base_revision`] that is no longer the page's latest revision,
    /// MediaWiki three-way merges the change (base → `text`) into the newer revisions when
    /// the changes do not overlap, and this answers [`EditOutcome::Merged`] (the answer's
    /// `oldrevid` is not the `baserevid` sent); overlapping changes are
    /// [`Error::EditConflict`]. The API cannot be told to refuse such a merge, so a caller
    /// that must not publish over unseen changes treats `Merged` as drift.
    pub async fn edit(&self, request: &EditRequest) -> Result<EditOutcome, Error> {
        self.send_edit(request, TextParam::Replace).await
    }

    /// Adds `request.text` at the end of the page's current text (`appendtext`): MediaWiki
    /// reads the latest text and saves it followed by ours, so nothing on the page is
    /// replaced. Add the separating newline yourself. Everything else is as for
    /// [`Session::edit`]: the create policy (a missing page appended to with
    /// [`CreatePolicy::MayCreate`] is created holding only the text), the summary, tags, and
    /// a base revision, which turns an append to a page changed since into
    /// [`EditOutcome::Merged`] (or [`Error::EditConflict`] when MediaWiki cannot merge it).
    /// Appending nothing answers [`EditOutcome::NoChange`].
    pub async fn append(&self, request: &EditRequest) -> Result<EditOutcome, Error> {
        self.send_edit(request, TextParam::Append).await
    }

    async fn send_edit(
        &self,
        request: &EditRequest,
        mode: TextParam,
    ) -> Result<EditOutcome, Error> {
        let title = request.title.to_string();
        let text_param = match mode {
            TextParam::Replace => "text",
            TextParam::Append => "appendtext",
        };
        let mut params = vec![
            ("action", "edit".to_owned()),
            ("title", title.clone()),
            (text_param, request.text.clone()),
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
            params.push(("starttimestamp", start.to_string()));
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
        self.edit_outcome(edit, &title, request.base_revision)
    }

    /// The outcome of an `edit` object; a `result` other than `Success` is an error. `base` is
    /// the `baserevid` sent: an answer whose `oldrevid` differs from it was merged.
    pub(crate) fn edit_outcome(
        &self,
        edit: &Value,
        title: &str,
        base: Option<u64>,
    ) -> Result<EditOutcome, Error> {
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
        // The edit is saved: a timestamp in an unexpected form must not turn it into an error.
        let timestamp = str_field(edit, "newtimestamp").and_then(|t| Timestamp::parse(&t).ok());
        let old_revision = u64_field(edit, "oldrevid").unwrap_or(0);
        if bool_field(edit, "new") || old_revision == 0 {
            return Ok(EditOutcome::Created {
                page_id: u64_field(edit, "pageid").unwrap_or(0),
                revision: new_revision,
                timestamp,
            });
        }
        // `oldrevid` is the revision the edit was saved on top of: another one than the base
        // sent means MediaWiki merged our change into revisions we did not see.
        match base {
            Some(base_revision) if base_revision != old_revision => Ok(EditOutcome::Merged {
                base_revision,
                latest_revision: old_revision,
                new_revision,
                timestamp,
            }),
            _ => Ok(EditOutcome::Updated {
                old_revision,
                new_revision,
                timestamp,
            }),
        }
    }

    /// Maps edit (and Flow) errors to typed variants.
    pub(crate) fn edit_error(&self, error: CallError, title: &str) -> Error {
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
            "reauthenticate" | "cannotreauthenticate" => Error::ReauthenticationRequired {
                wiki: self.host().to_owned(),
                title,
                code,
                credential: self.credential_kind(),
            },
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
        // What is kept is the summary's own first 499 characters, whole, then the ellipsis.
        assert_eq!(trimmed, format!("{}…", "a".repeat(499)));
        // A cut that falls among multi-byte characters keeps the last one whole.
        let long = format!("{}é€😀😀", "a".repeat(498));
        assert_eq!(trim_summary(&long), format!("{}é…", "a".repeat(498)));
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
