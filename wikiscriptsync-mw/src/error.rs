//! The crate's error type: every variant says what went wrong and what the caller can do.
//! No variant ever carries a password or token.

use std::fmt;
use std::time::Duration;

use crate::config::ConfigError;
use crate::credential::CredentialKind;
use crate::rights::MissingRight;
use crate::title::TitleError;
use crate::wiki::WikiUrlError;

/// A condition that was retried with backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryCause {
    /// The wiki's database replicas lagged more than our `maxlag`.
    Maxlag,
    /// The wiki is in read-only mode.
    ReadOnly,
    /// MediaWiki's own rate limit (`ratelimited`).
    RateLimited,
    /// HTTP 429 Too Many Requests (Wikimedia's global API limits).
    TooManyRequests,
    /// HTTP 503 Service Unavailable.
    ServiceUnavailable,
}

impl fmt::Display for RetryCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Maxlag => "database replication lag (maxlag)",
            Self::ReadOnly => "the wiki being read-only",
            Self::RateLimited => "the wiki's rate limit (ratelimited)",
            Self::TooManyRequests => "HTTP 429 Too Many Requests",
            Self::ServiceUnavailable => "HTTP 503 Service Unavailable",
        })
    }
}

/// Why a BotPassword login failed (the `action=login` result).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// `Failed` / `wrongpassword`.
    #[error(
        "login as `{user}` failed: wrong user name or password; use the `User@BotName` name and the \
         generated password from Special:BotPasswords"
    )]
    WrongPassword {
        /// The login name used.
        user: String,
    },
    /// `Failed` / `login-throttled` (or the old `Throttled` result).
    #[error(
        "login as `{user}` was throttled after too many attempts; wait a few minutes and try again"
    )]
    Throttled {
        /// The login name used.
        user: String,
    },
    /// `Failed` / `botpasswords-needs-reset`.
    #[error("the BotPassword `{user}` must be reset on Special:BotPasswords before it can be used")]
    NeedsReset {
        /// The login name used.
        user: String,
    },
    /// `Failed` / `botpasswords-locked`.
    #[error(
        "the BotPassword `{user}` is locked (the account may be locked or its password reset); check Special:BotPasswords"
    )]
    Locked {
        /// The login name used.
        user: String,
    },
    /// `Failed` / `sessionlost`: the cookie from the token request was not kept.
    #[error(
        "login as `{user}` lost its session between the token request and the login; try again"
    )]
    SessionLost {
        /// The login name used.
        user: String,
    },
    /// `Failed` with another reason.
    #[error("login as `{user}` failed: {text} ({code})")]
    Failed {
        /// The login name used.
        user: String,
        /// The reason code.
        code: String,
        /// The wiki's explanation.
        text: String,
    },
    /// `WrongToken`.
    #[error("the wiki rejected the login token for `{user}`; try again")]
    WrongToken {
        /// The login name used.
        user: String,
    },
    /// `NeedToken`.
    #[error("the wiki asked for a login token for `{user}` although one was sent; try again")]
    NeedToken {
        /// The login name used.
        user: String,
    },
    /// `Aborted` with the reason `api-login-fail-aborted`: the account's login needs user
    /// interaction (two-factor authentication, as every interface administrator on Wikimedia
    /// wikis has), which `action=login` cannot do (`includes/api/ApiLogin.php`). The main
    /// account password was given where a BotPassword belongs.
    #[error(
        "login as `{user}` was refused because this account's login needs user interaction \
         (such as two-factor authentication), which API logins cannot do; create a BotPassword \
         on Special:BotPasswords and use its `User@BotName` login name and generated password, \
         or use an owner-only OAuth 2.0 token"
    )]
    NeedsBotPassword {
        /// The login name used.
        user: String,
    },
    /// `Aborted` for another reason (e.g. BotPasswords are disabled on the wiki).
    #[error(
        "login as `{user}` was aborted by the wiki: {text}; use the `User@BotName` name and the \
         generated password from Special:BotPasswords, not your main account password"
    )]
    Aborted {
        /// The login name used.
        user: String,
        /// The wiki's explanation.
        text: String,
    },
    /// An unknown `result`.
    #[error("login as `{user}` returned the unexpected result `{result}`")]
    Unexpected {
        /// The login name used.
        user: String,
        /// The `result` value.
        result: String,
    },
}

