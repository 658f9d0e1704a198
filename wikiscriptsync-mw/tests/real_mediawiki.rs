//! Tests against a real MediaWiki (scripts/mediawiki-test-server). They run when
//! `WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL` is set and otherwise print a skip line and return.
//!
//! Each test's client has a User-Agent of its own, and every request count a test asserts is
//! also compared with the requests the wiki logged for that User-Agent (its access log).

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wikiscriptsync_mw::testkit::{ACCESS_LOG_ENV, AccessLog, unique_user_agent};
use wikiscriptsync_mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, CreatePolicy, EditOutcome, EditRequest,
    Error, LoginError, PageState, RetryPolicy, SecretString, Session, TalkNotice,
    TalkNoticeOutcome, Title, UserAgent, UserTalkTitle, WikiUrl, grants, normalize_text,
};

struct RealWiki {
    wiki: WikiUrl,
    client: ActionApiClient,
    /// This test's User-Agent, and the wiki's log of requests by User-Agent.
    user_agent: UserAgent,
    access_log: AccessLog,
    admin: (String, String),
    limited: (String, String),
    notifier: (String, String),
    recipient: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set with the test wiki URL"))
}

/// The test wiki from the environment, with a client whose User-Agent names `test`, or `None`
/// after printing the skip line.
fn real_wiki(test: &str) -> Option<RealWiki> {
    let Ok(url) = std::env::var("WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL") else {
        // CI starts a wiki for every run: there, a missing wiki is a broken setup, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL is not: start scripts/mediawiki-test-server"
        );
        // Straight to stderr: the test harness captures eprintln! too, and shows it only for
        // failing tests.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL not set"
        );
        return None;
    };
    let allow = AllowList::wikimedia()
        .with_extra_hosts(&std::env::var("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS").unwrap_or_default())
        .expect("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS is well-formed");
    let wiki = WikiUrl::parse(&url, &allow).expect("the test wiki host is in the extra hosts");
    let access_log = std::env::var_os(ACCESS_LOG_ENV)
        .filter(|path| !path.is_empty())
        .map(AccessLog::at)
        .expect("WIKISCRIPTSYNC_TEST_MEDIAWIKI_ACCESS_LOG is set with the wiki");
    let user_agent = unique_user_agent(test);
    let mut config = ClientConfig::new(user_agent.clone());
    config.allow_list = allow;
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(30);
    // The test wiki has no replicas; maxlag is still sent, as in production.
    let client = ActionApiClient::new(config).unwrap();
    let pair = |who: &str| {
        (
            var(&format!("WIKISCRIPTSYNC_TEST_MW_{who}_USER")),
            var(&format!("WIKISCRIPTSYNC_TEST_MW_{who}_PASSWORD")),
        )
    };
    Some(RealWiki {
        wiki,
        client,
        user_agent,
        access_log,
        admin: pair("ADMIN"),
        limited: pair("LIMITED"),
        notifier: pair("NOTIFY"),
        recipient: var("WIKISCRIPTSYNC_TEST_MW_RECIPIENT"),
    })
}

/// A title part no other test (or earlier CI run on the same wiki) uses.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{nanos}-{n}")
}

impl RealWiki {
    /// The requests the wiki logged for this test's User-Agent.
    fn server_count(&self) -> u64 {
        let n = self
            .access_log
            .requests_from(&self.user_agent)
            .expect("read the wiki's access log");
        u64::try_from(n).unwrap()
    }

    /// The wiki received exactly the requests the client counted.
    fn assert_server_agrees(&self) {
        assert_eq!(
            self.server_count(),
            self.client.request_count(),
            "requests logged by the wiki vs counted by the client ({})",
            self.user_agent.as_str()
        );
    }

    async fn login(&self, (user, password): &(String, String)) -> Result<Session, Error> {
        self.client
            .login_session(
                &self.wiki,
                BotPassword::new(user.clone(), SecretString::from(password.clone())),
            )
            .await
    }
}

