//! The one list of environment variables ([`VARIABLES`]) and the texts made from it: the
//! `Environment:` part of the binaries' help ([`env_help`]) and `.env.example`
//! ([`env_example`]). A test keeps `.env.example` equal to [`env_example`], and another that
//! [`super::Settings`] reads exactly the variables listed here as settings.

use std::fmt::Write as _;

use crate::maintenance::{HEALTH_FORGES_ENV, HEALTH_PROBE_WIKIS_ENV, RETENTION_DAYS_ENV};
use crate::notify::{NOTIFY_BOT_PASSWORD_ENV, NOTIFY_BOT_USER_ENV};
use crate::setup::{CONTACT_ENV, DATABASE_URL_ENV, DEFAULT_DATABASE_URL};
use crate::vault::KEY_ENV_VAR;

/// Who reads a variable; [`env_help`] lists the variables of one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The web app (`wikiscriptsync-web`).
    Web,
    /// The scheduled jobs (`wikiscriptsync-jobs`, and the CLI's check commands).
    Jobs,
    /// Any command of the CLI (`wikiscriptsync`).
    Cli,
    /// Publishing from the CLI (`wikiscriptsync publish`).
    Publish,
    /// The `publish_one_file` example.
    Example,
    /// The test suites.
    Tests,
}

/// What reads a variable's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A product setting, read by [`super::Settings`].
    Setting,
    /// The log filter, read by the logging library of each binary.
    Logging,
    /// Read by the `publish_one_file` example only.
    Example,
    /// Read by tests only.
    Test,
}

/// Where a variable is listed in `.env.example`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Read by every binary.
    Everyone,
    /// The forge clients.
    Forges,
    /// The web app.
    Web,
    /// Limits per user (the web app and the CLI's management commands).
    Limits,
    /// The scheduled jobs.
    Jobs,
    /// The `publish_one_file` example.
    Example,
    /// The test suites.
    Tests,
}

impl Section {
    /// The section's heading in `.env.example`.
    pub fn title(self) -> &'static str {
        match self {
            Self::Everyone => "Everyone",
            Self::Forges => "Forges (web, CLI, jobs)",
            Self::Web => "Web app",
            Self::Limits => "Limits per user (web app and CLI)",
            Self::Jobs => "Jobs",
            Self::Example => "The publish_one_file example",
            Self::Tests => {
                "Tests (CI sets these; tests that need them skip locally with \"skipped: ...\")"
            }
        }
    }
}

/// One environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    /// Its name.
    pub name: &'static str,
    /// The value used when it is unset or blank (as text), if there is one.
    pub default: Option<&'static str>,
    /// What it means and what to put there (one sentence or two).
    pub help: &'static str,
    /// Who reads it.
    pub used_by: &'static [Reader],
    /// What reads it.
    pub kind: Kind,
    /// Where `.env.example` lists it.
    pub section: Section,
    /// The value shown in `.env.example` (empty: none).
    pub example: &'static str,
    /// Whether `.env.example` lists it uncommented (a production deployment sets it).
    pub set_in_production: bool,
    /// Whether the value is a secret (never shown, never committed).
    pub secret: bool,
}

const fn var(name: &'static str, section: Section, used_by: &'static [Reader]) -> EnvVar {
    EnvVar {
        name,
        default: None,
        help: "",
        used_by,
        kind: Kind::Setting,
        section,
        example: "",
        set_in_production: false,
        secret: false,
    }
}

impl EnvVar {
    const fn help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }
    const fn default(mut self, default: &'static str) -> Self {
        self.default = Some(default);
        self
    }
    const fn example(mut self, example: &'static str) -> Self {
        self.example = example;
        self
    }
    const fn production(mut self) -> Self {
        self.set_in_production = true;
        self
    }
    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
    const fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// The help with the default appended, as the help texts and `.env.example` show it.
    pub fn described(&self) -> String {
        match self.default {
            Some(default) if !default.is_empty() => format!("{} (default: {default})", self.help),
            _ => self.help.to_owned(),
        }
    }
}

use Reader::{Cli, Example, Jobs, Publish, Tests, Web};

