//! The WikiScriptSync web application as a library: configuration, start-up and the router, so
//! that tests can run the real server on a loopback port and the binary stays a thin shell.
//!
//! - [`config`]: where the server listens and where its keys and database come from, in
//!   development mode (`--dev`) and in production (Toolforge, everything from the environment).
//! - [`keys`]: the cookie and credential keys, generated into the data directory in development.
//! - [`app`]: the router, security headers and the vendored Codex stylesheet.
#![warn(missing_docs)]

pub mod app;
pub mod config;
pub mod keys;

pub use app::{AppState, router, serve};
pub use config::{Mode, WebConfig};
