//! A publish is never lost or doubled, with the faults reproduced: the wiki's answer to an
//! edit lost after the edit landed (or before it did), the database failing before or after
//! the edit, the lock taken over while the pipeline runs, and a pipeline stalled until its
//! lock runs out. Faults in the database are SQLite triggers added beside the store, so the
//! store fails exactly the write a real fault would.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::mw::testkit::{FakeWiki, Fault as WikiFault};
use wikiscriptsync_core::publish::{PublishOutcome, PublishStep, Publisher};
use wikiscriptsync_core::store::PublishOutcome as Logged;

/// A publisher whose wiki client gives up on an answer after `timeout`.
fn publisher_with_timeout(env: &Env, timeout: Duration) -> Publisher {
    let client = Arc::new(mw_client_with_timeout(&env.wiki, timeout));
    let forges = Arc::new(Forges::new(env.github.config_builder().build().unwrap()).unwrap());
    Publisher::new(
        client,
        forges,
        Arc::clone(&env.store),
        Some(Arc::clone(&env.vault)),
    )
}

const FAIL_LOG_UPDATES: &str = "CREATE TRIGGER fail_log_updates BEFORE UPDATE ON publish_log \
    BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END";
const FAIL_TASK_UPDATES: &str = "CREATE TRIGGER fail_task_updates BEFORE UPDATE ON publish_task \
    BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END";

