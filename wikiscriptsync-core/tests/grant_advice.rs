//! Saving a BotPassword reports the grants its rights show and warns only about grants the
//! mapped pages do not need — never about a grant the user did not tick (issue #15: a ticked
//! `editsiteconfig` was reported as an unneeded `editinterface` grant).

mod common;

use secrecy::SecretString;
use wikiscriptsync_core::app::MapFile;
use wikiscriptsync_core::forge::testkit::FakeGitHub;
use wikiscriptsync_core::mw::grants::rights_of_grants;
use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
use wikiscriptsync_core::store::MappingOptions;
use wikiscriptsync_core::store::testkit::TestDatabase;

const REPO: &str = "octo/gadgets";
const PASSWORD: &str = "grantAdviceBotPassw0rd42";

/// An interface administrator's group rights.
const INTERFACE_ADMIN: &[&str] = &[
    "read",
    "edit",
    "minoredit",
    "createpage",
    "createtalk",
    "move",
    "writeapi",
    "purge",
    "editinterface",
    "editsitejs",
    "editsitecss",
    "editsitejson",
    "edituserjs",
    "editusercss",
    "edituserjson",
    "editmyuserjs",
];

#[tokio::test]
async fn the_issues_botpassword_warns_of_no_unticked_grant() {
    let ticked = ["basic", "editpage", "editsiteconfig", "createeditmovepage"];
    let carried = rights_of_grants(ticked);
    let session_rights: Vec<&str> = INTERFACE_ADMIN
        .iter()
        .copied()
        .filter(|r| carried.contains(r))
        .collect();
    let wiki = FakeWiki::start().await;
    wiki.add_account(FakeAccount::new("Alice@sync", PASSWORD).with_rights(&session_rights));
    let github = FakeGitHub::start().await;
    github.add_repo(REPO, [("src/gadget.js", "// g")]);
    let db = TestDatabase::sqlite();
    let app = common::use_cases(db.open().await, &wiki, &github, true);
    let alice = app.log_in("1", "Alice").await.unwrap().id;
    let repo = app
        .add_repository(alice, &github.repo_url(REPO), None)
        .await
        .unwrap();
    let file = app
        .watch_files(alice, repo.id, &["src/gadget.js".to_owned()])
        .await
        .unwrap()
        .added[0]
        .id;
    let options = MappingOptions {
        allow_create: true,
        ..MappingOptions::default()
    };
    app.map_file(
        alice,
        &MapFile {
            file,
            wiki: wiki.api_url(),
            title: "MediaWiki:Gadget-sync.js".to_owned(),
            options,
            monitor: false,
        },
    )
    .await
    .unwrap();

    let report = app
        .save_credential(
            alice,
            &wiki.api_url(),
            "Alice@sync",
            SecretString::from(PASSWORD.to_owned()),
        )
        .await
        .unwrap();
    assert!(
        !report.grants.iter().any(|g| g == "editinterface"),
        "{:?}",
        report.grants
    );
    assert!(
        report.grants.iter().all(|g| ticked.contains(&g.as_str())),
        "only ticked grants are named: {:?}",
        report.grants
    );
    assert!(report.broader.is_empty(), "{:?}", report.broader);
    assert!(report.pages.iter().all(|(_, verdict)| verdict.is_none()));
}
