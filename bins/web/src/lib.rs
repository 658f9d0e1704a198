//! The WikiScriptSync web application as a library: configuration, start-up and the router, so
//! that tests can run the real server on a loopback port and the binary stays a thin shell.
//!
//! - [`config`]: where the server listens and where its keys, database and OAuth consumer come
//!   from, in development mode (`--dev`) and in production (Toolforge, the environment).
//! - [`keys`]: the cookie and credential keys, generated into the data directory in development.
//! - [`app`]: the router, the protective layers and the vendored Codex stylesheet.
//! - [`session`]: the encrypted session cookie, the logged-in-user extractor, the form nonce.
//! - [`handlers`]: the pages and forms.
//! - [`views`]: the layout every page shares; [`error`]: failures as pages.
//! - [`dashboard_cache`]: recently read dashboards; [`usage`]: usage counts, written in
//!   batches.
#![warn(missing_docs)]

pub mod app;
pub mod config;
pub mod dashboard_cache;
pub mod error;
pub mod handlers;
pub mod keys;
pub mod session;
pub mod state;
pub mod usage;
pub mod views;

pub use app::{ServerLimits, router, serve, serve_with};
pub use config::{Mode, WebConfig};
pub use state::{AppState, SharedState};