#[tokio::test]
async fn login_succeeds_with_the_bot_password_and_fails_with_a_wrong_one() {
    let Some(wiki) = real_wiki("login") else {
        return;
    };
    let session = wiki.login(&wiki.admin).await.unwrap();
    assert_eq!(session.user_name().as_deref(), Some("Admin"));
    assert_eq!(session.request_count(), 2, "login token + login");
    assert_eq!(wiki.server_count(), 2, "and the wiki saw two");

    let wrong = (wiki.admin.0.clone(), "x".repeat(32));
    let err = wiki.login(&wrong).await.unwrap_err();
    assert!(
        matches!(err, Error::Login(LoginError::WrongPassword { .. })),
        "{err:?}"
    );
    wiki.assert_server_agrees();
}

#[tokio::test]
async fn a_gadget_page_is_created_updated_and_left_alone_when_unchanged_in_four_requests_each() {
    let Some(wiki) = real_wiki("gadget-page") else {
        return;
    };
    let title = Title::parse(&format!("MediaWiki:Gadget-{}.js", unique("rt"))).unwrap();
    let file = "// gadget\r\nmw.log('hello');   \n\n";

    // Publish-style sequence: login token, login, probe, edit.
    let session = wiki.login(&wiki.admin).await.unwrap();
    let probe = session.probe(&title).await.unwrap();
    assert!(!probe.page.exists);
    probe.check_rights(&title).unwrap();
    let mut create = EditRequest::new(title.clone(), file, "create from test");
    create.create = CreatePolicy::MustNotExist;
    create.start_timestamp = Some(probe.server_time);
    let created = session.edit(&create).await.unwrap();
    let EditOutcome::Created { revision, .. } = created else {
        panic!("expected Created, got {created:?}")
    };
    assert_eq!(
        session.request_count(),
        4,
        "login token, login, probe, edit"
    );
    assert_eq!(wiki.server_count(), 4, "the wiki saw the same four");

    // The text read back equals the file after MediaWiki's normalisation.
    let text = session.page_text(&title, None).await.unwrap().unwrap();
    assert_eq!(text.text, normalize_text(file));
    assert_eq!(text.revision_id, revision);

    // Update from a fresh session: again 4 requests.
    let before = wiki.server_count();
    let session = wiki.login(&wiki.admin).await.unwrap();
    let probe = session.probe(&title).await.unwrap();
    assert_eq!(probe.page.revision_id, Some(revision));
    let mut update = EditRequest::new(title.clone(), "mw.log('v2');\n", "update from test");
    update.base_revision = probe.page.revision_id;
    update.start_timestamp = Some(probe.server_time);
    let updated = session.edit(&update).await.unwrap();
    let EditOutcome::Updated {
        old_revision,
        new_revision,
        ..
    } = updated
    else {
        panic!("expected Updated, got {updated:?}")
    };
    assert_eq!(old_revision, revision);
    assert!(new_revision > revision);
    assert_eq!(session.request_count(), 4);
    assert_eq!(wiki.server_count() - before, 4);

    // The same text (modulo trailing whitespace) is no change.
    let mut same = update.clone();
    same.text = "mw.log('v2');\r\n  \n".to_owned();
    same.base_revision = Some(new_revision);
    assert_eq!(session.edit(&same).await.unwrap(), EditOutcome::NoChange);
    // Old revision text is still readable for diffs.
    let old = session
        .page_text(&title, Some(revision))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.text, normalize_text(file));
    wiki.assert_server_agrees();
}

