//! The store conformance suite, written once against the `Store` trait and run on every
//! backend: SQLite always, MariaDB when `WIKISCRIPTSYNC_TEST_MARIADB_URL` is set. Each test
//! gets a fresh database.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::{Engine, TestDb};
use wikiscriptsync_store::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

async fn user(store: &Arc<dyn Store>, name: &str) -> UserId {
    store
        .upsert_user(&format!("sub-{name}"), name, t0())
        .await
        .unwrap()
        .id
}

fn new_repo(url: &str) -> NewRepository {
    NewRepository {
        forge: Forge::GitHub,
        host: "github.com".to_owned(),
        full_name: url
            .strip_prefix("https://github.com/")
            .unwrap_or_default()
            .to_owned(),
        url: url.to_owned(),
        branch: "main".to_owned(),
    }
}

/// A user with one repository, one watched file and one mapping.
async fn fixture(store: &Arc<dyn Store>, name: &str) -> (UserId, Repository, WatchedFile, Mapping) {
    let user = user(store, name).await;
    let repo = store
        .add_repository(
            user,
            &new_repo(&format!("https://github.com/{name}/gadget")),
            t0(),
        )
        .await
        .unwrap();
    let file = store
        .watch_file(user, repo.id, "src/gadget.js", t0())
        .await
        .unwrap();
    let mapping = store
        .add_mapping(
            user,
            &NewMapping {
                watched_file_id: file.id,
                wiki: "en.wikipedia.org".to_owned(),
                page_title: format!("User:{name}/gadget.js"),
                options: MappingOptions::default(),
            },
            t0(),
        )
        .await
        .unwrap();
    (user, repo, file, mapping)
}

fn claim(owner: &str, now: DateTime<Utc>, limit: u32) -> ClaimRequest {
    ClaimRequest {
        owner: owner.to_owned(),
        now,
        lease: Duration::minutes(10),
        limit,
    }
}

fn log_entry(
    user: UserId,
    mapping: Option<MappingId>,
    outcome: PublishOutcome,
) -> NewPublishLogEntry {
    NewPublishLogEntry {
        user_id: user,
        mapping_id: mapping,
        task_id: None,
        at: t0(),
        outcome,
        dry_run: outcome == PublishOutcome::WouldPublish,
        wiki: "en.wikipedia.org".to_owned(),
        page_title: "User:A/gadget.js".to_owned(),
        repo_url: Some("https://github.com/a/gadget".to_owned()),
        branch: Some("main".to_owned()),
        file_path: Some("src/gadget.js".to_owned()),
        commit_sha: Some("c0ffee".to_owned()),
        blob_sha: Some("b10b".to_owned()),
        base_revid: Some(10),
        new_revid: None,
        message: None,
        content_sha1: None,
    }
}

// ----- schema ---------------------------------------------------------------------------------

async fn migrations_apply_from_empty_and_running_them_again_is_a_no_op(db: &TestDb) {
    let store = db.open().await;
    let again = store.migrate().await.unwrap();
    assert!(
        again.applied.is_empty(),
        "second run applied {:?}",
        again.applied
    );
    assert!(again.current.is_some());
    store.health().await.unwrap();
    // A third process opening with "require current" accepts the schema as is.
    let reopened = db.open_current().await;
    assert!(reopened.migrate().await.unwrap().applied.is_empty());
    let tables = db
        .raw_i64(match db.engine {
            Engine::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND \
                (name LIKE 'sync_%' OR name LIKE 'publish_%' OR name LIKE 'wiki_monitor_%' OR \
                name LIKE 'notifications_%' OR \
                name IN ('users', 'user_sessions', 'accounts_toolvisit', 'wikis', 'wiki_spellings', \
                'user_actions'))"
            }
            Engine::MariaDb => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE \
                table_schema = DATABASE() AND table_name <> '_sqlx_migrations'"
            }
        })
        .await;
    assert_eq!(
        tables, 19,
        "13 seed tables, users, their sessions and rate-limited actions, wikis and their spellings, \
         forge quota use"
    );
}

async fn an_empty_database_is_refused_until_it_is_migrated(db: &TestDb) {
    let error = open(
        &db.database_url(),
        &StoreSettings {
            migrations: MigrationPolicy::RequireCurrent,
            ..StoreSettings::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, StoreError::SchemaNotMigrated { pending: 8 }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("wikiscriptsync migrate"),
        "{error}"
    );
    let store = db.open().await;
    store.health().await.unwrap();
}

async fn a_schema_migrated_by_a_newer_binary_is_refused_with_a_clear_error(db: &TestDb) {
    let store = db.open().await;
    db.raw(&[
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
              VALUES (99991231000000, 'from the future', 1, X'00', 1)",
    ])
    .await;
    let error = store.health().await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SchemaNewer {
                applied: 99991231000000,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(store.migrate().await.is_err());
    let error = open(&db.database_url(), &StoreSettings::migrating())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("newer than this binary"),
        "{error}"
    );
}

// ----- users, repositories, files, mappings ------------------------------------------------------

async fn users_are_keyed_by_central_id_and_a_rename_updates_the_name(db: &TestDb) {
    let store = db.open().await;
    let first = store.upsert_user("4242", "OldName", t0()).await.unwrap();
    let later = t0() + Duration::days(3);
    let renamed = store.upsert_user("4242", "NewName", later).await.unwrap();
    assert_eq!(first.id, renamed.id);
    assert_eq!(renamed.username, "NewName");
    assert_eq!(renamed.created_at, t0());
    assert_eq!(renamed.last_login_at, later);
    assert_eq!(
        store.user_by_name("NewName").await.unwrap().map(|u| u.id),
        Some(first.id)
    );
    assert_eq!(store.user_by_name("OldName").await.unwrap(), None);
    assert_eq!(
        store.user(first.id).await.unwrap().unwrap().central_id,
        "4242"
    );
    assert!(store.upsert_user("", "x", t0()).await.is_err());
}

/// Web sessions: found by id until they expire; a logout ends one, "log out everywhere" all of
/// a user's.
async fn sessions_live_until_they_expire_or_are_ended_one_or_all(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let later = t0() + Duration::hours(12);
    store
        .create_session("a1", alice, t0(), later)
        .await
        .unwrap();
    store
        .create_session("a2", alice, t0(), later)
        .await
        .unwrap();
    store.create_session("b1", bob, t0(), later).await.unwrap();
    let user_of = |id: &'static str, at: DateTime<Utc>| {
        let store = Arc::clone(&store);
        async move { store.session_user(id, at).await.unwrap().map(|u| u.id) }
    };
    assert_eq!(user_of("a1", t0()).await, Some(alice));
    assert_eq!(user_of("b1", t0()).await, Some(bob));
    assert_eq!(user_of("unknown", t0()).await, None);
    // Expired at its expiry time.
    assert_eq!(user_of("a1", later).await, None);
    // A duplicate id is refused, not taken over.
    assert!(store.create_session("a1", bob, t0(), later).await.is_err());
    assert_eq!(user_of("a1", t0()).await, Some(alice));
    // An empty or over-long id is refused.
    assert!(matches!(
        store.create_session("", alice, t0(), later).await,
        Err(StoreError::InvalidInput(_))
    ));
    assert!(matches!(
        store
            .create_session(&"x".repeat(65), alice, t0(), later)
            .await,
        Err(StoreError::InvalidInput(_))
    ));

    // Logging out ends that session only.
    assert!(store.end_session("a1").await.unwrap());
    assert!(!store.end_session("a1").await.unwrap());
    assert_eq!(user_of("a1", t0()).await, None);
    assert_eq!(user_of("a2", t0()).await, Some(alice));

    // Logging out everywhere ends every session of that user, no one else's.
    store
        .create_session("a3", alice, t0(), later)
        .await
        .unwrap();
    assert_eq!(store.end_user_sessions(alice).await.unwrap(), 2);
    assert_eq!(user_of("a2", t0()).await, None);
    assert_eq!(user_of("a3", t0()).await, None);
    assert_eq!(user_of("b1", t0()).await, Some(bob));

    // A new session drops the user's expired ones: the id of an expired session is free again.
    store
        .create_session("a4", alice, t0(), t0() + Duration::hours(1))
        .await
        .unwrap();
    store
        .create_session("a5", alice, later, later + Duration::hours(1))
        .await
        .unwrap();
    store
        .create_session("a4", alice, later, later + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(user_of("a4", later).await, Some(alice));
}

async fn repositories_files_and_mappings_are_visible_to_their_owner_only(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, file, mapping) = fixture(&store, "Alice").await;
    let mallory = user(&store, "Mallory").await;

    assert_eq!(
        store.repository(alice, repo.id).await.unwrap().as_ref(),
        Some(&repo)
    );
    assert_eq!(repo.next_check_at, t0(), "a new repository is due at once");
    assert_eq!(store.repository(mallory, repo.id).await.unwrap(), None);
    assert_eq!(store.watched_file(mallory, file.id).await.unwrap(), None);
    assert_eq!(store.mapping(mallory, mapping.id).await.unwrap(), None);
    assert!(store.list_repositories(mallory).await.unwrap().is_empty());
    assert!(!store.remove_repository(mallory, repo.id).await.unwrap());
    assert!(!store.unwatch_file(mallory, file.id).await.unwrap());
    assert!(!store.remove_mapping(mallory, mapping.id).await.unwrap());
    assert!(
        !store
            .set_mapping_options(mallory, mapping.id, MappingOptions::default())
            .await
            .unwrap()
    );
    let stolen = store
        .watch_file(mallory, repo.id, "other.js", t0())
        .await
        .unwrap_err();
    assert!(matches!(stolen, StoreError::NotFound { .. }), "{stolen:?}");

    assert_eq!(
        store.list_watched_files(alice, repo.id).await.unwrap(),
        vec![file.clone()]
    );
    // Case matters in paths and titles: these are different files and pages.
    store
        .watch_file(alice, repo.id, "src/Gadget.js", t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .list_watched_files(alice, repo.id)
            .await
            .unwrap()
            .len(),
        2
    );
    let options = MappingOptions {
        publish_enabled: false,
        allow_create: true,
        add_banner: true,
    };
    assert!(
        store
            .set_mapping_options(alice, mapping.id, options)
            .await
            .unwrap()
    );
    let second = store
        .add_mapping(
            alice,
            &NewMapping {
                watched_file_id: file.id,
                wiki: "de.wikipedia.org".to_owned(),
                page_title: "Benutzer:Alice/gadget.js".to_owned(),
                options: MappingOptions::default(),
            },
            t0(),
        )
        .await
        .unwrap();
    let mappings = store.list_mappings(alice, file.id).await.unwrap();
    assert_eq!(
        mappings.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![mapping.id, second.id]
    );
    assert_eq!(mappings[0].options, options);
    assert_eq!(mappings[0].last_published, None);
}

