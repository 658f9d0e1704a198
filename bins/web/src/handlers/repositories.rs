//! Adding a repository (URL and branch, the default branch offered), choosing which of its
//! publishable files to watch, checking it now, and removing it.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use wikiscriptsync_core::app::repositories::{CheckNowOutcome, RepositoryOverview};
use wikiscriptsync_core::store::{Repository, RepositoryId, WatchedFileId};

use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::state::{AppState, SharedState};
use crate::views::{
    FormError, Layout, MappingView, WikiNames, file_check, repository_name, short_sha,
    when_or_never,
};

use super::{form_fields, record_usage, refill, refused, render};

/// The inputs of the add form, by `Field` name.
const ADD_FIELDS: &[&str] = &["url", "branch"];
/// The input of the watch form.
const WATCH_FIELDS: &[&str] = &["paths"];

#[derive(Template)]
#[template(path = "repository_new.html")]
struct NewRepositoryPage {
    layout: Layout,
    url: String,
    branch: String,
    default_branch: Option<String>,
    error: Option<FormError>,
}

impl NewRepositoryPage {
    /// The second step (the branch) is offered once a URL was given that is not refused.
    fn offers_branch(&self) -> bool {
        !self.url.is_empty() && self.error.as_ref().is_none_or(|e| e.at("url").is_none())
    }
}

/// `?url=`: the first step's answer.
#[derive(Debug, Default, Deserialize)]
pub struct Lookup {
    url: Option<String>,
}

/// `GET /repositories/new[?url=]`: the form; with a URL, the default branch is looked up and
/// offered.
pub async fn new_form(
    State(state): State<SharedState>,
    user: CurrentUser,
    Query(lookup): Query<Lookup>,
) -> AppResult<Response> {
    let mut page = NewRepositoryPage {
        layout: Layout::user(&state, &user, "Add a repository"),
        url: String::new(),
        branch: String::new(),
        default_branch: None,
        error: None,
    };
    let Some(url) = lookup.url.filter(|u| !u.trim().is_empty()) else {
        return Ok(render(&page)?.into_response());
    };
    page.url = url.trim().to_owned();
    match state.app.default_branch(user.id, &page.url).await {
        Ok((locator, branch)) => {
            page.branch = locator.branch.unwrap_or_else(|| branch.clone());
            page.default_branch = Some(branch);
            Ok(render(&page)?.into_response())
        }
        Err(err) => {
            page.error = Some(refused(err, ADD_FIELDS)?);
            refill(&page)
        }
    }
}

/// The add form.
#[derive(Debug, Deserialize)]
pub struct AddRepository {
    url: String,
    #[serde(default)]
    branch: String,
}

/// `POST /repositories/new`: track the repository, then choose files. A URL or branch that
/// does not work shows the form again, filled in as sent.
pub async fn add(
    State(state): State<SharedState>,
    user: CurrentUser,
    Form(form): Form<AddRepository>,
) -> AppResult<Response> {
    match state
        .app
        .add_repository(user.id, &form.url, Some(&form.branch))
        .await
    {
        Ok(repository) => {
            record_usage(&state, "add_repository");
            Ok(Redirect::to(&format!("/repositories/{}", repository.id)).into_response())
        }
        Err(err) => refill(&NewRepositoryPage {
            layout: Layout::user(&state, &user, "Add a repository"),
            url: form.url.trim().to_owned(),
            branch: form.branch.trim().to_owned(),
            default_branch: None,
            error: Some(refused(err, ADD_FIELDS)?),
        }),
    }
}

struct FileChoice {
    path: String,
    blob: String,
    watched: Option<i64>,
}

/// A watched file with its last check and the pages it is published to.
struct WatchedRow {
    id: i64,
    path: String,
    check: String,
    check_class: &'static str,
    mappings: Vec<MappingView>,
}

#[derive(Template)]
#[template(path = "repository.html")]
struct RepositoryPage {
    layout: Layout,
    repository: Repository,
    checked: String,
    head: String,
    files: Vec<FileChoice>,
    watched: Vec<WatchedRow>,
    /// What a check started from this page found: the Codex message type, and the words.
    notice: Option<(&'static str, &'static str)>,
    /// Why the branch's files cannot be listed, or why the watch form was refused.
    error: Option<FormError>,
}

/// `?check=`: the outcome of a check started from this page (a fixed word, never free text).
#[derive(Debug, Default, Deserialize)]
pub struct RepositoryQuery {
    check: Option<String>,
}

/// `GET /repositories/{id}`: the watched files with their pages and states, and the branch's
/// publishable files, to choose which to watch.
pub async fn show(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<RepositoryQuery>,
) -> AppResult<Html<String>> {
    let mut page = repository_page(&state, &user, RepositoryId(id)).await?;
    page.notice = query
        .check
        .as_deref()
        .and_then(CheckNowOutcome::parse)
        .map(notice);
    render(&page)
}

