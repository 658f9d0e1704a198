//! The publisher against a fake wiki, a fake GitHub and a SQLite temp store: every step's
//! outcome and failure path, the publish log row each attempt leaves, the mutex released on
//! every path, concurrency, and the request counts.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use common::*;
use wikiscriptsync_core::forge::testkit::{Endpoint, Fault as ForgeFault};
use wikiscriptsync_core::mw::testkit::Fault as WikiFault;
use wikiscriptsync_core::mw::{self, BotPassword, WikiApi, WikiSession, WikiUrl};
use wikiscriptsync_core::publish::{
    FailureClass, PublishError, PublishOutcome, PublishSource, PublishStep, Publisher,
};
use wikiscriptsync_core::store::{
    MappingOptions, PublishLock, PublishOutcome as Logged, PublishTaskStatus,
};
use wikiscriptsync_core::vault::Vault;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_publish_of_a_checked_mapping_costs_one_forge_and_four_wiki_requests() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.store_credential(ADMIN).await;
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;
    env.github.reset_stats();

    let report = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap();

    let PublishOutcome::Published {
        old_revision: Some(old),
        new_revision,
        created: false,
    } = report.outcome
    else {
        panic!("unexpected outcome {:?}", report.outcome);
    };
    assert_eq!(report.requests.forge, 1, "{report:?}");
    assert_eq!(report.requests.wiki, 4, "{report:?}");
    assert_eq!(env.github.stats().requests, 1);
    assert_eq!(env.wiki.request_count(), 4);
    assert_eq!(env.wiki.requests_for("edit"), 1);
    assert_eq!(env.wiki.page_text(PAGE).unwrap(), V1.trim_end());
    assert_eq!(
        report.diff_url.as_deref(),
        Some(format!(
            "{}index.php?diff={new_revision}&oldid={old}",
            env.wiki_key().trim_end_matches("api.php")
        ))
        .as_deref()
    );
    // The edit was based on the probed revision and carried a summary with the commit link.
    let edit = env
        .wiki
        .requests()
        .into_iter()
        .find(|r| r.action == "edit")
        .unwrap();
    assert_eq!(edit.param("baserevid"), Some(old.to_string().as_str()));
    assert!(edit.param("starttimestamp").is_some());
    assert!(edit.param("nocreate").is_some());
    let summary = edit.param("summary").unwrap();
    assert!(
        summary.starts_with(&format!("Publish {REPO}@")) && summary.contains("/commit/"),
        "{summary}"
    );
    // The mapping remembers what was published; the log has the row; the mutex is free.
    let stored = env.store.mapping(env.user, mapping).await.unwrap().unwrap();
    let last = stored.last_published.unwrap();
    assert_eq!(last.revid, i64::try_from(new_revision).unwrap());
    assert_eq!(
        last.blob_sha,
        env.github
            .blob_sha_of(REPO, "main", PATH)
            .unwrap()
            .to_string()
    );
    let log = env.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entry.outcome, Logged::Published);
    assert_eq!(log[0].entry.mapping_id, Some(mapping));
    assert_eq!(log[0].entry.base_revid, Some(i64::try_from(old).unwrap()));
    assert_eq!(
        log[0].entry.new_revid,
        Some(i64::try_from(new_revision).unwrap())
    );
    let task = env
        .store
        .publish_task(log[0].entry.task_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.status, PublishTaskStatus::Done);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_publish_resolves_the_head_then_reads_tree_and_blob() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let report = env.publish_page().await.unwrap();
    assert_eq!(report.outcome.as_str(), "published");
    // head + tree (for the blob SHA to verify against) + content.
    assert_eq!(report.requests.forge, 3, "{report:?}");
    assert_eq!(report.requests.wiki, 4, "{report:?}");
    assert_eq!(
        report.target.commit,
        Some(env.github.head_of(REPO, "main").unwrap().to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_already_has_the_text_is_recorded_as_no_change_without_an_edit() {
    let env = Env::start().await;
    // Same text with CRLF and trailing whitespace: equal after MediaWiki's normalisation.
    env.wiki.add_page(PAGE, &V1.replace('\n', "\r\n"));
    let report = env.publish_page().await.unwrap();
    assert!(
        matches!(report.outcome, PublishOutcome::NoChange { .. }),
        "{report:?}"
    );
    assert_eq!(env.wiki.requests_for("edit"), 0);
    assert_eq!(report.requests.wiki, 3, "login token, login, probe");
    assert_eq!(env.log().await[0].entry.outcome, Logged::NoChange);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_returns_the_diff_and_edits_takes_and_logs_nothing() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// hello v0\nmw.log('hello');\n");
    let report = env
        .publisher
        .publish(env.ad_hoc(ADMIN, PASSWORD, PAGE), opts(true, false))
        .await
        .unwrap();
    assert_eq!(
        report.outcome,
        PublishOutcome::WouldPublish {
            would_create: false
        }
    );
    assert!(report.dry_run);
    assert!(
        report.diff.contains("-// hello v0\n+// hello v1\n"),
        "{}",
        report.diff
    );
    assert_eq!(env.wiki.requests_for("edit"), 0);
    assert_eq!(
        env.wiki.page_text(PAGE).unwrap(),
        "// hello v0\nmw.log('hello');"
    );
    // A dry run is a read: no publish-log row (and so no task row to point at).
    assert_eq!(report.log_id, None);
    assert!(env.log().await.is_empty(), "{:?}", env.log().await);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_wiki_change_since_the_last_publish_is_refused_with_its_diff_until_overwritten() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.store_credential(ADMIN).await;
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;
    env.publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap();
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

    let failure = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::DriftGuard);
    assert_eq!(failure.class(), FailureClass::Refused);
    let PublishError::Drift { diff, .. } = &failure.error else {
        panic!("{failure:?}");
    };
    assert!(diff.contains("+hotfix();"), "{diff}");
    assert!(
        failure
            .to_string()
            .contains("changed on-wiki since your last publish")
    );
    assert_eq!(
        env.wiki.requests_for("edit"),
        1,
        "only the first publish edited"
    );
    assert_eq!(env.log().await[0].entry.outcome, Logged::DriftRefused);
    env.assert_mutex_released().await;

    // A dry run with overwrite shows what would change; the real one overwrites.
    let report = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, true))
        .await
        .unwrap();
    assert!(report.overwrote_drift);
    assert_eq!(report.outcome.as_str(), "published");
    assert_eq!(
        env.wiki.page_text(PAGE).unwrap(),
        "// hello v2\nmw.log('hello');"
    );
    // Now in step again: the next publish is a plain no change.
    let again = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap();
    assert!(matches!(again.outcome, PublishOutcome::NoChange { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_page_without_a_previous_publish_is_not_drift_and_the_diff_shows_the_change() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// someone else's version\n");
    let report = env.publish_page().await.unwrap();
    assert_eq!(report.outcome.as_str(), "published");
    assert!(
        report.diff.contains("-// someone else's version"),
        "{}",
        report.diff
    );
    // The ad-hoc drift guard remembers this publish through the log.
    env.wiki
        .edit_as(PAGE, "// changed on-wiki\n", "Someone", "x");
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.error.code(), "drift");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_page_is_refused_without_create_and_created_with_it() {
    let env = Env::start().await;
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.step, PublishStep::Probe);
    assert_eq!(failure.error.code(), "page_missing");
    assert!(failure.error.is_refusal());
    assert_eq!(env.wiki.requests_for("edit"), 0);
    assert_eq!(env.log().await[0].entry.outcome, Logged::Refused);
    env.assert_mutex_released().await;

    let mut request = env.ad_hoc(ADMIN, PASSWORD, PAGE);
    request.allow_create = true;
    request.banner = true;
    let report = env
        .publisher
        .publish(request, opts(false, false))
        .await
        .unwrap();
    assert!(matches!(
        report.outcome,
        PublishOutcome::Published { created: true, .. }
    ));
    let text = env.wiki.page_text(PAGE).unwrap();
    assert!(
        text.starts_with("// Published by WikiScriptSync from https://github.com/octo/gadgets@"),
        "{text}"
    );
    assert!(text.ends_with(V1.trim_end()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_right_stops_before_the_edit_naming_right_and_grant() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let failure = env
        .publisher
        .publish(env.ad_hoc(LIMITED, PASSWORD, PAGE), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Probe);
    assert_eq!(failure.error.code(), "missing_right");
    assert_eq!(failure.class(), FailureClass::Refused);
    let message = failure.to_string();
    assert!(
        message.contains("editsitejs") && message.contains("editsiteconfig"),
        "{message}"
    );
    assert_eq!(env.wiki.requests_for("edit"), 0);
    assert_eq!(env.log().await[0].entry.outcome, Logged::Refused);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_at_login_and_is_logged() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let failure = env
        .publisher
        .publish(
            env.ad_hoc(ADMIN, "not-the-password", PAGE),
            opts(false, false),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Login);
    assert_eq!(failure.error.code(), "login_failed");
    assert_eq!(failure.class(), FailureClass::Other);
    assert_eq!(failure.requests.wiki, 2, "login token + login");
    let log = env.log().await;
    assert_eq!(log[0].entry.outcome, Logged::Failed);
    assert!(
        log[0]
            .entry
            .message
            .as_deref()
            .unwrap()
            .contains("step 4 (log in)"),
        "{:?}",
        log[0].entry.message
    );
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_undecryptable_stored_password_fails_at_decrypt_before_any_request() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;
    env.github.reset_stats();

    let failure = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Decrypt);
    assert_eq!(failure.error.code(), "no_credential");
    env.assert_mutex_released().await;

    // Encrypted with a key the publisher does not have (a bad key).
    let other = Vault::from_key_list(&Vault::generate_key()).unwrap();
    let wiki = env.wiki_key();
    let owner = wikiscriptsync_core::vault::CredentialOwner {
        user: env.user,
        wiki: &wiki,
    };
    let ciphertext = other.encrypt(owner, &secrecy::SecretString::from(PASSWORD));
    env.store
        .set_credential(env.user, &env.wiki_key(), ADMIN, &ciphertext, Utc::now())
        .await
        .unwrap();
    let failure = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Decrypt);
    assert_eq!(failure.error.code(), "vault");
    assert!(failure.to_string().contains("CREDENTIAL_ENCRYPTION_KEY"));
    assert_eq!(env.wiki.request_count(), 0);
    assert_eq!(env.github.stats().requests, 0);
    let log = env.log().await;
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| r.entry.outcome == Logged::Failed));
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_that_does_not_match_is_never_published() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.github
        .push_fault_on(Endpoint::Blob, ForgeFault::TamperedContent, 1);
    env.github
        .push_fault_on(Endpoint::Contents, ForgeFault::TamperedContent, 1);
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.step, PublishStep::Fetch);
    assert_eq!(failure.error.code(), "forge");
    assert_eq!(env.wiki.request_count(), 0, "no login after a failed fetch");
    assert_eq!(env.log().await[0].entry.outcome, Logged::Failed);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_file_is_published_with_its_blob_sha_logged() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let path = env.dir.path().join("built.js");
    std::fs::write(&path, V1).unwrap();
    let mut request = env.ad_hoc(ADMIN, PASSWORD, PAGE);
    request.source = PublishSource::LocalFile { path: path.clone() };
    let report = env
        .publisher
        .publish(request, opts(false, false))
        .await
        .unwrap();
    assert_eq!(report.requests.forge, 0);
    let blob = wikiscriptsync_core::forge::BlobSha::of_bytes(V1.as_bytes()).to_string();
    assert_eq!(report.target.blob_sha.as_deref(), Some(blob.as_str()));
    assert_eq!(
        env.log().await[0].entry.blob_sha.as_deref(),
        Some(blob.as_str())
    );

    // A file that does not exist stops at the fetch step, logged.
    let mut request = env.ad_hoc(ADMIN, PASSWORD, PAGE);
    request.source = PublishSource::LocalFile {
        path: env.dir.path().join("missing.js"),
    };
    let failure = env
        .publisher
        .publish(request, opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Fetch);
    assert_eq!(failure.error.code(), "local_file");
    assert_eq!(env.log().await[0].entry.outcome, Logged::Failed);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_conflict_racing_the_publish_is_refused() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    // Right after answering the probe, which reads the base revision, the fake saves someone
    // else's revision.
    env.fault_on_probe(WikiFault::RacingEdit {
        title: PAGE.to_owned(),
        text: "// racing edit\n".to_owned(),
        user: "Someone".to_owned(),
        comment: "race".to_owned(),
    });
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.step, PublishStep::Edit);
    assert_eq!(failure.error.code(), "edit_conflict");
    assert!(failure.error.is_refusal());
    assert_eq!(env.wiki.page_text(PAGE).unwrap(), "// racing edit");
    assert_eq!(env.log().await[0].entry.outcome, Logged::Refused);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_account_and_a_failing_edit_leave_a_row_and_a_free_mutex() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.wiki
        .add_account(admin_account("Blocked@publisher").blocked("vandalism"));
    let failure = env
        .publisher
        .publish(
            env.ad_hoc("Blocked@publisher", PASSWORD, PAGE),
            opts(false, false),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Probe);
    assert_eq!(failure.error.code(), "blocked");
    assert!(failure.error.is_refusal());
    env.assert_mutex_released().await;

    env.wiki.inject_for("edit", WikiFault::HttpStatus(400), 1);
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.step, PublishStep::Edit);
    assert_eq!(failure.class(), FailureClass::Other);
    assert_eq!(env.log().await[0].entry.outcome, Logged::Failed);
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_by_one_user_run_one_and_tell_the_others_it_is_busy() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    // The first publish stops at its login, inside the mutex, until the other two are done.
    let (gate, entered, release) = GatedLogin::new(env.client.clone());
    let publisher = Publisher::new(
        Arc::new(gate),
        env.forges.clone(),
        env.store.clone(),
        Some(env.vault.clone()),
    );
    let first = {
        let (publisher, request) = (publisher.clone(), env.ad_hoc(ADMIN, PASSWORD, PAGE));
        tokio::spawn(async move { publisher.publish(request, opts(false, false)).await })
    };
    entered.await.expect("the first publish reached its login");
    let mut busy = Vec::new();
    for _ in 0..2 {
        let failure = publisher
            .publish(env.ad_hoc(ADMIN, PASSWORD, PAGE), opts(false, false))
            .await
            .expect_err("the mutex is held by the first publish");
        busy.push(failure);
    }
    release
        .send(())
        .expect("the first publish waits at its login");
    let published = usize::from(first.await.unwrap().is_ok());
    assert_eq!(published, 1);
    assert_eq!(busy.len(), 2);
    for failure in &busy {
        assert_eq!(failure.class(), FailureClass::Busy);
        assert_eq!(failure.step, PublishStep::Mutex);
        assert!(
            failure
                .to_string()
                .contains("another publish of yours is running since"),
            "{failure}"
        );
    }
    assert_eq!(env.wiki.requests_for("edit"), 1);
    let log = env.log().await;
    assert_eq!(
        log.iter()
            .filter(|r| r.entry.outcome == Logged::Busy)
            .count(),
        2
    );
    assert_eq!(
        log.iter()
            .filter(|r| r.entry.outcome == Logged::Published)
            .count(),
        1
    );
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_task_older_than_five_minutes_is_taken_over() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let stale = match env
        .store
        .acquire_publish_task(env.user, Utc::now() - chrono::Duration::minutes(6))
        .await
        .unwrap()
    {
        PublishLock::Acquired { task, .. } => task,
        busy => panic!("{busy:?}"),
    };
    let report = env.publish_page().await.unwrap();
    assert_eq!(report.outcome.as_str(), "published");
    let stale = env.store.publish_task(stale).await.unwrap().unwrap();
    assert_eq!(stale.status, PublishTaskStatus::Failed);

    // A recent RUNNING task is respected.
    let fresh = env
        .store
        .acquire_publish_task(env.user, Utc::now() - chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert!(matches!(fresh, PublishLock::Acquired { .. }));
    let failure = env.publish_page().await.unwrap_err();
    assert_eq!(failure.class(), FailureClass::Busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_file_mapped_to_several_pages_gets_a_report_per_target() {
    let env = Env::start().await;
    env.store_credential(ADMIN).await;
    env.wiki.add_page(PAGE, "// old\n");
    let first = env.checked_mapping(PAGE, MappingOptions::default()).await;
    let second = env
        .checked_mapping("MediaWiki:Gadget-hello-copy.js", MappingOptions::default())
        .await;
    let third = env
        .checked_mapping("MediaWiki:Gadget-hello-new.js", create_allowed())
        .await;
    let file = env
        .store
        .mapping(env.user, first)
        .await
        .unwrap()
        .unwrap()
        .watched_file_id;
    let results = env
        .publisher
        .publish_everywhere(env.user, file, opts(false, false))
        .await
        .unwrap();
    assert_eq!(
        results.iter().map(|r| r.mapping).collect::<Vec<_>>(),
        vec![first, second, third]
    );
    assert_eq!(
        results[0].result.as_ref().unwrap().outcome.as_str(),
        "published"
    );
    assert_eq!(
        results[1].result.as_ref().unwrap_err().error.code(),
        "page_missing"
    );
    assert_eq!(
        results[2].result.as_ref().unwrap().outcome.as_str(),
        "created"
    );
    assert_eq!(env.log().await.len(), 3);
}

/// A wiki client whose first login says it has started and then waits to be released (a
/// publish held inside its mutex for as long as a test needs); later logins go straight on.
struct GatedLogin {
    client: Arc<mw::ActionApiClient>,
    gate: std::sync::Mutex<
        Option<(
            tokio::sync::oneshot::Sender<()>,
            tokio::sync::oneshot::Receiver<()>,
        )>,
    >,
}

impl GatedLogin {
    /// The client, a receiver told when the first login starts, and the sender that lets it
    /// continue.
    fn new(
        client: Arc<mw::ActionApiClient>,
    ) -> (
        Self,
        tokio::sync::oneshot::Receiver<()>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel();
        let gate = Self {
            client,
            gate: std::sync::Mutex::new(Some((entered_tx, release_rx))),
        };
        (gate, entered_rx, release_tx)
    }
}

#[async_trait]
impl WikiApi for GatedLogin {
    fn parse_wiki(&self, input: &str) -> Result<WikiUrl, mw::Error> {
        self.client.parse_wiki(input)
    }
    fn parse_address(&self, input: &str) -> Result<mw::WikiAddress, mw::Error> {
        WikiApi::parse_address(self.client.as_ref(), input)
    }
    async fn resolve_wiki(&self, input: &str) -> Result<mw::WikiIdentity, mw::Error> {
        WikiApi::resolve_wiki(self.client.as_ref(), input).await
    }
    async fn login(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
    ) -> Result<Arc<dyn WikiSession>, mw::Error> {
        let gate = self
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((entered, release)) = gate {
            let _ = entered.send(());
            let _ = release.await;
        }
        WikiApi::login(self.client.as_ref(), wiki, credentials).await
    }
    fn anonymous(&self, wiki: &WikiUrl) -> Result<Arc<dyn WikiSession>, mw::Error> {
        WikiApi::anonymous(self.client.as_ref(), wiki)
    }
    fn request_count(&self) -> u64 {
        WikiApi::request_count(self.client.as_ref())
    }
}

/// A wiki client whose login panics, to prove a panic in the pipeline is logged and releases
/// the mutex.
struct PanickingWiki(Arc<mw::ActionApiClient>);

#[async_trait]
impl WikiApi for PanickingWiki {
    fn parse_wiki(&self, input: &str) -> Result<WikiUrl, mw::Error> {
        self.0.parse_wiki(input)
    }
    fn parse_address(&self, input: &str) -> Result<mw::WikiAddress, mw::Error> {
        WikiApi::parse_address(self.0.as_ref(), input)
    }
    async fn resolve_wiki(&self, input: &str) -> Result<mw::WikiIdentity, mw::Error> {
        WikiApi::resolve_wiki(self.0.as_ref(), input).await
    }
    async fn login(
        &self,
        _wiki: &WikiUrl,
        _credentials: BotPassword,
    ) -> Result<Arc<dyn WikiSession>, mw::Error> {
        panic!("a bug in the wiki client");
    }
    fn anonymous(&self, wiki: &WikiUrl) -> Result<Arc<dyn WikiSession>, mw::Error> {
        WikiApi::anonymous(self.0.as_ref(), wiki)
    }
    fn request_count(&self) -> u64 {
        0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_pipeline_is_logged_and_releases_the_mutex() {
    let env = Env::start().await;
    let publisher = Publisher::new(
        Arc::new(PanickingWiki(env.client.clone())),
        env.forges.clone(),
        env.store.clone(),
        Some(env.vault.clone()),
    );
    let failure = publisher
        .publish(env.ad_hoc(ADMIN, PASSWORD, PAGE), opts(false, false))
        .await
        .unwrap_err();
    assert!(
        matches!(
            failure.error,
            PublishError::Panicked {
                step: PublishStep::Login
            }
        ),
        "{failure:?}"
    );
    assert_eq!(failure.step, PublishStep::Login);
    env.assert_newest_task_failed().await;
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_reencrypts_old_ciphertexts_and_counts_them() {
    let env = Env::start().await;
    let old_key = Vault::generate_key();
    let old = Vault::from_key_list(&old_key).unwrap();
    let owner = wikiscriptsync_core::vault::CredentialOwner {
        user: env.user,
        wiki: "en.wikipedia.org",
    };
    let ciphertext = old.encrypt(owner, &secrecy::SecretString::from(PASSWORD));
    env.store
        .set_credential(env.user, "en.wikipedia.org", ADMIN, &ciphertext, Utc::now())
        .await
        .unwrap();
    env.store_credential(ADMIN).await; // already on the newest key
    use secrecy::ExposeSecret as _;
    let both = Vault::from_key_list(&secrecy::SecretString::from(format!(
        "{},{}",
        env.key.expose_secret(),
        old_key.expose_secret()
    )))
    .unwrap();
    let dry = wikiscriptsync_core::credentials::rotate_credentials(env.store.as_ref(), &both, true)
        .await
        .unwrap();
    assert_eq!((dry.total, dry.current, dry.reencrypted), (2, 1, 1));
    let stored = env
        .store
        .credential(env.user, "en.wikipedia.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.ciphertext, ciphertext, "a dry run writes nothing");
    let done =
        wikiscriptsync_core::credentials::rotate_credentials(env.store.as_ref(), &both, false)
            .await
            .unwrap();
    assert_eq!((done.total, done.current, done.reencrypted), (2, 1, 1));
    let stored = env
        .store
        .credential(env.user, "en.wikipedia.org")
        .await
        .unwrap()
        .unwrap();
    assert!(
        env.vault.is_current(owner, &stored.ciphertext),
        "now readable with the newest key alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switched_off_or_unknown_mapping_is_not_published_and_the_switched_off_one_is_logged() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.store_credential(ADMIN).await;
    let off = MappingOptions {
        publish_enabled: false,
        ..MappingOptions::default()
    };
    let mapping = env.checked_mapping(PAGE, off).await;
    let failure = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.error.code(), "publishing_disabled");
    assert_eq!(env.wiki.request_count(), 0);
    let log = env.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entry.outcome, Logged::Failed);
    assert_eq!(log[0].entry.mapping_id, Some(mapping));
    assert!(failure.log_id.is_some());

    let unknown = wikiscriptsync_core::store::MappingId(mapping.0 + 1000);
    let failure = env
        .publisher
        .publish_mapping(env.mapping_request(unknown), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.error.code(), "mapping_not_found");
    assert_eq!(env.log().await.len(), 1, "nothing to log against");
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_title_or_a_wiki_outside_the_allow_list_stops_before_any_request() {
    let env = Env::start().await;
    let bad_title = env.ad_hoc(ADMIN, PASSWORD, "MediaWiki:Gadget-[x].js");
    let failure = env
        .publisher
        .publish(bad_title, opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Validate);
    assert_eq!(failure.error.code(), "invalid_title");
    let mut elsewhere = env.ad_hoc(ADMIN, PASSWORD, PAGE);
    elsewhere.wiki = "wiki.evil.example.org".to_owned();
    let failure = env
        .publisher
        .publish(elsewhere, opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Validate);
    assert!(
        failure.to_string().contains("not an allowed wiki"),
        "{failure}"
    );
    assert_eq!(env.wiki.request_count(), 0);
    assert_eq!(env.github.stats().requests, 0);
    let log = env.log().await;
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|r| r.entry.outcome == Logged::Failed));
    env.assert_mutex_released().await;
}
