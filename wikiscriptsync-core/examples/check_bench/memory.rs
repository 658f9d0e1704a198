//! The checker's resident memory, read from `/proc`: now, the peak in a pass (the kernel's
//! VmHWM, reset before each pass) and the peak over the whole run.

/// A `kB` field of a `/proc/<pid>/status` file, in bytes (NaN when unreadable).
pub(crate) fn status_bytes(status_file: &str, field: &str) -> f64 {
    std::fs::read_to_string(status_file)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb * 1024.0)
}

/// This process's memory: resident now, the peak since the last reset, and the peak over the
/// whole run (kept here because each reset forgets the kernel's).
pub(crate) struct Memory {
    /// The highest peak read so far.
    pub(crate) run_peak: f64,
    /// Whether the kernel accepted every peak reset.
    pub(crate) resettable: bool,
}

impl Memory {
    pub(crate) fn new() -> Self {
        Self {
            run_peak: 0.0,
            resettable: true,
        }
    }

    /// Resident memory now.
    pub(crate) fn rss(&self) -> f64 {
        status_bytes("/proc/self/status", "VmRSS:")
    }

    /// The peak since the last reset (also kept in `run_peak`).
    pub(crate) fn peak(&mut self) -> f64 {
        let peak = status_bytes("/proc/self/status", "VmHWM:");
        self.run_peak = self.run_peak.max(peak);
        peak
    }

    /// Starts a new peak window (Linux: writing 5 to clear_refs resets VmHWM to VmRSS). If
    /// that is refused, peaks stay cumulative and the table says so.
    pub(crate) fn reset_peak(&mut self) {
        self.peak();
        self.resettable &= std::fs::write("/proc/self/clear_refs", "5").is_ok();
    }
}
