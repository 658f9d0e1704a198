//! The timing of page lookups: a wiki client wrapper that records when each anonymous
//! session's lookups ran (and when the watcher's writes were done), and the summaries printed
//! from it after each page pass.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use wikiscriptsync_core::mw::{
    ActionApiClient, BotPassword, EditOutcome, EditRequest, Error, PageLookup, PageText, Probe,
    TalkNotice, TalkNoticeOutcome, Title, UserInfo, WikiApi, WikiSession, WikiUrl,
};

use crate::LATENCY;

/// When each wiki's lookup ran and when its results were written, relative to the pass start.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    pub(crate) origin: Option<Instant>,
    pub(crate) lookups: Vec<LookupSpan>,
    pub(crate) written: Vec<Duration>,
}

#[derive(Debug, Clone)]
pub(crate) struct LookupSpan {
    wiki: String,
    start: Duration,
    end: Duration,
    requests: u64,
}

pub(crate) type SharedTimeline = Arc<Mutex<Timeline>>;

pub(crate) fn since_origin(timeline: &SharedTimeline) -> Duration {
    let timeline = timeline.lock().unwrap_or_else(PoisonError::into_inner);
    timeline.origin.map_or(Duration::ZERO, |o| o.elapsed())
}

/// The client the watcher uses, with every anonymous session's lookups timed.
pub(crate) struct TimedWikiApi {
    pub(crate) inner: Arc<ActionApiClient>,
    pub(crate) timeline: SharedTimeline,
}

#[async_trait]
impl WikiApi for TimedWikiApi {
    fn parse_wiki(&self, input: &str) -> Result<WikiUrl, Error> {
        self.inner.parse_wiki(input)
    }
    fn parse_address(&self, input: &str) -> Result<wikiscriptsync_core::mw::WikiAddress, Error> {
        WikiApi::parse_address(self.inner.as_ref(), input)
    }
    async fn resolve_wiki(
        &self,
        input: &str,
    ) -> Result<wikiscriptsync_core::mw::WikiIdentity, Error> {
        WikiApi::resolve_wiki(self.inner.as_ref(), input).await
    }

    async fn login(
        &self,
        wiki: &WikiUrl,
        credentials: BotPassword,
    ) -> Result<Arc<dyn WikiSession>, Error> {
        WikiApi::login(self.inner.as_ref(), wiki, credentials).await
    }

    fn anonymous(&self, wiki: &WikiUrl) -> Result<Arc<dyn WikiSession>, Error> {
        Ok(Arc::new(TimedSession {
            inner: WikiApi::anonymous(self.inner.as_ref(), wiki)?,
            timeline: Arc::clone(&self.timeline),
        }))
    }

    fn request_count(&self) -> u64 {
        self.inner.request_count()
    }
}

struct TimedSession {
    inner: Arc<dyn WikiSession>,
    timeline: SharedTimeline,
}

#[async_trait]
impl WikiSession for TimedSession {
    fn wiki(&self) -> &WikiUrl {
        self.inner.wiki()
    }

    fn user_name(&self) -> Option<String> {
        self.inner.user_name()
    }

    fn request_count(&self) -> u64 {
        self.inner.request_count()
    }

    async fn user_info(&self) -> Result<UserInfo, Error> {
        self.inner.user_info().await
    }

    async fn lookup_revisions(&self, titles: &[&str]) -> Result<Vec<PageLookup>, Error> {
        let start = since_origin(&self.timeline);
        let before = self.inner.request_count();
        let result = self.inner.lookup_revisions(titles).await;
        let end = since_origin(&self.timeline);
        let span = LookupSpan {
            wiki: self.inner.wiki().host(),
            start,
            end,
            requests: self.inner.request_count() - before,
        };
        self.timeline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lookups
            .push(span);
        result
    }

    async fn page_text(
        &self,
        title: &Title,
        revision: Option<u64>,
    ) -> Result<Option<PageText>, Error> {
        self.inner.page_text(title, revision).await
    }

    async fn probe(&self, title: &Title) -> Result<Probe, Error> {
        self.inner.probe(title).await
    }

    async fn edit(&self, request: &EditRequest) -> Result<EditOutcome, Error> {
        self.inner.edit(request).await
    }

    async fn append(&self, request: &EditRequest) -> Result<EditOutcome, Error> {
        self.inner.append(request).await
    }

    async fn post_talk_notice(&self, notice: &TalkNotice) -> Result<TalkNoticeOutcome, Error> {
        self.inner.post_talk_notice(notice).await
    }
}

/// Where a page pass spent its time, from the timeline.
pub(crate) fn explain_page_pass(
    pass: &str,
    timeline: &Timeline,
    wall: Duration,
    concurrency: usize,
) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let lookups = &timeline.lookups;
    let (Some(first_start), Some(last_end)) = (
        lookups.iter().map(|s| s.start).min(),
        lookups.iter().map(|s| s.end).max(),
    ) else {
        return;
    };
    let busy: Duration = lookups.iter().map(|s| s.end - s.start).sum();
    let requests: u64 = lookups.iter().map(|s| s.requests).sum();
    let ideal = LATENCY * u32::try_from(requests).unwrap_or(u32::MAX);
    let last_written = timeline.written.iter().max().copied().unwrap_or(wall);
    eprintln!(
        "  {pass}: claim before first lookup {:.0} ms; lookups {:.0}–{:.0} ms ({:.0} ms of \
         lookups for {requests} requests: {:.1} ms per request against {} ms latency, \
         i.e. {:.0} ms over latency in all); {:.2} lookups in flight on average (allowed \
         {concurrency}); last write done at {:.0} ms; run ended at {:.0} ms",
        ms(first_start),
        ms(first_start),
        ms(last_end),
        ms(busy),
        ms(busy) / requests.max(1) as f64,
        LATENCY.as_millis(),
        ms(busy.saturating_sub(ideal)),
        busy.as_secs_f64() / (last_end - first_start).as_secs_f64().max(f64::EPSILON),
        ms(last_written),
        ms(wall),
    );
}

pub(crate) fn print_page_timeline(timeline: &Timeline) {
    let mut spans = timeline.lookups.clone();
    spans.sort_by_key(|s| s.start);
    for span in spans {
        eprintln!(
            "    {:>22}  lookup {:>6.0} → {:>6.0} ms  ({} requests, {:.1} ms each)",
            span.wiki,
            span.start.as_secs_f64() * 1000.0,
            span.end.as_secs_f64() * 1000.0,
            span.requests,
            (span.end - span.start).as_secs_f64() * 1000.0 / span.requests.max(1) as f64
        );
    }
    let mut written = timeline.written.clone();
    written.sort();
    eprintln!(
        "    writes done at (ms): {}",
        written
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
