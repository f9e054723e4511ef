//! A tenant's share of the CPU. Guests run on the executor's worker threads and yield at every
//! epoch tick; each tick a tenant's instances spend is counted in a short window, and once a
//! tenant has used more than its share in the window, its instances sleep at their next tick
//! instead of just yielding. A tenant that loops in many requests at once is held to about
//! its share of the cores, and the other tenants' requests keep theirs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The accounting window.
const WINDOW: Duration = Duration::from_millis(100);

pub struct CpuShare {
    start: Instant,
    /// Packed: window number (high 40 bits) and ticks in it (low 24 bits).
    state: AtomicU64,
    /// Ticks a tenant may use per window (10 ms ticks: 10 per 100 ms ≈ one core).
    budget: u64,
}

impl CpuShare {
    /// A share of `cores` (fractions allowed) with ticks of `tick`.
    pub fn new(cores: f64, tick: Duration) -> CpuShare {
        let per_window = (WINDOW.as_secs_f64() / tick.as_secs_f64() * cores).max(1.0) as u64;
        CpuShare { start: Instant::now(), state: AtomicU64::new(0), budget: per_window }
    }

    /// Counts one tick; true when the tenant is over its share for the current window.
    pub fn tick(&self) -> bool {
        let window = (self.start.elapsed().as_millis() / WINDOW.as_millis()) as u64;
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let (w, n) = (cur >> 24, cur & 0xff_ffff);
            let next = if w == window { (w << 24) | (n + 1).min(0xff_ffff) } else { window << 24 | 1 };
            match self.state.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return (next & 0xff_ffff) > self.budget,
                Err(actual) => cur = actual,
            }
        }
    }

    /// How long an instance over the share sleeps before it runs on.
    pub fn penalty(&self) -> Duration {
        WINDOW / 4
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn over_budget_after_the_share() {
        let share = super::CpuShare::new(1.0, std::time::Duration::from_millis(10));
        let over: Vec<bool> = (0..12).map(|_| share.tick()).collect();
        assert!(over[..10].iter().all(|o| !o), "{over:?}");
        assert!(over[10] && over[11]);
    }
}
