//! The GitHub client against the fake GitHub: request counts, quota, typed outcomes and faults.

use std::time::Duration;

use wikiscriptsync_forge::testkit::{Endpoint, FakeGitHub, Fault, TEST_USER_AGENT};
use wikiscriptsync_forge::{
    BlobSha, Forge, ForgeError, Forges, HeadProbe, KnownHead, LimitKind, Missing, RepoLocator,
    Usage,
};

const TOKEN: &str = "ghp_TestTokenThatMustNeverLeak";

struct Setup {
    fake: FakeGitHub,
    forges: Forges,
    repo: RepoLocator,
}

async fn setup(token: bool) -> Setup {
    let fake = FakeGitHub::start().await;
    fake.add_repo(
        "octo/gadgets",
        [
            ("README.md", "# Gadgets\n"),
            (
                "src/Gadget.js",
                "mw.hook('wikipage.content').add(() => {});\n",
            ),
            ("src/Gadget.css", ".gadget { color: red; }\n"),
            ("conf/settings.json", "{\"a\": 1}\n"),
            ("lib/vendor/x.min.js", "var x=1;"),
        ],
    );
    let builder = if token {
        fake.config_builder_with_token(TOKEN)
    } else {
        fake.config_builder()
    };
    let forges = Forges::new(builder.build().unwrap()).unwrap();
    let repo = forges
        .parse_repo_url(&fake.repo_url("octo/gadgets"))
        .unwrap();
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
async fn head_probe_is_one_request_and_free_when_unchanged_with_a_token() {
    let s = setup(true).await;
    let mut first = Usage::default();
    let probe = Forge::head(&s.forges, &s.repo, "main", None, &mut first)
        .await
        .unwrap();
    assert_eq!(
        probe.sha(),
        &s.fake.head_of("octo/gadgets", "main").unwrap()
    );
    assert!(probe.moved());
    assert_eq!((first.requests, first.quota_spent), (1, 1));

    let mut second = Usage::default();
    let again = Forge::head(
        &s.forges,
        &s.repo,
        "main",
        Some(&known(&probe)),
        &mut second,
    )
    .await
    .unwrap();
    assert_eq!(
        again,
        HeadProbe::NotModified {
            sha: probe.sha().clone()
        }
    );
    assert_eq!(
        (second.requests, second.quota_spent, second.not_modified),
        (1, 0, 1)
    );
    assert_eq!(s.fake.stats().quota_spent, 1, "the fake charged the 304");
    let last = s.fake.requests().pop().unwrap();
    assert_eq!(last.endpoint, Endpoint::Commit);
    assert_eq!(last.accept.as_deref(), Some("application/vnd.github.sha"));
    assert_eq!(last.if_none_match, Some(format!("\"{}\"", probe.sha())));
    assert_eq!(last.status, 304);
}

#[tokio::test]
async fn head_probe_uses_the_sha_as_etag_when_the_store_kept_no_validator() {
    let s = setup(true).await;
    let sha = s.fake.head_of("octo/gadgets", "main").unwrap();
    let mut usage = Usage::default();
    let probe = Forge::head(
        &s.forges,
        &s.repo,
        "main",
        Some(&KnownHead {
            sha: sha.clone(),
            validator: None,
        }),
        &mut usage,
    )
    .await
    .unwrap();
    assert_eq!(probe, HeadProbe::NotModified { sha });
    assert_eq!(usage.quota_spent, 0);
}

#[tokio::test]
async fn unauthenticated_304_still_costs_quota() {
    let s = setup(false).await;
    let mut usage = Usage::default();
    let probe = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    let mut usage = Usage::default();
    let again = Forge::head(&s.forges, &s.repo, "main", Some(&known(&probe)), &mut usage)
        .await
        .unwrap();
    assert!(!again.moved());
    assert_eq!((usage.requests, usage.quota_spent), (1, 1));
    assert_eq!(s.fake.stats().quota_spent, 2);
    assert_eq!(usage.latest_snapshot().unwrap().limit, Some(60));
}

#[tokio::test]
async fn head_probe_reports_moved_after_a_push() {
    let s = setup(true).await;
    let mut usage = Usage::default();
    let probe = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    let new_head = s.fake.commit(
        "octo/gadgets",
        "main",
        [("src/Gadget.js", Some("changed();"))],
    );
    let moved = Forge::head(&s.forges, &s.repo, "main", Some(&known(&probe)), &mut usage)
        .await
        .unwrap();
    assert!(matches!(&moved, HeadProbe::Moved { sha, validator: Some(_) } if *sha == new_head));
}

#[tokio::test]
async fn head_of_a_missing_repository_or_branch_is_not_found_with_what_is_missing() {
    let s = setup(true).await;
    let mut usage = Usage::default();
    let missing_repo = s
        .forges
        .parse_repo_url("https://github.com/octo/nothing")
        .unwrap();
    let err = Forge::head(&s.forges, &missing_repo, "main", None, &mut usage)
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
    let err = Forge::head(&s.forges, &s.repo, "no-such-branch", None, &mut usage)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ForgeError::BranchNotFound { repository, branch }
                if repository == &s.repo.full_name() && branch == "no-such-branch"
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`no-such-branch`"), "{err}");
}

#[tokio::test]
async fn private_repository_without_a_token_looks_missing() {
    let s = setup(false).await;
    s.fake
        .add_repo_with("octo/private", "main", true, [("a.js", "1")]);
    let repo = s
        .forges
        .parse_repo_url("https://github.com/octo/private")
        .unwrap();
    let err = Forge::head(&s.forges, &repo, "main", None, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ForgeError::NotFound {
            what: Missing::Repository,
            ..
        }
    ));
    assert!(
        err.to_string().contains("only public repositories"),
        "{err}"
    );
}

