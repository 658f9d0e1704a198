//! The credentials a session can act with: a BotPassword (logged in with `action=login`) or an
//! owner-only OAuth 2.0 access token (sent as `Authorization: Bearer` on every request, no
//! login), and the stable names of their kinds for storage.
//!
//! An owner-only OAuth 2.0 consumer is proposed by its user on meta
//! (`Special:OAuthConsumerRegistration/propose/oauth2`, "for use only by" ticked, no review);
//! its access token is shown once, does not expire and carries the grants picked then. The
//! MediaWiki OAuth extension issues access tokens as signed JWTs
//! (`src/Entity/AccessTokenEntity.php`, `convertToJWT`, adapted from league/oauth2-server's
//! `AccessTokenTrait`): three base64url segments joined by dots. [`OwnerOnlyToken::new`]
//! checks that form before any request, so a pasted consumer key, secret or a token cut in
//! half is refused at save time.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::api::BotPassword;

/// The shortest text accepted as an access token. A MediaWiki OAuth 2.0 access token is an
/// RS256-signed JWT: the signature alone is 342 base64url characters, the whole token several
/// hundred more.
pub const TOKEN_MIN_LEN: usize = 100;

/// The longest text accepted as an access token (a JWT with the extension's claims is about
/// 1 000 characters; the margin allows for more grants or claims).
pub const TOKEN_MAX_LEN: usize = 8192;

/// Why a text is not an owner-only OAuth 2.0 access token. Never contains the text itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFormatError {
    /// Nothing was given.
    #[error(
        "the access token is empty; paste the access token shown once when the owner-only \
         consumer was proposed"
    )]
    Empty,
    /// The token contains spaces, line breaks or control characters.
    #[error(
        "the access token contains whitespace or control characters; paste it without spaces \
         or line breaks"
    )]
    Whitespace,
    /// Too short or too long to be an access token.
    #[error(
        "the access token has {len} characters, but MediaWiki access tokens have between \
         {TOKEN_MIN_LEN} and {TOKEN_MAX_LEN}; paste the access token (not the client id or \
         secret) shown when the owner-only consumer was proposed"
    )]
    Length {
        /// The length given.
        len: usize,
    },
    /// Not three base64url segments joined by dots (a JWT).
    #[error(
        "this is not an OAuth 2.0 access token (MediaWiki's are JWTs: three parts of letters, \
         digits, `-` and `_` joined by dots); paste the access token, not the client id or \
         client secret"
    )]
    NotJwt,
}

/// An owner-only OAuth 2.0 access token: sent as `Authorization: Bearer <token>` on every
/// request of a session, never in a URL, never logged. `Debug` is redacted; the type is
/// deliberately neither `Display` nor `Serialize`.
#[derive(Clone)]
pub struct OwnerOnlyToken(SecretString);

impl OwnerOnlyToken {
    /// Checks the token's form (see the module docs) without any request: non-empty, no
    /// whitespace or control characters, a plausible length, and a JWT's shape (three
    /// non-empty base64url segments joined by dots).
    ///
    /// # Errors
    ///
    /// A [`TokenFormatError`] saying what is wrong; it never quotes the token.
    pub fn new(token: SecretString) -> Result<Self, TokenFormatError> {
        let text = token.expose_secret();
        if text.is_empty() {
            return Err(TokenFormatError::Empty);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(TokenFormatError::Whitespace);
        }
        let len = text.chars().count();
        if !(TOKEN_MIN_LEN..=TOKEN_MAX_LEN).contains(&len) {
            return Err(TokenFormatError::Length { len });
        }
        let base64url = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 3 || !parts.iter().all(|p| base64url(p)) {
            return Err(TokenFormatError::NotJwt);
        }
        Ok(Self(token))
    }

    /// The token, for the `Authorization` header (and for the vault).
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for OwnerOnlyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnerOnlyToken([redacted])")
    }
}

/// What a session acts with.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A BotPassword: `action=login` (2 requests) opens the session.
    BotPassword(BotPassword),
    /// An owner-only OAuth 2.0 access token: no login request; every request carries it.
    OwnerOnlyToken(OwnerOnlyToken),
}

