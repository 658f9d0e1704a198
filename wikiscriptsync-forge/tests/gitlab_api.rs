//! The GitLab client against the fake GitLab: project id resolved once, branch probe, keyset
//! tree pages, raw files by commit, limits and faults.

use std::time::Duration;

use wikiscriptsync_forge::testkit::{Endpoint, FakeGitLab, Fault, TEST_USER_AGENT};
use wikiscriptsync_forge::{
    BlobSha, Forge, ForgeError, ForgeKind, Forges, HeadProbe, KnownHead, LimitKind, Missing,
    RepoLocator, Usage,
};

const TOKEN: &str = "glpat-TestTokenThatMustNeverLeak";

struct Setup {
    fake: FakeGitLab,
    forges: Forges,
    repo: RepoLocator,
}

async fn setup() -> Setup {
    let fake = FakeGitLab::start().await;
    fake.add_repo(
        "wiki/tools/gadgets",
        [
            ("README.md", "# Gadgets\n"),
            ("src/Gadget.js", "mw.log('hi');\n"),
            ("src/Gadget.css", "a { b: c }\n"),
            ("src/deep/x.json", "{}\n"),
        ],
    );
    let forges = Forges::new(fake.config_builder_with_token(TOKEN).build().unwrap()).unwrap();
    let repo = forges
        .parse_repo_url(&fake.repo_url("wiki/tools/gadgets"))
        .unwrap();
    assert_eq!(repo.kind, ForgeKind::GitLab);
    Setup { fake, forges, repo }
}

fn known(probe: &HeadProbe) -> KnownHead {
    match probe {
        HeadProbe::Moved { sha, validator } => KnownHead {
            sha: sha.clone(),
            validator: validator.clone(),
        },
        HeadProbe::NotModified { sha } => KnownHead {
            sha: sha.clone(),
            validator: None,
        },
    }
}

#[tokio::test]
async fn first_probe_resolves_the_project_id_once_then_each_probe_is_one_request() {
    let s = setup().await;
    let mut usage = Usage::default();
    let probe = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    assert_eq!(usage.requests, 2, "project lookup + branch");
    let id = s.fake.project_id("wiki/tools/gadgets").unwrap();
    assert!(
        matches!(&probe, HeadProbe::Moved { validator: Some(v), .. } if *v == format!("gitlab-project:{id}"))
    );
    let requests = s.fake.requests();
    assert_eq!(
        requests[0].path_and_query,
        "/api/v4/projects/wiki%2Ftools%2Fgadgets"
    );
    assert_eq!(
        requests[1].path_and_query,
        format!("/api/v4/projects/{id}/repository/branches/main")
    );

    let mut usage = Usage::default();
    let again = Forge::head(&s.forges, &s.repo, "main", Some(&known(&probe)), &mut usage)
        .await
        .unwrap();
    assert_eq!(
        again,
        HeadProbe::NotModified {
            sha: probe.sha().clone()
        }
    );
    assert_eq!(
        (usage.requests, usage.quota_spent),
        (1, 1),
        "GitLab charges every request"
    );
}

#[tokio::test]
async fn a_fresh_process_with_the_stored_validator_needs_no_project_lookup() {
    let s = setup().await;
    let mut usage = Usage::default();
    let probe = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    let fresh = Forges::new(s.fake.config_builder_with_token(TOKEN).build().unwrap()).unwrap();
    let mut usage = Usage::default();
    let again = Forge::head(&fresh, &s.repo, "main", Some(&known(&probe)), &mut usage)
        .await
        .unwrap();
    assert!(!again.moved());
    assert_eq!(usage.requests, 1);
}

#[tokio::test]
async fn probe_reports_moved_after_a_push_to_a_branch_with_a_slash() {
    let s = setup().await;
    let first = s.fake.commit(
        "wiki/tools/gadgets",
        "feature/x",
        [("src/Gadget.js", Some("v2"))],
    );
    let mut usage = Usage::default();
    let probe = Forge::head(&s.forges, &s.repo, "feature/x", None, &mut usage)
        .await
        .unwrap();
    assert_eq!(probe.sha(), &first);
    assert!(
        s.fake
            .requests()
            .last()
            .unwrap()
            .path_and_query
            .ends_with("/repository/branches/feature%2Fx")
    );
    let second = s.fake.commit(
        "wiki/tools/gadgets",
        "feature/x",
        [("src/Gadget.js", Some("v3"))],
    );
    let moved = Forge::head(
        &s.forges,
        &s.repo,
        "feature/x",
        Some(&known(&probe)),
        &mut usage,
    )
    .await
    .unwrap();
    assert_eq!(moved.sha(), &second);
    assert!(moved.moved());
}

