//! Opening a store fails with a clear, typed error (and never a panic or a leaked password)
//! for an unknown scheme, an unreachable server, wrong credentials or a missing database.

mod common;

use std::time::Duration;

use sqlx::Connection;
use url::Url;
use wikiscriptsync_store::{DatabaseUrl, StoreError, StoreSettings, open};

fn quick() -> StoreSettings {
    StoreSettings {
        acquire_timeout: Duration::from_millis(500),
        ..StoreSettings::migrating()
    }
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_and_names_the_supported_ones() {
    let error = open(&"postgres://u:secret@localhost/db".into(), &quick())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::UnknownScheme { ref scheme } if scheme == "postgres"));
    let message = error.to_string();
    assert!(
        message.contains("sqlite:") && message.contains("mysql:"),
        "{message}"
    );
    assert!(!message.contains("secret"));
}

#[tokio::test]
async fn a_sqlite_file_in_a_missing_directory_is_reported_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite:{}",
        dir.path().join("no/such/dir/store.db").display()
    );
    let error = open(&url.into(), &quick()).await.unwrap_err();
    assert!(matches!(error, StoreError::Unreachable { .. }), "{error:?}");
}

#[tokio::test]
async fn a_refused_connection_is_reported_unreachable_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    let url = DatabaseUrl::new("mysql://someone:hunter2@127.0.0.1:1/wikiscriptsync");
    let error = open(&url, &quick()).await.unwrap_err();
    assert!(matches!(error, StoreError::Unreachable { .. }), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[tokio::test]
async fn a_silent_host_times_out_as_unreachable_within_the_acquire_timeout() {
    // A local server that accepts the connection and never says a word: MariaDB speaks first,
    // so the client waits for a greeting until its timeout (a TEST-NET address may fail fast
    // instead, which would not exercise the timeout).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted_tx, accepted) = tokio::sync::oneshot::channel();
    let silent = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept the client");
        let _ = accepted_tx.send(());
        // Hold the connection open, unanswered, until the test ends.
        std::future::pending::<()>().await;
        drop(stream);
    });
    let url = DatabaseUrl::new(format!("mariadb://u:silent-hunter3@127.0.0.1:{port}/db"));
    let error = open(&url, &quick()).await.unwrap_err();
    accepted
        .await
        .expect("the client connected to the silent server");
    silent.abort();
    let StoreError::Unreachable { target, detail } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        detail,
        &format!("no answer within {:?}", quick().acquire_timeout)
    );
    assert!(target.contains(&format!("127.0.0.1:{port}")), "{target}");
    assert!(
        !format!("{error} {error:?}").contains("silent-hunter3"),
        "{error:?}"
    );
}

#[tokio::test]
async fn invalid_pool_settings_are_refused_before_connecting() {
    let settings = StoreSettings {
        max_connections: 0,
        ..quick()
    };
    let error = open(&"sqlite::memory:".into(), &settings)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Config(_)), "{error:?}");
}

#[tokio::test]
async fn a_wrong_password_is_reported_as_access_denied_without_the_password() {
    let Some(server) = common::mariadb_server() else {
        return;
    };
    let user = format!("wss_pw_{}", std::process::id());
    let mut admin = sqlx::MySqlConnection::connect(&server).await.unwrap();
    for statement in [
        format!("DROP USER IF EXISTS '{user}'@'%'"),
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'correct-horse'"),
    ] {
        sqlx::query(&statement).execute(&mut admin).await.unwrap();
    }
    let mut url = Url::parse(&server).unwrap();
    url.set_username(&user).unwrap();
    url.set_password(Some("battery-staple")).unwrap();
    url.set_path("mysql");
    let error = open(&url.to_string().into(), &quick()).await.unwrap_err();
    sqlx::query(&format!("DROP USER IF EXISTS '{user}'@'%'"))
        .execute(&mut admin)
        .await
        .unwrap();
    assert!(
        matches!(error, StoreError::AccessDenied { .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("TOOL_TOOLSDB_USER"),
        "says what to check: {shown}"
    );
    assert!(!shown.contains("battery-staple"), "{shown}");
}

#[tokio::test]
async fn a_missing_database_is_reported_with_how_to_create_it() {
    let Some(server) = common::mariadb_server() else {
        return;
    };
    let mut url = Url::parse(&server).unwrap();
    url.set_path("wss_no_such_database");
    let error = open(&url.to_string().into(), &quick()).await.unwrap_err();
    assert!(
        matches!(error, StoreError::DatabaseMissing { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("CREATE DATABASE"), "{error}");
}

#[tokio::test]
async fn error_messages_read_well() {
    let refused = open(&"mysql://u:pw@127.0.0.1:1/wss".into(), &quick())
        .await
        .unwrap_err();
    let scheme = open(&"postgres://h/d".into(), &quick()).await.unwrap_err();
    println!(
        "{refused}\n{scheme}\n{}",
        StoreError::SchemaNewer {
            applied: 2,
            known: 1
        }
    );
    assert!(
        refused
            .to_string()
            .starts_with("cannot reach the database at mysql://u:REDACTED@127.0.0.1:1/wss")
    );
}
