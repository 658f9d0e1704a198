//! The WikiScriptSync domain: it composes the MediaWiki client (`wikiscriptsync-mw`), the forge
//! clients (`wikiscriptsync-forge`) and the store (`wikiscriptsync-store`) through their traits.
//!
//! - [`vault`]: BotPasswords encrypted at rest (Fernet, key rotation).
//! - [`credentials`]: re-encrypting stored BotPasswords with the newest key (rotation).
//! - [`publish`]: publishing a file to a wiki page ([`publish::Publisher`]: mutex → decrypt →
//!   fetch and verify → login and probe → drift guard → no change → edit → publish log), or
//!   once, with a credential you give and no store, vault or log
//!   ([`publish::StandalonePublisher`]: the same steps without the mutex, the log and the
//!   drift guard's memory).
//! - [`settings`]: every environment variable, read once into one typed [`settings::Settings`]
//!   (and the one list of variables the help texts and `.env.example` are made from).
//! - [`setup`]: the store, clients and CLI user built from the settings.
//!
//! - [`repository`]: a stored repository row ↔ the forge's [`forge::RepoLocator`] (typed parts,
//!   no URL re-parsing).
//! - [`monitor`]: the repository checker (`check-updates`) and the page watcher
//!   (`check-wiki-updates`), claiming work with leases and emitting change events.
//! - [`notify`]: talk-page notifications of those changes (preferences, digest, dedup, retry).
//! - [`maintenance`]: log retention, orphaned rows and the health check.
//! - [`jobs`]: the scheduled jobs and the local scheduler, shared by the CLI and the jobs binary.
//!
//! Another Rust tool can publish a file from a repository to a wiki page with
//! [`publish::StandalonePublisher`] and the BotPassword it has: no database, no key, no
//! environment variable. The file is read at the branch's head commit and checked against its
//! Git blob SHA; the BotPassword logs in on a fresh session; one probe reads the page, the
//! rights and the server time; the edit is sent with that base revision and start timestamp,
//! so an edit made meanwhile is a conflict (or a merge, reported as
//! [`publish::PublishOutcome::Merged`], never as a clean publish). Without a log there is no
//! memory of your last publish: give [`publish::StandalonePublish::expected_revision`] to
//! have an on-wiki change since then refused. This example runs against the MediaWiki and
//! GitHub fakes of `wikiscriptsync-mw` and `wikiscriptsync-forge` (their `testkit` feature);
//! for Wikimedia and github.com, leave the allow-list and the GitHub API URL at their
//! defaults:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use wikiscriptsync_core::forge::{ForgeConfig, Forges};
//! use wikiscriptsync_core::mw::{
//!     ActionApiClient, AllowList, BotPassword, ClientConfig, SecretString, UserAgent,
//! };
//! use wikiscriptsync_core::publish::{
//!     DriftMemory, PublishOptions, PublishOutcome, PublishSource, SourceRevision,
//!     StandalonePublish, StandalonePublisher,
//! };
//! # use wikiscriptsync_core::forge::testkit::FakeGitHub;
//! # use wikiscriptsync_core::mw::testkit::{FakeAccount, FakeWiki};
//! # let github = FakeGitHub::start().await;
//! # github.add_repo("octo/gadgets", [("src/hello.js", "mw.log('hello');\n")]);
//! # let fake_wiki = FakeWiki::start().await;
//! # fake_wiki.add_account(FakeAccount::new("Me@publisher", "p".repeat(32))
//! #     .with_rights(&["read", "edit", "createpage", "writeapi", "editmyuserjs"]));
//! # let password = SecretString::from("p".repeat(32));
//! let api_url = fake_wiki.api_url(); // e.g. "http://127.0.0.1:8080/w/api.php"
//! let github_api = github.uri(); // leave it out for github.com
//!
//! let agent = UserAgent::new("MyTool", "1.0", "https://example.org/mytool")?;
//! let mut config = ClientConfig::new(agent.clone());
//! config.allow_list = AllowList::with_hosts([api_url.as_str()])?; // besides Wikimedia's
//! let wiki = Arc::new(ActionApiClient::new(config)?);
//! let forges = Arc::new(Forges::new(
//!     ForgeConfig::builder(agent).github_api_url(&github_api).build()?,
//! )?);
//!
//! let publisher = StandalonePublisher::new(wiki, forges.clone());
//! let request = StandalonePublish {
//!     source: PublishSource::Repository {
//!         repo: Box::new(forges.parse_repo_url("https://github.com/octo/gadgets")?),
//!         revision: SourceRevision::Branch("main".to_owned()),
//!         path: "src/hello.js".to_owned(),
//!         expected_blob: None, // known from an earlier listing? it saves a request
//!     },
//!     wiki: api_url.clone(), // or "en.wikipedia.org"
//!     page: "User:Me/hello.js".to_owned(),
//!     credentials: BotPassword::new("Me@publisher", password), // from Special:BotPasswords
//!     allow_create: true,
//!     banner: false,
//!     expected_revision: None, // no drift memory: the revision you last published, if kept
//! };
//! let report = match publisher.publish(request, PublishOptions::default()).await {
//!     Ok(report) => report,
//!     // Says which step stopped and what to do: a missing grant, a conflict, drift, ...
//!     Err(failure) => return Err(failure.user_message().into()),
//! };
//! assert!(matches!(report.outcome, PublishOutcome::Published { created: true, .. }));
//! assert_eq!(report.drift_memory, DriftMemory::Off);
//! // Login token, login, probe, edit; and the branch head, its tree and the file.
//! assert_eq!((report.requests.wiki, report.requests.forge), (4, 3));
//! println!("{} — {}", report.message, report.diff_url.unwrap_or_default());
//! # assert_eq!(fake_wiki.request_count(), 4);
//! # assert_eq!(fake_wiki.page_text("User:Me/hello.js").as_deref(), Some("mw.log('hello');"));
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod app;
pub mod credentials;
pub mod jobs;
pub mod maintenance;
pub mod monitor;
pub mod notify;
pub mod publish;
pub mod quota;
pub mod repository;
pub mod settings;
pub mod setup;
pub mod vault;

pub use wikiscriptsync_forge as forge;
pub use wikiscriptsync_mw as mw;
pub use wikiscriptsync_store as store;
