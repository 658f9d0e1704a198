//! What a handler can fail with, and the page each failure shows. Internal details are logged,
//! never shown: the user sees what went wrong in words and what to do.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use wikiscriptsync_core::app::UseCaseError;
use wikiscriptsync_core::store::StoreError;

use crate::views::ErrorPage;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist or belongs to someone else (the same answer for both, so ids
    /// reveal nothing).
    #[error("not found")]
    NotFound,
    /// Refused: a missing or stale form nonce, or a page for admins only.
    #[error("{0}")]
    Forbidden(String),
    /// The input was wrong; the message says how to fix it.
    #[error("{0}")]
    BadRequest(String),
    /// The user's share of a shared resource (a forge host's requests this hour) is spent;
    /// the message says which and when it comes back.
    #[error("{0}")]
    TooManyRequests(String),
    /// A forge or wiki request failed; the message names the service and why (no secrets).
    #[error("{0}")]
    Upstream(String),
    /// The database failed.
    #[error("the database failed: {0}")]
    Store(#[from] StoreError),
    /// A page could not be rendered.
    #[error("a page could not be rendered: {0}")]
    Template(#[from] askama::Error),
    /// Anything else that is our fault.
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "There is nothing here, or it is not yours.".to_owned(),
            ),
            Self::Forbidden(message) => (StatusCode::FORBIDDEN, message.clone()),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            Self::TooManyRequests(message) => (StatusCode::TOO_MANY_REQUESTS, message.clone()),
            Self::Upstream(message) => {
                tracing::warn!(error = %message, "a forge or wiki request failed");
                (
                    StatusCode::BAD_GATEWAY,
                    format!("{message}. Please try again later."),
                )
            }
            Self::Store(_) | Self::Template(_) | Self::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; it has been logged. Please try again later."
                        .to_owned(),
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            message: &message,
        };
        match askama::Template::render(&page) {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

impl From<UseCaseError> for AppError {
    /// A use case's error where no form can show it: an unknown or foreign id is a 404, a
    /// refusal a 400 with its message, a forge or wiki failure a 502 saying which, anything
    /// else ours.
    fn from(err: UseCaseError) -> Self {
        match err {
            UseCaseError::NotFound { .. } => Self::NotFound,
            UseCaseError::Invalid { message, .. } => Self::BadRequest(message),
            UseCaseError::Conflict(message) | UseCaseError::LimitReached { message, .. } => {
                Self::BadRequest(message)
            }
            UseCaseError::Forbidden(message) => Self::Forbidden(message),
            UseCaseError::ShareSpent(spent) => Self::TooManyRequests(spent.to_string()),
            err @ (UseCaseError::Forge { .. } | UseCaseError::Wiki { .. }) => {
                Self::Upstream(err.to_string())
            }
            UseCaseError::Store(err) => Self::Store(err),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Handler results.
pub type AppResult<T> = Result<T, AppError>;
