//! Owner-only OAuth 2.0 tokens on the fake wiki, and the 2026 re-authentication refusal.
//!
//! A request whose `Authorization` header starts with `Bearer` is an OAuth request, as the
//! OAuth extension's `ResourceServer::isOAuth2Request` decides. A token the fake does not know
//! (never added, revoked, or issued elsewhere) is answered as the extension answers a token
//! that fails verification: HTTP 200, the header `MediaWiki-API-Error:
//! mwoauth-invalid-authorization` and the error `mwoauth-invalid-authorization` ("The
//! authorization headers in your request are not valid: Invalid access token"); a token
//! limited to another wiki gets `mwoauth-invalid-authorization-wrong-wiki`
//! (`SessionProvider::provideSessionInfo` → `makeException`, thrown from `ApiBeforeMain` as an
//! `ApiUsageException` without an HTTP code). A known token acts as its user with the rights
//! of the user's groups that its grants carry (plus the implicit `basic` grant).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::FakeWiki;
use super::state::State;
use crate::credential::CredentialKind;
use crate::grants::rights_of_grants;
use crate::title::{ContentModel, Namespace, Title, upper_first};

/// A user's group rights on the fake when no [`super::FakeAccount`] of that user says otherwise
/// (MediaWiki's default `user` and `autoconfirmed` groups, in part).
const DEFAULT_USER_RIGHTS: &[&str] = &[
    "read",
    "edit",
    "minoredit",
    "createpage",
    "createtalk",
    "writeapi",
    "editmyusercss",
    "editmyuserjs",
    "editmyuserjson",
    "editmyoptions",
    "purge",
    "move",
    "autoconfirmed",
];

/// An access token the fake has issued.
#[derive(Debug, Clone)]
pub(super) struct FakeToken {
    user: String,
    grants: Vec<String>,
    revoked: bool,
    wiki: Option<String>,
}

/// Who the current request acts as, when it carried a valid Bearer token.
#[derive(Debug, Clone)]
pub(super) struct Bearer {
    pub(super) user: String,
    pub(super) rights: Vec<String>,
}

impl Bearer {
    /// The CSRF token of a token session (stable per user; never the access token).
    pub(super) fn csrf(&self) -> String {
        format!("oauth{}+\\", super::state::sha1_hex(&self.user))
    }
}

impl FakeWiki {
    /// Issues an owner-only OAuth 2.0 access token acting as `user` with `grants` (the
    /// implicit `basic` grant is added). The session's rights are the user's group rights —
    /// those of a [`super::FakeAccount`] of that user when one was added, else a registered
    /// user's — that the grants carry, per MediaWiki's grant table.
    pub fn add_owner_only_token(&self, token: &str, user: &str, grants: &[&str]) {
        self.lock().tokens.insert(
            token.to_owned(),
            FakeToken {
                user: user.to_owned(),
                grants: grants.iter().map(|g| (*g).to_owned()).collect(),
                revoked: false,
                wiki: None,
            },
        );
    }

    /// Revokes a token (as resetting the consumer's secret does): it is answered as invalid.
    pub fn revoke_token(&self, token: &str) {
        if let Some(token) = self.lock().tokens.get_mut(token) {
            token.revoked = true;
        }
    }

    /// Limits a token to the wiki `wiki_id` (a consumer for one project); on the fake, whose
    /// id is `fakewiki` unless [`FakeWiki::set_site_name`] changed it, another id makes every
    /// request with it answered `mwoauth-invalid-authorization-wrong-wiki`.
    pub fn limit_token_to_wiki(&self, token: &str, wiki_id: &str) {
        if let Some(token) = self.lock().tokens.get_mut(token) {
            token.wiki = Some(wiki_id.to_owned());
        }
    }

    /// Refuses edits of site JS/CSS/JSON and of other users' JS/CSS/JSON by sessions of
    /// `kind` with the API error `reauthenticate`, as Wikimedia started doing in 2026 for
    /// sessions that did not log in recently.
    pub fn refuse_sensitive_edits(&self, kind: CredentialKind) {
        self.lock().refuse_sensitive.insert(kind);
    }

    /// Accepts such edits again from sessions of `kind`.
    pub fn allow_sensitive_edits(&self, kind: CredentialKind) {
        self.lock().refuse_sensitive.remove(&kind);
    }
}

/// Whether a request carried an OAuth 2.0 Bearer header.
pub(super) fn is_bearer(authorization: Option<&str>) -> bool {
    authorization.is_some_and(|value| value.starts_with("Bearer"))
}

/// The Bearer session of a request, `Ok(None)` without a Bearer header, or the answer the
/// OAuth extension gives a token it refuses.
pub(super) fn authorize(
    state: &State,
    authorization: Option<&str>,
) -> Result<Option<Bearer>, Box<ResponseTemplate>> {
    if !is_bearer(authorization) {
        return Ok(None);
    }
    let presented = authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim();
    let Some(token) = state.tokens.get(presented).filter(|t| !t.revoked) else {
        return Err(refusal(
            "mwoauth-invalid-authorization",
            "The authorization headers in your request are not valid: Invalid access token",
        ));
    };
    let wiki_id = &state.site.wiki_id;
    if token.wiki.as_ref().is_some_and(|wiki| wiki != wiki_id) {
        return Err(refusal(
            "mwoauth-invalid-authorization-wrong-wiki",
            &format!("The authorization headers in your request are not valid for {wiki_id}"),
        ));
    }
    let groups: Vec<String> = match state
        .accounts
        .values()
        .find(|a| a.user_name() == token.user)
    {
        Some(account) => account.rights.clone(),
        None => DEFAULT_USER_RIGHTS
            .iter()
            .map(|r| (*r).to_owned())
            .collect(),
    };
    let granted: BTreeSet<&str> =
        rights_of_grants(token.grants.iter().map(String::as_str).chain(["basic"]));
    Ok(Some(Bearer {
        user: token.user.clone(),
        rights: groups
            .into_iter()
            .filter(|r| granted.contains(r.as_str()))
            .collect(),
    }))
}

fn refusal(code: &str, text: &str) -> Box<ResponseTemplate> {
    let body: Value = json!({
        "errors": [{"code": code, "text": text, "module": "main"}],
        "docref": "See https://fake.invalid/w/api.php for API usage.",
        "servedby": "fakewiki"
    });
    Box::new(
        ResponseTemplate::new(200)
            .insert_header("mediawiki-api-error", code)
            .set_body_json(body),
    )
}

/// The `reauthenticate` refusal when `kind`'s sensitive edits are refused and `title` is one.
pub(super) fn reauthentication(
    state: &State,
    kind: CredentialKind,
    title: &Title,
    acting_user: &str,
) -> Option<Value> {
    if !state.refuse_sensitive.contains(&kind) || !is_sensitive(title, acting_user) {
        return None;
    }
    Some(super::respond::api_error(
        "reauthenticate",
        "You have not authenticated recently in this session, please reauthenticate.",
    ))
}

/// Site JS/CSS/JSON, or another user's JS/CSS/JSON.
fn is_sensitive(title: &Title, acting_user: &str) -> bool {
    let script = matches!(
        title.implied_content_model(),
        Some(ContentModel::JavaScript | ContentModel::Css | ContentModel::Json)
    );
    match title.namespace() {
        Namespace::MediaWiki => script,
        Namespace::User => {
            script
                && upper_first(title.owner().unwrap_or_default()) != upper_first(acting_user.trim())
        }
        _ => false,
    }
}
