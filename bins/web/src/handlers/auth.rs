//! Logging in and out: Wikimedia OAuth 2.0 (identity only, PKCE S256 and state, the user keyed
//! by the central id `sub`; the access token is used once for the profile and dropped), or in
//! development mode a form that asks only for a user name. A login starts a session on the
//! server; logging out ends it, and "log out everywhere" ends every session of the user.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;

use wikiscriptsync_core::mw::oauth::verify_state;
use wikiscriptsync_core::store::UserId;

use crate::config::Mode;
use crate::error::{AppError, AppResult};
use crate::session::{CurrentUser, MaybeSession, OAUTH_LIFETIME, PendingOAuth, Session};
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
    if let Some(session) = &session
        && session.user(&state).await?.is_some()
    {
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
    // Hidden and blocked accounts are refused there.
    let user = state.app.log_in_oauth(&profile).await?;
    start_session(&state, user.id).await
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
    start_session(&state, user.id).await
}

/// Starts the server-side session of a user who just logged in, and its cookie.
async fn start_session(state: &SharedState, user: UserId) -> AppResult<Response> {
    let id = state.app.start_session(user).await?;
    record_usage(state, "login");
    let session = Session::logged_in(user, id, Utc::now())?;
    Ok((session.to_cookie(state)?, Redirect::to("/")).into_response())
}

/// `POST /logout`: ends this session on the server (a copy of its cookie no longer works).
pub async fn logout(
    State(state): State<SharedState>,
    MaybeSession(session): MaybeSession,
) -> AppResult<Response> {
    if let Some(id) = session.and_then(|s| s.session) {
        state.app.log_out(&id).await?;
    }
    Ok((Session::cleared(&state), Redirect::to("/login")).into_response())
}

/// `POST /logout/everywhere`: ends every session of the user, on every device.
pub async fn logout_everywhere(
    State(state): State<SharedState>,
    user: CurrentUser,
) -> AppResult<Response> {
    state.app.log_out_everywhere(user.id).await?;
    Ok((Session::cleared(&state), Redirect::to("/login")).into_response())
}
