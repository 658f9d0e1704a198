//! Settings parsing: every variable, every error, no secret in `Debug`, and the one variable
//! list agreeing with what is parsed and with `.env.example`.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use secrecy::ExposeSecret as _;

use super::vars::{self, EnvVar, Kind, Reader, VARIABLES};
use super::*;

const KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
const OTHER_KEY: &str = "m7Zg2ykWzLhXh6jlxUv6q3tNtqR6J3m7I7mC2oiZKQg=";

fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_lookup(move |name| map.get(name).cloned())
}

fn ok(pairs: &[(&str, &str)]) -> Settings {
    with(pairs).unwrap_or_else(|e| panic!("{e}"))
}

/// The one problem a set of variables gives.
fn problem(pairs: &[(&str, &str)]) -> VariableError {
    let error = with(pairs).expect_err("should be refused");
    assert_eq!(error.problems.len(), 1, "{error}");
    error.problems[0].clone()
}

#[test]
fn nothing_set_gives_the_documented_defaults() {
    let s = ok(&[]);
    assert!(matches!(s.database, DatabaseSetting::Default));
    assert_eq!(s.database.url().unwrap().expose(), DEFAULT_DATABASE_URL);
    assert_eq!(s.contact, None);
    assert_eq!(s.allow_list, AllowList::wikimedia());
    assert_eq!(s.forge.github_api_url, None);
    assert!(s.forge.github_token.is_none());
    assert!(s.forge.gitlab_instances.is_empty() && s.forge.gitlab_tokens.is_empty());
    assert_eq!(s.forge.request_timeout, Duration::from_secs(20));
    assert!(s.credential_keys.is_none());
    assert!(s.notify_bot.is_none());
    assert_eq!(s.log_retention_days, 90);
    assert!(s.health_forges.is_empty());
    assert_eq!(s.health_probe_wikis, ["meta.wikimedia.org"]);
    assert_eq!(s.runner_host, "localhost");
    assert_eq!(s.web.port, 8000);
    assert_eq!(s.web.data_dir, PathBuf::from("data"));
    assert!(s.web.cookie_key.is_none() && s.web.oauth.is_none());
    assert_eq!(s.web.public_origin, None);
    assert!(s.web.admin_users.is_empty());
    assert_eq!(s.web.dashboard_cache, Duration::from_secs(5));
    assert_eq!(s.limits, UserLimits::default());
}

#[test]
fn blank_values_count_as_unset() {
    let blank: Vec<(&str, &str)> = VARIABLES
        .iter()
        .filter(|v| v.kind == Kind::Setting)
        .map(|v| (v.name, "  "))
        .collect();
    assert_eq!(format!("{:?}", ok(&blank)), format!("{:?}", ok(&[])));
}

/// The help text and the error promise URLs as well as `host[:port]`: both kinds are accepted.
#[test]
fn extra_wiki_hosts_take_api_urls_base_urls_and_hosts() {
    let s = ok(&[(
        EXTRA_WIKI_HOSTS_ENV,
        "http://127.0.0.1:8080/w/api.php, https://wiki.example.org/, localhost:9000",
    )]);
    for api in [
        "http://127.0.0.1:8080/w/api.php",
        "https://wiki.example.org/w/api.php",
        "http://localhost:9000/w/api.php",
    ] {
        let parsed = crate::mw::WikiUrl::parse(api, &s.allow_list);
        assert!(parsed.is_ok(), "{api}: {parsed:?}");
    }
    let help = VARIABLES
        .iter()
        .find(|v| v.name == EXTRA_WIKI_HOSTS_ENV)
        .map(|v| v.help)
        .unwrap();
    assert!(
        help.contains("API URL") && help.contains("base URL"),
        "{help}"
    );
    let refused = problem(&[(EXTRA_WIKI_HOSTS_ENV, "http://x/y")]);
    let message = refused.reason;
    assert!(
        message.contains("its API URL, its base URL or host[:port]"),
        "{message}"
    );
}

