//! "Publish to all N pages": one file to every page it is mapped to with publishing on. First
//! one preview per target (each target's diff, or why it cannot be published; an on-wiki
//! change since our last publish is shown with the overwrite choice), then the publish to
//! every target, one after the other, and a table with each target's outcome.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Html;

use wikiscriptsync_core::app::publishing::TargetOutcome;
use wikiscriptsync_core::store::{Mapping, WatchedFileId};

use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::state::SharedState;
use crate::views::Layout;

use super::publish::{Confirm, TargetPreview, TargetResult, repository_to_check};
use super::{record_usage, render};

/// The file's path as the targets' dry runs or publishes name it (they all publish the same
/// file; a target that failed before reading it has none).
fn file_path<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    paths
        .into_iter()
        .find(|p| !p.is_empty())
        .unwrap_or("this file")
        .to_owned()
}

#[derive(Template)]
#[template(path = "publish_all.html")]
struct PreviewAllPage {
    layout: Layout,
    file_id: i64,
    path: String,
    targets: Vec<(Mapping, TargetPreview)>,
    /// Targets with something to publish (the button is offered when there is any).
    publishable: usize,
    /// Targets changed on-wiki since our last publish (the overwrite choice is offered).
    drifted: usize,
}

/// `GET /files/{id}/publish`: one preview (dry run) per page the file is mapped to with
/// publishing on; nothing is edited.
pub async fn preview(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let file = WatchedFileId(id);
    let previews = state.app.preview_everywhere(user.id, file).await?;
    record_usage(&state, "preview_everywhere");
    let failures = previews.iter().filter_map(|t| t.result.as_ref().err());
    let repository = repository_to_check(&state, &user, file, failures).await;
    let targets: Vec<(Mapping, TargetPreview)> = previews
        .into_iter()
        .map(|TargetOutcome { mapping, result }| (mapping, TargetPreview::of(result, repository)))
        .collect();
    let count = |f: fn(&TargetPreview) -> bool| targets.iter().filter(|(_, t)| f(t)).count();
    render(&PreviewAllPage {
        layout: Layout::user(
            &state,
            &user,
            format!(
                "Publish {} to all {} pages",
                file_path(targets.iter().map(|(_, t)| t.path.as_str())),
                targets.len()
            ),
        ),
        file_id: id,
        path: file_path(targets.iter().map(|(_, t)| t.path.as_str())),
        publishable: count(|t| t.error.is_none() && !t.identical),
        drifted: count(|t| t.error.is_none() && t.drift.is_some()),
        targets,
    })
}

#[derive(Template)]
#[template(path = "published_all.html")]
struct ResultAllPage {
    layout: Layout,
    file_id: i64,
    path: String,
    results: Vec<(Mapping, TargetResult)>,
    /// Targets that have the file's text now (published, created or already up to date).
    done: usize,
    /// Targets refused for an on-wiki change (publish them again with the overwrite tick).
    refused: usize,
    /// The repository to check now, when a target failed because the file was not checked.
    check_repository: Option<i64>,
}

/// `POST /files/{id}/publish`: publish to every target (an on-wiki change is overwritten only
/// when `overwrite` is ticked), then a table of what happened on each.
pub async fn publish(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(confirm): Form<Confirm>,
) -> AppResult<Html<String>> {
    let file = WatchedFileId(id);
    let overwrite = confirm.overwrite();
    let outcomes = state
        .app
        .publish_everywhere(user.id, file, overwrite)
        .await?;
    record_usage(&state, "publish_everywhere");
    let failures = outcomes.iter().filter_map(|t| t.result.as_ref().err());
    let check_repository = repository_to_check(&state, &user, file, failures).await;
    let path = file_path(outcomes.iter().filter_map(|t| match &t.result {
        Ok(report) => report.target.path.as_deref(),
        Err(failure) => failure.target.path.as_deref(),
    }));
    let results: Vec<(Mapping, TargetResult)> = outcomes
        .into_iter()
        .map(|TargetOutcome { mapping, result }| {
            (mapping, TargetResult::of(result, check_repository))
        })
        .collect();
    render(&ResultAllPage {
        layout: Layout::user(&state, &user, format!("Published {path}")),
        file_id: id,
        path,
        done: results.iter().filter(|(_, r)| r.ok.is_some()).count(),
        refused: results
            .iter()
            .filter(|(_, r)| r.error.as_ref().is_some_and(|e| e.refused))
            .count(),
        check_repository,
        results,
    })
}
