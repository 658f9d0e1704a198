//! `watch add | list | publish | remove`: watched files, and publishing one file to every page
//! it is mapped to.

use clap::Subcommand;
use serde_json::{Value, json};
use wikiscriptsync_core::app::{App, CheckNowOutcome, TargetOutcome};
use wikiscriptsync_core::publish::{FailureClass, PublishReport};
use wikiscriptsync_core::store::{RepositoryId, WatchedFileId};

use super::map::{failure_json, report_json, report_line, worst_exit};
use super::{Printed, Who, failure, removed, user, when};
use crate::Failure;

#[derive(Debug, Subcommand)]
pub(crate) enum WatchCommand {
    /// Watch files of a repository: .js, .css or .json files that exist at the branch head.
    Add {
        #[command(flatten)]
        who: Who,
        /// The repository's id.
        #[arg(long, value_name = "ID")]
        repo: i64,
        /// Paths inside the repository.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// List the watched files of a repository.
    List {
        #[command(flatten)]
        who: Who,
        /// The repository's id.
        #[arg(long, value_name = "ID")]
        repo: i64,
    },
    /// Publish a watched file to every page it is mapped to (publishing on), one line per
    /// target; the exit code is the worst outcome (0 all published or unchanged, 3 one was
    /// refused, 1 one failed otherwise). Uses the stored BotPasswords.
    Publish {
        #[command(flatten)]
        who: Who,
        /// The watched file's id (see `watch list`).
        id: i64,
        /// Show what would change on each page; edit nothing.
        #[arg(long)]
        dry_run: bool,
        /// Publish even over pages that changed on-wiki since the last publish.
        #[arg(long)]
        overwrite_drift: bool,
    },
    /// Stop watching a file (with its mappings).
    Remove {
        #[command(flatten)]
        who: Who,
        /// The watched file's id.
        id: i64,
    },
}

impl WatchCommand {
    pub(super) fn sends_requests(&self) -> bool {
        matches!(self, Self::Add { .. } | Self::Publish { .. })
    }
}

pub(super) async fn run(app: &App, command: WatchCommand) -> Result<Printed, Failure> {
    match command {
        WatchCommand::Add { who, repo, paths } => {
            let user = user(app, &who, true).await?;
            let watched = app
                .watch_files(user.id, RepositoryId(repo), &paths)
                .await
                .map_err(failure)?;
            let mut text: Vec<String> = watched
                .added
                .iter()
                .map(|f| format!("watching {} as file {}", f.path, f.id))
                .collect();
            text.extend(
                watched
                    .already
                    .iter()
                    .map(|p| format!("{p}: watched already")),
            );
            let rows: Vec<Value> = watched
                .added
                .iter()
                .map(|f| json!({"id": f.id.0, "path": f.path}))
                .collect();
            if let Some(check) = watched.check {
                text.push(check.sentence().to_owned());
            }
            Ok(Printed::ok(
                &who,
                json!({"ok": true, "added": rows, "already": watched.already,
                    "check": watched.check.map(CheckNowOutcome::as_str)}),
                text.join("\n"),
            ))
        }
        WatchCommand::List { who, repo } => {
            let user = user(app, &who, false).await?;
            let files = app
                .watched_files(user.id, RepositoryId(repo))
                .await
                .map_err(failure)?;
            let rows: Vec<Value> = files
                .iter()
                .map(|f| {
                    json!({
                        "id": f.id.0, "path": f.path, "blob_sha": f.last_blob_sha,
                        "last_status": f.last_status.map(|s| s.as_str()),
                        "last_checked_at": f.last_checked_at.map(|t| t.to_rfc3339()),
                    })
                })
                .collect();
            let mut text: String = files
                .iter()
                .map(|f| {
                    format!(
                        "{:>5}  {}  {}  last check {}\n",
                        f.id,
                        f.path,
                        f.last_blob_sha
                            .as_deref()
                            .map_or("-", |s| s.get(..7).unwrap_or(s)),
                        when(f.last_checked_at)
                    )
                })
                .collect();
            text.push_str(&format!("{} watched file(s)", files.len()));
            Ok(Printed::ok(&who, Value::Array(rows), text))
        }
        WatchCommand::Publish {
            who,
            id,
            dry_run,
            overwrite_drift,
        } => {
            let user = user(app, &who, false).await?;
            let file = WatchedFileId(id);
            let mut stopped = None;
            let outcomes: Vec<TargetOutcome<Result<PublishReport, String>>> = if dry_run {
                app.preview_everywhere(user.id, file)
                    .await
                    .map_err(failure)?
                    .into_iter()
                    .map(|t| TargetOutcome {
                        mapping: t.mapping,
                        result: t.result.map(|p| Err(p.diff)),
                    })
                    .collect()
            } else {
                let (published, signal) = crate::finish_despite_signal(app.publish_everywhere(
                    user.id,
                    file,
                    overwrite_drift,
                ))
                .await;
                stopped = signal;
                published
                    .map_err(failure)?
                    .into_iter()
                    .map(|t| TargetOutcome {
                        mapping: t.mapping,
                        result: t.result.map(Ok),
                    })
                    .collect()
            };
            let printed = everywhere(&who, &outcomes)?;
            Ok(match stopped {
                Some(signal) => printed.exit(signal),
                None => printed,
            })
        }
        WatchCommand::Remove { who, id } => {
            let user = user(app, &who, false).await?;
            app.unwatch_file(user.id, WatchedFileId(id))
                .await
                .map_err(failure)?;
            Ok(removed(&who, "watched file", id))
        }
    }
}

/// One line (and one JSON object) per target, and the worst outcome as the exit code. A
/// target's `Ok(Err(diff))` is a dry run's diff.
fn everywhere(
    who: &Who,
    outcomes: &[TargetOutcome<Result<PublishReport, String>>],
) -> Result<Printed, Failure> {
    if outcomes.is_empty() {
        return Err(Failure::Usage(
            "the file is not mapped to any page with publishing on: add one with `map add`"
                .to_owned(),
        ));
    }
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    let mut classes: Vec<Option<FailureClass>> = Vec::new();
    for target in outcomes {
        let mapping = &target.mapping;
        let page = format!("{} on {}", mapping.page_title, mapping.wiki);
        match &target.result {
            Ok(Err(diff)) => {
                let verdict = if diff.is_empty() {
                    "no change"
                } else {
                    "would change"
                };
                lines.push(format!("{page}: dry run, {verdict}"));
                rows.push(json!({"mapping": mapping.id.0, "page": mapping.page_title,
                    "wiki": mapping.wiki, "ok": true, "outcome": "preview", "diff": diff}));
                classes.push(None);
            }
            Ok(Ok(report)) => {
                lines.push(format!("{page}: {}", report_line(report)));
                rows.push(report_json(mapping, report));
                // An attempt not fully recorded is never a success.
                classes.push(report.record_error.is_some().then_some(FailureClass::Other));
            }
            Err(failure) => {
                lines.push(format!("{page}: {}", failure.user_message()));
                rows.push(failure_json(mapping, failure));
                classes.push(Some(match failure.record_error {
                    Some(_) => FailureClass::Other,
                    None => failure.class(),
                }));
            }
        }
    }
    let exit = worst_exit(classes);
    Ok(Printed::ok(who, Value::Array(rows), lines.join("\n")).exit(exit))
}
