//! Owner-only OAuth 2.0 tokens against the fake wiki: Bearer on every request and no login,
//! the 2-request cold publish, the OAuth extension's refusals, missing grants, the 2026
//! `reauthenticate` refusal, and the token never appearing in Debug, Display or errors.

use std::time::Duration;

use wikiscriptsync_mw::grants::{carried_grants, grants_carrying};
use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_mw::{
    ActionApiClient, BotPassword, ClientConfig, Credential, CredentialKind, EditOutcome,
    EditRequest, Error, OwnerOnlyToken, RetryPolicy, SecretString, Title, UserAgent, WikiApi,
};

const ADMIN_USER: &str = "Admin";
const ADMIN_BOT: &str = "Admin@publisher";
const ADMIN_PASSWORD: &str = "abcdefghijklmnopqrstuvw012345678";
const INTERFACE_ADMIN_RIGHTS: &[&str] = &[
    "read",
    "edit",
    "minoredit",
    "createpage",
    "createtalk",
    "writeapi",
    "editinterface",
    "editsitejs",
    "editsitecss",
    "editsitejson",
    "edituserjs",
    "editusercss",
    "edituserjson",
    "editmyuserjs",
];

/// A token of the real shape (a JWT), distinct per `seed`.
fn jwt(seed: &str) -> String {
    format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ{seed}In0.{}",
        "Sig-_0".repeat(57)
    )
}

fn token(text: &str) -> OwnerOnlyToken {
    OwnerOnlyToken::new(SecretString::from(text.to_owned())).expect("a JWT-shaped token")
}

fn client_for(fake: &FakeWiki) -> ActionApiClient {
    let mut config = ClientConfig::new(UserAgent::from_contact("tests@example.org").unwrap());
    config.allow_list = fake.allow_list();
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    ActionApiClient::new(config).unwrap()
}

async fn fake() -> FakeWiki {
    let fake = FakeWiki::start().await;
    // The account's group rights: an interface administrator.
    fake.add_account(
        FakeAccount::new(ADMIN_BOT, ADMIN_PASSWORD).with_rights(INTERFACE_ADMIN_RIGHTS),
    );
    fake.add_page("MediaWiki:Gadget-x.js", "old();");
    fake
}

fn gadget() -> Title {
    Title::parse("MediaWiki:Gadget-x.js").unwrap()
}

