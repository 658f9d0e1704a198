//! A short-lived per-user cache of the rendered dashboard, so that reloading the dashboard (or a
//! burst of tabs) costs neither a dozen queries nor rebuilding the page: the content, and the
//! last whole page built around it for one session (the layout carries the session's form
//! nonce), sent as is while that session reloads.
//!
//! Freshness rules:
//! - every state-changing request of a user (any POST with a valid session, see
//!   the session's form-nonce check (`require_form_nonce`)) drops that user's entry when it starts *and* when
//!   it ends, and a read that overlapped it is not stored, so a user always sees their own
//!   changes at once;
//! - what other processes write (the scheduled checks every 30 to 60 minutes, another web
//!   replica) shows within the time to live ([`DEFAULT_TTL`], `WIKISCRIPTSYNC_DASHBOARD_CACHE_SECONDS`;
//!   0 turns the cache off).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use wikiscriptsync_core::store::UserId;

/// How long a dashboard is served from memory unless the user changes something.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// Users whose dashboards are held at once; beyond it, only fresh entries are kept.
const MAX_ENTRIES: usize = 1024;

/// Per-user dashboards, each valid for the time to live. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct DashboardCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bumped by every invalidation and purge; tickets carry the value they were issued at.
    seq: u64,
    /// Tickets issued before the last purge are refused (the purge forgot invalidations).
    watermark: u64,
    slots: HashMap<UserId, Slot>,
}

#[derive(Debug)]
struct Slot {
    /// `seq` at this user's last invalidation.
    invalidated: u64,
    cached: Option<(Instant, Arc<CachedDashboard>)>,
}

/// One user's rendered dashboard.
#[derive(Debug)]
pub struct CachedDashboard {
    content: String,
    /// The last whole page, for the session whose (form nonce, user name) it was built with.
    page: Mutex<Option<(String, String, Bytes)>>,
}

impl CachedDashboard {
    /// The dashboard's content, rendered.
    pub fn new(content: String) -> Self {
        Self {
            content,
            page: Mutex::new(None),
        }
    }

    /// The content.
    pub fn content(&self) -> &str {
        &self.content
    }

    /// The whole page last built for this session, if any.
    pub fn page_for(&self, nonce: &str, username: &str) -> Option<Bytes> {
        let page = self.page.lock().unwrap_or_else(PoisonError::into_inner);
        match page.as_ref() {
            Some((n, u, bytes)) if n == nonce && u == username => Some(bytes.clone()),
            _ => None,
        }
    }

    /// Keeps the whole page built for this session (replacing another session's).
    pub fn keep_page(&self, nonce: &str, username: &str, page: Bytes) {
        *self.page.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((nonce.to_owned(), username.to_owned(), page));
    }
}

/// Permission to store what a read found, valid only if nothing was invalidated since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl DashboardCache {
    /// A cache whose entries live for `ttl` (zero: nothing is ever cached).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The data is rebuilt from the database on any doubt; a panic elsewhere cannot leave
        // it inconsistent in a way that matters.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The user's rendered dashboard if a fresh one is held, else a ticket to store the one
    /// about to be built.
    pub fn get(&self, user: UserId) -> Result<Arc<CachedDashboard>, Ticket> {
        self.get_at(user, Instant::now())
    }

    /// [`Self::get`] at `now` (tests pass the time instead of waiting for it).
    fn get_at(&self, user: UserId, now: Instant) -> Result<Arc<CachedDashboard>, Ticket> {
        let inner = self.lock();
        match inner.slots.get(&user).and_then(|s| s.cached.as_ref()) {
            Some((at, dashboard)) if now.saturating_duration_since(*at) < self.ttl => {
                Ok(Arc::clone(dashboard))
            }
            _ => Err(Ticket(inner.seq)),
        }
    }

    /// Keeps `dashboard`, read under `ticket`, unless the user changed something meanwhile.
    pub fn put(&self, user: UserId, ticket: Ticket, dashboard: Arc<CachedDashboard>) {
        self.put_at(user, ticket, dashboard, Instant::now());
    }

    /// [`Self::put`] at `now`.
    fn put_at(&self, user: UserId, ticket: Ticket, dashboard: Arc<CachedDashboard>, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if ticket.0 < inner.watermark {
            return;
        }
        if !inner.slots.contains_key(&user) && inner.slots.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            inner.slots.retain(|_, s| {
                s.cached
                    .as_ref()
                    .is_some_and(|(at, _)| now.saturating_duration_since(*at) < ttl)
            });
            inner.seq += 1;
            inner.watermark = inner.seq;
            if ticket.0 < inner.watermark || inner.slots.len() >= MAX_ENTRIES {
                return;
            }
        }
        let slot = inner.slots.entry(user).or_insert(Slot {
            invalidated: 0,
            cached: None,
        });
        if ticket.0 >= slot.invalidated {
            slot.cached = Some((now, dashboard));
        }
    }

    /// Drops the user's dashboard, and refuses to store any read already under way.
    pub fn invalidate(&self, user: UserId) {
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        let slot = inner.slots.entry(user).or_insert(Slot {
            invalidated: seq,
            cached: None,
        });
        slot.invalidated = seq;
        slot.cached = None;
    }

    /// Invalidates now and again when the returned guard is dropped: hold it while a request
    /// that may change the user's data runs (the end matters too: a read that started during
    /// the change must not be served afterwards).
    pub fn changing(self: &Arc<Self>, user: UserId) -> ChangeGuard {
        self.invalidate(user);
        ChangeGuard {
            cache: Arc::clone(self),
            user,
        }
    }
}

