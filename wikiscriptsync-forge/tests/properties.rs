//! Property tests over arbitrary outside input for every parser in this crate: repository URLs
//! and stored locator parts, webhook deliveries (signature header and push payloads), and the
//! forges' answers — JSON bodies and rate-limit headers — as the real clients read them from a
//! server that answers anything. None may panic; what is refused is refused with a typed error
//! whose message says something; what is accepted keeps the parser's own promises.
//!
//! Case counts are bounded (see [`cases`]) so the whole file runs in seconds; a failure found
//! here is kept as a plain regression test below the properties.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use wikiscriptsync_forge::webhook::{
    WebhookError, github_signature, parse_github_push, parse_gitlab_push, verify_github_signature,
    verify_gitlab_token,
};
use wikiscriptsync_forge::{
    CommitSha, Forge, ForgeConfig, ForgeKind, Forges, KnownHead, LocatorError, RepoLocator,
    RetryPolicy, Usage,
};
use wiremock::matchers::any as any_request;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Cases per property: enough to reach the branches, few enough for CI (seconds).
fn cases(n: u32) -> Config {
    Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    }
}

fn config() -> ForgeConfig {
    ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .gitlab_instance("https://git.example.org/gitlab")
        .gitlab_instance("http://127.0.0.1:8929")
        .build()
        .unwrap()
}

fn configured() -> &'static ForgeConfig {
    static CONFIG: OnceLock<ForgeConfig> = OnceLock::new();
    CONFIG.get_or_init(config)
}

// ----- repository URLs and stored locator parts ----------------------------------------------

