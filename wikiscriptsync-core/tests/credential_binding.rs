//! Stored BotPasswords are sealed for their row's user and wiki: ciphertexts swapped between two
//! users' rows in the database (someone with write access to it) make neither user publish or
//! verify with the other's password — both are refused at decrypt, with a message that says to
//! save the BotPassword again, and no login request reaches the wiki. Rows written before the
//! binding still work, and rotation binds them.

mod common;

use std::sync::Arc;

use chrono::Utc;
use common::*;
use secrecy::{ExposeSecret as _, SecretString};
use wikiscriptsync_core::app::{App, AppParts, UseCaseError};
use wikiscriptsync_core::credentials::rotate_credentials;
use wikiscriptsync_core::mw::testkit::FakeWiki;
use wikiscriptsync_core::publish::PublishStep;
use wikiscriptsync_core::store::{MappingOptions, UserId};
use wikiscriptsync_core::vault::{CredentialOwner, VaultError};

/// Bob's BotPassword, distinct from Alice's (`PASSWORD`).
const BOB_PASSWORD: &str = "b0bsOwnBotPassw0rdQQ11ww22ee33rr";

/// Requests that start or make a login: the login token query and `action=login`.
fn login_requests(wiki: &FakeWiki) -> usize {
    wiki.requests()
        .iter()
        .filter(|r| r.action == "login" || r.param("type") == Some("login"))
        .count()
}

fn app(env: &Env) -> App {
    App::new(AppParts {
        store: Arc::clone(&env.store),
        wiki: env.client.clone(),
        forges: env.forges.clone(),
        vault: Some(Arc::clone(&env.vault)),
        runner_host: "tests".to_owned(),
    })
}

/// Alice (the env's user) and Bob each store their own BotPassword for the fake wiki, sealed
/// for their own rows; then the two ciphertexts are swapped in the database.
async fn swapped_rows(env: &Env) -> UserId {
    let bob = env
        .store
        .upsert_user("central-2", "Bob", Utc::now())
        .await
        .unwrap()
        .id;
    env.wiki.add_account(admin_account("Bob@publisher"));
    env.store_credential(ADMIN).await;
    let wiki = env.wiki_key();
    let bob_owner = CredentialOwner {
        user: bob,
        wiki: &wiki,
    };
    let bob_ciphertext = env
        .vault
        .encrypt(bob_owner, &SecretString::from(BOB_PASSWORD));
    env.store
        .set_credential(bob, &wiki, "Bob@publisher", &bob_ciphertext, Utc::now())
        .await
        .unwrap();
    let alice_row = env
        .store
        .credential(env.user, &wiki)
        .await
        .unwrap()
        .unwrap();
    let bob_row = env.store.credential(bob, &wiki).await.unwrap().unwrap();
    assert!(
        env.store
            .replace_credential_ciphertext(alice_row.id, &alice_row.ciphertext, &bob_ciphertext)
            .await
            .unwrap()
    );
    assert!(
        env.store
            .replace_credential_ciphertext(bob_row.id, &bob_row.ciphertext, &alice_row.ciphertext)
            .await
            .unwrap()
    );
    bob
}

