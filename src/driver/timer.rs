//! Wall-clock time per stage, for the report's `timings_ms`.

use std::collections::BTreeMap;
use std::time::Instant;

/// Laps of the pipeline: each lap is the time since the previous one.
pub(super) struct Timer {
    timings: BTreeMap<String, f64>,
    order: usize,
    last: Instant,
}

impl Timer {
    pub(super) fn new() -> Self {
        Timer {
            timings: BTreeMap::new(),
            order: 0,
            last: Instant::now(),
        }
    }

    /// Records the time since the previous lap under `stage` (prefixed to keep pipeline order).
    pub(super) fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        self.order += 1;
        self.timings.insert(
            format!("{:02}_{stage}", self.order),
            (now - self.last).as_secs_f64() * 1e3,
        );
        self.last = now;
    }

    /// Milliseconds per stage, keyed `NN_stage` in pipeline order.
    pub(super) fn into_timings(self) -> BTreeMap<String, f64> {
        self.timings
    }
}
