//! Our own publish whose record was lost (the database failed between the edit and its
//! record) is not an on-wiki change: the page watcher recognises the new revision by its
//! SHA-1, reports no change and no notable check, settles the write-ahead row once, and moves
//! the mapping's last publish up to it so the dashboard does not call the page changed
//! on-wiki. Someone else's edit after it is still reported.

mod common;

use std::sync::Arc;

use chrono::Utc;
use common::*;
use wikiscriptsync_core::monitor::{
    ChangeEvent, PageCheckSettings, PageRunReport, PageWatcher, Selection,
};
use wikiscriptsync_core::mw::WikiApi;
use wikiscriptsync_core::store::{
    MappingOptions, MappingScope, MappingSyncState, PageCheckStatus, PublishOutcome as Logged,
};

/// Checks every monitored page now.
async fn watch(env: &Env) -> PageRunReport {
    let wiki: Arc<dyn WikiApi> = env.client.clone();
    PageWatcher::new(
        Arc::clone(&env.store),
        wiki,
        PageCheckSettings::new("watcher-test"),
    )
    .run_selection(&Selection::from_flags(true, std::iter::empty()))
    .await
    .unwrap()
}

fn page_changes(report: &PageRunReport) -> usize {
    report
        .changes
        .iter()
        .filter(|e| matches!(e, ChangeEvent::PageChanged(_)))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_takes_our_unrecorded_publish_for_ours_and_settles_it_once() {
    let env = Env::start().await;
    env.store_credential(ADMIN).await;
    env.wiki.add_page(PAGE, "// old\n");
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;
    env.publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap();
    env.store
        .add_page_monitor(env.user, &env.wiki_key(), PAGE, Utc::now())
        .await
        .unwrap();
    // Another user watches the same page: our edit is an on-wiki change to them.
    let other = env
        .store
        .upsert_user("central-2", "Other", Utc::now())
        .await
        .unwrap()
        .id;
    env.store
        .add_page_monitor(other, &env.wiki_key(), PAGE, Utc::now())
        .await
        .unwrap();
    assert_eq!(page_changes(&watch(&env).await), 0, "first sight");

    // v2 lands on the wiki, but neither its log row nor the mapping can be updated after.
    env.github.commit(REPO, "main", [(PATH, Some("// v2\n"))]);
    env.checked_file().await;
    env.sql(&[
        "CREATE TRIGGER fail_log_updates BEFORE UPDATE ON publish_log \
             BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END",
        "CREATE TRIGGER fail_mapping_updates BEFORE UPDATE ON sync_filemapping \
             BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END",
    ])
    .await;
    let report = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap();
    assert!(report.record_error.is_some(), "{report:?}");
    let ours = env.wiki.page(PAGE).unwrap().latest().unwrap().id;
    assert_eq!(env.log().await[0].entry.outcome, Logged::Pending);
    env.sql(&[
        "DROP TRIGGER fail_log_updates",
        "DROP TRIGGER fail_mapping_updates",
    ])
    .await;

    // The watcher sees the new revision: ours, so no change and no notable check.
    let run = watch(&env).await;
    assert_eq!(run.checked, 2, "{run:?}");
    let changed_for: Vec<_> = run
        .changes
        .iter()
        .filter_map(|e| match e {
            ChangeEvent::PageChanged(change) => Some(change.user),
            _ => None,
        })
        .collect();
    assert_eq!(changed_for, [other], "no on-wiki change to us: {run:?}");
    assert_eq!(run.changed, 1, "{run:?}");
    let monitor = env
        .store
        .list_page_monitors(env.user)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(monitor.last_status, Some(PageCheckStatus::Unchanged));
    assert_eq!(monitor.last_revid, i64::try_from(ours).ok());
    // The row written ahead is settled with the revision it made, ...
    let log = env.log().await;
    assert_eq!(log.len(), 2, "no row added: {log:?}");
    assert_eq!(log[0].entry.outcome, Logged::Published, "{log:?}");
    assert_eq!(log[0].entry.new_revid, i64::try_from(ours).ok());
    assert!(
        log[0]
            .entry
            .message
            .as_deref()
            .unwrap()
            .contains("the page watcher"),
        "{log:?}"
    );
    // ... and the mapping is in sync, not changed on-wiki.
    let statuses = env
        .store
        .mapping_statuses(env.user, &MappingScope::All)
        .await
        .unwrap();
    assert_eq!(statuses[0].state, MappingSyncState::InSync, "{statuses:?}");

    // Once: a run with nothing new touches nothing.
    let again = watch(&env).await;
    assert_eq!(page_changes(&again), 0);
    assert_eq!(again.checked, 2);
    assert_eq!(env.log().await, log);

    // Someone else's edit is still an on-wiki change, also when it restores our text.
    env.wiki
        .edit_as(PAGE, "// v2\n// tweak\n", "Someone", "tweak");
    let run = watch(&env).await;
    assert_eq!(page_changes(&run), 2, "{run:?}");
    env.wiki.edit_as(PAGE, "// v2\n", "Someone", "revert");
    let run = watch(&env).await;
    assert_eq!(
        page_changes(&run),
        2,
        "a revert to our text is someone's edit: {run:?}"
    );
    let statuses = env
        .store
        .mapping_statuses(env.user, &MappingScope::All)
        .await
        .unwrap();
    assert_eq!(statuses[0].state, MappingSyncState::ChangedOnWiki);
}
