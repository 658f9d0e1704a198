//! Against a real MediaWiki (`scripts/mediawiki-test-server`): the SHA-1 a publish writes
//! ahead of its edit is the one MediaWiki gives the revision (`rvprop=sha1`), also for a file
//! with CRLF line ends and trailing whitespace that the save normalises; so the page watcher
//! takes a publish whose record was lost for our own edit, not an on-wiki change. Runs when
//! `WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL` is set; otherwise prints "skipped: ..." — except in CI
//! (`CI` set), where a missing wiki fails.

mod common;

use std::sync::Arc;

use chrono::Utc;
use common::{PATH, REPO, opts, seed_checked_file, seed_mapping, sql, temp_store};
use secrecy::SecretString;
use wikiscriptsync_core::forge::Forges;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::monitor::{
    ChangeEvent, PageCheckSettings, PageRunReport, PageWatcher, Selection,
};
use wikiscriptsync_core::mw::{
    self, ActionApiClient, AllowList, ClientConfig, PageState, UserAgent, WikiApi, WikiSessionExt,
};
use wikiscriptsync_core::publish::{Publisher, content_sha1};
use wikiscriptsync_core::store::{
    MappingOptions, PageRequest, PublishLogFilter, PublishOutcome as Logged, Store,
};
use wikiscriptsync_core::vault::Vault;

/// The file as committed: CRLF line ends and trailing whitespace, which MediaWiki normalises.
const FILE: &str = "// own edit\r\nmw.log( 'x' );  \r\n\r\n";
const NEXT: &str = "// own edit, unrecorded\r\nmw.log( 'y' );\t\r\n";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sha1_written_ahead_is_mediawikis_and_the_watcher_takes_the_unrecorded_edit_for_ours() {
    let Some(api_url) = common::real_wiki_api_url() else {
        return;
    };
    let login = var("WIKISCRIPTSYNC_TEST_MW_ADMIN_USER").expect("set with the wiki");
    let password = var("WIKISCRIPTSYNC_TEST_MW_ADMIN_PASSWORD").expect("set with the wiki");
    let mut config =
        ClientConfig::new(UserAgent::from_contact("https://example.org/tests").unwrap())
            .interactive();
    config.allow_list = AllowList::with_hosts(
        var("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS")
            .unwrap_or_default()
            .split(','),
    )
    .unwrap();
    config.retry = mw::RetryPolicy::fast_for_tests();
    let client = Arc::new(ActionApiClient::new(config).unwrap());
    let wiki = client.parse_wiki(&api_url).unwrap();
    let github = FakeGitHub::start().await;
    github.add_repo(REPO, [(PATH, FILE)]);
    let dir = tempfile::tempdir().unwrap();
    let (store, db) = temp_store(dir.path()).await;
    let vault = Arc::new(Vault::from_key_list(&Vault::generate_key()).unwrap());
    let forges = Arc::new(Forges::new(github.config_builder().build().unwrap()).unwrap());
    let publisher = Publisher::new(client.clone(), forges, store.clone(), Some(vault.clone()));
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let user = store
        .upsert_user(&format!("central-own-{nanos}"), "Admin", Utc::now())
        .await
        .unwrap()
        .id;
    let secret = SecretString::from(password);
    let wiki_key = wiki.key();
    let owner = wikiscriptsync_core::vault::CredentialOwner {
        user,
        wiki: &wiki_key,
    };
    store
        .set_credential(
            user,
            &wiki_key,
            &login,
            &vault.encrypt(owner, &secret),
            Utc::now(),
        )
        .await
        .unwrap();
    let page = format!("MediaWiki:Gadget-wss-own-{}-{nanos}.js", std::process::id());
    let options = MappingOptions {
        allow_create: true,
        ..MappingOptions::default()
    };
    let mapping = seed_mapping(store.as_ref(), user, &github, &wiki.key(), &page, options).await;
    let request = wikiscriptsync_core::publish::MappingPublish { user, mapping };
    let created = publisher
        .publish_mapping(request, opts(false, false))
        .await
        .unwrap();
    let lookup = |store: Arc<dyn Store>| {
        let (client, wiki, page) = (client.clone(), wiki.clone(), page.clone());
        async move {
            let session = client.anonymous(&wiki).unwrap();
            let found = session.lookup_titles(&[page]).await.unwrap();
            let PageState::Exists(revision) = &found[0].state else {
                panic!("the page exists: {found:?}");
            };
            let log = store
                .publish_log(user, PublishLogFilter::All, PageRequest::first(10))
                .await
                .unwrap()
                .items;
            (revision.clone(), log)
        }
    };

    // What the publish wrote ahead is what MediaWiki says the revision's SHA-1 is.
    let (revision, log) = lookup(store.clone()).await;
    assert_eq!(Some(revision.revision_id), created.new_revision());
    let mw_sha1 = revision.sha1.clone().expect("rvprop=sha1");
    assert_eq!(log[0].entry.content_sha1.as_deref(), Some(mw_sha1.as_str()));
    assert_eq!(content_sha1(FILE), mw_sha1);

    store
        .add_page_monitor(user, &wiki.key(), &page, Utc::now())
        .await
        .unwrap();
    let wiki_api: Arc<dyn WikiApi> = client.clone();
    let watcher = PageWatcher::new(store.clone(), wiki_api, PageCheckSettings::new("own-test"));
    let all = Selection::from_flags(true, std::iter::empty());
    let changes = |run: &PageRunReport| {
        run.changes
            .iter()
            .filter(|e| matches!(e, ChangeEvent::PageChanged(_)))
            .count()
    };
    assert_eq!(changes(&watcher.run_selection(&all).await.unwrap()), 0);

    // The next version lands, and nothing after the edit can be recorded.
    github.commit(REPO, "main", [(PATH, Some(NEXT))]);
    seed_checked_file(store.as_ref(), user, &github).await;
    for table in ["publish_log", "sync_filemapping"] {
        sql(
            &db,
            &[&format!(
                "CREATE TRIGGER fail_{table} BEFORE UPDATE ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
            )],
        )
        .await;
    }
    let unrecorded = publisher
        .publish_mapping(request, opts(false, false))
        .await
        .unwrap();
    assert!(unrecorded.record_error.is_some(), "{unrecorded:?}");
    for table in ["publish_log", "sync_filemapping"] {
        sql(&db, &[&format!("DROP TRIGGER fail_{table}")]).await;
    }
    let (revision, log) = lookup(store.clone()).await;
    assert_eq!(log[0].entry.outcome, Logged::Pending);
    assert_eq!(revision.sha1, log[0].entry.content_sha1);

    // The watcher takes the new revision for ours and settles the row.
    let run = watcher.run_selection(&all).await.unwrap();
    assert_eq!(run.checked, 1, "{run:?}");
    assert_eq!(
        changes(&run),
        0,
        "our own edit is no on-wiki change: {run:?}"
    );
    let (_, log) = lookup(store.clone()).await;
    assert_eq!(log[0].entry.outcome, Logged::Published, "{log:?}");
    assert_eq!(
        log[0].entry.new_revid,
        i64::try_from(revision.revision_id).ok()
    );
}