async fn wait_for(wiki: &FakeWiki, action: &str, count: usize) {
    for _ in 0..500 {
        if wiki.requests_for(action) >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the fake wiki never saw {count} `{action}` requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_whose_answer_is_lost_after_it_landed_is_recorded_as_published() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    // The fake saves the edit, then holds its answer past the client's timeout.
    env.wiki
        .inject_for("edit", WikiFault::Delay(Duration::from_secs(3)), 1);
    let publisher = publisher_with_timeout(&env, Duration::from_millis(700));
    let report = publisher
        .publish(env.ad_hoc(ADMIN, PASSWORD, PAGE), opts(false, false))
        .await
        .unwrap();
    let revision = env.wiki.page(PAGE).unwrap().latest().unwrap().id;
    assert!(
        matches!(report.outcome, PublishOutcome::Published { new_revision, .. } if new_revision == revision),
        "{report:?}"
    );
    assert!(
        report.message.contains("answer was lost"),
        "{}",
        report.message
    );
    assert_eq!(report.record_error, None);
    assert_eq!(env.wiki.requests_for("edit"), 1, "never sent twice");
    let log = env.log().await;
    assert_eq!(log.len(), 1, "one row per attempt: {log:?}");
    let row = &log[0].entry;
    assert_eq!(row.outcome, Logged::Published);
    assert_eq!(row.new_revid, i64::try_from(revision).ok());
    assert!(row.content_sha1.is_some());
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_whose_answer_is_lost_before_it_landed_is_recorded_as_not_applied() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let base = env.wiki.page(PAGE).unwrap().latest().unwrap().id;
    // A proxy answers 502 without the wiki ever saving anything.
    env.wiki.inject_for("edit", WikiFault::HttpStatus(502), 1);
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.step, PublishStep::Edit);
    assert_eq!(failure.error.code(), "edit_not_applied");
    let message = failure.user_message();
    assert!(
        message.contains(&format!("still at revision {base}")),
        "{message}"
    );
    assert!(message.contains("was not applied"), "{message}");
    assert_eq!(env.wiki.page_text(PAGE).unwrap(), "// old");
    let log = env.log().await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].entry.outcome, Logged::Failed);
    assert!(
        log[0]
            .entry
            .message
            .as_deref()
            .unwrap()
            .contains("not applied")
    );
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_whose_answer_is_lost_when_someone_else_edited_since_is_recorded_as_unknown() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.wiki
        .inject_for("edit", WikiFault::Delay(Duration::from_secs(3)), 1);
    let publisher = publisher_with_timeout(&env, Duration::from_millis(700));
    let request = env.ad_hoc(ADMIN, PASSWORD, PAGE);
    let publish = tokio::spawn(async move { publisher.publish(request, opts(false, false)).await });
    // Our edit is saved; before we learn of it, someone else saves theirs.
    wait_for(&env.wiki, "edit", 1).await;
    env.wiki
        .edit_as(PAGE, "// someone else's\n", "Someone", "fix");
    let failure = publish.await.unwrap().unwrap_err();
    assert_eq!(failure.error.code(), "edit_unknown");
    let message = failure.user_message();
    assert!(message.contains("may have been applied"), "{message}");
    assert!(message.contains("action=history"), "{message}");
    let log = env.log().await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].entry.outcome, Logged::Unknown);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_failing_after_the_edit_keeps_the_write_ahead_row_and_its_edit_is_not_drift() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    // v1, recorded normally: the drift guard's reference.
    env.publish_page().await.unwrap();

    // v2: the edit lands, then the database refuses every update.
    env.github.commit(REPO, "main", [(PATH, Some("// v2\n"))]);
    env.sql(&[FAIL_LOG_UPDATES, FAIL_TASK_UPDATES]).await;
    let report = env.publish_page().await.unwrap();
    let unrecorded = env.wiki.page(PAGE).unwrap().latest().unwrap().id;
    assert_eq!(report.new_revision(), Some(unrecorded));
    let error = report.record_error.as_deref().expect("the record failed");
    assert!(error.contains("injected"), "{error}");
    assert!(error.contains("lock could not be released"), "{error}");
    // The row written ahead of the edit says what was being sent.
    let log = env.log().await;
    let ahead = &log[0].entry;
    assert_eq!(ahead.outcome, Logged::Pending);
    assert!(ahead.base_revid.is_some());
    assert!(ahead.content_sha1.is_some());
    assert!(
        ahead
            .message
            .as_deref()
            .unwrap()
            .contains("check the page's history")
    );

    // The database recovers; the stuck task expires. v3 is not refused as drift over our own
    // unrecorded edit, and the pending row is settled with the revision it made.
    env.sql(&[
        "DROP TRIGGER fail_log_updates",
        "DROP TRIGGER fail_task_updates",
        "UPDATE publish_task SET started_at = started_at - 600000 WHERE status = 'RUNNING'",
    ])
    .await;
    env.github.commit(REPO, "main", [(PATH, Some("// v3\n"))]);
    let report = env.publish_page().await.unwrap();
    assert_eq!(report.outcome.as_str(), "published", "{report:?}");
    assert_eq!(env.wiki.page_text(PAGE).unwrap(), "// v3");
    let log = env.log().await;
    let settled = log.iter().find(|r| r.id == log[1].id).unwrap();
    assert_eq!(settled.entry.outcome, Logged::Published);
    assert_eq!(settled.entry.new_revid, i64::try_from(unrecorded).ok());
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_edit_is_sent_when_the_attempt_cannot_be_written_ahead() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.sql(&[
        "CREATE TRIGGER fail_write_ahead BEFORE INSERT ON publish_log \
           WHEN NEW.outcome = 'pending' BEGIN SELECT RAISE(ABORT, 'disk full (injected)'); END",
    ])
    .await;
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.step, PublishStep::Edit);
    assert_eq!(failure.error.code(), "database");
    assert_eq!(
        env.wiki.requests_for("edit"),
        0,
        "no edit without its record"
    );
    assert_eq!(env.wiki.page_text(PAGE).unwrap(), "// old");
    assert_eq!(env.log().await[0].entry.outcome, Logged::Failed);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_whose_lock_was_taken_over_before_the_edit_edits_nothing() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    // The probe is held while the lock changes hands.
    env.fault_on_probe(WikiFault::Delay(Duration::from_secs(1)));
    let publisher = env.publisher.clone();
    let request = env.ad_hoc(ADMIN, PASSWORD, PAGE);
    let publish = tokio::spawn(async move { publisher.publish(request, opts(false, false)).await });
    wait_for(&env.wiki, "query", 2).await;
    // What a second publish does to a task it finds older than five minutes.
    env.sql(&[
        "UPDATE publish_task SET status = 'FAILED', reason = 'expired', \
           running_user_id = NULL WHERE status = 'RUNNING'",
    ])
    .await;
    let failure = publish.await.unwrap().unwrap_err();
    assert_eq!(failure.error.code(), "out_of_time");
    assert!(
        failure.user_message().contains("taken over"),
        "{}",
        failure.user_message()
    );
    assert!(failure.user_message().contains("nothing was edited"));
    assert_eq!(env.wiki.requests_for("edit"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_stalled_until_its_lock_runs_out_gives_up_before_the_edit() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    // The task looks as if it started 149 s ago: one second is left before the edit must
    // start (five minutes minus the 150 s kept for the edit, its check and the record).
    env.sql(&[
        "CREATE TRIGGER aged_task AFTER INSERT ON publish_task BEGIN \
           UPDATE publish_task SET started_at = NEW.started_at - 149000 WHERE id = NEW.id; END",
    ])
    .await;
    env.fault_on_probe(WikiFault::Delay(Duration::from_secs(4)));
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.error.code(), "out_of_time");
    assert_eq!(failure.step, PublishStep::Probe);
    assert!(
        failure.user_message().contains("too late"),
        "{}",
        failure.user_message()
    );
    assert_eq!(env.wiki.requests_for("edit"), 0);
    env.assert_newest_task_failed().await;
}
