//! Adding a repository (URL and branch, the default branch offered), choosing which of its
//! publishable files to watch (one tree request), checking it now, and removing it.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use wikiscriptsync_core::forge::{ForgeKind, RepoLocator, Usage, is_publishable};
use wikiscriptsync_core::monitor::{
    RepositoryCheckSettings, RepositoryChecker, RepositoryRunReport, runner_id,
};
use wikiscriptsync_core::store::{
    Forge, MappingScope, NewRepository, Repository, RepositoryId, StoreError, WatchedFileId,
};

use crate::app::{AppState, SharedState};
use crate::error::{AppError, AppResult};
use crate::session::CurrentUser;
use crate::views::{Layout, MappingView, file_check, short_sha, when_or_never};

use super::{form_fields, record_usage, refill, render};

#[derive(Template)]
#[template(path = "repository_new.html")]
struct NewRepositoryPage {
    layout: Layout,
    url: String,
    branch: String,
    default_branch: Option<String>,
    error: Option<String>,
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
) -> AppResult<Html<String>> {
    let mut page = NewRepositoryPage {
        layout: Layout::user(&state, &user, "Add a repository"),
        url: String::new(),
        branch: String::new(),
        default_branch: None,
        error: None,
    };
    if let Some(url) = lookup.url.filter(|u| !u.trim().is_empty()) {
        page.url = url.trim().to_owned();
        match default_branch(&state, &page.url).await {
            Ok((locator, branch)) => {
                page.branch = locator.branch.unwrap_or_else(|| branch.clone());
                page.default_branch = Some(branch);
            }
            Err(message) => page.error = Some(message),
        }
    }
    render(&page)
}

async fn default_branch(state: &AppState, url: &str) -> Result<(RepoLocator, String), String> {
    let locator = state
        .forges
        .parse_repo_url(url)
        .map_err(|e| e.to_string())?;
    let mut usage = Usage::default();
    let branch = state
        .forges
        .for_repo(&locator)
        .default_branch(&locator, &mut usage)
        .await
        .map_err(|e| e.to_string())?;
    Ok((locator, branch))
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
    let new = match new_repository(&state, &form).await {
        Ok(new) => new,
        Err(message) => return refill_new_form(&state, &user, &form, message),
    };
    let repository = match state.store.add_repository(user.id, &new, Utc::now()).await {
        Ok(repository) => repository,
        Err(StoreError::AlreadyExists { .. }) => {
            let message = format!("You already track {} at branch {}.", new.url, new.branch);
            return refill_new_form(&state, &user, &form, message);
        }
        Err(err) => return Err(err.into()),
    };
    record_usage(&state, "add_repository");
    Ok(Redirect::to(&format!("/repositories/{}", repository.id)).into_response())
}

/// The repository the form asks for, or what is wrong with it. Without a branch, the one in
/// the URL or else the default branch (one request).
async fn new_repository(state: &AppState, form: &AddRepository) -> Result<NewRepository, String> {
    let locator = state
        .forges
        .parse_repo_url(form.url.trim())
        .map_err(|e| e.to_string())?;
    let branch = match form.branch.trim() {
        "" => match &locator.branch {
            Some(branch) => branch.clone(),
            None => default_branch(state, form.url.trim()).await?.1,
        },
        branch => branch.to_owned(),
    };
    Ok(NewRepository {
        forge: match locator.kind {
            ForgeKind::GitHub => Forge::GitHub,
            ForgeKind::GitLab => Forge::GitLab,
        },
        host: locator.web_base.host_str().unwrap_or_default().to_owned(),
        url: locator.web_url(),
        branch,
    })
}

fn refill_new_form(
    state: &AppState,
    user: &CurrentUser,
    form: &AddRepository,
    message: String,
) -> AppResult<Response> {
    refill(&NewRepositoryPage {
        layout: Layout::user(state, user, "Add a repository"),
        url: form.url.trim().to_owned(),
        branch: form.branch.trim().to_owned(),
        default_branch: None,
        error: Some(message),
    })
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
    error: Option<String>,
}