async fn duplicates_are_reported_as_already_existing(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, file, mapping) = fixture(&store, "Alice").await;
    let again = store
        .add_repository(alice, &new_repo(&repo.url), t0())
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists { .. }),
        "{again:?}"
    );
    let again = store
        .watch_file(alice, repo.id, &file.path, t0())
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists { .. }),
        "{again:?}"
    );
    let again = store
        .add_mapping(
            alice,
            &NewMapping {
                watched_file_id: file.id,
                wiki: mapping.wiki.clone(),
                page_title: mapping.page_title.clone(),
                options: MappingOptions::default(),
            },
            t0(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists { .. }),
        "{again:?}"
    );
    let page = store
        .add_page_monitor(alice, "en.wikipedia.org", "Main Page", t0())
        .await
        .unwrap();
    let again = store
        .add_page_monitor(alice, &page.wiki, &page.page_title, t0())
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists { .. }),
        "{again:?}"
    );
    // Another user may track the same repository.
    let bob = user(&store, "Bob").await;
    store
        .add_repository(bob, &new_repo(&repo.url), t0())
        .await
        .unwrap();
}

async fn removing_a_repository_removes_its_files_and_mappings_but_keeps_the_publish_log(
    db: &TestDb,
) {
    let store = db.open().await;
    let (alice, repo, file, mapping) = fixture(&store, "Alice").await;
    let logged = store
        .append_publish_log(&log_entry(
            alice,
            Some(mapping.id),
            PublishOutcome::Published,
        ))
        .await
        .unwrap();
    assert!(store.remove_repository(alice, repo.id).await.unwrap());
    assert_eq!(store.watched_file(alice, file.id).await.unwrap(), None);
    assert_eq!(store.mapping(alice, mapping.id).await.unwrap(), None);
    let log = store
        .publish_log(alice, PublishLogFilter::All, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].id, logged);
    assert_eq!(
        log.items[0].entry.mapping_id, None,
        "the audit row outlives the mapping"
    );
    assert!(!store.remove_repository(alice, repo.id).await.unwrap());
}

async fn the_last_published_blob_commit_and_revision_are_kept_per_mapping(db: &TestDb) {
    let store = db.open().await;
    let (alice, _, _, mapping) = fixture(&store, "Alice").await;
    let bob = user(&store, "Bob").await;
    // Monitors of the published page (Alice's, and Bob's of the same title) and of another.
    let own = store
        .add_page_monitor(alice, &mapping.wiki, &mapping.page_title, t0())
        .await
        .unwrap();
    let other = store
        .add_page_monitor(alice, &mapping.wiki, "User:Alice/other.js", t0())
        .await
        .unwrap();
    let bobs = store
        .add_page_monitor(bob, &mapping.wiki, &mapping.page_title, t0())
        .await
        .unwrap();
    let state = PublishedState {
        blob_sha: "a".repeat(40),
        commit_sha: "c".repeat(40),
        revid: 123_456_789,
        at: t0() + Duration::minutes(1),
    };
    store
        .record_published(alice, mapping.id, &state)
        .await
        .unwrap();
    let read = store.mapping(alice, mapping.id).await.unwrap().unwrap();
    assert_eq!(read.last_published, Some(state.clone()));
    let revid = |user, id| {
        let store = Arc::clone(&store);
        async move {
            store
                .page_monitor(user, id)
                .await
                .unwrap()
                .unwrap()
                .last_revid
        }
    };
    assert_eq!(
        revid(alice, own.id).await,
        Some(123_456_789),
        "our own edit is not an on-wiki change"
    );
    assert_eq!(revid(alice, other.id).await, None);
    assert_eq!(revid(bob, bobs.id).await, None, "another user's monitor");
    // A monitor that already saw a later revision is never moved back.
    let older = PublishedState {
        revid: 5,
        ..state.clone()
    };
    store
        .record_published(alice, mapping.id, &older)
        .await
        .unwrap();
    assert_eq!(revid(alice, own.id).await, Some(123_456_789));
    let error = store
        .record_published(bob, mapping.id, &state)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }));
}

// ----- publish mutex and log --------------------------------------------------------------------

async fn the_publish_mutex_admits_one_holder_per_user_until_it_is_released(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let bob = user(&store, "Bob").await;
    let PublishLock::Acquired {
        task,
        expired: None,
    } = store.acquire_publish_task(alice, t0()).await.unwrap()
    else {
        panic!("the first acquire must succeed");
    };
    let busy = store
        .acquire_publish_task(alice, t0() + Duration::minutes(4))
        .await
        .unwrap();
    assert_eq!(
        busy,
        PublishLock::Busy {
            task,
            running_since: t0()
        }
    );
    // Other users are not affected.
    assert!(matches!(
        store.acquire_publish_task(bob, t0()).await.unwrap(),
        PublishLock::Acquired { .. }
    ));
    assert!(
        store
            .release_publish_task(task, &TaskOutcome::Done, t0() + Duration::seconds(5))
            .await
            .unwrap()
    );
    let done = store.publish_task(task).await.unwrap().unwrap();
    assert_eq!(done.status, PublishTaskStatus::Done);
    assert_eq!(done.finished_at, Some(t0() + Duration::seconds(5)));
    let PublishLock::Acquired { task: next, .. } = store
        .acquire_publish_task(alice, t0() + Duration::seconds(6))
        .await
        .unwrap()
    else {
        panic!("released mutex must be free");
    };
    assert!(
        store
            .release_publish_task(next, &TaskOutcome::Failed("login failed".into()), t0())
            .await
            .unwrap()
    );
    let failed = store.publish_task(next).await.unwrap().unwrap();
    assert_eq!(failed.status, PublishTaskStatus::Failed);
    assert_eq!(failed.reason.as_deref(), Some("login failed"));
    // Releasing twice changes nothing.
    assert!(
        !store
            .release_publish_task(next, &TaskOutcome::Done, t0())
            .await
            .unwrap()
    );
}

async fn a_running_task_older_than_five_minutes_is_expired_and_taken_over(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let PublishLock::Acquired { task: stale, .. } =
        store.acquire_publish_task(alice, t0()).await.unwrap()
    else {
        panic!("first acquire");
    };
    // Exactly five minutes is not yet stale.
    assert!(matches!(
        store
            .acquire_publish_task(alice, t0() + PUBLISH_TASK_EXPIRY)
            .await
            .unwrap(),
        PublishLock::Busy { .. }
    ));
    let later = t0() + PUBLISH_TASK_EXPIRY + Duration::seconds(1);
    let PublishLock::Acquired { task, expired } =
        store.acquire_publish_task(alice, later).await.unwrap()
    else {
        panic!("a stale task must be taken over");
    };
    assert_eq!(expired, Some(stale));
    let old = store.publish_task(stale).await.unwrap().unwrap();
    assert_eq!(old.status, PublishTaskStatus::Failed);
    assert_eq!(old.reason.as_deref(), Some("expired"));
    // The expired holder finishing late must not release the new holder's mutex.
    assert!(
        !store
            .release_publish_task(stale, &TaskOutcome::Done, later)
            .await
            .unwrap()
    );
    assert_eq!(
        store.publish_task(task).await.unwrap().unwrap().status,
        PublishTaskStatus::Running
    );
    assert!(matches!(
        store.acquire_publish_task(alice, later).await.unwrap(),
        PublishLock::Busy { task: t, .. } if t == task
    ));
}

async fn many_concurrent_acquirers_on_one_pool_get_exactly_one_mutex(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let attempts = (0..16).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.acquire_publish_task(alice, Utc::now()).await })
    });
    let mut acquired = 0;
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            PublishLock::Acquired { .. } => acquired += 1,
            PublishLock::Busy { .. } => {}
        }
    }
    assert_eq!(acquired, 1);
}

async fn the_publish_log_is_append_only_and_paginates_newest_first(db: &TestDb) {
    let store = db.open().await;
    let (alice, _, _, mapping) = fixture(&store, "Alice").await;
    let bob = user(&store, "Bob").await;
    let outcomes = [
        PublishOutcome::Published,
        PublishOutcome::WouldPublish,
        PublishOutcome::DriftRefused,
        PublishOutcome::Failed,
        PublishOutcome::NoChange,
    ];
    let mut ids = Vec::new();
    for outcome in outcomes {
        ids.push(
            store
                .append_publish_log(&log_entry(alice, Some(mapping.id), outcome))
                .await
                .unwrap(),
        );
    }
    let adhoc = store
        .append_publish_log(&log_entry(alice, None, PublishOutcome::Busy))
        .await
        .unwrap();
    store
        .append_publish_log(&log_entry(bob, None, PublishOutcome::Published))
        .await
        .unwrap();

    let first = store
        .publish_log(alice, PublishLogFilter::All, PageRequest::first(4))
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![adhoc, ids[4], ids[3], ids[2]]
    );
    let second = store
        .publish_log(alice, PublishLogFilter::All, first.next.unwrap())
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[1], ids[0]]
    );
    assert_eq!(second.next, None);
    assert!(second.items[0].entry.dry_run);
    assert_eq!(
        second.items[1].entry,
        log_entry(alice, Some(mapping.id), PublishOutcome::Published)
    );

    let only = store
        .publish_log(
            alice,
            PublishLogFilter::Mapping(mapping.id),
            PageRequest::first(50),
        )
        .await
        .unwrap();
    assert_eq!(only.items.len(), 5);
    let error = store
        .publish_log(alice, PublishLogFilter::All, PageRequest::first(0))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput(_)));
}

async fn a_row_written_ahead_of_an_edit_is_settled_once_by_its_owner(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let bob = user(&store, "Bob").await;
    let mut ahead = log_entry(alice, None, PublishOutcome::Pending);
    ahead.content_sha1 = Some("a".repeat(40));
    let id = store.append_publish_log(&ahead).await.unwrap();
    let read = |user| {
        let store = Arc::clone(&store);
        async move {
            store
                .publish_log(user, PublishLogFilter::All, PageRequest::first(10))
                .await
                .unwrap()
                .items
        }
    };
    assert_eq!(
        read(alice).await[0].entry,
        ahead,
        "the write-ahead row round-trips"
    );
    let settled = PublishSettlement {
        outcome: PublishOutcome::Published,
        new_revid: Some(11),
        message: Some("published revision 11".to_owned()),
    };
    assert!(
        !store.settle_publish_log(bob, id, &settled).await.unwrap(),
        "another user's row is not theirs to settle"
    );
    assert_eq!(read(alice).await[0].entry.outcome, PublishOutcome::Pending);
    assert!(store.settle_publish_log(alice, id, &settled).await.unwrap());
    let row = read(alice).await.remove(0).entry;
    assert_eq!(row.outcome, PublishOutcome::Published);
    assert_eq!(row.new_revid, Some(11));
    assert_eq!(row.message.as_deref(), Some("published revision 11"));
    assert_eq!(row.content_sha1, ahead.content_sha1);
    assert_eq!(row.base_revid, ahead.base_revid);
    // Settled once: a second result never rewrites the record.
    let again = PublishSettlement {
        outcome: PublishOutcome::Failed,
        new_revid: None,
        message: Some("rewritten".to_owned()),
    };
    assert!(!store.settle_publish_log(alice, id, &again).await.unwrap());
    assert_eq!(read(alice).await[0].entry, row);
    // A row that was never pending cannot be settled either.
    let failed = store
        .append_publish_log(&log_entry(alice, None, PublishOutcome::Failed))
        .await
        .unwrap();
    assert!(
        !store
            .settle_publish_log(alice, failed, &settled)
            .await
            .unwrap()
    );
    let pending = PublishSettlement {
        outcome: PublishOutcome::Pending,
        new_revid: None,
        message: None,
    };
    assert!(matches!(
        store.settle_publish_log(alice, id, &pending).await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn a_stopping_runner_gives_back_every_claim_it_holds_and_only_its_own(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, _, _) = fixture(&store, "Alice").await;
    let second = store
        .add_repository(alice, &new_repo("https://github.com/a/two"), t0())
        .await
        .unwrap();
    let page = store
        .add_page_monitor(alice, "en.wikipedia.org", "MediaWiki:Common.js", t0())
        .await
        .unwrap();
    let now = t0() + Duration::seconds(1);
    let mine = store
        .claim_due_repositories(&claim("runner-a", now, 1))
        .await
        .unwrap();
    assert_eq!(mine[0].repository.id, repo.id);
    let theirs = store
        .claim_due_repositories(&claim("runner-b", now, 10))
        .await
        .unwrap();
    assert_eq!(theirs[0].repository.id, second.id);
    let pages = store
        .claim_due_pages(&claim("runner-a", now, 10))
        .await
        .unwrap();
    assert_eq!(pages[0].id, page.id);
    assert_eq!(store.due_counts(now).await.unwrap().repositories, 0);

    assert_eq!(store.release_all_claims("runner-a").await.unwrap(), 2);
    // Runner a's repository and page are due again at once; runner b's claim stands.
    let again = store
        .claim_due_repositories(&claim("runner-c", now, 10))
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|c| c.repository.id).collect::<Vec<_>>(),
        vec![repo.id]
    );
    let pages = store
        .claim_due_pages(&claim("runner-c", now, 10))
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![page.id]
    );
    assert_eq!(store.release_all_claims("runner-a").await.unwrap(), 0);
}

