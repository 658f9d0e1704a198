//! Record-keeping, step 8 of a publish: what was published remembered on the mapping, one
//! publish-log row per attempt (also for attempts that stopped before the mutex; for an
//! attempt that reached the edit, the row written ahead of it, settled now), the mutex
//! released, and the [`PublishReport`] or [`PublishFailure`] the caller gets — which says when
//! any of this could not be written. A dry run
//! records nothing: [`previewed`] and [`preview_failed`] only build what the caller gets.

use std::sync::PoisonError;

use chrono::Utc;
use tracing::{error, info, warn};

use crate::store::{
    NewPublishLogEntry, PublishLogId, PublishOutcome as LogOutcome, PublishSettlement,
    PublishTaskId, PublishedState, TaskOutcome,
};

use super::error::{FailureClass, PublishError, PublishFailure};
use super::job::{Done, Job, Memory, SharedProgress, update};
use super::publisher::Publisher;
use super::report::{
    DriftMemory, PublishOutcome, PublishReport, PublishTargetSummary, RequestCounts,
};
use super::request::MappingPublish;
use super::step::PublishStep;

/// The publish-log `message` column holds at most this many characters.
const LOG_MESSAGE_CHARS: usize = 1000;

impl Publisher {
    /// Step 8 after success: remember what was published, log, release.
    pub(super) async fn succeed(
        &self,
        job: &Job,
        memory: &Memory,
        task: PublishTaskId,
        progress: &SharedProgress,
        done: Done,
    ) -> PublishReport {
        update(progress, |p| p.step = Some(PublishStep::Record));
        let (target, requests) = snapshot(progress);
        let mut message = success_message(&done, &target, job.options.dry_run);
        let mut record_error = None;
        if let (Some(mapping), Some((blob, commit, revision))) = (memory.mapping, &done.published) {
            let state = PublishedState {
                blob_sha: blob.clone(),
                commit_sha: commit.clone(),
                revid: i64::try_from(*revision).unwrap_or(i64::MAX),
                at: Utc::now(),
            };
            let remembered = self
                .ledger
                .store
                .record_published(memory.user, mapping, &state)
                .await;
            if let Err(err) = remembered {
                error!(%err, "could not remember the published revision on the mapping");
                record_error = Some(format!(
                    "the published revision could not be remembered on the mapping: {err}"
                ));
                message.push_str(
                    " (warning: the published revision could not be saved, so the next publish \
                     may warn about drift)",
                );
            }
        }
        let outcome = match done.outcome {
            PublishOutcome::Published { .. } => LogOutcome::Published,
            PublishOutcome::Merged { .. } => LogOutcome::Merged,
            PublishOutcome::NoChange { .. } => LogOutcome::NoChange,
            PublishOutcome::WouldPublish { .. } => LogOutcome::WouldPublish,
        };
        let dry_run = job.options.dry_run;
        let mut entry = log_entry(memory, dry_run, Some(task), &target, outcome, &message);
        entry.new_revid = match done.outcome {
            PublishOutcome::Published { new_revision, .. } => i64::try_from(new_revision).ok(),
            PublishOutcome::Merged {
                new_revision,
                latest_revision,
                ..
            } => i64::try_from(new_revision.unwrap_or(latest_revision)).ok(),
            PublishOutcome::NoChange { revision } => i64::try_from(revision).ok(),
            PublishOutcome::WouldPublish { .. } => None,
        };
        let written = self
            .record(&entry, progress, Some(task), &TaskOutcome::Done)
            .await;
        let mut report = report(job, target, requests, done, message, written.log_id);
        report.record_error = record_error
            .into_iter()
            .chain(written.error)
            .reduce(|a, b| format!("{a}; {b}"));
        report
    }

