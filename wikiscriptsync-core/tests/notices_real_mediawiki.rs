//! Talk-page notices about hostile names, posted to a real MediaWiki
//! (`scripts/mediawiki-test-server`; `source` the variables it prints) and read back through
//! the wiki's own parser: a file name or branch with `[[links]]`, `{{templates}}`, `~~~~` and a
//! line break must come out as plain text in one section. Without
//! `WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL` the test prints "skipped: ..." — except in CI (`CI`
//! set), where a missing wiki fails.

mod common;
mod monitor_support;

use std::sync::Arc;
use std::time::Duration;

use monitor_support::*;
use secrecy::SecretString;
use serde_json::Value;
use wikiscriptsync_core::monitor::{ChangeEvent, FileChange};
use wikiscriptsync_core::mw::{
    ActionApiClient, AllowList, BotPassword, ClientConfig, CreatePolicy, EditRequest, Title,
    UserAgent, WikiApi, WikiUrl,
};
use wikiscriptsync_core::notify::{Notifier, NotifierSettings};
use wikiscriptsync_core::store::WatchedFileId;

/// The hostile file name of issue 13.
const HOSTILE_PATH: &str = "[[User:A]] {{subst:X}} ~~~~\n== spam ==.js";
/// What `{{X}}` expands to on the test wiki (the test writes Template:X).
const EXPANDED: &str = "TEMPLATE-X-WAS-EXPANDED";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn must(name: &str) -> String {
    var(name).unwrap_or_else(|| panic!("{name} must be set with the wiki"))
}

fn bot(user: &str, password: &str) -> BotPassword {
    BotPassword::new(must(user), SecretString::from(must(password)))
}

fn client() -> Arc<ActionApiClient> {
    let mut config =
        ClientConfig::new(UserAgent::from_contact("https://example.org/tests").unwrap());
    config.allow_list = AllowList::wikimedia()
        .with_extra_hosts(&var("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS").unwrap_or_default())
        .expect("WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS names the test wiki");
    config.request_timeout = Duration::from_secs(30);
    Arc::new(ActionApiClient::new(config).expect("client"))
}

/// One anonymous `GET api.php` (the read-back goes around our own client on purpose).
async fn api_get(api: &str, params: &[(&str, &str)]) -> Value {
    let answer: Value = reqwest::Client::new()
        .get(api)
        .query(&[("format", "json"), ("formatversion", "2")])
        .query(params)
        .send()
        .await
        .expect("reach the wiki")
        .json()
        .await
        .expect("a JSON answer");
    assert!(answer.get("error").is_none(), "{answer}");
    answer
}

/// Writes `text` to `title` as the admin (creating it if needed).
async fn put(admin: &dyn wikiscriptsync_core::mw::WikiSession, title: &str, text: &str) {
    let mut edit = EditRequest::new(Title::parse(title).unwrap(), text, "notice test set-up");
    edit.create = CreatePolicy::MayCreate;
    admin.edit(&edit).await.expect("set-up edit");
}

