//! Who a session is and what it may do: the user info (rights, groups, block) with a CSRF token
//! in one request, and the one-request pre-publish probe that adds the target page's current
//! revision, its text and the server time.

use serde_json::Value;

use crate::answer::{bool_field, parse_user_info, revision_slot, str_field, u64_field};
use crate::api::{Probe, ProbedPage, UserInfo};
use crate::client::{Method, Session};
use crate::error::Error;
use crate::timestamp::Timestamp;
use crate::title::{ContentModel, Title};

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

    /// The pre-publish probe, one request: `meta=tokens|userinfo`, the target's current
    /// revision with its text, and `curtimestamp`. Caches the token and user info.
    ///
    /// An answer without `curtimestamp`, or with a timestamp not in the Action API's form, is
    /// [`Error::InvalidResponse`].
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
        // MediaWiki always sends both; without them the edit could not be guarded.
        let server_time = self.answer_timestamp(answer.get("curtimestamp"), "curtimestamp")?;
        let timestamp = revision_of(page)
            .map(|r| self.answer_timestamp(r.get("timestamp"), "the revision's timestamp"))
            .transpose()?;
        let revision = revision_of(page);
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
                timestamp,
                content_model: model,
                text: if exists { text } else { None },
            },
            server_time,
            credential: self.credential_kind(),
        })
    }
}

/// The latest revision of a page in a query answer.
fn revision_of(page: &Value) -> Option<&Value> {
    page.pointer("/revisions/0")
}

impl Session {
    /// A timestamp MediaWiki always sends in an answer, or why the answer cannot be read.
    fn answer_timestamp(&self, value: Option<&Value>, what: &str) -> Result<Timestamp, Error> {
        let text = value
            .and_then(Value::as_str)
            .ok_or_else(|| self.invalid_answer(&format!("no {what} in the probe answer")))?;
        Timestamp::parse(text).map_err(|error| self.invalid_answer(&error.to_string()))
    }
}