    /// Step 8 after a failure: log, release (when we hold the mutex).
    pub(super) async fn fail(
        &self,
        job: &Job,
        memory: &Memory,
        task: Option<PublishTaskId>,
        progress: &SharedProgress,
        step: PublishStep,
        error: PublishError,
    ) -> PublishFailure {
        let outcome = log_outcome(&error);
        let failure = preview_failed(job, progress, step, error);
        let message = failure.user_message();
        let dry_run = job.options.dry_run;
        let entry = log_entry(memory, dry_run, task, &failure.target, outcome, &message);
        let written = self
            .record(
                &entry,
                progress,
                task,
                &TaskOutcome::Failed(truncate(&message, 500)),
            )
            .await;
        PublishFailure {
            log_id: written.log_id,
            record_error: written.error,
            ..failure
        }
    }

    /// Logs a mapping publish that stopped before the mutex (publishing switched off, the
    /// repository gone or unreadable). A mapping that does not exist has no row to log against.
    pub(super) async fn log_unstarted(
        &self,
        request: MappingPublish,
        failure: PublishFailure,
    ) -> PublishFailure {
        if matches!(failure.error, PublishError::MappingNotFound(_)) {
            return failure;
        }
        let target = &failure.target;
        let entry = NewPublishLogEntry {
            user_id: request.user,
            mapping_id: Some(request.mapping),
            task_id: None,
            at: Utc::now(),
            outcome: log_outcome(&failure.error),
            dry_run: failure.dry_run,
            wiki: truncate(&target.wiki, 100),
            page_title: truncate(&target.page, 255),
            repo_url: target.repo_url.clone(),
            branch: target.branch.clone(),
            file_path: target.path.clone(),
            commit_sha: None,
            blob_sha: None,
            base_revid: None,
            new_revid: None,
            message: Some(truncate(&failure.user_message(), LOG_MESSAGE_CHARS)),
            content_sha1: None,
        };
        let written = self.append(&entry).await;
        PublishFailure {
            log_id: written.log_id,
            record_error: written.error,
            ..failure
        }
    }

    /// Writes the attempt's row — settles the row written ahead of the edit, or appends one
    /// — then releases the mutex. Failures are logged and returned, never raised (the publish
    /// itself already happened or failed); the caller reports them.
    async fn record(
        &self,
        entry: &NewPublishLogEntry,
        progress: &SharedProgress,
        task: Option<PublishTaskId>,
        outcome: &TaskOutcome,
    ) -> Written {
        let write_ahead = progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_ahead;
        let mut written = match write_ahead {
            Some(id) => self.settle(entry, id).await,
            None => self.append(entry).await,
        };
        if let Some(task) = task {
            match self
                .ledger
                .store
                .release_publish_task(task, outcome, Utc::now())
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    warn!(%task, "the publish task had already been expired and taken over");
                }
                Err(err) => {
                    error!(%err, %task, "could not release the publish mutex; it expires after five minutes");
                    let released = format!(
                        "the publish lock could not be released ({err}); it expires five minutes \
                         after the publish started"
                    );
                    written.error = Some(match written.error {
                        Some(earlier) => format!("{earlier}; {released}"),
                        None => released,
                    });
                }
            }
        }
        written
    }

    async fn append(&self, entry: &NewPublishLogEntry) -> Written {
        match self.ledger.store.append_publish_log(entry).await {
            Ok(id) => Written {
                log_id: Some(id),
                error: None,
            },
            Err(err) => {
                error!(%err, "could not write the publish log row");
                Written {
                    log_id: None,
                    error: Some(format!("the publish log row could not be written: {err}")),
                }
            }
        }
    }

    /// Settles the row written ahead of the edit with the result in `entry`.
    async fn settle(&self, entry: &NewPublishLogEntry, id: PublishLogId) -> Written {
        let settlement = PublishSettlement {
            outcome: entry.outcome,
            new_revid: entry.new_revid,
            message: entry.message.clone(),
        };
        let error = match self
            .ledger
            .store
            .settle_publish_log(entry.user_id, id, &settlement)
            .await
        {
            Ok(true) => None,
            Ok(false) => Some(format!(
                "the publish log row {id} written before the edit was no longer pending"
            )),
            Err(err) => Some(format!(
                "the result could not be written to the publish log (row {id} still says the \
                 edit was being sent): {err}"
            )),
        };
        if let Some(error) = &error {
            error!(%error, "could not settle the write-ahead publish log row");
        }
        Written {
            log_id: Some(id),
            error,
        }
    }
}

