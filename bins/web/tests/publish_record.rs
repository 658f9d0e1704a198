//! A publish whose record cannot be written (the database refuses the publish-log row after
//! the edit): the result pages say that the edit was made but is not on record, and what to
//! do, never a plain success — for one page and for "publish to all".

mod common;

use axum::http::StatusCode;
use sqlx::Connection as _;
use sqlx::sqlite::SqliteConnection;

use common::*;

/// Makes the test's SQLite file refuse every change to an existing publish-log row, so the
/// row written ahead of an edit cannot be settled after it.
async fn refuse_log_updates(app: &TestApp) {
    let url = format!(
        "sqlite://{}",
        app.dir.path().join("wikiscriptsync.sqlite3").display()
    );
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER fail_log_updates BEFORE UPDATE ON publish_log \
         BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

/// Adds the repository, watches the script, maps it to `PAGE` (create allowed) and saves the
/// BotPassword, all through the forms. Returns (repository id, file id, mapping id).
async fn mapped(app: &TestApp, alice: &mut Agent) -> (i64, i64, i64) {
    let url = app.github.repo_url(REPO);
    let repo_page = app.add_repository(alice, &url).await;
    app.post(
        alice,
        &format!("{repo_page}/watch"),
        &[("path", SCRIPT_PATH)],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let user = app.user("alice").await;
    let repository = app
        .store
        .list_repositories(user.id)
        .await
        .unwrap()
        .remove(0);
    let file = app
        .store
        .list_watched_files(user.id, repository.id)
        .await
        .unwrap()
        .remove(0);
    let wiki = app.wiki_input();
    app.post(
        alice,
        &format!("/files/{}/mappings", file.id),
        &[
            ("wiki", &wiki),
            ("title", PAGE),
            ("publish_enabled", "on"),
            ("allow_create", "on"),
        ],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    app.post(
        alice,
        "/credentials",
        &[
            ("wiki", &wiki),
            ("bot_username", BOT_LOGIN),
            ("password", BOT_PASSWORD),
        ],
    )
    .await
    .expect(StatusCode::OK);
    let mapping = app.store.list_mappings(user.id, file.id).await.unwrap()[0].id;
    (repository.id.0, file.id.0, mapping.0)
}

/// Asserts that `html` says the edit is not on record, why, and what to do.
fn says_not_recorded(html: &str) {
    assert!(
        html.contains("this attempt could not be recorded completely"),
        "{html}"
    );
    assert!(html.contains("disk I/O error (injected)"), "{html}");
    assert!(
        html.contains("history on the wiki before publishing again"),
        "{html}"
    );
}

#[tokio::test]
async fn a_publish_that_could_not_be_recorded_is_not_shown_as_a_plain_success() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let (repository, file, mapping) = mapped(&app, &mut alice).await;
    refuse_log_updates(&app).await;

    let page = app
        .post(&mut alice, &format!("/mappings/{mapping}/publish"), &[])
        .await;
    page.expect(StatusCode::OK);
    let body = &page.body;
    // The edit landed: the page says so, with the revision and the diff link ...
    assert_eq!(app.wiki.page_text(PAGE).unwrap(), SCRIPT.trim_end());
    assert!(body.contains("Created the page at revision"), "{body}");
    // ... but as a warning that is announced, never as a success.
    assert!(!body.contains("cdx-message--success"), "{body}");
    let warning = &body[body.find("id=\"unrecorded\"").expect("the warning")..];
    assert!(
        body[..body.find("id=\"unrecorded\"").unwrap()].ends_with("role=\"alert\" "),
        "{body}"
    );
    says_not_recorded(warning);

    // Publishing to all pages says it in the page's row.
    app.github
        .commit(REPO, "main", [(SCRIPT_PATH, Some("// v2\n"))]);
    app.post(
        &mut alice,
        &format!("/repositories/{repository}/check"),
        &[],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let all = app
        .post(&mut alice, &format!("/files/{file}/publish"), &[])
        .await;
    all.expect(StatusCode::OK);
    let row_start = all
        .body
        .find(&format!("<tr id=\"result-{mapping}\">"))
        .expect("the row");
    let row = &all.body[row_start..row_start + all.body[row_start..].find("</tr>").unwrap()];
    assert!(row.contains("done, but not recorded"), "{row}");
    assert!(!row.contains("status-ok"), "{row}");
    says_not_recorded(row);
}
