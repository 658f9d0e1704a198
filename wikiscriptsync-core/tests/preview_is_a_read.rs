//! A publish preview is a read (issue 13, "GET has no side effects"): through the use-case
//! layer over a fake wiki, a fake GitHub and a SQLite temp store, opening a preview takes no
//! publish mutex, writes no publish-task or publish-log row, and a preview of a page that
//! changed on-wiki logs in once for both the drift and the would-publish diff.

mod common;

use std::sync::Arc;

use chrono::Utc;
use common::*;
use sqlx::Connection as _;
use wikiscriptsync_core::app::{App, AppParts};
use wikiscriptsync_core::store::{
    MappingOptions, PublishLock, PublishOutcome as Logged, TaskOutcome,
};

/// An app over the environment's store, wiki client, forges and vault.
fn app(env: &Env) -> App {
    App::new(AppParts {
        store: Arc::clone(&env.store),
        wiki: env.client.clone(),
        forges: env.forges.clone(),
        vault: Some(Arc::clone(&env.vault)),
        runner_host: "tests".to_owned(),
    })
}

/// Rows in the publish-task table, read past the store so that no row can hide.
async fn task_rows(env: &Env) -> i64 {
    let url = format!("sqlite:{}", env.db_path.display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM publish_task")
        .fetch_one(&mut db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_takes_no_lock_and_writes_no_task_or_log_row() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.store_credential(ADMIN).await;
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;
    let app = app(&env);

    // The user's publish mutex is held (a publish in another tab): a preview still works.
    let PublishLock::Acquired { task: held, .. } = env
        .store
        .acquire_publish_task(env.user, Utc::now())
        .await
        .unwrap()
    else {
        panic!("the mutex should be free");
    };

    let preview = app.preview(env.user, mapping).await.unwrap();
    let diff = preview.result.expect("a preview needs no mutex");
    assert!(
        diff.diff.contains("-// old\n+// hello v1\n"),
        "{}",
        diff.diff
    );
    assert!(!diff.creates && !diff.identical && diff.drift.is_none());

    let file = env.checked_file().await.0;
    let everywhere = app.preview_everywhere(env.user, file).await.unwrap();
    assert_eq!(everywhere.len(), 1);
    assert!(everywhere[0].result.is_ok(), "{:?}", everywhere[0].result);

    // Nothing was written: no log row, no task but the one held, nothing edited.
    assert!(env.log().await.is_empty(), "{:?}", env.log().await);
    assert_eq!(task_rows(&env).await, 1);
    assert_eq!(env.wiki.requests_for("edit"), 0);
    assert!(
        env.store
            .release_publish_task(held, &TaskOutcome::Done, Utc::now())
            .await
            .unwrap(),
        "the held task is still ours"
    );
    let stored = env.store.mapping(env.user, mapping).await.unwrap().unwrap();
    assert!(stored.last_published.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_preview_writes_no_row_either() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    // No BotPassword stored: the preview stops at the decrypt step.
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;
    let preview = app(&env).preview(env.user, mapping).await.unwrap();
    let failure = preview.result.unwrap_err();
    assert_eq!(failure.error.code(), "no_credential", "{failure:?}");
    assert_eq!(failure.log_id, None);
    assert!(env.log().await.is_empty(), "{:?}", env.log().await);
    assert_eq!(task_rows(&env).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drift_preview_logs_in_once_and_shows_the_change_and_the_would_publish_diff() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.store_credential(ADMIN).await;
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;
    let app = app(&env);
    let published = app.publish(env.user, mapping, false).await.unwrap();
    assert_eq!(published.result.unwrap().outcome.as_str(), "published");
    // Someone edits on-wiki; the repository moves on too.
    env.wiki.edit_as(
        PAGE,
        "// hello v1\nmw.log('hello');\nhotfix();\n",
        "Someone",
        "hotfix",
    );
    env.github.commit(
        REPO,
        "main",
        [(PATH, Some("// hello v2\nmw.log('hello');\n"))],
    );
    env.checked_file().await;
    let logins_before = env.wiki.requests_for("login");

    let preview = app.preview(env.user, mapping).await.unwrap();
    let diff = preview.result.unwrap();

    assert_eq!(env.wiki.requests_for("login") - logins_before, 1);
    let drift = diff.drift.as_deref().expect("the on-wiki change is shown");
    assert!(drift.contains("+hotfix();"), "{drift}");
    assert!(diff.diff.contains("+// hello v2"), "{}", diff.diff);
    assert!(diff.diff.contains("-hotfix();"), "{}", diff.diff);
    assert_eq!(env.wiki.requests_for("edit"), 1, "only the publish edited");
    // The log holds the one publish, and nothing claims an overwrite.
    let log = env.log().await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].entry.outcome, Logged::Published);
    assert_eq!(task_rows(&env).await, 1);
}