#[tokio::test]
async fn exhausted_primary_quota_stops_all_requests_to_the_host_until_reset() {
    let s = setup(true).await;
    s.fake.push_fault(Fault::PrimaryRateLimit);
    let mut usage = Usage::default();
    let err = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap_err();
    let ForgeError::RateLimited {
        kind: LimitKind::Primary,
        retry_at,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(retry_at > std::time::SystemTime::now());
    assert_eq!(usage.requests, 1);
    assert_eq!(usage.latest_snapshot().unwrap().remaining, Some(0));
    // Every later call is refused without a request.
    let err = Forge::default_branch(&s.forges, &s.repo, &mut usage)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ForgeError::RateLimited {
            kind: LimitKind::Primary,
            ..
        }
    ));
    assert_eq!(s.fake.stats().requests, 1);
}

#[tokio::test]
async fn secondary_limit_with_retry_after_is_waited_out_and_retried() {
    let s = setup(true).await;
    s.fake.push_fault(Fault::SecondaryRateLimit {
        status: 403,
        retry_after: Some(0),
    });
    let mut usage = Usage::default();
    let probe = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    assert!(probe.moved());
    assert_eq!(usage.requests, 2);
    assert_eq!(s.fake.stats().requests, 2);
}

#[tokio::test]
async fn secondary_429_without_retry_after_backs_off_from_the_floor() {
    let s = setup(true).await;
    s.fake.push_fault_on(
        Endpoint::Tree,
        Fault::SecondaryRateLimit {
            status: 429,
            retry_after: None,
        },
        2,
    );
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let mut usage = Usage::default();
    let files = Forge::publishable_files(&s.forges, &s.repo, &commit, &mut usage)
        .await
        .unwrap();
    assert_eq!(files.len(), 4);
    assert_eq!(usage.requests, 3);
}

