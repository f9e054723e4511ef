//! The wasmtime side, in the three lifetimes of DESIGN.md §8: the process (`Engine`, `Linker`),
//! an app version (`Module`, `InstancePre`, manifest) and a request or run (`Store<GuestState>`).

pub mod engine;
pub mod guest;
pub mod linker;
pub mod state;
