//! Each forge host's hourly request quota, shared by every user of the one service: the
//! reserve scheduled checks leave unspent (a share of the host's own limit, so it fits
//! GitHub's 60 anonymous requests as well as its 5,000 with a token), each user's fair share
//! of the rest, the accounting of what each user's requests cost, and the words that say a
//! share is spent and when it comes back.
//!
//! A user's share of a host for the current clock hour (UTC) is the host's limit less the
//! reserve, divided by the number of users tracking a repository there (at least one request).
//! Everything done for a user counts against it: page views, adding and watching, manual and
//! scheduled checks, publishing and previews. So one user's clicks or thousands of repositories spend their own share,
//! never another user's. The limit is the one the host last reported in its rate-limit
//! headers; until a host has answered once, nothing is refused (the first answer tells).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::forge::{Forge, RateLimitSnapshot, RepoLocator, Usage};
use crate::store::{ApiQuotaSnapshot, ForgeQuotaUse, Store, StoreError, UserId};

/// The default of `WIKISCRIPTSYNC_QUOTA_RESERVE_PERCENT`.
pub const DEFAULT_RESERVE_PERCENT: u8 = 10;

/// How a host's quota is shared: the part scheduled checks leave unspent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaPolicy {
    /// Percent of a host's hourly limit that scheduled checks leave for what people do
    /// (page views, publishing, checks started by hand); 0–90.
    pub reserve_percent: u8,
}

impl Default for QuotaPolicy {
    fn default() -> Self {
        Self {
            reserve_percent: DEFAULT_RESERVE_PERCENT,
        }
    }
}

impl QuotaPolicy {
    /// The reserve on a host allowing `limit` requests per window (rounded up, so a small
    /// limit keeps a request or two, and never all of it).
    pub fn reserve(self, limit: u64) -> u64 {
        let percent = u128::from(self.reserve_percent.min(90));
        u64::try_from((u128::from(limit) * percent).div_ceil(100)).unwrap_or(u64::MAX)
    }

    /// One user's share of a host allowing `limit` requests per hour among `users` users:
    /// the limit less the reserve, divided evenly, at least one request.
    pub fn user_share(self, limit: u64, users: u64) -> u64 {
        (limit.saturating_sub(self.reserve(limit)) / users.max(1)).max(1)
    }
}

/// A user whose share of a host's quota for this hour is spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSpent {
    /// The user.
    pub user: UserId,
    /// The forge's web host (`github.com`).
    pub host: String,
    /// Their share this hour.
    pub share: u64,
    /// What their requests cost this hour.
    pub spent: u64,
    /// When the next hour (and with it a new share) begins.
    pub resumes_at: DateTime<Utc>,
}

impl fmt::Display for ShareSpent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Your share of {}'s requests for this hour is spent ({} of {}); checks resume at \
             {} UTC.",
            self.host,
            self.spent,
            self.share,
            self.resumes_at.format("%H:%M")
        )
    }
}

/// Where a user stands on a host this hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The forge's web host.
    pub host: String,
    /// Their share (None: the host's limit is not known yet, so nothing is refused).
    pub share: Option<u64>,
    /// What their requests cost this hour.
    pub spent: u64,
    /// When this hour ends.
    pub resumes_at: DateTime<Utc>,
}

impl Standing {
    /// The refusal when `more` requests would go beyond the share (`None`: they fit).
    pub fn refusal(&self, user: UserId, more: u64) -> Option<ShareSpent> {
        let share = self.share?;
        (self.spent.saturating_add(more) > share).then(|| ShareSpent {
            user,
            host: self.host.clone(),
            share,
            spent: self.spent,
            resumes_at: self.resumes_at,
        })
    }
}

/// The start of the clock hour `now` is in (UTC), and the start of the next.
pub fn hour_of(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    (start, start + Duration::hours(1))
}

/// What time it is for the accounting of shares: the wall clock in production, a fixed
/// instant in tests (so that no test depends on which clock hour it runs in).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The wall clock (UTC).
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// A clock that always says `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Arc::new(move || at))
    }

    /// The time now, by this clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

/// The users' shares of the forge hosts, over the store (what was spent) and the forges (the
/// limits they report). Cheap to clone.
#[derive(Clone)]
pub struct QuotaShares {
    store: Arc<dyn Store>,
    forges: Arc<dyn Forge>,
    policy: QuotaPolicy,
    clock: Clock,
}

impl fmt::Debug for QuotaShares {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuotaShares")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl QuotaShares {
    /// Shares over these parts, by `policy`.
    pub fn new(store: Arc<dyn Store>, forges: Arc<dyn Forge>, policy: QuotaPolicy) -> Self {
        Self {
            store,
            forges,
            policy,
            clock: Clock::system(),
        }
    }

    /// The same shares, with the hour and the accounting taken from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The policy.
    pub fn policy(&self) -> QuotaPolicy {
        self.policy
    }

    /// The clock the hour and the accounting are taken from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The host's hourly limit as it last reported it: the forge client's latest snapshot,
    /// else the newest one in the quota log.
    pub async fn host_limit(&self, locator: &RepoLocator) -> Result<Option<u64>, StoreError> {
        if let Some(limit) = self.forges.rate_limit(locator).and_then(|s| s.limit) {
            return Ok(Some(limit));
        }
        Ok(self
            .store
            .latest_api_quota(&locator.api_host())
            .await?
            .map(|s| u64::try_from(s.limit).unwrap_or(0)))
    }

