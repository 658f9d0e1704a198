//! Monitoring: the repository checker ([`RepositoryChecker`], `check-updates`) and the page
//! watcher ([`PageWatcher`], `check-wiki-updates`). Both claim due work in the database with a
//! lease, so several runners never check the same item in a run, write each result in one
//! transaction, and return a report with one [`ChangeEvent`] per change for the notifier.

mod events;
mod pages;
mod repos;

pub use events::{ChangeEvent, FileChange, PageChange};
pub use pages::{PageCheckSettings, PageRunReport, PageWatcher, WikiFailure};
pub use repos::{
    RepositoryCheckSettings, RepositoryChecker, RepositoryFailure, RepositoryRunReport,
    ReserveReached,
};

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::store::{CheckOutlook, CheckQueue, HeldItem, MadeDue, Store, StoreError};

/// Which items a run checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection<Id> {
    /// The due ones (what the scheduled jobs check).
    #[default]
    Due,
    /// Every item, due or not (`--all`).
    All,
    /// These items, due or not (`--repo ID`, `--page ID`).
    Only(Vec<Id>),
}

impl<Id> Selection<Id> {
    /// From command-line flags: `--all`, else the ids given, else (neither) the due items.
    pub fn from_flags(all: bool, ids: impl IntoIterator<Item = Id>) -> Self {
        let ids: Vec<Id> = ids.into_iter().collect();
        if all {
            Self::All
        } else if ids.is_empty() {
            Self::Due
        } else {
            Self::Only(ids)
        }
    }
}

/// Why a run checked what it did: how its queue stands afterwards, and which of the items
/// asked for by hand were not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutlook {
    /// When the queue was looked at (the end of the run).
    pub at: DateTime<Utc>,
    /// The queue: due, next due time, held by another runner until when.
    pub queue: CheckOutlook,
    /// Items asked for by hand that another runner holds (left to it).
    pub held: Vec<HeldItem>,
    /// Ids asked for by hand that do not exist.
    pub not_found: Vec<i64>,
}

impl RunOutlook {
    /// `0 due; next due at 14:05 UTC; 6 held by another runner until 13:20 UTC`, plus the
    /// items asked for that were held or not found (`noun`: `repository`, `page`).
    pub fn describe(&self, noun: &str) -> String {
        let mut parts = vec![format!("{} due", self.queue.due)];
        if let Some(next) = self.queue.next_due_at {
            parts.push(format!("next due at {}", self.time(next)));
        }
        if self.queue.held > 0 {
            let until = self
                .queue
                .held_until
                .map(|until| format!(" until {}", self.time(until)))
                .unwrap_or_default();
            parts.push(format!("{} held by another runner{until}", self.queue.held));
        }
        for held in &self.held {
            parts.push(format!(
                "{noun} {} not checked: another runner holds it until {}",
                held.id,
                self.time(held.until)
            ));
        }
        if !self.not_found.is_empty() {
            let ids: Vec<String> = self.not_found.iter().map(i64::to_string).collect();
            parts.push(format!("no {noun} {}", ids.join(", ")));
        }
        parts.join("; ")
    }

    /// `14:05 UTC` today, `2026-12-03 14:05 UTC` on another day.
    fn time(&self, at: DateTime<Utc>) -> String {
        if at.date_naive() == self.at.date_naive() {
            at.format("%H:%M UTC").to_string()
        } else {
            at.format("%Y-%m-%d %H:%M UTC").to_string()
        }
    }
}

/// Makes the selected items of `queue` due now (none for [`Selection::Due`]); the ids to
/// claim among (None: every due item) and what was held or missing.
pub(crate) async fn select<Id: Copy>(
    store: &dyn Store,
    queue: CheckQueue,
    selection: &Selection<Id>,
    raw: fn(Id) -> i64,
    owner: &str,
) -> Result<(Option<Vec<Id>>, MadeDue), RunError> {
    let (only, ids) = match selection {
        Selection::Due => return Ok((None, MadeDue::default())),
        Selection::All => (None, None),
        Selection::Only(ids) => (
            Some(ids.clone()),
            Some(ids.iter().copied().map(raw).collect::<Vec<_>>()),
        ),
    };
    let made = store
        .make_due_now(queue, ids.as_deref(), owner, Utc::now())
        .await
        .map_err(RunError::Store)?;
    Ok((only, made))
}

/// The queue after a run, with what [`select`] found held or missing.
pub(crate) async fn outlook(
    store: &dyn Store,
    queue: CheckQueue,
    owner: &str,
    made: MadeDue,
) -> Result<RunOutlook, RunError> {
    let at = Utc::now();
    let queue = store
        .check_outlook(queue, owner, at)
        .await
        .map_err(RunError::Store)?;
    Ok(RunOutlook {
        at,
        queue,
        held: made.held,
        not_found: made.missing,
    })
}

/// How far a run is: items finished and items still queued or in flight in the current batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Items finished so far (repositories, or wikis for the page watcher).
    pub done: u64,
    /// Items claimed but not finished yet.
    pub pending: u64,
}

/// Receives [`Progress`] after each item (a progress line on a terminal, or a test).
pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

pub(crate) fn report_progress(sink: Option<&ProgressSink>, progress: Progress) {
    if let Some(sink) = sink {
        sink(progress);
    }
}

/// Why a run stopped before checking everything that was due.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The database stopped answering (or refused a write).
    #[error(
        "the database failed during the run: {0}; every check written so far is complete (each \
         is one transaction) and nothing is half-written; the items still claimed will be \
         checked again when their lease expires. Check the database and run again"
    )]
    Store(#[source] StoreError),
    /// A check task panicked or was cancelled (a bug).
    #[error("a check task ended abnormally: {0}")]
    Task(String),
}

/// A runner id for claims, unique per process and start: host name (the settings'
/// `runner_host`), process id and start time.
pub fn runner_id(job: &str, host: &str) -> String {
    let suffix = format!(
        ":{}:{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    // The store keeps owners of at most 64 bytes: shorten the host, never the unique part.
    let room = RUNNER_ID_MAX.saturating_sub(job.len() + 1 + suffix.len());
    let host: String = host.chars().filter(char::is_ascii).take(room).collect();
    format!("{job}@{host}{suffix}")
}

/// The longest claim owner the store accepts.
const RUNNER_ID_MAX: usize = 64;

#[cfg(test)]
mod tests {
    #[test]
    fn runner_ids_fit_the_store_and_differ_per_job() {
        let host = "a-very-long-host-name-of-a-kubernetes-pod-0123456789abcdef";
        let id = super::runner_id("check-wiki-updates", host);
        assert!(id.len() <= 64, "{id}");
        assert!(id.starts_with("check-wiki-updates@a-very-long"), "{id}");
        assert_ne!(id, super::runner_id("check-updates", host));
    }
}
