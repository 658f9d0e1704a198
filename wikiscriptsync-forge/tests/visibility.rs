//! Who may read a repository ([`Forge::visibility`]) on both fakes, and what the GitLab client
//! spends on a moved project in a fresh client (a new process of the hourly job): the head
//! probe and the tree pages, never a second project lookup.

use std::time::Duration;

use wikiscriptsync_forge::testkit::{Endpoint, FakeGitHub, FakeGitLab};
use wikiscriptsync_forge::{CommitSha, Forge, Forges, HeadProbe, KnownHead, Usage, Visibility};

const GITHUB_TOKEN: &str = "ghp_TestTokenThatMustNeverLeak";
const GITLAB_TOKEN: &str = "glpat-TestTokenThatMustNeverLeak";

fn endpoints(requests: &[wikiscriptsync_forge::testkit::RecordedRequest]) -> Vec<Endpoint> {
    requests.iter().map(|r| r.endpoint).collect()
}

#[tokio::test]
async fn github_says_who_may_read_a_repository_with_a_conditional_request() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/open", [("a.js", "1")]);
    fake.add_repo_with("octo/secret", "main", true, [("a.js", "1")]);
    fake.add_repo("octo/corp", [("a.js", "1")]);
    fake.set_visibility("octo/corp", Visibility::Internal);
    let forges = Forges::new(
        fake.config_builder_with_token(GITHUB_TOKEN)
            .build()
            .unwrap(),
    )
    .unwrap();
    let locate = |name: &str| forges.parse_repo_url(&fake.repo_url(name)).unwrap();

    for (name, expected) in [
        ("octo/open", Visibility::Public),
        ("octo/secret", Visibility::Private),
        ("octo/corp", Visibility::Internal),
    ] {
        let mut usage = Usage::default();
        let probe = Forge::visibility(&forges, &locate(name), None, &mut usage)
            .await
            .unwrap();
        assert_eq!(probe.visibility, expected, "{name}");
        // Only a public answer gives a validator to keep.
        assert_eq!(
            probe.validator.is_some(),
            expected == Visibility::Public,
            "{name}"
        );
        assert_eq!(usage.requests, 1, "{name}: one repository request");
    }
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.endpoint == Endpoint::Repository && r.authorized)
    );

    // Asked again: the same conditional request, a 304 that costs no quota with a token.
    let mut usage = Usage::default();
    let again = Forge::visibility(&forges, &locate("octo/open"), None, &mut usage)
        .await
        .unwrap();
    assert_eq!(again.visibility, Visibility::Public);
    assert_eq!(
        (usage.requests, usage.quota_spent, usage.not_modified),
        (1, 0, 1)
    );

    // A new process (a new client, an empty ETag cache) with the kept validator: still free.
    let fresh = Forges::new(
        fake.config_builder_with_token(GITHUB_TOKEN)
            .build()
            .unwrap(),
    )
    .unwrap();
    let kept = again.validator.expect("a public answer gives a validator");
    let mut usage = Usage::default();
    let probe = Forge::visibility(&fresh, &locate("octo/open"), Some(&kept), &mut usage)
        .await
        .unwrap();
    assert_eq!(probe.visibility, Visibility::Public);
    assert_eq!(probe.validator.as_deref(), Some(kept.as_str()));
    assert_eq!(
        (usage.requests, usage.quota_spent, usage.not_modified),
        (1, 0, 1)
    );

    // Turned private since: the next answer says so (the ETag no longer matches), and gives
    // no validator to keep.
    fake.set_visibility("octo/open", Visibility::Private);
    let now = Forge::visibility(
        &fresh,
        &locate("octo/open"),
        Some(&kept),
        &mut Usage::default(),
    )
    .await
    .unwrap();
    assert_eq!((now.visibility, now.validator), (Visibility::Private, None));
}

