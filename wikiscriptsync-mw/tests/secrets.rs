//! No BotPassword, owner-only access token, CSRF token or OAuth secret appears in any tracing line, error message
//! (Display or Debug) or Debug output, across logins (including failures), edits and recovery.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use url::Url;
use wikiscriptsync_mw::oauth::OAuthConfig;
use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki, Fault, LoginFailure};
use wikiscriptsync_mw::{
    ActionApiClient, BotPassword, ClientConfig, CreatePolicy, Credential, CredentialKind,
    EditRequest, Error, OwnerOnlyToken, RetryPolicy, SecretString, Title, UserAgent, WikiApi,
};

const PASSWORD: &str = "zyxwvutsrqponmlkjihgfedcba012345";
const OTHER_PASSWORD: &str = "abcabcabcabcabcabcabcabcabcabc99";

/// A tracing subscriber that writes every event and span field into a shared string.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Writer<'a>(&'a mut String);

impl Visit for Writer<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut out = self.0.lock().unwrap();
        out.push_str(span.metadata().name());
        span.record(&mut Writer(&mut out));
        out.push('\n');
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Writer(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut out = self.0.lock().unwrap();
        out.push_str(event.metadata().target());
        event.record(&mut Writer(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_appears_in_logs_errors_or_debug_output() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let fake = FakeWiki::start().await;
    fake.add_account(FakeAccount::new("Admin@publisher", PASSWORD).with_rights(&[
        "read",
        "edit",
        "createpage",
        "editinterface",
        "editsitejs",
    ]));
    fake.add_account(
        FakeAccount::new("Locked@publisher", OTHER_PASSWORD).failing_login(LoginFailure::Locked),
    );
    let mut config = ClientConfig::new(UserAgent::from_contact("tests@example.org").unwrap());
    config.allow_list = fake.allow_list();
    config.retry = RetryPolicy::fast_for_tests();
    config.request_timeout = Duration::from_secs(5);
    let client = ActionApiClient::new(config).unwrap();
    let mut shown = String::new();

    // Failures: wrong password, locked, aborted (main password), with Display and Debug.
    for (name, password) in [
        ("Admin@publisher", OTHER_PASSWORD),
        ("Locked@publisher", OTHER_PASSWORD),
        ("Admin", PASSWORD),
    ] {
        let credentials = BotPassword::new(name, SecretString::from(password));
        let _ = writeln!(shown, "{credentials:?}");
        let err = client
            .login_session(&fake.wiki_url(), credentials)
            .await
            .unwrap_err();
        let _ = writeln!(shown, "{err} {err:?}");
    }

    // Success, then an edit with a rejected token, an expired session and maxlag.
    let session = client
        .login_session(
            &fake.wiki_url(),
            BotPassword::new("Admin@publisher", SecretString::from(PASSWORD)),
        )
        .await
        .unwrap();
    let _ = writeln!(shown, "{session:?}");
    let title = Title::parse("MediaWiki:Gadget-secret.js").unwrap();
    let probe = session.probe(&title).await.unwrap();
    let _ = writeln!(shown, "{probe:?}");
    fake.inject_for("edit", Fault::BadToken, 1);
    fake.inject(
        Fault::Maxlag {
            retry_after_secs: 0,
        },
        1,
    );
    let mut edit = EditRequest::new(title.clone(), "x();", "s");
    edit.create = CreatePolicy::MayCreate;
    let _ = writeln!(shown, "{:?}", session.edit(&edit).await);
    fake.expire_sessions();
    edit.text = "y();".to_owned();
    edit.base_revision = fake
        .page("MediaWiki:Gadget-secret.js")
        .unwrap()
        .latest()
        .map(|r| r.id);
    let _ = writeln!(shown, "{:?}", session.edit(&edit).await);
    fake.inject(Fault::BadToken, 5);
    let err = session.edit(&edit).await.unwrap_err();
    let _ = writeln!(shown, "{err} {err:?}");

    // An owner-only OAuth 2.0 token: a publish, a rejected (revoked) token, a refused edit.
    let access_token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzZWNyZXQiOiJ5ZXMifQ.{}",
        "tokSig".repeat(57)
    );
    fake.add_owner_only_token(&access_token, "Admin", &["editsiteconfig"]);
    let token = OwnerOnlyToken::new(SecretString::from(access_token.clone())).unwrap();
    let _ = writeln!(shown, "{token:?} {:?}", Credential::from(token.clone()));
    let session = client
        .open(&fake.wiki_url(), Credential::OwnerOnlyToken(token.clone()))
        .await
        .unwrap();
    let _ = writeln!(shown, "{:?}", session.probe(&title).await);
    edit.base_revision = None;
    edit.text = "z();".to_owned();
    let _ = writeln!(shown, "{:?}", session.edit(&edit).await);
    fake.refuse_sensitive_edits(CredentialKind::OwnerOnlyToken);
    let err = session.edit(&edit).await.unwrap_err();
    let _ = writeln!(shown, "{err} {err:?}");
    fake.revoke_token(&access_token);
    let err = session.probe(&title).await.unwrap_err();
    assert!(matches!(err, Error::TokenRejected { .. }), "{err:?}");
    let _ = writeln!(shown, "{err} {err:?}");
    assert!(fake.requests().iter().any(|r| r.bearer));
    let recorded = format!("{:?}", fake.requests());
    assert!(
        !recorded.contains(&access_token),
        "the fake records no token"
    );

    let oauth = OAuthConfig {
        base_url: Url::parse("https://meta.wikimedia.org").unwrap(),
        client_id: "id".to_owned(),
        client_secret: Some(SecretString::from(PASSWORD)),
        redirect_uri: "https://example.org/cb".to_owned(),
    };
    let _ = writeln!(shown, "{oauth:?}");

    // The CSRF tokens the fake handed out.
    let tokens: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.param("token").map(str::to_owned))
        .filter(|t| t.len() > 4)
        .collect();
    assert!(!tokens.is_empty(), "the edits sent real tokens");
    let logs = capture.0.lock().unwrap().clone();
    assert!(logs.contains("logged in"), "the capture works: {logs}");
    assert!(logs.contains("retrying"), "{logs}");
    for secret in [PASSWORD, OTHER_PASSWORD, access_token.as_str()] {
        assert!(!logs.contains(secret), "password in logs:\n{logs}");
        assert!(!shown.contains(secret), "password in output:\n{shown}");
    }
    for token in &tokens {
        assert!(!logs.contains(token.as_str()), "token in logs");
        assert!(!shown.contains(token.as_str()), "token in output");
    }
    assert!(shown.contains("[redacted]"));
}
