//! `action=query`: `meta=tokens|userinfo`, `prop=info|revisions` with the 50/500 title limit,
//! `normalized`/`redirects`/`missing`/`invalid`, `revids`, `curtimestamp`.

use super::respond::{Call, account_for, api_error, ok, rights_of};
use super::state::{namespace_number, sha1_hex, timestamp};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::state::{State, normalize_title};
use super::{ANON_CSRF, ANON_RIGHTS, SESSION_COOKIE};
use crate::title::{ContentModel, Title};

pub(super) fn query(state: &mut State, call: &Call, user: Option<&str>) -> ResponseTemplate {
    let mut answer = json!({"batchcomplete": true});
    let mut query = serde_json::Map::new();
    let mut set_cookie = None;
    let meta = call.list("meta");
    if meta.iter().any(|m| m == "tokens") {
        let kind = call.get("type").unwrap_or("csrf");
        if kind == "login" {
            let token = state.token("login");
            let id = match &call.session_id {
                Some(id) => id.clone(),
                None => {
                    let id = state.token("session").replace("+\\", "");
                    set_cookie = Some(id.clone());
                    id
                }
            };
            state.sessions.entry(id).or_default().login_token = Some(token.clone());
            query.insert("tokens".into(), json!({"logintoken": token}));
        } else if let Some(bearer) = &state.bearer {
            query.insert("tokens".into(), json!({"csrftoken": bearer.csrf()}));
        } else {
            let csrf = match (&call.session_id, user) {
                (Some(id), Some(_)) => state
                    .sessions
                    .get(id)
                    .map_or_else(|| ANON_CSRF.to_owned(), |s| s.csrf.clone()),
                _ => ANON_CSRF.to_owned(),
            };
            query.insert("tokens".into(), json!({"csrftoken": csrf}));
        }
    }
    if meta.iter().any(|m| m == "siteinfo") {
        super::site::siteinfo(&state.site, &call.list("siprop"), &mut query);
    }
    if meta.iter().any(|m| m == "userinfo") {
        let bearer = state.bearer.as_ref().map(
            |b| json!({"id": 900, "name": b.user, "groups": ["*", "user"], "rights": b.rights}),
        );
        let info = match (bearer, account_for(state, user)) {
            (Some(bearer), _) => bearer,
            (None, Some(account)) => {
                let mut info = json!({
                    "id": 1 + state.accounts.keys().position(|k| *k == account.login_name).unwrap_or(0),
                    "name": account.user_name(),
                    "groups": account.groups,
                    "rights": account.rights,
                });
                if let Some(reason) = &account.block_reason {
                    info["blockid"] = json!(7);
                    info["blockedby"] = json!("Sysop");
                    info["blockreason"] = json!(reason);
                    info["blockexpiry"] = json!("infinite");
                    info["blockpartial"] = json!(false);
                }
                info
            }
            (None, None) => json!({"id": 0, "name": "127.0.0.1", "anon": true,
                           "groups": ["*"], "rights": ANON_RIGHTS}),
        };
        query.insert("userinfo".into(), info);
    }
    let titles = call.list("titles");
    let revids = call.list("revids");
    if !titles.is_empty() || !revids.is_empty() {
        let high = rights_of(state, user).iter().any(|r| r == "apihighlimits");
        let limit = if high { 500 } else { 50 };
        if titles.len() > limit {
            return ok(&api_error(
                "toomanyvalues",
                &format!(
                    "Too many values supplied for parameter \"titles\". The limit is {limit}."
                ),
            ));
        }
        let props = call.list("prop");
        let rvprop = call.list("rvprop");
        let want_revisions = props.iter().any(|p| p == "revisions");
        let mut normalized = Vec::new();
        let mut redirects = Vec::new();
        let mut pages = Vec::new();
        let mut bad_revids = Vec::new();
        for requested in &titles {
            let title = match normalize_title(requested) {
                Ok(title) => title,
                Err(err) => {
                    pages.push(json!({"title": requested, "invalid": true,
                        "invalidreason": {"code": "title-invalid", "text": err.to_string()}}));
                    continue;
                }
            };
            if title != *requested {
                normalized.push(json!({"fromencoded": false, "from": requested, "to": title}));
            }
            let mut target = title.clone();
            if call.flag("redirects")
                && let Some(to) = state.redirects.get(&title)
            {
                redirects.push(json!({"from": title, "to": to}));
                target = to.clone();
            }
            pages.push(page_json(state, &target, None, want_revisions, &rvprop));
        }
        for revid in &revids {
            let found = revid.parse::<u64>().ok().and_then(|id| {
                state
                    .pages
                    .values()
                    .find(|p| p.revisions.iter().any(|r| r.id == id))
                    .map(|p| (p.title.clone(), id))
            });
            match found {
                Some((title, id)) => pages.push(page_json(state, &title, Some(id), true, &rvprop)),
                None => bad_revids
                    .push(json!({"revid": revid.parse::<u64>().unwrap_or(0), "missing": true})),
            }
        }
        if !normalized.is_empty() {
            query.insert("normalized".into(), Value::Array(normalized));
        }
        if !redirects.is_empty() {
            query.insert("redirects".into(), Value::Array(redirects));
        }
        if !bad_revids.is_empty() {
            query.insert("badrevids".into(), Value::Array(bad_revids));
        }
        query.insert("pages".into(), Value::Array(pages));
    }
    if call.flag("curtimestamp") {
        answer["curtimestamp"] = json!(timestamp(state.clock));
    }
    answer["query"] = Value::Object(query);
    let response = ok(&answer);
    match set_cookie {
        Some(id) => response.insert_header(
            "set-cookie",
            format!("{SESSION_COOKIE}={id}; path=/; HttpOnly").as_str(),
        ),
        None => response,
    }
}

pub(super) fn page_json(
    state: &State,
    title: &str,
    revision: Option<u64>,
    want_revisions: bool,
    rvprop: &[String],
) -> Value {
    let ns = namespace_number(title);
    let Some(page) = state.pages.get(title) else {
        let model = Title::parse(title)
            .ok()
            .and_then(|t| t.implied_content_model())
            .unwrap_or(ContentModel::Wikitext);
        return json!({"ns": ns, "title": title, "missing": true, "contentmodel": model.as_str()});
    };
    let mut value = json!({
        "pageid": page.id, "ns": ns, "title": page.title,
        "contentmodel": page.content_model.as_str(),
        "lastrevid": page.latest().map_or(0, |r| r.id),
        "length": page.text().len(),
    });
    if want_revisions {
        let rev = match revision {
            Some(id) => page.revisions.iter().find(|r| r.id == id),
            None => page.latest(),
        };
        if let Some(rev) = rev {
            let has = |p: &str| rvprop.iter().any(|x| x == p);
            let mut slot =
                json!({"contentmodel": page.content_model.as_str(), "contentformat": "text/plain"});
            if has("content") {
                slot["content"] = json!(rev.text);
            }
            let mut r = json!({"revid": rev.id, "parentid": 0, "slots": {"main": slot}});
            if has("timestamp") {
                r["timestamp"] = json!(rev.timestamp);
            }
            if has("user") {
                r["user"] = json!(rev.user);
            }
            if has("comment") {
                r["comment"] = json!(rev.comment);
            }
            if has("sha1") {
                r["sha1"] = json!(sha1_hex(&rev.text));
            }
            if has("size") {
                r["size"] = json!(rev.text.len());
            }
            value["revisions"] = json!([r]);
        }
    }
    value
}