#[tokio::test]
async fn a_stale_base_revision_is_an_edit_conflict() {
    let Some(wiki) = real_wiki("edit-conflict") else {
        return;
    };
    let title = Title::parse(&format!("MediaWiki:Gadget-{}.js", unique("conflict"))).unwrap();
    let session = wiki.login(&wiki.admin).await.unwrap();
    let mut create = EditRequest::new(title.clone(), "line1\nline2\nline3\n", "base");
    create.create = CreatePolicy::MustNotExist;
    let EditOutcome::Created { revision: base, .. } = session.edit(&create).await.unwrap() else {
        panic!("not created")
    };
    let mut theirs = EditRequest::new(title.clone(), "line1 changed\nline2\nline3\n", "theirs");
    theirs.base_revision = Some(base);
    session.edit(&theirs).await.unwrap();
    // Ours changes the same line, based on the stale revision.
    let mut ours = EditRequest::new(title.clone(), "line1 mine\nline2\nline3\n", "ours");
    ours.base_revision = Some(base);
    let err = session.edit(&ours).await.unwrap_err();
    assert!(matches!(err, Error::EditConflict { .. }), "{err:?}");
}

#[tokio::test]
async fn a_stale_base_revision_whose_change_does_not_overlap_is_merged_not_a_clean_update() {
    let Some(wiki) = real_wiki("edit-merged") else {
        return;
    };
    let title = Title::parse(&format!("MediaWiki:Gadget-{}.js", unique("merged"))).unwrap();
    let session = wiki.login(&wiki.admin).await.unwrap();
    let mut create = EditRequest::new(title.clone(), "one\ntwo\nthree\nfour\nfive\n", "base");
    create.create = CreatePolicy::MustNotExist;
    let EditOutcome::Created { revision: base, .. } = session.edit(&create).await.unwrap() else {
        panic!("not created")
    };
    // Another edit changes the first line. (The same account is fine: MediaWiki's "no
    // conflict with yourself" rule needs a `basetimestamp`, which is not sent.)
    let mut theirs = EditRequest::new(title.clone(), "ONE\ntwo\nthree\nfour\nfive\n", "theirs");
    theirs.base_revision = Some(base);
    let EditOutcome::Updated {
        new_revision: their_revision,
        ..
    } = session.edit(&theirs).await.unwrap()
    else {
        panic!("their edit was not a plain update")
    };
    // Ours changes the last line, based on the revision before theirs.
    let mut ours = EditRequest::new(title.clone(), "one\ntwo\nthree\nfour\nFIVE\n", "ours");
    ours.base_revision = Some(base);
    let outcome = session.edit(&ours).await.unwrap();
    let EditOutcome::Merged {
        base_revision,
        latest_revision,
        new_revision,
        timestamp,
    } = outcome
    else {
        panic!("a merge of an unseen revision must not look like a clean update: {outcome:?}")
    };
    assert_eq!(base_revision, base, "the base we sent");
    assert_eq!(
        latest_revision, their_revision,
        "the revision we did not see"
    );
    assert!(new_revision > their_revision);
    assert!(timestamp.is_some());
    // What was saved is the merge: their line and ours, not the text we sent.
    let saved = session.page_text(&title, None).await.unwrap().unwrap();
    assert_eq!(saved.revision_id, new_revision);
    assert_eq!(saved.text, "ONE\ntwo\nthree\nfour\nFIVE");
    // An edit on the latest revision is still a plain update.
    let mut fresh = EditRequest::new(title.clone(), "one\ntwo\nthree\nfour\nfive\n", "fresh");
    fresh.base_revision = Some(new_revision);
    let outcome = session.edit(&fresh).await.unwrap();
    assert!(
        matches!(outcome, EditOutcome::Updated { old_revision, .. } if old_revision == new_revision),
        "{outcome:?}"
    );
    wiki.assert_server_agrees();
}

