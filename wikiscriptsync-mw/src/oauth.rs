//! Wikimedia OAuth 2.0 for identity only (the web app's login): the authorize URL with PKCE S256
//! and a random state, the code exchange, and the profile. Secrets and tokens are
//! [`SecretString`]s, sent only in POST bodies and `Authorization` headers, never in URLs.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::UserAgent;
use crate::wiki::{AllowList, WikiUrlError};

/// Wikimedia's central OAuth wiki.
pub const DEFAULT_OAUTH_BASE: &str = "https://meta.wikimedia.org";

/// What can go wrong during an OAuth login.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The base URL is not allowed or malformed.
    #[error(transparent)]
    BaseUrl(#[from] WikiUrlError),
    /// The system random source failed.
    #[error("the system random number generator failed; cannot create a safe login state")]
    Random,
    /// The `state` coming back does not match the one we sent (possible CSRF).
    #[error("the login state does not match; start the login again")]
    StateMismatch,
    /// Network trouble or a timeout.
    #[error("could not reach the OAuth server: {0}")]
    Network(String),
    /// The server refused (bad code, wrong secret, expired code, ...).
    #[error("the OAuth server refused ({status}): {error}{}", .description.as_deref().map(|d| format!(" - {d}")).unwrap_or_default())]
    Refused {
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code.
        error: String,
        /// The server's explanation.
        description: Option<String>,
    },
    /// The answer was not what OAuth promises.
    #[error("the OAuth server sent an answer we cannot read: {0}")]
    InvalidResponse(String),
}

/// A registered OAuth 2.0 consumer.
#[derive(Clone)]
pub struct OAuthConfig {
    /// The central wiki (scheme and host), `https://meta.wikimedia.org` by default.
    pub base_url: Url,
    /// The consumer's client id.
    pub client_id: String,
    /// The client secret of a confidential consumer (`None` for public clients).
    pub client_secret: Option<SecretString>,
    /// The registered callback URL.
    pub redirect_uri: String,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// A login in progress: send the user to `url`, keep `state` and `verifier` in their session.
pub struct AuthorizationRequest {
    /// Where to send the browser.
    pub url: Url,
    /// The random state to compare with the callback's.
    pub state: String,
    /// The PKCE code verifier for the exchange.
    pub verifier: SecretString,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url.as_str())
            .field("state", &self.state)
            .field("verifier", &"[redacted]")
            .finish()
    }
}

/// The user's profile (`/oauth2/resource/profile`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Profile {
    /// The central user id as a string: the stable key (user names can change).
    pub sub: String,
    /// The user name (absent for hidden users).
    #[serde(default)]
    pub username: Option<String>,
    /// Whether the user is blocked.
    #[serde(default)]
    pub blocked: bool,
    /// Edit count.
    #[serde(default)]
    pub editcount: Option<u64>,
    /// Whether the email is confirmed.
    #[serde(default)]
    pub confirmed_email: Option<bool>,
    /// Registration timestamp.
    #[serde(default)]
    pub registered: Option<String>,
    /// Groups on the central wiki.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Rights on the central wiki.
    #[serde(default)]
    pub rights: Vec<String>,
    /// Grants of the consumer.
    #[serde(default)]
    pub grants: Vec<String>,
}

/// The PKCE S256 challenge of a verifier: base64url(sha256(verifier)) without padding.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn random_token(bytes: usize) -> Result<String, OAuthError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|_| OAuthError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// An OAuth 2.0 identity client.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    config: OAuthConfig,
    http: reqwest::Client,
}

impl OAuthClient {
    /// Checks the base URL against `allow` and builds the client.
    pub fn new(
        config: OAuthConfig,
        user_agent: &UserAgent,
        allow: &AllowList,
        timeout: Duration,
    ) -> Result<Self, OAuthError> {
        allow.check_url(&config.base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(user_agent.as_str())
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OAuthError::Network(e.without_url().to_string()))?;
        Ok(Self { config, http })
    }

    fn endpoint(&self, path: &str) -> Result<Url, OAuthError> {
        self.config
            .base_url
            .join(path)
            .map_err(|e| OAuthError::InvalidResponse(format!("bad endpoint: {e}")))
    }

