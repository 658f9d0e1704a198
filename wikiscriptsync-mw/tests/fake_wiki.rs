//! The client against the in-memory fake wiki (testkit): request counts, parameters, retries,
//! recovery, lookups, edits and notices.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki, Fault, LoginFailure};
use wikiscriptsync_mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, ContentModel, CreatePolicy, EditOutcome,
    EditRequest, Error, LoginError, PageState, RetryCause, RetryPolicy, SecretString, Session,
    TalkNotice, TalkNoticeOutcome, Title, UserAgent, UserTalkTitle, WikiApi, WikiSession,
    WikiSessionExt, WikiUrlError,
};

const ADMIN: &str = "Admin@publisher";
const ADMIN_PASSWORD: &str = "abcdefghijklmnopqrstuvw012345678";
const LIMITED: &str = "Limited@publisher";
const LIMITED_PASSWORD: &str = "limitedlimitedlimitedlimited0123";

fn config_for(fake: &FakeWiki) -> ClientConfig {
    let mut config = ClientConfig::new(UserAgent::from_contact("tests@example.org").unwrap());
    config.allow_list = fake.allow_list();
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    config
}

async fn fake_with_accounts() -> FakeWiki {
    let fake = FakeWiki::start().await;
    fake.add_account(
        FakeAccount::new(ADMIN, ADMIN_PASSWORD)
            .with_groups(&["sysop", "interface-admin"])
            .with_rights(&[
                "read",
                "edit",
                "createpage",
                "createtalk",
                "writeapi",
                "editinterface",
                "editsitejs",
                "editsitecss",
                "editsitejson",
                "apihighlimits",
            ]),
    );
    fake.add_account(
        FakeAccount::new(LIMITED, LIMITED_PASSWORD)
            .with_groups(&["interface-admin"])
            .with_rights(&["read", "edit", "createpage", "writeapi", "editmyuserjs"]),
    );
    fake
}

fn admin() -> BotPassword {
    BotPassword::new(ADMIN, SecretString::from(ADMIN_PASSWORD))
}

async fn login(fake: &FakeWiki, client: &ActionApiClient) -> Session {
    client
        .login_session(&fake.wiki_url(), admin())
        .await
        .expect("admin logs in")
}

fn gadget() -> Title {
    Title::parse("MediaWiki:Gadget-hello.js").unwrap()
}

#[tokio::test]
async fn a_cold_publish_costs_four_requests_with_the_required_parameters() {
    let fake = fake_with_accounts().await;
    let old = fake.add_page("MediaWiki:Gadget-hello.js", "old();");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();

    let session = login(&fake, &client).await;
    let probe = session.probe(&gadget()).await.unwrap();
    probe.check_rights(&gadget()).unwrap();
    assert_eq!(probe.page.revision_id, Some(old));
    assert_eq!(probe.page.text.as_deref(), Some("old();"));
    assert_eq!(probe.page.content_model, Some(ContentModel::JavaScript));
    // The fake's clock starts at 2026-01-01T00:00:00Z and ticks a second per revision.
    assert!(
        probe
            .server_time
            .to_string()
            .starts_with("2026-01-01T00:00:0"),
        "{}",
        probe.server_time
    );
    let mut edit = EditRequest::new(gadget(), "new();\r\n\n", "Update from git abc123");
    edit.base_revision = probe.page.revision_id;
    edit.start_timestamp = Some(probe.server_time);
    let outcome = session.edit(&edit).await.unwrap();

    assert!(matches!(outcome, EditOutcome::Updated { old_revision, .. } if old_revision == old));
    assert_eq!(fake.request_count(), 4, "login token, login, probe, edit");
    assert_eq!(session.request_count(), 4);
    assert_eq!(client.request_count(), 4);
    assert_eq!(
        fake.page_text("MediaWiki:Gadget-hello.js").unwrap(),
        "new();"
    );

    let requests = fake.requests();
    for request in &requests {
        assert_eq!(request.param("format"), Some("json"));
        assert_eq!(request.param("formatversion"), Some("2"));
        assert_eq!(request.param("errorformat"), Some("plaintext"));
        assert_eq!(request.param("maxlag"), Some("5"));
        let ua = request.user_agent.as_deref().unwrap();
        assert!(
            ua.starts_with("wikiscriptsync/") && ua.contains("(tests@example.org)"),
            "{ua}"
        );
        assert!(
            request
                .header("accept-encoding")
                .is_some_and(|v| v.contains("gzip"))
        );
    }
    // The login: password and token in the POST body, never in the URL; no assert before login.
    let login = &requests[1];
    assert_eq!(
        (login.method.as_str(), login.action.as_str()),
        ("POST", "login")
    );
    assert!(
        login
            .body
            .iter()
            .any(|(k, v)| k == "lgpassword" && v == ADMIN_PASSWORD)
    );
    assert!(login.body.iter().any(|(k, _)| k == "lgtoken"));
    assert!(login.query.is_empty());
    assert_eq!(requests[0].param("assert"), None);
    assert_eq!(login.param("assert"), None);
    // After login: assert=user; the edit carries token, baserevid, starttimestamp, nocreate.
    assert_eq!(requests[2].param("assert"), Some("user"));
    let edit_request = &requests[3];
    assert_eq!(edit_request.method, "POST");
    assert_eq!(edit_request.param("assert"), Some("user"));
    assert!(edit_request.body.iter().any(|(k, _)| k == "token"));
    assert!(!edit_request.query.iter().any(|(k, _)| k == "token"));
    assert_eq!(
        edit_request.param("baserevid"),
        Some(old.to_string().as_str())
    );
    assert_eq!(
        edit_request.param("starttimestamp"),
        Some(probe.server_time.to_string().as_str())
    );
    assert_eq!(edit_request.param("nocreate"), Some("1"));
    assert_eq!(edit_request.param("watchlist"), Some("nochange"));
    assert_eq!(edit_request.param("notminor"), Some("1"));
    assert_eq!(
        edit_request.param("summary"),
        Some("Update from git abc123")
    );
}

