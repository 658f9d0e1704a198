//! What a repository page view needs from the forge — the publishable files at the branch
//! head — remembered by the head it was read at, so a view at an unchanged head costs only the
//! conditional head probe (on GitHub with a token, a `304` that costs no quota) and no tree
//! walk. Shared by every user (tracked repositories are public), bounded in entries.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::forge::{CommitSha, KnownHead, RepoLocator, TreeFile};

/// Branches remembered at most; the least recently used is forgotten first.
const MAX_ENTRIES: usize = 512;

/// A branch's publishable files at the head they were read at.
#[derive(Debug, Clone)]
pub(crate) struct CachedBranch {
    /// The head, with the validator its probe returned (for the next conditional probe).
    pub(crate) head: KnownHead,
    /// The publishable files at that head.
    pub(crate) files: Vec<TreeFile>,
}

#[derive(Debug)]
struct Entry {
    branch: CachedBranch,
    used: u64,
}

/// The cache: one entry per (API host, repository, branch).
#[derive(Debug, Default)]
pub(crate) struct BranchCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<(String, String, String), Entry>,
    clock: u64,
}

fn key(locator: &RepoLocator, branch: &str) -> (String, String, String) {
    (locator.api_host(), locator.full_name(), branch.to_owned())
}

impl BranchCache {
    /// What is remembered of the branch, if anything.
    pub(crate) fn get(&self, locator: &RepoLocator, branch: &str) -> Option<CachedBranch> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.get_mut(&key(locator, branch))?;
        entry.used = clock;
        Some(entry.branch.clone())
    }

    /// Remembers the branch's files at `head` (replacing what was known of it).
    pub(crate) fn put(
        &self,
        locator: &RepoLocator,
        branch: &str,
        head: CommitSha,
        validator: Option<String>,
        files: Vec<TreeFile>,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let key = key(locator, branch);
        if !inner.entries.contains_key(&key)
            && inner.entries.len() >= MAX_ENTRIES
            && let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
        {
            inner.entries.remove(&oldest);
        }
        let used = inner.clock;
        inner.entries.insert(
            key,
            Entry {
                branch: CachedBranch {
                    head: KnownHead {
                        sha: head,
                        validator,
                    },
                    files,
                },
                used,
            },
        );
    }

    /// How many branches are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::ForgeConfig;

    fn locator(name: &str) -> RepoLocator {
        ForgeConfig::builder(crate::forge::UserAgent::from_contact("tests@example.org").unwrap())
            .build()
            .unwrap()
            .parse_repo_url(&format!("https://github.com/octo/{name}"))
            .unwrap()
    }

    #[test]
    fn the_cache_is_bounded_and_forgets_the_least_recently_used() {
        let cache = BranchCache::default();
        let sha = CommitSha::parse(&"a".repeat(40)).unwrap();
        for i in 0..MAX_ENTRIES {
            cache.put(
                &locator(&format!("r{i}")),
                "main",
                sha.clone(),
                None,
                vec![],
            );
        }
        assert!(cache.get(&locator("r0"), "main").is_some(), "r0 used again");
        cache.put(&locator("new"), "main", sha, None, vec![]);
        assert_eq!(cache.len(), MAX_ENTRIES);
        assert!(cache.get(&locator("r0"), "main").is_some());
        assert!(
            cache.get(&locator("r1"), "main").is_none(),
            "least recently used"
        );
        assert!(cache.get(&locator("new"), "other").is_none(), "per branch");
    }
}
