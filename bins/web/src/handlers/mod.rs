//! The request handlers, one module per area of the site. A handler parses the form or query,
//! calls one use case of [`wikiscriptsync_core::app::App`] with the logged-in user's id (so
//! another user's id is a 404), and renders the answer; a refusal comes back as the form, filled
//! in as sent, with the message next to the input it is about.

pub mod admin;
pub mod auth;
pub mod credentials;
pub mod dashboard;
pub mod files;
pub mod logs;
pub mod monitors;
pub mod notifications;
pub mod publish;
pub mod publish_all;
pub mod repositories;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use wikiscriptsync_core::app::UseCaseError;
use wikiscriptsync_core::store::PageRequest;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::views::FormError;

/// Rows per page of a log.
pub const LOG_PAGE_SIZE: u32 = 25;

/// Renders a page.
pub fn render(page: &impl Template) -> AppResult<Html<String>> {
    Ok(Html(page.render()?))
}

/// A form sent with something wrong: its page again, filled in as the user sent it and saying
/// what was wrong, with 400 (nothing typed is lost).
pub fn refill(page: &impl Template) -> AppResult<Response> {
    Ok((StatusCode::BAD_REQUEST, render(page)?).into_response())
}

/// A use case's refusal as a form shows it (`fields`: the inputs that form has, by `Field`
/// name), or — for an unknown or foreign id and for failures of a service — the error page.
pub fn refused(err: UseCaseError, fields: &[&'static str]) -> AppResult<FormError> {
    match err {
        UseCaseError::Invalid { field, message } => {
            let field = fields.iter().copied().find(|f| *f == field.as_str());
            Ok(FormError { message, field })
        }
        UseCaseError::Conflict(message) | UseCaseError::LimitReached { message, .. } => {
            Ok(FormError::general(message))
        }
        UseCaseError::ShareSpent(spent) => Ok(FormError::general(spent.to_string())),
        other => Err(AppError::from(other)),
    }
}

/// Counts one use of a feature today (in memory; see [`crate::usage`]; no user is recorded).
pub fn record_usage(state: &AppState, feature: &'static str) {
    state.usage.count(feature);
}

/// `?before=<id>`: keyset pagination of logs.
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    /// Show rows older than this id.
    pub before: Option<i64>,
}

impl Paging {
    /// The store's page request.
    pub fn request(&self) -> PageRequest {
        PageRequest {
            before_id: self.before,
            limit: LOG_PAGE_SIZE,
        }
    }
}

/// A checkbox: present in the form when ticked.
pub fn ticked(value: Option<&String>) -> bool {
    value.is_some()
}

/// The fields of a URL-encoded body, repeated names kept (for lists of checkboxes).
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
