//! Our own edits whose record was lost: a publish-log row written ahead of an edit (`pending`,
//! or `unknown` after a lost answer) whose text — by its SHA-1, as MediaWiki's `rvprop=sha1`
//! gives it — is a page's live revision. A later publish's drift guard and the page watcher
//! both recognise such a revision as ours, not as a change made on the wiki, through
//! [`find`]; a `pending` row is then settled as published, once ([`settle`]).

use tracing::{info, warn};

use crate::store::{
    PageRequest, PublishLogEntry, PublishLogFilter, PublishOutcome as LogOutcome,
    PublishSettlement, Store, UserId,
};

/// How many of the user's newest log rows are searched for an unsettled write-ahead row.
const LOOKBACK: u32 = 200;

/// The user's newest unsettled write-ahead row for `title` on `wiki` whose text has SHA-1
/// `sha1` (hex) and whose edit was based on revision `based_on_at_least` or later (when
/// given): a row older than a revision already seen cannot have made a revision after it.
/// `None` when there is none, or the log cannot be read (then the revision is not ours).
pub(crate) async fn find(
    store: &dyn Store,
    user: UserId,
    wiki: &str,
    title: &str,
    sha1: &str,
    based_on_at_least: Option<i64>,
) -> Option<PublishLogEntry> {
    let rows = match store
        .publish_log(user, PublishLogFilter::All, PageRequest::first(LOOKBACK))
        .await
    {
        Ok(page) => page.items,
        Err(error) => {
            warn!(%error, "could not read the publish log to recognise an unrecorded edit");
            return None;
        }
    };
    rows.into_iter().find(|row| {
        let e = &row.entry;
        matches!(e.outcome, LogOutcome::Pending | LogOutcome::Unknown)
            && e.wiki == wiki
            && e.page_title == title
            && e.content_sha1
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(sha1))
            && match (based_on_at_least, e.base_revid) {
                (Some(seen), Some(base)) => base >= seen,
                _ => true,
            }
    })
}

/// Settles `row`, when still `pending`, as published at revision `live`; `by` says who found
/// it ("a later publish", "the page watcher"). Returns whether the row changed (false: it was
/// `unknown`, already settled, or the write failed, which is logged).
pub(crate) async fn settle(
    store: &dyn Store,
    user: UserId,
    row: &PublishLogEntry,
    live: u64,
    by: &str,
) -> bool {
    info!(live, row = %row.id, by, "the live revision is our own edit whose record was lost");
    if row.entry.outcome != LogOutcome::Pending {
        return false;
    }
    let settlement = PublishSettlement {
        outcome: LogOutcome::Published,
        new_revid: i64::try_from(live).ok(),
        message: Some(format!(
            "published (revision {live}): recorded by {by}, which found this attempt's text on \
             the page; the attempt had stopped before recording it"
        )),
    };
    match store.settle_publish_log(user, row.id, &settlement).await {
        Ok(changed) => changed,
        Err(error) => {
            warn!(%error, "could not settle the unrecorded edit's row");
            false
        }
    }
}