/// The user's repository, or 404.
pub async fn owned_repository(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> AppResult<Repository> {
    state
        .store
        .repository(user.id, RepositoryId(id))
        .await?
        .ok_or(AppError::NotFound)
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
    let repository = owned_repository(&state, &user, id).await?;
    let mut page = repository_page(&state, &user, repository).await?;
    page.notice = query
        .check
        .as_deref()
        .and_then(CheckOutcome::parse)
        .map(CheckOutcome::notice);
    render(&page)
}

async fn repository_page(
    state: &AppState,
    user: &CurrentUser,
    repository: Repository,
) -> AppResult<RepositoryPage> {
    let watched = state
        .store
        .list_watched_files(user.id, repository.id)
        .await?;
    let mut mappings: HashMap<WatchedFileId, Vec<MappingView>> = HashMap::new();
    for status in state
        .store
        .mapping_statuses(user.id, &MappingScope::Repository(repository.id))
        .await?
    {
        mappings
            .entry(status.mapping.watched_file_id)
            .or_default()
            .push(MappingView::from(&status));
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
        layout: Layout::user(state, user, "Repository"),
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
    match publishable_files(state, &page.repository).await {
        Ok((head, files)) => {
            page.head = head;
            page.files = files
                .into_iter()
                .map(|(path, blob)| FileChoice {
                    watched: unlisted.remove(path.as_str()),
                    path,
                    blob,
                })
                .collect();
        }
        Err(message) => page.error = Some(message),
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

/// The head commit (short) and the publishable files with their blob SHAs: a head request
/// and one tree request.
async fn publishable_files(
    state: &AppState,
    repository: &Repository,
) -> Result<(String, Vec<(String, String)>), String> {
    let locator = state
        .forges
        .parse_repo_url(&repository.url)
        .map_err(|e| e.to_string())?;
    let forge = state.forges.for_repo(&locator);
    let mut usage = Usage::default();
    let head = forge
        .head(&locator, &repository.branch, None, &mut usage)
        .await
        .map_err(|e| e.to_string())?;
    let files = forge
        .publishable_files(&locator, head.sha(), &mut usage)
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        short_sha(head.sha().as_str()),
        files
            .into_iter()
            .map(|f| (f.path, short_sha(f.blob_sha.as_str())))
            .collect(),
    ))
}

/// `POST /repositories/{id}/watch`: watch the ticked files (`path` fields), then check the
/// repository so that the new files can be published at once.
pub async fn watch(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let repository = owned_repository(&state, &user, id).await?;
    let already: BTreeSet<String> = state
        .store
        .list_watched_files(user.id, repository.id)
        .await?
        .into_iter()
        .map(|f| f.path)
        .collect();
    let paths: BTreeSet<String> = form_fields(&body)
        .into_iter()
        .filter(|(name, _)| name == "path")
        .map(|(_, path)| path)
        .collect();
    if paths.is_empty() {
        let mut page = repository_page(&state, &user, repository).await?;
        page.error = Some("Tick at least one file to watch.".into());
        return refill(&page);
    }
    if let Some(bad) = paths.iter().find(|p| !is_publishable(p)) {
        return Err(AppError::BadRequest(format!(
            "{bad} is not a .js, .css or .json file, so it cannot be published."
        )));
    }
    let now = Utc::now();
    for path in paths.difference(&already) {
        state
            .store
            .watch_file(user.id, repository.id, path, now)
            .await?;
    }
    record_usage(&state, "watch_files");
    let outcome = check_repository(&state, &user, repository.id).await;
    Ok(Redirect::to(&checked_page(repository.id, outcome)).into_response())
}

/// `POST /repositories/{id}/check`: check now instead of waiting for the hourly job.
pub async fn check_now(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let repository = owned_repository(&state, &user, id).await?;
    record_usage(&state, "check_now");
    let outcome = check_repository(&state, &user, repository.id).await;
    Ok(Redirect::to(&checked_page(repository.id, outcome)).into_response())
}

/// The repository's page, saying what the check found.
fn checked_page(id: RepositoryId, outcome: CheckOutcome) -> String {
    format!("/repositories/{id}?check={}", outcome.as_str())
}

/// What a check started from the web found, carried in the redirect as a fixed word (never
/// free text) so the repository's page can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckOutcome {
    Unchanged,
    Moved,
    Failed,
    /// The forge quota is down to the reserve: not checked.
    Reserve,
    /// Another runner (the scheduled job) holds the repository's lease: not checked.
    Busy,
}

impl CheckOutcome {
    const ALL: [Self; 5] = [
        Self::Unchanged,
        Self::Moved,
        Self::Failed,
        Self::Reserve,
        Self::Busy,
    ];

    fn of(report: &RepositoryRunReport) -> Self {
        if report.checked == 0 {
            if report.reserve_reached.is_empty() {
                Self::Busy
            } else {
                Self::Reserve
            }
        } else if report.failed > 0 {
            Self::Failed
        } else if report.moved > 0 {
            Self::Moved
        } else {
            Self::Unchanged
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Moved => "moved",
            Self::Failed => "failed",
            Self::Reserve => "reserve",
            Self::Busy => "busy",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// The Codex message type and the words.
    fn notice(self) -> (&'static str, &'static str) {
        match self {
            Self::Unchanged => (
                "success",
                "Checked just now: the branch has not moved since the last check.",
            ),
            Self::Moved => (
                "success",
                "Checked just now: the branch moved. Each watched file's state is below.",
            ),
            Self::Failed => (
                "error",
                "The check failed. Each file's check history says why; the hourly check will \
                 try again.",
            ),
            Self::Reserve => (
                "warning",
                "Not checked: the forge's request quota for this hour is nearly spent. The \
                 hourly check will check it once the quota is back.",
            ),
            Self::Busy => (
                "warning",
                "Not checked now: the scheduled check is checking this repository at this \
                 moment. Its result shows here within a few minutes.",
            ),
        }
    }
}

/// Requests per forge host left unspent by checks started from the web.
const WEB_QUOTA_RESERVE: u64 = 5;

/// Checks the user's repository now, and only it: neither waiting for it to be due nor
/// spending the forge quota on other repositories.
async fn check_repository(state: &AppState, user: &CurrentUser, id: RepositoryId) -> CheckOutcome {
    let mut settings = RepositoryCheckSettings::new(runner_id("web", &state.runner_host));
    // A person is waiting, and without a token GitHub allows only 60 requests an hour: keep a
    // small reserve instead of the hourly job's 100, which would skip every anonymous check.
    settings.quota_reserve = WEB_QUOTA_RESERVE;
    let checker = RepositoryChecker::new(state.store.clone(), state.forges.clone(), settings);
    match checker.check_one(user.id, id).await {
        Ok(Some(report)) => {
            tracing::info!(summary = %report.summary(), "repository check from the web");
            CheckOutcome::of(&report)
        }
        // Removed since the ownership check: its page will say it is gone.
        Ok(None) => CheckOutcome::Failed,
        Err(err) => {
            tracing::warn!(error = %err, "repository check from the web failed");
            CheckOutcome::Failed
        }
    }
}

/// `POST /repositories/{id}/delete`: stop tracking it, with its files and mappings.
pub async fn remove(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    if !state
        .store
        .remove_repository(user.id, RepositoryId(id))
        .await?
    {
        return Err(AppError::NotFound);
    }
    record_usage(&state, "remove_repository");
    Ok(Redirect::to("/").into_response())
}