/// Pieces a hostile or mistyped URL is made of.
fn url_like() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "https://",
        "http://",
        "ssh://git@",
        "git@",
        "ftp://",
        "",
        "HTTPS://",
        "https:/",
    ]);
    let host = prop::sample::select(vec![
        "github.com",
        "www.github.com",
        "GitHub.com",
        "gitlab.com",
        "gitlab.wikimedia.org",
        "git.example.org/gitlab",
        "git.example.org",
        "127.0.0.1:8929",
        "127.0.0.1",
        "[::1]",
        "140.82.112.3",
        "localhost:8930",
        "github.com:8443",
        "user:pw@github.com",
        "example.org",
        "github.com.",
        "",
    ]);
    let segment = prop_oneof![
        prop::sample::select(vec![
            "octo",
            "gadgets",
            "gadgets.git",
            "-",
            "tree",
            "blob",
            "main",
            "src",
            "a.js",
            "..",
            ".",
            "%2e%2e",
            "%2F",
            "%00",
            "%ff",
            "settings",
            "",
            "a b",
            "@{",
            "x\\y",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9._~%@:+!$&'()*,;=\\-]{0,12}",
        any::<String>(),
    ];
    let tail = prop::sample::select(vec!["", "/", "?tab=1", "#readme", "?", "#", "/?a#b"]);
    (
        scheme,
        host,
        prop::collection::vec(segment, 0..7),
        tail,
        prop::sample::select(vec!["/", ":"]),
    )
        .prop_map(|(scheme, host, segments, tail, separator)| {
            let separator = if scheme == "git@" { separator } else { "/" };
            format!("{scheme}{host}{separator}{}{tail}", segments.join("/"))
        })
}

/// What `locate` gives back for a parsed URL: the same repository, without branch or path.
fn bare(locator: &RepoLocator) -> RepoLocator {
    RepoLocator {
        branch: None,
        path: None,
        ..locator.clone()
    }
}

/// The parser's promises for one input: no panic (the caller's harness), a message for a
/// refusal, and an accepted URL that is located again from its stored parts.
fn check_repo_url(input: &str) -> Result<(), TestCaseError> {
    match configured().parse_repo_url(input) {
        Ok(locator) => {
            prop_assert!(!locator.namespace.is_empty() && !locator.name.is_empty());
            let again = configured()
                .locate(locator.kind, &locator.web_host(), &locator.full_name())
                .map_err(|e| {
                    TestCaseError::fail(format!("{input:?} → {locator:?} not located: {e}"))
                })?;
            prop_assert_eq!(again, bare(&locator), "{:?}", input);
        }
        Err(error) => prop_assert!(!error.to_string().is_empty(), "{:?}", input),
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn any_text_as_a_repository_url_is_parsed_or_refused_with_a_reason(input in any::<String>()) {
        check_repo_url(&input)?;
    }

    #[test]
    fn url_shaped_input_is_parsed_or_refused_and_what_is_accepted_is_located_again(
        input in url_like()
    ) {
        check_repo_url(&input)?;
    }

    #[test]
    fn stored_locator_parts_are_located_or_refused_never_reinterpreted(
        kind in prop::sample::select(vec![ForgeKind::GitHub, ForgeKind::GitLab]),
        host in prop_oneof![
            prop::sample::select(vec![
                "github.com", "gitlab.com", "127.0.0.1", "127.0.0.1:8929", "git.example.org",
                "GITLAB.COM", " gitlab.com ", "",
            ]).prop_map(str::to_owned),
            any::<String>(),
        ],
        full_name in prop_oneof![
            "[a-z0-9._/-]{0,24}",
            any::<String>(),
        ],
    ) {
        match configured().locate(kind, &host, &full_name) {
            Ok(locator) => {
                prop_assert_eq!(locator.kind, kind);
                prop_assert_eq!(locator.full_name(), full_name);
                prop_assert!(locator.branch.is_none() && locator.path.is_none());
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }
}

// ----- webhook deliveries ---------------------------------------------------------------------

/// Keys of GitHub and GitLab push payloads, so that generated objects reach past the first
/// missing field.
const PUSH_KEYS: &[&str] = &[
    "ref",
    "before",
    "after",
    "commits",
    "added",
    "modified",
    "removed",
    "repository",
    "full_name",
    "html_url",
    "project",
    "path_with_namespace",
    "web_url",
    "total_commits_count",
    "id",
];

/// Strings a forge answer or a payload holds: object ids, refs, paths, numbers as text.
fn string_leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{40}",
        Just("0".repeat(40)),
        Just(String::new()),
        "refs/(heads|tags)/[a-z/]{0,10}",
        "[a-z]{1,6}/[a-z]{1,6}(\\.(js|css|json))?",
        prop::sample::select(vec![
            "blob",
            "tree",
            "commit",
            "100644",
            "040000",
            "base64",
            "main",
            "public",
            "private",
            "internal",
            "API rate limit exceeded",
            "Not Found",
            "aGk=",
        ])
        .prop_map(str::to_owned),
        "-?[0-9]{1,25}(\\.[0-9]+)?",
        any::<String>(),
    ]
}

/// JSON whose object keys come from `keys` (or anything), with leaves of every type.
fn json_value(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        string_leaf().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        let key = prop_oneof![
            8 => prop::sample::select(keys).prop_map(str::to_owned),
            1 => any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A body: JSON shaped from `keys`, or any bytes at all.
fn body(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_value(keys).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// Either a typed value or, now and then, any JSON: so that objects reach past their first
/// field and each field is also tried with the wrong type.
fn field(
    typed: impl Strategy<Value = Value> + 'static,
    keys: &'static [&'static str],
) -> BoxedStrategy<Value> {
    prop_oneof![9 => typed, 1 => json_value(keys)].boxed()
}

fn object_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => "[0-9a-f]{40}",
        1 => Just("0".repeat(40)),
        1 => "[0-9a-fA-F]{0,70}",
        1 => any::<String>(),
    ]
    .prop_map(Value::String)
}

/// A push payload with every field GitHub and GitLab send (each parser ignores the other's),
/// each typed as documented or, now and then, anything.
fn push_like() -> impl Strategy<Value = Value> {
    let text = || field(string_leaf().prop_map(Value::String), PUSH_KEYS);
    let paths = || {
        field(
            prop::collection::vec(string_leaf(), 0..4).prop_map(|p| json!(p)),
            PUSH_KEYS,
        )
    };
    let commit = (paths(), paths(), paths())
        .prop_map(|(added, modified, removed)| json!({"added": added, "modified": modified, "removed": removed}));
    (
        field(
            prop_oneof!["refs/(heads|tags)/[a-z/.-]{0,12}", any::<String>()]
                .prop_map(Value::String),
            PUSH_KEYS,
        ),
        field(object_id(), PUSH_KEYS),
        field(object_id(), PUSH_KEYS),
        field(
            prop::collection::vec(commit, 0..4).prop_map(Value::Array),
            PUSH_KEYS,
        ),
        (text(), text(), text(), text()),
        field(any::<u64>().prop_map(Value::from), PUSH_KEYS),
    )
        .prop_map(
            |(git_ref, before, after, commits, (name, url, path, web), total)| {
                json!({
                    "ref": git_ref, "before": before, "after": after, "commits": commits,
                    "repository": {"full_name": name, "html_url": url},
                    "project": {"path_with_namespace": path, "web_url": web},
                    "total_commits_count": total,
                })
            },
        )
}

fn secret() -> SecretString {
    SecretString::from("webhook-secret".to_owned())
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn push_payloads_are_parsed_or_refused_as_bad_payloads(
        github in prop_oneof![
            3 => push_like().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            1 => body(PUSH_KEYS),
        ],
        gitlab in prop_oneof![
            3 => push_like().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            1 => body(PUSH_KEYS),
        ],
    ) {
        for (body, parsed) in [
            (&github, parse_github_push(&github)),
            (&gitlab, parse_gitlab_push(&gitlab)),
        ] {
            match parsed {
                Ok(event) => {
                    // An accepted push names its repository and keeps removed ⊆ changed.
                    prop_assert!(event.removed_paths.is_subset(&event.changed_paths));
                    if let Some(branch) = &event.branch {
                        prop_assert_eq!(format!("refs/heads/{branch}"), event.git_ref.clone());
                    }
                }
                Err(WebhookError::BadPayload(reason)) => prop_assert!(!reason.is_empty()),
                Err(other) => prop_assert!(false, "{:?} refused as {:?}", body, other),
            }
        }
    }

    #[test]
    fn signature_headers_are_verified_or_refused_never_trusted_by_shape(
        header in prop_oneof![
            "sha256=[0-9a-fA-F]{0,70}",
            "sha1=[0-9a-f]{40}",
            any::<String>(),
        ],
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let right = github_signature(&secret(), &body);
        let result = verify_github_signature(&secret(), &body, Some(&header));
        // GitHub's prefix as sent, then the hex digest in either case; spaces around are kept
        // out by the header's own trimming.
        let same = header
            .trim()
            .strip_prefix("sha256=")
            .zip(right.strip_prefix("sha256="))
            .is_some_and(|(given, expected)| given.eq_ignore_ascii_case(expected));
        if same {
            prop_assert!(result.is_ok());
        } else {
            prop_assert!(matches!(
                result,
                Err(WebhookError::MalformedSignature | WebhookError::SignatureMismatch)
            ), "{:?}", result);
        }
        prop_assert!(verify_github_signature(&secret(), &body, Some(&right)).is_ok());
        let token = verify_gitlab_token(&secret(), Some(&header));
        prop_assert_eq!(token.is_ok(), header == "webhook-secret");
    }
}

/// An empty `before` or `after` is no object id: it was taken as "the ref was created" (the
/// all-zero id) because every byte of the empty string is `0`.
#[test]
fn an_empty_object_id_in_a_push_is_refused_not_read_as_a_created_ref() {
    let payload = |before: &str| {
        serde_json::json!({
            "ref": "refs/heads/main", "before": before, "after": "a".repeat(40),
            "commits": [], "repository": {"full_name": "o/r", "html_url": "https://github.com/o/r"}
        })
        .to_string()
    };
    assert!(matches!(
        parse_github_push(payload("").as_bytes()),
        Err(WebhookError::BadPayload(_))
    ));
    assert!(matches!(
        parse_github_push(payload("000").as_bytes()),
        Err(WebhookError::BadPayload(_))
    ));
    let created = parse_github_push(payload(&"0".repeat(40)).as_bytes()).unwrap();
    assert_eq!(created.before, None);
}

// ----- the forges' answers: bodies and rate-limit headers --------------------------------------

/// Keys of the GitHub and GitLab REST answers the clients read (repository, branch, commit,
/// tree, contents, blobs, errors).
const ANSWER_KEYS: &[&str] = &[
    "sha",
    "commit",
    "tree",
    "truncated",
    "path",
    "type",
    "mode",
    "size",
    "url",
    "name",
    "default_branch",
    "content",
    "encoding",
    "message",
    "documentation_url",
    "private",
    "visibility",
    "full_name",
    "id",
    "path_with_namespace",
    "blob_id",
    "file_path",
    "last_commit_id",
    "web_url",
    "archived",
    "error",
    "status",
    "parents",
];

/// Header names the transport reads, with values numbers (huge, negative, fractional),
/// HTTP-dates, links, or anything.
fn headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let name = prop::sample::select(vec![
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-used",
        "x-ratelimit-resource",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-observed",
        "retry-after",
        "link",
        "etag",
        "content-type",
        "x-total-pages",
    ]);
    let value = prop_oneof![
        "-?[0-9]{1,22}(\\.[0-9]{1,3})?",
        Just(u64::MAX.to_string()),
        Just("0".to_owned()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        "<(https?://[a-z0-9.:/?=&]{0,30})>; rel=\"(next|last|prev)\"",
        Just("application/json".to_owned()),
        "[ -~]{0,24}",
    ];
    prop::collection::vec((name, value), 0..6)
}

/// An answer shaped as one of the documented ones — repository or project, branch, tree (a
/// GitHub tree object or GitLab's entry array), a bare object id — with each field typed as
/// documented or, now and then, anything.
fn answer_like() -> impl Strategy<Value = Value> {
    let text = || field(string_leaf().prop_map(Value::String), ANSWER_KEYS);
    let entry = (
        text(),
        field(
            prop::sample::select(vec!["blob", "tree", "commit"]).prop_map(Value::from),
            ANSWER_KEYS,
        ),
        field(object_id(), ANSWER_KEYS),
        field(any::<u64>().prop_map(Value::from), ANSWER_KEYS),
    )
        .prop_map(|(path, kind, id, size)| {
            json!({"path": path, "name": path, "type": kind, "sha": id, "id": id, "size": size,
                "mode": "100644"})
        });
    let entries = prop::collection::vec(entry, 0..6);
    prop_oneof![
        (
            field(object_id(), ANSWER_KEYS),
            entries.clone(),
            field(any::<bool>().prop_map(Value::Bool), ANSWER_KEYS),
            text(),
            field(any::<u64>().prop_map(Value::from), ANSWER_KEYS),
        )
            .prop_map(|(sha, tree, truncated, branch, id)| {
                json!({"sha": sha, "tree": tree, "truncated": truncated, "default_branch": branch,
                    "id": id, "name": branch, "commit": {"id": sha, "sha": sha},
                    "visibility": "public", "private": false})
            }),
        entries.prop_map(Value::Array),
        prop::collection::vec(text(), 0..4).prop_map(|names| {
            Value::Array(
                names
                    .into_iter()
                    .map(|name| json!({"name": name}))
                    .collect(),
            )
        }),
    ]
}

/// One answer of the stand-in server.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn answer() -> impl Strategy<Value = Answer> {
    (
        prop_oneof![
            3 => Just(200u16),
            1 => prop::sample::select(vec![
                201u16, 204, 301, 304, 400, 401, 403, 404, 409, 422, 429, 500, 502,
            ]),
        ],
        headers(),
        prop_oneof![
            4 => answer_like().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            1 => body(ANSWER_KEYS),
            1 => object_id().prop_map(|v| v.as_str().unwrap_or_default().as_bytes().to_vec()),
        ],
    )
        .prop_map(|(status, headers, body)| Answer {
            status,
            headers,
            body,
        })
}

/// A single-threaded runtime and one stand-in server, shared by the cases.
fn server() -> &'static (tokio::runtime::Runtime, MockServer) {
    static SERVER: OnceLock<(tokio::runtime::Runtime, MockServer)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(MockServer::start());
        (runtime, server)
    })
}

