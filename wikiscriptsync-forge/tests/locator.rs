//! Repository URL parsing: accepted forms become typed locators; everything else is refused,
//! before any request, with an error that says why.

use wikiscriptsync_forge::{ForgeConfig, ForgeKind, LocatorError, RepoLocator};

fn config() -> ForgeConfig {
    ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .gitlab_instance("https://git.example.org/gitlab")
        .gitlab_instance("http://127.0.0.1:8929")
        .build()
        .unwrap()
}

fn parse(input: &str) -> Result<RepoLocator, LocatorError> {
    config().parse_repo_url(input)
}

/// (input, kind, api base, namespace, name, branch, path)
type Good = (
    &'static str,
    ForgeKind,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const GH: ForgeKind = ForgeKind::GitHub;
const GL: ForgeKind = ForgeKind::GitLab;
const GH_API: &str = "https://api.github.com/";
const WM_API: &str = "https://gitlab.wikimedia.org/api/v4/";

const GOOD: &[Good] = &[
    (
        "https://github.com/octo/gadgets",
        GH,
        GH_API,
        "octo",
        "gadgets",
        None,
        None,
    ),
    (
        "https://github.com/octo/gadgets.git",
        GH,
        GH_API,
        "octo",
        "gadgets",
        None,
        None,
    ),
    (
        "https://github.com/octo/gadgets/",
        GH,
        GH_API,
        "octo",
        "gadgets",
        None,
        None,
    ),
    (
        "  https://github.com/octo/gadgets  ",
        GH,
        GH_API,
        "octo",
        "gadgets",
        None,
        None,
    ),
    (
        "https://GitHub.com/Octo/Gadgets",
        GH,
        GH_API,
        "Octo",
        "Gadgets",
        None,
        None,
    ),
    (
        "https://www.github.com/octo/gadgets",
        GH,
        GH_API,
        "octo",
        "gadgets",
        None,
        None,
    ),
    (
        "https://github.com/octo/gadgets?tab=readme-ov-file#usage",
        GH,
        GH_API,
        "octo",
        "gadgets",
        None,
        None,
    ),
    (
        "https://github.com/octo/my.repo_name-2",
        GH,
        GH_API,
        "octo",
        "my.repo_name-2",
        None,
        None,
    ),
    (
        "https://github.com/octo/gadgets/tree/main",
        GH,
        GH_API,
        "octo",
        "gadgets",
        Some("main"),
        None,
    ),
    (
        "https://github.com/octo/gadgets/tree/dev/src",
        GH,
        GH_API,
        "octo",
        "gadgets",
        Some("dev"),
        Some("src"),
    ),
    (
        "https://github.com/octo/gadgets/blob/main/src/Gadget.js",
        GH,
        GH_API,
        "octo",
        "gadgets",
        Some("main"),
        Some("src/Gadget.js"),
    ),
    (
        "https://github.com/octo/gadgets/blob/v1.2/a%20b.css",
        GH,
        GH_API,
        "octo",
        "gadgets",
        Some("v1.2"),
        Some("a b.css"),
    ),
    (
        "git@github.com:octo/gadgets.git",
        GH,
        GH_API,
        "octo",
        "gadgets",
        None,
        None,
    ),
    (
        "ssh://git@github.com/octo/gadgets.git",
        GH,
        GH_API,
        "octo",
        "gadgets",
        None,
        None,
    ),
    (
        "https://gitlab.wikimedia.org/repos/mediawiki/gadgets",
        GL,
        WM_API,
        "repos/mediawiki",
        "gadgets",
        None,
        None,
    ),
    (
        "https://gitlab.wikimedia.org/group/project",
        GL,
        WM_API,
        "group",
        "project",
        None,
        None,
    ),
    (
        "https://gitlab.wikimedia.org/group/project.git",
        GL,
        WM_API,
        "group",
        "project",
        None,
        None,
    ),
    (
        "https://gitlab.wikimedia.org/a/b/c/d/project/",
        GL,
        WM_API,
        "a/b/c/d",
        "project",
        None,
        None,
    ),
    (
        "https://gitlab.wikimedia.org/group/project/-/tree/main",
        GL,
        WM_API,
        "group",
        "project",
        Some("main"),
        None,
    ),
    (
        "https://gitlab.wikimedia.org/group/sub/project/-/blob/main/src/x.js",
        GL,
        WM_API,
        "group/sub",
        "project",
        Some("main"),
        Some("src/x.js"),
    ),
    (
        "git@gitlab.wikimedia.org:group/sub/project.git",
        GL,
        WM_API,
        "group/sub",
        "project",
        None,
        None,
    ),
    (
        "https://gitlab.com/group/sub/project",
        GL,
        "https://gitlab.com/api/v4/",
        "group/sub",
        "project",
        None,
        None,
    ),
    (
        "https://git.example.org/gitlab/team/tool",
        GL,
        "https://git.example.org/gitlab/api/v4/",
        "team",
        "tool",
        None,
        None,
    ),
    (
        "http://127.0.0.1:8929/team/tool",
        GL,
        "http://127.0.0.1:8929/api/v4/",
        "team",
        "tool",
        None,
        None,
    ),
];

#[test]
fn accepted_repository_urls_become_typed_locators() {
    for (input, kind, api, namespace, name, branch, path) in GOOD {
        let locator = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(locator.kind, *kind, "{input}");
        assert_eq!(locator.api_base.as_str(), *api, "{input}");
        assert_eq!(locator.namespace, *namespace, "{input}");
        assert_eq!(locator.name, *name, "{input}");
        assert_eq!(locator.branch.as_deref(), *branch, "{input}");
        assert_eq!(locator.path.as_deref(), *path, "{input}");
    }
}

/// (input, what the refusal must be)
type Bad = (&'static str, fn(&LocatorError) -> bool);

const BAD: &[Bad] = &[
    ("", |e| matches!(e, LocatorError::Empty)),
    ("   ", |e| matches!(e, LocatorError::Empty)),
    ("not a url", |e| matches!(e, LocatorError::Malformed { .. })),
    ("https://bitbucket.org/octo/gadgets", |e| {
        matches!(e, LocatorError::UnknownHost { .. })
    }),
    ("https://github.com.evil.example/octo/gadgets", |e| {
        matches!(e, LocatorError::UnknownHost { .. })
    }),
    ("https://evilgithub.com/octo/gadgets", |e| {
        matches!(e, LocatorError::UnknownHost { .. })
    }),
    ("https://github.com./octo/gadgets", |e| {
        matches!(e, LocatorError::UnknownHost { .. })
    }),
    ("https://140.82.112.3/octo/gadgets", |e| {
        matches!(e, LocatorError::IpLiteral { .. })
    }),
    ("https://[::1]/octo/gadgets", |e| {
        matches!(e, LocatorError::IpLiteral { .. })
    }),
    ("git@140.82.112.3:octo/gadgets.git", |e| {
        matches!(e, LocatorError::IpLiteral { .. })
    }),
    ("https://user:pass@github.com/octo/gadgets", |e| {
        matches!(e, LocatorError::Userinfo)
    }),
    ("https://ghp_token@github.com/octo/gadgets", |e| {
        matches!(e, LocatorError::Userinfo)
    }),
    ("bob@github.com:octo/gadgets.git", |e| {
        matches!(e, LocatorError::Userinfo)
    }),
    (
        "http://github.com/octo/gadgets",
        |e| matches!(e, LocatorError::WrongScheme { expected, given, .. } if expected == "https" && given == "http"),
    ),
    ("ftp://github.com/octo/gadgets", |e| {
        matches!(e, LocatorError::UnsupportedScheme { .. })
    }),
    ("file:///etc/passwd", |e| {
        matches!(
            e,
            LocatorError::UnsupportedScheme { .. } | LocatorError::Malformed { .. }
        )
    }),
    ("javascript:alert(1)", |e| {
        matches!(
            e,
            LocatorError::UnsupportedScheme { .. } | LocatorError::Malformed { .. }
        )
    }),
    ("https://github.com:8443/octo/gadgets", |e| {
        matches!(e, LocatorError::OddPort { port: 8443, .. })
    }),
    ("http://127.0.0.1:9999/team/tool", |e| {
        matches!(e, LocatorError::IpLiteral { .. })
    }),
    (
        "https://127.0.0.1:8929/team/tool",
        |e| matches!(e, LocatorError::WrongScheme { expected, given, .. } if expected == "http" && given == "https"),
    ),
    ("https://github.com/octo/../admin/gadgets", |e| {
        matches!(e, LocatorError::PathTraversal)
    }),
    ("https://github.com/octo/%2e%2e/gadgets", |e| {
        matches!(e, LocatorError::PathTraversal)
    }),
    (
        "https://github.com/octo/gadgets/blob/main/../../etc/passwd",
        |e| matches!(e, LocatorError::PathTraversal),
    ),
    ("https://github.com/octo/gadgets/blob/main/a%2Fb.js", |e| {
        matches!(e, LocatorError::PathTraversal)
    }),
    ("https://github.com/octo\\gadgets", |e| {
        matches!(e, LocatorError::PathTraversal)
    }),
    ("https://github.com/./gadgets", |e| {
        matches!(e, LocatorError::PathTraversal)
    }),
    ("https://github.com/", |e| {
        matches!(e, LocatorError::EmptyOwner)
    }),
    ("https://github.com//gadgets", |e| {
        matches!(e, LocatorError::EmptyOwner)
    }),
    ("https://github.com/octo", |e| {
        matches!(e, LocatorError::EmptyName)
    }),
    ("https://github.com/octo/", |e| {
        matches!(e, LocatorError::EmptyName)
    }),
    ("https://github.com/octo/.git", |e| {
        matches!(e, LocatorError::EmptyName)
    }),
    ("https://gitlab.wikimedia.org/project", |e| {
        matches!(e, LocatorError::EmptyName)
    }),
    ("https://gitlab.wikimedia.org/", |e| {
        matches!(e, LocatorError::EmptyOwner)
    }),
    ("https://github.com/oc_to/gadgets", |e| {
        matches!(e, LocatorError::InvalidCharacters { part: "owner", .. })
    }),
    ("https://github.com/octo/gad%20gets", |e| {
        matches!(
            e,
            LocatorError::InvalidCharacters {
                part: "repository name",
                ..
            }
        )
    }),
    ("https://github.com/octo/gadgets/tree/ma..in", |e| {
        matches!(e, LocatorError::InvalidCharacters { part: "branch", .. })
    }),
    ("https://github.com/octo/gadgets/issues/3", |e| {
        matches!(e, LocatorError::NotARepository { .. })
    }),
    ("https://github.com/octo/gadgets/blob/main", |e| {
        matches!(e, LocatorError::NotARepository { .. })
    }),
    ("https://github.com/settings/profile", |e| {
        matches!(e, LocatorError::NotARepository { .. })
    }),
    ("https://gitlab.wikimedia.org/group/project/-/", |e| {
        matches!(e, LocatorError::NotARepository { .. })
    }),
    (
        "https://gitlab.wikimedia.org/group/project/-/merge_requests/4",
        |e| matches!(e, LocatorError::NotARepository { .. }),
    ),
    ("https://git.example.org/other/team/tool", |e| {
        matches!(e, LocatorError::NotARepository { .. })
    }),
    ("git@github.com:octo/gadgets/tree/main", |e| {
        matches!(e, LocatorError::NotARepository { .. })
    }),
];

#[test]
fn refused_urls_say_why() {
    for (input, expected) in BAD {
        match parse(input) {
            Ok(locator) => panic!("{input:?} was accepted as {locator:?}"),
            Err(error) => {
                assert!(expected(&error), "{input:?} gave {error:?}");
                assert!(!error.to_string().is_empty());
            }
        }
    }
}

#[test]
fn there_are_at_least_forty_url_cases() {
    assert!(
        GOOD.len() + BAD.len() >= 40,
        "{} cases",
        GOOD.len() + BAD.len()
    );
}

#[test]
fn refusals_never_echo_credentials_from_the_url() {
    let error = parse("https://ghp_secret123:x-oauth@github.com/octo/gadgets").unwrap_err();
    assert!(!format!("{error} {error:?}").contains("ghp_secret123"));
}

#[test]
fn unknown_host_errors_list_the_accepted_hosts() {
    let error = parse("https://bitbucket.org/octo/gadgets").unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("github.com") && message.contains("gitlab.wikimedia.org"),
        "{message}"
    );
}

#[test]
fn locators_render_canonical_web_and_commit_urls() {
    let gh = parse("git@github.com:octo/gadgets.git").unwrap();
    assert_eq!(gh.web_url(), "https://github.com/octo/gadgets");
    let sha = "3b18e512dba79e4c8300dd08aeb37f8e728b8dad".parse().unwrap();
    assert_eq!(
        gh.commit_url(&sha),
        "https://github.com/octo/gadgets/commit/3b18e512dba79e4c8300dd08aeb37f8e728b8dad"
    );
    let gl = parse("https://gitlab.wikimedia.org/group/sub/project/-/tree/main").unwrap();
    assert_eq!(
        gl.web_url(),
        "https://gitlab.wikimedia.org/group/sub/project"
    );
    assert!(
        gl.commit_url(&sha)
            .ends_with("/group/sub/project/-/commit/3b18e512dba79e4c8300dd08aeb37f8e728b8dad")
    );
    assert_eq!(gl.api_host(), "gitlab.wikimedia.org");
}

#[test]
fn an_overridden_github_api_serves_github_com_urls_and_its_own_origin() {
    let config = ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .github_api_url("http://127.0.0.1:4010")
        .build()
        .unwrap();
    let from_github = config
        .parse_repo_url("https://github.com/octo/gadgets")
        .unwrap();
    assert_eq!(from_github.api_base.as_str(), "http://127.0.0.1:4010/");
    let from_fake = config
        .parse_repo_url("http://127.0.0.1:4010/octo/gadgets")
        .unwrap();
    assert_eq!(from_fake.kind, ForgeKind::GitHub);
    let enterprise = ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .github_api_url("https://ghe.example.org/api/v3")
        .build()
        .unwrap();
    let locator = enterprise
        .parse_repo_url("https://ghe.example.org/team/tool")
        .unwrap();
    assert_eq!(locator.api_base.as_str(), "https://ghe.example.org/api/v3/");
}

#[test]
fn an_ip_address_is_refused_as_one_whatever_instance_shares_it() {
    // A loopback GitHub override and a loopback GitLab instance share 127.0.0.1: a URL at
    // another port or scheme of that address names no instance, so it is an IP address.
    let config = ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .github_api_url("http://127.0.0.1:4010")
        .gitlab_instance("http://127.0.0.1:8929")
        .build()
        .unwrap();
    for input in [
        "https://127.0.0.1/octo/gadgets",
        "https://127.0.0.1:8443/octo/gadgets",
        "http://127.0.0.1/octo/gadgets",
        "https://[::1]/octo/gadgets",
    ] {
        let error = config.parse_repo_url(input).unwrap_err();
        assert!(
            matches!(error, LocatorError::IpLiteral { .. }),
            "{input}: {error:?}"
        );
        assert!(error.to_string().contains("is an IP address"), "{error}");
    }
}

#[test]
fn a_scheme_the_instance_does_not_use_is_named_with_the_one_it_does() {
    let config = ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .gitlab_instance("http://127.0.0.1:8929")
        .gitlab_instance("http://localhost:8930")
        .build()
        .unwrap();
    for (input, host) in [
        ("https://127.0.0.1:8929/team/tool", "127.0.0.1:8929"),
        ("https://localhost:8930/team/tool", "localhost:8930"),
    ] {
        let message = config.parse_repo_url(input).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("{host} is served over http, not https")),
            "{message}"
        );
        assert!(message.contains("use http://"), "{message}");
    }
    let message = config
        .parse_repo_url("http://github.com/octo/gadgets")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("github.com is served over https, not http: use https://"),
        "{message}"
    );
}

