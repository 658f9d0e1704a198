//! Publishing a mapping: a preview (a dry run: the unified diff from the live page to the file
//! at the checked commit, and, when the page changed on-wiki since our last publish, that
//! change too with an explicit "overwrite" choice), then the publish and its result with a
//! link to the new revision's diff.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Html;
use serde::Deserialize;

use wikiscriptsync_core::app::publishing::{Preview, PreviewDiff, TargetOutcome};
use wikiscriptsync_core::publish::{
    FailureClass, PublishError, PublishFailure, PublishOutcome, PublishReport,
};
use wikiscriptsync_core::store::{Mapping, MappingId, WatchedFileId};

use crate::error::AppResult;
use crate::session::CurrentUser;
use crate::state::{AppState, SharedState};
use crate::views::{Layout, plain_message};

use super::{record_usage, render, ticked};

#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewPage {
    layout: Layout,
    mapping: Mapping,
    /// The dry run's diff, or why it failed.
    target: TargetPreview,
}

/// One target's preview as the pages show it.
pub struct TargetPreview {
    /// Live page → file; empty when identical.
    pub diff: Vec<DiffLine>,
    /// What changed on-wiki since our last publish, when anything did.
    pub drift: Option<Vec<DiffLine>>,
    /// The page would be created.
    pub creates: bool,
    /// Nothing to publish.
    pub identical: bool,
    /// Why the preview failed.
    pub error: Option<Failure>,
    /// The commit the file would be published from.
    pub commit: String,
    /// The file's path.
    pub path: String,
}

impl TargetPreview {
    /// The dry run's answer, in lines and flags for the template.
    pub fn of(result: Result<PreviewDiff, PublishFailure>, repository: Option<i64>) -> Self {
        match result {
            Ok(preview) => Self {
                diff: diff_lines(&preview.diff),
                drift: preview.drift.as_deref().map(diff_lines),
                creates: preview.creates,
                identical: preview.identical,
                error: None,
                commit: preview.commit,
                path: preview.path,
            },
            Err(failure) => Self {
                diff: Vec::new(),
                drift: None,
                creates: false,
                identical: false,
                commit: failure.target.commit.clone().unwrap_or_default(),
                path: failure.target.path.clone().unwrap_or_default(),
                error: Some(Failure::from(&failure, repository)),
            },
        }
    }

    /// What publishing would do, in a few words (the preview's summary table).
    pub fn verdict(&self) -> (&'static str, &'static str) {
        match &self.error {
            Some(e) if e.busy => ("busy: try again in a moment", "status-warn"),
            Some(_) => ("cannot be published (see below)", "status-bad"),
            None if self.drift.is_some() => (
                "changed on-wiki: published only with overwrite",
                "status-bad",
            ),
            None if self.identical => ("nothing to publish", "status-ok"),
            None if self.creates => ("will be created", "status-warn"),
            None => ("will be changed", "status-warn"),
        }
    }
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
pub struct Failure {
    /// What went wrong and what to do.
    pub message: String,
    /// Another publish of the user's is running.
    pub busy: bool,
    /// Refused on purpose (drift, missing right, ...).
    pub refused: bool,
    /// The file was not checked yet: a check of its repository is offered.
    pub not_checked: bool,
    /// The repository to check, when `not_checked`.
    pub repository: Option<i64>,
}

impl Failure {
    /// The failure as the pages say it.
    pub fn from(failure: &PublishFailure, repository: Option<i64>) -> Self {
        Self {
            message: plain_message(&failure.user_message()),
            busy: failure.class() == FailureClass::Busy,
            refused: failure.class() == FailureClass::Refused,
            not_checked: is_not_checked(failure),
            repository,
        }
    }
}

fn is_not_checked(failure: &PublishFailure) -> bool {
    matches!(failure.error, PublishError::NotCheckedYet { .. })
}

/// The repository of the user's file, to offer "check now" when a publish failed because the
/// file was not checked yet (the only failure that needs it; `None` for all others).
pub async fn repository_to_check<'a>(
    state: &AppState,
    user: &CurrentUser,
    file: WatchedFileId,
    mut failures: impl Iterator<Item = &'a PublishFailure>,
) -> Option<i64> {
    if !failures.any(is_not_checked) {
        return None;
    }
    let file = state.app.watched_file(user.id, file).await.ok()?;
    Some(file.repository_id.0)
}