fn assert_wrong_owner(message: &str, wiki: &str) {
    assert!(
        message.contains("not saved for this user and wiki")
            && message.contains(&format!("save the BotPassword for {wiki} again")),
        "{message}"
    );
    for secret in [PASSWORD, BOB_PASSWORD] {
        assert!(!message.contains(secret), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_ciphertexts_are_refused_at_publish_before_any_login() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let _bob = swapped_rows(&env).await;
    let mapping = env.checked_mapping(PAGE, MappingOptions::default()).await;

    let failure = env
        .publisher
        .publish_mapping(env.mapping_request(mapping), opts(false, false))
        .await
        .unwrap_err();
    assert_eq!(failure.step, PublishStep::Decrypt);
    assert_eq!(failure.error.code(), "vault");
    assert_wrong_owner(&failure.user_message(), &env.wiki_key());
    assert_eq!(login_requests(&env.wiki), 0, "no login was attempted");
    assert_eq!(env.wiki.requests_for("edit"), 0);
    assert_eq!(env.wiki.page_text(PAGE).unwrap(), "// old");
    env.assert_mutex_released().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_ciphertexts_are_refused_at_verify_for_both_users_before_any_login() {
    let env = Env::start().await;
    let bob = swapped_rows(&env).await;
    let app = app(&env);
    for user in [env.user, bob] {
        let error = app
            .verify_credential(user, &env.wiki_key())
            .await
            .unwrap_err();
        assert!(
            matches!(error, UseCaseError::Vault(VaultError::WrongOwner { .. })),
            "{error:?}"
        );
        assert!(
            !error.is_user_error(),
            "not a typo: the stored row is at fault"
        );
        assert_wrong_owner(&error.to_string(), &env.wiki_key());
    }
    assert_eq!(login_requests(&env.wiki), 0, "no login was attempted");

    // Rotation does not launder them: they stay refused, counted apart, and keep the old key.
    let report = rotate_credentials(env.store.as_ref(), &env.vault, false)
        .await
        .unwrap();
    assert_eq!(
        (report.total, report.wrong_owner, report.reencrypted),
        (2, 2, 0)
    );
    assert!(!report.old_keys_retirable());
    assert!(app.verify_credential(bob, &env.wiki_key()).await.is_err());
    assert_eq!(login_requests(&env.wiki), 0);

    // Saving again is the way out: the row is sealed for its owner and works.
    let report = app
        .save_credential(
            env.user,
            &env.wiki_key(),
            ADMIN,
            SecretString::from(PASSWORD),
        )
        .await
        .unwrap();
    assert_eq!(report.bot_username, ADMIN);
    assert!(
        app.verify_credential(env.user, &env.wiki_key())
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_from_before_binding_still_publishes_and_rotation_binds_it_to_its_row() {
    let env = Env::start().await;
    env.wiki.add_page(PAGE, "// old\n");
    let wiki = env.wiki_key();
    // The format the original tool (and this one before binding) wrote: the bare password.
    let unbound = fernet::Fernet::new(env.key.expose_secret())
        .unwrap()
        .encrypt(PASSWORD.as_bytes());
    env.store
        .set_credential(env.user, &wiki, ADMIN, &unbound, Utc::now())
        .await
        .unwrap();
    let mapping = env.checked_mapping(PAGE, create_allowed()).await;
    env.publisher
        .publish_mapping(env.mapping_request(mapping), opts(true, false))
        .await
        .expect("an unbound row still decrypts");

    let report = rotate_credentials(env.store.as_ref(), &env.vault, false)
        .await
        .unwrap();
    assert_eq!(
        (report.total, report.current, report.reencrypted),
        (1, 0, 1),
        "an unbound row on the newest key is re-sealed"
    );
    let row = env
        .store
        .credential(env.user, &wiki)
        .await
        .unwrap()
        .unwrap();
    let owner = CredentialOwner {
        user: env.user,
        wiki: &wiki,
    };
    assert!(env.vault.is_current(owner, &row.ciphertext));
    assert_eq!(
        env.vault
            .decrypt(owner, &row.ciphertext)
            .unwrap()
            .expose_secret(),
        PASSWORD
    );
    let elsewhere = CredentialOwner {
        user: UserId(env.user.0 + 1),
        wiki: &wiki,
    };
    assert!(matches!(
        env.vault.decrypt(elsewhere, &row.ciphertext),
        Err(VaultError::WrongOwner { .. })
    ));
    let again = rotate_credentials(env.store.as_ref(), &env.vault, false)
        .await
        .unwrap();
    assert_eq!((again.current, again.reencrypted), (1, 0), "bound once");
}