#[tokio::test]
async fn appended_text_goes_after_the_latest_text_and_creates_only_when_allowed() {
    let Some(wiki) = real_wiki("append") else {
        return;
    };
    let title = Title::parse(&format!("MediaWiki:Gadget-{}.js", unique("append"))).unwrap();
    let session = wiki.login(&wiki.admin).await.unwrap();
    // The default policy is "must exist": appending to a missing page is refused.
    let missing = EditRequest::new(title.clone(), "mw.log(0);", "append");
    let err = session.append(&missing).await.unwrap_err();
    assert!(matches!(err, Error::PageMissing { .. }), "{err:?}");
    let mut create = missing.clone();
    create.create = CreatePolicy::MayCreate;
    let EditOutcome::Created { revision, .. } = session.append(&create).await.unwrap() else {
        panic!("not created")
    };
    // Another edit; an append without a base goes after its text, replacing nothing.
    let mut theirs = EditRequest::new(title.clone(), "mw.log(0);\nmw.log(1);", "theirs");
    theirs.base_revision = Some(revision);
    session.edit(&theirs).await.unwrap();
    let more = EditRequest::new(title.clone(), "\nmw.log(2);", "append");
    let outcome = session.append(&more).await.unwrap();
    let EditOutcome::Updated { new_revision, .. } = outcome else {
        panic!("expected an update, got {outcome:?}")
    };
    let saved = session.page_text(&title, None).await.unwrap().unwrap();
    assert_eq!(saved.revision_id, new_revision);
    assert_eq!(saved.text, "mw.log(0);\nmw.log(1);\nmw.log(2);");
    // Appending nothing saves nothing.
    let nothing = EditRequest::new(title.clone(), "", "append");
    assert_eq!(
        session.append(&nothing).await.unwrap(),
        EditOutcome::NoChange
    );
    wiki.assert_server_agrees();
}

