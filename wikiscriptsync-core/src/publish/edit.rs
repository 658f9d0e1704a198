//! Step 7, the edit, so that a publish is never lost or doubled:
//!
//! - right before the edit the lock is checked to be still ours with time left for the edit
//!   ([`LockWindow`]), so a publish that outlived its lock never edits beside the one that took
//!   it over;
//! - the attempt is written down ahead of the edit (a `pending` publish-log row with the base
//!   revision and the SHA-1 of the text sent), so that a process dying at any point after it
//!   leaves a row saying an edit was being sent, and step 8 settles that row with the result;
//! - when the wiki's answer is lost (connection dropped, timeout, a proxy's 5xx, a cut-off
//!   body), the page's latest revision says what happened: still the base revision → not
//!   applied; a newer revision with exactly our text → published; anything else → unknown,
//!   with the advice to look at the page's history;
//! - a later publish recognises a revision with the text of an unsettled write-ahead row as
//!   our own edit, not as an on-wiki change, and settles that row.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha1::{Digest as _, Sha1};
use tracing::{info, warn};

use crate::mw::{self, EditOutcome, EditRequest, Title, WikiSession, WikiUrl};
use crate::store::{PublishOutcome as LogOutcome, PublishTaskId, PublishTaskStatus};

use super::error::PublishError;
use super::job::{Done, Engine, Memory, SharedProgress, update};
use super::record::{log_entry, snapshot};
use super::report::PublishOutcome;
use super::step::PublishStep;
use super::text;
use super::unrecorded;

/// The longest the edit request may take (with the client's own retries) before its answer
/// counts as lost.
const EDIT_BUDGET: Duration = Duration::from_secs(90);
/// The longest the look at the page after a lost answer may take.
const VERIFY_BUDGET: Duration = Duration::from_secs(30);
/// Kept free at the end of the lock for writing the record.
const RECORD_RESERVE: Duration = Duration::from_secs(30);

/// The publish lock an attempt holds: its task and when another publish may take it over.
#[derive(Debug, Clone, Copy)]
pub(super) struct LockWindow {
    /// The RUNNING publish task.
    pub(super) task: PublishTaskId,
    /// When the task may be expired and taken over (started + five minutes).
    pub(super) expires_at: DateTime<Utc>,
}

impl LockWindow {
    /// The last moment the edit may start: it, the look after a lost answer and the record
    /// must all fit before the lock expires.
    fn edit_by(&self) -> DateTime<Utc> {
        let reserve = EDIT_BUDGET + VERIFY_BUDGET + RECORD_RESERVE;
        self.expires_at - chrono::Duration::from_std(reserve).unwrap_or(chrono::Duration::MAX)
    }

