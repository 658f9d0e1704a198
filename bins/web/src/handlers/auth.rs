//! Logging in and out: Wikimedia OAuth 2.0 (identity only, PKCE S256 and state, the user keyed
//! by the central id `sub`; the access token is used once for the profile and dropped), or in
//! development mode a form that asks only for a user name.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;

use wikiscriptsync_core::mw::oauth::verify_state;

use crate::config::Mode;
use crate::error::{AppError, AppResult};
use crate::session::{MaybeSession, OAUTH_LIFETIME, PendingOAuth, Session};
use crate::state::SharedState;
use crate::views::Layout;

use super::{record_usage, render};

/// The central-id prefix of development users, so they never collide with OAuth users.
pub const DEV_CENTRAL_ID_PREFIX: &str = "dev:";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    dev: bool,
    oauth: bool,
}

/// `GET /login`: the login page (a session with a form nonce is started for the login form).
pub async fn login_page(
    State(state): State<SharedState>,
    MaybeSession(session): MaybeSession,
) -> AppResult<Response> {
    if session.as_ref().and_then(Session::user).is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let session = match session {
        Some(session) => session,
        None => Session::anonymous(Utc::now())?,
    };
    let page = LoginPage {
        layout: Layout::anonymous(&state, &session.nonce, "Log in"),
        dev: state.mode == Mode::Development,
        oauth: state.oauth.is_some(),
    };
    Ok((session.to_cookie(&state)?, render(&page)?).into_response())
}

/// `GET /login/oauth`: to Wikimedia's authorize page, remembering state and verifier.
pub async fn oauth_start(
    State(state): State<SharedState>,
    MaybeSession(session): MaybeSession,
) -> AppResult<Response> {
    let oauth = state.oauth.as_ref().ok_or(AppError::NotFound)?;
    let request = oauth
        .authorize()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let now = Utc::now();
    let mut session = match session {
        Some(session) => session,
        None => Session::anonymous(now)?,
    };
    session.oauth = Some(PendingOAuth {
        state: request.state,
        verifier: secrecy::ExposeSecret::expose_secret(&request.verifier).to_owned(),
        expires: (now + OAUTH_LIFETIME).timestamp(),
    });
    Ok((
        session.to_cookie(&state)?,
        Redirect::to(request.url.as_str()),
    )
        .into_response())
}

/// The callback's query.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /oauth/callback`: check the state, exchange the code, read the profile, log in.
pub async fn oauth_callback(
    State(state): State<SharedState>,
    MaybeSession(session): MaybeSession,
    Query(callback): Query<Callback>,
) -> AppResult<Response> {
    let oauth = state.oauth.as_ref().ok_or(AppError::NotFound)?;
    if let Some(error) = callback.error {
        return Err(AppError::BadRequest(format!(
            "The login was not completed ({error}). Log in again if you want to."
        )));
    }
    let restart = || {
        AppError::BadRequest(
            "This login link has expired or was not started here; log in again.".into(),
        )
    };
    let pending = session
        .and_then(|s| s.oauth)
        .filter(|p| p.expires > Utc::now().timestamp())
        .ok_or_else(restart)?;
    let (Some(code), Some(returned)) = (callback.code, callback.state) else {
        return Err(restart());
    };
    verify_state(&pending.state, &returned).map_err(|_| restart())?;
    let verifier = SecretString::from(pending.verifier);
    let token = oauth
        .exchange_code(&code, &verifier)
        .await
        .map_err(|e| AppError::BadRequest(format!("Wikimedia did not confirm the login: {e}")))?;
    let profile = oauth
        .profile(&token)
        .await
        .map_err(|e| AppError::BadRequest(format!("Wikimedia did not confirm the login: {e}")))?;
    drop(token);
    let username = profile.username.ok_or_else(|| {
        AppError::Forbidden("This Wikimedia account is hidden and cannot log in.".into())
    })?;
    let now = Utc::now();
    let user = state.app.log_in(&profile.sub, &username).await?;
    record_usage(&state, "login");
    let session = Session::logged_in(user.id, &user.username, now)?;
    Ok((session.to_cookie(&state)?, Redirect::to("/")).into_response())
}

/// The development login form.
#[derive(Debug, Deserialize)]
pub struct DevLogin {
    username: String,
}

/// `POST /login/dev`: development mode only; logs in as the user name typed.
pub async fn dev_login(
    State(state): State<SharedState>,
    Form(form): Form<DevLogin>,
) -> AppResult<Response> {
    if state.mode != Mode::Development {
        return Err(AppError::NotFound);
    }
    let username = form.username.trim();
    let central_id = format!("{DEV_CENTRAL_ID_PREFIX}{username}");
    // A refused name is a 400 page (the login form has nothing else to keep).
    let user = state.app.log_in(&central_id, username).await?;
    record_usage(&state, "login");
    let session = Session::logged_in(user.id, &user.username, Utc::now())?;
    Ok((session.to_cookie(&state)?, Redirect::to("/")).into_response())
}

/// `POST /logout`.
pub async fn logout(State(state): State<SharedState>) -> Response {
    (Session::cleared(&state), Redirect::to("/login")).into_response()
}
