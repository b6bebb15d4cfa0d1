//! The latency histogram: an HDR histogram of microseconds (1 µs .. 1 h, 3 significant
//! digits) and the percentile summary in milliseconds that the table and JSON show.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency samples of one test, in microseconds.
#[derive(Clone)]
pub struct Latency {
    h: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new()
    }
}

impl Latency {
    /// An empty histogram.
    pub fn new() -> Latency {
        Latency {
            h: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
        }
    }

    /// Record `count` requests that each took `micros`.
    #[inline]
    pub fn record_n(&mut self, micros: u64, count: u64) {
        let v = micros.clamp(1, 3_600_000_000);
        // Cannot fail: the value is clamped into the bounds.
        let _ = self.h.record_n(v, count);
    }

    /// Add another histogram's samples.
    pub fn merge(&mut self, other: &Latency) {
        let _ = self.h.add(&other.h);
    }

    /// Latency at `q` (0..=100) in ms.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.h.is_empty() {
            return 0.0;
        }
        self.h.value_at_percentile(q) as f64 / 1000.0
    }

    /// The summary shown in the table and the JSON.
    pub fn summary(&self) -> Percentiles {
        let ms = |v: u64| {
            if self.h.is_empty() {
                0.0
            } else {
                v as f64 / 1000.0
            }
        };
        Percentiles {
            min: ms(self.h.min()),
            p50: self.percentile_ms(50.0),
            p90: self.percentile_ms(90.0),
            p99: self.percentile_ms(99.0),
            p99_9: self.percentile_ms(99.9),
            max: ms(self.h.max()),
            mean: if self.h.is_empty() {
                0.0
            } else {
                self.h.mean() / 1000.0
            },
        }
    }

    /// (percentile, latency ms) points of the distribution, for the plot.
    pub fn curve(&self) -> Vec<(f64, f64)> {
        if self.h.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for v in self.h.iter_quantiles(4) {
            out.push((
                v.quantile_iterated_to() * 100.0,
                v.value_iterated_to() as f64 / 1000.0,
            ));
        }
        out
    }
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Fastest request.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Slowest request.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_ms() {
        let mut l = Latency::new();
        l.record_n(1000, 90);
        l.record_n(5000, 10);
        let s = l.summary();
        assert_eq!(l.h.len(), 100);
        assert!((s.p50 - 1.0).abs() < 0.01, "{s:?}");
        assert!((s.p99 - 5.0).abs() < 0.01, "{s:?}");
        assert!((s.max - 5.0).abs() < 0.01, "{s:?}");
    }
}