/// Everything that can go wrong talking to a wiki.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The wiki address is malformed or not allowed; nothing was sent.
    #[error(transparent)]
    WikiUrl(#[from] WikiUrlError),
    /// The client configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A title is invalid; nothing was sent.
    #[error(transparent)]
    Title(#[from] TitleError),
    /// The wiki could not be reached (DNS, connection, TLS).
    #[error("could not reach {wiki}: {detail}; check the address and your network")]
    Network {
        /// The wiki's host.
        wiki: String,
        /// What failed.
        detail: String,
    },
    /// The wiki did not answer in time.
    #[error("{wiki} did not answer within {timeout:?}; try again later")]
    Timeout {
        /// The wiki's host.
        wiki: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// A non-success HTTP status that is not retried.
    #[error("{wiki} answered HTTP {status}")]
    Http {
        /// The wiki's host.
        wiki: String,
        /// The status code.
        status: u16,
    },
    /// The answer was not the JSON we expected (malformed, truncated, wrong shape).
    #[error(
        "{wiki} sent an answer we cannot read ({detail}); the wiki or a proxy may be misbehaving, try again later"
    )]
    InvalidResponse {
        /// The wiki's host.
        wiki: String,
        /// What was wrong.
        detail: String,
    },
    /// The answer was larger than the client reads ([`crate::ClientConfig::max_response_bytes`]).
    #[error(
        "{wiki} sent an answer larger than {limit} bytes, more than any answer we ask for; we \
         stopped reading it (the wiki or a proxy may be misbehaving), try again later"
    )]
    TooLarge {
        /// The wiki's host.
        wiki: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// A retryable condition persisted through every attempt.
    #[error(
        "{wiki} kept refusing because of {cause}: retried {retries} times over {waited:?} and gave \
         up; try again later"
    )]
    RetriesExhausted {
        /// The wiki's host.
        wiki: String,
        /// What was retried.
        cause: RetryCause,
        /// How many retries were made (attempts − 1).
        retries: u32,
        /// Total time spent waiting between attempts.
        waited: Duration,
    },
    /// Logging in failed.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The session is not (or no longer) logged in, and logging in again did not help.
    #[error(
        "the session on {wiki} is not logged in (assertuserfailed) and logging in again did not help"
    )]
    NotLoggedIn {
        /// The wiki's host.
        wiki: String,
    },
    /// The CSRF token was rejected even after fetching a fresh one.
    #[error("{wiki} rejected a freshly fetched CSRF token (badtoken); log in again")]
    BadToken {
        /// The wiki's host.
        wiki: String,
    },
    /// The session lacks a right the edit needs (checked before editing).
    #[error(transparent)]
    MissingRight(#[from] MissingRight),
    /// The wiki refused the edit for lack of a right.
    #[error("permission denied editing `{title}`: {text}{hint}", hint = right_hint(.right.as_deref(), .grant))]
    PermissionDenied {
        /// The page.
        title: String,
        /// The right that is missing, when the error code names it.
        right: Option<String>,
        /// The narrowest grant carrying that right.
        grant: Option<&'static str>,
        /// The wiki's explanation.
        text: String,
    },
    /// The wiki refused a security-sensitive edit (site JS/CSS, raw-HTML messages, other
    /// users' JS/CSS) because the session did not log in recently: API error `reauthenticate`,
    /// or `cannotreauthenticate` where the session cannot log in again at all (BotPassword and
    /// OAuth sessions), from `ApiAuthManagerHelper::securitySensitiveOperation`. Wikimedia
    /// started requiring this in 2026 (T419621, T419152, T197137); whether BotPassword and OAuth
    /// sessions are exempt is set per session type and may change. Never retried.
    #[error(
        "{wiki} refused the edit of `{title}` ({code}): edits of site JavaScript/CSS, raw-HTML \
         messages and other users' scripts need a recent interactive login on this wiki, and \
         {who}; {what}"
    , who = reauth_who(*.credential), what = REAUTH_ADVICE)]
    ReauthenticationRequired {
        /// The wiki's host.
        wiki: String,
        /// The page.
        title: String,
        /// `reauthenticate` or `cannotreauthenticate`.
        code: String,
        /// The credential the session acted with, when known.
        credential: Option<CredentialKind>,
    },
    /// The wiki's OAuth extension refused the access token: invalid, revoked (the consumer's
    /// secret was reset), for another wiki, for a missing or blocked user, or for a consumer
    /// not usable by its user. The codes are the extension's message keys
    /// (`mwoauth-invalid-authorization`, `mwoauth-invalid-authorization-wrong-wiki`,
    /// `-invalid-user`, `-blocked-user`, `-not-approved`, `-wrong-user`, `-jwt`), answered with
    /// HTTP 200 and the header `MediaWiki-API-Error` (`src/SessionProvider.php`). Never retried.
    #[error("{wiki} refused the owner-only OAuth 2.0 token ({code}): {text}; {advice}", advice = token_advice(.code))]
    TokenRejected {
        /// The wiki's host.
        wiki: String,
        /// The OAuth extension's error code.
        code: String,
        /// The wiki's explanation.
        text: String,
    },
    /// A [`crate::WikiApi`] implementation that cannot open sessions with this kind of
    /// credential.
    #[error("this wiki client cannot act with a {} credential", .kind.label())]
    CredentialUnsupported {
        /// The kind refused.
        kind: CredentialKind,
    },
    /// Someone else edited the page since `baserevid`.
    #[error(
        "edit conflict on `{title}`: the page changed after the revision this edit was based on; review the new version first"
    )]
    EditConflict {
        /// The page.
        title: String,
    },
    /// The page was deleted after `starttimestamp`.
    #[error(
        "`{title}` was deleted while we were editing it; check the deletion log before recreating it"
    )]
    PageDeleted {
        /// The page.
        title: String,
    },
    /// The page is protected.
    #[error("`{title}` is protected: {text}")]
    ProtectedPage {
        /// The page.
        title: String,
        /// The wiki's explanation.
        text: String,
    },
    /// The account is blocked.
    #[error("the account is blocked: {text}; edits are impossible until the block ends")]
    Blocked {
        /// The wiki's explanation (block reason).
        text: String,
    },
    /// The spam blacklist matched.
    #[error("the spam blacklist refused the edit of `{title}` because of: {}", .matches.join(", "))]
    SpamBlacklist {
        /// The page.
        title: String,
        /// The blacklisted URLs.
        matches: Vec<String>,
    },
    /// An abuse filter refused or warned.
    #[error("abuse filter {} refused the edit of `{title}`: {description}", .filter_id.as_deref().unwrap_or("?"))]
    AbuseFilter {
        /// The page.
        title: String,
        /// The filter id if given.
        filter_id: Option<String>,
        /// The filter's description.
        description: String,
        /// `true` for `abusefilter-warning` (an identical resubmission would pass).
        warning: bool,
    },
    /// A CAPTCHA was demanded (the BotPassword lacks the `basic` grant's `skipcaptcha`).
    #[error(
        "the wiki demands a CAPTCHA for editing `{title}`; give the BotPassword the `basic` grant (skipcaptcha)"
    )]
    Captcha {
        /// The page.
        title: String,
    },
    /// The page's content model differs from the one sent.
    #[error("content model mismatch on `{title}`: {text}")]
    ContentModelMismatch {
        /// The page.
        title: String,
        /// The wiki's explanation.
        text: String,
    },
    /// The page does not exist and creation was not allowed.
    #[error("`{title}` does not exist; allow creation if you meant to create it")]
    PageMissing {
        /// The page.
        title: String,
    },
    /// The page exists and `createonly` was requested.
    #[error("`{title}` already exists; it was not overwritten")]
    PageExists {
        /// The page.
        title: String,
    },
    /// The requested revision does not exist (or was deleted).
    #[error("revision {revision} does not exist on {wiki} (or its text is hidden)")]
    RevisionNotFound {
        /// The wiki's host.
        wiki: String,
        /// The revision id.
        revision: u64,
    },
    /// Any other API error.
    #[error("the wiki answered `{code}`: {text}")]
    Api {
        /// The error code.
        code: String,
        /// The wiki's explanation.
        text: String,
    },
    /// No MediaWiki API answered at any of the places a wiki's API is found.
    #[error(
        "no MediaWiki API answered at {}; give the wiki's api.php URL (Special:Version lists it \
         under \"Entry point URLs\")",
        .tried.join(" or ")
    )]
    NoApi {
        /// The API URLs that were tried.
        tried: Vec<String>,
    },
}

