//! A MediaWiki Action API client for publishing and monitoring gadget and user-script pages.
//!
//! - [`WikiAddress`] and [`ActionApiClient::resolve_wiki`] find a wiki's API from any address
//!   (host, article, `index.php`, `api.php`) and identify it with one `meta=siteinfo` request
//!   ([`WikiIdentity`]: id, name, language, canonical API, namespaces); titles are then checked
//!   against the wiki's own namespaces ([`WikiIdentity::title`]).
//! - [`WikiUrl`] turns `en.wikipedia.org` (or a URL, or an `api.php` URL) into the API URL and
//!   refuses hosts outside the [`AllowList`] before any request.
//! - [`ActionApiClient`] (behind the object-safe [`WikiApi`] trait) opens [`Session`]s
//!   ([`WikiSession`]): BotPassword logins with their own cookie jar, or anonymous ones.
//! - Sessions look up many pages in ⌈N/50⌉ requests (⌈N/500⌉ with `apihighlimits`), read page
//!   text, run the one-request pre-publish [`Probe`], edit with conflict detection, and post
//!   talk-page notices (Flow boards included).
//! - Every request carries `format=json&formatversion=2&errorformat=plaintext`, the configured
//!   User-Agent, `maxlag` and (once logged in) `assert=user`; maxlag, readonly, ratelimited,
//!   HTTP 429 and 503 are retried with backoff; `badtoken` and expired sessions are recovered
//!   from once.
//! - [`oauth`] is the OAuth 2.0 identity flow for the web app.
//! - With the `testkit` feature, `testkit::FakeWiki` is an in-memory wiki on wiremock.
//!
//! A cold publish is four requests (login token, login, probe, edit):
//!
//! ```no_run
//! # use wikiscriptsync_mw::SecretString;
//! # async fn publish(password: SecretString) -> Result<(), wikiscriptsync_mw::Error> {
//! use wikiscriptsync_mw::*;
//! let mut config = ClientConfig::new(UserAgent::new("MyTool", "1.0", "https://example.org/me")?);
//! config.allow_list = AllowList::with_hosts(["wiki.example.org"])?; // besides Wikimedia's
//! let client = ActionApiClient::new(config)?;
//! let wiki = client.parse_wiki("en.wikipedia.org")?;
//! let session = client.login_session(&wiki, BotPassword::new("Me@publisher", password)).await?;
//! let title = Title::parse("User:Me/tool.js")?;
//! let probe = session.probe(&title).await?;
//! probe.check_rights(&title)?; // a missing right names the BotPassword grant to add
//! let mut edit = EditRequest::new(title, "mw.log('hi');", "Update from git");
//! edit.base_revision = probe.page.revision_id; // edit conflicts are detected
//! edit.start_timestamp = Some(probe.server_time);
//! match session.edit(&edit).await? {
//!     EditOutcome::NoChange => println!("already up to date"),
//!     outcome => println!("{outcome:?} in {} requests", session.request_count()),
//! }
//! # Ok(()) }
//! ```
//!
//! Secrets (BotPasswords, CSRF and OAuth tokens, client secrets) are [`secrecy::SecretString`]s:
//! they appear in no log line, error message or `Debug` output.
#![warn(missing_docs)]

mod answer;
mod api;
mod body;
mod client;
mod config;
mod edit;
mod error;
mod notices;
pub mod oauth;
mod probe;
mod revisions;
mod rights;
mod site;
mod title;
mod wiki;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use api::{
    BlockInfo, BotPassword, CreatePolicy, EditOutcome, EditRequest, PageLookup, PageRevision,
    PageState, PageText, Probe, ProbedPage, TalkNotice, TalkNoticeOutcome, UserInfo, WikiApi,
    WikiSession,
};
pub use client::{ActionApiClient, Session};
pub use config::{
    ClientConfig, ConfigError, MAX_IN_FLIGHT_CAP, MAX_RESPONSE_BYTES, RetryPolicy, UserAgent,
    UserAgentError,
};
pub use edit::{SUMMARY_CHARACTER_LIMIT, normalize_text, trim_summary};
pub use error::{Error, LoginError, RetryCause};
pub use revisions::{TITLES_PER_REQUEST, TITLES_PER_REQUEST_HIGH};
pub use rights::{MissingRight, RequiredRight, check_rights, grant_for_right, required_rights};
pub use secrecy::SecretString;
pub use site::{
    SITEINFO_PROPS, SiteNamespace, SiteTitle, SiteTitleError, SiteinfoError, WikiIdentity,
};
pub use title::{ContentModel, Namespace, Title, TitleError, UserTalkTitle};
pub use wiki::{
    AllowList, ApiSearch, WIKIMEDIA_API_PATH, WIKIMEDIA_DOMAINS, WikiAddress, WikiUrl, WikiUrlError,
};
