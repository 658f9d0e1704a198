//! The steps of a publish, in the order they run. Errors and publish-log rows name the step an
//! attempt stopped at, so a user (and an operator reading the log) sees how far it got.

use std::fmt;

/// One step of the publish pipeline, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PublishStep {
    /// 1. Take the user's publish mutex.
    Mutex,
    /// Still step 1: check the wiki address (allow-list) and the page title, before any
    /// secret is touched or any request is sent.
    Validate,
    /// 2. Decrypt the user's BotPassword for the wiki (or take the one given).
    Decrypt,
    /// 3. Fetch the file at the commit (or read the local file) and verify its blob SHA.
    Fetch,
    /// 4a. Log in with a fresh session.
    Login,
    /// 4b. The single pre-publish probe: token, rights, current revision, server time.
    Probe,
    /// 5. Refuse to overwrite an on-wiki edit made since our last publish.
    DriftGuard,
    /// 6. Compare the live text with the file after MediaWiki's normalisation.
    NoChange,
    /// 7. Edit the page.
    Edit,
    /// 8. Record the attempt in the publish log and release the mutex.
    Record,
}

impl PublishStep {
    /// Every step, in order.
    pub const ALL: [Self; 10] = [
        Self::Mutex,
        Self::Validate,
        Self::Decrypt,
        Self::Fetch,
        Self::Login,
        Self::Probe,
        Self::DriftGuard,
        Self::NoChange,
        Self::Edit,
        Self::Record,
    ];

    /// A stable machine-readable name (`--json`, log messages).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mutex => "mutex",
            Self::Validate => "validate",
            Self::Decrypt => "decrypt",
            Self::Fetch => "fetch",
            Self::Login => "login",
            Self::Probe => "probe",
            Self::DriftGuard => "drift_guard",
            Self::NoChange => "no_change",
            Self::Edit => "edit",
            Self::Record => "record",
        }
    }

    /// The step's number in the publish pipeline, as shown to users (1 mutex, 2 decrypt,
    /// 3 fetch, 4 login and probe, …; validation belongs to step 1).
    pub fn number(self) -> u8 {
        match self {
            Self::Mutex | Self::Validate => 1,
            Self::Decrypt => 2,
            Self::Fetch => 3,
            Self::Login | Self::Probe => 4,
            Self::DriftGuard => 5,
            Self::NoChange => 6,
            Self::Edit => 7,
            Self::Record => 8,
        }
    }

    /// What the step does, for messages ("stopped at step 4 (log in) ...").
    pub fn description(self) -> &'static str {
        match self {
            Self::Mutex => "take the publish lock",
            Self::Validate => "check the wiki address and page title",
            Self::Decrypt => "decrypt the BotPassword",
            Self::Fetch => "fetch and verify the file",
            Self::Login => "log in",
            Self::Probe => "check rights and the current revision",
            Self::DriftGuard => "check for on-wiki changes",
            Self::NoChange => "compare with the live page",
            Self::Edit => "edit the page",
            Self::Record => "record the attempt",
        }
    }
}

impl fmt::Display for PublishStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} ({})", self.number(), self.description())
    }
}