#[test]
fn every_variable_is_read_into_its_typed_value() {
    let s = ok(&[
        (CONTACT_ENV, " ops@example.org "),
        (EXTRA_WIKI_HOSTS_ENV, "127.0.0.1:8080, wiki.example.org"),
        (GITHUB_API_URL_ENV, "http://127.0.0.1:9000"),
        (GITHUB_TOKEN_ENV, "ghp_x"),
        (
            GITLAB_INSTANCES_ENV,
            "https://git.example.org/, http://localhost:8929",
        ),
        (
            GITLAB_TOKENS_ENV,
            "git.example.org=glpat-1, localhost:8929 = glpat-2",
        ),
        (FORGE_TIMEOUT_ENV, "7"),
        (QUOTA_RESERVE_ENV, "25"),
        (KEY_ENV_VAR, &format!("{KEY}, {OTHER_KEY}")),
        (NOTIFY_BOT_USER_ENV, "Notifier@notify"),
        (NOTIFY_BOT_PASSWORD_ENV, "pw"),
        (RETENTION_DAYS_ENV, "30"),
        (HEALTH_FORGES_ENV, "api.github.com, gitlab.wikimedia.org"),
        (HEALTH_PROBE_WIKIS_ENV, "test.wikipedia.org"),
        (HOSTNAME_ENV, "jobs-7f9"),
        (PORT_ENV, "8080"),
        (DATA_DIR_ENV, "/srv/data"),
        (COOKIE_KEY_ENV, "Y29va2ll"),
        (OAUTH_CLIENT_ID_ENV, "abc123"),
        (OAUTH_CLIENT_SECRET_ENV, "s3cret"),
        (
            OAUTH_REDIRECT_URL_ENV,
            "https://wikiscriptsync.toolforge.org/oauth/callback",
        ),
        (OAUTH_BASE_URL_ENV, "https://meta.example.org"),
        (ADMIN_USERS_ENV, "Alice, Bob"),
        (DASHBOARD_CACHE_ENV, "0"),
        (vars::MAX_REPOSITORIES_ENV, "3"),
        (vars::MAX_WATCHED_FILES_ENV, "4"),
        (vars::MAX_MAPPINGS_ENV, "5"),
        (vars::MAX_MONITORED_PAGES_ENV, "6"),
        (vars::CREDENTIAL_CHECKS_PER_HOUR_ENV, "7"),
    ]);
    assert_eq!(s.contact.as_deref(), Some("ops@example.org"));
    assert_eq!(s.contact().unwrap(), "ops@example.org");
    let extra = crate::mw::WikiUrl::parse("http://127.0.0.1:8080/w/api.php", &s.allow_list);
    assert!(extra.is_ok(), "{extra:?}");
    assert!(crate::mw::WikiUrl::parse("wiki.example.org", &s.allow_list).is_ok());
    assert_eq!(
        s.forge.github_api_url.as_deref(),
        Some("http://127.0.0.1:9000")
    );
    assert!(s.forge.github_token.is_some());
    assert_eq!(
        s.forge.gitlab_instances,
        ["https://git.example.org/", "http://localhost:8929"]
    );
    let hosts: Vec<&str> = s
        .forge
        .gitlab_tokens
        .iter()
        .map(|(h, _)| h.as_str())
        .collect();
    assert_eq!(hosts, ["git.example.org", "localhost:8929"]);
    assert_eq!(s.forge.request_timeout, Duration::from_secs(7));
    assert_eq!(s.forge.quota.reserve_percent, 25);
    let config = s
        .forge
        .builder(crate::forge::UserAgent::from_contact("ops@example.org").unwrap())
        .build()
        .unwrap();
    assert!(config.gitlab_instances()[2].token.is_some());
    assert_eq!(s.vault().unwrap().key_count(), 2);
    assert_eq!(
        s.notify_bot.as_ref().map(BotPassword::login_name),
        Some("Notifier@notify")
    );
    assert_eq!(s.log_retention_days, 30);
    assert_eq!(s.health_forges, ["api.github.com", "gitlab.wikimedia.org"]);
    assert_eq!(s.health_probe_wikis, ["test.wikipedia.org"]);
    assert_eq!(s.runner_host, "jobs-7f9");
    assert_eq!(s.web.port, 8080);
    assert_eq!(s.web.data_dir, PathBuf::from("/srv/data"));
    assert_eq!(
        s.web
            .cookie_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned()),
        Some("Y29va2ll".to_owned())
    );
    let oauth = s.web.oauth.as_ref().unwrap();
    assert_eq!(oauth.client_id, "abc123");
    assert_eq!(
        oauth
            .client_secret
            .as_ref()
            .map(|k| k.expose_secret().to_owned()),
        Some("s3cret".to_owned())
    );
    assert_eq!(oauth.base_url.as_str(), "https://meta.example.org/");
    assert_eq!(
        oauth.redirect_uri,
        "https://wikiscriptsync.toolforge.org/oauth/callback"
    );
    assert_eq!(
        s.web.public_origin.as_deref(),
        Some("https://wikiscriptsync.toolforge.org")
    );
    assert_eq!(
        s.web.admin_users,
        BTreeSet::from(["Alice".to_owned(), "Bob".to_owned()])
    );
    assert_eq!(s.web.dashboard_cache, Duration::ZERO);
    assert_eq!(
        s.limits,
        UserLimits {
            repositories: 3,
            watched_files: 4,
            mappings: 5,
            monitored_pages: 6,
            credential_checks_per_hour: 7,
        }
    );
}

