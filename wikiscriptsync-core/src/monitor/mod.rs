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

use crate::store::StoreError;

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
