//! Who acts: users logging in to the web app (by OAuth central id, or by name in development
//! mode) and the CLI's local users.

use chrono::Utc;

use super::{App, Field, UseCaseError, UseCaseResult};
use crate::setup::CLI_USER_PREFIX;
use crate::store::{User, UserId};

/// The longest user name accepted.
pub const MAX_USERNAME_CHARS: usize = 85;

impl App {
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