/// The Codex message type of a check's outcome, and its sentence.
fn notice(outcome: CheckNowOutcome) -> (&'static str, &'static str) {
    let kind = match outcome {
        o if o.is_success() => "success",
        CheckNowOutcome::Failed => "error",
        _ => "warning",
    };
    (kind, outcome.sentence())
}

/// The repository's page: its overview (no request), then the publishable files at the
/// branch head (a head and a tree request; a failure is said on the page).
async fn repository_page(
    state: &AppState,
    user: &CurrentUser,
    id: RepositoryId,
) -> AppResult<RepositoryPage> {
    let RepositoryOverview {
        repository,
        watched,
        mappings: statuses,
    } = state.app.repository_overview(user.id, id).await?;
    let names = WikiNames::load(&state.app).await?;
    let mut mappings: HashMap<WatchedFileId, Vec<MappingView>> = HashMap::new();
    for status in &statuses {
        mappings
            .entry(status.mapping.watched_file_id)
            .or_default()
            .push(MappingView::from(status).named(&names));
    }
    let watched_rows = watched
        .iter()
        .map(|file| {
            let (check, check_class) = file_check(file);
            WatchedRow {
                id: file.id.0,
                path: file.path.clone(),
                check,
                check_class,
                mappings: mappings.remove(&file.id).unwrap_or_default(),
            }
        })
        .collect();
    let mut page = RepositoryPage {
        layout: Layout::user(
            state,
            user,
            format!("Repository {}", repository_name(&repository.url)),
        ),
        checked: when_or_never(repository.last_checked_at.as_ref()),
        head: String::new(),
        files: Vec::new(),
        watched: watched_rows,
        notice: None,
        error: None,
        repository,
    };
    let mut unlisted: HashMap<&str, i64> =
        watched.iter().map(|w| (w.path.as_str(), w.id.0)).collect();
    match state.app.branch_files(&page.repository).await {
        Ok(at_head) => {
            page.head = short_sha(at_head.head.as_str());
            page.files = at_head
                .files
                .into_iter()
                .map(|f| FileChoice {
                    watched: unlisted.remove(f.path.as_str()),
                    blob: short_sha(f.blob_sha.as_str()),
                    path: f.path,
                })
                .collect();
        }
        // Shown on the page: the watched files are still worth seeing.
        Err(err) => page.error = Some(FormError::general(err.to_string())),
    }
    // Watched files no longer on the branch still show, so they can be removed.
    let mut gone: Vec<(&str, i64)> = unlisted.into_iter().collect();
    gone.sort_unstable();
    page.files
        .extend(gone.into_iter().map(|(path, id)| FileChoice {
            path: path.to_owned(),
            blob: "not on the branch".into(),
            watched: Some(id),
        }));
    Ok(page)
}

/// `POST /repositories/{id}/watch`: watch the ticked files (`path` fields); core checks the
/// repository right after, so the new files can be published at once.
pub async fn watch(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let id = RepositoryId(id);
    let paths: Vec<String> = form_fields(&body)
        .into_iter()
        .filter(|(name, _)| name == "path")
        .map(|(_, path)| path)
        .collect();
    let refusal = if paths.is_empty() {
        // The form's own words for an empty list of checkboxes.
        FormError::at_field("paths", "Tick at least one file to watch.")
    } else {
        match state.app.watch_files(user.id, id, &paths).await {
            Ok(watched) => {
                record_usage(&state, "watch_files");
                return Ok(Redirect::to(&checked_page(id, watched.check)).into_response());
            }
            Err(err) => refused(err, WATCH_FIELDS)?,
        }
    };
    let mut page = repository_page(&state, &user, id).await?;
    page.error = Some(refusal);
    refill(&page)
}

/// `POST /repositories/{id}/check`: check now instead of waiting for the hourly job.
pub async fn check_now(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    record_usage(&state, "check_now");
    check_and_show(&state, &user, RepositoryId(id)).await
}

/// Checks the repository now and shows its page saying what the check found (a fixed word in
/// the URL, never free text).
async fn check_and_show(
    state: &AppState,
    user: &CurrentUser,
    id: RepositoryId,
) -> AppResult<Response> {
    let (outcome, _) = state.app.check_repository_now(user.id, id, "web").await?;
    Ok(Redirect::to(&checked_page(id, Some(outcome))).into_response())
}

/// The repository's page, saying what a check found (a fixed word, never free text).
fn checked_page(id: RepositoryId, outcome: Option<CheckNowOutcome>) -> String {
    match outcome {
        Some(outcome) => format!("/repositories/{id}?check={}", outcome.as_str()),
        None => format!("/repositories/{id}"),
    }
}

/// `POST /repositories/{id}/delete`: stop tracking it, with its files and mappings.
pub async fn remove(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    state
        .app
        .remove_repository(user.id, RepositoryId(id))
        .await?;
    record_usage(&state, "remove_repository");
    Ok(Redirect::to("/").into_response())
}