/// `GET /mappings/{id}/publish`: the preview (a dry run; with drift, what changed on-wiki and
/// what publishing over it would do).
pub async fn preview(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let Preview { mapping, result } = state.app.preview(user.id, MappingId(id)).await?;
    record_usage(&state, "preview");
    let repository = repository_to_check(
        &state,
        &user,
        mapping.watched_file_id,
        result.as_ref().err().into_iter(),
    )
    .await;
    render(&PreviewPage {
        layout: Layout::user(
            &state,
            &user,
            format!("Preview: publish to {}", mapping.page_title),
        ),
        target: TargetPreview::of(result, repository),
        mapping,
    })
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct Confirm {
    overwrite: Option<String>,
}

impl Confirm {
    /// Whether an on-wiki change may be overwritten ("overwrite" ticked).
    pub fn overwrite(&self) -> bool {
        ticked(self.overwrite.as_ref())
    }
}

/// One target's publish as the pages show it.
pub struct TargetResult {
    /// What happened, in a sentence, when it worked.
    pub ok: Option<String>,
    /// The outcome in a word or two (the result table).
    pub outcome: &'static str,
    /// The CSS class of the outcome.
    pub outcome_class: &'static str,
    /// The page's revision after it.
    pub revision: Option<u64>,
    /// The new revision's diff on the wiki.
    pub diff_url: Option<String>,
    /// Why it failed.
    pub error: Option<Failure>,
    /// MediaWiki merged the edit into on-wiki changes made meanwhile: what it merged (the
    /// text the publish was based on → the live text before it). Shown as a warning with
    /// this diff, never as a plain success.
    pub merged: Option<Vec<DiffLine>>,
    /// The attempt could not be recorded completely: what happened, that it is not on record
    /// and what to do (core's words, as the CLI says them). Never shown as a plain success.
    pub unrecorded: Option<String>,
}

impl TargetResult {
    /// The publish's answer, in words.
    pub fn of(result: Result<PublishReport, PublishFailure>, repository: Option<i64>) -> Self {
        match result {
            Ok(report) => {
                let unrecorded = report.unrecorded_warning();
                let merged = matches!(report.outcome, PublishOutcome::Merged { .. })
                    .then(|| diff_lines(report.drift.as_deref().unwrap_or_default()));
                let (ok, outcome, outcome_class, revision) = match report.outcome {
                    PublishOutcome::Published {
                        created: true,
                        new_revision,
                        ..
                    } => (
                        format!("Created the page at revision {new_revision}."),
                        "created",
                        "status-ok",
                        Some(new_revision),
                    ),
                    PublishOutcome::Published { new_revision, .. } => (
                        format!("Published: the page is now at revision {new_revision}."),
                        "published",
                        "status-ok",
                        Some(new_revision),
                    ),
                    PublishOutcome::Merged {
                        new_revision,
                        latest_revision,
                        ..
                    } => (
                        report.message.clone(),
                        "merged with on-wiki changes",
                        "status-warn",
                        Some(new_revision.unwrap_or(latest_revision)),
                    ),
                    PublishOutcome::NoChange { revision } => (
                        format!(
                            "Nothing to do: the page already has this text (revision {revision})."
                        ),
                        "already up to date",
                        "status-ok",
                        Some(revision),
                    ),
                    PublishOutcome::WouldPublish { .. } => {
                        (report.message.clone(), "not published", "muted", None)
                    }
                };
                let (outcome, outcome_class) = if unrecorded.is_some() {
                    ("done, but not recorded", "status-warn")
                } else {
                    (outcome, outcome_class)
                };
                Self {
                    ok: Some(ok),
                    outcome,
                    outcome_class,
                    revision,
                    diff_url: report.diff_url,
                    error: None,
                    merged,
                    unrecorded,
                }
            }
            Err(failure) => {
                let unrecorded = failure.unrecorded_warning();
                let error = Failure::from(&failure, repository);
                let (outcome, outcome_class) = if error.busy {
                    ("busy", "status-warn")
                } else if error.refused {
                    ("refused", "status-bad")
                } else {
                    ("failed", "status-bad")
                };
                Self {
                    ok: None,
                    outcome,
                    outcome_class,
                    revision: None,
                    diff_url: None,
                    error: Some(error),
                    merged: None,
                    unrecorded,
                }
            }
        }
    }
}

#[derive(Template)]
#[template(path = "published.html")]
struct ResultPage {
    layout: Layout,
    mapping: Mapping,
    result: TargetResult,
}

/// `POST /mappings/{id}/publish`: publish, then say how it went.
pub async fn publish(
    State(state): State<SharedState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(confirm): Form<Confirm>,
) -> AppResult<Html<String>> {
    let overwrite = confirm.overwrite();
    let TargetOutcome { mapping, result } =
        state.app.publish(user.id, MappingId(id), overwrite).await?;
    record_usage(&state, "publish");
    let repository = repository_to_check(
        &state,
        &user,
        mapping.watched_file_id,
        result.as_ref().err().into_iter(),
    )
    .await;
    render(&ResultPage {
        layout: Layout::user(&state, &user, format!("Publish to {}", mapping.page_title)),
        result: TargetResult::of(result, repository),
        mapping,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wikiscriptsync_core::publish::{DriftMemory, PublishTargetSummary, RequestCounts};

    #[test]
    fn a_merged_publish_is_a_warning_with_the_merged_change_never_a_plain_success() {
        let report = PublishReport {
            outcome: PublishOutcome::Merged {
                base_revision: 7,
                latest_revision: 8,
                new_revision: Some(9),
            },
            dry_run: false,
            target: PublishTargetSummary::default(),
            requests: RequestCounts::default(),
            diff_url: None,
            diff: String::new(),
            drift: Some("--- a\n+++ b\n@@ -1 +1 @@\n-d();\n+D();\n".to_owned()),
            overwrote_drift: false,
            drift_memory: DriftMemory::Store,
            log_id: None,
            message: "not a clean publish: merged".to_owned(),
            record_error: None,
        };
        let result = TargetResult::of(Ok(report), None);
        assert_eq!(result.outcome, "merged with on-wiki changes");
        assert_eq!(result.outcome_class, "status-warn");
        assert_eq!(result.revision, Some(9));
        let merged = result.merged.expect("the merged change is shown");
        assert!(
            merged
                .iter()
                .any(|l| l.class == "diff-add" && l.text.contains("D();")),
            "the racer's line is shown as added"
        );
    }
}
