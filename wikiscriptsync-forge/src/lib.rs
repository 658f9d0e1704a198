//! GitHub and GitLab clients that spend as little API quota as possible.
#![warn(missing_docs)]