#[tokio::test]
async fn edits_create_update_and_report_no_change() {
    let fake = fake_with_accounts().await;
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;

    let mut create = EditRequest::new(gadget(), "a();", "create");
    create.create = CreatePolicy::MustNotExist;
    create.content_model = Some(ContentModel::JavaScript);
    create.tags = vec!["wikiscriptsync".to_owned()];
    let EditOutcome::Created { revision, .. } = session.edit(&create).await.unwrap() else {
        panic!("not created")
    };
    let sent = fake.requests().pop().unwrap();
    assert_eq!(sent.param("createonly"), Some("1"));
    assert_eq!(sent.param("contentmodel"), Some("javascript"));
    assert_eq!(sent.param("tags"), Some("wikiscriptsync"));

    // createonly again: PageExists.
    let err = session.edit(&create).await.unwrap_err();
    assert!(matches!(err, Error::PageExists { .. }), "{err:?}");

    let mut update = EditRequest::new(gadget(), "b();", "update");
    update.base_revision = Some(revision);
    let EditOutcome::Updated {
        old_revision,
        new_revision,
        ..
    } = session.edit(&update).await.unwrap()
    else {
        panic!("not updated")
    };
    assert_eq!(old_revision, revision);
    assert!(new_revision > revision);
    // contentmodel is only sent when creating.
    assert_eq!(fake.requests().pop().unwrap().param("contentmodel"), None);

    // Same text modulo CRLF and trailing whitespace: no change, no new revision.
    let mut same = EditRequest::new(gadget(), "b();\r\n \n", "again");
    same.base_revision = Some(new_revision);
    assert_eq!(session.edit(&same).await.unwrap(), EditOutcome::NoChange);
    assert_eq!(
        fake.page("MediaWiki:Gadget-hello.js")
            .unwrap()
            .revisions
            .len(),
        2
    );

    // nocreate (the default) on a missing page: PageMissing.
    let missing = EditRequest::new(Title::parse("MediaWiki:Gadget-none.js").unwrap(), "x", "s");
    let err = session.edit(&missing).await.unwrap_err();
    assert!(matches!(err, Error::PageMissing { .. }), "{err:?}");
}

#[tokio::test]
async fn a_stale_base_revision_and_a_deletion_are_typed_errors() {
    let fake = fake_with_accounts().await;
    let base = fake.add_page("MediaWiki:Gadget-hello.js", "v1");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    let probe = session.probe(&gadget()).await.unwrap();
    fake.edit_as("MediaWiki:Gadget-hello.js", "v2", "Bob", "on-wiki fix");

    let mut edit = EditRequest::new(gadget(), "v3", "publish");
    edit.base_revision = Some(base);
    edit.start_timestamp = Some(probe.server_time);
    let err = session.edit(&edit).await.unwrap_err();
    assert!(
        matches!(err, Error::EditConflict { ref title } if title == "MediaWiki:Gadget-hello.js")
    );

    fake.delete_page("MediaWiki:Gadget-hello.js");
    edit.create = CreatePolicy::MayCreate;
    edit.base_revision = None;
    let err = session.edit(&edit).await.unwrap_err();
    assert!(matches!(err, Error::PageDeleted { .. }), "{err:?}");
}

