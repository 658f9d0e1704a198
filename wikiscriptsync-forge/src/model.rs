//! Value types shared by both forges: Git object ids, head probes, tree files, file contents,
//! rate-limit snapshots and the per-call request/quota accounting handed back to callers.

use std::fmt;
use std::time::SystemTime;

use sha1::{Digest, Sha1};

use crate::instance::ForgeKind;

/// Why a string is not a Git object id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a Git object id: expected 40 (SHA-1) or 64 (SHA-256) hexadecimal digits")]
pub struct InvalidSha {
    /// What was given (object ids are not secret).
    pub input: String,
}

fn parse_hex_id(input: &str) -> Result<String, InvalidSha> {
    let ok = matches!(input.len(), 40 | 64) && input.bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(input.to_ascii_lowercase())
    } else {
        Err(InvalidSha {
            input: input.chars().take(80).collect(),
        })
    }
}

macro_rules! object_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates and lower-cases a hexadecimal object id (40 or 64 digits).
            pub fn parse(input: &str) -> Result<Self, InvalidSha> {
                parse_hex_id(input.trim()).map(Self)
            }

            /// The lower-case hexadecimal id.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The first seven digits, as Git shows them.
            pub fn short(&self) -> &str {
                &self.0[..7]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidSha;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

object_id!(
    /// The SHA of a commit (what a branch points at).
    CommitSha
);
object_id!(
    /// The Git blob SHA of a file's bytes: `sha1("blob <len>\0" + bytes)`.
    BlobSha
);

impl BlobSha {
    /// Computes the Git blob SHA-1 of `bytes`, exactly as `git hash-object` does.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let mut hasher = Sha1::new();
        hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
        hasher.update(bytes);
        Self(hex::encode(hasher.finalize()))
    }
}

/// File extensions that can be published to a wiki page (gadgets and user scripts).
pub const PUBLISHABLE_EXTENSIONS: [&str; 3] = ["js", "css", "json"];

/// Whether a repository path names a file that can be published (`.js`, `.css`, `.json`).
pub fn is_publishable(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && !stem.ends_with('/')
            && PUBLISHABLE_EXTENSIONS
                .iter()
                .any(|allowed| ext.eq_ignore_ascii_case(allowed))
    })
}

/// Who may read a repository, as its forge says: GitHub's `visibility` (`public`, `private`,
/// `internal`) with its `private` flag, GitLab's project `visibility` (`public`, `internal`,
/// `private`).
///
/// Only [`Visibility::Public`] can be read by anyone without signing in; the others are
/// readable only with a token that has access (such as the operator's), so a tool shared by
/// many users must not read them for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Anyone can read it, signed in or not.
    Public,
    /// Only signed-in users of the instance (GitLab `internal`, GitHub Enterprise `internal`).
    Internal,
    /// Only members or collaborators. A GitLab project that is public but whose repository is
    /// open to project members only (`repository_access_level` `private` or `disabled`) is
    /// reported as private too: an anonymous request cannot read its files.
    Private,
}

impl Visibility {
    /// Whether anyone can read it without signing in.
    pub fn is_public(self) -> bool {
        self == Self::Public
    }

    /// The forge's word for it: `public`, `internal` or `private`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Private => "private",
        }
    }

    /// The visibility a forge names (`public`, `internal`, `private`). Any other word is not
    /// public: a value the forge adds later is treated as restricted until known.
    pub fn from_word(word: &str) -> Self {
        match word {
            "public" => Self::Public,
            "internal" => Self::Internal,
            _ => Self::Private,
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to [`crate::Forge::visibility`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityProbe {
    /// Who may read the repository.
    pub visibility: Visibility,
    /// Opaque validator to store and hand back to the next probe, which is then free when
    /// nothing changed (GitHub: the repository's ETag, only ever given with a public answer;
    /// `None` when there is nothing worth keeping).
    pub validator: Option<String>,
}

impl VisibilityProbe {
    /// Public, with this validator.
    pub fn public(validator: Option<String>) -> Self {
        Self {
            visibility: Visibility::Public,
            validator,
        }
    }
}

/// What the caller already knows about a branch head, from its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHead {
    /// The head commit seen last time.
    pub sha: CommitSha,
    /// The opaque validator returned with that head (the `validator` of [`HeadProbe::Moved`]); store it verbatim.
    pub validator: Option<String>,
}

/// The answer to a conditional head probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadProbe {
    /// The branch still points at the commit the caller knew; nothing else needs fetching.
    NotModified {
        /// The unchanged head.
        sha: CommitSha,
    },
    /// The branch points at a commit other than the one the caller knew (or the caller knew none).
    Moved {
        /// The new head.
        sha: CommitSha,
        /// Opaque validator to store next to the SHA and hand back in [`KnownHead`]: GitHub's
        /// ETag; for GitLab, which sends no usable ETag, the resolved numeric project id so that
        /// the next run needs no lookup.
        validator: Option<String>,
    },
}

impl HeadProbe {
    /// The head commit, moved or not.
    pub fn sha(&self) -> &CommitSha {
        match self {
            Self::NotModified { sha } | Self::Moved { sha, .. } => sha,
        }
    }

    /// Whether the branch moved.
    pub fn moved(&self) -> bool {
        matches!(self, Self::Moved { .. })
    }

    /// What to keep and hand back to the next probe: the head with its validator — the new
    /// one when the branch moved, else the one `sent` with this probe (a `304` brings none).
    pub fn into_known(self, sent: Option<&KnownHead>) -> KnownHead {
        match self {
            Self::Moved { sha, validator } => KnownHead { sha, validator },
            Self::NotModified { sha } => KnownHead {
                validator: sent.and_then(|known| known.validator.clone()),
                sha,
            },
        }
    }
}

/// One file of a repository tree at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Path from the repository root, `/`-separated.
    pub path: String,
    /// Git blob SHA of the file.
    pub blob_sha: BlobSha,
    /// Size in bytes when the forge reports it (GitHub does, GitLab's tree does not).
    pub size: Option<u64>,
}