    /// One user's share of the host this hour (None while its limit is unknown).
    pub async fn share(&self, locator: &RepoLocator) -> Result<Option<u64>, StoreError> {
        let Some(limit) = self.host_limit(locator).await? else {
            return Ok(None);
        };
        let users = self
            .store
            .users_tracking_host(
                crate::repository::stored_forge(locator.kind),
                &locator.web_host(),
            )
            .await?;
        Ok(Some(self.policy.user_share(limit, users)))
    }

    /// Where `user` stands on the repository's host this hour.
    pub async fn standing(
        &self,
        user: UserId,
        locator: &RepoLocator,
    ) -> Result<Standing, StoreError> {
        let host = locator.web_host();
        let (start, next) = hour_of(self.clock.now());
        let spent = self.store.forge_quota_spent(user, &host, start).await?;
        Ok(Standing {
            share: self.share(locator).await?,
            host,
            spent,
            resumes_at: next,
        })
    }

    /// Refuses when `user`'s share of the host has no room for `requests` more (before
    /// requests made for them).
    pub async fn check(
        &self,
        user: UserId,
        locator: &RepoLocator,
        requests: u64,
    ) -> Result<Result<(), ShareSpent>, StoreError> {
        let standing = self.standing(user, locator).await?;
        Ok(standing.refusal(user, requests).map_or(Ok(()), Err))
    }

    /// Counts what requests made for `user` cost against their share of the host, and logs
    /// the host's latest rate-limit snapshot, so every process (the CLI's too) knows its limit.
    pub async fn record(
        &self,
        user: UserId,
        locator: &RepoLocator,
        usage: &Usage,
    ) -> Result<(), StoreError> {
        record_for(self.store.as_ref(), user, locator, usage, self.clock.now()).await
    }
}

/// Counts what requests made for `user` on the repository's host cost against their share
/// (as spent `at`), and logs the host's latest rate-limit snapshot (for callers without a
/// [`QuotaShares`], such as the publisher).
pub(crate) async fn record_for(
    store: &dyn Store,
    user: UserId,
    locator: &RepoLocator,
    usage: &Usage,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(row) = usage.latest_snapshot().and_then(quota_row) {
        store.record_api_quota(&row).await?;
    }
    record(store, user, &locator.web_host(), usage, at).await
}

/// Counts what `usage` cost against `user`'s share of `host` (its web host), as spent `at`.
pub(crate) async fn record(
    store: &dyn Store,
    user: UserId,
    host: &str,
    usage: &Usage,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if usage.quota_spent == 0 {
        return Ok(());
    }
    store
        .record_forge_quota_use(&ForgeQuotaUse {
            user_id: user,
            host: host.to_owned(),
            spent: u64::from(usage.quota_spent),
            recorded_at: at,
        })
        .await
}

/// A forge snapshot as a quota log row (snapshots without numbers are not worth a row).
pub(crate) fn quota_row(snapshot: &RateLimitSnapshot) -> Option<ApiQuotaSnapshot> {
    let (limit, remaining) = (snapshot.limit?, snapshot.remaining?);
    Some(ApiQuotaSnapshot {
        host: snapshot.host.clone(),
        resource: snapshot
            .resource
            .clone()
            .unwrap_or_else(|| "core".to_owned()),
        limit: i64::try_from(limit).unwrap_or(i64::MAX),
        remaining: i64::try_from(remaining).unwrap_or(i64::MAX),
        reset_at: snapshot.reset_at.map(DateTime::<Utc>::from),
        recorded_at: DateTime::<Utc>::from(snapshot.observed_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_reserve_is_a_share_of_the_hosts_own_limit() {
        let policy = QuotaPolicy::default();
        // GitHub without a token: the old fixed reserve of 100 was more than all of it.
        assert_eq!(policy.reserve(60), 6);
        assert!(policy.reserve(60) < 60);
        assert_eq!(policy.reserve(5000), 500);
        assert_eq!(policy.reserve(0), 0);
        assert_eq!(policy.reserve(u64::MAX), u64::MAX / 10 + 1, "no overflow");
        let greedy = QuotaPolicy {
            reserve_percent: 200,
        };
        assert_eq!(greedy.reserve(60), 54, "never more than 90%");
    }

    #[test]
    fn each_user_gets_an_even_part_of_what_the_reserve_leaves() {
        let policy = QuotaPolicy::default();
        assert_eq!(policy.user_share(60, 51), 1);
        assert_eq!(policy.user_share(5000, 51), 88);
        assert_eq!(
            policy.user_share(5000, 0),
            4500,
            "no user yet: the whole rest"
        );
        assert_eq!(policy.user_share(60, 1000), 1, "at least one request");
    }

    #[test]
    fn a_spent_share_names_the_host_and_when_it_resumes() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 13, 42, 7).unwrap();
        let (start, next) = hour_of(at);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 2, 13, 0, 0).unwrap());
        let standing = Standing {
            host: "github.com".to_owned(),
            share: Some(88),
            spent: 88,
            resumes_at: next,
        };
        let spent = standing.refusal(UserId(7), 1).unwrap();
        assert_eq!(
            spent.to_string(),
            "Your share of github.com's requests for this hour is spent (88 of 88); checks \
             resume at 14:00 UTC."
        );
        let fresh = Standing {
            spent: 87,
            ..standing.clone()
        };
        assert_eq!(fresh.refusal(UserId(7), 1), None);
        let unknown = Standing {
            share: None,
            ..standing
        };
        assert_eq!(unknown.refusal(UserId(7), 1_000), None, "limit unknown yet");
    }
}