#[tokio::test]
async fn secondary_limit_longer_than_the_maximum_wait_is_returned_not_slept() {
    let s = setup(true).await;
    s.fake.push_fault(Fault::SecondaryRateLimit {
        status: 403,
        retry_after: Some(3600),
    });
    let mut usage = Usage::default();
    let asked_at = std::time::SystemTime::now();
    let err = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap_err();
    // The error carries the asked hour (the caller reschedules) ...
    let ForgeError::RateLimited {
        kind: LimitKind::Secondary,
        retry_at,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(
        retry_at >= asked_at + Duration::from_secs(3600),
        "{retry_at:?} is earlier than the hour asked for"
    );
    // ... and the client did not wait and try again: a sleep would have been followed by a
    // second request.
    assert_eq!(usage.requests, 1);
    assert_eq!(s.fake.stats().requests, 1);
    // The host stays blocked for the asked time.
    let err = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::RateLimited { .. }));
    assert_eq!(s.fake.stats().requests, 1);
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let s = setup(true).await;
    s.fake.push_fault(Fault::ServerError(502));
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
async fn persistent_server_errors_give_up_after_the_retry_budget() {
    let s = setup(true).await;
    s.fake
        .push_fault_on(Endpoint::Commit, Fault::ServerError(503), 10);
    let mut usage = Usage::default();
    let err = Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::Server {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(usage.requests, 3);
    assert!(err.is_transient());
}

#[tokio::test]
async fn slow_server_times_out_with_a_typed_error() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/gadgets", [("a.js", "1")]);
    let forges = Forges::new(
        fake.config_builder()
            .request_timeout(Duration::from_millis(150))
            .build()
            .unwrap(),
    )
    .unwrap();
    let repo = forges
        .parse_repo_url(&fake.repo_url("octo/gadgets"))
        .unwrap();
    fake.push_fault(Fault::Delay(Duration::from_millis(800)));
    let err = Forge::head(&forges, &repo, "main", None, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn malformed_json_is_a_typed_error() {
    let s = setup(true).await;
    s.fake
        .push_fault_on(Endpoint::Tree, Fault::MalformedJson, 1);
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let err = Forge::publishable_files(&s.forges, &s.repo, &commit, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::Malformed { what: "tree", .. }),
        "{err:?}"
    );
    s.fake
        .push_fault_on(Endpoint::Repository, Fault::MalformedJson, 1);
    let err = Forge::default_branch(&s.forges, &s.repo, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Malformed { .. }), "{err:?}");
}

#[tokio::test]
async fn publishable_files_are_the_js_css_and_json_files_with_blob_shas_in_one_request() {
    let s = setup(true).await;
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let mut usage = Usage::default();
    let files = Forge::publishable_files(&s.forges, &s.repo, &commit, &mut usage)
        .await
        .unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "conf/settings.json",
            "lib/vendor/x.min.js",
            "src/Gadget.css",
            "src/Gadget.js"
        ]
    );
    assert_eq!(
        files[3].blob_sha,
        s.fake
            .blob_sha_of("octo/gadgets", "main", "src/Gadget.js")
            .unwrap()
    );
    assert_eq!(
        files[3].size,
        Some("mw.hook('wikipage.content').add(() => {});\n".len() as u64)
    );
    assert_eq!(usage.requests, 1);
    let request = s.fake.requests().pop().unwrap();
    assert_eq!(
        request.path_and_query,
        format!("/repos/octo/gadgets/git/trees/{commit}?recursive=1")
    );
}

#[tokio::test]
async fn blob_shas_of_watched_paths_take_one_tree_request_and_omit_missing_paths() {
    let s = setup(true).await;
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let mut usage = Usage::default();
    let watched = vec![
        "src/Gadget.js".to_owned(),
        "src/Gadget.css".to_owned(),
        "gone.js".to_owned(),
    ];
    let found = Forge::blob_shas(&s.forges, &s.repo, &commit, &watched, &mut usage)
        .await
        .unwrap();
    assert_eq!(usage.requests, 1);
    assert_eq!(found.len(), 2);
    assert!(!found.contains_key("gone.js"));
    assert_eq!(
        found["src/Gadget.css"].blob_sha,
        BlobSha::of_bytes(b".gadget { color: red; }\n")
    );
}

