//! What every page shares: the layout (navigation, development banner, the form nonce) and the
//! small formatting helpers templates use. Pages are askama templates (auto-escaping HTML,
//! compiled into the binary); each handler module defines its own page structs.

use std::collections::HashMap;

use askama::Template;
use chrono::{DateTime, Utc};
use wikiscriptsync_core::app::{App, UseCaseResult};
use wikiscriptsync_core::store::{
    FileCheckStatus, MappingOptions, MappingStatus, MappingSyncState, PublishOutcome, WatchedFile,
};

use crate::config::Mode;
use crate::state::AppState;

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

/// A refusal shown on a form: the message, and the input it is about when the form has that
/// input (the message then sits next to it, see `templates/macros.html`; otherwise it is shown
/// above the form by `templates/form_error.html`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// What was wrong and what to do.
    pub message: String,
    /// The form input it is about (its `Field` name), when the form shows that input.
    pub field: Option<&'static str>,
}

impl FormError {
    /// A message about the form as a whole.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            field: None,
        }
    }

    /// A message about the input `field` (a `Field` name such as `title`).
    pub fn at_field(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            field: Some(field),
        }
    }

    /// The message, when it is about the input `name`.
    pub fn at(&self, name: &str) -> Option<&str> {
        (self.field == Some(name)).then_some(self.message.as_str())
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

/// A mapping as every page shows it: where it publishes from, to which page, and how it
/// stands (the state is decided by the store, [`MappingSyncState`]).
#[derive(Debug, Clone)]
pub struct MappingView {
    /// The mapping's id.
    pub id: i64,
    /// The watched file's id.
    pub file_id: i64,
    /// The watched file's path.
    pub file_path: String,
    /// The repository's id.
    pub repository_id: i64,
    /// The repository's URL.
    pub repository_url: String,
    /// The wiki.
    pub wiki: String,
    /// The page title.
    pub title: String,
    /// Publish options.
    pub options: MappingOptions,
    /// `r123 on 2026-11-23 20:15 UTC`, or `never`.
    pub last_published: String,
    /// The state in words.
    pub state: &'static str,
    /// The state's CSS class.
    pub state_class: &'static str,
}

impl MappingView {
    /// The same view with its wiki shown by name and host.
    #[must_use]
    pub fn named(mut self, names: &WikiNames) -> Self {
        self.wiki = names.show(&self.wiki);
        self
    }
}

/// How stored wikis are shown: `Sitename (host)` for every wiki the app has identified, the
/// stored key for the others.
#[derive(Debug, Clone, Default)]
pub struct WikiNames(HashMap<String, String>);

impl WikiNames {
    /// The names of every known wiki (one store read, no request).
    pub async fn load(app: &App) -> UseCaseResult<Self> {
        Ok(Self(app.wiki_names().await?))
    }

    /// How the wiki stored as `key` is shown.
    pub fn show(&self, key: &str) -> String {
        self.0.get(key).cloned().unwrap_or_else(|| key.to_owned())
    }
}

impl From<&MappingStatus> for MappingView {
    fn from(status: &MappingStatus) -> Self {
        let mapping = &status.mapping;
        let (state, state_class) = sync_state(status.state);
        Self {
            id: mapping.id.0,
            file_id: mapping.watched_file_id.0,
            file_path: status.file_path.clone(),
            repository_id: status.repository_id.0,
            repository_url: status.repository_url.clone(),
            wiki: mapping.wiki.clone(),
            title: mapping.page_title.clone(),
            options: mapping.options,
            last_published: mapping.last_published.as_ref().map_or_else(
                || "never".to_owned(),
                |p| format!("r{} on {}", p.revid, when(&p.at)),
            ),
            state,
            state_class,
        }
    }
}

/// A sync state in words, and its CSS class.
pub fn sync_state(state: MappingSyncState) -> (&'static str, &'static str) {
    match state {
        MappingSyncState::InSync => ("in sync", "status-ok"),
        MappingSyncState::NeverPublished => ("never published", "status-warn"),
        MappingSyncState::FileChanged => ("file changed since the last publish", "status-warn"),
        MappingSyncState::ChangedOnWiki => ("changed on-wiki since the last publish", "status-bad"),
        MappingSyncState::Off => ("publishing off", "muted"),
    }
}

/// A watched file's last check in words, and its CSS class.
pub fn file_check(file: &WatchedFile) -> (String, &'static str) {
    let at = when_or_never(file.last_checked_at.as_ref());
    match file.last_status {
        None => ("not checked yet".into(), "status-warn"),
        Some(FileCheckStatus::Unchanged) => (format!("unchanged, {at}"), "status-ok"),
        Some(FileCheckStatus::Changed) => (format!("changed, {at}"), "status-warn"),
        Some(FileCheckStatus::Missing) => (format!("missing from the branch, {at}"), "status-bad"),
        Some(FileCheckStatus::Error) => (format!("check failed, {at}"), "status-bad"),
    }
}

/// A publish outcome in words, for the logs (never the stored code such as `would_publish`).
pub fn outcome_words(outcome: PublishOutcome) -> &'static str {
    match outcome {
        PublishOutcome::Published => "published",
        PublishOutcome::Merged => "published, merged with on-wiki changes: check the page",
        PublishOutcome::NoChange => "already up to date",
        PublishOutcome::WouldPublish => "would publish (preview)",
        PublishOutcome::DriftRefused => "refused: changed on-wiki",
        PublishOutcome::Refused => "refused",
        PublishOutcome::Busy => "busy: another publish was running",
        PublishOutcome::Failed => "failed",
        PublishOutcome::Pending => "edit sent, result not recorded: check the page's history",
        PublishOutcome::Unknown => "may have been applied: check the page's history",
    }
}

