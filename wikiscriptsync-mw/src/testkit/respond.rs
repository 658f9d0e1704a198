//! Answering one request: parsing it into a [`Call`] with its session, playing a scripted fault
//! if one is due, recording it, and dispatching on `action` to the handlers.

use super::edit::{edit, flow};
use super::login::login;
use super::query::query;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::state::{State, normalize_title};
use super::tokens;
use super::{ANON_RIGHTS, FakeAccount, Fault, RecordedRequest, SESSION_COOKIE};

pub(super) fn api_error(code: &str, text: &str) -> Value {
    json!({"errors": [{"code": code, "text": text, "module": "main"}], "docref": "See the fake."})
}

pub(super) fn ok(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

pub(super) struct Responder(pub(super) Arc<Mutex<State>>);

/// The parsed request and the session it belongs to.
pub(super) struct Call {
    pub(super) params: HashMap<String, String>,
    pub(super) post: bool,
    pub(super) session_id: Option<String>,
}

impl Call {
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    pub(super) fn flag(&self, key: &str) -> bool {
        self.params.contains_key(key)
    }

    pub(super) fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| v.split('|').map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let body: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let params: HashMap<String, String> = query.iter().chain(&body).cloned().collect();
        let action = params.get("action").cloned().unwrap_or_default();
        let authorization = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        state.requests.push(RecordedRequest {
            method: request.method.to_string(),
            action: action.clone(),
            query,
            body,
            user_agent: request
                .headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            headers: request
                .headers
                .iter()
                .filter(|(k, _)| k.as_str() != "authorization")
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
                .collect(),
            bearer: tokens::is_bearer(authorization),
        });
        state.bearer = match tokens::authorize(&state, authorization) {
            Ok(bearer) => bearer,
            Err(refusal) => return *refusal,
        };
        let session_id = request
            .headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.to_owned())
            .filter(|id| state.sessions.contains_key(id));
        let call = Call {
            params,
            post: request.method.as_str() == "POST",
            session_id,
        };

        let mut delay = None;
        let mut racing = None;
        if let Some(fault) = take_fault(&mut state, &action) {
            match fault {
                Fault::Delay(d) => delay = Some(d),
                Fault::RacingEdit {
                    title,
                    text,
                    user,
                    comment,
                } => racing = Some((title, text, user, comment)),
                other => return fault_response(&other),
            }
        }
        let response = handle(&mut state, &call, &action);
        if let Some((title, text, user, comment)) = racing {
            let title = normalize_title(&title).unwrap_or(title);
            state.deleted.remove(&title);
            state.store_revision(&title, &text, &user, &comment, None);
        }
        match delay {
            Some(d) => response.set_delay(d),
            None => response,
        }
    }
}

pub(super) fn take_fault(state: &mut State, action: &str) -> Option<Fault> {
    let index = state.faults.iter().position(|(only, _, left)| {
        *left > 0 && only.as_deref().is_none_or(|only| only == action)
    })?;
    let entry = &mut state.faults[index];
    entry.2 -= 1;
    let fault = entry.1.clone();
    if entry.2 == 0 {
        state.faults.remove(index);
    }
    Some(fault)
}

pub(super) fn with_retry_after(
    template: ResponseTemplate,
    retry_after: Option<&String>,
) -> ResponseTemplate {
    match retry_after {
        Some(value) => template.insert_header("retry-after", value.as_str()),
        None => template,
    }
}

pub(super) fn fault_response(fault: &Fault) -> ResponseTemplate {
    match fault {
        Fault::Maxlag { retry_after_secs } => ok(&json!({"errors": [{
            "code": "maxlag",
            "text": "Waiting for 10.64.0.1: 7 seconds lagged.",
            "data": {"host": "10.64.0.1", "lag": 7, "type": "db"},
            "module": "main"
        }]}))
        .insert_header("retry-after", retry_after_secs.to_string().as_str())
        .insert_header("x-database-lag", "7"),
        Fault::TooManyRequests { retry_after } => with_retry_after(
            ResponseTemplate::new(429).set_body_string("Too many requests"),
            retry_after.as_ref(),
        ),
        Fault::ServiceUnavailable { retry_after } => with_retry_after(
            ResponseTemplate::new(503).set_body_string("Service Unavailable"),
            retry_after.as_ref(),
        ),
        Fault::ReadOnly => ok(&api_error(
            "readonly",
            "The wiki is currently in read-only mode.",
        )),
        Fault::RateLimited => ok(&api_error(
            "ratelimited",
            "As an anti-abuse measure, you are limited from performing this action too many times.",
        )),
        Fault::BadToken => ok(&api_error("badtoken", "Invalid CSRF token.")),
        Fault::AssertUserFailed => ok(&api_error(
            "assertuserfailed",
            "You are no longer logged in, so the action could not be completed.",
        )),
        Fault::MalformedJson => ResponseTemplate::new(200)
            .set_body_raw("<html><body>Internal error</body></html>", "text/html"),
        Fault::TruncatedJson => ResponseTemplate::new(200).set_body_raw(
            r#"{"batchcomplete":true,"query":{"pages":[{"ti"#,
            "application/json",
        ),
        Fault::HttpStatus(status) => ResponseTemplate::new(*status),
        Fault::Delay(_) | Fault::RacingEdit { .. } => ResponseTemplate::new(200),
    }
}

pub(super) fn handle(state: &mut State, call: &Call, action: &str) -> ResponseTemplate {
    let logged_in_user = match &state.bearer {
        Some(bearer) => Some(bearer.user.clone()),
        None => call
            .session_id
            .as_ref()
            .and_then(|id| state.sessions.get(id))
            .and_then(|s| s.user.clone()),
    };
    if call.get("assert") == Some("user") && logged_in_user.is_none() {
        return ok(&api_error(
            "assertuserfailed",
            "You are no longer logged in, so the action could not be completed.",
        ));
    }
    match action {
        "query" => query(state, call, logged_in_user.as_deref()),
        "login" => login(state, call),
        "edit" => edit(state, call, logged_in_user.as_deref()),
        "flow" => flow(state, call, logged_in_user.as_deref()),
        other => ok(&api_error(
            "badvalue",
            &format!("Unrecognized value for parameter \"action\": {other}."),
        )),
    }
}

pub(super) fn account_for<'a>(state: &'a State, user: Option<&str>) -> Option<&'a FakeAccount> {
    let user = user?;
    state.accounts.values().find(|a| a.user_name() == user)
}

pub(super) fn rights_of(state: &State, user: Option<&str>) -> Vec<String> {
    if let Some(bearer) = &state.bearer {
        return bearer.rights.clone();
    }
    match account_for(state, user) {
        Some(account) => account.rights.clone(),
        None => ANON_RIGHTS.iter().map(|r| (*r).to_owned()).collect(),
    }
}
