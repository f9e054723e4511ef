//! What a module exports for the host to call.
//!
//! Entry points return a pointer to an *outcome*: `site: u32`, 4 bytes padding, and the
//! payload slot at offset 8. Site 0 is a normal return (payload of the declared type), site 1
//! an error (payload `Str`: `?` on an `Err` in a handler, 500), and sites from 2 on are the
//! `return STATUS BODY` sites the manifest lists for that entry.

pub const MEMORY: &str = "memory";
/// `(size: i32) -> i32`: 8-byte-aligned block in the module's heap; traps when memory is
/// exhausted. The module's own allocator; the host follows the same protocol on the heap
/// pointer instead of calling it (see `crate::imports::TABLE`).
pub const ALLOC: &str = "fitz_alloc";
/// `() -> ()`: runs the program's top level once.
pub const MAIN: &str = "fitz_main";
pub const AUTH: &str = "fitz_auth";
/// `(argv: List<Str>) -> Int`: an `@command` program's command line (the program's name
/// first), after the top level ran; returns the exit status.
pub const CLI: &str = "fitz_cli";

pub fn route(index: usize) -> String {
    format!("fitz_route_{index}")
}

pub fn cron(index: usize) -> String {
    format!("fitz_cron_{index}")
}

/// A `@background` function's entry: its parameters as a route's, an outcome back.
pub fn test(index: usize) -> String {
    format!("fitz_test_{index}")
}

/// Post middleware `index` of `Manifest::afters`.
pub fn after(index: usize) -> String {
    format!("fitz_after_{index}")
}

/// Wrap middleware `index` of `Manifest::wraps`: `(request) -> outcome` of a `Response`.
pub fn wrap(index: usize) -> String {
    format!("fitz_wrap_{index}")
}

pub fn task(index: usize) -> String {
    format!("fitz_task_{index}")
}

/// `() -> slot`: the default value of field `field` of record `record`, for request bodies
/// that leave the field out.
pub fn field_default(record: usize, field: usize) -> String {
    format!("fitz_default_{record}_{field}")
}

pub const OUTCOME_SITE: u32 = 0;
pub const OUTCOME_PAYLOAD: u32 = 8;
pub const OUTCOME_SIZE: u32 = 16;
pub const SITE_RETURN: u32 = 0;
pub const SITE_ERROR: u32 = 1;
pub const FIRST_STATUS_SITE: u32 = 2;