// ----- credentials -------------------------------------------------------------------------------

async fn one_botpassword_ciphertext_per_user_and_wiki_with_compare_and_swap_rotation(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let bob = user(&store, "Bob").await;
    let first = store
        .set_credential(
            alice,
            "en.wikipedia.org",
            "Alice@Publisher",
            "gAAAA-old",
            t0(),
        )
        .await
        .unwrap();
    let later = t0() + Duration::hours(1);
    let replaced = store
        .set_credential(
            alice,
            "en.wikipedia.org",
            "Alice@Publisher2",
            "gAAAA-new",
            later,
        )
        .await
        .unwrap();
    assert_eq!(first.id, replaced.id);
    assert_eq!(replaced.saved_at, later);
    store
        .set_credential(alice, "de.wikipedia.org", "Alice@De", "gAAAA-de", t0())
        .await
        .unwrap();
    let listed = store.list_credentials(alice).await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.wiki.as_str()).collect::<Vec<_>>(),
        ["de.wikipedia.org", "en.wikipedia.org"]
    );
    assert_eq!(
        store.credential(bob, "en.wikipedia.org").await.unwrap(),
        None
    );
    let stored = store
        .credential(alice, "en.wikipedia.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.ciphertext, "gAAAA-new");
    assert_eq!(stored.bot_username, "Alice@Publisher2");
    assert!(
        !format!("{stored:?}").contains("gAAAA"),
        "Debug must not print the ciphertext"
    );

    assert_eq!(store.all_credentials().await.unwrap().len(), 2);
    assert!(
        !store
            .replace_credential_ciphertext(stored.id, "gAAAA-old", "rotated")
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_credential_ciphertext(stored.id, "gAAAA-new", "rotated")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .credential(alice, "en.wikipedia.org")
            .await
            .unwrap()
            .unwrap()
            .ciphertext,
        "rotated"
    );
    assert!(
        store
            .delete_credential(alice, "de.wikipedia.org")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_credential(bob, "en.wikipedia.org")
            .await
            .unwrap()
    );
    assert_eq!(store.list_credentials(alice).await.unwrap().len(), 1);
}

// ----- repository checks -------------------------------------------------------------------------

async fn due_repositories_are_claimed_once_until_the_lease_expires(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, file, _) = fixture(&store, "Alice").await;
    let second = store
        .add_repository(
            alice,
            &new_repo("https://github.com/a/two"),
            t0() + Duration::seconds(1),
        )
        .await
        .unwrap();
    let now = t0() + Duration::seconds(2);
    assert_eq!(
        store.due_counts(now).await.unwrap(),
        DueCounts {
            repositories: 2,
            pages: 0
        }
    );
    let claimed = store
        .claim_due_repositories(&claim("runner-a", now, 1))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].repository.id, repo.id, "oldest due first");
    assert_eq!(
        claimed[0].files.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![file.id]
    );
    let other = store
        .claim_due_repositories(&claim("runner-b", now, 10))
        .await
        .unwrap();
    assert_eq!(
        other.iter().map(|c| c.repository.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    assert!(
        store
            .claim_due_repositories(&claim("runner-c", now, 10))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.due_counts(now).await.unwrap().repositories, 0);
    // Runner b gives its repository back (quota reserve reached): due again at once.
    assert_eq!(
        store
            .release_repository_claims("runner-a", &[second.id])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .release_repository_claims("runner-b", &[second.id])
            .await
            .unwrap(),
        1
    );
    let again = store
        .claim_due_repositories(&claim("runner-c", now, 10))
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|c| c.repository.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    // Runner a crashed: after its lease expires the repository is claimable again.
    let after_lease = now + Duration::minutes(11);
    let taken = store
        .claim_due_repositories(&claim("runner-d", after_lease, 10))
        .await
        .unwrap();
    assert_eq!(taken.len(), 2);
    let invalid = store
        .claim_due_repositories(&claim("", now, 10))
        .await
        .unwrap_err();
    assert!(matches!(invalid, StoreError::InvalidInput(_)));
}

async fn check_now_makes_one_repository_of_its_owner_due_and_claims_only_that_one(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, _, _) = fixture(&store, "Alice").await;
    let (bob, bobs, _, _) = fixture(&store, "Bob").await;
    // Alice's repository was checked a moment ago: due again only in an hour.
    let now = t0() + Duration::seconds(1);
    store
        .claim_due_repositories(&claim("runner-a", now, 10))
        .await
        .unwrap();
    store
        .complete_repository_check(&RepositoryCheck {
            repository_id: repo.id,
            owner: "runner-a".to_owned(),
            checked_at: now,
            status: RepositoryCheckStatus::Unchanged,
            head_sha: Some("head-1".to_owned()),
            etag: None,
            next_check_at: now + Duration::hours(1),
            files: Vec::new(),
        })
        .await
        .unwrap();
    store
        .release_repository_claims("runner-a", &[bobs.id])
        .await
        .unwrap();
    let later = now + Duration::seconds(1);
    assert!(
        store
            .claim_due_repository(repo.id, &claim("runner-b", later, 10))
            .await
            .unwrap()
            .is_none(),
        "not due yet"
    );
    // Bob cannot make Alice's repository due.
    assert!(
        !store
            .mark_repository_due(bob, repo.id, later)
            .await
            .unwrap()
    );
    assert_eq!(store.due_counts(later).await.unwrap().repositories, 1);
    assert!(
        store
            .mark_repository_due(alice, repo.id, later)
            .await
            .unwrap()
    );
    assert_eq!(store.due_counts(later).await.unwrap().repositories, 2);
    // Claiming one repository takes only that one, though Bob's is due too.
    let claimed = store
        .claim_due_repository(repo.id, &claim("runner-b", later, 10))
        .await
        .unwrap()
        .expect("Alice's repository is due");
    assert_eq!(claimed.repository.id, repo.id);
    assert_eq!(claimed.files.len(), 1);
    assert_eq!(store.due_counts(later).await.unwrap().repositories, 1);
    assert!(
        store
            .claim_due_repository(repo.id, &claim("runner-c", later, 10))
            .await
            .unwrap()
            .is_none(),
        "claimed by runner-b"
    );
}