/// A publish's message as a person says it: core's "stopped at step 4 (log in): …" becomes
/// "Could not log in: …" (step numbers mean nothing to the reader).
pub fn plain_message(message: &str) -> String {
    let Some(rest) = message.strip_prefix("stopped at step ") else {
        return message.to_owned();
    };
    let Some((_number, rest)) = rest.split_once(" (") else {
        return message.to_owned();
    };
    match rest.split_once("): ") {
        Some((what, why)) => format!("Could not {what}: {why}"),
        None => message.to_owned(),
    }
}

/// A kind of change a user can be notified of, in words (the stored kind is an identifier
/// such as `file_changed`).
pub fn event_kind_words(kind: &str) -> &'static str {
    match kind {
        "file_changed" => "A watched file changed in its repository",
        "file_missing" => "A watched file disappeared from its branch",
        "page_changed" => "A mapped or monitored page was edited on the wiki",
        "page_deleted" => "A mapped or monitored page was deleted",
        "page_moved" => "A mapped or monitored page was moved",
        _ => "Another kind of change",
    }
}

/// A repository as titles name it: `owner/name` from its URL (the URL itself when it has no
/// path).
pub fn repository_name(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .map(|u| {
            u.path()
                .trim_matches('/')
                .trim_end_matches(".git")
                .to_owned()
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_numbers_become_words() {
        assert_eq!(
            plain_message("stopped at step 4 (log in): the password is wrong"),
            "Could not log in: the password is wrong"
        );
        assert_eq!(plain_message("edited"), "edited");
        assert_eq!(
            plain_message("stopped at step 4 oops"),
            "stopped at step 4 oops"
        );
    }

    #[test]
    fn repositories_are_named_by_their_path() {
        assert_eq!(
            repository_name("https://github.com/octo/gadgets"),
            "octo/gadgets"
        );
        assert_eq!(
            repository_name("https://gitlab.com/group/sub/proj.git/"),
            "group/sub/proj"
        );
        assert_eq!(repository_name("not a url"), "not a url");
    }

    #[test]
    fn no_outcome_or_kind_is_shown_as_its_code() {
        for kind in wikiscriptsync_core::monitor::ChangeEvent::KINDS {
            assert!(!event_kind_words(kind).contains('_'), "{kind}");
        }
        assert_eq!(
            outcome_words(PublishOutcome::DriftRefused),
            "refused: changed on-wiki"
        );
    }
}
