//! `Forges`' own methods: plain signatures without a `Usage`, the same answers as the `Forge`
//! trait's, and one running total of what both ways of calling cost.

use wikiscriptsync_forge::testkit::FakeGitHub;
use wikiscriptsync_forge::{Forge, Forges, HeadProbe, Usage, Visibility};

const TOKEN: &str = "ghp_RouterMethodsToken";

#[tokio::test]
async fn the_routers_own_methods_need_no_usage_and_add_up_what_they_cost() {
    let fake = FakeGitHub::start().await;
    fake.add_repo(
        "octo/gadgets",
        [("src/Gadget.js", "mw.log(1);\n"), ("README.md", "# x\n")],
    );
    let forges = Forges::new(fake.config_builder_with_token(TOKEN).build().unwrap()).unwrap();
    let repo = forges
        .parse_repo_url(&fake.repo_url("octo/gadgets"))
        .unwrap();
    assert_eq!(forges.usage(), Usage::default(), "nothing sent yet");

    // Every read, each without a `Usage`.
    assert_eq!(forges.default_branch(&repo).await.unwrap(), "main");
    let visibility = forges.visibility(&repo, None).await.unwrap();
    assert_eq!(visibility.visibility, Visibility::Public);
    let head = forges.head(&repo, "main", None).await.unwrap();
    assert_eq!(forges.branches(&repo, "ma").await.unwrap(), ["main"]);
    let files = forges.publishable_files(&repo, head.sha()).await.unwrap();
    assert_eq!(files.len(), 1);
    let shas = forges
        .blob_shas(&repo, head.sha(), &["src/Gadget.js".to_owned()])
        .await
        .unwrap();
    assert_eq!(shas["src/Gadget.js"].blob_sha, files[0].blob_sha);
    let file = forges
        .file_content(&repo, head.sha(), "src/Gadget.js", None)
        .await
        .unwrap();
    assert_eq!(file.bytes, b"mw.log(1);\n");
    let known = head.into_known(None);
    let again = forges.head(&repo, "main", Some(&known)).await.unwrap();
    assert!(matches!(again, HeadProbe::NotModified { .. }));

    // The running total is what the fake counted: requests, quota (the 304 with a token is
    // free) and 304s, with the host's latest rate-limit snapshot.
    let total = forges.usage();
    let seen = fake.stats();
    assert_eq!(
        (
            u64::from(total.requests),
            u64::from(total.quota_spent),
            u64::from(total.not_modified)
        ),
        (seen.requests, seen.quota_spent, seen.not_modified)
    );
    // Two 304s: the visibility question re-asked for the repository resource the default
    // branch had just read (the ETag cache), and the second head probe.
    assert_eq!(total.not_modified, 2);
    assert!(total.requests >= 9, "{total:?}");
    assert_eq!(total.snapshots.len(), 1, "{total:?}");

    // The trait's method fills the caller's `Usage` with that call alone, and the total too.
    let mut usage = Usage::default();
    let probe = Forge::head(&forges, &repo, "main", Some(&known), &mut usage)
        .await
        .unwrap();
    assert!(!probe.moved());
    assert_eq!((usage.requests, usage.not_modified), (1, 1));
    assert_eq!(forges.usage().requests, total.requests + 1);
    assert_eq!(forges.usage().not_modified, 3);
    assert_eq!(u64::from(forges.usage().requests), fake.stats().requests);
}