#[tokio::test]
async fn without_a_token_every_read_is_anonymous_so_visibility_costs_nothing() {
    let github = FakeGitHub::start().await;
    github.add_repo("octo/open", [("a.js", "1")]);
    let gitlab = FakeGitLab::start().await;
    gitlab.add_repo("team/open", [("a.js", "1")]);
    let forges = Forges::new(
        github
            .config_builder()
            .gitlab_instance(&gitlab.uri())
            .build()
            .unwrap(),
    )
    .unwrap();
    for url in [github.repo_url("octo/open"), gitlab.repo_url("team/open")] {
        let repo = forges.parse_repo_url(&url).unwrap();
        let mut usage = Usage::default();
        let visibility = Forge::visibility(&forges, &repo, None, &mut usage)
            .await
            .unwrap()
            .visibility;
        assert_eq!(
            (visibility, usage.requests),
            (Visibility::Public, 0),
            "{url}"
        );
    }
    assert_eq!(github.stats().requests + gitlab.stats().requests, 0);
}

#[tokio::test]
async fn gitlab_says_who_may_read_a_project_from_the_project_lookup() {
    let fake = FakeGitLab::start().await;
    fake.add_repo("team/open", [("a.js", "1")]);
    fake.add_repo_with("team/secret", "main", true, [("a.js", "1")]);
    fake.add_repo("team/staff", [("a.js", "1")]);
    fake.set_visibility("team/staff", Visibility::Internal);
    let forges = Forges::new(
        fake.config_builder_with_token(GITLAB_TOKEN)
            .build()
            .unwrap(),
    )
    .unwrap();
    for (name, expected) in [
        ("team/open", Visibility::Public),
        ("team/secret", Visibility::Private),
        ("team/staff", Visibility::Internal),
    ] {
        let repo = forges.parse_repo_url(&fake.repo_url(name)).unwrap();
        let mut usage = Usage::default();
        assert_eq!(
            Forge::visibility(&forges, &repo, None, &mut usage)
                .await
                .unwrap()
                .visibility,
            expected,
            "{name}"
        );
        assert_eq!(usage.requests, 1, "{name}");
        // The lookup resolved the id: the head probe needs no second lookup.
        let mut usage = Usage::default();
        Forge::head(&forges, &repo, "main", None, &mut usage)
            .await
            .unwrap();
        assert_eq!(usage.requests, 1, "{name}: the branch only");
    }
    assert_eq!(
        endpoints(&fake.requests()),
        [Endpoint::Project, Endpoint::Branch].repeat(3)
    );
}

#[tokio::test]
async fn a_kept_gitlab_validator_asks_for_the_project_by_its_id_in_a_new_process() {
    let fake = FakeGitLab::start().await;
    fake.add_repo("team/gadgets", [("a.js", "1")]);
    let config = fake
        .config_builder_with_token(GITLAB_TOKEN)
        .build()
        .unwrap();
    let first = Forges::new(config.clone()).unwrap();
    let repo = first
        .parse_repo_url(&fake.repo_url("team/gadgets"))
        .unwrap();
    let probe = Forge::visibility(&first, &repo, None, &mut Usage::default())
        .await
        .unwrap();
    let id = fake.project_id("team/gadgets").unwrap();
    assert_eq!(probe.validator, Some(format!("gitlab-project:{id}")));

    // A new process: the project the head probe and the tree walk will read, by its id.
    let fresh = Forges::new(config).unwrap();
    fake.reset_stats();
    let again = Forge::visibility(
        &fresh,
        &repo,
        probe.validator.as_deref(),
        &mut Usage::default(),
    )
    .await
    .unwrap();
    assert_eq!(again, probe);
    let asked: Vec<String> = fake
        .requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .collect();
    assert_eq!(asked, [format!("/api/v4/projects/{id}")]);
    // The head probe then needs no lookup either.
    fake.reset_stats();
    Forge::head(&fresh, &repo, "main", None, &mut Usage::default())
        .await
        .unwrap();
    assert_eq!(endpoints(&fake.requests()), [Endpoint::Branch]);
}