#[tokio::test]
async fn a_notice_about_a_hostile_file_name_posts_no_link_template_signature_or_heading() {
    let Some(api) = common::real_wiki_api_url() else {
        return;
    };
    let client = client();
    let url = client
        .parse_wiki(&api)
        .expect("the test wiki is allow-listed");
    let recipient = must("WIKISCRIPTSYNC_TEST_MW_RECIPIENT");
    let talk = format!("User talk:{recipient}");
    let admin = client
        .login(
            &url,
            bot(
                "WIKISCRIPTSYNC_TEST_MW_ADMIN_USER",
                "WIKISCRIPTSYNC_TEST_MW_ADMIN_PASSWORD",
            ),
        )
        .await
        .expect("admin login");
    // A template that would show if `{{X}}` or `{{subst:X}}` were expanded, and the talk page
    // (the notification bot may not create it).
    put(admin.as_ref(), "Template:X", EXPANDED).await;
    if admin
        .page_text(&Title::parse(&talk).unwrap(), None)
        .await
        .expect("read the talk page")
        .is_none()
    {
        put(admin.as_ref(), &talk, "Talk page of the notice tests.").await;
    }

    let db = TestDb::sqlite();
    let store = db.open().await;
    let alice = user(store.as_ref(), &recipient).await;
    notify_on(store.as_ref(), alice, &WikiUrl::key(&url), false).await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let blob = format!("{nanos:040x}");
    let event = ChangeEvent::FileChanged(FileChange {
        user: alice,
        watched_file_id: WatchedFileId(1),
        repository_url: "https://github.com/o/{{x}}".to_owned(),
        branch: "{{x}}".to_owned(),
        path: HOSTILE_PATH.to_owned(),
        old_blob_sha: Some("a".repeat(40)),
        new_blob_sha: Some(blob),
        commit_sha: "c".repeat(40),
        commit_url: "https://github.com/o/r/commit/~~~~{{x}}".to_owned(),
    });
    let notifier = Notifier::new(
        Arc::clone(&store),
        client.clone(),
        Some(bot(
            "WIKISCRIPTSYNC_TEST_MW_NOTIFY_USER",
            "WIKISCRIPTSYNC_TEST_MW_NOTIFY_PASSWORD",
        )),
        NotifierSettings::new("real-notices"),
    );
    let sent = notifier.notify(&[event]).await.unwrap();
    assert_eq!(sent.sent, 1, "{}", sent.summary());

    // The newest section of the talk page is the notice.
    let sections = api_get(
        &api,
        &[("action", "parse"), ("page", &talk), ("prop", "sections")],
    )
    .await;
    let sections = sections["parse"]["sections"].as_array().expect("sections");
    let last = sections.last().expect("the notice's section");
    let index = last["index"].as_str().expect("a section index").to_owned();
    let parsed = api_get(
        &api,
        &[
            ("action", "parse"),
            ("page", &talk),
            ("section", &index),
            ("prop", "text|links|templates|sections|wikitext"),
        ],
    )
    .await;
    let parsed = &parsed["parse"];
    let html = parsed["text"].as_str().expect("html");
    let wikitext = parsed["wikitext"].as_str().expect("wikitext");

    // One heading: ours, showing the name literally; the `== spam ==` made no section.
    let headings: Vec<&str> = parsed["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(headings.len(), 1, "{headings:?}\n{wikitext}");
    assert!(
        headings[0].contains("[[User:A]] {{subst:X}}") && headings[0].contains("== spam ==.js"),
        "{headings:?}"
    );
    // No template was used or expanded, at save time (subst) or when rendering.
    assert_eq!(parsed["templates"], Value::Array(Vec::new()), "{wikitext}");
    assert!(
        !html.contains(EXPANDED) && !wikitext.contains(EXPANDED),
        "{wikitext}"
    );
    assert!(
        wikitext.contains("{{subst:X}}"),
        "kept literally: {wikitext}"
    );
    // The only links are the bot's own signature: nothing to User:A.
    let bot_name = must("WIKISCRIPTSYNC_TEST_MW_NOTIFY_USER");
    let bot_name = bot_name.split('@').next().unwrap();
    let links: Vec<&str> = parsed["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap_or(""))
        .collect();
    assert!(
        links.iter().all(|l| l.ends_with(&format!(":{bot_name}"))),
        "{links:?}\n{wikitext}"
    );
    assert!(!html.contains("User:A\""), "{html}");
    // Exactly one signature, the bot's: the name's `~~~~` is shown as it is.
    assert_eq!(html.matches("(UTC)").count(), 1, "{html}");
    assert!(html.contains("[[User:A]] {{subst:X}} ~~~~"), "{html}");

    // The edit summary quotes no name either (summaries render links).
    let revisions = api_get(
        &api,
        &[
            ("action", "query"),
            ("prop", "revisions"),
            ("titles", &talk),
            ("rvprop", "comment|user"),
        ],
    )
    .await;
    let revision = &revisions["query"]["pages"][0]["revisions"][0];
    assert_eq!(revision["user"].as_str(), Some(bot_name), "{revision}");
    let comment = revision["comment"].as_str().unwrap();
    assert!(
        !comment.contains("[[") && !comment.contains("{{"),
        "{comment}"
    );
}