impl Credential {
    /// Which kind of credential this is.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Self::BotPassword(_) => CredentialKind::BotPassword,
            Self::OwnerOnlyToken(_) => CredentialKind::OwnerOnlyToken,
        }
    }
}

impl From<BotPassword> for Credential {
    fn from(password: BotPassword) -> Self {
        Self::BotPassword(password)
    }
}

impl From<OwnerOnlyToken> for Credential {
    fn from(token: OwnerOnlyToken) -> Self {
        Self::OwnerOnlyToken(token)
    }
}

/// The kind of a [`Credential`], with stable names usable as stored values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredentialKind {
    /// A BotPassword (`"botpassword"`).
    BotPassword,
    /// An owner-only OAuth 2.0 access token (`"oauth2-token"`).
    OwnerOnlyToken,
}

impl CredentialKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 2] = [Self::BotPassword, Self::OwnerOnlyToken];

    /// The stable stored name: `"botpassword"` or `"oauth2-token"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BotPassword => "botpassword",
            Self::OwnerOnlyToken => "oauth2-token",
        }
    }

    /// The kind stored as [`CredentialKind::as_str`], `None` for any other text.
    pub fn from_stored(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// How a user calls it: "BotPassword" or "owner-only OAuth 2.0 token".
    pub fn label(self) -> &'static str {
        match self {
            Self::BotPassword => "BotPassword",
            Self::OwnerOnlyToken => "owner-only OAuth 2.0 token",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token of the real shape (header, claims, signature), not a real one.
    pub(crate) fn jwt_like() -> String {
        format!(
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}.{}",
            "eyJhdWQiOiJhYmMiLCJqdGkiOiJkZWYifQ".repeat(3),
            "s1g-n_".repeat(57)
        )
    }

    fn check(text: &str) -> Result<OwnerOnlyToken, TokenFormatError> {
        OwnerOnlyToken::new(SecretString::from(text.to_owned()))
    }

    #[test]
    fn a_jwt_is_accepted_and_never_shown() {
        let token = check(&jwt_like()).unwrap();
        assert_eq!(format!("{token:?}"), "OwnerOnlyToken([redacted])");
        let credential = Credential::from(token);
        assert_eq!(credential.kind(), CredentialKind::OwnerOnlyToken);
        assert!(!format!("{credential:?}").contains("eyJ"));
    }

    #[test]
    fn what_is_not_an_access_token_is_refused_with_a_reason() {
        assert_eq!(check("").unwrap_err(), TokenFormatError::Empty);
        let spaced = format!("{} ", jwt_like());
        assert_eq!(check(&spaced).unwrap_err(), TokenFormatError::Whitespace);
        let broken = jwt_like().replacen('.', "\n.", 1);
        assert_eq!(check(&broken).unwrap_err(), TokenFormatError::Whitespace);
        // A client id / consumer key: 32 hex characters.
        assert_eq!(
            check(&"0123abcd".repeat(4)).unwrap_err(),
            TokenFormatError::Length { len: 32 }
        );
        assert_eq!(
            check(&"a".repeat(200)).unwrap_err(),
            TokenFormatError::NotJwt
        );
        let two_parts = jwt_like().rsplit_once('.').unwrap().0.to_owned() + "x";
        assert_eq!(check(&two_parts).unwrap_err(), TokenFormatError::NotJwt);
        let padded = jwt_like() + "==";
        assert_eq!(check(&padded).unwrap_err(), TokenFormatError::NotJwt);
        let empty_part = jwt_like().replacen('.', "..", 1);
        assert_eq!(check(&empty_part).unwrap_err(), TokenFormatError::NotJwt);
        assert!(matches!(
            check(&"a.b.c".repeat(2000)).unwrap_err(),
            TokenFormatError::Length { .. }
        ));
    }

    #[test]
    fn kinds_have_stable_stored_names() {
        assert_eq!(CredentialKind::BotPassword.to_string(), "botpassword");
        assert_eq!(CredentialKind::OwnerOnlyToken.as_str(), "oauth2-token");
        for kind in CredentialKind::ALL {
            assert_eq!(CredentialKind::from_stored(kind.as_str()), Some(kind));
        }
        assert_eq!(CredentialKind::from_stored("password"), None);
    }
}