async fn a_repository_check_records_shas_etag_and_one_log_row_per_file_atomically(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, file, _) = fixture(&store, "Alice").await;
    let gone = store
        .watch_file(alice, repo.id, "src/gone.css", t0())
        .await
        .unwrap();
    let now = t0() + Duration::seconds(1);
    store
        .claim_due_repositories(&claim("runner-a", now, 10))
        .await
        .unwrap();
    let check = |owner: &str, sha: &str, at: DateTime<Utc>| RepositoryCheck {
        repository_id: repo.id,
        owner: owner.to_owned(),
        checked_at: at,
        status: RepositoryCheckStatus::Moved,
        head_sha: Some(format!("head-{sha}")),
        etag: Some(format!("W/\"{sha}\"")),
        next_check_at: at + Duration::hours(1),
        files: vec![
            FileCheckResult {
                watched_file_id: file.id,
                status: FileCheckStatus::Changed,
                new_blob_sha: Some(format!("blob-{sha}")),
                commit_sha: Some(format!("head-{sha}")),
                detail: None,
            },
            FileCheckResult {
                watched_file_id: gone.id,
                status: FileCheckStatus::Missing,
                new_blob_sha: None,
                commit_sha: None,
                detail: Some("not in tree".to_owned()),
            },
        ],
    };
    // Someone else's lease: nothing is written.
    let lost = store
        .complete_repository_check(&check("runner-b", "1", now))
        .await
        .unwrap_err();
    assert!(matches!(lost, StoreError::LeaseLost { .. }), "{lost:?}");
    assert!(
        store
            .file_check_log(alice, file.id, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    store
        .complete_repository_check(&check("runner-a", "1", now))
        .await
        .unwrap();
    let read = store.repository(alice, repo.id).await.unwrap().unwrap();
    assert_eq!(read.head_sha.as_deref(), Some("head-1"));
    assert_eq!(read.etag.as_deref(), Some("W/\"1\""));
    assert_eq!(read.last_status, Some(RepositoryCheckStatus::Moved));
    assert_eq!(read.next_check_at, now + Duration::hours(1));
    let read_file = store.watched_file(alice, file.id).await.unwrap().unwrap();
    assert_eq!(read_file.last_blob_sha.as_deref(), Some("blob-1"));
    assert_eq!(read_file.last_status, Some(FileCheckStatus::Changed));
    // Not due any more, and the claim is released.
    assert!(
        store
            .claim_due_repositories(&claim("runner-c", now, 10))
            .await
            .unwrap()
            .is_empty()
    );

    let next = now + Duration::hours(1);
    store
        .claim_due_repositories(&claim("runner-c", next, 10))
        .await
        .unwrap();
    store
        .complete_repository_check(&check("runner-c", "2", next))
        .await
        .unwrap();
    let log = store
        .file_check_log(alice, file.id, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].old_blob_sha.as_deref(), Some("blob-1"));
    assert_eq!(log.items[0].new_blob_sha.as_deref(), Some("blob-2"));
    let older = store
        .file_check_log(alice, file.id, log.next.unwrap())
        .await
        .unwrap();
    assert_eq!(older.items.len(), 1);
    assert_eq!(older.items[0].old_blob_sha, None);
    assert_eq!(older.next, None);
    let missing = store
        .file_check_log(alice, gone.id, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(missing.items[0].status, FileCheckStatus::Missing);
    assert_eq!(missing.items[0].detail.as_deref(), Some("not in tree"));
    let bob = user(&store, "Bob").await;
    assert!(matches!(
        store
            .file_check_log(bob, file.id, PageRequest::first(10))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn concurrent_runners_claim_disjoint_sets_of_due_work(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    for i in 0..60 {
        store
            .add_repository(
                alice,
                &new_repo(&format!("https://github.com/a/r{i}")),
                t0(),
            )
            .await
            .unwrap();
        store
            .add_page_monitor(alice, "en.wikipedia.org", &format!("Page {i}"), t0())
            .await
            .unwrap();
    }
    let now = t0() + Duration::seconds(1);
    let runners = (0..6).map(|r| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let owner = format!("runner-{r}");
            let mut repos = Vec::new();
            let mut pages = Vec::new();
            loop {
                let batch = store
                    .claim_due_repositories(&claim(&owner, now, 7))
                    .await
                    .unwrap();
                let page_batch = store.claim_due_pages(&claim(&owner, now, 7)).await.unwrap();
                if batch.is_empty() && page_batch.is_empty() {
                    break;
                }
                repos.extend(batch.into_iter().map(|c| c.repository.id));
                pages.extend(page_batch.into_iter().map(|p| p.id));
            }
            (repos, pages)
        })
    });
    let mut all_repos = Vec::new();
    let mut all_pages = Vec::new();
    for runner in runners {
        let (repos, pages) = runner.await.unwrap();
        all_repos.extend(repos);
        all_pages.extend(pages);
    }
    let unique: BTreeSet<_> = all_repos.iter().collect();
    assert_eq!(
        (all_repos.len(), unique.len()),
        (60, 60),
        "every repository claimed exactly once"
    );
    let unique: BTreeSet<_> = all_pages.iter().collect();
    assert_eq!(
        (all_pages.len(), unique.len()),
        (60, 60),
        "every page claimed exactly once"
    );
}

async fn api_quota_snapshots_are_recorded_per_host(db: &TestDb) {
    let store = db.open().await;
    let snapshot = |remaining, minute| ApiQuotaSnapshot {
        host: "api.github.com".to_owned(),
        resource: "core".to_owned(),
        limit: 5000,
        remaining,
        reset_at: Some(t0() + Duration::hours(1)),
        recorded_at: t0() + Duration::minutes(minute),
    };
    store.record_api_quota(&snapshot(4999, 0)).await.unwrap();
    store.record_api_quota(&snapshot(4000, 1)).await.unwrap();
    assert_eq!(
        store.latest_api_quota("api.github.com").await.unwrap(),
        Some(snapshot(4000, 1))
    );
    assert_eq!(store.latest_api_quota("gitlab.com").await.unwrap(), None);
}

async fn forge_quota_use_is_summed_per_user_and_host_since_the_hour_began(db: &TestDb) {
    let store = db.open().await;
    let (alice, bob) = (user(&store, "Alice").await, user(&store, "Bob").await);
    let spend = |user_id, host: &str, spent, minute| ForgeQuotaUse {
        user_id,
        host: host.to_owned(),
        spent,
        recorded_at: t0() + Duration::minutes(minute),
    };
    for usage in [
        spend(alice, "github.com", 7, -30),
        spend(alice, "github.com", 2, 0),
        spend(alice, "github.com", 3, 10),
        spend(alice, "github.com", 0, 11),
        spend(alice, "gitlab.com", 40, 12),
        spend(bob, "github.com", 1, 13),
    ] {
        store.record_forge_quota_use(&usage).await.unwrap();
    }
    let spent = |user, host: &'static str| {
        let store = Arc::clone(&store);
        async move { store.forge_quota_spent(user, host, t0()).await.unwrap() }
    };
    assert_eq!(spent(alice, "github.com").await, 5, "the hour's rows only");
    assert_eq!(spent(alice, "gitlab.com").await, 40);
    assert_eq!(spent(bob, "github.com").await, 1);
    assert_eq!(spent(bob, "gitlab.com").await, 0);
    // Rows older than two hours go when the user's next use on that host is written.
    store
        .record_forge_quota_use(&spend(alice, "github.com", 1, 100))
        .await
        .unwrap();
    let all = store
        .forge_quota_spent(alice, "github.com", t0() - Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(all, 2 + 3 + 1, "the row from before 12:20 is gone");
    assert_eq!(
        store
            .forge_quota_spent(bob, "github.com", t0() - Duration::hours(5))
            .await
            .unwrap(),
        1,
        "another user's rows are left alone"
    );

    // A host's quota is shared among the users who track repositories there.
    assert_eq!(
        store
            .users_tracking_host(Forge::GitHub, "github.com")
            .await
            .unwrap(),
        0
    );
    for (who, name) in [(alice, "a/one"), (alice, "a/two"), (bob, "b/one")] {
        store
            .add_repository(who, &new_repo(&format!("https://github.com/{name}")), t0())
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .users_tracking_host(Forge::GitHub, "github.com")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .users_tracking_host(Forge::GitLab, "github.com")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .users_tracking_host(Forge::GitHub, "gitlab.com")
            .await
            .unwrap(),
        0
    );
}

// ----- page monitors -----------------------------------------------------------------------------

async fn page_monitors_are_claimed_checked_and_logged(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let bob = user(&store, "Bob").await;
    let en = store
        .add_page_monitor(alice, "en.wikipedia.org", "MediaWiki:Common.js", t0())
        .await
        .unwrap();
    let de = store
        .add_page_monitor(alice, "de.wikipedia.org", "MediaWiki:Common.js", t0())
        .await
        .unwrap();
    let moved = store
        .add_page_monitor(alice, "en.wikipedia.org", "User:Alice/old.js", t0())
        .await
        .unwrap();
    assert_eq!(store.page_monitor(bob, en.id).await.unwrap(), None);
    let now = t0() + Duration::seconds(1);
    let claimed = store
        .claim_due_pages(&claim("runner-a", now, 10))
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|p| p.wiki.as_str()).collect::<Vec<_>>(),
        ["de.wikipedia.org", "en.wikipedia.org", "en.wikipedia.org"],
        "grouped by wiki"
    );
    let check = |id, status, revid| PageCheck {
        page_monitor_id: id,
        status,
        new_revid: revid,
        detail: Some("edited by Someone: fix".to_owned()),
        next_check_at: now + Duration::minutes(30),
    };
    // The claim on `moved` is stolen after expiry by runner b before runner a finishes.
    let late = now + Duration::minutes(11);
    assert_eq!(
        store
            .release_page_claims("runner-a", &[moved.id])
            .await
            .unwrap(),
        1
    );
    store
        .claim_due_pages(&claim("runner-b", late, 10))
        .await
        .unwrap();
    let skipped = store
        .complete_page_checks(
            "runner-a",
            now,
            &[
                check(en.id, PageCheckStatus::Changed, Some(1001)),
                check(de.id, PageCheckStatus::Unchanged, Some(55)),
                check(moved.id, PageCheckStatus::Moved, None),
            ],
        )
        .await
        .unwrap();
    // en and de were also re-claimed by b (their leases expired at `late`), so a loses them too.
    assert_eq!(skipped.len(), 3);
    let skipped = store
        .complete_page_checks(
            "runner-b",
            late,
            &[
                check(en.id, PageCheckStatus::Changed, Some(1001)),
                check(de.id, PageCheckStatus::Unchanged, Some(55)),
                check(moved.id, PageCheckStatus::Moved, None),
            ],
        )
        .await
        .unwrap();
    assert!(skipped.is_empty());
    let read = store.page_monitor(alice, en.id).await.unwrap().unwrap();
    assert_eq!(read.last_revid, Some(1001));
    assert_eq!(read.last_status, Some(PageCheckStatus::Changed));
    assert_eq!(read.next_check_at, now + Duration::minutes(30));
    store
        .claim_due_pages(&claim("runner-b", now + Duration::hours(1), 10))
        .await
        .unwrap();
    store
        .complete_page_checks(
            "runner-b",
            now + Duration::hours(1),
            &[check(en.id, PageCheckStatus::Changed, Some(1002))],
        )
        .await
        .unwrap();
    let log = store
        .page_check_log(alice, en.id, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        log.items
            .iter()
            .map(|l| (l.old_revid, l.new_revid))
            .collect::<Vec<_>>(),
        vec![(Some(1001), Some(1002)), (None, Some(1001))]
    );
    assert_eq!(store.list_page_monitors(alice).await.unwrap().len(), 3);
    assert!(!store.remove_page_monitor(bob, en.id).await.unwrap());
    assert!(store.remove_page_monitor(alice, en.id).await.unwrap());
    assert!(matches!(
        store
            .page_check_log(alice, en.id, PageRequest::first(10))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

// ----- notifications -----------------------------------------------------------------------------

async fn a_notification_is_sent_at_most_once_and_failures_are_retried(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let note = NewNotification {
        user_id: alice,
        dedup_key: "file:1:blob-2".to_owned(),
        event_kind: "file_changed".to_owned(),
        subject: "src/gadget.js changed".to_owned(),
        body: "blob-1 → blob-2".to_owned(),
    };
    let lease = Duration::minutes(5);
    let NotificationClaim::Claimed(id) = store
        .claim_notification(&note, "runner-a", t0(), lease)
        .await
        .unwrap()
    else {
        panic!("new notification must be claimed");
    };
    assert_eq!(
        store
            .claim_notification(&note, "runner-b", t0(), lease)
            .await
            .unwrap(),
        NotificationClaim::InProgress
    );
    store
        .finish_notification(
            id,
            "runner-a",
            &NotificationResult::Failed("talk page protected".into()),
            t0(),
        )
        .await
        .unwrap();
    let failed = store.failed_notifications(10).await.unwrap();
    assert_eq!(failed.iter().map(|n| n.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(failed[0].error.as_deref(), Some("talk page protected"));
    // Next run: retried under the same row.
    let retry = store
        .claim_notification(&note, "runner-b", t0() + Duration::hours(1), lease)
        .await
        .unwrap();
    assert_eq!(retry, NotificationClaim::Claimed(id));
    let wrong = store
        .finish_notification(
            id,
            "runner-a",
            &NotificationResult::Sent {
                wiki: "x".into(),
                revid: None,
            },
            t0(),
        )
        .await
        .unwrap_err();
    assert!(matches!(wrong, StoreError::LeaseLost { .. }));
    store
        .finish_notification(
            id,
            "runner-b",
            &NotificationResult::Sent {
                wiki: "meta.wikimedia.org".into(),
                revid: Some(77),
            },
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    for owner in ["runner-a", "runner-c"] {
        assert_eq!(
            store
                .claim_notification(&note, owner, t0() + Duration::days(1), lease)
                .await
                .unwrap(),
            NotificationClaim::AlreadySent
        );
    }
    let log = store
        .notification_log(alice, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].status, NotificationStatus::Sent);
    assert_eq!(log.items[0].attempts, 2);
    assert_eq!(log.items[0].posted_revid, Some(77));
    assert!(store.failed_notifications(10).await.unwrap().is_empty());
    // A claim whose runner died is taken over after the lease.
    let other = NewNotification {
        dedup_key: "page:9:100".to_owned(),
        ..note.clone()
    };
    assert!(matches!(
        store
            .claim_notification(&other, "runner-a", t0(), lease)
            .await
            .unwrap(),
        NotificationClaim::Claimed(_)
    ));
    assert!(matches!(
        store
            .claim_notification(&other, "runner-b", t0() + Duration::minutes(6), lease)
            .await
            .unwrap(),
        NotificationClaim::Claimed(_)
    ));
    let bad = NewNotification {
        event_kind: "File Changed".to_owned(),
        ..note
    };
    assert!(matches!(
        store.claim_notification(&bad, "r", t0(), lease).await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn notification_preferences_default_to_everything_on_and_round_trip(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let defaults = store.notification_preferences(alice).await.unwrap();
    assert_eq!(defaults, NotificationPreferences::default());
    assert!(defaults.is_enabled("file_changed"));
    let prefs = NotificationPreferences {
        home_wiki: Some("meta.wikimedia.org".to_owned()),
        digest: true,
        disabled_event_kinds: ["page_changed".to_owned(), "publish_failed".to_owned()].into(),
    };
    store
        .set_notification_preferences(alice, &prefs, t0())
        .await
        .unwrap();
    let read = store.notification_preferences(alice).await.unwrap();
    assert_eq!(read, prefs);
    assert!(!read.is_enabled("page_changed"));
    assert!(read.is_enabled("file_changed"));
    let changed = NotificationPreferences {
        digest: false,
        disabled_event_kinds: BTreeSet::new(),
        ..prefs
    };
    store
        .set_notification_preferences(alice, &changed, t0())
        .await
        .unwrap();
    assert_eq!(
        store.notification_preferences(alice).await.unwrap(),
        changed
    );
    let bad = NotificationPreferences {
        disabled_event_kinds: ["a,b".to_owned()].into(),
        ..changed
    };
    assert!(matches!(
        store.set_notification_preferences(alice, &bad, t0()).await,
        Err(StoreError::InvalidInput(_))
    ));
}

// ----- dashboard, metrics, maintenance -----------------------------------------------------------

async fn the_dashboard_shows_everything_of_one_user_and_nothing_of_others(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, file, mapping) = fixture(&store, "Alice").await;
    let (bob, ..) = fixture(&store, "Bob").await;
    let empty_repo = store
        .add_repository(alice, &new_repo("https://github.com/a/empty"), t0())
        .await
        .unwrap();
    store
        .add_page_monitor(alice, "en.wikipedia.org", "Main Page", t0())
        .await
        .unwrap();
    store
        .set_credential(alice, "en.wikipedia.org", "Alice@P", "cipher", t0())
        .await
        .unwrap();
    for _ in 0..3 {
        store
            .append_publish_log(&log_entry(
                alice,
                Some(mapping.id),
                PublishOutcome::Published,
            ))
            .await
            .unwrap();
    }
    store
        .append_publish_log(&log_entry(bob, None, PublishOutcome::Published))
        .await
        .unwrap();
    let limits = DashboardLimits {
        recent: 2,
        items: 10,
    };
    let dashboard = store.dashboard(alice, limits).await.unwrap();
    assert_eq!(dashboard.repositories.len(), 2);
    let first = &dashboard.repositories[0];
    assert_eq!(first.repository.id, repo.id);
    assert_eq!(
        (first.files, first.files_unchecked, first.files_failing),
        (1, 1, 0)
    );
    assert_eq!(
        (first.mappings, first.in_sync, first.attention()),
        (1, 0, 1)
    );
    assert_eq!(dashboard.repositories[1].repository.id, empty_repo.id);
    assert_eq!(dashboard.repositories[1].files, 0);
    assert_eq!(dashboard.attention_total(), 1);
    assert_eq!(dashboard.attention.len(), 1);
    assert_eq!(dashboard.attention[0].mapping, mapping);
    assert_eq!(dashboard.attention[0].file_path, file.path);
    assert_eq!(dashboard.attention[0].repository_url, repo.url);
    assert_eq!(
        dashboard.attention[0].state,
        MappingSyncState::NeverPublished
    );
    assert!(dashboard.failing_files.is_empty());
    assert_eq!((dashboard.pages.len(), dashboard.pages_total), (1, 1));
    assert_eq!(dashboard.credentials.len(), 1);
    assert_eq!(dashboard.recent_publishes.len(), 2);
    assert!(
        dashboard
            .recent_publishes
            .iter()
            .all(|p| p.entry.user_id == alice)
    );
    assert!(dashboard.recent_notifications.is_empty());
}

/// Every sync state, decided by the store from the file's last check, the last publish and
/// the user's (never another user's) page monitors; counts per repository; the attention
/// list most urgent first and cut at the limit, with the true total.
async fn mapping_states_come_from_checks_publishes_and_page_monitors(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, _, _) = fixture(&store, "Alice").await;
    let bob = user(&store, "Bob").await;
    let path = |n: usize| format!("src/state-{n}.js");
    let title = |n: usize| format!("User:Alice/state-{n}.js");
    let mut mappings = Vec::new();
    let mut files = Vec::new();
    for n in 0..6 {
        let file = store
            .watch_file(alice, repo.id, &path(n), t0())
            .await
            .unwrap();
        let mapping = store
            .add_mapping(
                alice,
                &NewMapping {
                    watched_file_id: file.id,
                    wiki: "en.wikipedia.org".to_owned(),
                    page_title: title(n),
                    options: MappingOptions {
                        publish_enabled: n != 4,
                        ..MappingOptions::default()
                    },
                },
                t0(),
            )
            .await
            .unwrap();
        files.push(file);
        mappings.push(mapping);
    }
    // The check: files 0..4 at "blob-n", file 5 missing from the branch.
    let now = t0() + Duration::seconds(1);
    store
        .claim_due_repositories(&claim("runner", now, 10))
        .await
        .unwrap();
    store
        .complete_repository_check(&RepositoryCheck {
            repository_id: repo.id,
            owner: "runner".to_owned(),
            checked_at: now,
            status: RepositoryCheckStatus::Moved,
            head_sha: Some("head".to_owned()),
            etag: None,
            next_check_at: now + Duration::hours(1),
            files: files
                .iter()
                .enumerate()
                .map(|(n, f)| FileCheckResult {
                    watched_file_id: f.id,
                    status: if n == 5 {
                        FileCheckStatus::Missing
                    } else {
                        FileCheckStatus::Changed
                    },
                    new_blob_sha: (n != 5).then(|| format!("blob-{n}")),
                    commit_sha: Some("head".to_owned()),
                    detail: None,
                })
                .collect(),
        })
        .await
        .unwrap();
    // Published: 0 and 2 and 4 at the checked blob, 1 at an older blob, 3 never.
    for (n, blob) in [(0, "blob-0"), (1, "blob-old"), (2, "blob-2"), (4, "blob-4")] {
        store
            .record_published(
                alice,
                mappings[n].id,
                &PublishedState {
                    blob_sha: blob.to_owned(),
                    commit_sha: "head".to_owned(),
                    revid: 100,
                    at: now,
                },
            )
            .await
            .unwrap();
    }
    // Page 2 was edited on-wiki after our publish (Alice's monitor saw r101); Bob monitors
    // page 0 and saw r999, which must not count for Alice.
    let edited = store
        .add_page_monitor(alice, "en.wikipedia.org", &title(2), t0())
        .await
        .unwrap();
    store
        .add_page_monitor(bob, "en.wikipedia.org", &title(0), t0())
        .await
        .unwrap();
    let pages = store
        .claim_due_pages(&claim("runner", now, 10))
        .await
        .unwrap();
    let checks: Vec<PageCheck> = pages
        .iter()
        .map(|p| PageCheck {
            page_monitor_id: p.id,
            status: PageCheckStatus::Changed,
            new_revid: Some(if p.id == edited.id { 101 } else { 999 }),
            detail: None,
            next_check_at: now + Duration::minutes(30),
        })
        .collect();
    store
        .complete_page_checks("runner", now, &checks)
        .await
        .unwrap();

    let statuses = store
        .mapping_statuses(alice, &MappingScope::Repository(repo.id))
        .await
        .unwrap();
    let states: Vec<(&str, MappingSyncState)> = statuses
        .iter()
        .map(|s| (s.file_path.as_str(), s.state))
        .collect();
    assert_eq!(
        states,
        [
            ("src/gadget.js", MappingSyncState::NeverPublished),
            ("src/state-0.js", MappingSyncState::InSync),
            ("src/state-1.js", MappingSyncState::FileChanged),
            ("src/state-2.js", MappingSyncState::ChangedOnWiki),
            ("src/state-3.js", MappingSyncState::NeverPublished),
            ("src/state-4.js", MappingSyncState::Off),
            ("src/state-5.js", MappingSyncState::NeverPublished),
        ]
    );
    let one_file = store
        .mapping_statuses(alice, &MappingScope::File(files[1].id))
        .await
        .unwrap();
    assert_eq!(one_file.len(), 1);
    assert_eq!(one_file[0].mapping.id, mappings[1].id);
    assert_eq!(
        store
            .mapping_statuses(alice, &MappingScope::Wiki("de.wikipedia.org".to_owned()))
            .await
            .unwrap(),
        []
    );
    assert_eq!(
        store
            .mapping_statuses(alice, &MappingScope::All)
            .await
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        store
            .mapping_statuses(bob, &MappingScope::Repository(repo.id))
            .await
            .unwrap(),
        [],
        "another user's repository lists nothing"
    );

    let dashboard = store
        .dashboard(
            alice,
            DashboardLimits {
                recent: 5,
                items: 2,
            },
        )
        .await
        .unwrap();
    let summary = &dashboard.repositories[0];
    assert_eq!(
        (
            summary.files,
            summary.files_unchecked,
            summary.files_failing
        ),
        (7, 1, 1)
    );
    assert_eq!(
        (
            summary.mappings,
            summary.in_sync,
            summary.off,
            summary.attention()
        ),
        (7, 1, 1, 5)
    );
    assert_eq!(dashboard.attention_total(), 5);
    let urgent: Vec<MappingSyncState> = dashboard.attention.iter().map(|s| s.state).collect();
    assert_eq!(
        urgent,
        [
            MappingSyncState::ChangedOnWiki,
            MappingSyncState::FileChanged
        ],
        "the most urgent first, cut at the limit"
    );
    assert_eq!(dashboard.failing_files.len(), 1);
    assert_eq!(dashboard.failing_files[0].file.path, path(5));
    assert_eq!(dashboard.failing_files[0].repository_url, repo.url);
    assert_eq!(dashboard.pages_total, 1);
    assert_eq!(dashboard.pages[0].id, edited.id);
}

async fn usage_metrics_are_counted_per_day_and_feature(db: &TestDb) {
    let store = db.open().await;
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    for _ in 0..3 {
        store.record_usage(day(22), "dashboard", 1).await.unwrap();
    }
    // Counted in batches by the web app.
    store.record_usage(day(22), "dashboard", 40).await.unwrap();
    store.record_usage(day(22), "publish", 1).await.unwrap();
    store.record_usage(day(22), "nothing", 0).await.unwrap();
    store.record_usage(day(23), "dashboard", 1).await.unwrap();
    store.record_usage(day(25), "dashboard", 1).await.unwrap();
    let counts = store.usage_metrics(day(22), day(23)).await.unwrap();
    let flat: Vec<_> = counts
        .iter()
        .map(|c| (c.day, c.feature.as_str(), c.count))
        .collect();
    assert_eq!(
        flat,
        vec![
            (day(22), "dashboard", 43),
            (day(22), "publish", 1),
            (day(23), "dashboard", 1)
        ]
    );
    assert!(matches!(
        store.record_usage(day(1), "", 1).await,
        Err(StoreError::InvalidInput(_))
    ));
}

async fn retention_counts_in_a_dry_run_then_deletes_old_logs_but_never_the_publish_log(
    db: &TestDb,
) {
    let store = db.open().await;
    let (alice, repo, file, _) = fixture(&store, "Alice").await;
    let page = store
        .add_page_monitor(alice, "en.wikipedia.org", "P", t0())
        .await
        .unwrap();
    let old = t0() - Duration::days(100);
    for (at, owner) in [(old, "r1"), (t0(), "r2")] {
        store
            .claim_due_repositories(&claim(owner, at.max(t0()), 10))
            .await
            .unwrap();
        store
            .complete_repository_check(&RepositoryCheck {
                repository_id: repo.id,
                owner: owner.to_owned(),
                checked_at: at,
                status: RepositoryCheckStatus::Unchanged,
                head_sha: None,
                etag: None,
                next_check_at: t0(),
                files: vec![FileCheckResult {
                    watched_file_id: file.id,
                    status: FileCheckStatus::Unchanged,
                    new_blob_sha: None,
                    commit_sha: None,
                    detail: None,
                }],
            })
            .await
            .unwrap();
        store
            .claim_due_pages(&claim(owner, t0(), 10))
            .await
            .unwrap();
        store
            .complete_page_checks(
                owner,
                at,
                &[PageCheck {
                    page_monitor_id: page.id,
                    status: PageCheckStatus::Unchanged,
                    new_revid: Some(1),
                    detail: None,
                    next_check_at: t0(),
                }],
            )
            .await
            .unwrap();
        store
            .record_api_quota(&ApiQuotaSnapshot {
                host: "api.github.com".into(),
                resource: "core".into(),
                limit: 1,
                remaining: 1,
                reset_at: None,
                recorded_at: at,
            })
            .await
            .unwrap();
        let mut entry = log_entry(alice, None, PublishOutcome::Published);
        entry.at = at;
        store.append_publish_log(&entry).await.unwrap();
    }
    let cutoff = t0() - Duration::days(90);
    let dry = store.purge_logs(cutoff, true).await.unwrap();
    let expected = RetentionReport {
        file_checks: 1,
        page_checks: 1,
        api_quota: 1,
        notifications: 0,
        dry_run: true,
    };
    assert_eq!(dry, expected);
    assert_eq!(
        store.purge_logs(cutoff, true).await.unwrap(),
        expected,
        "a dry run deletes nothing"
    );
    let real = store.purge_logs(cutoff, false).await.unwrap();
    assert_eq!(
        real,
        RetentionReport {
            dry_run: false,
            ..expected
        }
    );
    assert_eq!(
        store.purge_logs(cutoff, true).await.unwrap(),
        RetentionReport {
            dry_run: true,
            ..Default::default()
        }
    );
    assert_eq!(
        store
            .file_check_log(alice, file.id, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let log = store
        .publish_log(alice, PublishLogFilter::All, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(log.items.len(), 2, "publish_log is never purged");
}

async fn orphaned_rows_are_found_in_a_dry_run_and_then_removed(db: &TestDb) {
    let store = db.open().await;
    let (alice, _, file, _) = fixture(&store, "Alice").await;
    // Rows planted with foreign keys switched off, as a manual import could leave them.
    db.raw(&[
        "INSERT INTO sync_watchedfile (repository_id, path, created_at) VALUES (987654, 'x.js', 0)",
        "INSERT INTO sync_filechecklog (watched_file_id, checked_at, status) VALUES (987654, 0, 'unchanged')",
        "INSERT INTO wiki_monitor_wikipage_checklog (page_monitor_id, checked_at, status) VALUES (987654, 0, 'unchanged')",
        "INSERT INTO publish_botcredential (user_id, wiki, bot_username, ciphertext, saved_at) VALUES (987654, 'w', 'b', 'c', 0)",
    ])
    .await;
    let dry = store.clean_orphans(true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.total(), 4, "{dry:?}");
    let count = |report: &OrphanReport, table: &str| {
        report
            .tables
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, n)| *n)
    };
    assert_eq!(count(&dry, "sync_watchedfile"), Some(1));
    assert_eq!(count(&dry, "publish_botcredential"), Some(1));
    assert_eq!(
        store.clean_orphans(true).await.unwrap().total(),
        4,
        "a dry run deletes nothing"
    );
    let real = store.clean_orphans(false).await.unwrap();
    assert_eq!(real.total(), 4);
    assert_eq!(store.clean_orphans(true).await.unwrap().total(), 0);
    // Healthy rows are untouched.
    assert!(store.watched_file(alice, file.id).await.unwrap().is_some());
}

// ----- monitors created with mappings ------------------------------------------------------------

fn mapping_to(file: WatchedFileId, title: &str) -> NewMapping {
    NewMapping {
        watched_file_id: file,
        wiki: "en.wikipedia.org".to_owned(),
        page_title: title.to_owned(),
        options: MappingOptions::default(),
    }
}

/// The user's monitor of `title` on en.wikipedia.org, if any.
async fn monitor_of(store: &Arc<dyn Store>, user: UserId, title: &str) -> Option<PageMonitor> {
    store
        .list_page_monitors(user)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.wiki == "en.wikipedia.org" && m.page_title == title)
}

async fn a_mapping_with_a_monitor_creates_a_mapping_monitor_or_keeps_the_users_own(db: &TestDb) {
    let store = db.open().await;
    let (alice, _, file, existing) = fixture(&store, "Alice").await;
    let bob = user(&store, "Bob").await;

    let mapped = store
        .add_mapping_with_monitor(alice, &mapping_to(file.id, "User:Alice/a.js"), true, t0())
        .await
        .unwrap();
    assert_eq!(
        store.mapping(alice, mapped.id).await.unwrap(),
        Some(mapped.clone())
    );
    let monitor = monitor_of(&store, alice, "User:Alice/a.js").await.unwrap();
    assert_eq!(monitor.origin, MonitorOrigin::Mapping);
    assert_eq!(monitor.next_check_at, t0(), "due at once");

    // A monitor the user asked for is left as it is.
    let own = store
        .add_page_monitor(alice, "en.wikipedia.org", "User:Alice/b.js", t0())
        .await
        .unwrap();
    assert_eq!(own.origin, MonitorOrigin::User);
    store
        .add_mapping_with_monitor(alice, &mapping_to(file.id, "User:Alice/b.js"), true, t0())
        .await
        .unwrap();
    assert_eq!(
        monitor_of(&store, alice, "User:Alice/b.js").await,
        Some(own)
    );

    // Without `monitor`, no monitor.
    store
        .add_mapping_with_monitor(alice, &mapping_to(file.id, "User:Alice/c.js"), false, t0())
        .await
        .unwrap();
    assert_eq!(monitor_of(&store, alice, "User:Alice/c.js").await, None);

    // A failed mapping writes nothing: the duplicate of the fixture's mapping (whose page
    // is not monitored), and Bob mapping Alice's file.
    let duplicate = store
        .add_mapping_with_monitor(
            alice,
            &mapping_to(file.id, &existing.page_title),
            true,
            t0(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, StoreError::AlreadyExists { .. }),
        "{duplicate:?}"
    );
    assert_eq!(monitor_of(&store, alice, &existing.page_title).await, None);
    let foreign = store
        .add_mapping_with_monitor(bob, &mapping_to(file.id, "User:Bob/x.js"), true, t0())
        .await
        .unwrap_err();
    assert!(
        matches!(foreign, StoreError::NotFound { .. }),
        "{foreign:?}"
    );
    assert!(store.list_page_monitors(bob).await.unwrap().is_empty());
    assert_eq!(store.list_mappings(alice, file.id).await.unwrap().len(), 4);
    assert_eq!(store.list_page_monitors(alice).await.unwrap().len(), 2);
}

async fn removing_a_mapping_removes_the_monitor_it_created_unless_still_needed(db: &TestDb) {
    let store = db.open().await;
    let (alice, repo, first, _) = fixture(&store, "Alice").await;
    let second = store
        .watch_file(alice, repo.id, "src/other.js", t0())
        .await
        .unwrap();
    let (bob, _, bobs_file, _) = fixture(&store, "Bob").await;
    let page = "MediaWiki:Gadget-shared.js";
    let a = store
        .add_mapping_with_monitor(alice, &mapping_to(first.id, page), true, t0())
        .await
        .unwrap();
    let b = store
        .add_mapping_with_monitor(alice, &mapping_to(second.id, page), true, t0())
        .await
        .unwrap();
    store
        .add_mapping_with_monitor(bob, &mapping_to(bobs_file.id, page), true, t0())
        .await
        .unwrap();
    let monitor = monitor_of(&store, alice, page).await.unwrap();
    assert_eq!(monitor.origin, MonitorOrigin::Mapping);

    assert!(store.remove_mapping(alice, a.id).await.unwrap());
    assert_eq!(
        monitor_of(&store, alice, page).await.map(|m| m.id),
        Some(monitor.id),
        "another mapping of Alice's still targets the page"
    );
    assert!(store.remove_mapping(alice, b.id).await.unwrap());
    assert_eq!(monitor_of(&store, alice, page).await, None);
    assert!(
        monitor_of(&store, bob, page).await.is_some(),
        "another user's monitor stays"
    );

    // A monitor the user asked for outlives the mapping.
    let own = store
        .add_page_monitor(alice, "en.wikipedia.org", "User:Alice/own.js", t0())
        .await
        .unwrap();
    let c = store
        .add_mapping_with_monitor(
            alice,
            &mapping_to(first.id, "User:Alice/own.js"),
            true,
            t0(),
        )
        .await
        .unwrap();
    assert!(store.remove_mapping(alice, c.id).await.unwrap());
    assert_eq!(
        monitor_of(&store, alice, "User:Alice/own.js").await,
        Some(own)
    );
}

async fn asking_to_monitor_a_mapped_page_makes_its_monitor_the_users_own(db: &TestDb) {
    let store = db.open().await;
    let (alice, _, file, _) = fixture(&store, "Alice").await;
    let page = "User:Alice/mapped.js";
    let mapping = store
        .add_mapping_with_monitor(alice, &mapping_to(file.id, page), true, t0())
        .await
        .unwrap();
    let created = monitor_of(&store, alice, page).await.unwrap();

    // ensure_page_monitor leaves an existing monitor as it is.
    store
        .ensure_page_monitor(alice, "en.wikipedia.org", page, t0())
        .await
        .unwrap();
    assert_eq!(monitor_of(&store, alice, page).await, Some(created.clone()));

    let adopted = store
        .add_page_monitor(alice, "en.wikipedia.org", page, t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(adopted.id, created.id);
    assert_eq!(adopted.origin, MonitorOrigin::User);
    let again = store
        .add_page_monitor(alice, "en.wikipedia.org", page, t0())
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists { .. }),
        "{again:?}"
    );
    assert!(store.remove_mapping(alice, mapping.id).await.unwrap());
    assert_eq!(monitor_of(&store, alice, page).await, Some(adopted));

    // ensure_page_monitor of an unmonitored page monitors it as the user's own.
    store
        .ensure_page_monitor(alice, "en.wikipedia.org", "User:Alice/new.js", t0())
        .await
        .unwrap();
    assert_eq!(
        monitor_of(&store, alice, "User:Alice/new.js")
            .await
            .map(|m| m.origin),
        Some(MonitorOrigin::User)
    );
}

async fn unwatching_a_file_or_removing_a_repository_drops_the_monitors_its_mappings_created(
    db: &TestDb,
) {
    let store = db.open().await;
    let (alice, first_repo, first, _) = fixture(&store, "Alice").await;
    let second = store
        .watch_file(alice, first_repo.id, "src/second.js", t0())
        .await
        .unwrap();
    let other_repo = store
        .add_repository(alice, &new_repo("https://github.com/Alice/other"), t0())
        .await
        .unwrap();
    let third = store
        .watch_file(alice, other_repo.id, "src/third.js", t0())
        .await
        .unwrap();
    let own = store
        .add_page_monitor(alice, "en.wikipedia.org", "User:Alice/own.js", t0())
        .await
        .unwrap();
    for (file, page) in [
        (first.id, "User:Alice/first.js"),
        (first.id, "User:Alice/own.js"),
        (second.id, "User:Alice/shared.js"),
        (third.id, "User:Alice/shared.js"),
    ] {
        store
            .add_mapping_with_monitor(alice, &mapping_to(file, page), true, t0())
            .await
            .unwrap();
    }
    let titles = |monitors: Vec<PageMonitor>| {
        monitors
            .into_iter()
            .map(|m| m.page_title)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(store.list_page_monitors(alice).await.unwrap()),
        [
            "User:Alice/first.js",
            "User:Alice/own.js",
            "User:Alice/shared.js"
        ]
    );

    assert!(store.unwatch_file(alice, first.id).await.unwrap());
    assert_eq!(
        titles(store.list_page_monitors(alice).await.unwrap()),
        ["User:Alice/own.js", "User:Alice/shared.js"]
    );
    assert!(store.remove_repository(alice, first_repo.id).await.unwrap());
    assert_eq!(
        titles(store.list_page_monitors(alice).await.unwrap()),
        ["User:Alice/own.js", "User:Alice/shared.js"],
        "the other repository's mapping still targets the shared page"
    );
    assert!(store.remove_repository(alice, other_repo.id).await.unwrap());
    assert_eq!(store.list_page_monitors(alice).await.unwrap(), vec![own]);
}

// ----- checks started by hand ----------------------------------------------------------------------

async fn complete_repository(store: &Arc<dyn Store>, id: RepositoryId, next: DateTime<Utc>) {
    let claimed = store
        .claim_due_repository(id, &claim("me", t0(), 10))
        .await
        .unwrap()
        .expect("due and free");
    store
        .complete_repository_check(&RepositoryCheck {
            repository_id: claimed.repository.id,
            owner: "me".to_owned(),
            checked_at: t0(),
            status: RepositoryCheckStatus::Unchanged,
            head_sha: None,
            etag: None,
            next_check_at: next,
            files: Vec::new(),
        })
        .await
        .unwrap();
}

async fn a_manual_check_makes_items_due_now_but_never_takes_another_runners_claim(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let mut repos = Vec::new();
    for name in ["held", "later", "soon"] {
        let url = format!("https://github.com/alice/{name}");
        repos.push(
            store
                .add_repository(alice, &new_repo(&url), t0())
                .await
                .unwrap()
                .id,
        );
    }
    let [held, later, soon] = repos[..] else {
        unreachable!()
    };
    assert!(
        store
            .claim_due_repository(held, &claim("other", t0(), 10))
            .await
            .unwrap()
            .is_some()
    );
    complete_repository(&store, later, t0() + Duration::hours(2)).await;
    complete_repository(&store, soon, t0() + Duration::hours(1)).await;
    let now = t0() + Duration::minutes(1);
    let lease_end = t0() + Duration::minutes(10);

    // Why a scheduled run now checks nothing.
    assert_eq!(
        store
            .check_outlook(CheckQueue::Repositories, "me", now)
            .await
            .unwrap(),
        CheckOutlook {
            due: 0,
            next_due_at: Some(t0() + Duration::hours(1)),
            held: 1,
            held_until: Some(lease_end),
        }
    );
    assert_eq!(
        store
            .check_outlook(CheckQueue::Repositories, "other", now)
            .await
            .unwrap()
            .held,
        0,
        "a runner's own claims are not held by another"
    );

    let made = store
        .make_due_now(
            CheckQueue::Repositories,
            Some(&[later.0, held.0, 987_654]),
            "me",
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        made,
        MadeDue {
            due: 1,
            held: vec![HeldItem {
                id: held.0,
                until: lease_end
            }],
            missing: vec![987_654],
        }
    );
    let outlook = store
        .check_outlook(CheckQueue::Repositories, "me", now)
        .await
        .unwrap();
    assert_eq!((outlook.due, outlook.held), (1, 1));
    assert_eq!(outlook.next_due_at, Some(t0() + Duration::hours(1)));
    let claimed = store
        .claim_due_repositories_among(&[held, later, soon], &claim("me", now, 10))
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.repository.id).collect::<Vec<_>>(),
        [later],
        "the held one stays with its runner; the one not made due stays not due"
    );

    // Everything: the rest becomes due, the held one is reported again.
    let all = store
        .make_due_now(CheckQueue::Repositories, None, "me", now)
        .await
        .unwrap();
    assert_eq!(all.held.len(), 1);
    assert!(all.missing.is_empty());
    let claimed = store
        .claim_due_repositories(&claim("me", now, 10))
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.repository.id).collect::<Vec<_>>(),
        [soon]
    );

    // Pages take the same path.
    let pages = [
        store
            .add_page_monitor(alice, "en.wikipedia.org", "P1", t0())
            .await
            .unwrap()
            .id,
        store
            .add_page_monitor(alice, "en.wikipedia.org", "P2", t0())
            .await
            .unwrap()
            .id,
    ];
    let claimed = store.claim_due_pages(&claim("me", t0(), 10)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let checks: Vec<PageCheck> = pages
        .iter()
        .zip([Duration::minutes(30), Duration::hours(3)])
        .map(|(id, after)| PageCheck {
            page_monitor_id: *id,
            status: PageCheckStatus::Unchanged,
            new_revid: None,
            detail: None,
            next_check_at: t0() + after,
        })
        .collect();
    assert!(
        store
            .complete_page_checks("me", t0(), &checks)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .check_outlook(CheckQueue::Pages, "me", now)
            .await
            .unwrap(),
        CheckOutlook {
            due: 0,
            next_due_at: Some(t0() + Duration::minutes(30)),
            held: 0,
            held_until: None,
        }
    );
    let made = store
        .make_due_now(CheckQueue::Pages, Some(&[pages[1].0]), "me", now)
        .await
        .unwrap();
    assert_eq!(made.due, 1);
    let claimed = store
        .claim_due_pages_among(&pages, &claim("me", now, 10))
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|p| p.id).collect::<Vec<_>>(), [pages[1]]);
}