const ALL: &[Reader] = &[Web, Jobs, Cli, Publish, Example];
const SERVICES: &[Reader] = &[Web, Jobs, Cli, Publish];
const DATABASE_USERS: &[Reader] = &[Web, Jobs, Cli, Publish, Example];
const JOBS: &[Reader] = &[Jobs, Cli];
const WEB: &[Reader] = &[Web];
const LIMITS: &[Reader] = &[Web, Cli];
const EXAMPLE: &[Reader] = &[Example];
const TESTS: &[Reader] = &[Tests];

/// `WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS`.
pub const EXTRA_WIKI_HOSTS_ENV: &str = "WIKISCRIPTSYNC_EXTRA_WIKI_HOSTS";
/// `WIKISCRIPTSYNC_GITHUB_API_URL`.
pub const GITHUB_API_URL_ENV: &str = "WIKISCRIPTSYNC_GITHUB_API_URL";
/// `WIKISCRIPTSYNC_GITHUB_TOKEN`.
pub const GITHUB_TOKEN_ENV: &str = "WIKISCRIPTSYNC_GITHUB_TOKEN";
/// `WIKISCRIPTSYNC_GITLAB_INSTANCES`.
pub const GITLAB_INSTANCES_ENV: &str = "WIKISCRIPTSYNC_GITLAB_INSTANCES";
/// `WIKISCRIPTSYNC_GITLAB_TOKENS`.
pub const GITLAB_TOKENS_ENV: &str = "WIKISCRIPTSYNC_GITLAB_TOKENS";
/// `WIKISCRIPTSYNC_FORGE_TIMEOUT_SECS`.
pub const FORGE_TIMEOUT_ENV: &str = "WIKISCRIPTSYNC_FORGE_TIMEOUT_SECS";
/// `WIKISCRIPTSYNC_QUOTA_RESERVE_PERCENT`.
pub const QUOTA_RESERVE_ENV: &str = "WIKISCRIPTSYNC_QUOTA_RESERVE_PERCENT";
/// `TOOL_TOOLSDB_USER` (set by Toolforge).
pub const TOOLSDB_USER_ENV: &str = "TOOL_TOOLSDB_USER";
/// `TOOL_TOOLSDB_PASSWORD` (set by Toolforge).
pub const TOOLSDB_PASSWORD_ENV: &str = "TOOL_TOOLSDB_PASSWORD";
/// `PORT` (set by Toolforge).
pub const PORT_ENV: &str = "PORT";
/// `WIKISCRIPTSYNC_COOKIE_KEY`.
pub const COOKIE_KEY_ENV: &str = "WIKISCRIPTSYNC_COOKIE_KEY";
/// `WIKISCRIPTSYNC_OAUTH_CLIENT_ID`.
pub const OAUTH_CLIENT_ID_ENV: &str = "WIKISCRIPTSYNC_OAUTH_CLIENT_ID";
/// `WIKISCRIPTSYNC_OAUTH_CLIENT_SECRET`.
pub const OAUTH_CLIENT_SECRET_ENV: &str = "WIKISCRIPTSYNC_OAUTH_CLIENT_SECRET";
/// `WIKISCRIPTSYNC_OAUTH_REDIRECT_URL`.
pub const OAUTH_REDIRECT_URL_ENV: &str = "WIKISCRIPTSYNC_OAUTH_REDIRECT_URL";
/// `WIKISCRIPTSYNC_OAUTH_BASE_URL`.
pub const OAUTH_BASE_URL_ENV: &str = "WIKISCRIPTSYNC_OAUTH_BASE_URL";
/// `WIKISCRIPTSYNC_ADMIN_USERS`: central ids (OAuth `sub`) of the administrators.
pub const ADMIN_USERS_ENV: &str = "WIKISCRIPTSYNC_ADMIN_USERS";
/// `WIKISCRIPTSYNC_DASHBOARD_CACHE_SECONDS`.
pub const DASHBOARD_CACHE_ENV: &str = "WIKISCRIPTSYNC_DASHBOARD_CACHE_SECONDS";
/// `WIKISCRIPTSYNC_DATA_DIR`.
pub const DATA_DIR_ENV: &str = "WIKISCRIPTSYNC_DATA_DIR";
/// `WIKISCRIPTSYNC_MAX_REPOSITORIES_PER_USER`.
pub const MAX_REPOSITORIES_ENV: &str = "WIKISCRIPTSYNC_MAX_REPOSITORIES_PER_USER";
/// `WIKISCRIPTSYNC_MAX_WATCHED_FILES_PER_USER`.
pub const MAX_WATCHED_FILES_ENV: &str = "WIKISCRIPTSYNC_MAX_WATCHED_FILES_PER_USER";
/// `WIKISCRIPTSYNC_MAX_MAPPINGS_PER_USER`.
pub const MAX_MAPPINGS_ENV: &str = "WIKISCRIPTSYNC_MAX_MAPPINGS_PER_USER";
/// `WIKISCRIPTSYNC_MAX_MONITORED_PAGES_PER_USER`.
pub const MAX_MONITORED_PAGES_ENV: &str = "WIKISCRIPTSYNC_MAX_MONITORED_PAGES_PER_USER";
/// `WIKISCRIPTSYNC_CREDENTIAL_CHECKS_PER_HOUR`.
pub const CREDENTIAL_CHECKS_PER_HOUR_ENV: &str = "WIKISCRIPTSYNC_CREDENTIAL_CHECKS_PER_HOUR";
/// `HOSTNAME` (set by the system).
pub const HOSTNAME_ENV: &str = "HOSTNAME";

