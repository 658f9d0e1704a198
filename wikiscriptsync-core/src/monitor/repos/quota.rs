//! The checker's quota bookkeeping for one run: the per-host reserve (a share of the host's
//! own limit) that stops a host for the rest of the run, each user's share of a host (their
//! repositories there wait once it is spent, other users' are still checked).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::{Checked, RepositoryChecker, ReserveReached, UserShareSpent};
use crate::forge::RepoLocator;
pub(super) use crate::quota::quota_row;
use crate::quota::{ShareSpent, hour_of};
use crate::store::{StoreError, UserId};

/// Per-run state shared by the tasks: which hosts are out of quota, and which users' shares.
#[derive(Default)]
pub(super) struct Quota {
    /// Hosts whose stored snapshot has been consulted this run.
    pub(super) consulted: BTreeSet<String>,
    /// Hosts that reached the reserve, with what was known then.
    pub(super) exhausted: BTreeMap<String, ReserveReached>,
    /// Each web host's per-user share, once its limit is known.
    pub(super) shares: BTreeMap<String, u64>,
    /// Checks running per user and web host (each will cost at least one request).
    pub(super) in_flight: BTreeMap<(UserId, String), u64>,
    /// Users whose share of a web host is spent, with their repositories skipped.
    pub(super) spent: BTreeMap<(UserId, String), UserShareSpent>,
}

impl RepositoryChecker {
    /// Whether the host may be asked: not exhausted this run, and neither the client's latest
    /// snapshot nor (on first contact in this run) the stored one is below the reserve.
    pub(super) async fn host_has_quota(
        &self,
        host: &str,
        locator: &RepoLocator,
        quota: &Mutex<Quota>,
    ) -> Result<bool, StoreError> {
        let first_contact = {
            let mut quota = quota.lock().unwrap_or_else(PoisonError::into_inner);
            if quota.exhausted.contains_key(host) {
                return Ok(false);
            }
            quota.consulted.insert(host.to_owned())
        };
        if !self.settings.leave_reserve {
            return Ok(true);
        }
        let policy = self.settings.quota;
        let live = self.forges.rate_limit(locator);
        let low = match &live {
            Some(snapshot) => snapshot
                .remaining
                .filter(|&r| {
                    r < policy.reserve(snapshot.limit.unwrap_or(0))
                        && !reset_passed(snapshot.reset_at)
                })
                .map(|r| (r, snapshot.reset_at.map(DateTime::<Utc>::from))),
            None if first_contact => self
                .store
                .latest_api_quota(host)
                .await?
                .filter(|s| {
                    (s.remaining.max(0) as u64) < policy.reserve(s.limit.max(0) as u64)
                        && s.reset_at.is_some_and(|r| r > Utc::now())
                })
                .map(|s| (s.remaining.max(0) as u64, s.reset_at)),
            None => None,
        };
        let Some((remaining, reset_at)) = low else {
            return Ok(true);
        };
        note_reserve_reached(quota, host, Some(remaining), reset_at);
        Ok(false)
    }

    /// Whether `user`'s share of the web host `host` this hour has room for one more check
    /// (counting their checks running now): its head probe, and the visibility question
    /// before it when that costs a request; when not, the user is noted as spent for the run.
    /// A tree request the check may need is not known beforehand, so a user's last check can
    /// go one request past the share.
    pub(super) async fn user_has_share(
        &self,
        user: UserId,
        host: &str,
        locator: &RepoLocator,
        quota: &Mutex<Quota>,
    ) -> Result<bool, StoreError> {
        let key = (user, host.to_owned());
        let known_share = {
            let quota = quota.lock().unwrap_or_else(PoisonError::into_inner);
            if quota.spent.contains_key(&key) {
                return Ok(false);
            }
            quota.shares.get(host).copied()
        };
        let share = match known_share {
            Some(share) => Some(share),
            None => self.shares.share(locator).await?,
        };
        let (start, resumes_at) = hour_of(self.shares.clock().now());
        let spent = match share {
            Some(_) => self.store.forge_quota_spent(user, host, start).await?,
            None => 0,
        };
        let mut quota = quota.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(share) = share {
            quota.shares.insert(host.to_owned(), share);
            let running = quota.in_flight.get(&key).copied().unwrap_or(0);
            let needed = 1 + u64::from(self.forges.asks_visibility(locator));
            if spent.saturating_add(running).saturating_add(needed) > share {
                // Checks that ran concurrently may find it spent too: the first one's note
                // stays, with the repositories skipped so far.
                quota.spent.entry(key).or_insert(UserShareSpent {
                    spent: ShareSpent {
                        user,
                        host: host.to_owned(),
                        share,
                        spent: spent.saturating_add(running),
                        resumes_at,
                    },
                    skipped: 0,
                });
                return Ok(false);
            }
        }
        *quota.in_flight.entry(key).or_default() += 1;
        Ok(true)
    }

    /// After a check: a primary rate-limit error, or a snapshot below the reserve, stops the
    /// host for the rest of the run.
    pub(super) fn note_quota(&self, host: &str, checked: &Checked, quota: &Mutex<Quota>) {
        let latest = checked.usage.latest_snapshot();
        let below = latest
            .filter(|_| self.settings.leave_reserve)
            .and_then(|s| {
                let reserve = self.settings.quota.reserve(s.limit.unwrap_or(0));
                s.remaining.filter(|&r| r < reserve)
            });
        let rate_limited = checked.host_blocked;
        if below.is_none() && !rate_limited {
            return;
        }
        let reset_at = latest.and_then(|s| s.reset_at).map(DateTime::<Utc>::from);
        note_reserve_reached(quota, host, below, reset_at);
    }
}

/// Stops `host` for the rest of the run; the first note of a host stays (checks that ran
/// concurrently may reach the reserve too).
fn note_reserve_reached(
    quota: &Mutex<Quota>,
    host: &str,
    remaining: Option<u64>,
    reset_at: Option<DateTime<Utc>>,
) {
    let mut quota = quota.lock().unwrap_or_else(PoisonError::into_inner);
    quota
        .exhausted
        .entry(host.to_owned())
        .or_insert(ReserveReached {
            host: host.to_owned(),
            remaining,
            reset_at,
            skipped: 0,
        });
}

fn reset_passed(reset_at: Option<SystemTime>) -> bool {
    reset_at.is_some_and(|r| r <= SystemTime::now())
}
