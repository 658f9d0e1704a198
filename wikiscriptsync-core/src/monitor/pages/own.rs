//! A new revision that is our own publish whose record was lost (the process stopped, or the
//! database failed, between the edit and its record): the watcher reports it neither as a
//! change made on the wiki nor as a notable check, and records it the way the publish would
//! have — its write-ahead row settled as published (once), and the mapping's last publish moved
//! up to the revision, so the dashboard does not call the page changed on-wiki.

use chrono::Utc;

use super::lookup::Looked;
use super::*;
use crate::publish::unrecorded;
use crate::store::{PublishLogEntry, PublishedState};

/// A page lookup's new revision that may be our own edit.
pub(super) struct Candidate {
    /// The position of its check in [`Looked::checks`].
    pub(super) check: usize,
    /// The monitor (its user, wiki, title and the revision it saw before).
    pub(super) monitor: PageMonitor,
    /// The live revision.
    pub(super) revision: u64,
    /// The live revision's SHA-1 (`rvprop=sha1`).
    pub(super) sha1: String,
}

impl PageWatcher {
    /// Takes the candidates that are our own unrecorded edits out of `looked`'s events, marks
    /// their checks unchanged, and records them.
    pub(super) async fn take_own_edits(
        &self,
        shared: &Shared,
        looked: &mut Looked,
        candidates: Vec<Candidate>,
    ) {
        for candidate in candidates {
            let Candidate {
                check,
                monitor,
                revision,
                sha1,
            } = candidate;
            let store = self.store.as_ref();
            let Some(row) = unrecorded::find(
                store,
                monitor.user_id,
                &monitor.wiki,
                &monitor.page_title,
                &sha1,
                monitor.last_revid,
            )
            .await
            else {
                continue;
            };
            {
                let _turn = shared.writes.lock().await;
                unrecorded::settle(store, monitor.user_id, &row, revision, "the page watcher")
                    .await;
                self.record_on_mapping(&row, revision).await;
            }
            looked.events.retain(|(id, _)| *id != monitor.id);
            if let Some(check) = looked.checks.get_mut(check) {
                check.status = PageCheckStatus::Unchanged;
                let detail = check.detail.take().unwrap_or_default();
                check.detail = Some(format!(
                    "{detail} (our own publish, whose record was missing: recorded now)"
                ));
            }
        }
    }

    /// Moves the row's mapping's last publish up to `revision` (never back), as the publish
    /// would have done had it been recorded.
    async fn record_on_mapping(&self, row: &PublishLogEntry, revision: u64) {
        let e = &row.entry;
        let (Some(id), Some(blob), Some(commit)) = (e.mapping_id, &e.blob_sha, &e.commit_sha)
        else {
            return;
        };
        let revid = i64::try_from(revision).unwrap_or(i64::MAX);
        let mapping = match self.store.mapping(e.user_id, id).await {
            Ok(Some(mapping)) => mapping,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "could not read the mapping of an unrecorded edit");
                return;
            }
        };
        if mapping.last_published.is_some_and(|p| p.revid >= revid) {
            return;
        }
        let state = PublishedState {
            blob_sha: blob.clone(),
            commit_sha: commit.clone(),
            revid,
            at: Utc::now(),
        };
        if let Err(error) = self.store.record_published(e.user_id, id, &state).await {
            tracing::warn!(%error, "could not record an unrecorded edit on its mapping");
        }
    }
}