/// What step 8 managed to write.
struct Written {
    /// The attempt's publish-log row, when there is one.
    log_id: Option<PublishLogId>,
    /// What could not be written.
    error: Option<String>,
}

/// The report of a dry run or of a standalone publish: nothing is logged, released or
/// remembered.
pub(super) fn previewed(job: &Job, progress: &SharedProgress, done: Done) -> PublishReport {
    update(progress, |p| p.step = Some(PublishStep::Record));
    let (target, requests) = snapshot(progress);
    let mut message = success_message(&done, &target, job.options.dry_run);
    let over_existing = matches!(
        done.outcome,
        PublishOutcome::Published { created: false, .. }
            | PublishOutcome::WouldPublish {
                would_create: false
            }
    );
    if over_existing && job.drift.memory() == DriftMemory::Off {
        message.push_str(
            " (no drift memory: whether the page was changed on-wiki since your last publish \
             was not checked; pass the revision you last published to have it checked)",
        );
    }
    report(job, target, requests, done, message, None)
}

/// A stopped attempt as the caller gets it, before any row is written (a dry run's final
/// answer; a publish's before step 8 logs it).
pub(super) fn preview_failed(
    job: &Job,
    progress: &SharedProgress,
    step: PublishStep,
    error: PublishError,
) -> PublishFailure {
    let (target, requests) = snapshot(progress);
    info!(%step, code = error.code(), "publish stopped");
    PublishFailure {
        step,
        error,
        target,
        requests,
        log_id: None,
        dry_run: job.options.dry_run,
        record_error: None,
    }
}

fn report(
    job: &Job,
    target: PublishTargetSummary,
    requests: RequestCounts,
    done: Done,
    message: String,
    log_id: Option<PublishLogId>,
) -> PublishReport {
    info!(
        outcome = done.outcome.as_str(),
        forge_requests = requests.forge,
        wiki_requests = requests.wiki,
        "publish finished"
    );
    PublishReport {
        outcome: done.outcome,
        dry_run: job.options.dry_run,
        target,
        requests,
        diff_url: done.diff_url,
        diff: done.diff,
        drift: done.drift,
        overwrote_drift: done.overwrote_drift,
        drift_memory: job.drift.memory(),
        log_id,
        message,
        record_error: None,
    }
}

/// How a failure is recorded in the publish log.
fn log_outcome(error: &PublishError) -> LogOutcome {
    match (error, error.class()) {
        (PublishError::Drift { .. }, _) => LogOutcome::DriftRefused,
        (PublishError::EditUnknown { .. }, _) => LogOutcome::Unknown,
        (_, FailureClass::Busy) => LogOutcome::Busy,
        (_, FailureClass::Refused) => LogOutcome::Refused,
        (_, FailureClass::Other) => LogOutcome::Failed,
    }
}

pub(super) fn snapshot(progress: &SharedProgress) -> (PublishTargetSummary, RequestCounts) {
    let p = progress.lock().unwrap_or_else(PoisonError::into_inner);
    (p.target.clone(), p.requests)
}

pub(super) fn log_entry(
    memory: &Memory,
    dry_run: bool,
    task: Option<PublishTaskId>,
    target: &PublishTargetSummary,
    outcome: LogOutcome,
    message: &str,
) -> NewPublishLogEntry {
    NewPublishLogEntry {
        user_id: memory.user,
        mapping_id: memory.mapping,
        task_id: task,
        at: Utc::now(),
        outcome,
        dry_run,
        wiki: truncate(&target.wiki, 100),
        page_title: truncate(&target.page, 255),
        repo_url: target.repo_url.clone(),
        branch: target.branch.clone(),
        file_path: target.path.clone(),
        commit_sha: target.commit.clone(),
        blob_sha: target.blob_sha.clone(),
        base_revid: target.base_revision.and_then(|r| i64::try_from(r).ok()),
        new_revid: None,
        message: Some(truncate(message, LOG_MESSAGE_CHARS)),
        content_sha1: None,
    }
}

