//! One wiki's lane of a page run: its lookups, one request at a time, the comparison of
//! each monitor with what the wiki said, and the writes of the results.

use super::own;
use super::*;
/// One lookup's results, not written yet.
pub(super) struct Looked {
    pub(super) checked_at: chrono::DateTime<Utc>,
    pub(super) checks: Vec<PageCheck>,
    pub(super) events: Vec<(PageMonitorId, ChangeEvent)>,
}

impl PageRunReport {
    /// Counts written checks; those whose claim another runner had taken over were not written.
    fn record(&mut self, looked: Looked, lost: &[PageMonitorId]) {
        let lost: HashSet<PageMonitorId> = lost.iter().copied().collect();
        for check in &looked.checks {
            if lost.contains(&check.page_monitor_id) {
                self.lease_lost += 1;
                continue;
            }
            self.checked += 1;
            match check.status {
                PageCheckStatus::Unchanged => self.unchanged += 1,
                PageCheckStatus::Changed => self.changed += 1,
                PageCheckStatus::Deleted => self.deleted += 1,
                PageCheckStatus::Moved => self.moved += 1,
                PageCheckStatus::Error => self.errors += 1,
            }
        }
        self.changes.extend(
            looked
                .events
                .into_iter()
                .filter(|(id, _)| !lost.contains(id))
                .map(|(_, event)| event),
        );
    }

    /// Adds one lane's report.
    pub(super) fn absorb(&mut self, lane: Self) {
        self.checked += lane.checked;
        self.unchanged += lane.unchanged;
        self.changed += lane.changed;
        self.deleted += lane.deleted;
        self.moved += lane.moved;
        self.errors += lane.errors;
        self.wikis += lane.wikis;
        self.changes.extend(lane.changes);
        self.failures.extend(lane.failures);
        self.lease_lost += lane.lease_lost;
        self.requests += lane.requests;
    }
}

impl PageWatcher {
    /// One wiki's lane: looks its queued pages up one request at a time (titles deduplicated
    /// across users) while a writer beside it writes each request's results in their own
    /// transaction, so a lookup never waits for a write. When a lookup fails, that request's
    /// pages and every page still queued for the wiki get an error row; the pages looked up
    /// before keep their results. The slot goes back after the last lookup, so the next
    /// wiki's lookups overlap with the last writes.
    pub(super) async fn check_wiki(
        self,
        wiki: String,
        shared: Arc<Shared>,
    ) -> Result<PageRunReport, StoreError> {
        let (results, mut to_write) = mpsc::unbounded_channel::<Looked>();
        let look_up = async {
            let outcome = self.look_up(&wiki, &shared, &results).await;
            drop(results);
            outcome
        };
        let (this, writer_shared) = (&self, &shared);
        // Ends (dropping `to_write`, which stops the lookups) at the first database error.
        let write = async move {
            let mut written = PageRunReport::default();
            while let Some(looked) = to_write.recv().await {
                let lost = this.write(writer_shared, &looked).await?;
                written.record(looked, &lost);
            }
            Ok::<_, StoreError>(written)
        };
        let ((requests, failure), written) = tokio::join!(look_up, write);
        let mut report = written?;
        report.wikis = 1;
        report.requests = requests;
        report.failures.extend(failure);
        Ok(report)
    }