#[tokio::test]
async fn missing_project_or_branch_is_not_found_with_what_is_missing() {
    let s = setup().await;
    let mut usage = Usage::default();
    let missing = s
        .forges
        .parse_repo_url(&s.fake.repo_url("wiki/none"))
        .unwrap();
    let err = Forge::head(&s.forges, &missing, "main", None, &mut usage)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::NotFound {
                what: Missing::Repository,
                ..
            }
        ),
        "{err:?}"
    );
    let err = Forge::head(&s.forges, &s.repo, "nope", None, &mut usage)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ForgeError::BranchNotFound { repository, branch }
                if repository == &s.repo.full_name() && branch == "nope"
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`nope`"), "{err}");
}

#[tokio::test]
async fn throttled_429_with_retry_after_is_waited_out() {
    let s = setup().await;
    s.fake.push_fault_on(
        Endpoint::Branch,
        Fault::SecondaryRateLimit {
            status: 429,
            retry_after: Some(0),
        },
        1,
    );
    let mut usage = Usage::default();
    let probe = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    assert!(probe.moved());
    assert_eq!(usage.requests, 3);
}

#[tokio::test]
async fn exhausted_quota_blocks_the_host_until_reset() {
    let s = setup().await;
    s.fake.set_rate_limits(3, 3);
    let mut usage = Usage::default();
    Forge::default_branch(&s.forges, &s.repo, &mut usage)
        .await
        .unwrap();
    Forge::default_branch(&s.forges, &s.repo, &mut usage)
        .await
        .unwrap();
    Forge::default_branch(&s.forges, &s.repo, &mut usage)
        .await
        .unwrap();
    assert_eq!(usage.latest_snapshot().unwrap().remaining, Some(0));
    let err = Forge::default_branch(&s.forges, &s.repo, &mut usage)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::RateLimited {
                kind: LimitKind::Primary,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        s.fake.stats().requests,
        3,
        "no request once remaining reached 0"
    );
}

#[tokio::test]
async fn scripted_primary_limit_429_is_a_typed_error_when_the_wait_is_too_long() {
    let s = setup().await;
    s.fake.push_fault(Fault::PrimaryRateLimit);
    let err = Forge::default_branch(&s.forges, &s.repo, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::RateLimited { .. }), "{err:?}");
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let s = setup().await;
    s.fake.push_fault(Fault::ServerError(500));
    let mut usage = Usage::default();
    assert_eq!(
        Forge::default_branch(&s.forges, &s.repo, &mut usage)
            .await
            .unwrap(),
        "main"
    );
    assert_eq!(usage.requests, 2);
}

