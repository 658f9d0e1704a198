//! The session: an encrypted, authenticated cookie (`__Host-session`, AES-GCM through
//! `PrivateCookieJar`) holding a per-session form nonce, during an OAuth login the state and
//! PKCE verifier, and after a login the id of a session kept on the server. A request is
//! logged in only while the core says that server-side session is live
//! (`App::session_user`), so a logout or "log out everywhere" ends it even for a copied
//! cookie; the user's name and central id are read from the store on each request.
//!
//! Every POST must carry the session's nonce in its `csrf` form field ([`require_form_nonce`]),
//! on top of tower-http's `CsrfLayer` (Origin / Sec-Fetch-Site); forms get it from the page.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, IntoResponseParts, Redirect, Response, ResponseParts};
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use wikiscriptsync_core::store::UserId;

use crate::config::Mode;
use crate::error::AppError;
use crate::state::{AppState, SharedState};
use crate::views::Layout;

/// The cookie's name. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const COOKIE_NAME: &str = "__Host-session";

/// The form field every POST carries.
pub const NONCE_FIELD: &str = "csrf";

/// How long a login lasts (the server-side session's lifetime, see the core).
pub const SESSION_LIFETIME: Duration = wikiscriptsync_core::app::users::SESSION_LIFETIME;

/// How long an OAuth round trip may take.
pub const OAUTH_LIFETIME: Duration = Duration::minutes(10);

/// The largest POST body the nonce check reads (forms are small; the limit layer is larger).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A login in progress: what the callback must see again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingOAuth {
    /// The `state` sent to the authorize endpoint.
    pub state: String,
    /// The PKCE verifier (secret; lives only in the encrypted cookie).
    pub verifier: String,
    /// When the attempt expires.
    pub expires: i64,
}

/// What the cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The logged-in user, if any (a hint for the dashboard cache; the login itself is
    /// `session`).
    pub user: Option<i64>,
    /// The server-side session's id when logged in.
    #[serde(default)]
    pub session: Option<String>,
    /// The form nonce.
    pub nonce: String,
    /// When the session expires (seconds since the epoch).
    pub expires: i64,
    /// An OAuth login in progress.
    #[serde(default)]
    pub oauth: Option<PendingOAuth>,
}

impl Session {
    /// A fresh anonymous session with a new nonce.
    pub fn anonymous(now: DateTime<Utc>) -> Result<Self, AppError> {
        Ok(Self {
            user: None,
            session: None,
            nonce: random_token()?,
            expires: (now + SESSION_LIFETIME).timestamp(),
            oauth: None,
        })
    }

    /// A fresh logged-in session of `user` with the server-side session `session` (new nonce:
    /// the login rotates it).
    pub fn logged_in(user: UserId, session: String, now: DateTime<Utc>) -> Result<Self, AppError> {
        Ok(Self {
            user: Some(user.0),
            session: Some(session),
            ..Self::anonymous(now)?
        })
    }

    /// The logged-in user, when the server-side session is still live.
    pub async fn user(&self, state: &AppState) -> Result<Option<CurrentUser>, AppError> {
        let Some(id) = &self.session else {
            return Ok(None);
        };
        let Some(user) = state.app.session_user(id).await? else {
            return Ok(None);
        };
        Ok(Some(CurrentUser {
            id: user.id,
            username: user.username,
            central_id: user.central_id,
            session: id.clone(),
            nonce: self.nonce.clone(),
        }))
    }

    /// Reads the session from the request's cookies; `None` when absent, tampered with or
    /// expired.
    pub fn from_parts(parts: &Parts, key: &Key) -> Option<Self> {
        let jar = PrivateCookieJar::from_headers(&parts.headers, key.clone());
        let session: Self = serde_json::from_str(jar.get(COOKIE_NAME)?.value()).ok()?;
        (session.expires > Utc::now().timestamp()).then_some(session)
    }

    /// The `Set-Cookie` that stores this session.
    pub fn to_cookie(&self, state: &AppState) -> Result<SetSession, AppError> {
        let value = serde_json::to_string(self)
            .map_err(|e| AppError::Internal(format!("cannot encode the session: {e}")))?;
        let cookie = Cookie::build((COOKIE_NAME, value))
            .path("/")
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(time_duration(SESSION_LIFETIME))
            .build();
        Ok(SetSession(
            PrivateCookieJar::new(state.cookie_key.clone()).add(cookie),
        ))
    }

