//! A watched file: its mappings to wiki pages (several targets per file), adding, changing and
//! removing them, its check history, and unwatching it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use wikiscriptsync_core::store::{
    MappingId, MappingOptions, MappingScope, NewMapping, StoreError, WatchedFile, WatchedFileId,
};

use crate::app::{AppState, SharedState};
use crate::error::{AppError, AppResult};
use crate::session::CurrentUser;
use crate::views::{Layout, MappingView, short_sha, when};

use super::{Paging, page_fields, record_usage, refill, render, ticked};

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
    error: Option<String>,
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

/// The user's watched file, or 404.
async fn owned_file(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<WatchedFile> {
    state
        .store
        .watched_file(user.id, WatchedFileId(id))
        .await?
        .ok_or(AppError::NotFound)
}

/// `GET /files/{id}`.
pub async fn show(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(paging): Query<Paging>,
) -> AppResult<Html<String>> {
    let file = owned_file(&state, &user, id).await?;
    render(
        &file_page(
            &state,
            &user,
            file,
            &paging,
            MappingFormValues::default(),
            None,
        )
        .await?,
    )
}

async fn file_page(
    state: &AppState,
    user: &CurrentUser,
    file: WatchedFile,
    paging: &Paging,
    form: MappingFormValues,
    error: Option<String>,
) -> AppResult<FilePage> {
    let repository = state
        .store
        .repository(user.id, file.repository_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mappings = state
        .store
        .mapping_statuses(user.id, &MappingScope::File(file.id))
        .await?;
    let log = state
        .store
        .file_check_log(user.id, file.id, paging.request())
        .await?;
    Ok(FilePage {
        layout: Layout::user(state, user, format!("File {}", file.path)),
        repository_id: repository.id.0,
        repository_url: repository.url,
        mappings: mappings.iter().map(MappingView::from).collect(),
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
    })
}

/// `POST /files/{id}/unwatch`.
pub async fn unwatch(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let file = owned_file(&state, &user, id).await?;
    state.store.unwatch_file(user.id, file.id).await?;
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
/// validated as typed).
pub async fn add_mapping(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<NewMappingForm>,
) -> AppResult<Response> {
    let file = owned_file(&state, &user, id).await?;
    let values = MappingFormValues::from(&form);
    let mapping = match new_mapping(&state, &file, &values) {
        Ok(mapping) => mapping,
        Err(message) => return refill_file_page(&state, &user, file, values, message).await,
    };
    match state.store.add_mapping(user.id, &mapping, Utc::now()).await {
        Ok(_) => {}
        Err(StoreError::AlreadyExists { .. }) => {
            let message = format!(
                "This file is already mapped to {} on {}.",
                mapping.page_title, mapping.wiki
            );
            return refill_file_page(&state, &user, file, values, message).await;
        }
        Err(err) => return Err(err.into()),
    }
    if values.monitor {
        state
            .store
            .ensure_page_monitor(user.id, &mapping.wiki, &mapping.page_title, Utc::now())
            .await?;
    }
    record_usage(&state, "add_mapping");
    Ok(Redirect::to(&format!("/files/{id}")).into_response())
}

/// The mapping the form asks for, or what is wrong with it (wiki from the allow-list, title
/// validated as typed).
fn new_mapping(
    state: &AppState,
    file: &WatchedFile,
    values: &MappingFormValues,
) -> Result<NewMapping, String> {
    let (wiki, title) = page_fields(state, &values.wiki, &values.title)?;
    Ok(NewMapping {
        watched_file_id: file.id,
        wiki: wiki.key(),
        page_title: title.as_str().to_owned(),
        options: MappingOptions {
            publish_enabled: values.publish_enabled,
            allow_create: values.allow_create,
            add_banner: values.add_banner,
        },
    })
}

async fn refill_file_page(
    state: &AppState,
    user: &CurrentUser,
    file: WatchedFile,
    values: MappingFormValues,
    message: String,
) -> AppResult<Response> {
    let page = file_page(state, user, file, &Paging::default(), values, Some(message)).await?;
    refill(&page)
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
    let mapping = state
        .store
        .mapping(user.id, MappingId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let options = MappingOptions {
        publish_enabled: ticked(form.publish_enabled.as_ref()),
        allow_create: ticked(form.allow_create.as_ref()),
        add_banner: ticked(form.add_banner.as_ref()),
    };
    state
        .store
        .set_mapping_options(user.id, mapping.id, options)
        .await?;
    record_usage(&state, "mapping_options");
    Ok(Redirect::to(&format!("/files/{}", mapping.watched_file_id)).into_response())
}

/// `POST /mappings/{id}/delete`.
pub async fn remove_mapping(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mapping = state
        .store
        .mapping(user.id, MappingId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    state.store.remove_mapping(user.id, mapping.id).await?;
    record_usage(&state, "remove_mapping");
    Ok(Redirect::to(&format!("/files/{}", mapping.watched_file_id)).into_response())
}