/// Clients that reach the stand-in as GitHub (API override, at 127.0.0.1) and as a GitLab
/// instance (at localhost), and wait for nothing: a fresh set per case, so no case inherits
/// another's rate-limit state.
fn clients(server: &MockServer) -> Forges {
    let config = ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .github_api_url(&server.uri())
        .gitlab_instance(&gitlab_base(server))
        .request_timeout(Duration::from_secs(5))
        .retry(RetryPolicy {
            max_retries: 1,
            server_error_floor: Duration::from_millis(1),
            secondary_limit_floor: Duration::from_millis(1),
            max_wait: Duration::from_millis(5),
        })
        .max_tree_requests(3)
        .build()
        .unwrap();
    Forges::new(config).unwrap()
}

fn gitlab_base(server: &MockServer) -> String {
    format!("http://localhost:{}", server.address().port())
}

/// Every read the clients make, against whatever the server answers: each ends in a value or
/// a typed error with a message.
async fn every_read(forges: &Forges, server: &MockServer) -> Result<(), String> {
    let sha: CommitSha = "3b18e512dba79e4c8300dd08aeb37f8e728b8dad".parse().unwrap();
    let github = forges
        .parse_repo_url("https://github.com/octo/gadgets")
        .map_err(|e| e.to_string())?;
    let gitlab = forges
        .parse_repo_url(&format!("{}/group/sub/project", gitlab_base(server)))
        .map_err(|e| e.to_string())?;
    let known = KnownHead {
        sha: sha.clone(),
        validator: Some("W/\"etag\"".to_owned()),
    };
    let paths = vec!["src/a.js".to_owned()];
    let mut failures = Vec::new();
    for repo in [&github, &gitlab] {
        let mut usage = Usage::default();
        let mut note = |what: &str, error: Option<String>| {
            if let Some(message) = error
                && message.is_empty()
            {
                failures.push(format!("{what} on {repo}: an error without a message"));
            }
        };
        let r = Forge::default_branch(forges, repo, &mut usage).await;
        note("default_branch", r.err().map(|e| e.to_string()));
        let r = Forge::head(forges, repo, "main", None, &mut usage).await;
        note("head", r.err().map(|e| e.to_string()));
        let r = Forge::head(forges, repo, "main", Some(&known), &mut usage).await;
        note("head (known)", r.err().map(|e| e.to_string()));
        let r = Forge::branches(forges, repo, "ma", &mut usage).await;
        note("branches", r.err().map(|e| e.to_string()));
        let r = Forge::publishable_files(forges, repo, &sha, &mut usage).await;
        note("publishable_files", r.err().map(|e| e.to_string()));
        let r = Forge::blob_shas(forges, repo, &sha, &paths, &mut usage).await;
        note("blob_shas", r.err().map(|e| e.to_string()));
        let r = Forge::file_content(forges, repo, &sha, "src/a.js", None, &mut usage).await;
        note("file_content", r.err().map(|e| e.to_string()));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

#[test]
fn forge_answers_of_any_shape_and_any_rate_limit_headers_end_in_a_value_or_a_typed_error() {
    let (runtime, server) = server();
    let mut runner = TestRunner::new(cases(64));
    runner
        .run(&answer(), |answer| {
            let result = runtime.block_on(async {
                server.reset().await;
                let mut template =
                    ResponseTemplate::new(answer.status).set_body_bytes(answer.body.clone());
                for (name, value) in &answer.headers {
                    template = template.append_header(*name, value.as_str());
                }
                Mock::given(any_request())
                    .respond_with(template)
                    .mount(server)
                    .await;
                let forges = clients(server);
                every_read(&forges, server).await
            });
            result.map_err(TestCaseError::fail)
        })
        .unwrap();
}

#[test]
fn locator_errors_are_typed_for_the_refusals_the_properties_reach() {
    // The generators above reach these refusals; keep one of each as a plain example.
    for (input, expected) in [
        ("", "Empty"),
        ("https://[::1]/o/r", "IpLiteral"),
        ("git@github.com:o/r/tree/main", "NotARepository"),
    ] {
        let error = configured().parse_repo_url(input).unwrap_err();
        let debug = format!("{error:?}");
        assert!(debug.starts_with(expected), "{input}: {debug}");
        assert!(matches!(
            error,
            LocatorError::Empty
                | LocatorError::IpLiteral { .. }
                | LocatorError::NotARepository { .. }
        ));
    }
}