async fn monitors_from_before_origins_existed_are_the_users_own(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    // A row as the first schema wrote it, without the origin column.
    db.raw(&[&format!(
        "INSERT INTO wiki_monitor_pagemonitor (user_id, wiki, page_title, next_check_at, \
         created_at) VALUES ({}, 'en.wikipedia.org', 'Old page', 0, 0)",
        alice.0
    )])
    .await;
    let old = monitor_of(&store, alice, "Old page").await.unwrap();
    assert_eq!(old.origin, MonitorOrigin::User);
}

async fn a_repository_keeps_its_forge_host_and_full_name(db: &TestDb) {
    let store = db.open().await;
    let alice = user(&store, "Alice").await;
    let added = store
        .add_repository(
            alice,
            &NewRepository {
                forge: Forge::GitLab,
                host: "127.0.0.1:8929".to_owned(),
                full_name: "group/sub/project".to_owned(),
                url: "http://127.0.0.1:8929/group/sub/project".to_owned(),
                branch: "main".to_owned(),
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        (added.forge, added.host.as_str(), added.full_name.as_str()),
        (Forge::GitLab, "127.0.0.1:8929", "group/sub/project")
    );
    assert_eq!(
        store.list_repositories(alice).await.unwrap(),
        std::slice::from_ref(&added)
    );
    let claimed = store
        .claim_due_repositories(&claim("runner", t0(), 10))
        .await
        .unwrap();
    assert_eq!(claimed[0].repository.full_name, "group/sub/project");
}

/// Rows written before `full_name` existed: derived from a canonical `https://<host>/<path>`
/// URL, left empty for any other shape.
async fn repositories_from_before_full_names_get_them_from_canonical_urls(db: &TestDb) {
    db.migrate_before(20261202000003).await;
    let rows = [
        (
            "github.com",
            "https://github.com/octo/gadgets",
            "octo/gadgets",
        ),
        (
            "gitlab.wikimedia.org",
            "https://gitlab.wikimedia.org/g/sub/p",
            "g/sub/p",
        ),
        ("127.0.0.1", "http://127.0.0.1:8929/octo/gadgets", ""),
        ("github.com", "https://github.com/octo/trailing/", ""),
        ("github.com", "https://github.com/no-name", ""),
        ("github.com", "https://github.com//empty-owner", ""),
        ("github.com", "https://gitlab.com/other/host", ""),
        ("github.com", "https://github.com/octo/q?x=1", ""),
    ];
    let now = t0().timestamp_millis();
    let mut statements = vec![format!(
        "INSERT INTO users (id, central_id, username, created_at, last_login_at) \
         VALUES (1, 'sub-old', 'Old', {now}, {now})"
    )];
    for (i, (host, url, _)) in rows.iter().enumerate() {
        statements.push(format!(
            "INSERT INTO sync_trackedrepository (id, user_id, forge, host, repo_url, branch, \
             next_check_at, created_at) VALUES ({}, 1, 'github', '{host}', '{url}', 'main', \
             {now}, {now})",
            i + 1
        ));
    }
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    db.raw(&statements).await;
    let store = db.open().await;
    let stored = store.list_repositories(UserId(1)).await.unwrap();
    let found: Vec<(&str, &str)> = stored
        .iter()
        .map(|r| (r.url.as_str(), r.full_name.as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = rows.iter().map(|(_, url, name)| (*url, *name)).collect();
    assert_eq!(found, expected);
}

// ----- wikis -------------------------------------------------------------------------------------

fn known_wiki(key: &str, api_url: &str, sitename: &str) -> KnownWiki {
    KnownWiki {
        key: key.to_owned(),
        api_url: api_url.to_owned(),
        wiki_id: "testwiki".to_owned(),
        server: "http://127.0.0.1:8080".to_owned(),
        sitename: sitename.to_owned(),
        language: "en".to_owned(),
        namespaces: r#"[{"id":-1,"name":"Special"}]"#.to_owned(),
        resolved_at: t0(),
    }
}

async fn a_wiki_is_found_by_its_key_its_api_url_and_every_spelling_it_was_saved_with(db: &TestDb) {
    let store = db.open().await;
    let api = "http://127.0.0.1:8080/api.php";
    assert_eq!(store.wiki_by_spelling(api).await.unwrap(), None);
    let wiki = known_wiki(api, api, "TestWiki");
    store
        .save_wiki(&wiki, &["http://127.0.0.1:8080/".to_owned()])
        .await
        .unwrap();
    for spelling in [api, "http://127.0.0.1:8080/"] {
        assert_eq!(
            store.wiki_by_spelling(spelling).await.unwrap().as_ref(),
            Some(&wiki),
            "{spelling}"
        );
    }
    assert_eq!(
        store
            .wiki_by_spelling("http://127.0.0.1:8080/w/api.php")
            .await
            .unwrap(),
        None
    );
    // Resolving again (a renamed wiki) replaces the identity and keeps the spellings.
    let renamed = known_wiki(api, api, "Renamed wiki");
    store
        .save_wiki(
            &renamed,
            &["http://127.0.0.1:8080/index.php/Main_Page".to_owned()],
        )
        .await
        .unwrap();
    for spelling in [
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:8080/index.php/Main_Page",
    ] {
        assert_eq!(
            store
                .wiki_by_spelling(spelling)
                .await
                .unwrap()
                .unwrap()
                .sitename,
            "Renamed wiki"
        );
    }
    store
        .save_wiki(
            &known_wiki(
                "en.wikipedia.org",
                "https://en.wikipedia.org/w/api.php",
                "Wikipedia",
            ),
            &[],
        )
        .await
        .unwrap();
    let keys: Vec<String> = store
        .known_wikis()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.key)
        .collect();
    assert_eq!(keys, ["en.wikipedia.org", api]);
    assert!(matches!(
        store.save_wiki(&known_wiki("", api, "x"), &[]).await,
        Err(StoreError::InvalidInput(_))
    ));
}

/// Rows written before wikis were known spelled `https://HOST/w/api.php` and `HOST` apart; the
/// migration makes them one where that is certain, and leaves a row that would duplicate one.
async fn the_wikis_migration_rewrites_rows_that_spelled_a_known_wiki_differently(db: &TestDb) {
    let store = db.open().await;
    let (alice, _repo, file, _mapping) = fixture(&store, "Alice").await;
    let long = "https://de.wikipedia.org/w/api.php";
    db.raw(&[
        "DELETE FROM _sqlx_migrations WHERE version = 20261202000002",
        "DROP TABLE wiki_spellings",
        "DROP TABLE wikis",
        &format!(
            "INSERT INTO sync_filemapping (watched_file_id, wiki, page_title, created_at) \
             VALUES ({}, '{long}', 'MediaWiki:Gadget-de.js', 0)",
            file.id.0
        ),
        &format!(
            "INSERT INTO wiki_monitor_pagemonitor (user_id, wiki, page_title, next_check_at, \
             created_at) VALUES ({0}, '{long}', 'A', 0, 0), ({0}, '{long}', 'B', 0, 0), \
             ({0}, 'de.wikipedia.org', 'B', 0, 0), \
             ({0}, 'http://127.0.0.1:8080/w/api.php', 'C', 0, 0)",
            alice.0
        ),
        &format!(
            "INSERT INTO notifications_userpreference (user_id, home_wiki, digest, \
             disabled_event_kinds, updated_at) VALUES ({}, '{long}', 0, '', 0)",
            alice.0
        ),
    ])
    .await;
    let applied = store.migrate().await.unwrap().applied;
    assert_eq!(applied.len(), 1, "{applied:?}");
    let count = |wiki: &str, table: &str, column: &str| {
        format!("SELECT COUNT(*) FROM {table} WHERE {column} = '{wiki}'")
    };
    assert_eq!(
        db.raw_i64(&count("de.wikipedia.org", "sync_filemapping", "wiki"))
            .await,
        1
    );
    assert_eq!(
        db.raw_i64(&count(
            "de.wikipedia.org",
            "wiki_monitor_pagemonitor",
            "wiki"
        ))
        .await,
        2,
        "A rewritten, B already there"
    );
    assert_eq!(
        db.raw_i64(&count(long, "wiki_monitor_pagemonitor", "wiki"))
            .await,
        1,
        "the B that would duplicate stays"
    );
    assert_eq!(
        db.raw_i64(&count(
            "http://127.0.0.1:8080/w/api.php",
            "wiki_monitor_pagemonitor",
            "wiki"
        ))
        .await,
        1,
        "a guessed path is not decidable without a request"
    );
    assert_eq!(
        store
            .notification_preferences(alice)
            .await
            .unwrap()
            .home_wiki
            .as_deref(),
        Some("de.wikipedia.org")
    );
}

/// The per-user limits' inputs: one user's counts see nothing of another's, and a rate-limited
/// action is taken at most `limit` times in a window, per user, even by concurrent takers.
async fn user_counts_and_action_slots_are_per_user(db: &TestDb) {
    let store = db.open().await;
    let (alice, _, _, _) = fixture(&store, "alice").await;
    store
        .add_page_monitor(alice, "de.wikipedia.org", "Benutzer:Alice/x.js", t0())
        .await
        .unwrap();
    let (bob, _, file, _) = fixture(&store, "bob").await;
    store
        .add_repository(bob, &new_repo("https://github.com/bob/second"), t0())
        .await
        .unwrap();
    let repo = store.list_repositories(bob).await.unwrap()[0].id;
    store
        .watch_file(bob, repo, "src/other.js", t0())
        .await
        .unwrap();
    store
        .add_mapping_with_monitor(
            bob,
            &NewMapping {
                watched_file_id: file.id,
                wiki: "fr.wikipedia.org".to_owned(),
                page_title: "Utilisateur:Bob/gadget.js".to_owned(),
                options: MappingOptions::default(),
            },
            true,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.user_counts(alice).await.unwrap(),
        UserCounts {
            repositories: 1,
            watched_files: 1,
            mappings: 1,
            monitored_pages: 1,
        }
    );
    assert_eq!(
        store.user_counts(bob).await.unwrap(),
        UserCounts {
            repositories: 2,
            watched_files: 2,
            mappings: 2,
            monitored_pages: 1,
        }
    );

    let hour = Duration::hours(1);
    let take = |who: UserId, at: DateTime<Utc>| {
        let store = Arc::clone(&store);
        async move {
            store
                .take_action_slot(who, UserAction::CredentialCheck, at, hour, 3)
                .await
                .unwrap()
        }
    };
    for minute in 0..3 {
        assert_eq!(
            take(alice, t0() + Duration::minutes(minute)).await,
            ActionSlot::Taken
        );
    }
    // The fourth in the hour is refused until the first leaves the window; nothing is recorded.
    let late = t0() + Duration::minutes(3);
    assert_eq!(
        take(alice, late).await,
        ActionSlot::Refused {
            next_at: t0() + hour
        }
    );
    assert_eq!(
        take(alice, late).await,
        ActionSlot::Refused {
            next_at: t0() + hour
        }
    );
    // Another user's share is their own.
    assert_eq!(take(bob, late).await, ActionSlot::Taken);
    // Once the first left the window, one more fits; then the second must leave too.
    assert_eq!(take(alice, t0() + hour).await, ActionSlot::Taken);
    assert_eq!(
        take(alice, t0() + hour).await,
        ActionSlot::Refused {
            next_at: t0() + hour + Duration::minutes(1)
        }
    );

    // Concurrent takers of one user get exactly the limit.
    let carol = user(&store, "carol").await;
    let takers: Vec<_> = (0..10).map(|_| tokio::spawn(take(carol, t0()))).collect();
    let mut taken = 0;
    for taker in takers {
        if taker.await.unwrap() == ActionSlot::Taken {
            taken += 1;
        }
    }
    assert_eq!(taken, 3);
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = super::TestDb::sqlite();
                    super::$test(&db).await;
                }
            )*
        }

        mod mariadb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(db) = super::TestDb::mariadb().await else { return };
                    super::$test(&db).await;
                }
            )*
        }
    };
}

