//! The contract between compiled Fitz modules and the host.
//!
//! Pure data and pure functions: nothing here knows about wasmtime, HTTP or databases.

pub mod bytes;
pub mod cron;
pub mod exports;
pub mod format;
pub mod imports;
pub mod layout;
pub mod manifest;
pub mod query;
pub mod response;
pub mod statics;
pub mod types;
pub mod value;

/// Version of the guest ABI; a module built for another version is refused at load.
pub const ABI_VERSION: u32 = 1;