    /// Starts a login: a random state and PKCE verifier, and the authorize URL.
    pub fn authorize(&self) -> Result<AuthorizationRequest, OAuthError> {
        let state = random_token(24)?;
        // 32 random bytes give a 43-character verifier, the RFC 7636 minimum length.
        let verifier = random_token(32)?;
        let mut url = self.endpoint("/w/rest.php/oauth2/authorize")?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(AuthorizationRequest {
            url,
            state,
            verifier: SecretString::from(verifier),
        })
    }

    /// Exchanges the callback's `code` for an access token. Check the callback's `state` with
    /// [`verify_state`] first; `verifier` is the one from [`OAuthClient::authorize`].
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &SecretString,
    ) -> Result<SecretString, OAuthError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.config.redirect_uri),
            ("client_id", &self.config.client_id),
            ("code_verifier", verifier.expose_secret()),
        ];
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        let response = self
            .http
            .post(self.endpoint("/w/rest.php/oauth2/access_token")?)
            .form(&form)
            .send()
            .await
            .map_err(|e| OAuthError::Network(e.without_url().to_string()))?;
        let status = response.status();
        let body = read_json(response).await?;
        if !status.is_success() {
            return Err(refused(status.as_u16(), &body));
        }
        body.get("access_token")
            .and_then(serde_json::Value::as_str)
            .map(|t| SecretString::from(t.to_owned()))
            .ok_or_else(|| OAuthError::InvalidResponse("no access_token in the answer".to_owned()))
    }

    /// The user's profile.
    pub async fn profile(&self, access_token: &SecretString) -> Result<Profile, OAuthError> {
        let response = self
            .http
            .get(self.endpoint("/w/rest.php/oauth2/resource/profile")?)
            .bearer_auth(access_token.expose_secret())
            .send()
            .await
            .map_err(|e| OAuthError::Network(e.without_url().to_string()))?;
        let status = response.status();
        let body = read_json(response).await?;
        if !status.is_success() {
            return Err(refused(status.as_u16(), &body));
        }
        serde_json::from_value(body).map_err(|e| OAuthError::InvalidResponse(e.to_string()))
    }
}

/// The largest OAuth answer read: a token or a profile is a few hundred bytes.
pub const MAX_OAUTH_RESPONSE_BYTES: u64 = 64 * 1024;

/// An answer's body as JSON, at most [`MAX_OAUTH_RESPONSE_BYTES`].
async fn read_json(response: reqwest::Response) -> Result<serde_json::Value, OAuthError> {
    let body = crate::body::read_capped(response, MAX_OAUTH_RESPONSE_BYTES)
        .await
        .map_err(|e| match e {
            crate::body::BodyError::TooLarge => OAuthError::InvalidResponse(format!(
                "the answer is larger than {MAX_OAUTH_RESPONSE_BYTES} bytes, more than any \
                 token or profile; we stopped reading it"
            )),
            crate::body::BodyError::Transport(e) => {
                OAuthError::Network(e.without_url().to_string())
            }
        })?;
    serde_json::from_slice(&body).map_err(|e| OAuthError::InvalidResponse(e.to_string()))
}

/// Compares the `state` we stored with the one the callback brought back, in constant time.
pub fn verify_state(expected: &str, returned: &str) -> Result<(), OAuthError> {
    let (a, b) = (expected.as_bytes(), returned.as_bytes());
    let differs = a.len() != b.len() || a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) != 0;
    if expected.is_empty() || differs {
        Err(OAuthError::StateMismatch)
    } else {
        Ok(())
    }
}

fn refused(status: u16, body: &serde_json::Value) -> OAuthError {
    let text = |key: &str| {
        body.get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    OAuthError::Refused {
        status,
        error: text("error").unwrap_or_else(|| "unknown".to_owned()),
        description: text("error_description").or_else(|| text("message")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_must_match_exactly() {
        assert!(verify_state("abc", "abc").is_ok());
        assert!(verify_state("abc", "abd").is_err());
        assert!(verify_state("abc", "abcd").is_err());
        assert!(verify_state("", "").is_err());
    }

    #[test]
    fn the_pkce_challenge_is_base64url_of_sha256() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