    /// The lookups of one wiki's lane, each request's results sent to its writer; returns the
    /// requests sent and the failure, if any. The session is opened before the lane waits for
    /// a slot (building its HTTP client takes a few milliseconds of CPU).
    pub(super) async fn look_up(
        &self,
        wiki: &str,
        shared: &Shared,
        results: &mpsc::UnboundedSender<Looked>,
    ) -> (u64, Option<WikiFailure>) {
        let mut requests = 0;
        let opened = self.open_session(wiki).await;
        let slot = match &opened {
            Ok(_) => Arc::clone(&shared.slots).acquire_owned().await.ok(),
            Err(_) => None,
        };
        let failed = match opened {
            Err(detail) => Some((detail, shared.backlog().drain(wiki))),
            Ok((session, url)) => loop {
                let Some(chunk) = self.take_chunk(shared, wiki) else {
                    break None;
                };
                let checked_at = Utc::now();
                let mut titles: Vec<String> = Vec::new();
                let mut index: HashMap<&str, usize> = HashMap::new();
                for monitor in &chunk {
                    index.entry(monitor.page_title.as_str()).or_insert_with(|| {
                        titles.push(monitor.page_title.clone());
                        titles.len() - 1
                    });
                }
                let looked_up = session.lookup_titles(&titles).await;
                requests = session.request_count();
                let lookups = match looked_up {
                    Ok(lookups) => lookups,
                    Err(err) => {
                        let mut affected = chunk;
                        affected.extend(shared.backlog().drain(wiki));
                        break Some((err.to_string(), affected));
                    }
                };
                let next_check_at = checked_at + self.settings.interval;
                let mut looked = Looked {
                    checked_at,
                    checks: Vec::with_capacity(chunk.len()),
                    events: Vec::new(),
                };
                let mut own = Vec::new();
                for monitor in &chunk {
                    let lookup = index
                        .get(monitor.page_title.as_str())
                        .and_then(|&i| lookups.get(i));
                    let (check, event) = compare(monitor, lookup, &url, next_check_at);
                    looked.checks.push(check);
                    if let Some(event) = event {
                        // A new revision may be our own publish whose record was lost.
                        if let (ChangeEvent::PageChanged(_), Some(PageState::Exists(rev))) =
                            (&event, lookup.map(|l| &l.state))
                            && let Some(sha1) = &rev.sha1
                        {
                            own.push(own::Candidate {
                                check: looked.checks.len() - 1,
                                monitor: monitor.clone(),
                                revision: rev.revision_id,
                                sha1: sha1.clone(),
                            });
                        }
                        looked.events.push((monitor.id, event));
                    }
                }
                self.take_own_edits(shared, &mut looked, own).await;
                if results.send(looked).is_err() {
                    // The writer stopped at a database error, which the lane reports.
                    break None;
                }
            },
        };
        drop(slot);
        shared.lane_looked_up();
        let Some((detail, affected)) = failed else {
            return (requests, None);
        };
        tracing::warn!(wiki, error = %detail, "page lookup failed");
        let checked_at = Utc::now();
        let next_check_at = checked_at + self.settings.interval;
        let checks = affected
            .iter()
            .map(|m| PageCheck {
                page_monitor_id: m.id,
                status: PageCheckStatus::Error,
                new_revid: None,
                detail: Some(detail.clone()),
                next_check_at,
            })
            .collect();
        // If the writer has stopped, its database error is what the lane reports.
        let _ = results.send(Looked {
            checked_at,
            checks,
            events: Vec::new(),
        });
        let failure = WikiFailure {
            wiki: wiki.to_owned(),
            pages: affected.len() as u64,
            detail,
        };
        (requests, Some(failure))
    }

    /// An anonymous session on `wiki`, built on a blocking thread (it builds an HTTP client).
    pub(super) async fn open_session(
        &self,
        wiki: &str,
    ) -> Result<(Arc<dyn WikiSession>, crate::mw::WikiUrl), String> {
        let (api, wiki) = (Arc::clone(&self.wiki), wiki.to_owned());
        tokio::task::spawn_blocking(move || {
            let url = api.parse_wiki(&wiki).map_err(|err| err.to_string())?;
            let session = api.anonymous(&url).map_err(|err| err.to_string())?;
            Ok((session, url))
        })
        .await
        .unwrap_or_else(|err| match err.try_into_panic() {
            // A panic is a bug: it ends the lane, and the run reports it as one.
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => Err(format!("opening a session was cancelled: {err}")),
        })
    }

    /// The next lookup's pages for `wiki`'s lane, waking the run when it should claim again.
    pub(super) fn take_chunk(&self, shared: &Shared, wiki: &str) -> Option<Vec<PageMonitor>> {
        let mut backlog = shared.backlog();
        let chunk = backlog.take_chunk(wiki, TITLES_PER_REQUEST);
        if backlog.queued < backlog.claim_below {
            shared.wake.notify_one();
        }
        chunk
    }

