//! The WikiScriptSync domain: it composes the MediaWiki client (`wikiscriptsync-mw`), the forge
//! clients (`wikiscriptsync-forge`) and the store (`wikiscriptsync-store`) through their traits.
//!
//! - [`vault`]: BotPasswords encrypted at rest (Fernet, key rotation).
//! - [`credentials`]: re-encrypting stored BotPasswords with the newest key (rotation).
//! - [`publish`]: publishing a file to a wiki page ([`publish::Publisher`]: mutex → decrypt →
//!   fetch and verify → login and probe → drift guard → no change → edit → publish log).
//! - [`setup`]: the store, clients and CLI user built from the environment.
//!
//! Still to come (see docs/ARCHITECTURE.md): the repository and wiki-page monitors, the
//! talk-page notifier and the maintenance tasks (log retention, orphans).
#![warn(missing_docs)]

pub mod credentials;
pub mod publish;
pub mod setup;
pub mod vault;

pub use wikiscriptsync_forge as forge;
pub use wikiscriptsync_mw as mw;
pub use wikiscriptsync_store as store;
