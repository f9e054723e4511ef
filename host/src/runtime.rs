//! The wasmtime side, in the three lifetimes of DESIGN.md §8: the process (`Runtime`: one
//! `Engine`, one `Linker`, the epoch ticker), an app version (`app::AppVersion`: the baked
//! `Module`, its `InstancePre`, manifest and routes) and a request or run
//! (`Store<GuestState>`, created and dropped in `invoke`).

pub mod app;
pub mod builder;
pub mod cpu;
pub mod engine;
pub mod guest;
pub mod invoke;
pub mod linker;
pub mod snapshot;
pub mod state;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Engine, Linker};

use self::builder::BuildThread;
use self::engine::{Allocation, EpochTicker, new_engine};
use self::state::GuestState;

/// How often the epoch advances; CPU deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What lives as long as the process. Cloning shares it.
#[derive(Clone)]
pub struct Runtime {
    pub engine: Engine,
    pub linker: Linker<GuestState>,
    /// Kept by every app version too: deadlines need the epoch to advance.
    pub ticker: Arc<EpochTicker>,
    /// Where versions are compiled and top levels run, away from the serving threads.
    pub builder: Arc<BuildThread>,
}

impl Runtime {
    pub fn new(allocation: Allocation) -> anyhow::Result<Runtime> {
        let engine = new_engine(allocation)?;
        let linker = linker::new_linker(&engine)?;
        let ticker = Arc::new(EpochTicker::start(engine.clone(), EPOCH_TICK));
        let builder = Arc::new(BuildThread::start()?);
        Ok(Runtime { engine, linker, ticker, builder })
    }

    /// Epoch ticks for a deadline (at least one).
    pub fn ticks(deadline: Duration) -> u64 {
        (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}