    /// Writes one lookup's results, in turn with the run's other writes; returns the ids whose
    /// claim another runner had taken over (not written).
    pub(super) async fn write(
        &self,
        shared: &Shared,
        looked: &Looked,
    ) -> Result<Vec<PageMonitorId>, StoreError> {
        let _turn = shared.writes.lock().await;
        self.store
            .complete_page_checks(&self.settings.owner, looked.checked_at, &looked.checks)
            .await
    }
}

/// One monitor against what the wiki said now.
pub(super) fn compare(
    monitor: &PageMonitor,
    lookup: Option<&PageLookup>,
    wiki: &crate::mw::WikiUrl,
    next_check_at: chrono::DateTime<Utc>,
) -> (PageCheck, Option<ChangeEvent>) {
    let check = |status, new_revid, detail: Option<String>| PageCheck {
        page_monitor_id: monitor.id,
        status,
        new_revid,
        detail,
        next_check_at,
    };
    let change = PageChange {
        user: monitor.user_id,
        page_monitor_id: monitor.id,
        wiki: monitor.wiki.clone(),
        title: monitor.page_title.clone(),
        old_revid: monitor.last_revid,
        new_revid: None,
        editor: None,
        timestamp: None,
        summary: None,
        diff_url: None,
        new_title: None,
    };
    let Some(lookup) = lookup else {
        return (
            check(
                PageCheckStatus::Error,
                None,
                Some("the wiki's answer did not include this title".to_owned()),
            ),
            None,
        );
    };
    match &lookup.state {
        PageState::Invalid { reason } => (
            check(
                PageCheckStatus::Error,
                None,
                Some(format!("invalid title: {reason}")),
            ),
            None,
        ),
        PageState::Missing { .. } => {
            // Only a page we saw before can have been deleted; report it once.
            let event = (monitor.last_revid.is_some()
                && monitor.last_status != Some(PageCheckStatus::Deleted))
            .then_some(ChangeEvent::PageDeleted(change));
            (
                check(
                    PageCheckStatus::Deleted,
                    None,
                    Some("the page does not exist (deleted, or never created)".to_owned()),
                ),
                event,
            )
        }
        PageState::Exists(revision) => {
            let revid = i64::try_from(revision.revision_id).unwrap_or(i64::MAX);
            if revision.redirected_from.is_some() {
                let event = (monitor.last_status != Some(PageCheckStatus::Moved)).then(|| {
                    ChangeEvent::PageMoved(PageChange {
                        new_revid: Some(revid),
                        new_title: Some(revision.title.clone()),
                        ..change.clone()
                    })
                });
                return (
                    check(
                        PageCheckStatus::Moved,
                        Some(revid),
                        Some(format!(
                            "moved to {} (the old title redirects)",
                            revision.title
                        )),
                    ),
                    event,
                );
            }
            let detail = format!(
                "r{} by {} at {}{}",
                revision.revision_id,
                revision.user.as_deref().unwrap_or("(hidden)"),
                revision.timestamp,
                revision
                    .comment
                    .as_deref()
                    .filter(|c| !c.is_empty())
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            );
            match monitor.last_revid {
                Some(old) if old != revid => {
                    let old_rev = u64::try_from(old).ok();
                    let event = ChangeEvent::PageChanged(PageChange {
                        new_revid: Some(revid),
                        editor: revision.user.clone(),
                        timestamp: Some(revision.timestamp.to_string()),
                        summary: revision.comment.clone(),
                        diff_url: Some(wiki.diff_link(revision.revision_id, old_rev)),
                        ..change
                    });
                    (
                        check(PageCheckStatus::Changed, Some(revid), Some(detail)),
                        Some(event),
                    )
                }
                _ => (
                    check(PageCheckStatus::Unchanged, Some(revid), Some(detail)),
                    None,
                ),
            }
        }
    }
}