#[tokio::test]
async fn concurrent_lookups_of_one_gitlab_project_share_one_request() {
    let fake = FakeGitLab::start().await;
    fake.add_repo("team/gadgets", [("a.js", "1")]);
    fake.commit("team/gadgets", "dev", [("a.js", Some("2"))]);
    // Answers take a while, so the second caller asks while the first lookup is under way.
    fake.set_latency(Duration::from_millis(50));
    let forges = Forges::new(
        fake.config_builder_with_token(GITLAB_TOKEN)
            .build()
            .unwrap(),
    )
    .unwrap();
    let repo = forges
        .parse_repo_url(&fake.repo_url("team/gadgets"))
        .unwrap();
    let (mut u1, mut u2) = (Usage::default(), Usage::default());
    let (a, b) = tokio::join!(
        Forge::visibility(&forges, &repo, None, &mut u1),
        Forge::visibility(&forges, &repo, None, &mut u2)
    );
    assert_eq!(
        (a.unwrap().visibility, b.unwrap().visibility),
        (Visibility::Public, Visibility::Public)
    );
    assert_eq!(fake.stats().by_endpoint.get(&Endpoint::Project), Some(&1));

    // Two tracked branches of one project probed at once by a fresh client (a new process):
    // one lookup between them.
    let fresh = Forges::new(
        fake.config_builder_with_token(GITLAB_TOKEN)
            .build()
            .unwrap(),
    )
    .unwrap();
    fake.reset_stats();
    let (mut u1, mut u2) = (Usage::default(), Usage::default());
    let (main, dev) = tokio::join!(
        Forge::head(&fresh, &repo, "main", None, &mut u1),
        Forge::head(&fresh, &repo, "dev", None, &mut u2)
    );
    assert_ne!(main.unwrap().sha(), dev.unwrap().sha());
    let stats = fake.stats();
    assert_eq!(stats.by_endpoint.get(&Endpoint::Project), Some(&1));
    assert_eq!(stats.by_endpoint.get(&Endpoint::Branch), Some(&2));
    assert_eq!(stats.requests, 3);
}

#[tokio::test]
async fn a_moved_gitlab_project_costs_the_head_probe_and_the_tree_pages_in_a_fresh_client() {
    let fake = FakeGitLab::start().await;
    fake.add_repo("team/gadgets", [("src/a.js", "1"), ("src/b.css", "x")]);
    let config = fake
        .config_builder_with_token(GITLAB_TOKEN)
        .build()
        .unwrap();
    // The run that stored the head and its validator.
    let first = Forges::new(config.clone()).unwrap();
    let repo = first
        .parse_repo_url(&fake.repo_url("team/gadgets"))
        .unwrap();
    let known = match Forge::head(&first, &repo, "main", None, &mut Usage::default())
        .await
        .unwrap()
    {
        HeadProbe::Moved { sha, validator } => KnownHead { sha, validator },
        other => panic!("first sight is a move: {other:?}"),
    };
    assert!(known.validator.is_some());
    let new_head: CommitSha = fake.commit("team/gadgets", "main", [("src/a.js", Some("2"))]);

    // The next hourly run is a new process: a new client with only what the store kept.
    let fresh = Forges::new(config).unwrap();
    fake.reset_stats();
    let mut usage = Usage::default();
    let probe = Forge::head(&fresh, &repo, "main", Some(&known), &mut usage)
        .await
        .unwrap();
    assert!(probe.moved());
    assert_eq!(probe.sha(), &new_head);
    let found = Forge::blob_shas(
        &fresh,
        &repo,
        &new_head,
        &["src/a.js".to_owned()],
        &mut usage,
    )
    .await
    .unwrap();
    assert!(found.contains_key("src/a.js"));
    let stats = fake.stats();
    assert_eq!(
        stats.by_endpoint.get(&Endpoint::Project),
        None,
        "the stored validator names the project: no lookup"
    );
    assert_eq!(stats.by_endpoint.get(&Endpoint::Branch), Some(&1));
    assert_eq!(stats.by_endpoint.get(&Endpoint::Tree), Some(&1));
    assert_eq!(stats.requests, 2);
    assert_eq!(usage.requests, 2);
}
