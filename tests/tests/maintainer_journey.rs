//! The maintainer's journey through the core use cases, against a real MediaWiki and a fake
//! GitHub: add a repository → watch a file → map it to a page → save a BotPassword → preview →
//! publish → an on-wiki edit is detected → a file change is detected → a notice lands on the
//! talk page → publishing is refused for drift → publishing with overwrite goes through.
//!
//! Runs when `WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL` is set (see `scripts/mediawiki-test-server`);
//! prints "skipped" otherwise, and fails under CI.

mod support;

use secrecy::SecretString;
use support::{Journey, RealWiki, marker};
use wikiscriptsync_core::app::{CheckNowOutcome, MapFile, PreferencesChange};
use wikiscriptsync_core::jobs;
use wikiscriptsync_core::mw::{CreatePolicy, EditOutcome, EditRequest, Title};
use wikiscriptsync_core::publish::{PublishError, PublishOutcome};
use wikiscriptsync_core::store::MappingOptions;

const REPO: &str = "octo/journey";
const PATH: &str = "src/Gadget-journey.js";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintainer_publishes_sees_both_kinds_of_change_and_overwrites_drift_on_purpose() {
    let Some(wiki) = RealWiki::from_env("maintainer journey") else {
        return;
    };
    let run = marker();
    let page = format!("MediaWiki:Gadget-journey-{run}.js");
    let v1 = format!("// journey {run} v1\nmw.log('v1');\n");
    let journey = Journey::start(&wiki).await;
    let app = &journey.app;
    journey.github.add_repo(REPO, [(PATH, v1.as_str())]);
    let alice = app
        .log_in(&format!("central-journey-{run}"), &wiki.recipient)
        .await
        .unwrap();

    // Track, watch, check, map (with its monitor), notices to the talk page.
    let repo = app
        .add_repository(alice.id, &journey.github.repo_url(REPO), None)
        .await
        .unwrap();
    assert_eq!(repo.branch, "main", "the default branch");
    let watched = app
        .watch_files(alice.id, repo.id, &[PATH.to_owned()])
        .await
        .unwrap();
    let file = watched.added[0].id;
    assert_eq!(
        watched.check,
        Some(CheckNowOutcome::FirstCheck),
        "watching checks at once"
    );
    let (checked, _) = app
        .check_repository_now(alice.id, repo.id, "journey")
        .await
        .unwrap();
    assert!(checked.is_success(), "{checked:?}");
    let mapping = app
        .map_file(
            alice.id,
            &MapFile {
                file,
                wiki: wiki.api.clone(),
                title: page.clone(),
                options: MappingOptions {
                    allow_create: true,
                    ..MappingOptions::default()
                },
                monitor: true,
            },
        )
        .await
        .unwrap();
    let monitors = app.page_monitors(alice.id).await.unwrap();
    assert_eq!(monitors.len(), 1, "mapping monitors the page: {monitors:?}");
    app.set_preferences(
        alice.id,
        PreferencesChange {
            home_wiki: Some(Some(wiki.api.clone())),
            digest: Some(false),
            ..PreferencesChange::default()
        },
    )
    .await
    .unwrap();

    // The BotPassword: one login, and the report says it can publish the mapped page.
    let (login, password) = &wiki.admin;
    let report = app
        .save_credential(
            alice.id,
            &wiki.api,
            login,
            SecretString::from(password.clone()),
        )
        .await
        .unwrap();
    assert!(report.suffices(), "{report:?}");
    assert_eq!(report.pages.len(), 1);

    // Preview: a creation with the file's text; nothing is edited.
    let preview = app.preview(alice.id, mapping.id).await.unwrap();
    let diff = preview.result.unwrap();
    assert!(diff.creates && !diff.identical, "{diff:?}");
    assert!(diff.diff.contains("+// journey"), "{}", diff.diff);
    let admin = wiki.admin_session().await;
    let title = Title::parse(&page).unwrap();
    assert!(admin.page_text(&title, None).await.unwrap().is_none());

    // Publish: the page is created with the file's text.
    let published = app.publish(alice.id, mapping.id, false).await.unwrap();
    let report = published.result.unwrap();
    let PublishOutcome::Published {
        created: true,
        new_revision: first,
        ..
    } = report.outcome
    else {
        panic!("{report:?}");
    };
    let live = admin.page_text(&title, None).await.unwrap().unwrap();
    assert_eq!(live.revision_id, first);
    assert_eq!(live.text.trim_end(), v1.trim_end());

    // Someone edits the page on the wiki: the page check sees it and notices go out.
    let mut hotfix = EditRequest::new(
        title.clone(),
        format!("{}// hotfix on-wiki {run}\n", live.text),
        "hotfix on-wiki",
    );
    hotfix.base_revision = Some(first);
    let EditOutcome::Updated { new_revision, .. } = admin.edit(&hotfix).await.unwrap() else {
        panic!("the hotfix edit");
    };
    // The notification bot may add sections, not create pages: the talk page exists.
    let talk = Title::parse(&format!("User talk:{}", wiki.recipient)).unwrap();
    if admin.page_text(&talk, None).await.unwrap().is_none() {
        let mut create = EditRequest::new(talk.clone(), "Talk page.", "journey: talk page");
        create.create = CreatePolicy::MayCreate;
        admin.edit(&create).await.unwrap();
    }
    let services = app.services(Some(wiki.bot(&wiki.notifier)), 30);
    let pages = jobs::check_wiki_updates(&services, None).await.unwrap();
    let page_change = pages
        .checks
        .changes
        .iter()
        .find(|c| c.kind() == "page_changed")
        .unwrap_or_else(|| panic!("the on-wiki edit is seen: {:?}", pages.checks));
    assert!(
        page_change.subject().contains(&page),
        "{}",
        page_change.subject()
    );
    assert_eq!(pages.notifications.sent, 1, "{:?}", pages.notifications);

    // The file changes in the repository: the check sees it and a notice goes out.
    let v2 = format!("// journey {run} v2\nmw.log('v2');\n");
    journey
        .github
        .commit(REPO, "main", [(PATH, Some(v2.as_str()))]);
    let (moved, checks) = app
        .check_repository_now(alice.id, repo.id, "journey")
        .await
        .unwrap();
    assert_eq!(moved, CheckNowOutcome::Moved);
    let changes = checks.unwrap().changes;
    assert!(
        changes.iter().any(|c| c.kind() == "file_changed"),
        "{changes:?}"
    );
    let sent = app
        .notify(Some(wiki.bot(&wiki.notifier)), "journey", &changes)
        .await
        .unwrap();
    assert_eq!(sent.sent, 1, "{sent:?}");

    // Both notices are on the recipient's talk page, as new sections.
    let talk_text = admin.page_text(&talk, None).await.unwrap().unwrap().text;
    assert!(talk_text.contains(&page), "the page notice: {talk_text}");
    assert!(talk_text.contains(PATH), "the file notice");

    // Publishing now would overwrite the hotfix: refused, with the on-wiki change shown.
    let refused = app.publish(alice.id, mapping.id, false).await.unwrap();
    let failure = refused.result.unwrap_err();
    let PublishError::Drift { diff, .. } = &failure.error else {
        panic!("drift expected: {failure:?}");
    };
    assert!(diff.contains("hotfix on-wiki"), "{diff}");
    let live = admin.page_text(&title, None).await.unwrap().unwrap();
    assert_eq!(live.revision_id, new_revision, "nothing was edited");

    // On purpose: the file's new version replaces the hotfix.
    let overwritten = app.publish(alice.id, mapping.id, true).await.unwrap();
    let report = overwritten.result.unwrap();
    assert!(report.overwrote_drift, "{report:?}");
    let live = admin.page_text(&title, None).await.unwrap().unwrap();
    assert_eq!(live.text.trim_end(), v2.trim_end());
    assert!(live.revision_id > new_revision);
}
