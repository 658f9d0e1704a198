//! Reading the Action API's JSON answers (`formatversion=2`): typed field access, user info,
//! a revision's main slot, and the session-side bookkeeping every operation shares (caching
//! the CSRF token an answer carries, naming an answer that is not shaped as documented).

use secrecy::SecretString;
use serde_json::Value;

use crate::api::{BlockExpiry, BlockInfo, UserInfo};
use crate::client::Session;
use crate::error::Error;

/// A string field.
pub(crate) fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// An unsigned integer field.
pub(crate) fn u64_field(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

/// A `formatversion=2` boolean: `true` when present and true, else `false`.
pub(crate) fn bool_field(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The strings of an array field (empty when absent).
pub(crate) fn string_list(value: Option<&Value>) -> Vec<String> {
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

/// `meta=userinfo` with `uiprop=rights|groups|blockinfo`.
pub(crate) fn parse_user_info(info: &Value) -> UserInfo {
    let block = info.get("blockid").map(|_| BlockInfo {
        id: u64_field(info, "blockid"),
        by: str_field(info, "blockedby"),
        reason: str_field(info, "blockreason"),
        expiry: str_field(info, "blockexpiry").and_then(|e| BlockExpiry::parse(&e)),
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
pub(crate) fn revision_slot(revision: &Value) -> (Option<String>, Option<String>) {
    let slot = revision.pointer("/slots/main").unwrap_or(revision);
    (str_field(slot, "contentmodel"), str_field(slot, "content"))
}

impl Session {
    /// Caches the CSRF token an answer to `meta=tokens` carries.
    pub(crate) fn absorb_tokens(&self, answer: &Value) {
        if let Some(token) = answer
            .pointer("/query/tokens/csrftoken")
            .and_then(Value::as_str)
        {
            self.cache_csrf(SecretString::from(token.to_owned()));
        }
    }

    /// An answer that is not shaped as the API documents.
    pub(crate) fn invalid_answer(&self, detail: &str) -> Error {
        Error::InvalidResponse {
            wiki: self.host().to_owned(),
            detail: detail.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::timestamp::Timestamp;

    #[test]
    fn a_blocks_expiry_is_never_a_time_or_unknown() {
        let expiry = |value: Value| {
            parse_user_info(&json!({"id": 1, "name": "U", "blockid": 7, "blockexpiry": value}))
                .block
                .and_then(|block| block.expiry)
        };
        assert_eq!(expiry(json!("infinite")), Some(BlockExpiry::Never));
        assert_eq!(
            expiry(json!("2031-07-04T09:08:07Z")),
            Some(BlockExpiry::At(
                Timestamp::parse("2031-07-04T09:08:07Z").unwrap()
            ))
        );
        assert_eq!(expiry(json!("tomorrow")), None);
        assert_eq!(expiry(json!(17)), None);
    }
}