/// Every variable WikiScriptSync reads, in `.env.example` order.
pub const VARIABLES: &[EnvVar] = &[
    // ---- Everyone
    var(CONTACT_ENV, Section::Everyone, ALL)
        .help(
            "Your URL or e-mail for the User-Agent sent to Wikimedia, GitHub and GitLab \
             (required; `wikiscriptsync-web --dev` uses the project's URL without it).",
        )
        .example("https://wikiscriptsync.toolforge.org")
        .production(),
    var(DATABASE_URL_ENV, Section::Everyone, DATABASE_USERS)
        .help(
            "The database, sqlite:PATH or mysql://USER:PASSWORD@HOST/NAME; unset, ToolsDB when \
             TOOL_TOOLSDB_USER is set, else a SQLite file created and migrated on first use.",
        )
        .default(DEFAULT_DATABASE_URL)
        .example(DEFAULT_DATABASE_URL),
    var(TOOLSDB_USER_ENV, Section::Everyone, DATABASE_USERS).help(
        "ToolsDB credential user, set by Toolforge for every tool; the database is \
         <user>__wikiscriptsync.",
    ),
    var(TOOLSDB_PASSWORD_ENV, Section::Everyone, DATABASE_USERS)
        .help("ToolsDB password, set by Toolforge with TOOL_TOOLSDB_USER (secret).")
        .secret(),
    var(KEY_ENV_VAR, Section::Everyone, SERVICES)
        .help(
            "Fernet keys encrypting stored BotPasswords, newest first, comma-separated (secret); \
             make one with `wikiscriptsync generate-key`.",
        )
        .production()
        .secret(),
    var(EXTRA_WIKI_HOSTS_ENV, Section::Everyone, ALL).help(
        "Extra wikis besides Wikimedia's, comma-separated, each as its API URL \
         (http://127.0.0.1:8080/w/api.php), its base URL (https://wiki.example.org/) or \
         host[:port] (plain http on loopback only), e.g. a test wiki.",
    ),
    var(HOSTNAME_ENV, Section::Everyone, &[Web, Jobs, Cli])
        .help("This machine's name, part of the owner of claimed work (set by the system).")
        .default("localhost"),
    var("RUST_LOG", Section::Everyone, &[Web, Jobs, Cli, Publish])
        .help("Log filter, tracing EnvFilter syntax (default: info; the CLI's: warn).")
        .example("info")
        .kind(Kind::Logging),
    // ---- Forges
    var(GITHUB_TOKEN_ENV, Section::Forges, ALL)
        .help(
            "A GitHub token (fine-grained, public repositories read-only): 5,000 requests an \
             hour instead of 60, and unchanged repositories cost no quota; private repositories \
             are refused whatever the token can read (secret).",
        )
        .secret(),
    var(GITHUB_API_URL_ENV, Section::Forges, ALL)
        .help("The GitHub API, only for GitHub Enterprise or tests.")
        .default(crate::forge::config::GITHUB_API_URL)
        .example(crate::forge::config::GITHUB_API_URL),
    var(GITLAB_INSTANCES_ENV, Section::Forges, ALL).help(
        "Extra GitLab instances, base URLs, comma-separated (gitlab.com and gitlab.wikimedia.org \
         are always known; plain http on loopback only).",
    ),
    var(GITLAB_TOKENS_ENV, Section::Forges, ALL)
        .help(
            "GitLab tokens (read_api, of an account that is a member of no project), host=token \
             pairs, comma-separated: a higher rate limit only, internal and private projects are \
             refused whatever the token can read (secret).",
        )
        .secret(),
    var(FORGE_TIMEOUT_ENV, Section::Forges, ALL)
        .help("Per-request timeout of forge requests, in whole seconds.")
        .default("20")
        .example("20"),
    var(QUOTA_RESERVE_ENV, Section::Forges, ALL)
        .help(
            "Percent of each forge host's hourly request limit (as its rate-limit headers report \
             it) that scheduled checks leave for what people do; the rest is shared evenly among \
             the users tracking repositories there, per hour (0 to 90).",
        )
        .default("10")
        .example("10"),
    // ---- Web app
    var(PORT_ENV, Section::Web, WEB)
        .help("The port to listen on (Toolforge sets it; --port overrides).")
        .default("8000")
        .example("8000"),
    var(COOKIE_KEY_ENV, Section::Web, WEB)
        .help(
            "Cookie key, base64 of at least 64 random bytes (secret; production): \
             head -c 64 /dev/urandom | base64 -w0",
        )
        .production()
        .secret(),
    var(OAUTH_CLIENT_ID_ENV, Section::Web, WEB)
        .help(
            "Wikimedia OAuth 2.0 consumer, identity only (\"User identity verification only\"; \
             production).",
        )
        .production(),
    var(OAUTH_CLIENT_SECRET_ENV, Section::Web, WEB)
        .help("The consumer's secret (confidential consumers; secret).")
        .production()
        .secret(),
    var(OAUTH_REDIRECT_URL_ENV, Section::Web, WEB)
        .help(
            "The consumer's registered callback URL (required with the client id); its origin \
             is the site's public origin.",
        )
        .example("https://wikiscriptsync.toolforge.org/oauth/callback")
        .production(),
    var(OAUTH_BASE_URL_ENV, Section::Web, WEB)
        .help("The central wiki OAuth talks to.")
        .default(crate::mw::oauth::DEFAULT_OAUTH_BASE)
        .example(crate::mw::oauth::DEFAULT_OAUTH_BASE),
    var(ADMIN_USERS_ENV, Section::Web, WEB)
        .help(
            "Central user ids (the OAuth `sub`, not user names: a name can be renamed away and \
             taken by someone else) of the users who may see the usage metrics, comma-separated. \
             A user's id is the `id` of action=query&meta=globaluserinfo&guiuser=NAME on Meta; \
             in development mode it is dev:NAME.",
        )
        .example("12345678"),
    var(DASHBOARD_CACHE_ENV, Section::Web, WEB)
        .help(
            "Seconds a user's dashboard is served from memory, 0 to 3600 (0: off); a user's own \
             changes show at once, the scheduled checks' results within this time.",
        )
        .default("5")
        .example("5"),
    var(DATA_DIR_ENV, Section::Web, WEB)
        .help(
            "Development mode's directory for the database and generated keys (--data-dir \
             overrides).",
        )
        .default("data")
        .example("data"),
    // ---- Limits per user
    var(MAX_REPOSITORIES_ENV, Section::Limits, LIMITS)
        .help("Repositories one user may track.")
        .default("50")
        .example("50"),
    var(MAX_WATCHED_FILES_ENV, Section::Limits, LIMITS)
        .help("Files one user may watch, over all their repositories.")
        .default("500")
        .example("500"),
    var(MAX_MAPPINGS_ENV, Section::Limits, LIMITS)
        .help("File-to-page mappings one user may have.")
        .default("1000")
        .example("1000"),
    var(MAX_MONITORED_PAGES_ENV, Section::Limits, LIMITS)
        .help("Pages one user may monitor (mapping a page monitors it by default).")
        .default("2000")
        .example("2000"),
    var(CREDENTIAL_CHECKS_PER_HOUR_ENV, Section::Limits, LIMITS)
        .help(
            "BotPassword checks (saves and verifications) one user may make an hour; each logs \
             in to a wiki from the service's shared address.",
        )
        .default("12")
        .example("12"),
    // ---- Jobs
    var(NOTIFY_BOT_USER_ENV, Section::Jobs, JOBS).help(
        "The bot account that posts talk-page notifications, User@BotName (talk-page rights \
         only); without it and its password, checks run and notifications are off.",
    ),
    var(NOTIFY_BOT_PASSWORD_ENV, Section::Jobs, JOBS)
        .help("The notification bot's BotPassword (secret).")
        .secret(),
    var(RETENTION_DAYS_ENV, Section::Jobs, JOBS)
        .help(
            "Days of check and notification logs kept by cleanup-logs (the publish log is kept \
             forever).",
        )
        .default("90")
        .example("90"),
    var(HEALTH_FORGES_ENV, Section::Jobs, &[Cli])
        .help(
            "API hosts check-health probes, as in their API URLs, comma-separated (default: \
             every configured forge, one quota-free request each).",
        )
        .example("api.github.com,gitlab.wikimedia.org"),
    var(HEALTH_PROBE_WIKIS_ENV, Section::Jobs, &[Cli])
        .help("Wikis check-health asks who we are, comma-separated.")
        .default(crate::maintenance::DEFAULT_HEALTH_PROBE_WIKIS)
        .example(crate::maintenance::DEFAULT_HEALTH_PROBE_WIKIS),
    // ---- The example
    var("WIKISCRIPTSYNC_REPO", Section::Example, EXAMPLE)
        .help("The repository's URL.")
        .kind(Kind::Example),
    var("WIKISCRIPTSYNC_BRANCH", Section::Example, EXAMPLE)
        .help("The branch to publish from.")
        .kind(Kind::Example),
    var("WIKISCRIPTSYNC_FILE", Section::Example, EXAMPLE)
        .help("The file's path in the repository.")
        .kind(Kind::Example),
    var("WIKISCRIPTSYNC_WIKI", Section::Example, EXAMPLE)
        .help("The wiki, e.g. test.wikipedia.org.")
        .kind(Kind::Example),
    var("WIKISCRIPTSYNC_PAGE", Section::Example, EXAMPLE)
        .help("The page title.")
        .kind(Kind::Example),
    var("WIKISCRIPTSYNC_BOT_USER", Section::Example, EXAMPLE)
        .help("The BotPassword login name, User@BotName.")
        .kind(Kind::Example),
    var("WIKISCRIPTSYNC_BOT_PASSWORD", Section::Example, EXAMPLE)
        .help("The BotPassword (secret).")
        .kind(Kind::Example)
        .secret(),
    // ---- Tests
    var("CI", Section::Tests, TESTS)
        .help("Set by CI: a test that would skip for a missing service fails instead.")
        .kind(Kind::Test),
    var("WIKISCRIPTSYNC_TEST_MARIADB_URL", Section::Tests, TESTS)
        .help("A MariaDB server for the store tests, mysql://root@127.0.0.1:3306.")
        .kind(Kind::Test),
    var("WIKISCRIPTSYNC_TEST_MEDIAWIKI_URL", Section::Tests, TESTS)
        .help("A real MediaWiki (scripts/mediawiki-test-server prints these variables).")
        .kind(Kind::Test),
    var("WIKISCRIPTSYNC_TEST_MW_ADMIN_USER", Section::Tests, TESTS)
        .help("Its administrator's BotPassword login.")
        .kind(Kind::Test),
    var(
        "WIKISCRIPTSYNC_TEST_MW_ADMIN_PASSWORD",
        Section::Tests,
        TESTS,
    )
    .help("Its password.")
    .kind(Kind::Test)
    .secret(),
    var("WIKISCRIPTSYNC_TEST_MW_LIMITED_USER", Section::Tests, TESTS)
        .help("A login without the rights to edit site scripts.")
        .kind(Kind::Test),
    var(
        "WIKISCRIPTSYNC_TEST_MW_LIMITED_PASSWORD",
        Section::Tests,
        TESTS,
    )
    .help("Its password.")
    .kind(Kind::Test)
    .secret(),
    var("WIKISCRIPTSYNC_TEST_MW_NOTIFY_USER", Section::Tests, TESTS)
        .help("A notification bot login.")
        .kind(Kind::Test),
    var(
        "WIKISCRIPTSYNC_TEST_MW_NOTIFY_PASSWORD",
        Section::Tests,
        TESTS,
    )
    .help("Its password.")
    .kind(Kind::Test)
    .secret(),
    var("WIKISCRIPTSYNC_TEST_MW_RECIPIENT", Section::Tests, TESTS)
        .help("The user whose talk page receives the test notices.")
        .kind(Kind::Test),
    var("WIKISCRIPTSYNC_CHROMEDRIVER", Section::Tests, TESTS)
        .help("The web app's browser test: where chromedriver is.")
        .default("chromedriver on PATH")
        .example("chromedriver")
        .kind(Kind::Test),
];