#[tokio::test]
async fn the_fake_merges_a_stale_base_like_mediawiki_and_answers_with_the_latest_as_oldrevid() {
    let fake = fake_with_accounts().await;
    let base = fake.add_page("MediaWiki:Gadget-hello.js", "one\ntwo\nthree\nfour");
    let theirs = fake.edit_as(
        "MediaWiki:Gadget-hello.js",
        "ONE\ntwo\nthree\nfour",
        "Bob",
        "on-wiki fix",
    );
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    let mut edit = EditRequest::new(gadget(), "one\ntwo\nthree\nFOUR\n", "publish");
    edit.base_revision = Some(base);
    let outcome = session.edit(&edit).await.unwrap();
    let EditOutcome::Merged {
        base_revision,
        latest_revision,
        new_revision,
        ..
    } = outcome
    else {
        panic!("expected Merged, got {outcome:?}")
    };
    assert_eq!((base_revision, latest_revision), (base, theirs));
    let page = fake.page("MediaWiki:Gadget-hello.js").unwrap();
    assert_eq!(page.latest().unwrap().id, new_revision);
    assert_eq!(page.text(), "ONE\ntwo\nthree\nFOUR");
    // The answer as MediaWiki words it: `oldrevid` is the revision saved on top of.
    let sent = fake.requests();
    let last = sent.iter().rev().find(|r| r.action == "edit").unwrap();
    assert_eq!(last.param("baserevid"), Some(base.to_string().as_str()));

    // Appending goes after the latest text.
    let append = EditRequest::new(gadget(), "\nmw.log(5);", "append");
    let outcome = session.append(&append).await.unwrap();
    assert!(
        matches!(outcome, EditOutcome::Updated { old_revision, .. } if old_revision == new_revision)
    );
    assert_eq!(
        fake.page_text("MediaWiki:Gadget-hello.js").unwrap(),
        "ONE\ntwo\nthree\nFOUR\nmw.log(5);"
    );
}

#[tokio::test]
async fn maxlag_is_retried_and_then_succeeds() {
    let fake = fake_with_accounts().await;
    fake.add_page("Foo", "x");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();
    fake.inject(
        Fault::Maxlag {
            retry_after_secs: 0,
        },
        2,
    );

    let found = session.lookup_revisions(&["Foo"]).await.unwrap();

    assert!(matches!(found[0].state, PageState::Exists(_)));
    assert_eq!(fake.request_count(), 3, "two maxlag answers, then success");
    assert_eq!(session.request_count(), 3);
}