fn right_hint(right: Option<&str>, grant: &Option<&'static str>) -> String {
    match (right, grant) {
        (Some(right), Some(grant)) => format!(
            " (needs the right `{right}`, carried by the grant `{grant}`: tick it for a \
             BotPassword on Special:BotPasswords; an owner-only OAuth consumer's grants cannot \
             be changed, so propose a new one with it on meta)"
        ),
        (Some(right), None) => format!(" (needs the right `{right}`)"),
        _ => String::new(),
    }
}

fn reauth_who(credential: Option<CredentialKind>) -> &'static str {
    match credential {
        Some(CredentialKind::OwnerOnlyToken) => {
            "this wiki does not exempt OAuth sessions (an owner-only token cannot log in again)"
        }
        Some(CredentialKind::BotPassword) => {
            "this wiki does not exempt BotPassword sessions (a fresh BotPassword login does not count as one)"
        }
        None => "this wiki does not exempt BotPassword or OAuth sessions",
    }
}

const REAUTH_ADVICE: &str = "no stored credential can publish this page now: edit it by hand in a browser after logging \
     in, or ask the wiki's administrators (the setting is per session type and may change); \
     trying again will not help";

fn token_advice(code: &str) -> &'static str {
    match code {
        "mwoauth-invalid-authorization-wrong-wiki" => {
            "the token is for another wiki (or its consumer is limited to another wiki): store \
             this token only for the wikis its consumer applies to, or propose an owner-only \
             consumer for \"all projects\" on meta"
        }
        "mwoauth-invalid-authorization-blocked-user" => {
            "the account the token acts for is blocked or locked; nothing can be published until \
             that ends"
        }
        "mwoauth-invalid-authorization-invalid-user" => {
            "the account the token acts for does not exist on this wiki; log in on it once in a \
             browser, or check the token is yours"
        }
        "mwoauth-invalid-authorization-not-approved" => {
            "the consumer is not usable by its owner (disabled or rejected); propose a new \
             owner-only consumer on meta (Special:OAuthConsumerRegistration/propose/oauth2)"
        }
        _ => {
            "the token is invalid or was revoked (its consumer's secret reset or the consumer \
             disabled); store the current access token, or propose a new owner-only consumer on \
             meta (Special:OAuthConsumerRegistration/propose/oauth2)"
        }
    }
}

/// Whether an API error code is the OAuth extension's refusal of the request's credentials.
pub(crate) fn is_token_rejection(code: &str) -> bool {
    code.starts_with("mwoauth-invalid-authorization")
        || code == "mwoauth-oauth2-invalid-access-token"
}

/// A refused User-Agent is a configuration error, so `?` works where a client is built.
impl From<crate::config::UserAgentError> for Error {
    fn from(err: crate::config::UserAgentError) -> Self {
        Self::Config(ConfigError::UserAgent(err))
    }
}

impl Error {
    /// Whether trying again later may succeed (network trouble, retries exhausted, timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Network { .. }
                | Self::Timeout { .. }
                | Self::RetriesExhausted { .. }
                | Self::InvalidResponse { .. }
                | Self::TooLarge { .. }
        ) || matches!(self, Self::Http { status, .. } if *status >= 500)
    }
}
