//! Publishing a mapping: a preview (a dry run: the unified diff from the live page to the file
//! at the checked commit, and, when the page changed on-wiki since our last publish, that
//! change too with an explicit "overwrite" choice), then the publish and its result with a
//! link to the new revision's diff.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Html;
use serde::Deserialize;

use wikiscriptsync_core::publish::{
    FailureClass, MappingPublish, PublishError, PublishFailure, PublishOptions, PublishOutcome,
    PublishReport,
};
use wikiscriptsync_core::store::{Mapping, MappingId};

use crate::app::{AppState, SharedState};
use crate::error::{AppError, AppResult};
use crate::session::CurrentUser;
use crate::views::Layout;

use super::{record_usage, render, ticked};

#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewPage {
    layout: Layout,
    mapping: Mapping,
    /// Live page → file; empty when identical.
    diff: Vec<DiffLine>,
    /// What changed on-wiki since our last publish, when anything did.
    drift: Option<Vec<DiffLine>>,
    /// The page would be created.
    creates: bool,
    /// Nothing to publish.
    identical: bool,
    /// Why the preview failed.
    error: Option<Failure>,
    commit: String,
    path: String,
}

/// One line of a unified diff with its CSS class (added, removed, hunk header or context).
pub struct DiffLine {
    /// `diff-add`, `diff-del`, `diff-hunk` or `diff-context`.
    pub class: &'static str,
    /// The line as it is (escaped by the template).
    pub text: String,
}

/// Splits a unified diff into classed lines, so additions and removals can be coloured by CSS.
pub fn diff_lines(diff: &str) -> Vec<DiffLine> {
    diff.lines()
        .map(|line| DiffLine {
            class: if line.starts_with("+++") || line.starts_with("---") {
                "diff-file"
            } else if line.starts_with('+') {
                "diff-add"
            } else if line.starts_with('-') {
                "diff-del"
            } else if line.starts_with("@@") {
                "diff-hunk"
            } else {
                "diff-context"
            },
            text: line.to_owned(),
        })
        .collect()
}

/// A failure in words.
struct Failure {
    message: String,
    busy: bool,
    refused: bool,
    not_checked: bool,
    repository: Option<i64>,
}

impl Failure {
    fn from(failure: &PublishFailure, repository: Option<i64>) -> Self {
        Self {
            message: failure.user_message(),
            busy: failure.class() == FailureClass::Busy,
            refused: failure.class() == FailureClass::Refused,
            not_checked: matches!(failure.error, PublishError::NotCheckedYet { .. }),
            repository,
        }
    }
}

async fn owned_mapping(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Mapping> {
    state
        .store
        .mapping(user.id, MappingId(id))
        .await?
        .ok_or(AppError::NotFound)
}

async fn repository_of(state: &AppState, user: &CurrentUser, mapping: &Mapping) -> Option<i64> {
    let file = state
        .store
        .watched_file(user.id, mapping.watched_file_id)
        .await
        .ok()??;
    Some(file.repository_id.0)
}

async fn dry_run(
    state: &AppState,
    user: &CurrentUser,
    mapping: &Mapping,
    overwrite_drift: bool,
) -> Result<PublishReport, PublishFailure> {
    state
        .publisher
        .publish_mapping(
            MappingPublish {
                user: user.id,
                mapping: mapping.id,
            },
            PublishOptions {
                dry_run: true,
                overwrite_drift,
            },
        )
        .await
}

/// `GET /mappings/{id}/publish`: the preview.
pub async fn preview(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let mapping = owned_mapping(&state, &user, id).await?;
    record_usage(&state, "preview");
    let mut page = PreviewPage {
        layout: Layout::user(&state, &user, "Preview the publish"),
        diff: Vec::new(),
        drift: None,
        creates: false,
        identical: false,
        error: None,
        commit: String::new(),
        path: String::new(),
        mapping,
    };
    let mut result = dry_run(&state, &user, &page.mapping, false).await;
    if let Err(PublishFailure {
        error: PublishError::Drift { diff, .. },
        ..
    }) = &result
    {
        // Show the on-wiki change, and what publishing over it would do.
        page.drift = Some(diff_lines(diff));
        result = dry_run(&state, &user, &page.mapping, true).await;
    }
    match result {
        Ok(report) => {
            page.diff = diff_lines(&report.diff);
            page.commit = report.target.commit.unwrap_or_default();
            page.path = report.target.path.unwrap_or_default();
            match report.outcome {
                PublishOutcome::WouldPublish { would_create } => page.creates = would_create,
                PublishOutcome::NoChange { .. } => page.identical = true,
                PublishOutcome::Published { .. } => {}
            }
        }
        Err(failure) => {
            let repository = repository_of(&state, &user, &page.mapping).await;
            page.error = Some(Failure::from(&failure, repository));
        }
    }
    render(&page)
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct Confirm {
    overwrite: Option<String>,
}

#[derive(Template)]
#[template(path = "published.html")]
struct ResultPage {
    layout: Layout,
    mapping: Mapping,
    ok: Option<String>,
    diff_url: Option<String>,
    error: Option<Failure>,
}

/// `POST /mappings/{id}/publish`: publish, then say how it went.
pub async fn publish(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(confirm): Form<Confirm>,
) -> AppResult<Html<String>> {
    let mapping = owned_mapping(&state, &user, id).await?;
    record_usage(&state, "publish");
    let result = state
        .publisher
        .publish_mapping(
            MappingPublish {
                user: user.id,
                mapping: mapping.id,
            },
            PublishOptions {
                dry_run: false,
                overwrite_drift: ticked(confirm.overwrite.as_ref()),
            },
        )
        .await;
    let mut page = ResultPage {
        layout: Layout::user(&state, &user, "Publish result"),
        ok: None,
        diff_url: None,
        error: None,
        mapping,
    };
    match result {
        Ok(report) => {
            page.ok = Some(match report.outcome {
                PublishOutcome::Published {
                    created: true,
                    new_revision,
                    ..
                } => format!("Created the page at revision {new_revision}."),
                PublishOutcome::Published { new_revision, .. } => {
                    format!("Published: the page is now at revision {new_revision}.")
                }
                PublishOutcome::NoChange { revision } => {
                    format!("Nothing to do: the page already has this text (revision {revision}).")
                }
                PublishOutcome::WouldPublish { .. } => report.message.clone(),
            });
            page.diff_url = report.diff_url;
        }
        Err(failure) => {
            let repository = repository_of(&state, &user, &page.mapping).await;
            page.error = Some(Failure::from(&failure, repository));
        }
    }
    render(&page)
}