#[tokio::test]
async fn http_429_with_an_http_date_retry_after_is_retried() {
    let fake = fake_with_accounts().await;
    fake.add_page("Foo", "x");
    let mut config = config_for(&fake);
    config.retry.floor = Duration::from_millis(20);
    config.retry.cap = Duration::from_millis(400);
    let client = ActionApiClient::new(config).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();
    // An HTTP date in the past means "now": the floor applies.
    let date = httpdate_string(SystemTime::now() - Duration::from_secs(10));
    fake.inject(
        Fault::TooManyRequests {
            retry_after: Some(date),
        },
        1,
    );

    let started = Instant::now();
    let found = session.lookup_revisions(&["Foo"]).await.unwrap();

    assert!(matches!(found[0].state, PageState::Exists(_)));
    assert_eq!(fake.request_count(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "the floor was waited"
    );
}

fn httpdate_string(time: SystemTime) -> String {
    // RFC 7231 IMF-fixdate, computed without extra dependencies.
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil-from-days (Howard Hinnant).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!("{weekday}, {day:02} {month_name} {year} {h:02}:{m:02}:{s:02} GMT")
}

#[tokio::test]
async fn persistent_503s_give_up_saying_what_was_retried_how_often_and_how_long() {
    let fake = fake_with_accounts().await;
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();
    fake.inject(
        Fault::ServiceUnavailable {
            retry_after: Some("0".to_owned()),
        },
        10,
    );

    let err = session.lookup_revisions(&["Foo"]).await.unwrap_err();

    let Error::RetriesExhausted {
        cause,
        retries,
        waited,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*cause, RetryCause::ServiceUnavailable);
    assert_eq!(*retries, 3);
    assert!(*waited >= Duration::from_millis(15), "{waited:?}");
    assert_eq!(fake.request_count(), 4, "max_attempts = 4");
    let message = err.to_string();
    assert!(
        message.contains("503") && message.contains("retried 3 times"),
        "{message}"
    );
}

#[tokio::test]
async fn readonly_and_ratelimited_are_retried_too() {
    let fake = fake_with_accounts().await;
    fake.add_page("MediaWiki:Gadget-hello.js", "v1");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    fake.inject_for("edit", Fault::ReadOnly, 1);
    fake.inject_for("edit", Fault::RateLimited, 1);
    let mut edit = EditRequest::new(gadget(), "v2", "s");
    edit.base_revision = fake
        .page("MediaWiki:Gadget-hello.js")
        .unwrap()
        .latest()
        .map(|r| r.id);
    assert!(matches!(
        session.edit(&edit).await.unwrap(),
        EditOutcome::Updated { .. }
    ));
    assert_eq!(fake.requests_for("edit"), 3);

    fake.inject_for("edit", Fault::RateLimited, 10);
    edit.text = "v3".to_owned();
    edit.base_revision = fake
        .page("MediaWiki:Gadget-hello.js")
        .unwrap()
        .latest()
        .map(|r| r.id);
    let err = session.edit(&edit).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RetriesExhausted {
                cause: RetryCause::RateLimited,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_rejected_token_is_refetched_once() {
    let fake = fake_with_accounts().await;
    fake.add_page("MediaWiki:Gadget-hello.js", "v1");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    let probe = session.probe(&gadget()).await.unwrap();
    fake.inject_for("edit", Fault::BadToken, 1);
    let before = fake.request_count();

    let mut edit = EditRequest::new(gadget(), "v2", "s");
    edit.base_revision = probe.page.revision_id;
    assert!(matches!(
        session.edit(&edit).await.unwrap(),
        EditOutcome::Updated { .. }
    ));
    assert_eq!(
        fake.request_count() - before,
        3,
        "edit, token refetch, edit"
    );

    // Twice in a row: a typed error, not a loop.
    fake.inject_for("edit", Fault::BadToken, 2);
    edit.text = "v3".to_owned();
    edit.base_revision = fake
        .page("MediaWiki:Gadget-hello.js")
        .unwrap()
        .latest()
        .map(|r| r.id);
    let err = session.edit(&edit).await.unwrap_err();
    assert!(matches!(err, Error::BadToken { .. }), "{err:?}");
}

#[tokio::test]
async fn an_expired_session_logs_in_again_once_and_retries() {
    let fake = fake_with_accounts().await;
    fake.add_page("MediaWiki:Gadget-hello.js", "v1");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    let probe = session.probe(&gadget()).await.unwrap();
    fake.expire_sessions();
    let before = fake.request_count();

    let mut edit = EditRequest::new(gadget(), "v2", "s");
    edit.base_revision = probe.page.revision_id;
    assert!(matches!(
        session.edit(&edit).await.unwrap(),
        EditOutcome::Updated { .. }
    ));
    // edit (assertuserfailed), login token, login, csrf token (the old one died), edit.
    assert_eq!(fake.request_count() - before, 5);
    assert_eq!(fake.requests_for("login"), 2);

    // A session that stays logged out: NotLoggedIn after one attempt to log in again.
    fake.inject(Fault::AssertUserFailed, 10);
    let err = session.lookup_revisions(&["Foo"]).await.unwrap_err();
    assert!(matches!(err, Error::NotLoggedIn { .. }), "{err:?}");
}

#[tokio::test]
async fn malformed_and_truncated_json_are_invalid_responses() {
    let fake = fake_with_accounts().await;
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();
    for fault in [Fault::MalformedJson, Fault::TruncatedJson] {
        fake.inject(fault.clone(), 1);
        let err = session.lookup_revisions(&["Foo"]).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidResponse { .. }),
            "{fault:?}: {err:?}"
        );
        assert!(err.is_transient());
    }
    assert_eq!(fake.request_count(), 2, "not retried");
}

#[tokio::test]
async fn a_slow_server_hits_the_timeout() {
    let fake = fake_with_accounts().await;
    let mut config = config_for(&fake);
    config.request_timeout = Duration::from_millis(200);
    let client = ActionApiClient::new(config).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();
    fake.inject(Fault::Delay(Duration::from_secs(2)), 1);

    let err = session.lookup_revisions(&["Foo"]).await.unwrap_err();

    // The answer would have come after 2 s: only the client's 200 ms timeout yields this error,
    // and a timeout is reported, not retried.
    assert!(
        matches!(err, Error::Timeout { timeout, .. } if timeout == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(fake.request_count(), 1, "not retried");
}

#[tokio::test]
async fn other_http_errors_are_not_retried() {
    let fake = fake_with_accounts().await;
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();
    fake.inject(Fault::HttpStatus(500), 1);
    let err = session.lookup_revisions(&["Foo"]).await.unwrap_err();
    assert!(matches!(err, Error::Http { status: 500, .. }), "{err:?}");
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn login_failures_are_typed() {
    let fake = fake_with_accounts().await;
    fake.add_account(
        FakeAccount::new("T@b", "p".repeat(32)).failing_login(LoginFailure::Throttled),
    );
    fake.add_account(
        FakeAccount::new("R@b", "p".repeat(32)).failing_login(LoginFailure::NeedsReset),
    );
    fake.add_account(FakeAccount::new("L@b", "p".repeat(32)).failing_login(LoginFailure::Locked));
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let wiki = fake.wiki_url();
    let try_login = |name: &str, password: &str| {
        let credentials = BotPassword::new(name, SecretString::from(password.to_owned()));
        let client = client.clone();
        let wiki = wiki.clone();
        async move { client.login_session(&wiki, credentials).await.unwrap_err() }
    };

    let err = try_login(ADMIN, "wrongwrongwrongwrongwrongwrong12").await;
    assert!(matches!(err, Error::Login(LoginError::WrongPassword { ref user }) if user == ADMIN));
    let p = "p".repeat(32);
    assert!(matches!(
        try_login("T@b", &p).await,
        Error::Login(LoginError::Throttled { .. })
    ));
    assert!(matches!(
        try_login("R@b", &p).await,
        Error::Login(LoginError::NeedsReset { .. })
    ));
    assert!(matches!(
        try_login("L@b", &p).await,
        Error::Login(LoginError::Locked { .. })
    ));
    let aborted = try_login("Admin", "main-account-password").await;
    assert!(
        matches!(aborted, Error::Login(LoginError::NeedsBotPassword { .. })),
        "{aborted:?}"
    );
    let message = aborted.to_string();
    assert!(
        message.contains("User@BotName") && message.contains("Special:BotPasswords"),
        "{message}"
    );
}

#[tokio::test]
async fn hosts_outside_the_allow_list_are_refused_before_any_request() {
    let fake = fake_with_accounts().await;
    // The client only knows Wikimedia; the fake's loopback host is not on its list.
    let mut config = config_for(&fake);
    config.allow_list = AllowList::wikimedia();
    let client = ActionApiClient::new(config).unwrap();

    let err = client
        .login_session(&fake.wiki_url(), admin())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::WikiUrl(WikiUrlError::HostNotAllowed { .. })),
        "{err:?}"
    );
    assert!(client.anonymous_session(&fake.wiki_url()).is_err());
    let err = WikiApi::parse_wiki(&client, &fake.api_url()).unwrap_err();
    assert!(matches!(
        err,
        Error::WikiUrl(WikiUrlError::HostNotAllowed { .. })
    ));
    assert_eq!(fake.request_count(), 0);
    assert_eq!(client.request_count(), 0);
}

#[tokio::test]
async fn lookups_batch_fifty_titles_per_request_and_map_answers_back() {
    let fake = fake_with_accounts().await;
    fake.add_page("Page 0", "zero");
    fake.add_page("Page 119", "last");
    fake.add_page("Target", "moved here");
    fake.add_redirect("Old name", "Target");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let anonymous = client.anonymous_session(&fake.wiki_url()).unwrap();
    let mut titles: Vec<String> = (0..120).map(|n| format!("page_{n}")).collect();
    titles[1] = "Old name".to_owned();
    titles[2] = "Bad[title".to_owned();

    let found = anonymous.lookup_revisions(&titles).await.unwrap();

    assert_eq!(fake.request_count(), 3, "⌈120/50⌉");
    assert_eq!(found.len(), 120);
    assert_eq!(found[0].requested, "page_0");
    let PageState::Exists(first) = &found[0].state else {
        panic!("{:?}", found[0])
    };
    assert_eq!(first.title, "Page 0");
    assert_eq!(first.user.as_deref(), Some("Someone"));
    assert_eq!(first.size, 4);
    assert_eq!(
        first.sha1.as_deref(),
        Some("aa8c41330509455ee5679d04ed41535d280d9a89")
    );
    assert_eq!(first.content_model, ContentModel::Wikitext);
    let PageState::Exists(moved) = &found[1].state else {
        panic!("{:?}", found[1])
    };
    assert_eq!(moved.title, "Target");
    assert_eq!(moved.redirected_from.as_deref(), Some("Old name"));
    assert!(matches!(found[2].state, PageState::Invalid { .. }));
    assert!(matches!(found[3].state, PageState::Missing { ref title } if title == "Page 3"));
    assert!(matches!(found[119].state, PageState::Exists(_)));
    let sent = fake.requests();
    assert_eq!(sent[0].param("titles").unwrap().split('|').count(), 50);
    assert_eq!(sent[2].param("titles").unwrap().split('|').count(), 20);
    assert_eq!(
        sent[0].param("rvprop"),
        Some("ids|timestamp|user|comment|sha1|size|contentmodel")
    );

    // With apihighlimits known (after user_info), 500 per request: 1 request.
    let session = login(&fake, &client).await;
    assert!(session.user_info().await.unwrap().has_high_limits());
    let before = fake.request_count();
    let again = session.lookup_revisions(&titles).await.unwrap();
    assert_eq!(fake.request_count() - before, 1);
    assert_eq!(again, found);
}

#[tokio::test]
async fn the_fake_enforces_the_title_limit_like_mediawiki() {
    let fake = fake_with_accounts().await;
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();
    // Pretend the session had high limits: the fake refuses 60 titles from an anonymous user.
    let titles: Vec<String> = (0..60).map(|n| format!("P{n}")).collect();
    let response = reqwest::Client::new()
        .get(fake.api_url())
        .query(&[
            ("action", "query"),
            ("format", "json"),
            ("titles", &titles.join("|")),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(response.contains("toomanyvalues"), "{response}");
    // Our client never sends more than 50.
    session.lookup_revisions(&titles).await.unwrap();
    assert_eq!(fake.requests_for("query"), 3);
}

#[tokio::test]
async fn page_text_reads_the_latest_or_a_given_revision() {
    let fake = fake_with_accounts().await;
    let first = fake.add_page("MediaWiki:Gadget-hello.js", "one");
    let second = fake.edit_as("MediaWiki:Gadget-hello.js", "two", "Bob", "fix");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();

    let latest = session.page_text(&gadget(), None).await.unwrap().unwrap();
    assert_eq!((latest.revision_id, latest.text.as_str()), (second, "two"));
    assert_eq!(latest.content_model, ContentModel::JavaScript);
    let old = session
        .page_text(&gadget(), Some(first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((old.revision_id, old.text.as_str()), (first, "one"));
    let none = session
        .page_text(&Title::parse("Nothing here").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(none, None);
    let err = session.page_text(&gadget(), Some(999)).await.unwrap_err();
    assert!(
        matches!(err, Error::RevisionNotFound { revision: 999, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_probe_is_one_request_and_reports_missing_rights_and_blocks() {
    let fake = fake_with_accounts().await;
    fake.add_account(FakeAccount::new("Blocked@b", "b".repeat(32)).blocked("vandalism"));
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = client
        .login_session(
            &fake.wiki_url(),
            BotPassword::new(LIMITED, SecretString::from(LIMITED_PASSWORD)),
        )
        .await
        .unwrap();
    let before = fake.request_count();
    let probe = session.probe(&gadget()).await.unwrap();
    assert_eq!(fake.request_count() - before, 1);
    assert!(!probe.page.exists);
    assert_eq!(probe.user.name, "Limited");
    assert!(probe.user.groups.contains(&"interface-admin".to_owned()));
    let Err(Error::MissingRight(missing)) = probe.check_rights(&gadget()) else {
        panic!("expected a missing right")
    };
    assert_eq!(
        (missing.right.as_str(), missing.grant.as_str()),
        ("editsitejs", "editsiteconfig")
    );
    // Own user scripts are fine for this BotPassword.
    probe
        .check_rights(&Title::parse("User:Limited/common.js").unwrap())
        .expect("editmyuserjs and createpage are enough for your own scripts");

    let blocked = client
        .login_session(
            &fake.wiki_url(),
            BotPassword::new("Blocked@b", SecretString::from("b".repeat(32))),
        )
        .await
        .unwrap();
    let probe = blocked.probe(&Title::parse("Foo").unwrap()).await.unwrap();
    assert_eq!(
        probe.user.block.as_ref().and_then(|b| b.reason.as_deref()),
        Some("vandalism")
    );
    assert!(matches!(
        probe.check_rights(&Title::parse("Foo").unwrap()),
        Err(Error::Blocked { .. })
    ));
}

#[tokio::test]
async fn a_cached_probe_token_is_reused_by_the_edit() {
    let fake = fake_with_accounts().await;
    fake.add_page("MediaWiki:Gadget-hello.js", "v1");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    session.probe(&gadget()).await.unwrap();
    let mut edit = EditRequest::new(gadget(), "v2", "s");
    edit.base_revision = fake
        .page("MediaWiki:Gadget-hello.js")
        .unwrap()
        .latest()
        .map(|r| r.id);
    session.edit(&edit).await.unwrap();
    // No separate meta=tokens request was needed.
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.param("meta") == Some("tokens") && r.param("type") == Some("csrf"))
    );
}

#[tokio::test]
async fn a_talk_notice_is_a_signed_new_section_that_is_not_minor() {
    let fake = fake_with_accounts().await;
    fake.add_page("User talk:Alice", "Earlier discussion.");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    let notice = TalkNotice {
        page: UserTalkTitle::for_user("Alice").unwrap(),
        heading: "Gadget-hello.js changed".to_owned(),
        text: "The file changed in git.".to_owned(),
        summary: None,
    };

    let outcome = session.post_talk_notice(&notice).await.unwrap();

    assert!(matches!(outcome, TalkNoticeOutcome::Section { .. }));
    let text = fake.page_text("User talk:Alice").unwrap();
    assert!(
        text.starts_with("Earlier discussion.\n\n== Gadget-hello.js changed =="),
        "{text}"
    );
    assert!(
        text.contains("The file changed in git. [[User:Admin|Admin]]"),
        "{text}"
    );
    let edit = fake.requests().pop().unwrap();
    assert_eq!(edit.param("section"), Some("new"));
    assert_eq!(edit.param("sectiontitle"), Some("Gadget-hello.js changed"));
    assert_eq!(edit.param("minor"), None);
    assert_eq!(edit.param("notminor"), Some("1"));
    assert_eq!(fake.requests_for("edit"), 1);
}

#[tokio::test]
async fn a_line_break_in_a_notice_heading_cannot_start_a_section_of_its_own() {
    let fake = fake_with_accounts().await;
    fake.add_page("User talk:Alice", "Earlier discussion.");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    let notice = TalkNotice {
        page: UserTalkTitle::for_user("Alice").unwrap(),
        heading: "a.js\n== spam ==\u{2028}x".to_owned(),
        text: "Changed.".to_owned(),
        summary: None,
    };

    session.post_talk_notice(&notice).await.unwrap();

    let edit = fake.requests().pop().unwrap();
    assert_eq!(edit.param("sectiontitle"), Some("a.js == spam == x"));
    assert_eq!(edit.param("summary"), Some("a.js == spam == x"));
    let text = fake.page_text("User talk:Alice").unwrap();
    assert!(!text.lines().any(|l| l.starts_with("== spam")), "{text}");
}

#[tokio::test]
async fn a_flow_board_gets_a_new_topic_instead_of_an_edit() {
    let fake = fake_with_accounts().await;
    fake.set_content_model("User talk:Alice", ContentModel::FlowBoard);
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let session = login(&fake, &client).await;
    let notice = TalkNotice {
        page: UserTalkTitle::for_user("Alice").unwrap(),
        heading: "Changed".to_owned(),
        text: "Something changed.".to_owned(),
        summary: None,
    };

    let outcome = session.post_talk_notice(&notice).await.unwrap();

    assert!(
        matches!(outcome, TalkNoticeOutcome::FlowTopic { topic: Some(_) }),
        "{outcome:?}"
    );
    assert_eq!(fake.requests_for("edit"), 0);
    assert_eq!(fake.requests_for("flow"), 1);
    let page = fake.page("User talk:Alice").unwrap();
    assert_eq!(page.flow_topics.len(), 1);
    assert_eq!(page.flow_topics[0].0, "Changed");
    assert_eq!(
        page.flow_topics[0].1, "Something changed.",
        "Flow signs by itself"
    );
}

#[tokio::test]
async fn the_trait_objects_work_for_core() {
    let fake = fake_with_accounts().await;
    fake.add_page("Foo", "x");
    let api: std::sync::Arc<dyn WikiApi> =
        std::sync::Arc::new(ActionApiClient::new(config_for(&fake)).unwrap());
    let wiki = api.parse_wiki(&fake.api_url()).unwrap();
    let session = api.login(&wiki, admin()).await.unwrap();
    assert_eq!(session.user_name().as_deref(), Some("Admin"));
    let found = session.lookup_revisions(&["Foo"]).await.unwrap();
    assert!(matches!(found[0].state, PageState::Exists(_)));
    let anonymous = api.anonymous(&wiki).unwrap();
    assert_eq!(anonymous.user_name(), None);
    assert_eq!(api.request_count(), 3);
}

#[tokio::test]
async fn one_request_in_flight_per_wiki_by_default() {
    let fake = fake_with_accounts().await;
    fake.add_page("Foo", "x");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    let a = client.anonymous_session(&fake.wiki_url()).unwrap();
    let b = client.anonymous_session(&fake.wiki_url()).unwrap();
    fake.inject(Fault::Delay(Duration::from_millis(150)), 2);
    let titles = ["Foo".to_owned()];

    let started = Instant::now();
    let (x, y) = tokio::join!(a.lookup_revisions(&titles), b.lookup_revisions(&titles));
    x.unwrap();
    y.unwrap();

    // Two sessions on one wiki share the gate: the delayed requests ran one after the other.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn interactive_clients_send_no_maxlag() {
    let fake = fake_with_accounts().await;
    let client = ActionApiClient::new(config_for(&fake).interactive()).unwrap();
    let session = client.anonymous_session(&fake.wiki_url()).unwrap();
    session.lookup_revisions(&["Foo"]).await.unwrap();
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].param("maxlag"), None);
    // Anonymous sessions never assert a login.
    assert_eq!(sent[0].param("assert"), None);
}

#[tokio::test]
async fn lookups_and_appends_work_through_the_object_safe_session() {
    let fake = fake_with_accounts().await;
    let first = fake.add_page("MediaWiki:Gadget-hello.js", "mw.log(1);");
    fake.add_page("Foo", "x");
    let client = ActionApiClient::new(config_for(&fake)).unwrap();
    // As core holds them: `Arc<dyn WikiApi>` opening `Arc<dyn WikiSession>`s.
    let api: Arc<dyn WikiApi> = Arc::new(client);
    let session: Arc<dyn WikiSession> = api.login(&fake.wiki_url(), admin()).await.unwrap();

    // Titles as `&str`, as `String`s and as `Title`s: one request each.
    let queries = fake.requests_for("query");
    let by_str = session
        .lookup_revisions(&["Foo", "MediaWiki:Gadget-hello.js", "Missing"])
        .await
        .unwrap();
    let stored = vec!["Foo".to_owned(), "Missing".to_owned()];
    let by_string = session.lookup_titles(&stored).await.unwrap();
    let by_title = session.lookup_titles(&[gadget()]).await.unwrap();
    assert_eq!(fake.requests_for("query"), queries + 3);
    assert!(matches!(by_str[0].state, PageState::Exists(_)));
    assert!(matches!(&by_str[1].state, PageState::Exists(r) if r.revision_id == first));
    assert!(matches!(by_str[2].state, PageState::Missing { .. }));
    assert_eq!(
        by_string
            .iter()
            .map(|l| l.requested.as_str())
            .collect::<Vec<_>>(),
        ["Foo", "Missing"]
    );
    assert!(matches!(by_string[1].state, PageState::Missing { .. }));
    let PageState::Exists(revision) = &by_title[0].state else {
        panic!("{by_title:?}")
    };
    assert_eq!(by_title[0].requested, "MediaWiki:Gadget-hello.js");
    assert_eq!(revision.timestamp.to_string().len(), 20);

    // An append through the trait sends `appendtext` and keeps what was on the page.
    let append = EditRequest::new(gadget(), "\nmw.log(2);", "append");
    let outcome = session.append(&append).await.unwrap();

    assert!(
        matches!(outcome, EditOutcome::Updated { old_revision, .. } if old_revision == first),
        "{outcome:?}"
    );
    assert_eq!(
        fake.page_text("MediaWiki:Gadget-hello.js").as_deref(),
        Some("mw.log(1);\nmw.log(2);")
    );
    let sent = fake.requests();
    let last = sent.iter().rev().find(|r| r.action == "edit").unwrap();
    assert_eq!(last.param("appendtext"), Some("\nmw.log(2);"));
    assert_eq!(last.param("text"), None);
}
