//! Requests counted by the real test MediaWiki itself (feature `testkit`).
//!
//! `scripts/mediawiki-test-server` serves the wiki through a router that appends one line per
//! request, `<User-Agent> TAB <method> TAB <URI>`, to an access log whose path it exports as
//! [`ACCESS_LOG_ENV`]. A test gives its client a User-Agent of its own
//! ([`unique_user_agent`]) and compares [`AccessLog::requests_from`] with the client's counter:
//! a request the client forgets to count still shows on the server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::config::UserAgent;

/// The variable naming the test wiki's access log.
pub const ACCESS_LOG_ENV: &str = "WIKISCRIPTSYNC_TEST_MEDIAWIKI_ACCESS_LOG";

/// Makes User-Agents unique within one test process.
static AGENTS: AtomicU32 = AtomicU32::new(0);

/// A User-Agent no other test, process or run uses, built like the production one (its
/// contact names the test), so the server's log lines of one test can be told apart.
pub fn unique_user_agent(test: &str) -> UserAgent {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let test: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let contact = format!(
        "https://example.org/wikiscriptsync-tests/{test}/{}-{}-{nanos}",
        std::process::id(),
        AGENTS.fetch_add(1, Ordering::Relaxed)
    );
    UserAgent::from_contact(&contact).expect("a URL without control characters or parentheses")
}

/// The test wiki's access log.
#[derive(Debug, Clone)]
pub struct AccessLog {
    path: PathBuf,
}

impl AccessLog {
    /// The log at `path` (the test wiki's script exports it as [`ACCESS_LOG_ENV`]; the crate
    /// reads no environment, so the test does).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many requests the wiki received with exactly this User-Agent. The router writes a
    /// request's line before the request is served, so every request that has been answered
    /// is counted.
    pub fn requests_from(&self, user_agent: &UserAgent) -> std::io::Result<usize> {
        let log = std::fs::read_to_string(&self.path)?;
        Ok(log
            .lines()
            .filter(|line| {
                line.split('\t')
                    .next()
                    .is_some_and(|agent| agent == user_agent.as_str())
            })
            .count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_lines_of_that_user_agent_are_counted() {
        let (mine, other) = (unique_user_agent("one"), unique_user_agent("one"));
        assert_ne!(mine, other, "unique per call");
        assert!(mine.as_str().contains("/wikiscriptsync-tests/one/"));
        let path = std::env::temp_dir().join(format!(
            "wikiscriptsync-access-log-test-{}.log",
            std::process::id()
        ));
        let mine_line = format!("{}\tGET\t/api.php?action=query", mine.as_str());
        let other_line = format!("{}\tPOST\t/api.php", other.as_str());
        // A User-Agent that merely starts with ours is someone else's.
        let longer = format!("{} extra\tGET\t/api.php", mine.as_str());
        std::fs::write(
            &path,
            [mine_line.as_str(), &other_line, &longer, &mine_line, ""].join("\n"),
        )
        .unwrap();
        let log = AccessLog::at(&path);
        assert_eq!(log.requests_from(&mine).unwrap(), 2);
        assert_eq!(log.requests_from(&other).unwrap(), 1);
        std::fs::remove_file(&path).unwrap();
        assert!(
            log.requests_from(&mine).is_err(),
            "a missing log is an error"
        );
    }
}
