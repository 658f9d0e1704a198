//! The one User-Agent type of the WikiScriptSync client crates: the calling tool's product name,
//! version and contact, in the format of the Wikimedia User-Agent policy
//! (<https://foundation.wikimedia.org/wiki/Policy:Wikimedia_Foundation_User-Agent_Policy>):
//! `<client name>/<version> (<contact information>) <library>/<version> …`.
//!
//! It lives in its own crate, below both `wikiscriptsync-mw` and `wikiscriptsync-forge` (which
//! re-export it), because those leaves must not depend on each other, yet one tool should build
//! its User-Agent once and hand the same value to both clients.
//!
//! ```
//! use wikiscriptsync_useragent::UserAgent;
//! let agent = UserAgent::new("CoolBot", "1.2", "https://example.org/coolbot; bot@example.org")?;
//! assert_eq!(
//!     agent.as_str(),
//!     format!(
//!         "CoolBot/1.2 (https://example.org/coolbot; bot@example.org) wikiscriptsync/{} reqwest/0.13",
//!         env!("CARGO_PKG_VERSION")
//!     )
//! );
//! # Ok::<(), wikiscriptsync_useragent::UserAgentError>(())
//! ```
#![warn(missing_docs)]

use std::fmt;

/// The product name WikiScriptSync itself sends (its binaries and tests).
pub const WIKISCRIPTSYNC_PRODUCT: &str = "wikiscriptsync";

/// The version of these client crates, named as the library in every User-Agent.
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a User-Agent was refused. Each message says which part was wrong and what to give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserAgentError {
    /// The product name is empty or not one HTTP token.
    #[error(
        "the User-Agent product name {0:?} must be one word of letters, digits and `-._~+!#$%&'*^`|` \
         (no spaces, slashes or parentheses), e.g. `CoolBot`"
    )]
    BadProduct(String),
    /// The version is empty or not one HTTP token.
    #[error(
        "the User-Agent version {0:?} must be one word of letters, digits and `-._~+!#$%&'*^`|` \
         (no spaces, slashes or parentheses), e.g. `1.2.0`"
    )]
    BadVersion(String),
    /// The contact is empty.
    #[error(
        "the User-Agent needs contact information (a URL or an e-mail address where the tool's \
         operator can be reached), the third argument of `UserAgent::new` (or the application's \
         setting, in WikiScriptSync WIKISCRIPTSYNC_CONTACT); Wikimedia may block clients \
         without it"
    )]
    EmptyContact,
    /// The contact cannot go into an HTTP header as one comment.
    #[error(
        "the User-Agent contact contains control characters or parentheses; give a plain URL or \
         e-mail address"
    )]
    BadContact,
}

/// A Wikimedia-policy User-Agent naming the calling tool:
/// `<product>/<version> (<contact>) wikiscriptsync/<library version> reqwest/0.13` (the
/// library token is left out when the product is WikiScriptSync itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserAgent(String);

impl UserAgent {
    /// The User-Agent of the tool `product` at `version`, reachable at `contact` (a URL, a
    /// user page or an e-mail address; several separated by `; `).
    ///
    /// # Errors
    /// [`UserAgentError::BadProduct`] or [`UserAgentError::BadVersion`] for an empty value or
    /// one that is not a single HTTP token; [`UserAgentError::EmptyContact`] for a blank
    /// contact; [`UserAgentError::BadContact`] for one with control characters or parentheses.
    pub fn new(product: &str, version: &str, contact: &str) -> Result<Self, UserAgentError> {
        let product = product.trim();
        if !is_token(product) {
            return Err(UserAgentError::BadProduct(product.to_owned()));
        }
        let version = version.trim();
        if !is_token(version) {
            return Err(UserAgentError::BadVersion(version.to_owned()));
        }
        let contact = contact.trim();
        if contact.is_empty() {
            return Err(UserAgentError::EmptyContact);
        }
        if contact
            .chars()
            .any(|c| c.is_control() || c == '(' || c == ')')
        {
            return Err(UserAgentError::BadContact);
        }
        let library = if product.eq_ignore_ascii_case(WIKISCRIPTSYNC_PRODUCT) {
            String::new()
        } else {
            format!(" {WIKISCRIPTSYNC_PRODUCT}/{LIBRARY_VERSION}")
        };
        Ok(Self(format!(
            "{product}/{version} ({contact}){library} reqwest/0.13"
        )))
    }

    /// WikiScriptSync's own User-Agent, `wikiscriptsync/<library version> (<contact>)
    /// reqwest/0.13`: for WikiScriptSync's binaries and tests. Another tool names itself with
    /// [`UserAgent::new`].
    ///
    /// # Errors
    /// As [`UserAgent::new`] for the contact.
    pub fn from_contact(contact: &str) -> Result<Self, UserAgentError> {
        Self::new(WIKISCRIPTSYNC_PRODUCT, LIBRARY_VERSION, contact)
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `value` is one HTTP token (RFC 9110 `tchar`s), excluding `/` as the product
/// separator does.
fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_tool_names_itself_and_the_library() {
        let agent = UserAgent::new("CoolBot", "0.0", " https://example.org/coolbot/ ").unwrap();
        assert_eq!(
            agent.as_str(),
            format!(
                "CoolBot/0.0 (https://example.org/coolbot/) wikiscriptsync/{LIBRARY_VERSION} reqwest/0.13"
            )
        );
    }

    #[test]
    fn wikiscriptsync_itself_is_not_named_twice() {
        let agent = UserAgent::from_contact("ops@example.org").unwrap();
        assert_eq!(
            agent.as_str(),
            format!("wikiscriptsync/{LIBRARY_VERSION} (ops@example.org) reqwest/0.13")
        );
    }

    #[test]
    fn each_part_is_checked_and_the_error_says_which() {
        assert_eq!(
            UserAgent::new("Cool Bot", "1", "a@b"),
            Err(UserAgentError::BadProduct("Cool Bot".into()))
        );
        assert_eq!(
            UserAgent::new("", "1", "a@b"),
            Err(UserAgentError::BadProduct(String::new()))
        );
        assert_eq!(
            UserAgent::new("Bot/2", "1", "a@b"),
            Err(UserAgentError::BadProduct("Bot/2".into()))
        );
        assert_eq!(
            UserAgent::new("Bot", "1 (x)", "a@b"),
            Err(UserAgentError::BadVersion("1 (x)".into()))
        );
        assert_eq!(
            UserAgent::new("Bot", "1", "  "),
            Err(UserAgentError::EmptyContact)
        );
        let message = UserAgentError::EmptyContact.to_string();
        assert!(
            message.contains("the third argument of `UserAgent::new` (or the application's"),
            "{message}"
        );
        assert_eq!(
            UserAgent::new("Bot", "1", "a\r\nX-Injected: 1"),
            Err(UserAgentError::BadContact)
        );
        assert_eq!(
            UserAgent::new("Bot", "1", "me (evil)"),
            Err(UserAgentError::BadContact)
        );
        assert!(
            UserAgentError::BadProduct("Cool Bot".into())
                .to_string()
                .contains("product name")
        );
    }
}