// ----- locating a stored repository from its typed parts ----------------------------------------

/// What `locate` gives back for a parsed URL: the same repository, without branch or path.
fn bare(locator: &RepoLocator) -> RepoLocator {
    RepoLocator {
        branch: None,
        path: None,
        ..locator.clone()
    }
}

#[test]
fn every_accepted_url_is_located_again_from_its_kind_host_and_full_name() {
    let config = config();
    for (input, ..) in GOOD {
        let parsed = parse(input).unwrap();
        let located = config
            .locate(parsed.kind, &parsed.web_host(), &parsed.full_name())
            .unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(located, bare(&parsed), "{input}");
    }
    // A GitHub API override serves github.com and its own origin: each comes back as itself.
    let overridden = ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .github_api_url("http://127.0.0.1:4010")
        .build()
        .unwrap();
    for input in [
        "https://github.com/octo/gadgets",
        "http://127.0.0.1:4010/octo/gadgets",
    ] {
        let parsed = overridden.parse_repo_url(input).unwrap();
        let located = overridden
            .locate(parsed.kind, &parsed.web_host(), &parsed.full_name())
            .unwrap();
        assert_eq!(located, parsed, "{input}");
        assert_eq!(located.web_url(), input);
    }
}

#[test]
fn a_host_is_matched_with_its_port_and_a_bare_host_only_when_one_instance_has_it() {
    let two_local = ForgeConfig::builder(wikiscriptsync_forge::testkit::test_user_agent())
        .gitlab_instance("http://127.0.0.1:8929")
        .gitlab_instance("http://127.0.0.1:8930")
        .build()
        .unwrap();
    let second = two_local
        .locate(ForgeKind::GitLab, "127.0.0.1:8930", "group/project")
        .unwrap();
    assert_eq!(second.api_base.as_str(), "http://127.0.0.1:8930/api/v4/");
    assert_eq!(second.web_host(), "127.0.0.1:8930");
    match two_local.locate(ForgeKind::GitLab, "127.0.0.1", "group/project") {
        Err(LocatorError::AmbiguousHost { host, known, .. }) => {
            assert_eq!(host, "127.0.0.1");
            assert!(
                known.contains("127.0.0.1:8929") && known.contains("127.0.0.1:8930"),
                "{known}"
            );
        }
        other => panic!("{other:?}"),
    }
    // One instance on the host: a host stored without its port still finds it.
    let one = config()
        .locate(ForgeKind::GitLab, "127.0.0.1", "group/project")
        .unwrap();
    assert_eq!(one.web_url(), "http://127.0.0.1:8929/group/project");
    // Host names are not case-sensitive; paths are kept as given.
    let gh = config()
        .locate(ForgeKind::GitHub, "GitHub.com", "Octo/Gadgets")
        .unwrap();
    assert_eq!(gh.web_url(), "https://github.com/Octo/Gadgets");
}

