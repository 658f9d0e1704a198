//! Every API call × every scripted fault, on both forges: the outcome is typed and the request
//! count is what the retry policy promises.
//!
//! Trees and file contents are addressed by commit SHA, so they are immutable and never sent
//! conditionally; the 304 cases of the conditional calls are in `github_api.rs`.

use std::time::Duration;

use wikiscriptsync_forge::testkit::{Endpoint, FakeGitHub, FakeGitLab, FakeServer, Fault};
use wikiscriptsync_forge::{
    BlobSha, CommitSha, Forge, ForgeError, ForgeKind, Forges, LimitKind, Missing, RepoLocator,
    Usage,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    DefaultBranch,
    Head,
    PublishableFiles,
    BlobShas,
    FileContent,
}

const CALLS: [Call; 5] = [
    Call::DefaultBranch,
    Call::Head,
    Call::PublishableFiles,
    Call::BlobShas,
    Call::FileContent,
];

fn endpoint(kind: ForgeKind, call: Call) -> Endpoint {
    match (kind, call) {
        (ForgeKind::GitHub, Call::DefaultBranch) => Endpoint::Repository,
        (ForgeKind::GitHub, Call::Head) => Endpoint::Commit,
        (ForgeKind::GitHub, Call::FileContent) => Endpoint::Contents,
        (ForgeKind::GitLab, Call::DefaultBranch) => Endpoint::Project,
        (ForgeKind::GitLab, Call::Head) => Endpoint::Branch,
        (ForgeKind::GitLab, Call::FileContent) => Endpoint::Files,
        (_, Call::PublishableFiles | Call::BlobShas) => Endpoint::Tree,
    }
}

struct World {
    github: Option<FakeGitHub>,
    gitlab: Option<FakeGitLab>,
    forges: Forges,
    repo: RepoLocator,
    commit: CommitSha,
    blob: BlobSha,
}

async fn world(kind: ForgeKind, timeout: Duration) -> World {
    let files = [("src/Gadget.js", "mw.log(1);\n"), ("README.md", "x\n")];
    let (github, gitlab, builder, url) = match kind {
        ForgeKind::GitHub => {
            let fake = FakeGitHub::start().await;
            fake.add_repo("o/r", files);
            let builder = fake.config_builder_with_token("t");
            let url = fake.repo_url("o/r");
            (Some(fake), None, builder, url)
        }
        ForgeKind::GitLab => {
            let fake = FakeGitLab::start().await;
            fake.add_repo("g/r", files);
            let builder = fake.config_builder_with_token("t");
            let url = fake.repo_url("g/r");
            (None, Some(fake), builder, url)
        }
    };
    let forges = Forges::new(builder.request_timeout(timeout).build().unwrap()).unwrap();
    let repo = forges.parse_repo_url(&url).unwrap();
    let name = if kind == ForgeKind::GitHub {
        "o/r"
    } else {
        "g/r"
    };
    let server: &FakeServer = github.as_deref().or(gitlab.as_deref()).unwrap();
    let commit = server.head_of(name, "main").unwrap();
    let blob = server.blob_sha_of(name, "main", "src/Gadget.js").unwrap();
    // Resolve GitLab's project id up front so faults hit the call's own endpoint. (Not on
    // GitHub: it would make the repository call conditional and answered 304 from the cache.)
    if kind == ForgeKind::GitLab {
        Forge::default_branch(&forges, &repo, &mut Usage::default())
            .await
            .unwrap();
    }
    server.reset_stats();
    World {
        github,
        gitlab,
        forges,
        repo,
        commit,
        blob,
    }
}

impl World {
    fn fake(&self) -> &FakeServer {
        self.github.as_deref().or(self.gitlab.as_deref()).unwrap()
    }

    async fn run(
        &self,
        call: Call,
        repo: &RepoLocator,
        usage: &mut Usage,
    ) -> Result<(), ForgeError> {
        let f: &dyn Forge = &self.forges;
        match call {
            Call::DefaultBranch => f
                .default_branch(repo, usage)
                .await
                .map(|b| assert_eq!(b, "main")),
            Call::Head => f
                .head(repo, "main", None, usage)
                .await
                .map(|h| assert_eq!(h.sha(), &self.commit)),
            Call::PublishableFiles => f
                .publishable_files(repo, &self.commit, usage)
                .await
                .map(|v| assert_eq!(v.len(), 1)),
            Call::BlobShas => f
                .blob_shas(repo, &self.commit, &["src/Gadget.js".to_owned()], usage)
                .await
                .map(|m| assert_eq!(m["src/Gadget.js"].blob_sha, self.blob)),
            Call::FileContent => f
                .file_content(repo, &self.commit, "src/Gadget.js", Some(&self.blob), usage)
                .await
                .map(|c| assert_eq!(c.bytes, b"mw.log(1);\n")),
        }
    }
}

