//! What the repository checker is told (its settings) and what it answers (its run report:
//! counts, changes, failures, the hosts whose quota reserve stopped it, requests and quota).

use chrono::{DateTime, Utc};

use crate::monitor::RunOutlook;
use crate::monitor::events::ChangeEvent;
use crate::quota::{QuotaPolicy, ShareSpent};
use crate::store::RepositoryId;

/// How the repository checker runs.
#[derive(Debug, Clone)]
pub struct RepositoryCheckSettings {
    /// This runner's id in claims (see [`crate::monitor::runner_id`]).
    pub owner: String,
    /// How long a claim holds before another runner may take the repository over.
    pub lease: chrono::Duration,
    /// Repositories claimed per database round trip.
    pub batch_size: u32,
    /// Repositories checked at the same time (the forge client still serialises per host as
    /// configured by `per_host_concurrency`).
    pub concurrency: usize,
    /// When a checked repository is due again.
    pub interval: chrono::Duration,
    /// How each host's quota is shared: the reserve (a share of the host's own limit) and each
    /// user's share of the rest per hour.
    pub quota: QuotaPolicy,
    /// Stop checking a host for the rest of the run when its remaining quota falls below the
    /// reserve (scheduled runs); a check a person starts may spend the reserve (it is theirs).
    pub leave_reserve: bool,
}

impl RepositoryCheckSettings {
    /// Hourly checks, a 15-minute lease, 8 at a time, the default reserve (10% of each host's
    /// limit) left unspent.
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            lease: chrono::Duration::minutes(15),
            batch_size: 100,
            concurrency: 8,
            // A little under an hour, so an hourly job finds last hour's repositories due.
            interval: chrono::Duration::minutes(55),
            quota: QuotaPolicy::default(),
            leave_reserve: true,
        }
    }
}

/// A repository whose check failed (the rest of the run went on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFailure {
    /// The repository.
    pub repository_id: RepositoryId,
    /// Its URL.
    pub url: String,
    /// The branch.
    pub branch: String,
    /// What went wrong (also in the file check log).
    pub detail: String,
}

/// A host whose quota reserve was reached during the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveReached {
    /// The API host.
    pub host: String,
    /// Remaining quota when the reserve was reached (None: a rate-limit error stopped it).
    pub remaining: Option<u64>,
    /// When the quota resets, if known.
    pub reset_at: Option<DateTime<Utc>>,
    /// Repositories left unchecked (still due).
    pub skipped: u64,
}

/// A user whose share of a host's quota was spent during the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserShareSpent {
    /// Whose share, of which host, and when it comes back.
    pub spent: ShareSpent,
    /// Their repositories left unchecked (still due).
    pub skipped: u64,
}

/// What one `check-updates` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryRunReport {
    /// Repositories checked (results written).
    pub checked: u64,
    /// ... of which the branch had not moved.
    pub unchanged: u64,
    /// ... of which the branch had moved.
    pub moved: u64,
    /// ... of which had never been checked before (their "moved" is a first sight).
    pub first_seen: u64,
    /// ... of which failed (see `failures`).
    pub failed: u64,
    /// Watched files looked at.
    pub files_checked: u64,
    /// Changed and removed files, one event each.
    pub changes: Vec<ChangeEvent>,
    /// Repositories whose check failed.
    pub failures: Vec<RepositoryFailure>,
    /// Hosts that reached the quota reserve.
    pub reserve_reached: Vec<ReserveReached>,
    /// Users whose share of a host's quota for this hour was spent, by user and host.
    pub shares_spent: Vec<UserShareSpent>,
    /// Checks dropped because another runner took the claim over (lease expired).
    pub lease_lost: u64,
    /// Forge requests sent.
    pub requests: u64,
    /// Forge quota spent.
    pub quota_spent: u64,
    /// Requests answered 304 Not Modified.
    pub not_modified: u64,
    /// The queue after the run, and the repositories asked for that were not checked (None
    /// for a "Check now" of one repository).
    pub outlook: Option<RunOutlook>,
}

impl RepositoryRunReport {
    /// The one-line summary the commands print.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "check-updates: {} repositories checked ({} unchanged, {} moved, {} failed), {} files, \
             {} changed; {} requests, {} quota",
            self.checked,
            self.unchanged,
            self.moved,
            self.failed,
            self.files_checked,
            self.changes.len(),
            self.requests,
            self.quota_spent,
        );
        for reserve in &self.reserve_reached {
            let why = match reserve.remaining {
                Some(remaining) => format!(
                    "quota reserve reached on {} ({remaining} left)",
                    reserve.host
                ),
                None => format!("{} asked us to back off", reserve.host),
            };
            line.push_str(&format!(
                "; {why}: stopped checking it for this run ({} repositories left for the next run)",
                reserve.skipped
            ));
        }
        const LISTED: usize = 5;
        for share in self.shares_spent.iter().take(LISTED) {
            let spent = &share.spent;
            line.push_str(&format!(
                "; user {}'s share of {}'s requests for this hour is spent ({} of {}): {} of \
                 their repositories left, checks resume at {} UTC",
                spent.user,
                spent.host,
                spent.spent,
                spent.share,
                share.skipped,
                spent.resumes_at.format("%H:%M"),
            ));
        }
        if self.shares_spent.len() > LISTED {
            let more = &self.shares_spent[LISTED..];
            line.push_str(&format!(
                "; {} more users' shares spent ({} repositories left)",
                more.len(),
                more.iter().map(|s| s.skipped).sum::<u64>()
            ));
        }
        if self.lease_lost > 0 {
            line.push_str(&format!(
                "; {} taken over by another runner",
                self.lease_lost
            ));
        }
        if let Some(outlook) = &self.outlook {
            line.push_str("; ");
            line.push_str(&outlook.describe("repository"));
        }
        line
    }
}