    /// A `Set-Cookie` that deletes the session.
    pub fn cleared(state: &AppState) -> SetSession {
        // A jar only emits a removal for cookies it read, so send an expired one instead.
        let cookie = Cookie::build((COOKIE_NAME, ""))
            .path("/")
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::ZERO)
            .build();
        SetSession(PrivateCookieJar::new(state.cookie_key.clone()).add(cookie))
    }
}

fn time_duration(duration: Duration) -> time::Duration {
    time::Duration::seconds(duration.num_seconds())
}

/// A session cookie to send with a response.
#[derive(Debug)]
pub struct SetSession(PrivateCookieJar);

impl IntoResponseParts for SetSession {
    type Error = <PrivateCookieJar as IntoResponseParts>::Error;

    fn into_response_parts(self, res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        self.0.into_response_parts(res)
    }
}

/// A random URL-safe token (24 bytes).
pub fn random_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|_| AppError::Internal("the system random source failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The logged-in user, as an extractor: logged-out requests are sent to the login page.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Their row id: every store call is scoped by it.
    pub id: UserId,
    /// Their user name (as of their last login).
    pub username: String,
    /// Their central id (OAuth `sub`): what administrators are known by.
    pub central_id: String,
    /// The server-side session this request belongs to.
    pub session: String,
    /// The form nonce to put in every form.
    pub nonce: String,
}

impl FromRequestParts<SharedState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Response> {
        let Some(session) = Session::from_parts(parts, &state.cookie_key) else {
            return Err(Redirect::to("/login").into_response());
        };
        match session.user(state).await {
            Ok(Some(user)) => Ok(user),
            // Ended or expired on the server: that cookie is of no use any more.
            Ok(None) if session.session.is_some() => {
                Err((Session::cleared(state), Redirect::to("/login")).into_response())
            }
            // An anonymous session keeps its cookie (its nonce serves the login form).
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(err) => Err(err.into_response()),
        }
    }
}

/// The session if there is one, as an extractor (never rejects).
#[derive(Debug, Clone)]
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<SharedState> for MaybeSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self(Session::from_parts(parts, &state.cookie_key)))
    }
}

/// Middleware: a POST must carry the session's nonce in its `csrf` form field, else 403.
pub async fn require_form_nonce(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // Read before the page takes a slot (see `app`), so a slow sender holds none, and bounded
    // in time so it holds its connection only so long.
    let bytes =
        match tokio::time::timeout(state.body_read_timeout, to_bytes(body, MAX_FORM_BYTES)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response();
            }
            Err(_) => {
                return (
                    StatusCode::REQUEST_TIMEOUT,
                    "the form did not arrive in time; send it again",
                )
                    .into_response();
            }
        };
    let session = Session::from_parts(&parts, &state.cookie_key);
    let expected = session.as_ref().map(|s| s.nonce.clone());
    let given = url::form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == NONCE_FIELD)
        .map(|(_, value)| value.into_owned());
    let valid = match (is_form, expected, given) {
        (true, Some(expected), Some(given)) => constant_time_eq(&expected, &given),
        _ => false,
    };
    if !valid {
        return AppError::Forbidden(
            "this form is out of date or did not come from this site (your session may have \
             expired); reload the page and send it again"
                .into(),
        )
        .into_response();
    }
    // Whatever this request changes, the user's dashboard must show it at once.
    let _changing = session
        .and_then(|s| s.user)
        .map(|id| state.dashboards.changing(UserId(id)));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Layout {
    /// The layout for a logged-in user (here, beside the session it is built from, so the
    /// views need not know the session).
    pub fn user(state: &AppState, user: &CurrentUser, title: impl Into<String>) -> Self {
        Self {
            dev: state.mode == Mode::Development,
            username: Some(user.username.clone()),
            nonce: user.nonce.clone(),
            admin: state.is_admin(&user.central_id),
            title: title.into(),
        }
    }
}