async fn matrix(kind: ForgeKind) {
    for call in CALLS {
        let ep = endpoint(kind, call);
        let ctx = format!("{kind} {call:?}");

        // Success: one request.
        let w = world(kind, Duration::from_secs(2)).await;
        let mut usage = Usage::default();
        w.run(call, &w.repo, &mut usage)
            .await
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(usage.requests, 1, "{ctx}: success");
        assert!(!usage.snapshots.is_empty(), "{ctx}: snapshot");

        // Not found.
        let mut missing = w.repo.clone();
        missing.name = "missing".into();
        let err = w
            .run(call, &missing, &mut Usage::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ForgeError::NotFound {
                    what: Missing::Repository | Missing::Commit | Missing::File,
                    ..
                }
            ),
            "{ctx}: {err:?}"
        );

        // Primary limit: typed error, then no more requests to the host.
        w.fake().push_fault_on(ep, Fault::PrimaryRateLimit, 1);
        let err = w
            .run(call, &w.repo, &mut Usage::default())
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
            "{ctx}: {err:?}"
        );
        let before = w.fake().stats().requests;
        assert!(w.run(call, &w.repo, &mut Usage::default()).await.is_err());
        assert_eq!(
            w.fake().stats().requests,
            before,
            "{ctx}: request sent while blocked"
        );

        // Secondary limit (403 on GitHub, 429 on GitLab) with Retry-After: retried, succeeds.
        let w = world(kind, Duration::from_secs(2)).await;
        let status = if kind == ForgeKind::GitHub { 403 } else { 429 };
        w.fake().push_fault_on(
            ep,
            Fault::SecondaryRateLimit {
                status,
                retry_after: Some(0),
            },
            1,
        );
        let mut usage = Usage::default();
        w.run(call, &w.repo, &mut usage)
            .await
            .unwrap_or_else(|e| panic!("{ctx} secondary: {e}"));
        assert_eq!(usage.requests, 2, "{ctx}: secondary");

        // 5xx then success.
        w.fake().push_fault_on(ep, Fault::ServerError(502), 1);
        let mut usage = Usage::default();
        w.run(call, &w.repo, &mut usage)
            .await
            .unwrap_or_else(|e| panic!("{ctx} 5xx: {e}"));
        assert_eq!(usage.requests, 2, "{ctx}: 5xx then success");

        // Malformed body: JSON endpoints say Malformed; raw content fails verification. (A fresh
        // world: a cached ETag would turn GitHub's repository call into a 304.)
        let w = world(kind, Duration::from_secs(2)).await;
        w.fake().push_fault_on(ep, Fault::MalformedJson, 1);
        let err = w
            .run(call, &w.repo, &mut Usage::default())
            .await
            .unwrap_err();
        if call == Call::FileContent {
            assert!(
                matches!(err, ForgeError::BlobMismatch { .. }),
                "{ctx}: {err:?}"
            );
        } else {
            assert!(
                matches!(err, ForgeError::Malformed { .. }),
                "{ctx}: {err:?}"
            );
        }

        // Slow server.
        let w = world(kind, Duration::from_millis(150)).await;
        w.fake()
            .push_fault_on(ep, Fault::Delay(Duration::from_millis(600)), 1);
        let err = w
            .run(call, &w.repo, &mut Usage::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ForgeError::Timeout { .. }), "{ctx}: {err:?}");
    }
}

#[tokio::test]
async fn every_github_call_handles_every_fault_with_a_typed_outcome() {
    matrix(ForgeKind::GitHub).await;
}

#[tokio::test]
async fn every_gitlab_call_handles_every_fault_with_a_typed_outcome() {
    matrix(ForgeKind::GitLab).await;
}

#[tokio::test]
async fn requests_to_one_host_are_serial_by_default() {
    let fake = FakeGitHub::start().await;
    fake.add_repo("o/r", [("a.js", "1")]);
    let forges = Forges::new(fake.config_builder().build().unwrap()).unwrap();
    let repo = forges.parse_repo_url(&fake.repo_url("o/r")).unwrap();
    fake.set_latency(Duration::from_millis(60));
    let started = std::time::Instant::now();
    let (mut a, mut b, mut c) = (Usage::default(), Usage::default(), Usage::default());
    let (ra, rb, rc) = tokio::join!(
        Forge::head(&forges, &repo, "main", None, &mut a),
        Forge::head(&forges, &repo, "main", None, &mut b),
        Forge::head(&forges, &repo, "main", None, &mut c),
    );
    assert!(ra.is_ok() && rb.is_ok() && rc.is_ok());
    // Three requests of 60 ms each, one after the other (a lower bound: it cannot flake).
    assert!(
        started.elapsed() >= Duration::from_millis(180),
        "{:?}",
        started.elapsed()
    );
}
