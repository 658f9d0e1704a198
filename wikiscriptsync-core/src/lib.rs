//! The WikiScriptSync domain: it composes the MediaWiki client (`wikiscriptsync-mw`), the forge
//! clients (`wikiscriptsync-forge`) and the store (`wikiscriptsync-store`) through their traits.
//!
//! - [`vault`]: BotPasswords encrypted at rest (Fernet, key rotation).
//! - [`credentials`]: re-encrypting stored BotPasswords with the newest key (rotation).
//! - [`publish`]: publishing a file to a wiki page ([`publish::Publisher`]: mutex → decrypt →
//!   fetch and verify → login and probe → drift guard → no change → edit → publish log).
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