    /// The time steps 2–6 have left.
    pub(super) fn time_to_prepare(&self) -> Duration {
        (self.edit_by() - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// The error when steps 2–6 did not finish in time.
    pub(super) fn too_slow(&self) -> PublishError {
        PublishError::OutOfTime {
            reason: format!(
                "the steps before the edit were still running at {} UTC, too late to edit and \
                 record before the publish lock expires (the wiki or the forge is slow)",
                self.edit_by().format("%H:%M:%S")
            ),
        }
    }
}

/// What the edit step needs, prepared by steps 2–6.
pub(super) struct ReadyEdit {
    pub(super) session: Arc<dyn WikiSession>,
    pub(super) wiki: WikiUrl,
    pub(super) edit: EditRequest,
    /// [`content_sha1`] of the text sent.
    pub(super) content_sha1: String,
    pub(super) diff: String,
    /// The text of the base revision (`None` when the page did not exist): what a merge by
    /// MediaWiki is shown against.
    pub(super) base_text: Option<String>,
    pub(super) overwrote_drift: bool,
    pub(super) blob_sha: String,
    pub(super) commit: String,
}

/// SHA-1 (hex) of `text` as MediaWiki saves it (line endings and trailing whitespace
/// normalised); for a JavaScript or CSS page this is the revision's `rvprop=sha1`.
pub fn content_sha1(text: &str) -> String {
    let digest = Sha1::digest(text::normalize(text).as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether an edit's error leaves open whether the edit landed: no answer, or none we can
/// read. An answer from the API itself (an error code) means it did not.
fn answer_lost(error: &mw::Error) -> bool {
    matches!(
        error,
        mw::Error::Network { .. }
            | mw::Error::Timeout { .. }
            | mw::Error::Http { status: 500.., .. }
            | mw::Error::InvalidResponse { .. }
            | mw::Error::RetriesExhausted { .. }
    )
}

impl Engine {
    /// Step 7: the lock checked, the attempt written ahead (both for a logged publish only),
    /// the edit, and — when its answer is lost — the page's latest revision read to learn
    /// what happened.
    pub(super) async fn edit(
        &self,
        memory: Option<&Memory>,
        ready: ReadyEdit,
        progress: &SharedProgress,
    ) -> Result<Done, PublishError> {
        update(progress, |p| p.step = Some(PublishStep::Edit));
        let ReadyEdit {
            session,
            wiki,
            edit,
            content_sha1: sha1,
            diff,
            base_text,
            overwrote_drift,
            blob_sha,
            commit,
        } = ready;
        if let Some(memory) = memory
            && let Some(lock) = &memory.lock
        {
            memory.check_lock(lock).await?;
            memory.write_ahead(lock.task, progress, &sha1).await?;
        }
        let count_wiki = || {
            let sent = session.request_count();
            update(progress, |p| p.requests.wiki = sent);
        };
        let base = edit.base_revision;
        let answer = tokio::time::timeout(EDIT_BUDGET, session.edit(&edit)).await;
        count_wiki();
        let lost = match answer {
            Ok(Ok(EditOutcome::Merged {
                base_revision,
                latest_revision,
                new_revision,
                ..
            })) => {
                let merged = Merged {
                    base: (base_revision, base_text.as_deref()),
                    latest: latest_revision,
                    new: Some(new_revision),
                };
                let done = merged_done(session.as_ref(), &wiki, &edit.title, merged, diff).await;
                count_wiki();
                return Ok(done);
            }
            Ok(Ok(outcome)) => {
                let mut note = None;
                let mut outcome = outcome;
                if outcome == EditOutcome::NoChange {
                    // We only edit a page whose text differs from ours, so "no change" means
                    // the wiki's own save transform made them equal, or an earlier try of this
                    // very edit (the client retries after HTTP 503 or 429) saved it: the page
                    // tells which, and which revision to remember.
                    let look = look_at_page(session.as_ref(), &edit.title, base, &sha1).await;
                    count_wiki();
                    match look {
                        Ok(Landed::Ours(landed)) => {
                            outcome = landed;
                            note = Some(
                                "the wiki answered \"no change\" because an earlier try of this \
                                 edit had already saved it"
                                    .to_owned(),
                            );
                        }
                        // A newer revision without our text: MediaWiki merged our change into
                        // it and the merge changed nothing. Still not a clean publish.
                        Ok(Landed::Other(latest)) if let Some(base_revision) = base => {
                            let merged = Merged {
                                base: (base_revision, base_text.as_deref()),
                                latest,
                                new: None,
                            };
                            let done =
                                merged_done(session.as_ref(), &wiki, &edit.title, merged, diff)
                                    .await;
                            count_wiki();
                            return Ok(done);
                        }
                        _ => {}
                    }
                }
                let (outcome, revision, diff_url) = edit_result(&outcome, &wiki, base);
                return Ok(Done {
                    outcome,
                    diff,
                    diff_url,
                    overwrote_drift,
                    published: Some((blob_sha, commit, revision)),
                    drift: None,
                    note,
                });
            }
            Ok(Err(error)) if answer_lost(&error) => error.to_string(),
            Ok(Err(error)) => return Err(error.into()),
            Err(_) => format!("no answer within {} seconds", EDIT_BUDGET.as_secs()),
        };
        warn!(%lost, "the answer to the edit was lost; looking at the page");
        let history = format!(
            "{}index.php?title={}&action=history",
            wiki.script_base(),
            edit.title.as_str().replace(' ', "_")
        );
        let unknown = |why: String| PublishError::EditUnknown {
            lost: lost.clone(),
            why,
            history: history.clone(),
        };
        let look = look_at_page(session.as_ref(), &edit.title, base, &sha1).await;
        count_wiki();
        match look.map_err(unknown)? {
            Landed::NotApplied => Err(PublishError::EditNotApplied {
                lost,
                revision: base,
            }),
            Landed::Ours(outcome) => {
                let (outcome, revision, diff_url) = edit_result(&outcome, &wiki, base);
                info!(
                    revision,
                    "the page's latest revision has our text: the edit landed"
                );
                Ok(Done {
                    outcome,
                    diff,
                    diff_url,
                    overwrote_drift,
                    published: Some((blob_sha, commit, revision)),
                    drift: None,
                    note: Some(format!(
                        "the wiki's answer was lost ({lost}), but the page's latest revision \
                         {revision} has exactly the text sent, so it is this edit"
                    )),
                })
            }
            Landed::Other(revision) => Err(unknown(format!(
                "the page is now at revision {revision}, which does not have the text sent \
                 (someone else may have edited it since)"
            ))),
            Landed::Missing => Err(unknown("the page does not exist now".to_owned())),
        }
    }
}

impl Memory {
    /// The lock is still ours, with time left for the edit and its record.
    async fn check_lock(&self, lock: &LockWindow) -> Result<(), PublishError> {
        let task = self.ledger.store.publish_task(lock.task).await?;
        let running = task.is_some_and(|t| t.status == PublishTaskStatus::Running);
        if !running {
            return Err(PublishError::OutOfTime {
                reason: "the publish lock expired and was taken over by another publish".to_owned(),
            });
        }
        if Utc::now() > lock.edit_by() {
            return Err(lock.too_slow());
        }
        Ok(())
    }

    /// The write-ahead row: what is about to be sent, where, on which base, with which text.
    async fn write_ahead(
        &self,
        task: PublishTaskId,
        progress: &SharedProgress,
        sha1: &str,
    ) -> Result<(), PublishError> {
        let (target, _) = snapshot(progress);
        // Only a publish that edits writes ahead: never a dry run.
        let mut entry = log_entry(
            self,
            false,
            Some(task),
            &target,
            LogOutcome::Pending,
            "the edit was being sent when this was written; if it still says so, the publish \
             stopped before its result could be recorded: check the page's history",
        );
        entry.content_sha1 = Some(sha1.to_owned());
        let id = self.ledger.store.append_publish_log(&entry).await?;
        update(progress, |p| p.write_ahead = Some(id));
        Ok(())
    }

    /// Whether the live revision `live` is an edit of ours whose record was lost: an
    /// unsettled write-ahead row (pending, or unknown after a lost answer) for this page sent
    /// exactly the live text (see [`super::unrecorded`]). A pending row is settled now as
    /// published at `live`.
    pub(super) async fn recognise_unrecorded_edit(
        &self,
        wiki_key: &str,
        title: &Title,
        live: u64,
        live_text: &str,
    ) -> bool {
        let sha1 = content_sha1(live_text);
        let store = self.ledger.store.as_ref();
        let found = unrecorded::find(store, self.user, wiki_key, title.as_str(), &sha1, None).await;
        let Some(row) = found else {
            return false;
        };
        unrecorded::settle(store, self.user, &row, live, "a later publish").await;
        true
    }
}

/// What the page's latest revision says about an edit of text with `sha1` on `base`.
enum Landed {
    /// The page is still at `base` (or still missing): the edit did not land.
    NotApplied,
    /// A newer revision has exactly the text sent: the edit landed, as this outcome.
    Ours(EditOutcome),
    /// A newer revision with other text.
    Other(u64),
    /// The page is gone.
    Missing,
}

/// Reads the page's latest revision (one request) to learn whether an edit landed; `Err`
/// says why the page could not be read.
async fn look_at_page(
    session: &dyn WikiSession,
    title: &Title,
    base: Option<u64>,
    sha1: &str,
) -> Result<Landed, String> {
    let page = match tokio::time::timeout(VERIFY_BUDGET, session.probe(title)).await {
        Ok(Ok(probe)) => probe.page,
        Ok(Err(error)) => return Err(format!("looking at the page failed too ({error})")),
        Err(_) => return Err("looking at the page got no answer either".to_owned()),
    };
    let latest = page.revision_id.filter(|_| page.exists);
    if latest == base {
        return Ok(Landed::NotApplied);
    }
    let Some(latest) = latest else {
        return Ok(Landed::Missing);
    };
    if page.text.as_deref().map(content_sha1).as_deref() != Some(sha1) {
        return Ok(Landed::Other(latest));
    }
    Ok(Landed::Ours(match base {
        Some(old_revision) => EditOutcome::Updated {
            old_revision,
            new_revision: latest,
            timestamp: None,
        },
        None => EditOutcome::Created {
            page_id: page.page_id.unwrap_or_default(),
            revision: latest,
            timestamp: None,
        },
    }))
}

/// An edit MediaWiki merged into revisions the publish had not seen.
struct Merged<'a> {
    /// The base revision sent and its text.
    base: (u64, Option<&'a str>),
    /// The page's latest revision before the edit (the answer's `oldrevid`).
    latest: u64,
    /// The merged revision, when the merge saved one.
    new: Option<u64>,
}

/// A merged edit as drift: the diff of what was merged (base text → the live text before the
/// edit, one request for it), nothing remembered on the mapping, the diff link of our edit.
async fn merged_done(
    session: &dyn WikiSession,
    wiki: &WikiUrl,
    title: &Title,
    merged: Merged<'_>,
    diff: String,
) -> Done {
    let Merged {
        base: (base, base_text),
        latest,
        new,
    } = merged;
    warn!(
        base,
        latest, "MediaWiki merged the edit into revisions made since the probe"
    );
    let live =
        match tokio::time::timeout(VERIFY_BUDGET, session.page_text(title, Some(latest))).await {
            Ok(Ok(Some(page))) => Some(page.text),
            _ => None,
        };
    let drift = match (base_text, live) {
        (Some(base_text), Some(live)) => text::unified_diff(
            base_text,
            &live,
            &format!(
                "{} (revision {base}, what this publish was based on)",
                title.as_str()
            ),
            &format!(
                "{} (revision {latest}, live before this publish)",
                title.as_str()
            ),
        ),
        // Unreadable (deleted or hidden meanwhile): the wiki can still compare them.
        _ => format!(
            "(the merged revisions cannot be read; compare on the wiki: {})\n",
            wiki.diff_link(latest, Some(base))
        ),
    };
    Done {
        outcome: PublishOutcome::Merged {
            base_revision: base,
            latest_revision: latest,
            new_revision: new,
        },
        diff,
        diff_url: Some(match new {
            Some(new) => wiki.diff_link(new, Some(base)),
            None => wiki.diff_link(latest, Some(base)),
        }),
        overwrote_drift: false,
        // The page is not the file: the mapping keeps its last clean publish, so the next
        // publish shows this change as drift again.
        published: None,
        drift: Some(drift),
        note: None,
    }
}

/// What an edit did, as an outcome, the revision to remember and the diff link.
fn edit_result(
    outcome: &EditOutcome,
    wiki: &WikiUrl,
    live_revision: Option<u64>,
) -> (PublishOutcome, u64, Option<String>) {
    match *outcome {
        EditOutcome::Created { revision, .. } => (
            PublishOutcome::Published {
                old_revision: None,
                new_revision: revision,
                created: true,
            },
            revision,
            Some(wiki.diff_link(revision, None)),
        ),
        EditOutcome::Updated {
            old_revision,
            new_revision,
            ..
        } => (
            PublishOutcome::Published {
                old_revision: Some(old_revision),
                new_revision,
                created: false,
            },
            new_revision,
            Some(wiki.diff_link(new_revision, Some(old_revision))),
        ),
        // Handled before, as drift; kept apart should it get here.
        EditOutcome::Merged {
            base_revision,
            latest_revision,
            new_revision,
            ..
        } => (
            PublishOutcome::Merged {
                base_revision,
                latest_revision,
                new_revision: Some(new_revision),
            },
            new_revision,
            Some(wiki.diff_link(new_revision, Some(base_revision))),
        ),
        // The wiki's own pre-save transform made the texts equal: nothing new was saved.
        EditOutcome::NoChange => {
            let revision = live_revision.unwrap_or_default();
            (PublishOutcome::NoChange { revision }, revision, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_sha1_is_that_of_the_text_as_the_wiki_saves_it() {
        // sha1("mw.log(1);"), as `printf 'mw.log(1);' | sha1sum` prints it.
        let saved = content_sha1("mw.log(1);");
        assert_eq!(saved, "a2c9fbab7709e93110ef7ec70482897c0adf9c7c");
        assert_eq!(content_sha1("mw.log(1);\r\n  \n"), saved);
        assert_ne!(content_sha1("mw.log(2);"), saved);
    }
}
