//! The one error type of the use cases: what was refused or failed, in words that say what to do.

use crate::forge::ForgeError;
use crate::mw;
use crate::store::StoreError;
use crate::vault::VaultError;

/// The input a refusal is about, so a form can mark the field and the CLI can name its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// A user name.
    User,
    /// A repository URL.
    Url,
    /// A branch name.
    Branch,
    /// File paths inside a repository.
    Paths,
    /// A wiki.
    Wiki,
    /// A page title.
    Title,
    /// A BotPassword login name (`User@Bot`).
    BotUser,
    /// A BotPassword.
    Password,
    /// The notification home wiki.
    HomeWiki,
    /// A notification event kind.
    EventKind,
}

impl Field {
    /// The field's name in forms and in the CLI's flags (`--bot-user` is `bot_user`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Url => "url",
            Self::Branch => "branch",
            Self::Paths => "paths",
            Self::Wiki => "wiki",
            Self::Title => "title",
            Self::BotUser => "bot_user",
            Self::Password => "password",
            Self::HomeWiki => "home_wiki",
            Self::EventKind => "event_kind",
        }
    }
}

/// Why a use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UseCaseError {
    /// The input was refused before any request or write; the message says what to do.
    #[error("{message}")]
    Invalid {
        /// The input at fault.
        field: Field,
        /// What was wrong and what to do.
        message: String,
    },
    /// The object does not exist, or is not the acting user's (the two are not told apart).
    #[error("no {what} with id {id} for this user")]
    NotFound {
        /// What was looked for (`repository`, `watched file`, ...).
        what: &'static str,
        /// The id asked for.
        id: i64,
    },
    /// The same thing exists already; the message names it.
    #[error("{0}")]
    Conflict(String),
    /// The acting user may not do this (a blocked account logging in); the message says why.
    #[error("{0}")]
    Forbidden(String),
    /// The acting user's share of a forge host's requests for this hour is spent; the message
    /// names the host and when it comes back.
    #[error("{0}")]
    ShareSpent(crate::quota::ShareSpent),
    /// One of the service's limits per user would be passed; nothing was done. The message
    /// names the limit, its value and what to do.
    #[error("{message}")]
    LimitReached {
        /// Which limit.
        limit: super::limits::Limit,
        /// What the limit is and what to do.
        message: String,
    },
    /// A forge request failed (not the user's input).
    #[error("{context}: {cause}")]
    Forge {
        /// What was being done.
        context: String,
        /// The forge's error (in the message; not repeated as a source).
        cause: ForgeError,
    },
    /// A wiki request failed (not the user's input).
    #[error("{context}: {cause}")]
    Wiki {
        /// What was being done.
        context: String,
        /// The wiki's error (in the message; not repeated as a source).
        cause: mw::Error,
    },
    /// A stored BotPassword could not be decrypted (key missing or rotated away).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The machine failed (the system random source); nothing the user can fix.
    #[error("{0}")]
    Internal(String),
}

impl UseCaseError {
    /// A refusal of `field` with `message`.
    pub fn invalid(field: Field, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Whether the user can fix it by changing the input (refusals, unknown ids, duplicates),
    /// as opposed to a failure of a service.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::Invalid { .. }
                | Self::NotFound { .. }
                | Self::Conflict(_)
                | Self::Forbidden(_)
                | Self::LimitReached { .. }
        )
    }

    /// The refused field, when the error is about one input.
    pub fn field(&self) -> Option<Field> {
        match self {
            Self::Invalid { field, .. } => Some(*field),
            _ => None,
        }
    }
}

/// A use case's result.
pub type UseCaseResult<T> = Result<T, UseCaseError>;
