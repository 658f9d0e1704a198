//! `action=login` with a BotPassword: login token, session cookie, scripted login failures; and
//! the CSRF token check every write shares.

use super::respond::{Call, api_error, ok};
use serde_json::json;
use wiremock::ResponseTemplate;

use super::state::State;
use super::{ANON_CSRF, LoginFailure};

pub(super) fn login(state: &mut State, call: &Call) -> ResponseTemplate {
    let failed = |code: &str, text: &str| {
        ok(&json!({"login": {"result": "Failed", "reason": {"code": code, "text": text}}}))
    };
    if !call.post {
        return ok(&api_error(
            "mustbeposted",
            "The \"login\" module requires a POST request.",
        ));
    }
    let name = call.get("lgname").unwrap_or_default().to_owned();
    let Some(token) = call.get("lgtoken") else {
        return ok(&json!({"login": {"result": "NeedToken", "token": "x"}}));
    };
    let Some(id) = call.session_id.clone() else {
        return failed(
            "sessionlost",
            "Unable to continue login. Your session most likely timed out.",
        );
    };
    if state
        .sessions
        .get(&id)
        .and_then(|s| s.login_token.as_deref())
        != Some(token)
    {
        return ok(&json!({"login": {"result": "WrongToken"}}));
    }
    // A main-account login (no `@BotName`) needs two-factor authentication on the fake, as
    // for every interface administrator on Wikimedia: ApiLogin answers `Aborted`.
    if !name.contains('@') {
        return ok(&json!({"login": {"result": "Aborted", "reason": {
            "code": "api-login-fail-aborted",
            "text": "Authentication requires user interaction, which is not supported by action=login. To be able to login with action=login, see Special:BotPasswords. To continue using main-account login, see action=clientlogin."
        }}}));
    }
    let account = state.accounts.get(&name).cloned();
    let Some(account) = account.filter(|a| Some(a.password.as_str()) == call.get("lgpassword"))
    else {
        return failed(
            "wrongpassword",
            "Incorrect username or password entered. Please try again.",
        );
    };
    match account.failure {
        Some(LoginFailure::Throttled) => {
            return failed(
                "login-throttled",
                "You have made too many recent login attempts.",
            );
        }
        Some(LoginFailure::NeedsReset) => {
            return failed(
                "botpasswords-needs-reset",
                "The bot password needs to be reset.",
            );
        }
        Some(LoginFailure::Locked) => {
            return failed(
                "botpasswords-locked",
                "You cannot log in with a bot password.",
            );
        }
        None => {}
    }
    let csrf = state.token("csrf");
    let session = state.sessions.entry(id).or_default();
    session.user = Some(account.user_name().to_owned());
    session.login_token = None;
    session.csrf = csrf;
    ok(&json!({"login": {"result": "Success", "lguserid": 1, "lgusername": account.user_name()}}))
}

pub(super) fn check_token(state: &State, call: &Call, user: Option<&str>) -> bool {
    if let Some(bearer) = &state.bearer {
        return call.post && call.get("token") == Some(bearer.csrf().as_str());
    }
    let expected = match (&call.session_id, user) {
        (Some(id), Some(_)) => state.sessions.get(id).map(|s| s.csrf.as_str()),
        _ => Some(ANON_CSRF),
    };
    call.post && expected.is_some() && call.get("token") == expected
}
