//! The host: loads compiled Fitz modules into wasmtime sandboxes and serves them, with the
//! host functions of `guest_abi::imports` as their only way out.
//!
//! module bytes → `runtime::validate` → `runtime::app::load` (top level run once, snapshot
//! baked, compiled) → `server::start_per_core` → per request `http` (route, bind) →
//! `runtime::invoke` (fresh instance, auth, handler) → JSON.

pub mod asyncapi;
pub mod background;
pub mod commands;
pub mod config;
pub mod cron;
pub mod db;
pub mod faults;
pub mod files;
pub mod host_fns;
pub mod http;
pub mod json;
pub mod limits;
pub mod multi;
pub mod openapi;
pub mod run;
pub mod runtime;
pub mod server;
pub mod ws;