#[tokio::test]
async fn slow_server_times_out() {
    let fake = FakeGitLab::start().await;
    fake.add_repo("g/p", [("a.js", "1")]);
    let forges = Forges::new(
        fake.config_builder()
            .request_timeout(Duration::from_millis(150))
            .build()
            .unwrap(),
    )
    .unwrap();
    let repo = forges.parse_repo_url(&fake.repo_url("g/p")).unwrap();
    fake.push_fault(Fault::Delay(Duration::from_millis(800)));
    let err = Forge::default_branch(&forges, &repo, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn malformed_json_is_a_typed_error() {
    let s = setup().await;
    s.fake
        .push_fault_on(Endpoint::Branch, Fault::MalformedJson, 1);
    let err = Forge::head(&s.forges, &s.repo, "main", None, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::Malformed { what: "head", .. }),
        "{err:?}"
    );
    let commit = s.fake.head_of("wiki/tools/gadgets", "main").unwrap();
    s.fake
        .push_fault_on(Endpoint::Tree, Fault::MalformedJson, 1);
    let err = Forge::publishable_files(&s.forges, &s.repo, &commit, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::Malformed { what: "tree", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn publishable_files_follow_keyset_link_headers_across_pages() {
    let fake = FakeGitLab::start().await;
    let files: Vec<(String, String)> = (0..230)
        .map(|i| (format!("src/f{i:03}.js"), format!("// {i}\n")))
        .collect();
    fake.add_repo("g/big", files);
    let forges = Forges::new(fake.config_builder().build().unwrap()).unwrap();
    let repo = forges.parse_repo_url(&fake.repo_url("g/big")).unwrap();
    let commit = fake.head_of("g/big", "main").unwrap();
    let mut usage = Usage::default();
    let found = Forge::publishable_files(&forges, &repo, &commit, &mut usage)
        .await
        .unwrap();
    assert_eq!(found.len(), 230);
    assert_eq!(found[229].blob_sha, BlobSha::of_bytes(b"// 229\n"));
    // 231 entries (src/ + 230 files) at 100 per page: 3 pages, plus the project lookup.
    assert_eq!(usage.requests, 4);
    let trees: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Tree)
        .collect();
    assert!(
        trees[0]
            .path_and_query
            .contains("recursive=true&per_page=100&pagination=keyset")
    );
    assert!(trees[1].path_and_query.contains("page_token="));
}

#[tokio::test]
async fn instances_without_keyset_trees_are_paged_by_their_offset_link_headers() {
    let fake = FakeGitLab::start().await;
    fake.offset_pagination(true);
    let files: Vec<(String, String)> = (0..150)
        .map(|i| (format!("f{i:03}.css"), format!("/* {i} */")))
        .collect();
    fake.add_repo("g/old", files);
    let forges = Forges::new(fake.config_builder().build().unwrap()).unwrap();
    let repo = forges.parse_repo_url(&fake.repo_url("g/old")).unwrap();
    let commit = fake.head_of("g/old", "main").unwrap();
    let mut usage = Usage::default();
    let found = Forge::publishable_files(&forges, &repo, &commit, &mut usage)
        .await
        .unwrap();
    assert_eq!(found.len(), 150);
    assert_eq!(usage.requests, 3, "project lookup + 2 pages");
    let trees: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Tree)
        .collect();
    assert!(
        trees[1].path_and_query.contains("page=2"),
        "{}",
        trees[1].path_and_query
    );
}

#[tokio::test]
async fn blob_shas_ask_only_for_the_directory_holding_the_watched_paths() {
    let s = setup().await;
    let commit = s.fake.head_of("wiki/tools/gadgets", "main").unwrap();
    let mut usage = Usage::default();
    let watched = vec![
        "src/Gadget.js".to_owned(),
        "src/deep/x.json".to_owned(),
        "src/gone.css".to_owned(),
    ];
    let found = Forge::blob_shas(&s.forges, &s.repo, &commit, &watched, &mut usage)
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found["src/Gadget.js"].blob_sha,
        BlobSha::of_bytes(b"mw.log('hi');\n")
    );
    let tree = s
        .fake
        .requests()
        .into_iter()
        .find(|r| r.endpoint == Endpoint::Tree)
        .unwrap();
    assert!(
        tree.path_and_query.contains("&path=src&"),
        "{}",
        tree.path_and_query
    );
    // A watched directory that no longer exists (404 since GitLab 17.7) means the files are gone.
    let found = Forge::blob_shas(
        &s.forges,
        &s.repo,
        &commit,
        &["old/a.js".to_owned()],
        &mut usage,
    )
    .await
    .unwrap();
    assert!(found.is_empty());
}

#[tokio::test]
async fn file_content_is_read_raw_at_the_commit_with_the_path_encoded() {
    let s = setup().await;
    let commit = s.fake.head_of("wiki/tools/gadgets", "main").unwrap();
    let expected = s
        .fake
        .blob_sha_of("wiki/tools/gadgets", "main", "src/Gadget.css")
        .unwrap();
    let mut usage = Usage::default();
    let content = Forge::file_content(
        &s.forges,
        &s.repo,
        &commit,
        "src/Gadget.css",
        Some(&expected),
        &mut usage,
    )
    .await
    .unwrap();
    assert_eq!(content.bytes, b"a { b: c }\n");
    let id = s.fake.project_id("wiki/tools/gadgets").unwrap();
    let last = s.fake.requests().pop().unwrap();
    assert_eq!(
        last.path_and_query,
        format!("/api/v4/projects/{id}/repository/files/src%2FGadget.css/raw?ref={commit}")
    );
}

#[tokio::test]
async fn tampered_file_content_is_caught_by_blob_verification() {
    let s = setup().await;
    let commit = s.fake.head_of("wiki/tools/gadgets", "main").unwrap();
    s.fake
        .push_fault_on(Endpoint::Files, Fault::TamperedContent, 1);
    let err = Forge::file_content(
        &s.forges,
        &s.repo,
        &commit,
        "src/Gadget.js",
        None,
        &mut Usage::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ForgeError::BlobMismatch { .. }), "{err:?}");
}