#[tokio::test]
async fn a_token_session_sends_bearer_on_every_request_and_publishes_in_two_requests() {
    let fake = fake().await;
    let secret = jwt("good");
    fake.add_owner_only_token(&secret, ADMIN_USER, &["editsiteconfig"]);
    let client = client_for(&fake);
    let session = client
        .open(&fake.wiki_url(), Credential::OwnerOnlyToken(token(&secret)))
        .await
        .unwrap();
    assert_eq!(
        fake.request_count(),
        0,
        "opening a token session sends nothing"
    );
    assert_eq!(session.request_count(), 0);
    assert_eq!(
        session.user_name(),
        None,
        "not known before an answer names it"
    );
    assert_eq!(
        session.credential_kind(),
        Some(CredentialKind::OwnerOnlyToken)
    );

    let probe = session.probe(&gadget()).await.unwrap();
    assert_eq!(session.user_name().as_deref(), Some(ADMIN_USER));
    probe.check_rights(&gadget()).unwrap();
    let mut edit = EditRequest::new(gadget(), "new();", "from git");
    edit.base_revision = probe.page.revision_id;
    edit.start_timestamp = Some(probe.server_time);
    let outcome = session.edit(&edit).await.unwrap();
    assert!(
        matches!(outcome, EditOutcome::Updated { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        fake.page_text("MediaWiki:Gadget-x.js").as_deref(),
        Some("new();")
    );

    assert_eq!(session.request_count(), 2, "probe + edit");
    assert_eq!(fake.request_count(), 2);
    assert_eq!(fake.requests_for("login"), 0);
    for request in fake.requests() {
        assert!(request.bearer, "every request carries the Bearer header");
        assert!(request.header("authorization").is_none(), "never recorded");
        assert!(!request.query.iter().any(|(_, v)| v.contains(&secret)));
        assert!(!request.body.iter().any(|(_, v)| v.contains(&secret)));
        assert_eq!(request.param("assert"), Some("user"));
    }
    // The edit was made as the token's user.
    let page = fake.page("MediaWiki:Gadget-x.js").unwrap();
    assert_eq!(page.latest().unwrap().user, ADMIN_USER);
}

#[tokio::test]
async fn a_botpassword_still_logs_in_through_open() {
    let fake = fake().await;
    let client = client_for(&fake);
    let credential = Credential::from(BotPassword::new(
        ADMIN_BOT,
        SecretString::from(ADMIN_PASSWORD),
    ));
    assert_eq!(credential.kind(), CredentialKind::BotPassword);
    let session = client.open(&fake.wiki_url(), credential).await.unwrap();
    assert_eq!(fake.requests_for("login"), 1);
    assert_eq!(session.request_count(), 2);
    assert_eq!(session.credential_kind(), Some(CredentialKind::BotPassword));
    assert!(fake.requests().iter().all(|r| !r.bearer));
}

#[tokio::test]
async fn invalid_revoked_and_wrong_wiki_tokens_are_typed_never_retried_and_never_quoted() {
    let fake = fake().await;
    let client = client_for(&fake);
    let good = jwt("revokedsoon");
    fake.add_owner_only_token(&good, ADMIN_USER, &["editsiteconfig"]);
    let elsewhere = jwt("otherwiki");
    fake.add_owner_only_token(&elsewhere, ADMIN_USER, &["editsiteconfig"]);
    fake.limit_token_to_wiki(&elsewhere, "dewiki");
    fake.revoke_token(&good);

    let cases = [
        (jwt("neverissued"), "mwoauth-invalid-authorization"),
        (good, "mwoauth-invalid-authorization"),
        (elsewhere, "mwoauth-invalid-authorization-wrong-wiki"),
    ];
    for (secret, expected) in cases {
        let before = fake.request_count();
        let session = client
            .token_session(&fake.wiki_url(), token(&secret))
            .unwrap();
        let err = session.probe(&gadget()).await.unwrap_err();
        assert!(
            matches!(&err, Error::TokenRejected { code, .. } if code == expected),
            "{err:?}"
        );
        assert!(!err.is_transient());
        assert_eq!(
            fake.request_count(),
            before + 1,
            "not retried, no login tried"
        );
        let message = err.to_string();
        assert!(
            message.contains("propose") || message.contains("another wiki"),
            "{message}"
        );
        for shown in [message, format!("{err:?}"), format!("{session:?}")] {
            assert!(!shown.contains(&secret), "the token leaked: {shown}");
        }
    }
}

#[tokio::test]
async fn a_token_lacking_a_grant_names_it_and_says_what_to_do_with_a_consumer() {
    let fake = fake().await;
    let client = client_for(&fake);
    let secret = jwt("narrow");
    // Only editpage: the interface admin's site-JS rights are not carried.
    fake.add_owner_only_token(&secret, ADMIN_USER, &["editpage"]);
    let session = client
        .token_session(&fake.wiki_url(), token(&secret))
        .unwrap();
    let probe = session.probe(&gadget()).await.unwrap();
    assert!(probe.user.rights.iter().any(|r| r == "edit"));
    assert!(!probe.user.rights.iter().any(|r| r == "editsitejs"));
    let Err(Error::MissingRight(missing)) = probe.check_rights(&gadget()) else {
        panic!("site JS needs editsitejs");
    };
    assert_eq!(missing.grant, "editsiteconfig");
    assert_eq!(probe.credential, Some(CredentialKind::OwnerOnlyToken));
    let advice = missing.advice_for(CredentialKind::OwnerOnlyToken);
    assert!(advice.contains("owner-only OAuth consumer"), "{advice}");
    assert!(advice.contains("propose a new"), "{advice}");
    assert!(!advice.contains("Special:BotPasswords"), "{advice}");
    let advice = missing.advice_for(CredentialKind::BotPassword);
    assert!(advice.contains("Special:BotPasswords"), "{advice}");
    assert!(missing.to_string().contains("editsiteconfig"));

    // The wiki's own refusal of the edit names the grant and speaks of consumers too.
    let err = session
        .edit(&EditRequest::new(gadget(), "x();", "try"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::PermissionDenied {
                grant: Some("editsiteconfig"),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("owner-only OAuth consumer"),
        "{err}"
    );
}

#[tokio::test]
async fn reauthenticate_is_typed_per_credential_kind_and_never_retried() {
    let fake = fake().await;
    let client = client_for(&fake);
    let secret = jwt("reauth");
    fake.add_owner_only_token(
        &secret,
        ADMIN_USER,
        &["editsiteconfig", "createeditmovepage"],
    );
    fake.refuse_sensitive_edits(CredentialKind::OwnerOnlyToken);

    let session = client
        .token_session(&fake.wiki_url(), token(&secret))
        .unwrap();
    let err = session
        .edit(&EditRequest::new(gadget(), "x();", "try"))
        .await
        .unwrap_err();
    let Error::ReauthenticationRequired {
        code, credential, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(code, "reauthenticate");
    assert_eq!(*credential, Some(CredentialKind::OwnerOnlyToken));
    assert!(!err.is_transient());
    assert_eq!(fake.requests_for("edit"), 1, "not retried");
    assert!(err.to_string().contains("OAuth"), "{err}");
    assert_eq!(
        fake.page_text("MediaWiki:Gadget-x.js").as_deref(),
        Some("old();")
    );

    // Ordinary pages are not refused, and BotPassword sessions only when switched on.
    let ordinary = Title::parse("Sandbox").unwrap();
    let mut edit = EditRequest::new(ordinary, "hello", "try");
    edit.create = wikiscriptsync_mw::CreatePolicy::MayCreate;
    session.edit(&edit).await.unwrap();
    let bot = client
        .login_session(
            &fake.wiki_url(),
            BotPassword::new(ADMIN_BOT, SecretString::from(ADMIN_PASSWORD)),
        )
        .await
        .unwrap();
    bot.edit(&EditRequest::new(gadget(), "bot();", "ok"))
        .await
        .unwrap();
    fake.refuse_sensitive_edits(CredentialKind::BotPassword);
    let err = bot
        .edit(&EditRequest::new(gadget(), "again();", "no"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::ReauthenticationRequired {
                credential: Some(CredentialKind::BotPassword),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("BotPassword"), "{err}");
}

#[test]
fn the_issues_grants_carry_no_unticked_editinterface_grant() {
    // A BotPassword with basic, editpage, editsiteconfig and createeditmovepage on an
    // interface administrator: rights = groups ∩ grants.
    let ticked = ["basic", "editpage", "editsiteconfig", "createeditmovepage"];
    let granted = wikiscriptsync_mw::grants::rights_of_grants(ticked);
    let rights: Vec<String> = INTERFACE_ADMIN_RIGHTS
        .iter()
        .filter(|r| granted.contains(**r))
        .map(|r| (*r).to_owned())
        .collect();
    assert!(rights.iter().any(|r| r == "editinterface"));
    let carried = carried_grants(&rights);
    assert!(!carried.contains("editinterface"), "{carried:?}");
    assert!(carried.iter().all(|g| ticked.contains(g)), "{carried:?}");
    assert!(carried.contains("editsiteconfig") && carried.contains("createeditmovepage"));

    // A BotPassword given only editinterface is told so (nothing broader explains it).
    let json_only: Vec<String> = ["edit", "editinterface", "editsitejson", "writeapi"]
        .iter()
        .map(|r| (*r).to_owned())
        .collect();
    let carried = carried_grants(&json_only);
    assert_eq!(
        carried.into_iter().collect::<Vec<_>>(),
        ["basic", "editinterface"]
    );
    assert_eq!(grants_carrying("editsitejs"), ["editsiteconfig"]);
}

#[tokio::test]
async fn an_expired_token_session_is_never_logged_in_again() {
    let fake = fake().await;
    let secret = jwt("expiry");
    fake.add_owner_only_token(&secret, ADMIN_USER, &["editsiteconfig"]);
    let client = client_for(&fake);
    let session = client
        .token_session(&fake.wiki_url(), token(&secret))
        .unwrap();
    fake.inject(wikiscriptsync_mw::testkit::Fault::AssertUserFailed, 1);
    let err = session.probe(&gadget()).await.unwrap_err();
    assert!(matches!(err, Error::NotLoggedIn { .. }), "{err:?}");
    assert_eq!(fake.requests_for("login"), 0, "no login with a token");
    assert_eq!(fake.request_count(), 1);
}
