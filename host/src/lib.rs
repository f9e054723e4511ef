//! The host: loads compiled Fitz modules into wasmtime sandboxes and runs them, with the host
//! functions of `guest_abi::imports` as their only way out.

pub mod commands;
pub mod config;
pub mod host_fns;
pub mod run;
pub mod runtime;