#[tokio::test]
async fn missing_file_is_not_found() {
    let s = setup().await;
    let commit = s.fake.head_of("wiki/tools/gadgets", "main").unwrap();
    let err = Forge::file_content(
        &s.forges,
        &s.repo,
        &commit,
        "nope.js",
        None,
        &mut Usage::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::NotFound {
                what: Missing::File,
                ..
            }
        ),
        "{err:?}"
    );
    let err = Forge::file_content(
        &s.forges,
        &s.repo,
        &commit,
        "nope.js",
        Some(&BlobSha::of_bytes(b"")),
        &mut Usage::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::NotFound {
                what: Missing::File,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn requests_carry_the_user_agent_and_the_token_header_and_snapshots_come_back() {
    let s = setup().await;
    let mut usage = Usage::default();
    Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    for r in s.fake.requests() {
        assert_eq!(r.user_agent.as_deref(), Some(TEST_USER_AGENT));
        assert!(r.authorized);
        assert!(!r.path_and_query.contains(TOKEN));
    }
    let snapshot = usage.latest_snapshot().unwrap();
    assert_eq!(
        (snapshot.limit, snapshot.remaining, snapshot.used),
        (Some(2000), Some(1998), Some(2))
    );
    assert_eq!(
        snapshot.resource.as_deref(),
        Some("throttle_authenticated_api")
    );
}

#[tokio::test]
async fn private_project_needs_the_token() {
    let s = setup().await;
    s.fake
        .add_repo_with("team/secret", "main", true, [("a.js", "1")]);
    let anonymous = Forges::new(s.fake.config_builder().build().unwrap()).unwrap();
    let repo = anonymous
        .parse_repo_url(&s.fake.repo_url("team/secret"))
        .unwrap();
    let err = anonymous.head(&repo, "main", None).await.unwrap_err();
    assert!(matches!(
        err,
        ForgeError::NotFound {
            what: Missing::Repository,
            ..
        }
    ));
    assert!(
        Forge::head(&s.forges, &repo, "main", None, &mut Usage::default())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn branches_are_searched_on_the_server_in_one_request_after_the_project_id() {
    let s = setup().await;
    s.fake
        .commit("wiki/tools/gadgets", "feature/login", [("a.js", Some("1"))]);
    s.fake
        .commit("wiki/tools/gadgets", "develop", [("a.js", Some("2"))]);
    s.fake.record_requests(true);
    let mut usage = Usage::default();
    let all = Forge::branches(&s.forges, &s.repo, "", &mut usage)
        .await
        .unwrap();
    assert_eq!(all, ["develop", "feature/login", "main"]);
    // The project id lookup, then the list.
    assert_eq!(usage.requests, 2);
    let found = Forge::branches(&s.forges, &s.repo, "LOG", &mut usage)
        .await
        .unwrap();
    assert_eq!(found, ["feature/login"]);
    let request = s.fake.requests().pop().unwrap();
    assert_eq!(request.endpoint, Endpoint::Branches);
    assert!(
        request
            .path_and_query
            .ends_with("/repository/branches?search=LOG&per_page=100"),
        "{}",
        request.path_and_query
    );
    let anchored = Forge::branches(&s.forges, &s.repo, "^dev", &mut usage)
        .await
        .unwrap();
    assert_eq!(anchored, ["develop"]);
}

#[tokio::test]
async fn a_mistyped_branch_is_a_typed_error_with_near_matches_among_the_branches() {
    let s = setup().await;
    let mut usage = Usage::default();
    let err = Forge::head(&s.forges, &s.repo, "mian", None, &mut usage)
        .await
        .unwrap_err();
    let ForgeError::BranchNotFound { branch, .. } = &err else {
        panic!("{err:?}");
    };
    let names = Forge::branches(&s.forges, &s.repo, "", &mut usage)
        .await
        .unwrap();
    assert_eq!(wikiscriptsync_forge::near_matches(branch, &names), ["main"]);
}

#[tokio::test]
async fn the_fake_lists_branches_as_gitlab_documents_with_offset_pagination_headers() {
    let s = setup().await;
    for i in 0..4 {
        s.fake.commit(
            "wiki/tools/gadgets",
            &format!("b{i}"),
            [("a.js", Some("x"))],
        );
    }
    let url = format!(
        "{}/api/v4/projects/wiki%2Ftools%2Fgadgets/repository/branches?search=b&per_page=2&page=2",
        s.fake.uri()
    );
    let answer = reqwest::Client::new()
        .get(&url)
        .header("PRIVATE-TOKEN", TOKEN)
        .header("User-Agent", TEST_USER_AGENT)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    assert_eq!(header("x-page"), "2");
    assert_eq!(header("x-per-page"), "2");
    assert_eq!(header("x-prev-page"), "1");
    assert_eq!(header("x-next-page"), "");
    assert_eq!(header("x-total"), "4");
    assert_eq!(header("x-total-pages"), "2");
    assert!(
        header("link").contains("page=1>; rel=\"prev\""),
        "{}",
        header("link")
    );
    let page: serde_json::Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    let names: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b2", "b3"]);
    let head = s.fake.head_of("wiki/tools/gadgets", "b2").unwrap();
    assert_eq!(page[0]["commit"]["id"], head.as_str());
    for field in [
        "merged",
        "protected",
        "default",
        "developers_can_push",
        "developers_can_merge",
        "can_push",
        "web_url",
    ] {
        assert!(page[0].get(field).is_some(), "{field} missing");
    }
}
