//! A watched file: its mappings to wiki pages (several targets per file), adding, changing and
//! removing them, its check history, and unwatching it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use wikiscriptsync_core::app::files::FileOverview;
use wikiscriptsync_core::app::mappings::MapFile;
use wikiscriptsync_core::store::{MappingId, MappingOptions, WatchedFile, WatchedFileId};

use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::state::{AppState, SharedState};
use crate::views::{FormError, Layout, MappingView, WikiNames, short_sha, when};

use super::{Paging, record_usage, refill, refused, render, ticked};

/// The inputs of the mapping form, by `Field` name.
const MAPPING_FIELDS: &[&str] = &["wiki", "title"];

struct CheckRow {
    at: String,
    status: String,
    blob: String,
    commit: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "file.html")]
struct FilePage {
    layout: Layout,
    file: WatchedFile,
    repository_id: i64,
    repository_url: String,
    mappings: Vec<MappingView>,
    checks: Vec<CheckRow>,
    older: Option<i64>,
    wikis: Vec<String>,
    form: MappingFormValues,
    error: Option<FormError>,
    /// How many mappings have publishing on: from 2, "publish to all N pages" is offered.
    publishing_targets: usize,
}

/// What the "map to a wiki page" form shows: empty with publishing on, or as the user sent it.
struct MappingFormValues {
    wiki: String,
    title: String,
    publish_enabled: bool,
    allow_create: bool,
    add_banner: bool,
    monitor: bool,
}

impl Default for MappingFormValues {
    fn default() -> Self {
        Self {
            wiki: String::new(),
            title: String::new(),
            publish_enabled: true,
            allow_create: false,
            add_banner: false,
            monitor: true,
        }
    }
}

impl From<&NewMappingForm> for MappingFormValues {
    fn from(form: &NewMappingForm) -> Self {
        Self {
            wiki: form.wiki.trim().to_owned(),
            title: form.title.trim().to_owned(),
            publish_enabled: ticked(form.publish_enabled.as_ref()),
            allow_create: ticked(form.allow_create.as_ref()),
            add_banner: ticked(form.add_banner.as_ref()),
            monitor: ticked(form.monitor.as_ref()),
        }
    }
}

/// `GET /files/{id}`.
pub async fn show(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(paging): Query<Paging>,
) -> AppResult<Html<String>> {
    let overview = state
        .app
        .file_overview(user.id, WatchedFileId(id), paging.request())
        .await?;
    let names = WikiNames::load(&state.app).await?;
    render(&file_page(
        &state,
        &user,
        overview,
        &names,
        MappingFormValues::default(),
        None,
    ))
}

fn file_page(
    state: &AppState,
    user: &CurrentUser,
    overview: FileOverview,
    names: &WikiNames,
    form: MappingFormValues,
    error: Option<FormError>,
) -> FilePage {
    let FileOverview {
        file,
        repository,
        mappings,
        checks: log,
    } = overview;
    FilePage {
        layout: Layout::user(state, user, format!("File {}", file.path)),
        repository_id: repository.id.0,
        repository_url: repository.url,
        publishing_targets: mappings
            .iter()
            .filter(|m| m.mapping.options.publish_enabled)
            .count(),
        mappings: mappings
            .iter()
            .map(|status| MappingView::from(status).named(names))
            .collect(),
        checks: log
            .items
            .iter()
            .map(|c| CheckRow {
                at: when(&c.checked_at),
                status: c.status.to_string(),
                blob: c.new_blob_sha.as_deref().map(short_sha).unwrap_or_default(),
                commit: c.commit_sha.as_deref().map(short_sha).unwrap_or_default(),
                detail: c.detail.clone().unwrap_or_default(),
            })
            .collect(),
        older: log.next.and_then(|n| n.before_id),
        wikis: state.suggested_wikis.to_vec(),
        form,
        error,
        file,
    }
}

/// `POST /files/{id}/unwatch`.
pub async fn unwatch(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let file = state.app.unwatch_file(user.id, WatchedFileId(id)).await?;
    record_usage(&state, "unwatch_file");
    Ok(Redirect::to(&format!("/repositories/{}", file.repository_id)).into_response())
}

/// The mapping form.
#[derive(Debug, Deserialize)]
pub struct NewMappingForm {
    wiki: String,
    title: String,
    publish_enabled: Option<String>,
    allow_create: Option<String>,
    add_banner: Option<String>,
    /// Also monitor the page, so that edits made on-wiki show as drift.
    monitor: Option<String>,
}

/// `POST /files/{id}/mappings`: map the file to a page (wiki from the allow-list, title
/// validated as typed), and monitor that page when ticked.
pub async fn add_mapping(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<NewMappingForm>,
) -> AppResult<Response> {
    let values = MappingFormValues::from(&form);
    let input = MapFile {
        file: WatchedFileId(id),
        wiki: values.wiki.clone(),
        // As typed: the core decides, the same way for the command line (a trailing line break
        // is refused with the reason, not trimmed away and stored).
        title: form.title.clone(),
        options: MappingOptions {
            publish_enabled: values.publish_enabled,
            allow_create: values.allow_create,
            add_banner: values.add_banner,
        },
        monitor: values.monitor,
    };
    let error = match state.app.map_file(user.id, &input).await {
        Ok(_) => {
            record_usage(&state, "add_mapping");
            return Ok(Redirect::to(&format!("/files/{id}")).into_response());
        }
        Err(err) => refused(err, MAPPING_FIELDS)?,
    };
    let overview = state
        .app
        .file_overview(user.id, WatchedFileId(id), Paging::default().request())
        .await?;
    let names = WikiNames::load(&state.app).await?;
    refill(&file_page(
        &state,
        &user,
        overview,
        &names,
        values,
        Some(error),
    ))
}

/// The options form.
#[derive(Debug, Deserialize)]
pub struct OptionsForm {
    publish_enabled: Option<String>,
    allow_create: Option<String>,
    add_banner: Option<String>,
}

/// `POST /mappings/{id}/options`.
pub async fn set_options(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<OptionsForm>,
) -> AppResult<Response> {
    let options = MappingOptions {
        publish_enabled: ticked(form.publish_enabled.as_ref()),
        allow_create: ticked(form.allow_create.as_ref()),
        add_banner: ticked(form.add_banner.as_ref()),
    };
    let mapping = state
        .app
        .set_mapping_options(user.id, MappingId(id), options)
        .await?;
    record_usage(&state, "mapping_options");
    Ok(Redirect::to(&format!("/files/{}", mapping.watched_file_id)).into_response())
}

/// `POST /mappings/{id}/delete`: remove the mapping (and the monitor it created, unless the
/// page is monitored on its own).
pub async fn remove_mapping(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mapping = state.app.unmap(user.id, MappingId(id)).await?;
    record_usage(&state, "remove_mapping");
    Ok(Redirect::to(&format!("/files/{}", mapping.watched_file_id)).into_response())
}
