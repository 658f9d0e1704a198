//! Answers the fake wiki does not produce, scripted with plain wiremock: rare login results,
//! every typed edit error, and continuation.

use std::time::Duration;

use serde_json::{Value, json};
use wikiscriptsync_mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, EditOutcome, EditRequest, Error,
    LoginError, PageState, RetryPolicy, SecretString, Timestamp, Title, UserAgent, WikiUrl,
};
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server_and_client() -> (MockServer, ActionApiClient, WikiUrl) {
    let server = MockServer::start().await;
    let host = server.uri().trim_start_matches("http://").to_owned();
    let allow = AllowList::wikimedia().with_extra_hosts(&host).unwrap();
    let wiki = WikiUrl::parse(&format!("{}/w/api.php", server.uri()), &allow).unwrap();
    let mut config = ClientConfig::new(UserAgent::from_contact("tests@example.org").unwrap());
    config.allow_list = allow;
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    (server, ActionApiClient::new(config).unwrap(), wiki)
}

async fn mount_login_token(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/w/api.php"))
        .and(query_param("type", "login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"query": {"tokens": {"logintoken": "abc+\\"}}})),
        )
        .mount(server)
        .await;
}

async fn login_answer(login: Value) -> Error {
    let (server, client, wiki) = server_and_client().await;
    mount_login_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/w/api.php"))
        .and(body_string_contains("action=login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "login": login })))
        .expect(1)
        .mount(&server)
        .await;
    let credentials = BotPassword::new("Me@bot", SecretString::from("s3cr3t-password"));
    client.login_session(&wiki, credentials).await.unwrap_err()
}

#[tokio::test]
async fn every_login_result_is_typed() {
    assert!(matches!(
        login_answer(json!({"result": "WrongToken"})).await,
        Error::Login(LoginError::WrongToken { .. })
    ));
    assert!(matches!(
        login_answer(json!({"result": "NeedToken", "token": "x"})).await,
        Error::Login(LoginError::NeedToken { .. })
    ));
    assert!(matches!(
        login_answer(json!({"result": "Throttled", "wait": 5})).await,
        Error::Login(LoginError::Throttled { .. })
    ));
    let sessionlost =
        json!({"result": "Failed", "reason": {"code": "sessionlost", "text": "lost"}});
    assert!(matches!(
        login_answer(sessionlost).await,
        Error::Login(LoginError::SessionLost { .. })
    ));
    let other = json!({"result": "Failed", "reason": {"code": "whatever", "text": "Odd."}});
    let err = login_answer(other).await;
    assert!(
        matches!(err, Error::Login(LoginError::Failed { ref code, .. }) if code == "whatever"),
        "{err:?}"
    );
    let aborted = json!({"result": "Aborted", "reason": {"code": "api-login-fail-aborted",
        "text": "Authentication requires user interaction, which is not supported by action=login."}});
    // The answer ApiLogin gives a main-account login needing user interaction (2FA).
    let err = login_answer(aborted).await;
    assert!(
        matches!(err, Error::Login(LoginError::NeedsBotPassword { ref user }) if user == "Me@bot"),
        "{err:?}"
    );
    assert!(err.to_string().contains("`User@BotName`"), "{err}");
    assert!(!err.is_transient());
    // On a wiki without BotPasswords the reason differs: a plain `Aborted`.
    let aborted = json!({"result": "Aborted", "reason": {"code": "api-login-fail-aborted-nobotpw",
        "text": "Authentication requires user interaction, which is not supported by action=login."}});
    let err = login_answer(aborted).await;
    assert!(
        matches!(err, Error::Login(LoginError::Aborted { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("not your main account password"));
    assert!(matches!(
        login_answer(json!({"result": "Mystery"})).await,
        Error::Login(LoginError::Unexpected { .. })
    ));
}

/// Runs an anonymous edit against a server that answers the edit with `answer`.
async fn edit_answer(answer: Value) -> Error {
    let (server, client, wiki) = server_and_client().await;
    Mock::given(method("GET"))
        .and(path("/w/api.php"))
        .and(query_param("type", "csrf"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"query": {"tokens": {"csrftoken": "+\\"}}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/w/api.php"))
        .and(body_string_contains("action=edit"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let session = client.anonymous_session(&wiki).unwrap();
    let request = EditRequest::new(Title::parse("MediaWiki:Gadget-x.js").unwrap(), "x", "s");
    session.edit(&request).await.unwrap_err()
}

fn error(code: &str, text: &str, data: Value) -> Value {
    let mut answer = json!({"errors": [{"code": code, "text": text, "module": "edit"}]});
    answer["errors"][0]["data"] = data;
    answer
}

#[tokio::test]
async fn every_edit_error_is_typed() {
    let err = edit_answer(error("editconflict", "Edit conflict.", Value::Null)).await;
    assert!(matches!(err, Error::EditConflict { .. }), "{err:?}");
    let err = edit_answer(error("pagedeleted", "Deleted.", Value::Null)).await;
    assert!(matches!(err, Error::PageDeleted { .. }), "{err:?}");
    let err = edit_answer(error(
        "protectedpage",
        "This page has been protected.",
        Value::Null,
    ))
    .await;
    assert!(matches!(err, Error::ProtectedPage { ref text, .. } if text.contains("protected")));
    let err = edit_answer(error("cascadeprotected", "Cascade.", Value::Null)).await;
    assert!(matches!(err, Error::ProtectedPage { .. }), "{err:?}");
    let err = edit_answer(error("sitejsprotected", "No.", Value::Null)).await;
    assert!(
        matches!(err, Error::PermissionDenied { ref right, grant, .. }
            if right.as_deref() == Some("editsitejs") && grant == Some("editsiteconfig")),
        "{err:?}"
    );
    assert!(err.to_string().contains("`editsiteconfig`"));
    let err = edit_answer(error("mycustomjsprotected", "No.", Value::Null)).await;
    assert!(
        matches!(err, Error::PermissionDenied { grant, .. } if grant == Some("editmycssjs")),
        "{err:?}"
    );
    let err = edit_answer(error("permissiondenied", "Denied.", Value::Null)).await;
    assert!(
        matches!(err, Error::PermissionDenied { right: None, .. }),
        "{err:?}"
    );
    let err = edit_answer(error("blocked", "You have been blocked.", Value::Null)).await;
    assert!(matches!(err, Error::Blocked { .. }), "{err:?}");
    let spam = json!({"spamblacklist": {"matches": ["evil.example.com", "bad.example.org"]}});
    let err = edit_answer(error("spamblacklist", "Spam.", spam)).await;
    assert!(
        matches!(err, Error::SpamBlacklist { ref matches, .. } if matches == &["evil.example.com", "bad.example.org"]),
        "{err:?}"
    );
    assert!(err.to_string().contains("evil.example.com"));
    let filter = json!({"abusefilter": {"id": 12, "description": "Gadget sanity check", "actions": ["disallow"]}});
    let err = edit_answer(error("abusefilter-disallowed", "Disallowed.", filter)).await;
    assert!(
        matches!(err, Error::AbuseFilter { ref description, ref filter_id, warning: false, .. }
            if description == "Gadget sanity check" && filter_id.as_deref() == Some("12")),
        "{err:?}"
    );
    let err = edit_answer(error(
        "abusefilter-warning",
        "Warned.",
        json!({"abusefilter": {"id": "3", "description": "Be careful"}}),
    ))
    .await;
    assert!(
        matches!(err, Error::AbuseFilter { warning: true, .. }),
        "{err:?}"
    );
    let captcha = json!({"edit": {"result": "Failure", "captcha": {"type": "image", "id": "1"}}});
    let err = edit_answer(captcha).await;
    assert!(matches!(err, Error::Captcha { .. }), "{err:?}");
    let err = edit_answer(error("contentmodel-mismatch", "Mismatch.", Value::Null)).await;
    assert!(matches!(err, Error::ContentModelMismatch { .. }), "{err:?}");
    let err = edit_answer(error("missingtitle", "Missing.", Value::Null)).await;
    assert!(matches!(err, Error::PageMissing { .. }), "{err:?}");
    let err = edit_answer(error("articleexists", "Exists.", Value::Null)).await;
    assert!(matches!(err, Error::PageExists { .. }), "{err:?}");
    let err = edit_answer(error("tags-apply-not-allowed-one", "Tag.", Value::Null)).await;
    assert!(
        matches!(err, Error::Api { ref code, .. } if code == "tags-apply-not-allowed-one"),
        "{err:?}"
    );
}

#[tokio::test]
async fn continuation_is_followed_and_merged() {
    let (server, client, wiki) = server_and_client().await;
    Mock::given(method("GET"))
        .and(path("/w/api.php"))
        .and(query_param("rvcontinue", "next"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "batchcomplete": true,
            "query": {"pages": [
                {"pageid": 2, "ns": 0, "title": "B", "contentmodel": "wikitext", "lastrevid": 20,
                 "revisions": [{"revid": 20, "timestamp": "2026-01-01T00:00:00Z", "user": "U",
                                "comment": "c", "sha1": "ab", "size": 3}]}
            ]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/w/api.php"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "continue": {"rvcontinue": "next", "continue": "||"},
            "query": {
                "normalized": [{"from": "a", "to": "A"}],
                "pages": [
                    {"pageid": 1, "ns": 0, "title": "A", "contentmodel": "wikitext", "lastrevid": 10,
                     "revisions": [{"revid": 10, "timestamp": "2026-01-01T00:00:00Z", "user": "U",
                                    "comment": "c", "sha1": "cd", "size": 1}]},
                    {"pageid": 2, "ns": 0, "title": "B", "contentmodel": "wikitext", "lastrevid": 20}
                ]}
        })))
        .with_priority(10)
        .expect(1)
        .mount(&server)
        .await;
    let session = client.anonymous_session(&wiki).unwrap();

    let found = session.lookup_revisions(&["a", "B"]).await.unwrap();

    assert_eq!(session.request_count(), 2);
    let PageState::Exists(a) = &found[0].state else {
        panic!("{found:?}")
    };
    assert_eq!((a.title.as_str(), a.revision_id), ("A", 10));
    let PageState::Exists(b) = &found[1].state else {
        panic!("{found:?}")
    };
    assert_eq!((b.revision_id, b.sha1.as_deref()), (20, Some("ab")));
}

/// A probe answer for `MediaWiki:Gadget-x.js` at revision 50, with `curtimestamp` as given.
fn probe_answer(curtimestamp: Option<&str>, revision_timestamp: &str) -> Value {
    let mut answer = json!({
        "batchcomplete": true,
        "query": {
            "tokens": {"csrftoken": "t0ken+\\"},
            "userinfo": {"id": 0, "name": "127.0.0.1", "anon": true,
                         "rights": ["read", "edit", "editsitejs"], "groups": ["*"]},
            "pages": [{"pageid": 5, "ns": 8, "title": "MediaWiki:Gadget-x.js",
                       "contentmodel": "javascript", "lastrevid": 50,
                       "revisions": [{"revid": 50, "timestamp": revision_timestamp,
                           "slots": {"main": {"contentmodel": "javascript", "content": "old"}}}]}]
        }
    });
    if let Some(time) = curtimestamp {
        answer["curtimestamp"] = json!(time);
    }
    answer
}

async fn mount_probe(server: &MockServer, answer: Value) {
    Mock::given(method("GET"))
        .and(path("/w/api.php"))
        .and(query_param("curtimestamp", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(server)
        .await;
}

async fn mount_edit(server: &MockServer, newtimestamp: &str) {
    Mock::given(method("POST"))
        .and(path("/w/api.php"))
        .and(body_string_contains("action=edit"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"edit": {
            "result": "Success", "pageid": 5, "title": "MediaWiki:Gadget-x.js",
            "contentmodel": "javascript", "oldrevid": 50, "newrevid": 51,
            "newtimestamp": newtimestamp}})))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_servers_time_is_typed_and_goes_back_exactly_as_starttimestamp() {
    let (server, client, wiki) = server_and_client().await;
    mount_probe(
        &server,
        probe_answer(Some("2031-07-04T09:08:07Z"), "2031-07-04T09:00:00Z"),
    )
    .await;
    mount_edit(&server, "2031-07-04T09:08:08Z").await;
    let session = client.anonymous_session(&wiki).unwrap();
    let title = Title::parse("MediaWiki:Gadget-x.js").unwrap();

    let probe = session.probe(&title).await.unwrap();
    assert_eq!(
        probe.server_time,
        Timestamp::parse("2031-07-04T09:08:07Z").unwrap()
    );
    assert_eq!(
        probe.page.timestamp.map(|t| t.as_datetime().timestamp()),
        Some(1_940_922_000)
    );
    let mut edit = EditRequest::new(title, "new", "s");
    edit.base_revision = probe.page.revision_id;
    edit.start_timestamp = Some(probe.server_time);
    let outcome = session.edit(&edit).await.unwrap();

    let EditOutcome::Updated { timestamp, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(timestamp.unwrap().to_string(), "2031-07-04T09:08:08Z");
    let requests = server.received_requests().await.unwrap();
    let edit_request = requests.last().unwrap();
    let sent: Vec<(String, String)> = url::form_urlencoded::parse(&edit_request.body)
        .into_owned()
        .collect();
    assert!(
        sent.contains(&(
            "starttimestamp".to_owned(),
            "2031-07-04T09:08:07Z".to_owned()
        )),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_read_whose_timestamps_are_not_the_apis_form_is_an_invalid_answer() {
    let (server, client, wiki) = server_and_client().await;
    let session = client.anonymous_session(&wiki).unwrap();
    let title = Title::parse("MediaWiki:Gadget-x.js").unwrap();
    // No curtimestamp at all, then a revision timestamp in another form.
    for answer in [
        probe_answer(None, "2031-07-04T09:00:00Z"),
        probe_answer(Some("2031-07-04T09:08:07Z"), "2031-07-04 09:00"),
    ] {
        server.reset().await;
        mount_probe(&server, answer).await;
        let error = session.probe(&title).await.unwrap_err();
        assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    }
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/w/api.php"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "batchcomplete": true,
            "query": {"pages": [
                {"pageid": 1, "ns": 0, "title": "A", "contentmodel": "wikitext", "lastrevid": 10,
                 "revisions": [{"revid": 10, "timestamp": "yesterday", "user": "U"}]}
            ]}
        })))
        .mount(&server)
        .await;
    let error = session.lookup_revisions(&["A"]).await.unwrap_err();
    assert!(
        matches!(&error, Error::InvalidResponse { detail, .. } if detail.contains("\"yesterday\"")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_saved_edit_whose_answer_has_an_odd_timestamp_is_still_saved() {
    let (server, client, wiki) = server_and_client().await;
    mount_probe(
        &server,
        probe_answer(Some("2031-07-04T09:08:07Z"), "2031-07-04T09:00:00Z"),
    )
    .await;
    mount_edit(&server, "20310704090808").await;
    let session = client.anonymous_session(&wiki).unwrap();
    let title = Title::parse("MediaWiki:Gadget-x.js").unwrap();
    let probe = session.probe(&title).await.unwrap();
    let mut edit = EditRequest::new(title, "new", "s");
    edit.base_revision = probe.page.revision_id;

    let outcome = session.edit(&edit).await.unwrap();

    assert_eq!(
        outcome,
        EditOutcome::Updated {
            old_revision: 50,
            new_revision: 51,
            timestamp: None
        }
    );
}
