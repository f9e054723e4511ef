//! The one wasmtime `Engine` of the process, and the thread that advances its epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine};

/// How the engine allocates instances.
#[derive(Clone, Copy, Debug)]
pub enum Allocation {
    /// One-off runs (`fitz run` of a program without routes).
    OnDemand,
    /// Serving: a pool of pre-reserved slots, instantiated copy-on-write from the module image.
    Pooling { instances: u32, max_memory: u64 },
}

/// Guest stack, enough for deep but sane recursion; past it the request traps.
pub const MAX_WASM_STACK: usize = 1 << 20;

pub fn new_engine(allocation: Allocation) -> anyhow::Result<Engine> {
    let mut cfg = Config::new();
    // Epoch interruption bounds a guest's CPU time cheaply (it checks at loop back-edges and
    // function entries); fuel would be deterministic but costs about twice as much.
    cfg.epoch_interruption(true);
    cfg.max_wasm_stack(MAX_WASM_STACK);
    cfg.async_stack_size(MAX_WASM_STACK + (512 << 10));
    if let Allocation::Pooling { instances, max_memory } = allocation {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_core_instances(instances)
            .total_memories(instances)
            .total_tables(instances)
            .total_stacks(instances)
            .max_memory_size(max_memory as usize)
            // With PAGEMAP_SCAN (Linux 6.7+) only the pages a request dirtied are reset, by
            // copying or zeroing, so a generous resident size costs nothing and spares the
            // madvise call and the page faults that would follow it.
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10)
            // Every slot may stay warm for the module that last used it: on a host with many
            // apps, an app's next request then finds its image still mapped and only its
            // dirtied pages to reset, instead of remapping the image and faulting it back in.
            .max_unused_warm_slots(instances);
        cfg.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    Ok(Engine::new(&cfg)?)
}

/// Advances the engine's epoch every tick until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: Engine, tick: Duration) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("fitz-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .map(drop)
            .unwrap_or_default();
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