#[test]
fn the_database_rule_url_then_toolsdb_then_sqlite() {
    let url = |pairs: &[(&str, &str)]| ok(pairs).database.url().unwrap().expose().to_owned();
    assert_eq!(
        url(&[(DATABASE_URL_ENV, "mysql://u@h/db")]),
        "mysql://u@h/db"
    );
    let toolsdb = url(&[(TOOLSDB_USER_ENV, "s1"), (TOOLSDB_PASSWORD_ENV, "pw")]);
    assert!(
        toolsdb.ends_with("tools.db.svc.wikimedia.cloud/s1__wikiscriptsync"),
        "{toolsdb}"
    );
    assert_eq!(
        url(&[(DATABASE_URL_ENV, "sqlite:x.db"), (TOOLSDB_USER_ENV, "s1")]),
        "sqlite:x.db"
    );
    let debug = format!(
        "{:?}",
        ok(&[
            (TOOLSDB_USER_ENV, "s1"),
            (TOOLSDB_PASSWORD_ENV, "pw-secret")
        ])
    );
    assert!(!debug.contains("pw-secret"), "{debug}");
}

/// Variables set, the variable the error must name, a hint its message must contain.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

#[test]
fn each_malformed_variable_is_named_with_what_to_do() {
    let cases: &[Case<'_>] = &[
        (
            &[(DATABASE_URL_ENV, "postgres://h/d")],
            DATABASE_URL_ENV,
            "sqlite:",
        ),
        (
            &[(TOOLSDB_USER_ENV, "s1")],
            TOOLSDB_PASSWORD_ENV,
            "set both",
        ),
        (
            &[(TOOLSDB_PASSWORD_ENV, "pw")],
            TOOLSDB_USER_ENV,
            "set both",
        ),
        (
            &[(CONTACT_ENV, "me (evil)")],
            CONTACT_ENV,
            "plain URL or e-mail",
        ),
        (
            &[(EXTRA_WIKI_HOSTS_ENV, "http://x/y")],
            EXTRA_WIKI_HOSTS_ENV,
            "host:port",
        ),
        (
            &[(GITHUB_API_URL_ENV, "http://ghe.example.org")],
            GITHUB_API_URL_ENV,
            "loopback",
        ),
        (
            &[(GITLAB_INSTANCES_ENV, "ftp://git.example.org")],
            GITLAB_INSTANCES_ENV,
            "https://",
        ),
        (
            &[(GITLAB_TOKENS_ENV, "gitlab.com=ok,glpat-leaky")],
            GITLAB_TOKENS_ENV,
            "entry 2",
        ),
        (
            &[(GITLAB_TOKENS_ENV, "git.example.org=t")],
            GITLAB_TOKENS_ENV,
            "gitlab_instance",
        ),
        (
            &[(FORGE_TIMEOUT_ENV, "0")],
            FORGE_TIMEOUT_ENV,
            "whole number of seconds",
        ),
        (
            &[(FORGE_TIMEOUT_ENV, "5s")],
            FORGE_TIMEOUT_ENV,
            "whole number of seconds",
        ),
        (
            &[(QUOTA_RESERVE_ENV, "95")],
            QUOTA_RESERVE_ENV,
            "whole number of percent from 0 to 90",
        ),
        (&[(KEY_ENV_VAR, "not-a-key")], KEY_ENV_VAR, "generate-key"),
        (&[(KEY_ENV_VAR, ",")], KEY_ENV_VAR, "set but holds no key"),
        (
            &[(NOTIFY_BOT_USER_ENV, "N@notify")],
            NOTIFY_BOT_PASSWORD_ENV,
            "set both",
        ),
        (
            &[(NOTIFY_BOT_PASSWORD_ENV, "pw")],
            NOTIFY_BOT_USER_ENV,
            "set both",
        ),
        (
            &[
                (NOTIFY_BOT_USER_ENV, "Notifier"),
                (NOTIFY_BOT_PASSWORD_ENV, "pw"),
            ],
            NOTIFY_BOT_USER_ENV,
            "User@BotName",
        ),
        (
            &[(RETENTION_DAYS_ENV, "0")],
            RETENTION_DAYS_ENV,
            "number of days",
        ),
        (
            &[(RETENTION_DAYS_ENV, "-3")],
            RETENTION_DAYS_ENV,
            "number of days",
        ),
        (&[(PORT_ENV, "80000")], PORT_ENV, "port number"),
        (
            &[(OAUTH_CLIENT_ID_ENV, "abc")],
            OAUTH_REDIRECT_URL_ENV,
            "callback URL",
        ),
        (
            &[(OAUTH_REDIRECT_URL_ENV, "not a url")],
            OAUTH_REDIRECT_URL_ENV,
            "not a URL",
        ),
        (
            &[(OAUTH_BASE_URL_ENV, "mailto:x@y")],
            OAUTH_BASE_URL_ENV,
            "http(s) URL",
        ),
        (
            &[(DASHBOARD_CACHE_ENV, "3601")],
            DASHBOARD_CACHE_ENV,
            "0 to 3600",
        ),
        (
            &[(DASHBOARD_CACHE_ENV, "1.5")],
            DASHBOARD_CACHE_ENV,
            "turns the dashboard cache off",
        ),
        (
            &[(vars::MAX_REPOSITORIES_ENV, "0")],
            vars::MAX_REPOSITORIES_ENV,
            "from 1 to",
        ),
        (
            &[(vars::CREDENTIAL_CHECKS_PER_HOUR_ENV, "many")],
            vars::CREDENTIAL_CHECKS_PER_HOUR_ENV,
            "a whole number of checks",
        ),
    ];
    for (pairs, variable, hint) in cases {
        let p = problem(pairs);
        assert_eq!(p.variable, *variable, "{pairs:?}: {p}");
        let message = p.to_string();
        assert!(message.starts_with(variable), "{message}");
        assert!(message.contains(hint), "{pairs:?}: {message}");
        assert!(
            !message.contains("leaky") && !message.contains("pw-"),
            "{message}"
        );
    }
}