/// See [`DashboardCache::changing`].
#[derive(Debug)]
pub struct ChangeGuard {
    cache: Arc<DashboardCache>,
    user: UserId,
}

impl Drop for ChangeGuard {
    fn drop(&mut self) {
        self.cache.invalidate(self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dashboard() -> Arc<CachedDashboard> {
        Arc::new(CachedDashboard::new("<p>rendered</p>".to_owned()))
    }

    #[test]
    fn the_whole_page_is_kept_for_one_session_at_a_time() {
        let cached = dashboard();
        assert_eq!(cached.content(), "<p>rendered</p>");
        assert_eq!(cached.page_for("nonce-a", "Alice"), None);
        cached.keep_page("nonce-a", "Alice", Bytes::from_static(b"page a"));
        assert_eq!(
            cached.page_for("nonce-a", "Alice").as_deref(),
            Some(&b"page a"[..])
        );
        assert_eq!(cached.page_for("nonce-b", "Alice"), None, "another session");
        assert_eq!(cached.page_for("nonce-a", "Renamed"), None);
        cached.keep_page("nonce-b", "Alice", Bytes::from_static(b"page b"));
        assert_eq!(cached.page_for("nonce-a", "Alice"), None);
    }

    const ALICE: UserId = UserId(1);
    const BOB: UserId = UserId(2);

    #[test]
    fn a_stored_dashboard_is_served_until_the_user_changes_something() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(60)));
        let ticket = cache.get(ALICE).unwrap_err();
        cache.put(ALICE, ticket, dashboard());
        assert!(cache.get(ALICE).is_ok());
        assert!(cache.get(BOB).is_err(), "per user");
        let guard = cache.changing(ALICE);
        assert!(cache.get(ALICE).is_err());
        drop(guard);
        assert!(cache.get(ALICE).is_err());
        assert!(cache.get(BOB).is_err());
    }

    #[test]
    fn a_read_that_overlapped_a_change_is_not_stored() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(60)));
        // Read starts, the change starts and ends, the read finishes: refused.
        let ticket = cache.get(ALICE).unwrap_err();
        drop(cache.changing(ALICE));
        cache.put(ALICE, ticket, dashboard());
        assert!(cache.get(ALICE).is_err());
        // The change starts, a read runs during it, the change ends: refused too.
        let guard = cache.changing(ALICE);
        let ticket = cache.get(ALICE).unwrap_err();
        let other = cache.get(BOB).unwrap_err();
        drop(guard);
        cache.put(ALICE, ticket, dashboard());
        assert!(cache.get(ALICE).is_err());
        // Another user's read is not affected by Alice's change.
        cache.put(BOB, other, dashboard());
        assert!(cache.get(BOB).is_ok());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let ttl = Duration::from_secs(5);
        let cache = DashboardCache::new(ttl);
        let stored = Instant::now();
        let ticket = cache.get_at(ALICE, stored).unwrap_err();
        cache.put_at(ALICE, ticket, dashboard(), stored);
        assert!(cache.get_at(ALICE, stored).is_ok());
        let just_before = stored + ttl - Duration::from_millis(1);
        assert!(cache.get_at(ALICE, just_before).is_ok());
        assert!(cache.get_at(ALICE, stored + ttl).is_err(), "expired");
        let off = DashboardCache::new(Duration::ZERO);
        let ticket = off.get(ALICE).unwrap_err();
        off.put(ALICE, ticket, dashboard());
        assert!(off.get(ALICE).is_err());
    }

    #[test]
    fn the_number_of_users_held_is_bounded_and_a_purge_refuses_older_reads() {
        let ttl = Duration::from_secs(60);
        let cache = DashboardCache::new(ttl);
        let now = Instant::now();
        let early = cache.get_at(UserId(999_999), now).unwrap_err();
        for id in 0..MAX_ENTRIES as i64 {
            let ticket = cache.get_at(UserId(id), now).unwrap_err();
            cache.put_at(UserId(id), ticket, dashboard(), now);
        }
        // Full of fresh entries: a newcomer is not cached, and nothing is evicted.
        let ticket = cache.get_at(UserId(-1), now).unwrap_err();
        cache.put_at(UserId(-1), ticket, dashboard(), now);
        assert!(cache.get_at(UserId(-1), now).is_err());
        assert!(cache.get_at(UserId(0), now).is_ok());
        assert!(cache.lock().slots.len() <= MAX_ENTRIES);
        // A read issued before the purge may have missed a forgotten invalidation.
        cache.put_at(UserId(999_999), early, dashboard(), now);
        assert!(cache.get_at(UserId(999_999), now).is_err());
        // Once they have expired, a newcomer's put purges them (its own read, issued before
        // the purge, is refused too); its next read is kept.
        let later = now + ttl;
        let ticket = cache.get_at(UserId(-2), later).unwrap_err();
        cache.put_at(UserId(-2), ticket, dashboard(), later);
        assert_eq!(
            cache.lock().slots.len(),
            0,
            "the expired entries were purged"
        );
        let ticket = cache.get_at(UserId(-2), later).unwrap_err();
        cache.put_at(UserId(-2), ticket, dashboard(), later);
        assert!(cache.get_at(UserId(-2), later).is_ok());
    }
}
