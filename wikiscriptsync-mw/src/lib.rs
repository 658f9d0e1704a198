//! A MediaWiki Action API client for publishing and monitoring gadget and user-script pages.
//!
//! - [`WikiAddress`] and [`ActionApiClient::resolve_wiki`] find a wiki's API from any address
//!   (host, article, `index.php`, `api.php`) and identify it with one `meta=siteinfo` request
//!   ([`WikiIdentity`]: id, name, language, canonical API, namespaces); titles are then checked
//!   against the wiki's own namespaces ([`WikiIdentity::title`]).
//! - [`WikiUrl`] turns `en.wikipedia.org` (or a URL, or an `api.php` URL) into the API URL and
//!   refuses hosts outside the [`AllowList`] before any request.
//! - [`ActionApiClient`] (behind the object-safe [`WikiApi`] trait) opens [`Session`]s
//!   ([`WikiSession`]), each with its own cookie jar: anonymous, or acting with a
//!   [`Credential`] through [`WikiApi::open`] — a [`BotPassword`] logs in (2 requests), an
//!   [`OwnerOnlyToken`] (owner-only OAuth 2.0 access token, checked for form by
//!   [`OwnerOnlyToken::new`]) sends no login and goes as `Authorization: Bearer` on every
//!   request, so a cold publish with a token is 2 requests. A refused token is
//!   [`Error::TokenRejected`]; an edit refused for lack of a recent login (2026) is
//!   [`Error::ReauthenticationRequired`]; a main-account login needing 2FA is
//!   [`LoginError::NeedsBotPassword`].
//! - [`grants`] is MediaWiki's grant → rights table: which grants carry a right, and the
//!   fewest grants a session's rights show it carries ([`carried_grants`]).
//! - Sessions look up many pages in ⌈N/50⌉ requests (⌈N/500⌉ with `apihighlimits`), read page
//!   text, run the one-request pre-publish [`Probe`], edit or append ([`WikiSession::append`]),
//!   and post talk-page notices (Flow boards included). An edit with a stale base revision
//!   whose change overlaps newer ones is an edit conflict ([`Error::EditConflict`]); one that
//!   does not overlap is merged by MediaWiki and answered as [`EditOutcome::Merged`].
//! - Lookups take titles as `&[&str]` on the object-safe trait, or any slice of `String`s or
//!   [`Title`]s through [`WikiSessionExt::lookup_titles`] (and [`Session::lookup_revisions`]).
//!   Times the wiki reports are [`Timestamp`]s, printed exactly as the wiki wrote them, so a
//!   probe's [`Probe::server_time`] goes back unchanged as [`EditRequest::start_timestamp`].
//! - Every request carries `format=json&formatversion=2&errorformat=plaintext`, the configured
//!   User-Agent, `maxlag` and (once logged in) `assert=user`; maxlag, readonly, ratelimited,
//!   HTTP 429 and 503 are retried with backoff; `badtoken` and expired sessions are recovered
//!   from once.
//! - [`oauth`] is the OAuth 2.0 identity flow for the web app.
#![cfg_attr(
    feature = "testkit",
    doc = "- With the `testkit` feature, [`testkit::FakeWiki`] is an in-memory wiki on wiremock."
)]
#![cfg_attr(
    not(feature = "testkit"),
    doc = "- With the `testkit` feature, `testkit::FakeWiki` is an in-memory wiki on wiremock."
)]
//!
//! Everything is configured in code; the crate reads no environment variable. Name your tool
//! in the User-Agent ([`UserAgent::new`]: product, version, contact, as the Wikimedia
//! User-Agent policy asks), and allow any wiki besides Wikimedia's by the address you have
//! ([`AllowList::with_hosts`] takes an API URL, a base URL or `host[:port]`).
//!
//! A cold publish is four requests (login token, login, probe, edit). This example runs
//! against the crate's fake wiki (feature `testkit`); for a Wikimedia wiki, leave the
//! allow-list at its default and pass `"en.wikipedia.org"` to `parse_wiki`:
//!
//! ```
//! # #[cfg(feature = "testkit")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use wikiscriptsync_mw::testkit::{FakeAccount, FakeWiki};
//! use wikiscriptsync_mw::*;
//! # let fake = FakeWiki::start().await;
//! # fake.add_account(FakeAccount::new("Me@publisher", "p".repeat(32))
//! #     .with_rights(&["read", "edit", "createpage", "writeapi", "editmyuserjs"]));
//! # fake.edit_as("User:Me/tool.js", "mw.log('old');", "Me", "start");
//! # let password = SecretString::from("p".repeat(32));
//! let api_url = fake.api_url(); // e.g. "http://127.0.0.1:8080/w/api.php"
//!
//! let mut config =
//!     ClientConfig::new(UserAgent::new("MyTool", "1.0", "https://example.org/mytool")?);
//! config.allow_list = AllowList::with_hosts([api_url.as_str()])?; // besides Wikimedia's
//! let client = ActionApiClient::new(config)?;
//! let wiki = client.parse_wiki(&api_url)?;
//! let session = client.login_session(&wiki, BotPassword::new("Me@publisher", password)).await?;
//! let title = Title::parse("User:Me/tool.js")?;
//! let probe = session.probe(&title).await?;
//! probe.check_rights(&title)?; // a missing right names the BotPassword grant to add
//! let mut edit = EditRequest::new(title, "mw.log('hi');", "Update from git");
//! // With the base revision, a change made since that overlaps ours is an edit conflict
//! // (`Error::EditConflict`); one that does not is merged by MediaWiki (`EditOutcome::Merged`).
//! edit.base_revision = probe.page.revision_id;
//! edit.start_timestamp = Some(probe.server_time);
//! match session.edit(&edit).await? {
//!     EditOutcome::NoChange => println!("already up to date"),
//!     EditOutcome::Merged { .. } => println!("merged into changes made since the probe"),
//!     outcome => println!("{outcome:?} in {} requests", session.request_count()),
//! }
//! assert_eq!(session.request_count(), 4);
//! assert_eq!(fake.page_text("User:Me/tool.js").as_deref(), Some("mw.log('hi');"));
//! # Ok(()) }
//! # #[cfg(not(feature = "testkit"))]
//! # fn main() {}
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
mod credential;
mod edit;
mod error;
pub mod grants;
mod notices;
pub mod oauth;
mod probe;
mod revisions;
mod rights;
mod site;
mod timestamp;
mod title;
mod wiki;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use api::{
    BlockExpiry, BlockInfo, BotPassword, CreatePolicy, EditOutcome, EditRequest, PageLookup,
    PageRevision, PageState, PageText, Probe, ProbedPage, TalkNotice, TalkNoticeOutcome, UserInfo,
    WikiApi, WikiSession, WikiSessionExt,
};
pub use client::{ActionApiClient, Session};
pub use config::{
    ClientConfig, ConfigError, MAX_IN_FLIGHT_CAP, MAX_RESPONSE_BYTES, RetryPolicy, UserAgent,
    UserAgentError,
};
pub use credential::{
    Credential, CredentialKind, OwnerOnlyToken, TOKEN_MAX_LEN, TOKEN_MIN_LEN, TokenFormatError,
};
pub use edit::{SUMMARY_CHARACTER_LIMIT, normalize_text, trim_summary};
pub use error::{Error, LoginError, RetryCause};
pub use grants::carried_grants;
pub use revisions::{TITLES_PER_REQUEST, TITLES_PER_REQUEST_HIGH};
pub use rights::{MissingRight, RequiredRight, check_rights, grant_for_right, required_rights};
pub use secrecy::SecretString;
pub use site::{
    SITEINFO_PROPS, SiteNamespace, SiteTitle, SiteTitleError, SiteinfoError, WikiIdentity,
};
pub use timestamp::{Timestamp, TimestampError};
pub use title::{ContentModel, Namespace, Title, TitleError, UserTalkTitle};
pub use wiki::{
    AllowList, ApiSearch, WIKIMEDIA_API_PATH, WIKIMEDIA_DOMAINS, WikiAddress, WikiUrl, WikiUrlError,
};