#[test]
fn all_problems_are_reported_at_once_in_list_order() {
    let error = with(&[
        (DASHBOARD_CACHE_ENV, "x"),
        (FORGE_TIMEOUT_ENV, "x"),
        (CONTACT_ENV, "(x)"),
    ])
    .unwrap_err();
    let names: Vec<&str> = error.problems.iter().map(|p| p.variable).collect();
    assert_eq!(names, [CONTACT_ENV, FORGE_TIMEOUT_ENV, DASHBOARD_CACHE_ENV]);
    let message = error.to_string();
    assert!(
        message.contains("3 variables") && message.contains(".env.example"),
        "{message}"
    );
    let one = with(&[(PORT_ENV, "x")]).unwrap_err().to_string();
    assert!(one.starts_with("configuration: PORT:"), "{one}");
}

#[test]
fn what_only_some_commands_need_is_required_when_asked_for() {
    let s = ok(&[]);
    let contact = s.contact().unwrap_err();
    assert_eq!(contact.variable, CONTACT_ENV);
    assert!(contact.to_string().contains("User-Agent"), "{contact}");
    assert!(matches!(s.vault(), Err(VaultError::MissingKey)));
}

#[test]
fn secrets_never_appear_in_debug() {
    let s = ok(&[
        (GITHUB_TOKEN_ENV, "ghp_supersecret"),
        (GITLAB_TOKENS_ENV, "gitlab.com=glpat-supersecret"),
        (KEY_ENV_VAR, KEY),
        (NOTIFY_BOT_USER_ENV, "N@notify"),
        (NOTIFY_BOT_PASSWORD_ENV, "bot-supersecret"),
        (COOKIE_KEY_ENV, "cookie-supersecret"),
        (OAUTH_CLIENT_ID_ENV, "id"),
        (OAUTH_CLIENT_SECRET_ENV, "oauth-supersecret"),
        (
            OAUTH_REDIRECT_URL_ENV,
            "https://x.example.org/oauth/callback",
        ),
        (DATABASE_URL_ENV, "mysql://u:db-supersecret@h/d"),
    ]);
    let debug = format!("{s:?}");
    assert!(!debug.contains("supersecret"), "{debug}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
}

#[test]
fn settings_read_exactly_the_listed_setting_variables() {
    let asked = RefCell::new(BTreeSet::new());
    let _ = Settings::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        None
    });
    // Reading with everything set asks for the variables that depend on others too.
    let _ = Settings::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        Some(match name {
            OAUTH_REDIRECT_URL_ENV | OAUTH_BASE_URL_ENV => "https://x.example.org/".to_owned(),
            _ => "x".to_owned(),
        })
    });
    let listed: BTreeSet<String> = VARIABLES
        .iter()
        .filter(|v| v.kind == Kind::Setting)
        .map(|v| v.name.to_owned())
        .collect();
    assert_eq!(*asked.borrow(), listed);
    let names: Vec<&str> = VARIABLES.iter().map(|v| v.name).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "a variable is listed twice");
}

