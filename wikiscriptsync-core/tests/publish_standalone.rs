//! The store-less publisher (`StandalonePublisher`) over the fake wiki and the fake GitHub:
//! the same guarded steps as a logged publish (blob SHA verified, rights checked, conflict-
//! guarded edit, `nocreate` unless asked, no change), with no store, and a drift guard only
//! when the caller gives the revision it last published.

mod common;

use std::sync::Arc;

use secrecy::SecretString;
use wikiscriptsync_core::forge::BlobSha;
use wikiscriptsync_core::mw::BotPassword;
use wikiscriptsync_core::mw::testkit::Fault;
use wikiscriptsync_core::publish::{
    DriftMemory, FailureClass, PublishOptions, PublishOutcome, PublishSource, PublishStep,
    SourceRevision, StandalonePublish, StandalonePublisher,
};

use common::{ADMIN, Env, LIMITED, PAGE, PASSWORD, PATH, REPO, V1, opts};

/// The fakes of [`Env`] (its store is never handed to the standalone publisher).
fn standalone(env: &Env) -> StandalonePublisher {
    StandalonePublisher::new(env.client.clone(), env.forges.clone())
}

/// The file at the head of `main`, to [`PAGE`], as `login`.
fn request(env: &Env, login: &str) -> StandalonePublish {
    StandalonePublish {
        source: PublishSource::Repository {
            repo: Box::new(env.repo()),
            revision: SourceRevision::Branch("main".to_owned()),
            path: PATH.to_owned(),
            expected_blob: None,
        },
        wiki: env.wiki_key(),
        page: PAGE.to_owned(),
        credentials: BotPassword::new(login, SecretString::from(PASSWORD.to_owned())),
        allow_create: true,
        banner: false,
        expected_revision: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_publish_creates_the_page_in_four_wiki_requests_and_records_nothing() {
    let env = Env::start().await;
    let report = standalone(&env)
        .publish(request(&env, ADMIN), opts(false, false))
        .await
        .unwrap();
    let PublishOutcome::Published {
        created: true,
        new_revision,
        ..
    } = report.outcome
    else {
        panic!("{report:?}")
    };
    assert_eq!(env.wiki.page_text(PAGE).as_deref(), Some(V1.trim_end()));
    assert_eq!(
        env.wiki.page(PAGE).unwrap().latest().unwrap().id,
        new_revision
    );
    // Login token, login, probe, edit; the branch head and the file (the tree for its SHA).
    assert_eq!(report.requests.wiki, 4, "{report:?}");
    assert_eq!(env.wiki.request_count(), 4);
    assert_eq!(report.log_id, None);
    assert_eq!(report.drift_memory, DriftMemory::Off);
    assert!(
        env.log().await.is_empty(),
        "a standalone publish writes no row"
    );
    assert!(!format!("{report:?}").contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_expected_revision_an_on_wiki_change_is_replaced_and_the_report_says_so() {
    let env = Env::start().await;
    let publisher = standalone(&env);
    publisher
        .publish(request(&env, ADMIN), opts(false, false))
        .await
        .unwrap();
    env.wiki.edit_as(PAGE, "// by hand\n", "Other", "hand edit");
    env.github.commit(
        REPO,
        "main",
        [(PATH, Some("// hello v2\nmw.log('hello');\n"))],
    );
    let report = publisher
        .publish(request(&env, ADMIN), opts(false, false))
        .await
        .unwrap();
    assert!(
        matches!(
            report.outcome,
            PublishOutcome::Published { created: false, .. }
        ),
        "{report:?}"
    );
    assert_eq!(report.drift_memory, DriftMemory::Off);
    assert!(
        report.message.contains("no drift memory"),
        "{}",
        report.message
    );
    assert_eq!(
        env.wiki.page_text(PAGE).as_deref(),
        Some("// hello v2\nmw.log('hello');")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_revision_it_last_published_an_on_wiki_change_is_refused_until_overwritten() {
    let env = Env::start().await;
    let publisher = standalone(&env);
    let first = publisher
        .publish(request(&env, ADMIN), opts(false, false))
        .await
        .unwrap();
    let last = first.new_revision().unwrap();
    let hand = env.wiki.edit_as(PAGE, "// by hand\n", "Other", "hand edit");
    env.github.commit(
        REPO,
        "main",
        [(PATH, Some("// hello v2\nmw.log('hello');\n"))],
    );
    let guarded = StandalonePublish {
        expected_revision: Some(last),
        ..request(&env, ADMIN)
    };

    let failure = publisher
        .publish(guarded.clone(), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::DriftGuard, "{failure:?}");
    assert_eq!(failure.error.code(), "drift", "{failure}");
    assert_eq!(failure.class(), FailureClass::Refused);
    assert_eq!(env.wiki.page_text(PAGE).as_deref(), Some("// by hand"));

    let report = publisher.publish(guarded, opts(false, true)).await.unwrap();
    assert!(report.overwrote_drift, "{report:?}");
    assert_eq!(report.drift_memory, DriftMemory::Given { revision: last });
    assert_eq!(report.target.base_revision, Some(hand));
    assert_eq!(
        env.wiki.page_text(PAGE).as_deref(),
        Some("// hello v2\nmw.log('hello');")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_merged_into_a_change_made_after_the_probe_is_reported_as_merged_drift() {
    let env = Env::start().await;
    env.wiki
        .edit_as(PAGE, "a();\nb();\nc();\nd();\n", "Other", "start");
    env.github
        .commit(REPO, "main", [(PATH, Some("A();\nb();\nc();\nd();\n"))]);
    // Between our probe and our edit, someone else changes the last line.
    env.fault_on_probe(Fault::RacingEdit {
        title: PAGE.to_owned(),
        text: "a();\nb();\nc();\nD();\n".to_owned(),
        user: "Racer".to_owned(),
        comment: "race".to_owned(),
    });
    let report = standalone(&env)
        .publish(request(&env, ADMIN), opts(false, false))
        .await
        .unwrap();
    assert!(
        matches!(report.outcome, PublishOutcome::Merged { .. }),
        "a merged edit is never a clean publish: {report:?}"
    );
    let drift = report.drift.as_deref().expect("what was merged is shown");
    assert!(drift.contains("+D();"), "{drift}");
    assert!(
        report.message.contains("not a clean publish"),
        "{}",
        report.message
    );
    assert_eq!(
        env.wiki.page_text(PAGE).as_deref(),
        Some("A();\nb();\nc();\nD();")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guards_hold_without_a_store() {
    let env = Env::start().await;
    let publisher = standalone(&env);

    // A missing page is not created unless asked (the edit would carry `nocreate`).
    let no_create = StandalonePublish {
        allow_create: false,
        ..request(&env, ADMIN)
    };
    let failure = publisher
        .publish(no_create, opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.error.code(), "page_missing", "{failure}");
    assert_eq!(env.wiki.requests_for("edit"), 0);

    // Bytes that do not hash to the expected blob SHA are never sent, and nothing logs in.
    let before = env.wiki.request_count();
    let mut wrong_blob = request(&env, ADMIN);
    wrong_blob.source = PublishSource::Repository {
        repo: Box::new(env.repo()),
        revision: SourceRevision::Commit(env.github.head_of(REPO, "main").unwrap()),
        path: PATH.to_owned(),
        expected_blob: Some(BlobSha::of_bytes(b"something else")),
    };
    let failure = publisher
        .publish(wrong_blob, opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Fetch, "{failure:?}");
    assert_eq!(env.wiki.request_count(), before);

    // A BotPassword without the right to edit site JavaScript stops at the rights check.
    let failure = publisher
        .publish(request(&env, LIMITED), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Probe, "{failure:?}");
    assert_eq!(failure.class(), FailureClass::Refused);

    // A bad title is refused before any request.
    let before = env.wiki.request_count();
    let bad_title = StandalonePublish {
        page: "User:Admin/bad[1].js".to_owned(),
        ..request(&env, ADMIN)
    };
    let failure = publisher
        .publish(bad_title, opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Validate, "{failure:?}");
    assert_eq!(env.wiki.request_count(), before);
    assert_eq!(env.wiki.requests_for("edit"), 0);
    assert!(env.wiki.page(PAGE).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_diff_and_a_second_publish_of_the_same_file_changes_nothing() {
    let env = Env::start().await;
    let publisher = standalone(&env);
    let preview = publisher
        .publish(
            request(&env, ADMIN),
            PublishOptions {
                dry_run: true,
                overwrite_drift: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        preview.outcome,
        PublishOutcome::WouldPublish { would_create: true }
    );
    assert!(
        preview.diff.contains("+mw.log('hello');"),
        "{}",
        preview.diff
    );
    assert!(env.wiki.page(PAGE).is_none());

    let first = publisher
        .publish(request(&env, ADMIN), opts(false, false))
        .await
        .unwrap();
    let again = publisher
        .publish(request(&env, ADMIN), opts(false, false))
        .await
        .unwrap();
    assert_eq!(
        again.outcome,
        PublishOutcome::NoChange {
            revision: first.new_revision().unwrap()
        }
    );
    assert_eq!(again.requests.wiki, 3, "no edit is sent: {again:?}");
}

#[test]
fn the_standalone_publisher_is_usable_behind_an_arc_and_its_debug_shows_no_secret() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<StandalonePublisher>();
    let request = StandalonePublish {
        source: PublishSource::LocalFile {
            path: "x.js".into(),
        },
        wiki: "en.wikipedia.org".to_owned(),
        page: "User:X/x.js".to_owned(),
        credentials: BotPassword::new("X@y", SecretString::from(PASSWORD.to_owned())),
        allow_create: false,
        banner: false,
        expected_revision: None,
    };
    let shown = format!("{request:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    let _ = Arc::new(request);
}
