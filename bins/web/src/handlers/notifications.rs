//! Notification preferences (home wiki for talk-page notices, digest, which kinds of change)
//! and the notifications sent so far.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};

use wikiscriptsync_core::app::preferences::PreferencesChange;
use wikiscriptsync_core::monitor::ChangeEvent;
use wikiscriptsync_core::store::NotificationPreferences;

use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::state::{AppState, SharedState};
use crate::views::{FormError, Layout, event_kind_words, when};

use super::{Paging, form_fields, record_usage, refill, refused, render};

/// The inputs of the preferences form, by `Field` name.
const FIELDS: &[&str] = &["home_wiki", "event_kind"];

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    home_wiki: String,
    digest: bool,
    /// (kind, wanted, the kind in words).
    kinds: Vec<(&'static str, bool, &'static str)>,
    sent: Vec<(String, String, String, String)>,
    older: Option<i64>,
    error: Option<FormError>,
    /// Just saved: say so.
    saved: bool,
}

/// What the form shows: the saved preferences, or what the user sent.
struct FormValues {
    home_wiki: String,
    digest: bool,
    kinds: Vec<(&'static str, bool, &'static str)>,
}

impl From<&NotificationPreferences> for FormValues {
    fn from(preferences: &NotificationPreferences) -> Self {
        Self {
            home_wiki: preferences.home_wiki.clone().unwrap_or_default(),
            digest: preferences.digest,
            kinds: ChangeEvent::KINDS
                .iter()
                .map(|kind| (*kind, preferences.is_enabled(kind), event_kind_words(kind)))
                .collect(),
        }
    }
}

/// `?saved=1`: shown after the preferences were saved.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Saved {
    /// Present right after a save.
    saved: Option<String>,
}

/// `GET /notifications` (`?saved=1` right after a save says so).
pub async fn show(
    State(state): State<SharedState>,
    user: CurrentUser,
    Query(paging): Query<Paging>,
    Query(saved): Query<Saved>,
) -> AppResult<Html<String>> {
    let preferences = state.app.preferences(user.id).await?;
    let values = FormValues::from(&preferences);
    let mut page = notifications_page(&state, &user, &paging, values, None).await?;
    page.saved = saved.saved.is_some();
    render(&page)
}

async fn notifications_page(
    state: &AppState,
    user: &CurrentUser,
    paging: &Paging,
    values: FormValues,
    error: Option<FormError>,
) -> AppResult<NotificationsPage> {
    let log = state
        .app
        .notification_log(user.id, paging.request())
        .await?;
    Ok(NotificationsPage {
        layout: Layout::user(state, user, "Notifications"),
        home_wiki: values.home_wiki,
        digest: values.digest,
        kinds: values.kinds,
        sent: log
            .items
            .iter()
            .map(|n| {
                (
                    when(&n.created_at),
                    wikiscriptsync_core::notify::heading_text(&n.subject),
                    n.status.to_string(),
                    n.error.clone().unwrap_or_default(),
                )
            })
            .collect(),
        older: log.next.and_then(|n| n.before_id),
        error,
        saved: false,
    })
}

/// `POST /notifications`: `home_wiki` (empty: the wiki of the change), `digest`, and one
/// `kind` field per wanted kind (every other kind is off).
pub async fn save(
    State(state): State<SharedState>,
    user: CurrentUser,
    body: Bytes,
) -> AppResult<Response> {
    let fields = form_fields(&body);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let wanted: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n == "kind")
        .map(|(_, v)| v.clone())
        .collect();
    let home_wiki = field("home_wiki").unwrap_or_default();
    let digest = field("digest").is_some();
    let change = PreferencesChange {
        home_wiki: Some(Some(home_wiki.clone()).filter(|w| !w.is_empty())),
        digest: Some(digest),
        enabled_exactly: Some(wanted.clone()),
        ..PreferencesChange::default()
    };
    let error = match state.app.set_preferences(user.id, change).await {
        Ok(_) => {
            record_usage(&state, "notification_preferences");
            return Ok(Redirect::to("/notifications?saved=1").into_response());
        }
        Err(err) => refused(err, FIELDS)?,
    };
    // Shown again as sent, with what was wrong.
    let values = FormValues {
        home_wiki,
        digest,
        kinds: ChangeEvent::KINDS
            .iter()
            .map(|kind| {
                (
                    *kind,
                    wanted.iter().any(|k| k == kind),
                    event_kind_words(kind),
                )
            })
            .collect(),
    };
    let page = notifications_page(&state, &user, &Paging::default(), values, Some(error)).await?;
    refill(&page)
}
