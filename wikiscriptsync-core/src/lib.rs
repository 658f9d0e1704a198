//! The WikiScriptSync domain: it composes the MediaWiki client (`wikiscriptsync-mw`), the forge
//! clients (`wikiscriptsync-forge`) and the store (`wikiscriptsync-store`) through their traits.
//!
//! - [`vault`]: BotPasswords encrypted at rest (Fernet, key rotation).
//!
//! Still to come (see docs/ARCHITECTURE.md): the publisher (mutex → decrypt → fetch and verify →
//! login and probe → drift guard → edit → publish log), the repository and wiki-page monitors,
//! the talk-page notifier and the maintenance tasks (log retention, orphans).
#![warn(missing_docs)]

pub mod vault;

pub use wikiscriptsync_forge as forge;
pub use wikiscriptsync_mw as mw;
pub use wikiscriptsync_store as store;
