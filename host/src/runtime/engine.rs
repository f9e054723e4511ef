//! The one wasmtime `Engine` of the process.

use wasmtime::{Config, Engine};

/// How the engine allocates instances.
#[derive(Clone, Copy, Debug)]
pub enum Allocation {
    /// One-off runs (`fitz run` of a program without routes).
    OnDemand,
    /// Serving: a pool of pre-reserved slots, instantiated copy-on-write from the module image.
    Pooling { instances: u32, max_memory: u64 },
}

pub fn new_engine(allocation: Allocation) -> anyhow::Result<Engine> {
    let mut cfg = Config::new();
    // Epoch interruption bounds a guest's CPU time cheaply (it checks at loop back-edges and
    // function entries); fuel would be deterministic but costs about twice as much.
    cfg.epoch_interruption(true);
    cfg.wasm_component_model(false);
    if let Allocation::Pooling { instances, max_memory } = allocation {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_core_instances(instances)
            .total_memories(instances)
            .total_tables(instances)
            .total_stacks(instances)
            .max_memory_size(max_memory as usize)
            .linear_memory_keep_resident(64 << 10);
        cfg.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    Ok(Engine::new(&cfg)?)
}