#[test]
fn the_listed_defaults_are_the_defaults_used() {
    // With an OAuth consumer, so that the OAuth base URL's default is used too.
    let base: &[(&str, &str)] = &[
        (OAUTH_CLIENT_ID_ENV, "id"),
        (
            OAUTH_REDIRECT_URL_ENV,
            "https://x.example.org/oauth/callback",
        ),
    ];
    let unset = ok(base);
    let forge_config = |s: &Settings| {
        format!(
            "{:?}",
            s.forge
                .builder(crate::forge::UserAgent::from_contact("ops@example.org").unwrap())
                .build()
        )
    };
    for v in VARIABLES.iter().filter(|v| v.kind == Kind::Setting) {
        let Some(default) = v.default else { continue };
        let mut pairs = base.to_vec();
        pairs.push((v.name, default));
        let set = ok(&pairs);
        // Optional values differ in form only; compare what they are used for.
        match v.name {
            DATABASE_URL_ENV => assert_eq!(
                set.database.url().unwrap().expose(),
                unset.database.url().unwrap().expose()
            ),
            GITHUB_API_URL_ENV => assert_eq!(forge_config(&set), forge_config(&unset)),
            _ => assert_eq!(
                format!("{set:?}"),
                format!("{unset:?}"),
                "{} default {default}",
                v.name
            ),
        }
    }
}

#[test]
fn every_variable_has_help_and_a_reader() {
    for v in VARIABLES {
        assert!(!v.help.is_empty(), "{}", v.name);
        assert!(!v.used_by.is_empty(), "{}", v.name);
        assert!(
            v.help.ends_with('.') || v.help.ends_with("-w0"),
            "{}",
            v.name
        );
        if v.secret {
            assert!(v.example.is_empty(), "{} shows a secret example", v.name);
        }
    }
}

#[test]
fn the_help_lists_each_readers_variables_with_their_help() {
    for reader in [Reader::Web, Reader::Jobs, Reader::Cli, Reader::Publish] {
        let help = vars::env_help(reader);
        assert!(help.starts_with("Environment"), "{help}");
        for v in VARIABLES {
            let listed = help
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{} ", v.name)));
            assert_eq!(
                listed,
                v.used_by.contains(&reader),
                "{} in {reader:?}",
                v.name
            );
        }
        assert!(help.lines().all(|l| l.len() <= 96), "{help}");
    }
    let publish = vars::env_help(Reader::Publish);
    let words = publish.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("WIKISCRIPTSYNC_DATABASE_URL The database,")
            && words.contains("(default: sqlite:data/wikiscriptsync.sqlite3)"),
        "{publish}"
    );
}

/// `.env.example` is exactly what [`vars::env_example`] makes: every listed variable with its
/// help, and nothing else. `WIKISCRIPTSYNC_UPDATE_ENV_EXAMPLE=1` rewrites the file.
#[test]
fn env_example_lists_every_variable_with_its_help_and_nothing_else() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../.env.example");
    let expected = vars::env_example();
    if std::env::var_os("WIKISCRIPTSYNC_UPDATE_ENV_EXAMPLE").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap();
    assert!(
        actual == expected,
        ".env.example differs from the variable list in settings/vars.rs; run \
         WIKISCRIPTSYNC_UPDATE_ENV_EXAMPLE=1 cargo test -p wikiscriptsync-core --lib settings \
         to rewrite it. Expected:\n{expected}"
    );
    // And in the terms of the task: each variable once, with its help; no other assignment.
    let assigned: Vec<&str> = actual
        .lines()
        .map(|l| l.trim_start_matches('#'))
        .filter_map(|l| l.split_once('=').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    let listed: Vec<&str> = VARIABLES.iter().map(|v| v.name).collect();
    assert_eq!(assigned, listed);
    let comments: String = actual
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .collect::<Vec<_>>()
        .join(" ");
    for v in VARIABLES {
        assert!(comments.contains(&v.described()), "{}", v.name);
    }
    let _: &EnvVar = vars::variable(CONTACT_ENV).unwrap();
}
