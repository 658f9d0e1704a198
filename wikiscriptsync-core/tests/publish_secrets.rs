//! The BotPassword and the vault key never appear in logs (every tracing event at TRACE level,
//! ours and the HTTP stack's, captured over a whole run of publishes), in error messages or
//! `Debug` output, or in the database file in plaintext.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use common::*;
use secrecy::{ExposeSecret as _, SecretString};
use wikiscriptsync_core::publish::PublishOutcome;
use wikiscriptsync_core::store::MappingOptions;
use wikiscriptsync_core::vault::Vault;

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

// One thread, so every task (ours, reqwest's, hyper's) runs under the capturing subscriber.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_a_log_an_error_message_or_the_database() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    env.store_credential(ADMIN).await;
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;
    let mut printed = String::new();
    let mut record = |text: String| {
        printed.push_str(&text);
        printed.push('\n');
    };

    // Stored credential: decrypt, publish, then no change, then a dry run.
    let report = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap();
    assert!(matches!(report.outcome, PublishOutcome::Published { .. }));
    record(format!("{report:?} {}", report.message));
    for dry_run in [false, true] {
        let report = env
            .publisher
            .publish_mapping(env.mapping_request(mapping), opts(dry_run, false))
            .await
            .unwrap();
        record(format!("{report:?} {}", report.message));
    }
    // Drift refused.
    env.wiki.edit_as(PAGE, "// on-wiki\n", "Someone", "x");
    let failure = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.error.code(), "drift");
    record(format!("{failure:?} {failure} {}", failure.user_message()));
    // Given credentials: wrong password, missing right, then a publish.
    for (login, password) in [(ADMIN, "wrong-password-123"), (LIMITED, PASSWORD)] {
        let failure = env
            .publisher
            .publish(env.ad_hoc(login, password, PAGE), opts(false, false))
            .await
            .unwrap_err();
        record(format!("{failure:?} {failure} {}", failure.user_message()));
    }
    let report = env
        .publisher
        .publish(env.ad_hoc(ADMIN, PASSWORD, PAGE), opts(false, true))
        .await
        .unwrap();
    record(format!("{report:?}"));
    // A password pasted into the wiki address (refused, and never echoed).
    let mut pasted = env.ad_hoc(ADMIN, PASSWORD, PAGE);
    pasted.wiki = format!("http://admin:{PASSWORD}@{}/w/api.php", env.wiki.host());
    let failure = env
        .publisher
        .publish(pasted, opts(false, false))
        .await
        .unwrap_err();
    record(format!("{failure:?} {failure} {}", failure.user_message()));
    // A key that cannot decrypt the stored password.
    let other_key = Vault::generate_key();
    let other = Vault::from_key_list(&other_key).unwrap();
    let wiki = env.wiki_key();
    let owner = wikiscriptsync_core::vault::CredentialOwner {
        user: env.user,
        wiki: &wiki,
    };
    let foreign = other.encrypt(owner, &SecretString::from(PASSWORD));
    env.store
        .set_credential(env.user, &env.wiki_key(), ADMIN, &foreign, Utc::now())
        .await
        .unwrap();
    let failure = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.error.code(), "vault");
    record(format!("{failure:?} {failure} {}", failure.user_message()));
    record(format!("{:?} {:?}", env.publisher, env.vault));

    let logs = captured.0.lock().unwrap().clone();
    // The capture really saw the publishes and the HTTP traffic at TRACE level.
    assert!(contains(&logs, "publish"), "nothing was captured");
    assert!(contains(&logs, "TRACE"), "TRACE events were not captured");
    assert!(
        contains(&logs, "hyper") || contains(&logs, "reqwest"),
        "the HTTP stack's events were not captured"
    );
    let key = env.key.expose_secret().to_owned();
    let secrets = [
        PASSWORD,
        "wrong-password-123",
        key.as_str(),
        other_key.expose_secret(),
    ];
    for secret in secrets {
        assert!(!contains(&logs, secret), "a secret is in the logs");
        assert!(
            !printed.contains(secret),
            "a secret is in a message: {printed}"
        );
    }

    // The database holds ciphertexts only.
    let mut db = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", env.db_path.display())) {
            db.extend(bytes);
        }
    }
    assert!(
        contains(&db, &foreign),
        "the stored ciphertext was not found: wrong file?"
    );
    for secret in secrets {
        assert!(!contains(&db, secret), "a secret is in the database");
    }
}
