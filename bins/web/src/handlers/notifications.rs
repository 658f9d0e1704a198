//! Notification preferences (home wiki for talk-page notices, digest, which kinds of change)
//! and the notifications sent so far.

use std::collections::BTreeSet;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;

use wikiscriptsync_core::monitor::ChangeEvent;
use wikiscriptsync_core::store::NotificationPreferences;

use crate::app::{AppState, SharedState};
use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::views::{Layout, when};

use super::{Paging, form_fields, record_usage, refill, render, wiki_field};

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    home_wiki: String,
    digest: bool,
    kinds: Vec<(&'static str, bool)>,
    sent: Vec<(String, String, String, String)>,
    older: Option<i64>,
    error: Option<String>,
}

/// `GET /notifications`.
pub async fn show(
    State(state): State<SharedState>,
    user: CurrentUser,
    Query(paging): Query<Paging>,
) -> AppResult<Html<String>> {
    let preferences = state.store.notification_preferences(user.id).await?;
    render(&notifications_page(&state, &user, &paging, &preferences, None).await?)
}

async fn notifications_page(
    state: &AppState,
    user: &CurrentUser,
    paging: &Paging,
    preferences: &NotificationPreferences,
    error: Option<String>,
) -> AppResult<NotificationsPage> {
    let log = state
        .store
        .notification_log(user.id, paging.request())
        .await?;
    Ok(NotificationsPage {
        layout: Layout::user(state, user, "Notifications"),
        home_wiki: preferences.home_wiki.clone().unwrap_or_default(),
        digest: preferences.digest,
        kinds: ChangeEvent::KINDS
            .iter()
            .map(|kind| (*kind, preferences.is_enabled(kind)))
            .collect(),
        sent: log
            .items
            .iter()
            .map(|n| {
                (
                    when(&n.created_at),
                    n.subject.clone(),
                    n.status.to_string(),
                    n.error.clone().unwrap_or_default(),
                )
            })
            .collect(),
        older: log.next.and_then(|n| n.before_id),
        error,
    })
}

/// `POST /notifications`: `home_wiki`, `digest`, and one `kind` field per wanted kind.
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
    let wanted: BTreeSet<&str> = fields
        .iter()
        .filter(|(n, _)| n == "kind")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut preferences = NotificationPreferences {
        home_wiki: field("home_wiki").filter(|w| !w.is_empty()),
        digest: field("digest").is_some(),
        disabled_event_kinds: ChangeEvent::KINDS
            .iter()
            .filter(|kind| !wanted.contains(*kind))
            .map(|kind| (*kind).to_owned())
            .collect(),
    };
    if let Some(wiki) = preferences.home_wiki.take() {
        match wiki_field(&state, "home wiki", &wiki) {
            Ok(url) => preferences.home_wiki = Some(url.key()),
            Err(message) => {
                // Shown again as sent, with what was wrong.
                preferences.home_wiki = Some(wiki);
                let page = notifications_page(
                    &state,
                    &user,
                    &Paging::default(),
                    &preferences,
                    Some(message),
                )
                .await?;
                return refill(&page);
            }
        }
    }
    state
        .store
        .set_notification_preferences(user.id, &preferences, Utc::now())
        .await?;
    record_usage(&state, "notification_preferences");
    Ok(Redirect::to("/notifications").into_response())
}
