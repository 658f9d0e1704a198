//! Persistence for WikiScriptSync: one `Store` trait with SQLite and MariaDB backends.
#![warn(missing_docs)]
