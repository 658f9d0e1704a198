//! Logging a session in with a BotPassword (login token, then `action=login` with the
//! password and token in the POST body) and fetching the CSRF token edits need.

use secrecy::SecretString;
use serde_json::Value;

use super::{Method, Session};
use crate::error::{Error, LoginError};

impl Session {
    /// `action=query&meta=tokens&type=login`, then `action=login` with the password and token
    /// in the POST body. Clears cached tokens and rights.
    pub(super) async fn log_in(&self) -> Result<(), Error> {
        let Some(credentials) = &self.credentials else {
            return Ok(());
        };
        let user = credentials.login_name().to_owned();
        let answer = self
            .call(
                Method::Get,
                &[
                    ("action", "query".into()),
                    ("meta", "tokens".into()),
                    ("type", "login".into()),
                ],
                &[],
                false,
            )
            .await
            .map_err(|e| self.to_error(e))?;
        let token = answer
            .pointer("/query/tokens/logintoken")
            .and_then(Value::as_str)
            .map(|t| SecretString::from(t.to_owned()))
            .ok_or_else(|| self.invalid("no login token in the answer"))?;
        let answer = self
            .call(
                Method::Post,
                &[("action", "login".into()), ("lgname", user.clone())],
                &[("lgpassword", credentials.password()), ("lgtoken", &token)],
                false,
            )
            .await
            .map_err(|e| self.to_error(e))?;
        let login = answer
            .get("login")
            .ok_or_else(|| self.invalid("no `login` object in the login answer"))?;
        let result = login
            .get("result")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match result {
            "Success" => {
                let name = login
                    .get("lgusername")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| credentials.user_name())
                    .to_owned();
                tracing::info!(wiki = %self.host, user = %name, "logged in");
                let mut state = self.lock_state();
                state.user = Some(name);
                state.csrf = None;
                state.user_info = None;
                Ok(())
            }
            "Failed" => {
                let (code, text) = login_reason(login);
                tracing::warn!(wiki = %self.host, user = %user, reason = %code, "login failed");
                Err(match code.as_str() {
                    "wrongpassword" | "wrongpasswordempty" | "nosuchuser" => {
                        LoginError::WrongPassword { user }
                    }
                    "login-throttled" => LoginError::Throttled { user },
                    "botpasswords-needs-reset" => LoginError::NeedsReset { user },
                    "botpasswords-locked" => LoginError::Locked { user },
                    "sessionlost" => LoginError::SessionLost { user },
                    _ => LoginError::Failed { user, code, text },
                }
                .into())
            }
            "Throttled" => Err(LoginError::Throttled { user }.into()),
            "WrongToken" => Err(LoginError::WrongToken { user }.into()),
            "NeedToken" => Err(LoginError::NeedToken { user }.into()),
            "Aborted" => {
                let (code, text) = login_reason(login);
                tracing::warn!(wiki = %self.host, user = %user, reason = %code, "login aborted");
                Err(if code == "api-login-fail-aborted" {
                    LoginError::NeedsBotPassword { user }
                } else {
                    LoginError::Aborted { user, text }
                }
                .into())
            }
            other => Err(LoginError::Unexpected {
                user,
                result: other.to_owned(),
            }
            .into()),
        }
    }

    /// The cached CSRF token, or a fresh one (1 request).
    pub(super) async fn csrf_token(&self) -> Result<SecretString, Error> {
        if let Some(token) = self.lock_state().csrf.clone() {
            return Ok(token);
        }
        let answer = self
            .call(
                Method::Get,
                &[
                    ("action", "query".into()),
                    ("meta", "tokens".into()),
                    ("type", "csrf".into()),
                ],
                &[],
                true,
            )
            .await
            .map_err(|e| self.to_error(e))?;
        let token = answer
            .pointer("/query/tokens/csrftoken")
            .and_then(Value::as_str)
            .map(|t| SecretString::from(t.to_owned()))
            .ok_or_else(|| self.invalid("no CSRF token in the answer"))?;
        self.cache_csrf(token.clone());
        Ok(token)
    }
}

/// The `reason` of a failed login: `(code, text)`, from an object or a bare string.
fn login_reason(login: &Value) -> (String, String) {
    match login.get("reason") {
        Some(Value::Object(reason)) => (
            reason
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            reason
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        Some(Value::String(text)) => (String::new(), text.clone()),
        _ => (String::new(), String::new()),
    }
}
