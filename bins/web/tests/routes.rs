//! Handler tests for every route: logged out (sent to the login page), logged in as the owner,
//! logged in as another user (404), and without the form nonce or from another site (403).
//! Every response in this file is checked for the BotPassword by the harness.

mod common;

use axum::http::StatusCode;
use chrono::Utc;

use common::*;
use wikiscriptsync_core::monitor::{PageCheckSettings, PageWatcher};
use wikiscriptsync_core::mw::testkit::FakeAccount;
use wikiscriptsync_core::store::{
    ClaimRequest, FileCheckStatus, Forge, MappingId, MappingOptions, NewMapping, NewRepository,
    PageCheck, PageCheckStatus, PageRequest, PublishLogFilter, PublishedState, RepositoryId, Store,
    UserId, WatchedFileId,
};

/// Objects owned by one user, made directly in the store.
struct Owned {
    repository: i64,
    file: i64,
    mapping: i64,
    monitor: i64,
    wiki: String,
}

async fn seed(app: &TestApp, username: &str) -> Owned {
    let store = &app.store;
    let now = Utc::now();
    let user = app.user(username).await;
    let repository = store
        .add_repository(
            user.id,
            &NewRepository {
                forge: Forge::GitHub,
                host: "github.com".into(),
                full_name: REPO.into(),
                url: app.github.repo_url(REPO),
                branch: "main".into(),
            },
            now,
        )
        .await
        .unwrap();
    let file = store
        .watch_file(user.id, repository.id, SCRIPT_PATH, now)
        .await
        .unwrap();
    let wiki = app.wiki.wiki_url().key();
    let mapping = store
        .add_mapping(
            user.id,
            &NewMapping {
                watched_file_id: file.id,
                wiki: wiki.clone(),
                page_title: PAGE.into(),
                options: MappingOptions::default(),
            },
            now,
        )
        .await
        .unwrap();
    let monitor = store
        .add_page_monitor(user.id, &wiki, "MediaWiki:Common.js", now)
        .await
        .unwrap();
    store
        .set_credential(user.id, &wiki, BOT_LOGIN, "not-a-real-ciphertext", now)
        .await
        .unwrap();
    Owned {
        repository: repository.id.0,
        file: file.id.0,
        mapping: mapping.id.0,
        monitor: monitor.id.0,
        wiki,
    }
}

/// The outcomes in a user's publish log, newest first.
async fn logged_outcomes(store: &dyn Store, user: UserId) -> Vec<String> {
    store
        .publish_log(user, PublishLogFilter::All, PageRequest::first(50))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|row| format!("{:?}", row.entry.outcome))
        .collect()
}

/// Every GET route that shows a user's data.
fn get_routes(o: &Owned) -> Vec<String> {
    vec![
        "/".into(),
        "/repositories/new".into(),
        format!("/repositories/{}", o.repository),
        format!("/files/{}", o.file),
        format!("/files/{}/publish", o.file),
        format!("/mappings/{}/publish", o.mapping),
        "/publishes".into(),
        format!("/publishes?mapping={}", o.mapping),
        "/pages".into(),
        format!("/pages/{}", o.monitor),
        "/credentials".into(),
        "/notifications".into(),
        "/admin/metrics".into(),
    ]
}

/// Every POST route that acts on one of the user's objects, with a plausible form.
fn object_posts(o: &Owned) -> Vec<(String, Vec<(&'static str, String)>)> {
    vec![
        (
            format!("/repositories/{}/watch", o.repository),
            vec![("path", "src/gadget.css".into())],
        ),
        (format!("/repositories/{}/check", o.repository), vec![]),
        (
            format!("/files/{}/mappings", o.file),
            vec![
                ("wiki", o.wiki.clone()),
                ("title", "User:Alice/x.js".into()),
            ],
        ),
        (
            format!("/mappings/{}/options", o.mapping),
            vec![("publish_enabled", "on".into())],
        ),
        (format!("/mappings/{}/publish", o.mapping), vec![]),
        (
            format!("/files/{}/publish", o.file),
            vec![("overwrite", "on".into())],
        ),
        (format!("/mappings/{}/delete", o.mapping), vec![]),
        (format!("/files/{}/unwatch", o.file), vec![]),
        (format!("/pages/{}/delete", o.monitor), vec![]),
        ("/credentials/verify".into(), vec![("wiki", o.wiki.clone())]),
        ("/credentials/delete".into(), vec![("wiki", o.wiki.clone())]),
        (format!("/repositories/{}/delete", o.repository), vec![]),
    ]
}

/// POST routes that create the user's own objects.
fn create_posts(o: &Owned) -> Vec<(String, Vec<(&'static str, String)>)> {
    vec![
        (
            "/repositories/new".into(),
            vec![
                ("url", "https://github.com/alice/gadgets".into()),
                ("branch", "main".into()),
            ],
        ),
        (
            "/pages".into(),
            vec![
                ("wiki", o.wiki.clone()),
                ("title", "User:Alice/other.js".into()),
            ],
        ),
        (
            "/credentials".into(),
            vec![
                ("wiki", o.wiki.clone()),
                ("bot_username", BOT_LOGIN.into()),
                ("password", BOT_PASSWORD.into()),
            ],
        ),
        ("/notifications".into(), vec![("digest", "on".into())]),
        ("/logout".into(), vec![]),
    ]
}

/// The refusal shown next to the input `field` (its `Field` name), if any.
fn field_message<'a>(body: &'a str, field: &str) -> Option<&'a str> {
    let at = body.find(&format!("id=\"{field}-error\""))?;
    let content = "cdx-message__content\">";
    let start = at + body[at..].find(content)? + content.len();
    let end = start + body[start..].find("</div>")?;
    Some(&body[start..end])
}

fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn logged_out_visitors_are_sent_to_the_login_page_on_every_route() {
    let app = TestApp::start().await;
    app.login("alice").await;
    let owned = seed(&app, "alice").await;
    let mut visitor = app.visitor().await;
    for path in get_routes(&owned) {
        let response = app.get(&mut Agent::default(), &path).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(response.location(), Some("/login"), "GET {path}");
    }
    // With a valid anonymous session and nonce, so that only the login check can refuse.
    for (path, fields) in object_posts(&owned)
        .into_iter()
        .chain(create_posts(&owned))
        .filter(|(p, _)| p != "/logout")
    {
        let response = app.post(&mut visitor, &path, &pairs(&fields)).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "POST {path}");
        assert_eq!(response.location(), Some("/login"), "POST {path}");
    }
    // Nothing was changed for alice.
    let user = app.user("alice").await;
    assert_eq!(app.store.list_repositories(user.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn another_users_ids_get_404_on_every_route() {
    let app = TestApp::start().await;
    app.login("alice").await;
    let owned = seed(&app, "alice").await;
    let mut bob = app.login("bob").await;
    for path in get_routes(&owned)
        .into_iter()
        .filter(|p| p.contains(|c: char| c.is_ascii_digit()))
    {
        let response = app.get(&mut bob, &path).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "GET {path}: {}",
            response.body
        );
    }
    for (path, fields) in object_posts(&owned) {
        let response = app.post(&mut bob, &path, &pairs(&fields)).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "POST {path}: {}",
            response.body
        );
    }
    // Bob is not an admin: the metrics page does not exist for him.
    app.get(&mut bob, "/admin/metrics")
        .await
        .expect(StatusCode::NOT_FOUND);
    // Alice's objects are all still there.
    let store = &app.store;
    let alice = app.user("alice").await;
    assert_eq!(store.list_repositories(alice.id).await.unwrap().len(), 1);
    assert_eq!(store.list_page_monitors(alice.id).await.unwrap().len(), 1);
    assert_eq!(store.list_credentials(alice.id).await.unwrap().len(), 1);
    assert!(
        store
            .mapping(
                alice.id,
                wikiscriptsync_core::store::MappingId(owned.mapping)
            )
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn every_post_without_the_form_nonce_or_from_another_site_is_refused() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let owned = seed(&app, "alice").await;
    let nonce = alice.nonce.clone().unwrap();
    let routes: Vec<_> = object_posts(&owned)
        .into_iter()
        .chain(create_posts(&owned))
        .chain([(
            "/login/dev".to_owned(),
            vec![("username", "mallory".to_owned())],
        )])
        .collect();
    for (path, fields) in &routes {
        let fields = pairs(fields);
        // No nonce at all.
        let response = app.post_raw(&mut alice, path, &fields, &[]).await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "POST {path} without nonce"
        );
        // A wrong nonce.
        let mut wrong = fields.clone();
        wrong.push(("csrf", "not-the-nonce"));
        let response = app.post_raw(&mut alice, path, &wrong, &[]).await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "POST {path} wrong nonce"
        );
        // The right nonce, but from another site (tower-http's CsrfLayer).
        let mut right = fields.clone();
        right.push(("csrf", nonce.as_str()));
        let response = app
            .post_raw(
                &mut alice,
                path,
                &right,
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://evil.example"),
                ],
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "POST {path} cross-site"
        );
    }
    // Nothing changed: still one repository, one monitor, one credential, and still logged in.
    let store = &app.store;
    let user = app.user("alice").await;
    assert_eq!(store.list_repositories(user.id).await.unwrap().len(), 1);
    assert_eq!(store.list_page_monitors(user.id).await.unwrap().len(), 1);
    assert!(
        store
            .user_by_central_id("dev:mallory")
            .await
            .unwrap()
            .is_none()
    );
    app.get(&mut alice, "/").await.expect(StatusCode::OK);
}