/// (kind, web host, full name, what the refusal must be)
type BadParts = (
    ForgeKind,
    &'static str,
    &'static str,
    fn(&LocatorError) -> bool,
);

#[test]
fn locating_refuses_unknown_hosts_other_kinds_and_paths_a_forge_would_not_have() {
    let config = config();
    let cases: &[BadParts] = &[
        (GH, "bitbucket.org", "octo/gadgets", |e| {
            matches!(e, LocatorError::UnknownHost { .. })
        }),
        (GH, "", "octo/gadgets", |e| {
            matches!(e, LocatorError::UnknownHost { .. })
        }),
        // The host is configured, but as the other kind.
        (GH, "gitlab.wikimedia.org", "group/project", |e| {
            matches!(e, LocatorError::UnknownHost { .. })
        }),
        (GL, "github.com", "octo/gadgets", |e| {
            matches!(e, LocatorError::UnknownHost { .. })
        }),
        (GL, "127.0.0.1:9999", "group/project", |e| {
            matches!(e, LocatorError::UnknownHost { .. })
        }),
        (GH, "github.com", "", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GH, "github.com", "gadgets", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GH, "github.com", "octo/gadgets/extra", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GH, "github.com", "octo/gadgets.git", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GH, "github.com", "/octo/gadgets", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GH, "github.com", "octo/", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GL, "gitlab.com", "group//project", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GL, "gitlab.com", "group/-/project", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GL, "gitlab.com", "project", |e| {
            matches!(e, LocatorError::BadFullName { .. })
        }),
        (GH, "github.com", "../gadgets", |e| {
            matches!(e, LocatorError::InvalidCharacters { .. })
        }),
        (GH, "github.com", "octo/..", |e| {
            matches!(e, LocatorError::InvalidCharacters { .. })
        }),
        (GH, "github.com", "oc_to/gadgets", |e| {
            matches!(e, LocatorError::InvalidCharacters { .. })
        }),
        (GH, "github.com", "octo/gad gets", |e| {
            matches!(e, LocatorError::InvalidCharacters { .. })
        }),
        (GL, "gitlab.com", "group/sub\\x/project", |e| {
            matches!(e, LocatorError::InvalidCharacters { .. })
        }),
        (GL, "gitlab.com", "group/pro%2Fject", |e| {
            matches!(e, LocatorError::InvalidCharacters { .. })
        }),
        (GH, "github.com", "settings/profile", |e| {
            matches!(e, LocatorError::NotARepository { .. })
        }),
    ];
    for (kind, host, full_name, expected) in cases {
        match config.locate(*kind, host, full_name) {
            Ok(locator) => panic!("{kind} {host:?} {full_name:?} was located as {locator:?}"),
            Err(error) => {
                assert!(
                    expected(&error),
                    "{kind} {host:?} {full_name:?} gave {error:?}"
                );
                assert!(!error.to_string().is_empty());
            }
        }
    }
}

