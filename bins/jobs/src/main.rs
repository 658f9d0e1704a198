//! `wikiscriptsync-jobs`: what Toolforge's scheduler runs.
//!
//! It will offer one command per scheduled job — `check-updates` (hourly: repository files),
//! `check-wiki-updates` (every 30 minutes: wiki pages) and `cleanup-logs` (nightly) — plus
//! `run-scheduler`, which runs all three locally on their intervals. The work itself lives in
//! `wikiscriptsync-core`; this binary only parses arguments and reports.

fn main() {
    eprintln!("wikiscriptsync-jobs: no jobs are available in this version yet");
    std::process::exit(2);
}