conformance!(
    migrations_apply_from_empty_and_running_them_again_is_a_no_op,
    an_empty_database_is_refused_until_it_is_migrated,
    a_schema_migrated_by_a_newer_binary_is_refused_with_a_clear_error,
    users_are_keyed_by_central_id_and_a_rename_updates_the_name,
    sessions_live_until_they_expire_or_are_ended_one_or_all,
    repositories_files_and_mappings_are_visible_to_their_owner_only,
    duplicates_are_reported_as_already_existing,
    removing_a_repository_removes_its_files_and_mappings_but_keeps_the_publish_log,
    the_last_published_blob_commit_and_revision_are_kept_per_mapping,
    the_publish_mutex_admits_one_holder_per_user_until_it_is_released,
    a_running_task_older_than_five_minutes_is_expired_and_taken_over,
    many_concurrent_acquirers_on_one_pool_get_exactly_one_mutex,
    the_publish_log_is_append_only_and_paginates_newest_first,
    a_row_written_ahead_of_an_edit_is_settled_once_by_its_owner,
    a_stopping_runner_gives_back_every_claim_it_holds_and_only_its_own,
    one_botpassword_ciphertext_per_user_and_wiki_with_compare_and_swap_rotation,
    due_repositories_are_claimed_once_until_the_lease_expires,
    check_now_makes_one_repository_of_its_owner_due_and_claims_only_that_one,
    a_repository_check_records_shas_etag_and_one_log_row_per_file_atomically,
    concurrent_runners_claim_disjoint_sets_of_due_work,
    api_quota_snapshots_are_recorded_per_host,
    forge_quota_use_is_summed_per_user_and_host_since_the_hour_began,
    page_monitors_are_claimed_checked_and_logged,
    a_notification_is_sent_at_most_once_and_failures_are_retried,
    notification_preferences_default_to_everything_on_and_round_trip,
    the_dashboard_shows_everything_of_one_user_and_nothing_of_others,
    mapping_states_come_from_checks_publishes_and_page_monitors,
    usage_metrics_are_counted_per_day_and_feature,
    retention_counts_in_a_dry_run_then_deletes_old_logs_but_never_the_publish_log,
    orphaned_rows_are_found_in_a_dry_run_and_then_removed,
    a_mapping_with_a_monitor_creates_a_mapping_monitor_or_keeps_the_users_own,
    removing_a_mapping_removes_the_monitor_it_created_unless_still_needed,
    asking_to_monitor_a_mapped_page_makes_its_monitor_the_users_own,
    unwatching_a_file_or_removing_a_repository_drops_the_monitors_its_mappings_created,
    a_manual_check_makes_items_due_now_but_never_takes_another_runners_claim,
    monitors_from_before_origins_existed_are_the_users_own,
    a_repository_keeps_its_forge_host_and_full_name,
    repositories_from_before_full_names_get_them_from_canonical_urls,
    a_wiki_is_found_by_its_key_its_api_url_and_every_spelling_it_was_saved_with,
    the_wikis_migration_rewrites_rows_that_spelled_a_known_wiki_differently,
    user_counts_and_action_slots_are_per_user,
);