#[tokio::test]
async fn the_limited_bot_password_is_told_which_right_and_grant_it_lacks() {
    let Some(wiki) = real_wiki("limited") else {
        return;
    };
    let title = Title::parse(&format!("MediaWiki:Gadget-{}.js", unique("limited"))).unwrap();
    let session = wiki.login(&wiki.limited).await.unwrap();
    let probe = session.probe(&title).await.unwrap();
    let err = probe.check_rights(&title).unwrap_err();
    let Error::MissingRight(missing) = &err else {
        panic!("expected MissingRight, got {err:?}")
    };
    assert_eq!(missing.right, "editsitejs");
    assert_eq!(missing.grant, "editsiteconfig");
    assert!(err.to_string().contains("editsiteconfig"));
    // And the wiki agrees: the edit itself is refused with a permission error.
    let mut edit = EditRequest::new(title.clone(), "x", "should fail");
    edit.create = CreatePolicy::MayCreate;
    let err = session.edit(&edit).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::PermissionDenied { .. } | Error::ProtectedPage { .. }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn one_hundred_twenty_titles_cost_three_requests_or_one_with_high_limits() {
    let Some(wiki) = real_wiki("lookup-120") else {
        return;
    };
    let prefix = unique("Lookup");
    // Two real pages among them, created first.
    let admin = wiki.login(&wiki.admin).await.unwrap();
    for n in [0, 119] {
        let mut create = EditRequest::new(
            Title::parse(&format!("{prefix} {n}")).unwrap(),
            format!("page {n}"),
            "lookup fixture",
        );
        create.create = CreatePolicy::MustNotExist;
        admin.edit(&create).await.unwrap();
    }
    let titles: Vec<String> = (0..120).map(|n| format!("{prefix}_{n}")).collect();

    let anonymous = wiki.client.anonymous_session(&wiki.wiki).unwrap();
    let before = wiki.server_count();
    let found = anonymous.lookup_revisions(&titles).await.unwrap();
    assert_eq!(anonymous.request_count(), 3, "120 titles, 50 per request");
    assert_eq!(wiki.server_count() - before, 3, "the wiki saw three");
    assert_eq!(found.len(), 120);
    assert_eq!(found[5].requested, titles[5]);
    let PageState::Exists(first) = &found[0].state else {
        panic!("{:?}", found[0])
    };
    assert_eq!(first.title, format!("{prefix} 0"));
    assert_eq!(first.user.as_deref(), Some("Admin"));
    assert_eq!(first.size, 6);
    assert!(first.sha1.as_deref().is_some_and(|s| s.len() == 40));
    assert!(matches!(found[119].state, PageState::Exists(_)));
    assert!(matches!(found[60].state, PageState::Missing { .. }));

    let session = wiki.login(&wiki.admin).await.unwrap();
    let info = session.user_info().await.unwrap();
    // scripts/mediawiki-test-server gives Admin (a sysop) the highvolume grant.
    assert!(
        info.has_high_limits(),
        "the Admin session should have apihighlimits"
    );
    let before = session.request_count();
    let server_before = wiki.server_count();
    let again = session.lookup_revisions(&titles).await.unwrap();
    assert_eq!(session.request_count() - before, 1, "500 per request");
    assert_eq!(wiki.server_count() - server_before, 1, "the wiki saw one");
    assert_eq!(again, found);
    wiki.assert_server_agrees();
}

#[tokio::test]
async fn a_notice_is_posted_as_a_new_section_and_read_back() {
    let Some(wiki) = real_wiki("notice") else {
        return;
    };
    let page = UserTalkTitle::for_user(&wiki.recipient).unwrap();
    // The notifier's grants (basic, editpage) do not carry `createtalk`: make sure the talk
    // page exists, as it does for most users.
    let admin = wiki.login(&wiki.admin).await.unwrap();
    let mut ensure = EditRequest::new(page.title().clone(), "", "talk page for tests");
    ensure.text = "Talk page.".to_owned();
    ensure.create = CreatePolicy::MustNotExist;
    match admin.edit(&ensure).await {
        Ok(_) | Err(Error::PageExists { .. }) => {}
        Err(other) => panic!("{other:?}"),
    }
    let session = wiki.login(&wiki.notifier).await.unwrap();
    let heading = unique("Gadget updated ");
    let outcome = session
        .post_talk_notice(&TalkNotice {
            page: page.clone(),
            heading: heading.clone(),
            text: "MediaWiki:Gadget-x.js changed.".to_owned(),
            summary: None,
        })
        .await
        .unwrap();
    let TalkNoticeOutcome::Section { revision } = outcome else {
        panic!("{outcome:?}")
    };
    let text = session
        .page_text(page.title(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text.revision_id, revision);
    assert!(
        text.text.contains(&format!("== {heading} ==")),
        "{}",
        text.text
    );
    assert!(
        text.text
            .contains("MediaWiki:Gadget-x.js changed. [[User:Notifier")
    );
}

#[tokio::test]
async fn a_notice_to_a_missing_talk_page_names_the_createtalk_right_and_its_grant() {
    let Some(wiki) = real_wiki("notice-missing-talk") else {
        return;
    };
    let session = wiki.login(&wiki.notifier).await.unwrap();
    let page = UserTalkTitle::for_user(&unique("Nobody")).unwrap();
    let err = session
        .post_talk_notice(&TalkNotice {
            page,
            heading: "Hello".to_owned(),
            text: "Hi.".to_owned(),
            summary: None,
        })
        .await
        .unwrap_err();
    let Error::PermissionDenied { right, grant, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(right.as_deref(), Some("createtalk"));
    assert_eq!(*grant, Some("createeditmovepage"));
}

#[tokio::test]
async fn every_spelling_of_the_wiki_resolves_to_one_identity_in_one_siteinfo_request() {
    let Some(wiki) = real_wiki("resolve") else {
        return;
    };
    let api = wiki.wiki.api_url();
    let host = wiki.wiki.host();
    let root = format!("{}://{host}", api.scheme());
    let spellings = [
        host.clone(),
        root.clone(),
        api.to_string(),
        format!("{}index.php/Main_Page", wiki.wiki.script_base()),
    ];
    let mut identities = Vec::new();
    for spelling in &spellings {
        let before = wiki.client.request_count();
        identities.push(wiki.client.resolve_wiki(spelling).await.unwrap());
        assert!(
            wiki.client.request_count() - before <= 2,
            "{spelling}: one siteinfo request, after at most one other place"
        );
    }
    for (identity, spelling) in identities.iter().zip(&spellings) {
        assert_eq!(identity, &identities[0], "{spelling}");
    }
    let identity = &identities[0];
    assert_eq!(
        identity.api, wiki.wiki,
        "the canonical API is the test wiki's"
    );
    assert!(!identity.wiki_id.is_empty() && !identity.sitename.is_empty());
    assert_eq!(identity.namespace(-1).unwrap().name, "Special");
    assert!(identity.title("Special:BlankPage").is_err());
    assert_eq!(
        identity
            .title("User:Admin/x.js")
            .unwrap()
            .content_model
            .as_str(),
        "javascript"
    );
    wiki.assert_server_agrees();
}

/// The fake wiki answers siteinfo field for field as Debian's MediaWiki does: every field the
/// fake sends, MediaWiki sends with the same value (where the value is not the site's own).
#[tokio::test]
async fn the_fake_wikis_siteinfo_matches_mediawikis() {
    let Some(wiki) = real_wiki("siteinfo-fields") else {
        return;
    };
    let query = "action=query&meta=siteinfo&siprop=general%7Cnamespaces%7Cnamespacealiases\
                 &format=json&formatversion=2";
    let http = reqwest::Client::builder()
        .user_agent(wiki.user_agent.as_str())
        .build()
        .unwrap();
    let get = |url: String| {
        let request = http.get(url);
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let real = get(format!("{}?{query}", wiki.wiki.api_url())).await;
    let fake = wikiscriptsync_mw::testkit::FakeWiki::start_with_script_path("").await;
    let real_general = &real["query"]["general"];
    fake.set_site_name(
        real_general["sitename"].as_str().unwrap(),
        real_general["wikiid"].as_str().unwrap(),
    );
    let fake_answer = get(format!("{}?{query}", fake.api_url())).await;
    let site_specific = [
        "base",
        "server",
        "servername",
        "time",
        "generator",
        "maxarticlesize",
    ];
    let fake_general = fake_answer["query"]["general"].as_object().unwrap();
    for (field, value) in fake_general {
        let real_value = &real_general[field];
        assert!(!real_value.is_null(), "MediaWiki has no general.{field}");
        if !site_specific.contains(&field.as_str()) {
            assert_eq!(value, real_value, "general.{field}");
        }
        assert_eq!(
            std::mem::discriminant(value),
            std::mem::discriminant(real_value),
            "general.{field} has MediaWiki's JSON type"
        );
    }
    assert_eq!(
        fake_answer["query"]["namespaces"], real["query"]["namespaces"],
        "namespaces"
    );
    assert_eq!(
        fake_answer["query"]["namespacealiases"], real["query"]["namespacealiases"],
        "namespace aliases"
    );
}

#[tokio::test]
async fn the_grant_table_explains_real_sessions_by_the_grants_ticked_and_no_others() {
    let Some(wiki) = real_wiki("grants") else {
        return;
    };
    // The BotPasswords scripts/mediawiki-test-server creates, with their grants.
    let cases = [
        (
            &wiki.admin,
            &[
                "basic",
                "highvolume",
                "editpage",
                "editsiteconfig",
                "editmycssjs",
                "createeditmovepage",
            ][..],
        ),
        (
            &wiki.limited,
            &["basic", "editpage", "editmycssjs", "createeditmovepage"][..],
        ),
        (&wiki.notifier, &["basic", "editpage"][..]),
    ];
    for (account, ticked) in cases {
        let session = wiki.login(account).await.unwrap();
        let info = session.user_info().await.unwrap();
        // Every right the real wiki reports that a grant carries is carried by a ticked one.
        let allowed = grants::rights_of_grants(ticked.iter().copied());
        for right in &info.rights {
            assert!(
                grants::grants_carrying(right).is_empty() || allowed.contains(right.as_str()),
                "{}: `{right}` is carried by no ticked grant per the table",
                account.0
            );
        }
        let carried = grants::carried_grants(&info.rights);
        assert!(
            carried.iter().all(|g| ticked.contains(g)),
            "{}: {carried:?} names a grant not ticked ({ticked:?})",
            account.0
        );
        assert!(!carried.contains("editinterface"), "{carried:?}");
    }
}