fn success_message(done: &Done, target: &PublishTargetSummary, dry_run: bool) -> String {
    let page = &target.page;
    let mut message = match &done.outcome {
        PublishOutcome::Published {
            new_revision,
            created: true,
            ..
        } => format!("created {page} (revision {new_revision})"),
        PublishOutcome::Published { new_revision, .. } => {
            format!("published {page} (revision {new_revision})")
        }
        PublishOutcome::Merged {
            base_revision,
            latest_revision,
            new_revision,
        } => {
            let saved = match new_revision {
                Some(new) => format!("saved as revision {new}"),
                None => "which left the page unchanged".to_owned(),
            };
            let unseen = if *latest_revision > base_revision + 1 {
                format!("revisions after {base_revision} up to {latest_revision}")
            } else {
                format!("revision {latest_revision}")
            };
            return format!(
                "not a clean publish: {page} changed on-wiki while publishing ({unseen}), and \
                 MediaWiki merged the file into that change instead of refusing the edit \
                 ({saved}), so the page holds the on-wiki change as well as the file; review \
                 the merged change below and publish again (with an overwrite) if the file \
                 alone should be live"
            );
        }
        PublishOutcome::NoChange { revision } => format!(
            "no change: {page} already has this text (revision {revision}){}",
            if dry_run { " (dry run)" } else { "" }
        ),
        PublishOutcome::WouldPublish { would_create: true } => {
            format!("dry run: would create {page}; nothing was edited")
        }
        PublishOutcome::WouldPublish { .. } => {
            format!("dry run: would update {page}; nothing was edited")
        }
    };
    if done.overwrote_drift {
        message.push_str(" — an on-wiki change since your last publish was overwritten on request");
    }
    if let Some(note) = &done.note {
        message.push_str(&format!(" ({note})"));
    }
    if done.drift.is_some() {
        message.push_str(
            " — the page changed on-wiki since your last publish: publishing needs an overwrite",
        );
    }
    message
}

/// At most `max` characters (the log's column sizes), ending in `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_messages_are_cut_to_the_column_size() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate(&"é".repeat(20), 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn an_attempt_not_recorded_says_what_happened_what_is_missing_and_what_to_do() {
        let mut report = PublishReport {
            outcome: PublishOutcome::Published {
                old_revision: Some(1),
                new_revision: 2,
                created: false,
            },
            dry_run: false,
            target: PublishTargetSummary::default(),
            requests: RequestCounts::default(),
            diff_url: None,
            diff: String::new(),
            drift: None,
            overwrote_drift: false,
            drift_memory: DriftMemory::Store,
            log_id: None,
            message: "published".to_owned(),
            record_error: None,
        };
        assert_eq!(report.unrecorded_warning(), None);
        report.record_error = Some("disk full".to_owned());
        let warning = report.unrecorded_warning().unwrap();
        assert!(warning.starts_with("The edit was made on the wiki, but this attempt could not be recorded completely (disk full)"), "{warning}");
        assert!(warning.contains("Check the page's history"), "{warning}");

        let failure = PublishFailure {
            step: PublishStep::Edit,
            error: PublishError::OutOfTime {
                reason: "late".to_owned(),
            },
            target: PublishTargetSummary::default(),
            requests: RequestCounts::default(),
            log_id: None,
            dry_run: false,
            record_error: Some("disk full".to_owned()),
        };
        let warning = failure.unrecorded_warning().unwrap();
        assert!(
            warning.starts_with("This attempt could not be recorded completely (disk full)"),
            "{warning}"
        );
    }
}