#[test]
fn the_router_and_each_client_locate_through_the_forge_trait() {
    use wikiscriptsync_forge::{Forge, Forges, GitHubForge, GitLabForge};

    let config = config();
    let router = Forges::new(config.clone()).unwrap();
    let github = GitHubForge::new(&config).unwrap();
    let gitlab = GitLabForge::new(&config).unwrap();
    let gh = parse("https://github.com/octo/gadgets").unwrap();
    let gl = parse("https://git.example.org/gitlab/group/sub/project").unwrap();
    for (forge, name) in [
        (&router as &dyn Forge, "router"),
        (&github as &dyn Forge, "github"),
    ] {
        assert_eq!(
            forge.locate(GH, "github.com", "octo/gadgets").unwrap(),
            gh,
            "{name}"
        );
    }
    for (forge, name) in [
        (&router as &dyn Forge, "router"),
        (&gitlab as &dyn Forge, "gitlab"),
    ] {
        assert_eq!(
            forge
                .locate(GL, "git.example.org", "group/sub/project")
                .unwrap(),
            gl,
            "{name}"
        );
    }
    // Each client serves its own kind only.
    assert!(matches!(
        github.locate(GL, "git.example.org", "group/sub/project"),
        Err(LocatorError::UnknownHost { .. })
    ));
    assert!(matches!(
        gitlab.locate(GH, "github.com", "octo/gadgets"),
        Err(LocatorError::UnknownHost { .. })
    ));
}
