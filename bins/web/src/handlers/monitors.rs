//! Monitoring wiki pages independently of any repository, and each page's check history.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use wikiscriptsync_core::store::{PageMonitor, PageMonitorId, StoreError};

use crate::app::{AppState, SharedState};
use crate::error::{AppError, AppResult};
use crate::session::CurrentUser;
use crate::views::{Layout, when, when_or_never};

use super::{Paging, page_fields, record_usage, refill, render};

#[derive(Template)]
#[template(path = "monitors.html")]
struct MonitorsPage {
    layout: Layout,
    monitors: Vec<(PageMonitor, String)>,
    wikis: Vec<String>,
    /// The add form's wiki and title: empty, or as the user sent them.
    wiki: String,
    title: String,
    error: Option<String>,
}

/// `GET /pages`.
pub async fn list(State(state): State<SharedState>, user: CurrentUser) -> AppResult<Html<String>> {
    render(&monitors_page(&state, &user, &AddMonitor::default(), None).await?)
}

async fn monitors_page(
    state: &AppState,
    user: &CurrentUser,
    form: &AddMonitor,
    error: Option<String>,
) -> AppResult<MonitorsPage> {
    let monitors = state.store.list_page_monitors(user.id).await?;
    Ok(MonitorsPage {
        layout: Layout::user(state, user, "Monitored pages"),
        monitors: monitors
            .into_iter()
            .map(|m| {
                let checked = when_or_never(m.last_checked_at.as_ref());
                (m, checked)
            })
            .collect(),
        wikis: state.suggested_wikis.to_vec(),
        wiki: form.wiki.trim().to_owned(),
        title: form.title.trim().to_owned(),
        error,
    })
}

/// The add form.
#[derive(Debug, Default, Deserialize)]
pub struct AddMonitor {
    wiki: String,
    title: String,
}

/// `POST /pages`.
pub async fn add(
    State(state): State<SharedState>,
    user: CurrentUser,
    Form(form): Form<AddMonitor>,
) -> AppResult<Response> {
    let parsed = page_fields(&state, &form.wiki, &form.title);
    let (wiki, title) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return refill(&monitors_page(&state, &user, &form, Some(message)).await?),
    };
    match state
        .store
        .add_page_monitor(user.id, &wiki.key(), title.as_str(), Utc::now())
        .await
    {
        Ok(_) => {}
        Err(StoreError::AlreadyExists { .. }) => {
            let message = format!("You already monitor {title} on that wiki.");
            return refill(&monitors_page(&state, &user, &form, Some(message)).await?);
        }
        Err(err) => return Err(err.into()),
    }
    record_usage(&state, "monitor_page");
    Ok(Redirect::to("/pages").into_response())
}

#[derive(Template)]
#[template(path = "monitor.html")]
struct MonitorPage {
    layout: Layout,
    monitor: PageMonitor,
    checks: Vec<(String, String, String, String)>,
    older: Option<i64>,
}

/// `GET /pages/{id}`: the page's check history.
pub async fn show(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(paging): Query<Paging>,
) -> AppResult<Html<String>> {
    let monitor = state
        .store
        .page_monitor(user.id, PageMonitorId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let log = state
        .store
        .page_check_log(user.id, monitor.id, paging.request())
        .await?;
    render(&MonitorPage {
        layout: Layout::user(
            &state,
            &user,
            format!("Monitored page {}", monitor.page_title),
        ),
        checks: log
            .items
            .iter()
            .map(|c| {
                (
                    when(&c.checked_at),
                    c.status.to_string(),
                    c.new_revid.map(|r| format!("r{r}")).unwrap_or_default(),
                    c.detail.clone().unwrap_or_default(),
                )
            })
            .collect(),
        older: log.next.and_then(|n| n.before_id),
        monitor,
    })
}

/// `POST /pages/{id}/delete`.
pub async fn remove(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    if !state
        .store
        .remove_page_monitor(user.id, PageMonitorId(id))
        .await?
    {
        return Err(AppError::NotFound);
    }
    record_usage(&state, "unmonitor_page");
    Ok(Redirect::to("/pages").into_response())
}
