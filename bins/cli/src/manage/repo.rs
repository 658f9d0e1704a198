//! `repo add | list | check | remove`.

use clap::Subcommand;
use serde_json::{Value, json};
use wikiscriptsync_core::app::App;
use wikiscriptsync_core::store::RepositoryId;

use super::{Printed, Who, failure, removed, user, when};
use crate::{Exit, Failure};

#[derive(Debug, Subcommand)]
pub(crate) enum RepoCommand {
    /// Track a public repository (GitHub or GitLab). The branch must exist; it is checked on
    /// the next check-updates, or at once with `repo check`.
    Add {
        #[command(flatten)]
        who: Who,
        /// The repository's URL, such as `https://github.com/owner/name`.
        url: String,
        /// The branch to follow (default: from a /tree/ URL, else the default branch).
        #[arg(long)]
        branch: Option<String>,
    },
    /// List the user's repositories.
    List {
        #[command(flatten)]
        who: Who,
    },
    /// Check a repository now instead of waiting for it to be due (same lease, log and quota
    /// as the scheduled check). Exit 1 when the check failed or could not run.
    Check {
        #[command(flatten)]
        who: Who,
        /// The repository's id (see `repo list`).
        id: i64,
    },
    /// Stop tracking a repository (with its watched files, mappings and logs).
    Remove {
        #[command(flatten)]
        who: Who,
        /// The repository's id (see `repo list`).
        id: i64,
    },
}

impl RepoCommand {
    pub(super) fn sends_requests(&self) -> bool {
        matches!(self, Self::Add { .. } | Self::Check { .. })
    }
}

pub(super) async fn run(app: &App, command: RepoCommand) -> Result<Printed, Failure> {
    match command {
        RepoCommand::Add { who, url, branch } => {
            let user = user(app, &who, true).await?;
            let repo = app
                .add_repository(user.id, &url, branch.as_deref())
                .await
                .map_err(failure)?;
            Ok(Printed::ok(
                &who,
                json!({"ok": true, "id": repo.id.0, "url": repo.url, "branch": repo.branch}),
                format!(
                    "added repository {} ({} on {})",
                    repo.id, repo.url, repo.branch
                ),
            ))
        }
        RepoCommand::List { who } => {
            let user = user(app, &who, false).await?;
            let listings = app.repositories(user.id).await.map_err(failure)?;
            let mut rows = Vec::new();
            let mut text = String::new();
            for listing in &listings {
                let r = &listing.repository;
                rows.push(json!({
                    "id": r.id.0, "url": r.url, "branch": r.branch, "head_sha": r.head_sha,
                    "last_status": r.last_status.map(|s| s.as_str()),
                    "last_checked_at": r.last_checked_at.map(|t| t.to_rfc3339()),
                    "watched_files": listing.watched_files,
                }));
                text.push_str(&format!(
                    "{:>5}  {} ({})  {} file(s), last check {} {}\n",
                    r.id,
                    r.url,
                    r.branch,
                    listing.watched_files,
                    when(r.last_checked_at),
                    r.last_status.map_or("", |s| s.as_str())
                ));
            }
            text.push_str(&format!("{} repositories", listings.len()));
            Ok(Printed::ok(&who, Value::Array(rows), text))
        }
        RepoCommand::Check { who, id } => {
            let user = user(app, &who, false).await?;
            let (outcome, report) = app
                .check_repository_now(user.id, RepositoryId(id), "cli")
                .await
                .map_err(failure)?;
            let changes: Vec<Value> = report
                .iter()
                .flat_map(|r| &r.changes)
                .map(|c| json!({"kind": c.kind(), "subject": c.subject()}))
                .collect();
            // A spent share names its host and when checks resume.
            let share = report
                .iter()
                .flat_map(|r| &r.shares_spent)
                .map(|s| s.spent.to_string())
                .next();
            let text = match &share {
                Some(share) => format!("{} {share}", outcome.sentence()),
                None => outcome.sentence().to_owned(),
            };
            let printed = Printed::ok(
                &who,
                json!({"ok": outcome.is_success(), "outcome": outcome.as_str(), "changes": changes, "share_spent": share}),
                text,
            );
            Ok(if outcome.is_success() {
                printed
            } else {
                printed.exit(Exit::Other)
            })
        }
        RepoCommand::Remove { who, id } => {
            let user = user(app, &who, false).await?;
            app.remove_repository(user.id, RepositoryId(id))
                .await
                .map_err(failure)?;
            Ok(removed(&who, "repository", id))
        }
    }
}