/// The bytes of a file at a commit, verified against their Git blob SHA.
#[derive(Clone, PartialEq, Eq)]
pub struct FileContent {
    /// Path from the repository root.
    pub path: String,
    /// The commit the bytes were read at.
    pub commit: CommitSha,
    /// The verified blob SHA of `bytes`.
    pub blob_sha: BlobSha,
    /// The raw bytes.
    pub bytes: Vec<u8>,
}

impl FileContent {
    /// The content as UTF-8 text (wiki pages are text), or the position of the first bad byte.
    pub fn text(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.bytes)
    }
}

impl fmt::Debug for FileContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileContent")
            .field("path", &self.path)
            .field("commit", &self.commit)
            .field("blob_sha", &self.blob_sha)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The rate-limit headers of one response (GitHub `x-ratelimit-*`, GitLab `RateLimit-*`), ready
/// to be kept in a quota log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSnapshot {
    /// Which forge answered.
    pub forge: ForgeKind,
    /// `host[:port]` of the API.
    pub host: String,
    /// Requests allowed in the window.
    pub limit: Option<u64>,
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// Requests used in the window (GitHub `x-ratelimit-used`, GitLab `RateLimit-Observed`).
    pub used: Option<u64>,
    /// When the window resets.
    pub reset_at: Option<SystemTime>,
    /// The limit's name (GitHub `x-ratelimit-resource`, GitLab `RateLimit-Name`).
    pub resource: Option<String>,
    /// HTTP status of the response that carried the headers.
    pub status: u16,
    /// When the response arrived.
    pub observed_at: SystemTime,
}

/// Requests made and quota spent by one or more calls, with every rate-limit snapshot seen.
///
/// Pass the same `Usage` to several calls to total them (e.g. per repository check).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// HTTP requests sent (retries included).
    pub requests: u32,
    /// Requests that counted against the primary quota: everything except GitHub `304`s sent
    /// with a token.
    pub quota_spent: u32,
    /// Requests answered `304 Not Modified`.
    pub not_modified: u32,
    /// Rate-limit snapshots in the order they were seen.
    pub snapshots: Vec<RateLimitSnapshot>,
}

impl Usage {
    /// The most recent snapshot, if any response carried rate-limit headers.
    pub fn latest_snapshot(&self) -> Option<&RateLimitSnapshot> {
        self.snapshots.last()
    }

    /// Adds another call's usage to this one.
    pub fn absorb(&mut self, other: Usage) {
        self.requests += other.requests;
        self.quota_spent += other.quota_spent;
        self.not_modified += other.not_modified;
        self.snapshots.extend(other.snapshots);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_becomes_what_the_next_probe_is_handed() {
        let sent = KnownHead {
            sha: CommitSha::parse(&"a".repeat(40)).unwrap(),
            validator: Some("\"etag-1\"".to_owned()),
        };
        // A 304 brings no validator: the one sent stays.
        let same = HeadProbe::NotModified {
            sha: sent.sha.clone(),
        };
        assert_eq!(same.into_known(Some(&sent)), sent);
        // A moved branch brings its own (or none).
        let moved = HeadProbe::Moved {
            sha: CommitSha::parse(&"b".repeat(40)).unwrap(),
            validator: Some("\"etag-2\"".to_owned()),
        };
        let known = moved.into_known(Some(&sent));
        assert_eq!(known.validator.as_deref(), Some("\"etag-2\""));
        assert_eq!(known.sha.as_str(), "b".repeat(40));
    }

    #[test]
    fn blob_sha_matches_git_hash_object() {
        // `printf 'hello world\n' | git hash-object --stdin`
        assert_eq!(
            BlobSha::of_bytes(b"hello world\n").as_str(),
            "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"
        );
        // The empty blob.
        assert_eq!(
            BlobSha::of_bytes(b"").as_str(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn object_ids_are_validated_and_lower_cased() {
        let sha = CommitSha::parse("3B18E512DBA79E4C8300DD08AEB37F8E728B8DAD").unwrap();
        assert_eq!(sha.as_str(), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
        assert_eq!(sha.short(), "3b18e51");
        assert!(CommitSha::parse("main").is_err());
        assert!(CommitSha::parse(&"g".repeat(40)).is_err());
        assert!(BlobSha::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn only_js_css_and_json_files_are_publishable() {
        for path in ["a.js", "src/Gadget.CSS", "conf/x.json", "a.b.js"] {
            assert!(is_publishable(path), "{path}");
        }
        for path in [
            "README.md",
            "js",
            ".js",
            "dir/.css",
            "a.jsx",
            "a.js.map",
            "Makefile",
        ] {
            assert!(!is_publishable(path), "{path}");
        }
    }
}
