//! The request handlers, one module per area of the site. Every handler that touches a stored
//! object asks the store with the logged-in user's id, so another user's id is a 404.

pub mod admin;
pub mod auth;
pub mod credentials;
pub mod dashboard;
pub mod files;
pub mod logs;
pub mod monitors;
pub mod notifications;
pub mod publish;
pub mod repositories;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use wikiscriptsync_core::mw::{Title, WikiUrl};
use wikiscriptsync_core::store::PageRequest;

use crate::app::AppState;
use crate::error::AppResult;

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

/// The wiki a form field names (`label` says which field), or what is wrong with it in words
/// for the form: only allow-listed wikis are accepted.
pub fn wiki_field(state: &AppState, label: &str, input: &str) -> Result<WikiUrl, String> {
    let input = input.trim();
    state
        .wiki
        .parse_wiki(input)
        .map_err(|e| format!("The {label} `{input}`: {e}"))
}

/// The page a form's `wiki` and `title` fields name, the title validated as typed, or what is
/// wrong with them in words for the form.
pub fn page_fields(state: &AppState, wiki: &str, title: &str) -> Result<(WikiUrl, Title), String> {
    let wiki = wiki_field(state, "wiki", wiki)?;
    let title = title.trim();
    let title = Title::parse(title).map_err(|e| format!("The title `{title}`: {e}"))?;
    Ok((wiki, title))
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