#[tokio::test]
async fn truncated_tree_is_completed_by_walking_only_the_needed_subtrees() {
    let s = setup(true).await;
    s.fake.truncate_recursive_trees(true);
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let mut usage = Usage::default();
    let found = Forge::blob_shas(
        &s.forges,
        &s.repo,
        &commit,
        &["src/Gadget.js".to_owned()],
        &mut usage,
    )
    .await
    .unwrap();
    assert_eq!(
        found["src/Gadget.js"].blob_sha,
        s.fake
            .blob_sha_of("octo/gadgets", "main", "src/Gadget.js")
            .unwrap()
    );
    // truncated recursive answer, root, src/ — not conf/ or lib/.
    assert_eq!(usage.requests, 3);
    let mut usage = Usage::default();
    let all = Forge::publishable_files(&s.forges, &s.repo, &commit, &mut usage)
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    // truncated answer, root, conf, lib, lib/vendor, src.
    assert_eq!(usage.requests, 6);
}

#[tokio::test]
async fn truncated_tree_beyond_the_request_budget_is_refused() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/deep", [("a/b/c/d/e.js", "1")]);
    fake.truncate_recursive_trees(true);
    let forges = Forges::new(fake.config_builder().max_tree_requests(2).build().unwrap()).unwrap();
    let repo = forges.parse_repo_url(&fake.repo_url("octo/deep")).unwrap();
    let commit = fake.head_of("octo/deep", "main").unwrap();
    let err = Forge::publishable_files(&forges, &repo, &commit, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::TreeTooLarge { limit: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn file_content_is_read_at_the_commit_and_verified() {
    let s = setup(true).await;
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let expected = s
        .fake
        .blob_sha_of("octo/gadgets", "main", "src/Gadget.css")
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
    assert_eq!(content.text().unwrap(), ".gadget { color: red; }\n");
    assert_eq!(content.blob_sha, expected);
    assert_eq!(usage.requests, 1);
    let request = s.fake.requests().pop().unwrap();
    assert_eq!(
        request.path_and_query,
        format!("/repos/octo/gadgets/contents/src/Gadget.css?ref={commit}")
    );
    assert_eq!(
        request.accept.as_deref(),
        Some("application/vnd.github.raw+json")
    );
}

#[tokio::test]
async fn file_content_without_an_expected_sha_looks_it_up_in_the_tree_first() {
    let s = setup(true).await;
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let mut usage = Usage::default();
    let content = Forge::file_content(
        &s.forges,
        &s.repo,
        &commit,
        "conf/settings.json",
        None,
        &mut usage,
    )
    .await
    .unwrap();
    assert_eq!(content.bytes, b"{\"a\": 1}\n");
    assert_eq!(usage.requests, 2);
}

#[tokio::test]
async fn tampered_file_content_is_caught_by_blob_verification() {
    let s = setup(true).await;
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let expected = s
        .fake
        .blob_sha_of("octo/gadgets", "main", "src/Gadget.js")
        .unwrap();
    s.fake
        .push_fault_on(Endpoint::Contents, Fault::TamperedContent, 1);
    let err = Forge::file_content(
        &s.forges,
        &s.repo,
        &commit,
        "src/Gadget.js",
        Some(&expected),
        &mut Usage::default(),
    )
    .await
    .unwrap_err();
    let ForgeError::BlobMismatch {
        expected: e,
        actual,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(e, &expected);
    assert_ne!(actual, &expected);
}

#[tokio::test]
async fn files_over_the_size_limit_are_refused_with_a_clear_error() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("octo/big", [("big.js", "x".repeat(5000))]);
    let forges = Forges::new(fake.config_builder().max_file_bytes(1000).build().unwrap()).unwrap();
    let repo = forges.parse_repo_url(&fake.repo_url("octo/big")).unwrap();
    let commit = fake.head_of("octo/big", "main").unwrap();
    // Known size from the tree: refused before downloading.
    let mut usage = Usage::default();
    let err = Forge::file_content(&forges, &repo, &commit, "big.js", None, &mut usage)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ForgeError::TooLarge { path, size: 5000, limit: 1000 } if path == "big.js"),
        "{err:?}"
    );
    assert_eq!(usage.requests, 1);
    // Unknown size: the download stops at the limit.
    let expected = fake.blob_sha_of("octo/big", "main", "big.js").unwrap();
    let err = Forge::file_content(
        &forges,
        &repo,
        &commit,
        "big.js",
        Some(&expected),
        &mut Usage::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ForgeError::TooLarge { path, limit: 1000, .. } if path == "big.js"),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_file_or_commit_is_not_found() {
    let s = setup(true).await;
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let some_blob = BlobSha::of_bytes(b"x");
    let err = Forge::file_content(
        &s.forges,
        &s.repo,
        &commit,
        "nope.js",
        Some(&some_blob),
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
    let unknown = "1111111111111111111111111111111111111111".parse().unwrap();
    let err = Forge::publishable_files(&s.forges, &s.repo, &unknown, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::NotFound {
                what: Missing::Commit,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn default_branch_is_read_once_then_revalidated_for_free() {
    let s = setup(true).await;
    s.fake
        .add_repo_with("octo/trunk", "trunk", false, [("a.js", "1")]);
    let repo = s
        .forges
        .parse_repo_url("https://github.com/octo/trunk")
        .unwrap();
    let mut usage = Usage::default();
    assert_eq!(
        Forge::default_branch(&s.forges, &repo, &mut usage)
            .await
            .unwrap(),
        "trunk"
    );
    assert_eq!(
        Forge::default_branch(&s.forges, &repo, &mut usage)
            .await
            .unwrap(),
        "trunk"
    );
    assert_eq!(
        (usage.requests, usage.quota_spent, usage.not_modified),
        (2, 1, 1)
    );
    let second = s.fake.requests().pop().unwrap();
    assert!(
        second
            .if_none_match
            .as_deref()
            .is_some_and(|e| e.starts_with("W/\"")),
        "{second:?}"
    );
    let err = Forge::default_branch(
        &s.forges,
        &s.forges
            .parse_repo_url("https://github.com/octo/none")
            .unwrap(),
        &mut usage,
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        ForgeError::NotFound {
            what: Missing::Repository,
            ..
        }
    ));
}

#[tokio::test]
async fn every_request_carries_the_user_agent_and_the_token_only_in_the_authorization_header() {
    let s = setup(true).await;
    let commit = s.fake.head_of("octo/gadgets", "main").unwrap();
    let mut usage = Usage::default();
    Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    Forge::publishable_files(&s.forges, &s.repo, &commit, &mut usage)
        .await
        .unwrap();
    Forge::file_content(
        &s.forges,
        &s.repo,
        &commit,
        "src/Gadget.js",
        None,
        &mut usage,
    )
    .await
    .unwrap();
    let requests = s.fake.requests();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(r.user_agent.as_deref(), Some(TEST_USER_AGENT));
        assert!(r.authorized);
        assert!(!r.path_and_query.contains(TOKEN));
    }
}

#[tokio::test]
async fn a_bad_token_is_unauthorized_and_never_shown() {
    let s = setup(true).await;
    s.fake.accept_only_token("ghp_the_right_one");
    let err = Forge::head(&s.forges, &s.repo, "main", None, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?} {:?} {:?}", s.forges, s.forges.config());
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[tokio::test]
async fn requests_go_only_to_allow_listed_hosts() {
    let s = setup(true).await;
    let elsewhere = wiremock::MockServer::start().await;
    let mut repo = s.repo.clone();
    repo.api_base = format!("{}/", elsewhere.uri()).parse().unwrap();
    let err = Forge::head(&s.forges, &repo, "main", None, &mut Usage::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::HostNotAllowed { .. }), "{err:?}");
    assert!(
        elsewhere
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
    assert_eq!(s.fake.stats().requests, 0);
}

#[tokio::test]
async fn rate_limit_snapshots_are_handed_to_the_caller_and_kept_per_host() {
    let s = setup(true).await;
    let mut usage = Usage::default();
    Forge::head(&s.forges, &s.repo, "main", None, &mut usage)
        .await
        .unwrap();
    let snapshot = usage.latest_snapshot().unwrap().clone();
    assert_eq!(
        (snapshot.limit, snapshot.remaining, snapshot.used),
        (Some(5000), Some(4999), Some(1))
    );
    assert_eq!(snapshot.resource.as_deref(), Some("core"));
    assert_eq!(s.forges.rate_limit(&s.repo), Some(snapshot.clone()));
    assert_eq!(
        s.forges.rate_limits().get(&s.repo.api_host()),
        Some(&snapshot)
    );
}

#[tokio::test]
async fn the_fake_lists_a_directory_through_the_contents_api_like_github() {
    let s = setup(true).await;
    let url = format!("{}/repos/octo/gadgets/contents/src?ref=main", s.fake.uri());
    let listing: serde_json::Value = reqwest::Client::new()
        .get(url)
        .header("User-Agent", TEST_USER_AGENT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Gadget.css", "Gadget.js"]);
    assert_eq!(listing[0]["type"], "file");
    assert_eq!(
        listing[0]["sha"],
        s.fake
            .blob_sha_of("octo/gadgets", "main", "src/Gadget.css")
            .unwrap()
            .as_str()
    );
}

#[tokio::test]
async fn branches_are_listed_in_one_request_and_filtered_ignoring_case() {
    let s = setup(true).await;
    s.fake
        .commit("octo/gadgets", "Feature/Login", [("a.js", Some("1"))]);
    s.fake
        .commit("octo/gadgets", "develop", [("a.js", Some("2"))]);
    s.fake.record_requests(true);
    let mut usage = Usage::default();
    let all = Forge::branches(&s.forges, &s.repo, "", &mut usage)
        .await
        .unwrap();
    assert_eq!(all, ["Feature/Login", "develop", "main"]);
    assert_eq!(usage.requests, 1);
    let request = s.fake.requests().pop().unwrap();
    assert_eq!(request.endpoint, Endpoint::Branches);
    assert_eq!(
        request.path_and_query,
        "/repos/octo/gadgets/branches?per_page=100"
    );
    let found = Forge::branches(&s.forges, &s.repo, "feature", &mut Usage::default())
        .await
        .unwrap();
    assert_eq!(found, ["Feature/Login"]);
}

#[tokio::test]
async fn a_mistyped_branch_is_a_typed_error_with_near_matches_among_the_branches() {
    let s = setup(true).await;
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
    assert_eq!(usage.requests, 2);
}

#[tokio::test]
async fn branches_of_a_missing_repository_are_a_not_found_repository() {
    let s = setup(true).await;
    let missing = s
        .forges
        .parse_repo_url(&s.fake.repo_url("octo/nothing"))
        .unwrap();
    let err = Forge::branches(&s.forges, &missing, "", &mut Usage::default())
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
}

#[tokio::test]
async fn the_fake_lists_branches_as_github_documents_with_link_pagination() {
    let s = setup(false).await;
    for i in 0..3 {
        s.fake
            .commit("octo/gadgets", &format!("b{i}"), [("a.js", Some("x"))]);
    }
    let client = reqwest::Client::new();
    let url = format!("{}/repos/octo/gadgets/branches?per_page=2", s.fake.uri());
    let answer = client
        .get(&url)
        .header("User-Agent", TEST_USER_AGENT)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let link = answer.headers()["link"].to_str().unwrap().to_owned();
    assert!(answer.headers().contains_key("etag"));
    let page: serde_json::Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    let head = s.fake.head_of("octo/gadgets", "b0").unwrap();
    assert_eq!(page[0]["name"], "b0");
    assert_eq!(page[0]["commit"]["sha"], head.as_str());
    assert_eq!(
        page[0]["commit"]["url"],
        format!(
            "{}/repos/octo/gadgets/commits/{}",
            s.fake.uri(),
            head.as_str()
        )
    );
    assert_eq!(page[0]["protected"], false);
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert!(link.contains("page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=2>; rel=\"last\""), "{link}");
}
