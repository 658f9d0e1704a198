//! What every page shares: the layout (navigation, development banner, the form nonce) and the
//! small formatting helpers templates use. Pages are askama templates (auto-escaping HTML,
//! compiled into the binary); each handler module defines its own page structs.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::config::Mode;
use crate::session::CurrentUser;

/// The frame around every page.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Show the development-mode banner.
    pub dev: bool,
    /// The logged-in user's name.
    pub username: Option<String>,
    /// The form nonce for the logout form and every other form.
    pub nonce: String,
    /// Whether to link the usage metrics.
    pub admin: bool,
    /// The page title.
    pub title: String,
}

impl Layout {
    /// The layout for a logged-in user.
    pub fn user(state: &AppState, user: &CurrentUser, title: impl Into<String>) -> Self {
        Self {
            dev: state.mode == Mode::Development,
            username: Some(user.username.clone()),
            nonce: user.nonce.clone(),
            admin: state.is_admin(&user.username),
            title: title.into(),
        }
    }

    /// The layout for a logged-out visitor.
    pub fn anonymous(state: &AppState, nonce: &str, title: impl Into<String>) -> Self {
        Self {
            dev: state.mode == Mode::Development,
            username: None,
            nonce: nonce.to_owned(),
            admin: false,
            title: title.into(),
        }
    }
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to do.
    pub message: &'a str,
}

/// `2026-11-23 20:15 UTC`.
pub fn when(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `when` for an optional time, `never` when absent.
pub fn when_or_never(at: Option<&DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), when)
}

/// The first 8 characters of a SHA.
pub fn short_sha(sha: &str) -> String {
    sha.chars().take(8).collect()
}
