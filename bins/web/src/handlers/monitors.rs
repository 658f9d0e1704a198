//! Monitoring wiki pages independently of any repository, and each page's check history.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use wikiscriptsync_core::store::{PageMonitor, PageMonitorId};

use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::state::{AppState, SharedState};
use crate::views::{FormError, Layout, WikiNames, when, when_or_never};

use super::{Paging, record_usage, refill, refused, render};

/// The inputs of the add form, by `Field` name.
const ADD_FIELDS: &[&str] = &["wiki", "title"];

#[derive(Template)]
#[template(path = "monitors.html")]
struct MonitorsPage {
    layout: Layout,
    monitors: Vec<(PageMonitor, String)>,
    wikis: Vec<String>,
    /// The add form's wiki and title: empty, or as the user sent them.
    wiki: String,
    title: String,
    error: Option<FormError>,
}

/// `GET /pages`.
pub async fn list(State(state): State<SharedState>, user: CurrentUser) -> AppResult<Html<String>> {
    render(&monitors_page(&state, &user, &AddMonitor::default(), None).await?)
}

async fn monitors_page(
    state: &AppState,
    user: &CurrentUser,
    form: &AddMonitor,
    error: Option<FormError>,
) -> AppResult<MonitorsPage> {
    let monitors = state.app.page_monitors(user.id).await?;
    let names = WikiNames::load(&state.app).await?;
    Ok(MonitorsPage {
        layout: Layout::user(state, user, "Monitored pages"),
        monitors: monitors
            .into_iter()
            .map(|mut m| {
                let checked = when_or_never(m.last_checked_at.as_ref());
                // Shown only: the list names each wiki by name and host.
                m.wiki = names.show(&m.wiki);
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
    let error = match state
        .app
        .monitor_pages(user.id, &form.wiki, std::slice::from_ref(&form.title))
        .await
    {
        Ok(monitored) if monitored.added.is_empty() => FormError::at_field(
            "title",
            format!(
                "You already monitor {} on {}.",
                monitored.already.join(", "),
                monitored.wiki
            ),
        ),
        Ok(_) => {
            record_usage(&state, "monitor_page");
            return Ok(Redirect::to("/pages").into_response());
        }
        Err(err) => refused(err, ADD_FIELDS)?,
    };
    refill(&monitors_page(&state, &user, &form, Some(error)).await?)
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
    let (monitor, log) = state
        .app
        .page_monitor_history(user.id, PageMonitorId(id), paging.request())
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
    state.app.unmonitor_page(user.id, PageMonitorId(id)).await?;
    record_usage(&state, "unmonitor_page");
    Ok(Redirect::to("/pages").into_response())
}
