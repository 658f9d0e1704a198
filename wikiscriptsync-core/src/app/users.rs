//! Who acts: users logging in to the web app (by OAuth central id, or by name in development
//! mode), their web sessions, and the CLI's local users.
//!
//! A web session lives on the server: [`App::start_session`] stores a random id that the web
//! app keeps in its encrypted cookie, and every request asks [`App::session_user`] whether that
//! id still names a live session. So a logout ([`App::log_out`]) or a revocation of all of a
//! user's sessions ([`App::log_out_everywhere`]) takes effect at once, even for a copied cookie.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};

use super::{App, Field, UseCaseError, UseCaseResult};
use crate::mw::oauth::Profile;
use crate::setup::CLI_USER_PREFIX;
use crate::store::{User, UserId};

/// The longest user name accepted.
pub const MAX_USERNAME_CHARS: usize = 85;

/// How long a web login lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// Random bytes in a session id (base64url: 43 characters).
const SESSION_ID_BYTES: usize = 32;

impl App {
    /// Records an OAuth login from the profile Wikimedia confirmed: refused for a hidden
    /// account (no user name) and for a blocked one; else as [`App::log_in`] by `sub`.
    pub async fn log_in_oauth(&self, profile: &Profile) -> UseCaseResult<User> {
        let username = profile.username.as_deref().ok_or_else(|| {
            UseCaseError::Forbidden("This Wikimedia account is hidden and cannot log in.".into())
        })?;
        if profile.blocked {
            return Err(UseCaseError::Forbidden(
                "This Wikimedia account is blocked, so it cannot log in to publish to the wikis."
                    .into(),
            ));
        }
        self.log_in(&profile.sub, username).await
    }

    /// Starts a web session of `user`, valid for [`SESSION_LIFETIME`]: its random id, for the
    /// session cookie.
    pub async fn start_session(&self, user: UserId) -> UseCaseResult<String> {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|_| UseCaseError::Internal("the system random source failed".to_owned()))?;
        let id = URL_SAFE_NO_PAD.encode(bytes);
        let now = Utc::now();
        self.store
            .create_session(&id, user, now, now + SESSION_LIFETIME)
            .await?;
        Ok(id)
    }

    /// The user of web session `id`, `None` when it was ended, has expired or never existed
    /// (every request of a logged-in user is checked here).
    pub async fn session_user(&self, id: &str) -> UseCaseResult<Option<User>> {
        Ok(self.store.session_user(id, Utc::now()).await?)
    }

    /// Ends web session `id` (a logout): its cookie, even a copy, no longer logs anyone in.
    pub async fn log_out(&self, id: &str) -> UseCaseResult<()> {
        self.store.end_session(id).await?;
        Ok(())
    }

    /// Ends every web session of `user` ("log out everywhere"); how many there were.
    pub async fn log_out_everywhere(&self, user: UserId) -> UseCaseResult<u64> {
        Ok(self.store.end_user_sessions(user).await?)
    }

    /// Records a login: the user with this central id (OAuth `sub`), created on first login,
    /// renamed when the user name changed.
    pub async fn log_in(&self, central_id: &str, username: &str) -> UseCaseResult<User> {
        let username = check_user_name(username)?;
        Ok(self
            .store
            .upsert_user(central_id, username, Utc::now())
            .await?)
    }

    /// A user by row id (a session's user), `None` when deleted.
    pub async fn user(&self, id: UserId) -> UseCaseResult<Option<User>> {
        Ok(self.store.user(id).await?)
    }

    /// The CLI's user named `name`: the existing user of that name, else — when `create` — the
    /// local user `cli:<name>`. Without `create` an unknown name is refused (listing and
    /// removing never create anyone).
    pub async fn cli_user(&self, name: &str, create: bool) -> UseCaseResult<User> {
        let name = check_user_name(name)?;
        if name.contains(['@', '/', ':']) {
            return Err(UseCaseError::invalid(
                Field::User,
                format!(
                    "`{name}` is not a user name: give the plain Wikimedia user name, e.g. Alice"
                ),
            ));
        }
        if let Some(user) = self.store.user_by_name(name).await? {
            return Ok(user);
        }
        if create {
            return Ok(self
                .store
                .upsert_user(&format!("{CLI_USER_PREFIX}{name}"), name, Utc::now())
                .await?);
        }
        Err(UseCaseError::invalid(
            Field::User,
            format!("There is no user `{name}` yet: add something for them first."),
        ))
    }
}

/// A user name: 1 to [`MAX_USERNAME_CHARS`] characters, no control characters.
fn check_user_name(name: &str) -> UseCaseResult<&str> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_USERNAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(UseCaseError::invalid(
            Field::User,
            format!("Type a user name of 1 to {MAX_USERNAME_CHARS} characters."),
        ));
    }
    Ok(name)
}
