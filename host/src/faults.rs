//! Crash points for the tests that kill a host in the middle of a change: with
//! `FITZ_FAULT_AT=<point>` in its environment the process aborts, as a SIGKILL would end it,
//! the first time it reaches that point. Unset (always, outside those tests), a point costs
//! one read of a value computed once.

use std::sync::OnceLock;

/// Aborts the process here if `FITZ_FAULT_AT` names `name`.
pub fn point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT.get_or_init(|| std::env::var("FITZ_FAULT_AT").ok().filter(|v| !v.is_empty())).as_deref() == Some(name) {
        eprintln!("fitz: FITZ_FAULT_AT={name}: aborting here");
        std::process::abort();
    }
}
