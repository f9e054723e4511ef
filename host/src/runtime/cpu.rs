//! A tenant's share of the CPU, accounted across all its instances at once. Guests run on the
//! executor's worker threads and stop at every epoch tick; there each instance charges the time
//! it ran since it last resumed to its tenant, and the tenant's account decides how long the
//! instance waits before it runs on. The account is a virtual clock that advances by the
//! charged time divided by the tenant's cores (the generic cell rate algorithm): a tenant may
//! run ahead of real time by `BURST`, and past that every instance of it waits until the clock
//! is back within the burst. However many requests a tenant runs at once, together they get
//! its share and no more, and the other tenants' requests find the rest of the cores free.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How far ahead of its share a tenant may run before its instances wait.
const BURST: Duration = Duration::from_millis(100);
/// The most one stop charges: an instance that was not running (its thread was busy) is not
/// charged for the wait.
const MAX_CHARGE: Duration = Duration::from_millis(50);

pub struct CpuShare {
    start: Instant,
    /// The tenant's virtual clock, in nanoseconds since `start`.
    clock: AtomicU64,
    cores: f64,
}

impl CpuShare {
    /// A share of `cores` (fractions allowed).
    pub fn new(cores: f64) -> CpuShare {
        CpuShare { start: Instant::now(), clock: AtomicU64::new(0), cores: cores.max(0.01) }
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Charges `used` of CPU to the tenant; returns how long the charging instance should wait
    /// before it runs on (zero while the tenant is within its share).
    pub fn charge(&self, used: Duration) -> Duration {
        let cost = (used.min(MAX_CHARGE).as_nanos() as f64 / self.cores) as u64;
        let now = self.now();
        let mut cur = self.clock.load(Ordering::Relaxed);
        loop {
            let next = cur.max(now) + cost;
            match self.clock.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Duration::from_nanos((next - now).saturating_sub(BURST.as_nanos() as u64)),
                Err(actual) => cur = actual,
            }
        }
    }

    /// The epoch callback of one instance: charge what it ran since it last resumed, then wait
    /// (or just yield) and note when it resumes.
    pub fn callback(
        share: Arc<CpuShare>,
    ) -> impl FnMut(wasmtime::StoreContextMut<'_, super::state::GuestState>) -> wasmtime::Result<wasmtime::UpdateDeadline> + Send + Sync + 'static {
        let resumed = Arc::new(AtomicU64::new(share.now()));
        move |_| {
            let used = Duration::from_nanos(share.now().saturating_sub(resumed.load(Ordering::Relaxed)));
            let wait = share.charge(used);
            let (share, resumed) = (share.clone(), resumed.clone());
            Ok(wasmtime::UpdateDeadline::YieldCustom(
                1,
                Box::pin(async move {
                    if wait.is_zero() {
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(wait).await;
                    }
                    resumed.store(share.now(), Ordering::Relaxed);
                }),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_is_held_to_its_share_however_many_instances_charge() {
        let share = CpuShare::new(1.0);
        let tick = Duration::from_millis(10);
        // Within the burst nothing waits...
        let waits: Vec<Duration> = (0..10).map(|_| share.charge(tick)).collect();
        assert!(waits.iter().all(Duration::is_zero), "{waits:?}");
        // ...then 32 instances charging a tick each at once owe 32 ticks between them: the
        // last waits about 320 ms, as one core would take to run them.
        let waits: Vec<Duration> = (0..32).map(|_| share.charge(tick)).collect();
        let last = *waits.last().expect("32");
        assert!(last >= Duration::from_millis(300) && last <= Duration::from_millis(340), "{last:?}");
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        // Half a core: the same charges cost twice as much.
        let half = CpuShare::new(0.5);
        let waits: Vec<Duration> = (0..10).map(|_| half.charge(tick)).collect();
        assert!(waits[4].is_zero() && waits[9] >= Duration::from_millis(90), "{waits:?}");
        // A stop after a long wait is charged at most MAX_CHARGE.
        let fresh = CpuShare::new(1.0);
        assert!(fresh.charge(Duration::from_secs(5)).is_zero());
    }
}
