//! The figures table: one row per pass (requests, quota, wall time against the physical limit
//! and the naive baseline, memory), then the calibration, the run's peaks and the goals.

use std::time::Duration;

use crate::{FORGE_CONCURRENCY, GOAL_BYTES, GOAL_RATIO, LATENCY, MIB};

/// One pass's figures.
pub(crate) struct Row {
    pub(crate) pass: String,
    pub(crate) requests: u64,
    pub(crate) quota: String,
    pub(crate) wall: Duration,
    pub(crate) limit: Duration,
    pub(crate) concurrency: usize,
    pub(crate) naive_requests: u64,
    pub(crate) naive_limit: Duration,
    pub(crate) rss_before: f64,
    pub(crate) peak_in_pass: f64,
    pub(crate) fakes_peak: f64,
}

impl Row {
    /// Wall time ÷ physical limit.
    pub(crate) fn ratio(&self) -> f64 {
        self.wall.as_secs_f64() / self.limit.as_secs_f64().max(f64::EPSILON)
    }
}

/// The physical limit: `requests` × latency ÷ `concurrency`.
pub(crate) fn limit(requests: u64, concurrency: usize) -> Duration {
    LATENCY * u32::try_from(requests).unwrap_or(u32::MAX) / u32::try_from(concurrency).unwrap_or(1)
}

/// Bytes in MiB.
fn mib(bytes: f64) -> f64 {
    bytes / MIB
}

/// The run's figures besides the rows: the settings they were measured with, the calibration
/// and the whole run's peaks.
pub(crate) struct Summary {
    /// Requests in flight per wiki the client allows.
    pub(crate) per_wiki_in_flight: usize,
    /// Wikis looked up at once.
    pub(crate) wikis_at_once: usize,
    /// Whether each pass's peak was its own (the kernel accepted the reset).
    pub(crate) peak_resettable: bool,
    /// One lookup request alone on an idle wiki.
    pub(crate) one_request: Duration,
    /// The checker's peak resident memory over the whole run, setup included.
    pub(crate) checker_peak: f64,
    /// The fakes' process's peak resident memory.
    pub(crate) fakes_peak: f64,
}

/// Prints the table (Markdown, on stdout) and the lines after it.
pub(crate) fn print_figures(rows: &[Row], summary: &Summary) {
    let Summary {
        per_wiki_in_flight,
        wikis_at_once,
        peak_resettable,
        one_request,
        checker_peak,
        fakes_peak,
    } = *summary;
    let peak_label = if peak_resettable {
        "peak in pass"
    } else {
        "peak so far (reset refused)"
    };
    println!(
        "\nlatency {} ms; forge: {FORGE_CONCURRENCY} requests in flight per host, \
         {FORGE_CONCURRENCY} repositories at once; wikis: {wikis_at_once} at once × {per_wiki_in_flight} \
         request in flight per wiki; store SQLite (in the checker's process); fakes in a \
         separate process\n",
        LATENCY.as_millis(),
    );
    println!(
        "| pass | requests | quota spent | wall time | physical limit (requests × {} ms ÷ concurrency) | wall ÷ limit | naive requests | naive limit | checker RSS before pass | checker {peak_label} | checker growth in pass | fakes' process peak RSS |",
        LATENCY.as_millis()
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {} | {:.2} s | {:.2} s (÷{}) | {:.2}× | {} | {:.2} s | {:.1} MiB | {:.1} MiB | {:+.1} MiB | {:.1} MiB |",
            row.pass,
            row.requests,
            row.quota,
            row.wall.as_secs_f64(),
            row.limit.as_secs_f64(),
            row.concurrency,
            row.ratio(),
            row.naive_requests,
            row.naive_limit.as_secs_f64(),
            mib(row.rss_before),
            mib(row.peak_in_pass),
            mib(row.peak_in_pass - row.rss_before),
            mib(row.fakes_peak),
        );
    }
    println!(
        "\none lookup request alone on an idle fake wiki takes {:.1} ms against {} ms of \
         injected latency (the fakes' and the client's own time on this 2-core machine)",
        one_request.as_secs_f64() * 1000.0,
        LATENCY.as_millis()
    );
    let worst = rows.iter().map(Row::ratio).fold(0.0, f64::max);
    println!(
        "\nchecker process peak RSS over the whole run (setup included): {:.1} MiB; fakes' \
         process peak RSS: {:.1} MiB",
        mib(checker_peak),
        mib(fakes_peak)
    );
    println!(
        "goal wall ≤ {GOAL_RATIO}× limit: {} (worst {worst:.2}×); goal checker peak < 64 MB \
         ({:.1} MiB): {} ({:.1} MB)",
        if worst <= GOAL_RATIO {
            "met"
        } else {
            "NOT met"
        },
        mib(GOAL_BYTES),
        if checker_peak < GOAL_BYTES {
            "met"
        } else {
            "NOT met"
        },
        checker_peak / 1e6
    );
}