/// The variable called `name`, if listed.
pub fn variable(name: &str) -> Option<&'static EnvVar> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// Lines of at most `width` characters (words are never split).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Width of the help texts.
const HELP_WIDTH: usize = 96;

/// The `Environment:` part of a binary's help: every variable `reader` reads, one per entry,
/// help wrapped and aligned.
pub fn env_help(reader: Reader) -> String {
    let listed: Vec<&EnvVar> = VARIABLES
        .iter()
        .filter(|v| v.used_by.contains(&reader))
        .collect();
    let name_width = listed.iter().map(|v| v.name.len()).max().unwrap_or(0) + 2;
    let mut out = String::from("Environment (see .env.example):");
    for v in listed {
        let indent = 2 + name_width;
        let lines = wrap(&v.described(), HELP_WIDTH.saturating_sub(indent).max(30));
        for (i, line) in lines.iter().enumerate() {
            let name = if i == 0 { v.name } else { "" };
            let _ = write!(out, "\n  {name:<name_width$}{line}");
        }
    }
    out
}

/// How `.env.example` begins.
const ENV_EXAMPLE_HEADER: &str = "\
# WikiScriptSync configuration: every environment variable the web app, the CLI and the jobs
# read. On Toolforge, set secrets with `toolforge envvars create NAME` (never commit values).
# Locally, `wikiscriptsync-web --dev` needs none of them.
# This file is made from the list in wikiscriptsync-core/src/settings/vars.rs; a test keeps it
# equal (WIKISCRIPTSYNC_UPDATE_ENV_EXAMPLE=1 cargo test -p wikiscriptsync-core settings rewrites it).
";

/// The text of `.env.example`: every variable of [`VARIABLES`] under its section, with its help
/// (and default) as a comment; the ones a production deployment sets are uncommented.
pub fn env_example() -> String {
    let mut out = String::from(ENV_EXAMPLE_HEADER);
    let mut section = None;
    for v in VARIABLES {
        if section != Some(v.section) {
            section = Some(v.section);
            let title = format!("# ---- {} ", v.section.title());
            let _ = write!(out, "\n{title:-<HELP_WIDTH$}\n");
        }
        for line in wrap(&v.described(), HELP_WIDTH - 2) {
            let _ = writeln!(out, "# {line}");
        }
        let comment = if v.set_in_production { "" } else { "#" };
        let example = if v.secret { "" } else { v.example };
        let _ = writeln!(out, "{comment}{}={example}", v.name);
    }
    out
}