#[tokio::test]
async fn the_owner_adds_a_repository_watches_maps_saves_a_botpassword_previews_and_publishes() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let wiki = app.wiki_input();

    // Add a repository: the default branch is offered.
    let url = app.github.repo_url(REPO);
    let form = app
        .get(&mut alice, &format!("/repositories/new?url={url}"))
        .await;
    form.expect(StatusCode::OK);
    assert!(
        form.body.contains("default branch is <code>main</code>"),
        "{}",
        form.body
    );
    let repo_page = app.add_repository(&mut alice, &url).await;
    // The same repository twice is refused with a message.
    app.post(
        &mut alice,
        "/repositories/new",
        &[("url", &url), ("branch", "main")],
    )
    .await
    .expect(StatusCode::BAD_REQUEST);

    // The publishable files are listed (one head and one tree request), README.md is not.
    app.github.reset_stats();
    let files = app.get(&mut alice, &repo_page).await;
    files.expect(StatusCode::OK);
    assert!(files.body.contains(SCRIPT_PATH) && files.body.contains("src/gadget.css"));
    assert!(!files.body.contains("README.md"));
    assert_eq!(app.github.stats().requests, 2, "{:?}", app.github.stats());

    // Watch the script: the repository is checked at once.
    app.post(
        &mut alice,
        &format!("{repo_page}/watch"),
        &[("path", SCRIPT_PATH)],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let store = &app.store;
    let user = app.user("alice").await;
    let repository = store.list_repositories(user.id).await.unwrap().remove(0);
    assert!(repository.head_sha.is_some(), "checked after watching");
    let file = store
        .list_watched_files(user.id, repository.id)
        .await
        .unwrap()
        .remove(0);
    assert!(file.last_blob_sha.is_some());

    // Map it; a bad title is refused with the reason.
    let bad = app
        .post(
            &mut alice,
            &format!("/files/{}/mappings", file.id),
            &[
                ("wiki", &wiki),
                ("title", "User:Alice/<bad>.js"),
                ("publish_enabled", "on"),
            ],
        )
        .await;
    bad.expect(StatusCode::BAD_REQUEST);
    let off_list = app
        .post(
            &mut alice,
            &format!("/files/{}/mappings", file.id),
            &[
                ("wiki", "https://wiki.evil.example/w/api.php"),
                ("title", PAGE),
            ],
        )
        .await;
    off_list.expect(StatusCode::BAD_REQUEST);
    app.post(
        &mut alice,
        &format!("/files/{}/mappings", file.id),
        &[
            ("wiki", &wiki),
            ("title", PAGE),
            ("publish_enabled", "on"),
            ("allow_create", "on"),
            ("monitor", "on"),
        ],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let monitored = store.list_page_monitors(user.id).await.unwrap();
    assert_eq!(
        monitored
            .iter()
            .map(|m| m.page_title.as_str())
            .collect::<Vec<_>>(),
        [PAGE],
        "the mapped page is monitored for on-wiki edits"
    );
    let mapping = store
        .list_mappings(user.id, file.id)
        .await
        .unwrap()
        .remove(0);
    assert!(mapping.options.allow_create && mapping.options.publish_enabled);
    assert!(!mapping.options.add_banner);

    // Previewing without a BotPassword says what to do.
    let preview = app
        .get(&mut alice, &format!("/mappings/{}/publish", mapping.id))
        .await;
    preview.expect(StatusCode::OK);
    assert!(
        preview.body.contains("no BotPassword is stored"),
        "{}",
        preview.body
    );
    // A GET has no side effects: even a failed preview leaves no publish-log row.
    assert!(logged_outcomes(store.as_ref(), user.id).await.is_empty());

    // A wrong BotPassword is refused and not saved.
    let wrong = app
        .post(
            &mut alice,
            "/credentials",
            &[
                ("wiki", &wiki),
                ("bot_username", BOT_LOGIN),
                ("password", "wrong-password"),
            ],
        )
        .await;
    wrong.expect(StatusCode::BAD_REQUEST);
    assert!(store.list_credentials(user.id).await.unwrap().is_empty());

    // The right one is checked, saved (encrypted) and its rights reported.
    let saved = app
        .post(
            &mut alice,
            "/credentials",
            &[
                ("wiki", &wiki),
                ("bot_username", BOT_LOGIN),
                ("password", BOT_PASSWORD),
            ],
        )
        .await;
    saved.expect(StatusCode::OK);
    assert!(
        saved.body.contains("logging in with it worked"),
        "{}",
        saved.body
    );
    assert!(
        saved.body.contains("<span class=\"status-ok\">yes</span>"),
        "{}",
        saved.body
    );
    // editsitejs is more than a user script needs.
    assert!(
        saved.body.contains("grants your mapped pages do not need"),
        "{}",
        saved.body
    );
    assert!(saved.body.contains("editsiteconfig"), "{}", saved.body);
    let stored = store
        .credential(user.id, &mapping.wiki)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.ciphertext.contains(BOT_PASSWORD));
    let list = app.get(&mut alice, "/credentials").await;
    assert!(list.body.contains(BOT_LOGIN));
    // The wiki is shown by name and host; its stored key only travels in the forms.
    let name = format!("FakeWiki ({})", app.wiki.host());
    assert!(
        list.body.contains(&format!("<td>{name}</td>")),
        "{}",
        list.body
    );

    // Preview: the page will be created with the file's text; nothing is edited.
    let edits_before = app.wiki.requests_for("edit");
    let preview = app
        .get(&mut alice, &format!("/mappings/{}/publish", mapping.id))
        .await;
    preview.expect(StatusCode::OK);
    assert!(
        preview.body.contains("The page will be created"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("mw.hook(&#39;wikipage.content&#39;)")
            || preview
                .body
                .contains("mw.hook(&#x27;wikipage.content&#x27;)"),
        "{}",
        preview.body
    );
    assert_eq!(app.wiki.requests_for("edit"), edits_before);
    assert!(app.wiki.page_text(PAGE).is_none());
    assert!(
        logged_outcomes(store.as_ref(), user.id).await.is_empty(),
        "a preview is a read"
    );

    // Publish: the page has the file, and the result links to the diff.
    let result = app
        .post(
            &mut alice,
            &format!("/mappings/{}/publish", mapping.id),
            &[],
        )
        .await;
    result.expect(StatusCode::OK);
    assert!(
        result.body.contains("Created the page at revision"),
        "{}",
        result.body
    );
    assert!(result.body.contains("id=\"diff-link\""), "{}", result.body);
    assert_eq!(
        app.wiki.page_text(PAGE).as_deref().map(str::trim_end),
        Some(SCRIPT.trim_end())
    );

    // Someone edits the page on-wiki: the preview shows that change and the publish without
    // "overwrite" is refused.
    app.wiki.edit_as(PAGE, "// hand edit\n", "Bob", "fix");
    // The page watcher sees that edit (our own publish was not reported as one), and the
    // dashboard calls the page drifted.
    let watcher = PageWatcher::new(
        store.clone(),
        app.state.app.wiki().clone(),
        PageCheckSettings::new("test-runner"),
    );
    let report = watcher.run().await.unwrap();
    assert_eq!((report.checked, report.changed), (1, 1), "{report:?}");
    let dashboard = app.get(&mut alice, "/").await;
    assert!(
        dashboard
            .body
            .contains("changed on-wiki since the last publish"),
        "{}",
        dashboard.body
    );
    let preview = app
        .get(&mut alice, &format!("/mappings/{}/publish", mapping.id))
        .await;
    assert!(
        preview
            .body
            .contains("changed on-wiki since your last publish"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("hand edit"), "{}", preview.body);
    assert!(preview.body.contains("name=\"overwrite\""));
    assert_eq!(
        logged_outcomes(store.as_ref(), user.id).await,
        ["Published"],
        "the drift preview adds no row (and claims no overwrite)"
    );
    let refused = app
        .post(
            &mut alice,
            &format!("/mappings/{}/publish", mapping.id),
            &[],
        )
        .await;
    assert!(refused.body.contains("Refused"), "{}", refused.body);
    assert_eq!(
        app.wiki.page_text(PAGE).as_deref().map(str::trim_end),
        Some("// hand edit")
    );
    let overwritten = app
        .post(
            &mut alice,
            &format!("/mappings/{}/publish", mapping.id),
            &[("overwrite", "on")],
        )
        .await;
    assert!(
        overwritten
            .body
            .contains("Published: the page is now at revision"),
        "{}",
        overwritten.body
    );
    assert_eq!(
        app.wiki.page_text(PAGE).as_deref().map(str::trim_end),
        Some(SCRIPT.trim_end())
    );

    // The publish log shows it all, per mapping too; the dashboard says in sync.
    let log = app
        .get(&mut alice, &format!("/publishes?mapping={}", mapping.id))
        .await;
    log.expect(StatusCode::OK);
    assert!(
        log.body.contains("published") && log.body.contains("refused: changed on-wiki"),
        "{}",
        log.body
    );
    let dashboard = app.get(&mut alice, "/").await;
    assert!(
        dashboard.body.contains("1 of 1 pages in sync"),
        "{}",
        dashboard.body
    );

    // Options, monitors, notifications, metrics, then removal.
    app.post(
        &mut alice,
        &format!("/mappings/{}/options", mapping.id),
        &[("add_banner", "on")],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let mapping_now = store.mapping(user.id, mapping.id).await.unwrap().unwrap();
    assert!(!mapping_now.options.publish_enabled && mapping_now.options.add_banner);
    app.post(
        &mut alice,
        "/pages",
        &[("wiki", &wiki), ("title", "MediaWiki:Common.js")],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let monitors = store.list_page_monitors(user.id).await.unwrap();
    assert_eq!(monitors.len(), 2);
    app.get(&mut alice, &format!("/pages/{}", monitors[0].id))
        .await
        .expect(StatusCode::OK);
    app.post(
        &mut alice,
        "/notifications",
        &[
            ("home_wiki", &wiki),
            ("digest", "on"),
            ("kind", "file_changed"),
        ],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let preferences = store.notification_preferences(user.id).await.unwrap();
    assert!(preferences.digest);
    assert!(preferences.is_enabled("file_changed") && !preferences.is_enabled("page_changed"));
    let metrics = app.get(&mut alice, "/admin/metrics").await;
    metrics.expect(StatusCode::OK);
    assert!(metrics.body.contains("publish"), "{}", metrics.body);

    // "Check now" after a new commit records the change at once (the repository is not due
    // for another hour), with one head probe and one tree request.
    let logged = || store.file_check_log(user.id, file.id, PageRequest::first(100));
    let before = logged().await.unwrap().items.len();
    app.github
        .commit(REPO, "main", [(SCRIPT_PATH, Some("// gadget, edited\n"))]);
    app.github.reset_stats();
    app.post(&mut alice, &format!("{repo_page}/check"), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(app.github.stats().requests, 2, "{:?}", app.github.stats());
    let log = logged().await.unwrap().items;
    assert_eq!(log.len(), before + 1, "one new check log row");
    assert_eq!(log[0].status, FileCheckStatus::Changed, "{:?}", log[0]);
    app.post(
        &mut alice,
        "/credentials/delete",
        &[("wiki", &mapping.wiki)],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    assert!(store.list_credentials(user.id).await.unwrap().is_empty());
    app.post(
        &mut alice,
        &format!("/pages/{}/delete", monitors[0].id),
        &[],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    app.post(&mut alice, &format!("/mappings/{}/delete", mapping.id), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    app.post(&mut alice, &format!("/files/{}/unwatch", file.id), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    app.post(&mut alice, &format!("{repo_page}/delete"), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(store.list_repositories(user.id).await.unwrap().is_empty());

    // Logout ends the session.
    app.post(&mut alice, "/logout", &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(app.get(&mut alice, "/").await.location(), Some("/login"));
    assert!(app.checked.load(std::sync::atomic::Ordering::Relaxed) > 25);
}

/// With more mappings than the dashboard lists, it shows the counts, the most urgent items
/// first (a page edited on-wiki since our publish), says how many it left out, and the
/// repository's page lists every file and page with its state.
#[tokio::test]
async fn the_dashboard_lists_what_needs_attention_and_the_repository_page_lists_everything() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let owned = seed(&app, "alice").await;
    let store = &app.store;
    let now = Utc::now();
    let user = app.user("alice").await;
    let repository = RepositoryId(owned.repository);
    for n in 0..29 {
        let file = store
            .watch_file(user.id, repository, &format!("src/more-{n:02}.js"), now)
            .await
            .unwrap();
        store
            .add_mapping(
                user.id,
                &NewMapping {
                    watched_file_id: file.id,
                    wiki: owned.wiki.clone(),
                    page_title: format!("User:Alice/more-{n:02}.js"),
                    options: MappingOptions::default(),
                },
                now,
            )
            .await
            .unwrap();
    }
    // The seeded mapping was published at r1, and then its page monitor saw r2.
    store
        .record_published(
            user.id,
            MappingId(owned.mapping),
            &PublishedState {
                blob_sha: "b".repeat(40),
                commit_sha: "c".repeat(40),
                revid: 1,
                at: now,
            },
        )
        .await
        .unwrap();
    let edited = store
        .add_page_monitor(user.id, &owned.wiki, PAGE, now)
        .await
        .unwrap();
    let claimed = store
        .claim_due_pages(&ClaimRequest {
            owner: "test".into(),
            now: now + chrono::Duration::seconds(1),
            lease: chrono::Duration::minutes(1),
            limit: 10,
        })
        .await
        .unwrap();
    assert!(claimed.iter().any(|p| p.id == edited.id));
    let checks: Vec<PageCheck> = claimed
        .iter()
        .map(|p| PageCheck {
            page_monitor_id: p.id,
            status: PageCheckStatus::Changed,
            new_revid: Some(2),
            detail: None,
            next_check_at: now + chrono::Duration::minutes(30),
        })
        .collect();
    store
        .complete_page_checks("test", now, &checks)
        .await
        .unwrap();

    let dashboard = app.get(&mut alice, "/").await;
    dashboard.expect(StatusCode::OK);
    let body = &dashboard.body;
    assert!(body.contains("0 of 30 pages in sync"), "{body}");
    assert!(body.contains("30 need attention"), "{body}");
    assert!(body.contains("Showing the 25 most urgent of 30"), "{body}");
    assert_eq!(body.matches("Preview and publish").count(), 25, "{body}");
    let urgent = body
        .find("changed on-wiki since the last publish")
        .expect("the edited page is listed");
    let routine = body.find("never published").expect("the rest too");
    assert!(urgent < routine, "the page edited on-wiki comes first");

    let page = app
        .get(&mut alice, &format!("/repositories/{}", owned.repository))
        .await;
    page.expect(StatusCode::OK);
    for n in 0..29 {
        assert!(
            page.body.contains(&format!("User:Alice/more-{n:02}.js")),
            "{}",
            page.body
        );
    }
    assert_eq!(page.body.matches("never published").count(), 29);
    assert_eq!(
        page.body
            .matches("changed on-wiki since the last publish")
            .count(),
        1
    );
}

/// Every form refused for its input comes back filled in as sent, saying what was wrong,
/// with 400, and nothing is stored; the BotPassword is the one thing never sent back.
#[tokio::test]
async fn a_refused_form_comes_back_filled_in_as_sent_with_the_reason() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let owned = seed(&app, "alice").await;
    let store = &app.store;
    let user = app.user("alice").await;

    let mapping = app
        .post(
            &mut alice,
            &format!("/files/{}/mappings", owned.file),
            &[
                ("wiki", &owned.wiki),
                ("title", "User:Alice/bad|title.js"),
                ("add_banner", "on"),
            ],
        )
        .await;
    mapping.expect(StatusCode::BAD_REQUEST);
    let body = &mapping.body;
    assert!(
        body.contains("The title `User:Alice/bad|title.js`"),
        "{body}"
    );
    assert!(
        field_message(body, "title").is_some_and(|m| m.starts_with("The title `")),
        "the message sits at the title input: {body}"
    );
    assert!(body.contains("aria-describedby=\"title-error\""), "{body}");
    assert!(body.contains("value=\"User:Alice/bad|title.js\""), "{body}");
    assert!(
        body.contains(&format!("value=\"{}\"", owned.wiki)),
        "{body}"
    );
    assert!(
        body.contains("name=\"add_banner\" value=\"on\" checked"),
        "ticks are kept: {body}"
    );
    assert!(
        body.contains("name=\"publish_enabled\" value=\"on\"> Publishing enabled"),
        "an unticked box stays unticked: {body}"
    );
    assert_eq!(
        store
            .list_mappings(user.id, WatchedFileId(owned.file))
            .await
            .unwrap()
            .len(),
        1
    );

    let monitor = app
        .post(
            &mut alice,
            "/pages",
            &[("wiki", "wiki.evil.example"), ("title", "Main Page")],
        )
        .await;
    monitor.expect(StatusCode::BAD_REQUEST);
    assert!(monitor.body.contains("The wiki `wiki.evil.example`"));
    assert!(
        field_message(&monitor.body, "wiki").is_some(),
        "{}",
        monitor.body
    );
    assert!(monitor.body.contains("value=\"wiki.evil.example\""));
    assert!(monitor.body.contains("value=\"Main Page\""));
    assert_eq!(store.list_page_monitors(user.id).await.unwrap().len(), 1);

    let repository = app
        .post(
            &mut alice,
            "/repositories/new",
            &[("url", "https://example.org/owner/repo"), ("branch", "dev")],
        )
        .await;
    repository.expect(StatusCode::BAD_REQUEST);
    assert!(
        repository
            .body
            .contains("value=\"https://example.org/owner/repo\""),
        "{}",
        repository.body
    );
    assert!(repository.body.contains("cdx-message--error"));
    assert_eq!(store.list_repositories(user.id).await.unwrap().len(), 1);

    let preferences = app
        .post(
            &mut alice,
            "/notifications",
            &[("home_wiki", "wiki.evil.example"), ("digest", "on")],
        )
        .await;
    preferences.expect(StatusCode::BAD_REQUEST);
    // The refusal sits at the home wiki input (core words it "The wiki `...`" for every wiki
    // input; the field it is about says which).
    assert!(
        field_message(&preferences.body, "home_wiki")
            .is_some_and(|m| m.starts_with("The wiki `wiki.evil.example`")),
        "{}",
        preferences.body
    );
    assert!(preferences.body.contains("value=\"wiki.evil.example\""));
    assert!(
        preferences
            .body
            .contains("name=\"digest\" value=\"on\" checked")
    );
    assert!(
        !store
            .notification_preferences(user.id)
            .await
            .unwrap()
            .digest
    );

    let credential = app
        .post(
            &mut alice,
            "/credentials",
            &[
                ("wiki", &owned.wiki),
                ("bot_username", "NoAtSign"),
                ("password", "typed-secret-password"),
            ],
        )
        .await;
    credential.expect(StatusCode::BAD_REQUEST);
    assert!(credential.body.contains("value=\"NoAtSign\""));
    assert!(
        field_message(&credential.body, "bot_user").is_some_and(|m| m.contains("YourName@BotName")),
        "{}",
        credential.body
    );
    assert!(credential.body.contains("type it again"));
    assert!(!credential.body.contains("typed-secret-password"));

    let nothing_ticked = app
        .post(
            &mut alice,
            &format!("/repositories/{}/watch", owned.repository),
            &[],
        )
        .await;
    nothing_ticked.expect(StatusCode::BAD_REQUEST);
    assert!(
        nothing_ticked
            .body
            .contains("Tick at least one file to watch.")
    );
    assert_eq!(
        field_message(&nothing_ticked.body, "paths"),
        Some("Tick at least one file to watch.")
    );
    assert!(nothing_ticked.body.contains("Files to watch"));
}

/// "Check now" while the scheduled job holds the repository's lease checks nothing and says
/// so; once the lease is gone, it checks and says what it found.
/// A title with a trailing line break is refused with the reason, as on the command line: the
/// form does not trim it away and store the rest.
#[tokio::test]
async fn a_title_with_a_trailing_line_break_is_refused_not_trimmed() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let owned = seed(&app, "alice").await;
    let user = app.user("alice").await;
    let mapping = app
        .post(
            &mut alice,
            &format!("/files/{}/mappings", owned.file),
            &[("wiki", &owned.wiki), ("title", "User:Alice/other.js\n")],
        )
        .await;
    mapping.expect(StatusCode::BAD_REQUEST);
    assert!(
        field_message(&mapping.body, "title").is_some_and(|m| m.contains("line break")),
        "{}",
        mapping.body
    );
    assert_eq!(
        app.store
            .list_mappings(user.id, WatchedFileId(owned.file))
            .await
            .unwrap()
            .len(),
        1,
        "nothing new is stored"
    );
}

#[tokio::test]
async fn check_now_says_when_the_scheduled_check_is_busy_with_the_repository() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let owned = seed(&app, "alice").await;
    let store = &app.store;
    let claimed = store
        .claim_due_repositories(&ClaimRequest {
            owner: "scheduled-job".into(),
            now: Utc::now(),
            lease: chrono::Duration::minutes(10),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    app.github.reset_stats();
    let busy = app
        .post(
            &mut alice,
            &format!("/repositories/{}/check", owned.repository),
            &[],
        )
        .await;
    busy.expect(StatusCode::SEE_OTHER);
    let location = busy.location().unwrap().to_owned();
    assert!(location.ends_with("?check=busy"), "{location}");
    assert_eq!(app.github.stats().requests, 0, "nothing was checked");
    let page = app.get(&mut alice, &location).await;
    assert!(
        page.body
            .contains("the scheduled check is checking this repository"),
        "{}",
        page.body
    );

    // The job finishes (gives the claim back): now the check runs.
    let ids: Vec<_> = claimed.iter().map(|c| c.repository.id).collect();
    store
        .release_repository_claims("scheduled-job", &ids)
        .await
        .unwrap();
    let done = app
        .post(
            &mut alice,
            &format!("/repositories/{}/check", owned.repository),
            &[],
        )
        .await;
    let location = done.location().unwrap().to_owned();
    assert!(
        location.ends_with("?check=first"),
        "never checked before, so a first check: {location}"
    );
    let page = app.get(&mut alice, &location).await;
    assert!(page.body.contains("Checked just now"), "{}", page.body);
    // A made-up outcome in the URL shows nothing.
    let page = app
        .get(
            &mut alice,
            &format!("/repositories/{}?check=nonsense", owned.repository),
        )
        .await;
    assert!(!page.body.contains("check-notice"));
}

/// With the dashboard cache on, what another process writes (a scheduled check, here the
/// store written directly) shows once the entry expires, but the user's own change shows at
/// once.
#[tokio::test]
async fn the_cached_dashboard_shows_the_users_own_changes_at_once() {
    let mut app = TestApp::start().await;
    app.state.dashboards =
        std::sync::Arc::new(wikiscriptsync_web::dashboard_cache::DashboardCache::new(
            std::time::Duration::from_secs(600),
        ));
    app.router = wikiscriptsync_web::router(app.state.clone());
    // A wiki the fakes serve: a page to monitor is on a wiki the app can identify.
    let wiki = app.wiki.api_url();
    let mut alice = app.login("alice").await;
    let first = app.get(&mut alice, "/").await;
    assert!(first.body.contains("0 repositories"), "{}", first.body);
    // Written behind the web app's back: the cached dashboard does not know yet.
    seed(&app, "alice").await;
    let cached = app.get(&mut alice, "/").await;
    assert!(cached.body.contains("0 repositories"), "{}", cached.body);
    // Any change by the user drops the cache: now everything shows.
    app.post(
        &mut alice,
        "/pages",
        &[("wiki", wiki.as_str()), ("title", "MediaWiki:Vector.js")],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let fresh = app.get(&mut alice, "/").await;
    assert!(fresh.body.contains("1 repositories"), "{}", fresh.body);
    assert!(fresh.body.contains("2 monitored pages"), "{}", fresh.body);
    // Pages are shown on their wiki by name and host, not by API URL.
    let pages = app.get(&mut alice, "/pages").await;
    let shown = format!("<td>FakeWiki ({})</td>", app.wiki.host());
    assert!(pages.body.contains(&shown), "{}", pages.body);
    // Another user's change does not drop Alice's entry (and Bob sees his own data).
    let mut bob = app.login("bob").await;
    seed(&app, "bob").await;
    app.post(
        &mut bob,
        "/pages",
        &[("wiki", wiki.as_str()), ("title", "MediaWiki:Vector.js")],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let bobs = app.get(&mut bob, "/").await;
    assert!(bobs.body.contains("1 repositories"), "{}", bobs.body);
}

#[tokio::test]
async fn the_session_cookie_is_host_prefixed_secure_httponly_lax_and_expires() {
    let app = TestApp::start().await;
    let mut agent = Agent::default();
    let response = app.get(&mut agent, "/login").await;
    let cookie = response
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-session="), "{cookie}");
    for attribute in [
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    // The value is encrypted: the nonce is not readable in it.
    assert!(!cookie.contains(agent.nonce.as_deref().unwrap()));
    // A tampered cookie is no session at all.
    let mut tampered = agent.clone();
    tampered.cookie = Some(format!("{}A", agent.cookie.unwrap()));
    let response = app
        .post(&mut tampered, "/login/dev", &[("username", "x")])
        .await;
    response.expect(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_development_login_is_refused_in_production_mode() {
    let mut app = TestApp::start().await;
    let mut state = app.state.clone();
    state.mode = wikiscriptsync_web::Mode::Production;
    app.router = wikiscriptsync_web::router(state);
    let mut visitor = Agent::default();
    let page = app.get(&mut visitor, "/login").await;
    page.expect(StatusCode::OK);
    assert!(!page.body.contains("/login/dev"));
    assert!(page.body.contains("Login is not configured"));
    // Even with the session's nonce (taken from a development page), the form is gone.
    let mut dev_state = app.state.clone();
    dev_state.mode = wikiscriptsync_web::Mode::Development;
    let dev = wikiscriptsync_web::router(dev_state);
    let production = std::mem::replace(&mut app.router, dev);
    let mut visitor = app.visitor().await;
    app.router = production;
    app.post(&mut visitor, "/login/dev", &[("username", "alice")])
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let big = "x".repeat(200 * 1024);
    let response = app
        .post(&mut alice, "/pages", &[("wiki", &big), ("title", "T")])
        .await;
    response.expect(StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_publish_while_another_runs_says_busy_and_edits_nothing() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let owned = seed(&app, "alice").await;
    let store = &app.store;
    let user = app.user("alice").await;
    let lock = store
        .acquire_publish_task(user.id, Utc::now())
        .await
        .unwrap();
    assert!(matches!(
        lock,
        wikiscriptsync_core::store::PublishLock::Acquired { .. }
    ));
    let edits = app.wiki.requests_for("edit");
    let response = app
        .post(
            &mut alice,
            &format!("/mappings/{}/publish", owned.mapping),
            &[],
        )
        .await;
    response.expect(StatusCode::OK);
    assert!(response.body.contains("Busy: "), "{}", response.body);
    assert!(
        response
            .body
            .contains("another publish of yours is running"),
        "{}",
        response.body
    );
    assert_eq!(app.wiki.requests_for("edit"), edits);
    let logged = logged_outcomes(store.as_ref(), user.id).await;
    assert_eq!(logged, ["Busy"]);
    // A preview is a read: it takes no mutex, so a running publish does not make it busy, and
    // it adds no row.
    let preview = app
        .get(&mut alice, &format!("/mappings/{}/publish", owned.mapping))
        .await;
    preview.expect(StatusCode::OK);
    assert!(!preview.body.contains("Busy: "), "{}", preview.body);
    assert_eq!(logged_outcomes(store.as_ref(), user.id).await, logged);
}

#[tokio::test]
async fn saving_a_botpassword_again_replaces_it_and_the_list_never_shows_it() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let wiki = app.wiki_input();
    for _ in 0..2 {
        app.post(
            &mut alice,
            "/credentials",
            &[
                ("wiki", &wiki),
                ("bot_username", BOT_LOGIN),
                ("password", BOT_PASSWORD),
            ],
        )
        .await
        .expect(StatusCode::OK);
    }
    let store = &app.store;
    let user = app.user("alice").await;
    let saved = store.list_credentials(user.id).await.unwrap();
    assert_eq!(saved.len(), 1, "replaced, not added");
    let stored = store
        .credential(user.id, &saved[0].wiki)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.vault
            .decrypt(
                wikiscriptsync_core::vault::CredentialOwner {
                    user: user.id,
                    wiki: &stored.wiki,
                },
                &stored.ciphertext
            )
            .map(|s| secrecy::ExposeSecret::expose_secret(&s).to_owned())
            .unwrap(),
        BOT_PASSWORD
    );
    let list = app.get(&mut alice, "/credentials").await;
    assert!(list.body.contains(BOT_LOGIN));
    assert!(
        !list.body.contains("value=\"Zq7"),
        "the password field is never filled"
    );
}

#[tokio::test]
async fn the_public_origin_is_trusted_when_the_proxy_rewrites_host() {
    let mut app = TestApp::start().await;
    let mut state = app.state.clone();
    state.public_origin = Some("https://wikiscriptsync.toolforge.org".into());
    app.router = wikiscriptsync_web::router(state);
    let mut alice = app.login("alice").await;
    let nonce = alice.nonce.clone().unwrap();
    let wiki = app.wiki_input();
    let fields = [
        ("wiki", wiki.as_str()),
        ("title", "MediaWiki:Common.js"),
        ("csrf", nonce.as_str()),
    ];
    // Host is the internal name (localhost), the browser's Origin is the public one.
    let trusted = app
        .post_raw(
            &mut alice,
            "/pages",
            &fields,
            &[
                ("origin", "https://wikiscriptsync.toolforge.org"),
                ("sec-fetch-site", "same-site"),
            ],
        )
        .await;
    trusted.expect(StatusCode::SEE_OTHER);
    let foreign = app
        .post_raw(
            &mut alice,
            "/pages",
            &fields,
            &[
                ("origin", "https://other-tool.toolforge.org"),
                ("sec-fetch-site", "same-site"),
            ],
        )
        .await;
    foreign.expect(StatusCode::FORBIDDEN);
}

/// The row of the publish-everywhere result table for one mapping.
fn result_row(body: &str, mapping: MappingId) -> &str {
    let start = body
        .find(&format!("<tr id=\"result-{mapping}\">"))
        .unwrap_or_else(|| panic!("no row for mapping {mapping}: {body}"));
    let end = start + body[start..].find("</tr>").unwrap();
    &body[start..end]
}

/// "Publish to all N pages": offered on the file page from two mappings with publishing on; the
/// preview shows every target and edits nothing; the publish edits each page and the table says
/// what happened on each; a page edited on-wiki is refused without the overwrite tick while the
/// other page is still published; another user's file is a 404 on both routes.
#[tokio::test]
async fn a_file_is_published_to_all_its_pages_with_one_outcome_per_page() {
    const OTHER: &str = "User:Alice/gadget-copy.js";
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let wiki = app.wiki_input();
    let url = app.github.repo_url(REPO);
    let repo_page = app.add_repository(&mut alice, &url).await;
    app.post(
        &mut alice,
        &format!("{repo_page}/watch"),
        &[("path", SCRIPT_PATH)],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let store = &app.store;
    let user = app.user("alice").await;
    let repository = store.list_repositories(user.id).await.unwrap().remove(0);
    let file = store
        .list_watched_files(user.id, repository.id)
        .await
        .unwrap()
        .remove(0);
    let file_page = format!("/files/{}", file.id);
    let everywhere = format!("/files/{}/publish", file.id);
    app.post(
        &mut alice,
        &format!("{file_page}/mappings"),
        &[
            ("wiki", &wiki),
            ("title", PAGE),
            ("publish_enabled", "on"),
            ("allow_create", "on"),
        ],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    // One target is not offered: the page says nothing about publishing to all.
    let one = app.get(&mut alice, &file_page).await;
    assert!(!one.body.contains("Publish to all"), "{}", one.body);
    app.post(
        &mut alice,
        &format!("{file_page}/mappings"),
        &[
            ("wiki", &wiki),
            ("title", OTHER),
            ("publish_enabled", "on"),
            ("allow_create", "on"),
        ],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    app.post(
        &mut alice,
        "/credentials",
        &[
            ("wiki", &wiki),
            ("bot_username", BOT_LOGIN),
            ("password", BOT_PASSWORD),
        ],
    )
    .await
    .expect(StatusCode::OK);
    let mappings = store.list_mappings(user.id, file.id).await.unwrap();
    let id_of = |title: &str| {
        mappings
            .iter()
            .find(|m| m.page_title == title)
            .map(|m| m.id)
            .unwrap()
    };
    let (page_id, other_id) = (id_of(PAGE), id_of(OTHER));

    let two = app.get(&mut alice, &file_page).await;
    assert!(
        two.body
            .contains(&format!("href=\"{everywhere}\">Publish to all 2 pages</a>")),
        "{}",
        two.body
    );

    // The preview: one per target, each page to be created with the file's text; the button
    // comes before the diffs; nothing is edited.
    let edits = app.wiki.requests_for("edit");
    let preview = app.get(&mut alice, &everywhere).await;
    preview.expect(StatusCode::OK);
    let body = &preview.body;
    for id in [page_id, other_id] {
        assert!(body.contains(&format!("id=\"target-{id}\"")), "{body}");
    }
    assert!(body.contains(&format!("{PAGE}</a>")) && body.contains(&format!("{OTHER}</a>")));
    assert_eq!(
        body.matches("<h3>The page will be created</h3>").count(),
        2,
        "{body}"
    );
    assert_eq!(
        body.matches("mw.hook(").count(),
        2,
        "one diff per target: {body}"
    );
    assert!(
        body.contains("class=\"cdx-table__table-wrapper\""),
        "{body}"
    );
    let button = body
        .find("Publish to all 2 pages</button>")
        .expect("the button");
    assert!(
        button < body.find("<pre class=\"diff\">").unwrap(),
        "button above the diffs"
    );
    assert!(
        !body.contains("name=\"overwrite\""),
        "no drift, no overwrite choice"
    );
    assert_eq!(app.wiki.requests_for("edit"), edits);
    assert!(app.wiki.page_text(PAGE).is_none() && app.wiki.page_text(OTHER).is_none());
    assert!(
        logged_outcomes(store.as_ref(), user.id).await.is_empty(),
        "a preview is a read"
    );

    // Publish: both pages are created; each row names its outcome, revision and diff.
    let result = app.post(&mut alice, &everywhere, &[]).await;
    result.expect(StatusCode::OK);
    assert!(
        result
            .body
            .contains("2 of 2 pages have the file's text now"),
        "{}",
        result.body
    );
    for (title, id) in [(PAGE, page_id), (OTHER, other_id)] {
        assert_eq!(
            app.wiki.page_text(title).as_deref().map(str::trim_end),
            Some(SCRIPT.trim_end())
        );
        let revision = app.wiki.page(title).unwrap().latest().unwrap().id;
        let row = result_row(&result.body, id);
        assert!(row.contains(&format!("<td>{title}</td>")), "{row}");
        assert!(row.contains(">created</td>"), "{row}");
        assert!(row.contains(&format!("r{revision}")), "{row}");
        assert!(row.contains("see the change</a>"), "{row}");
    }

    // Someone edits one page on-wiki, and the file changes on the branch (checked now).
    app.wiki.edit_as(OTHER, "// hand edit\n", "Bob", "fix");
    app.github.commit(
        REPO,
        "main",
        [(SCRIPT_PATH, Some("// gadget, version 2\n"))],
    );
    app.post(&mut alice, &format!("{repo_page}/check"), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    let preview = app.get(&mut alice, &everywhere).await;
    assert!(
        preview.body.contains("hand edit"),
        "the on-wiki change: {}",
        preview.body
    );
    assert!(
        preview.body.contains("name=\"overwrite\""),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains("changed on-wiki: published only with overwrite")
    );
    assert!(
        preview.body.contains(">will be changed</td>"),
        "{}",
        preview.body
    );

    // Without the tick: the edited page is refused and keeps its edit, the other is published.
    let result = app.post(&mut alice, &everywhere, &[]).await;
    result.expect(StatusCode::OK);
    let refused = result_row(&result.body, other_id);
    assert!(
        refused.contains(">refused</td>") && refused.contains("Refused: "),
        "{refused}"
    );
    let published = result_row(&result.body, page_id);
    assert!(published.contains(">published</td>"), "{published}");
    assert!(
        result.body.contains("1 of 2 pages were refused"),
        "{}",
        result.body
    );
    assert_eq!(
        app.wiki.page_text(PAGE).as_deref().map(str::trim_end),
        Some("// gadget, version 2")
    );
    assert_eq!(
        app.wiki.page_text(OTHER).as_deref().map(str::trim_end),
        Some("// hand edit")
    );

    // With the tick: the edit is overwritten; the other page has nothing new.
    let result = app
        .post(&mut alice, &everywhere, &[("overwrite", "on")])
        .await;
    assert!(
        result_row(&result.body, other_id).contains(">published</td>"),
        "{}",
        result.body
    );
    assert!(
        result_row(&result.body, page_id).contains(">already up to date</td>"),
        "{}",
        result.body
    );
    assert_eq!(
        app.wiki.page_text(OTHER).as_deref().map(str::trim_end),
        Some("// gadget, version 2")
    );

    // Another user's file: 404 on the preview and on the publish, and nothing is edited.
    let mut bob = app.login("bob").await;
    app.get(&mut bob, &everywhere)
        .await
        .expect(StatusCode::NOT_FOUND);
    let edits = app.wiki.requests_for("edit");
    app.post(&mut bob, &everywhere, &[("overwrite", "on")])
        .await
        .expect(StatusCode::NOT_FOUND);
    assert_eq!(app.wiki.requests_for("edit"), edits);
}

/// "Check its rights" logs in once with the saved BotPassword and reports the rights again; a
/// BotPassword the wiki no longer accepts is said above the form, and nothing is deleted.
#[tokio::test]
async fn a_saved_botpassword_is_checked_again_on_request() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let wiki = app.wiki_input();
    app.post(
        &mut alice,
        "/credentials",
        &[
            ("wiki", &wiki),
            ("bot_username", BOT_LOGIN),
            ("password", BOT_PASSWORD),
        ],
    )
    .await
    .expect(StatusCode::OK);
    let user = app.user("alice").await;
    let stored = app.store.list_credentials(user.id).await.unwrap().remove(0);
    let list = app.get(&mut alice, "/credentials").await;
    assert!(
        list.body.contains("action=\"/credentials/verify\""),
        "{}",
        list.body
    );

    let logins = app.wiki.requests_for("login");
    let checked = app
        .post(&mut alice, "/credentials/verify", &[("wiki", &stored.wiki)])
        .await;
    checked.expect(StatusCode::OK);
    assert!(
        checked.body.contains(&format!(
            "Checked the BotPassword {BOT_LOGIN} for FakeWiki ({}): logging in with it worked.",
            app.wiki.host()
        )),
        "{}",
        checked.body
    );
    assert!(
        checked.body.contains("Grants it carries"),
        "{}",
        checked.body
    );
    assert!(app.wiki.requests_for("login") > logins, "it logged in");

    // The bot password was revoked on the wiki: the check says so; the saved one stays.
    app.wiki.add_account(
        FakeAccount::new(BOT_LOGIN, "a-new-password-elsewhere").with_rights(&["read"]),
    );
    let refused = app
        .post(&mut alice, "/credentials/verify", &[("wiki", &stored.wiki)])
        .await;
    refused.expect(StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("with this BotPassword failed"),
        "{}",
        refused.body
    );
    assert_eq!(app.store.list_credentials(user.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn notice_headings_are_listed_as_the_plain_text_they_show_on_the_wiki() {
    use wikiscriptsync_core::monitor::{ChangeEvent, FileChange};
    use wikiscriptsync_core::store::{NewNotification, NotificationClaim, NotificationResult};

    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let user = app.user("alice").await;
    let event = ChangeEvent::FileChanged(FileChange {
        user: user.id,
        watched_file_id: WatchedFileId(1),
        repository_url: "https://github.com/o/r".into(),
        branch: "main".into(),
        path: "x<b>&amp;~~~~.js".into(),
        old_blob_sha: None,
        new_blob_sha: Some("b".repeat(40)),
        commit_sha: "c".repeat(40),
        commit_url: "https://github.com/o/r/commit/c".into(),
    });
    let now = Utc::now();
    let notification = NewNotification {
        user_id: user.id,
        dedup_key: event.dedup_key(),
        event_kind: event.kind().into(),
        subject: event.heading_wikitext(),
        body: event.wikitext_line(),
    };
    let NotificationClaim::Claimed(id) = app
        .store
        .claim_notification(&notification, "test", now, chrono::Duration::minutes(5))
        .await
        .unwrap()
    else {
        panic!("a new notification is claimed");
    };
    let sent = NotificationResult::Sent {
        wiki: app.wiki.wiki_url().key(),
        revid: Some(1),
    };
    app.store
        .finish_notification(id, "test", &sent, now)
        .await
        .unwrap();

    // The value exactly as it was, HTML-escaped once: no nowiki tags, no double entities.
    let shown = "WikiScriptSync: x&#60;b&#62;&#38;amp;~~~~.js changed";
    for route in ["/notifications", "/"] {
        let page = app.get(&mut alice, route).await;
        page.expect(StatusCode::OK);
        assert!(page.body.contains(shown), "{route}: {}", page.body);
        assert!(!page.body.contains("nowiki"), "{route}: {}", page.body);
    }
}

/// A logout ends the session on the server: a copy of the cookie taken before it (a shared
/// machine, a stolen cookie) opens nothing afterwards, and cannot send forms either.
#[tokio::test]
async fn a_copied_session_cookie_is_refused_after_logout() {
    let app = TestApp::start().await;
    let mut alice = app.login("alice").await;
    let mut copy = alice.clone();
    app.get(&mut copy, "/").await.expect(StatusCode::OK);

    app.post(&mut alice, "/logout", &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(alice.cookie.is_none(), "the logout clears the cookie");
    let dashboard = app.get(&mut copy.clone(), "/").await;
    assert_eq!(dashboard.location(), Some("/login"), "{}", dashboard.body);
    let form = app
        .post(
            &mut copy.clone(),
            "/repositories/new",
            &[("url", "https://github.com/alice/other")],
        )
        .await;
    assert_eq!(form.location(), Some("/login"), "{}", form.body);
    // The login page does not send the copy back to the dashboard either.
    app.get(&mut copy, "/login").await.expect(StatusCode::OK);
    let user = app.user("alice").await;
    assert!(
        app.store
            .list_repositories(user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// "Log out everywhere" ends every session of the user (another browser's too), no one
/// else's.
#[tokio::test]
async fn logging_out_everywhere_ends_the_users_other_sessions() {
    let app = TestApp::start().await;
    let mut laptop = app.login("alice").await;
    let mut phone = app.login("alice").await;
    let mut bob = app.login("bob").await;
    let page = app.get(&mut laptop, "/").await;
    assert!(page.body.contains("/logout/everywhere"), "{}", page.body);

    let out = app.post(&mut laptop, "/logout/everywhere", &[]).await;
    out.expect(StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/login"));
    assert_eq!(app.get(&mut phone, "/").await.location(), Some("/login"));
    assert!(laptop.cookie.is_none());
    app.get(&mut bob, "/").await.expect(StatusCode::OK);
    // Logging in again works as before.
    let mut again = app.login("alice").await;
    app.get(&mut again, "/").await.expect(StatusCode::OK);
}
