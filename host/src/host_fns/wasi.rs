//! The four WASI preview 1 functions a module may import (`guest_abi::imports`), implemented
//! here rather than through `wasmtime-wasi`: a request's store then carries no WASI context
//! (building one costs more than the rest of an instance), and nothing else of WASI can be
//! reached even by mistake. Output goes to the store's `Output`, which decides per run whether
//! it reaches the terminal or the log.

use guest_abi::imports::WASI;
use rand::RngCore;
use wasmtime::{Caller, Linker};

use crate::runtime::guest::memory;
use crate::runtime::state::GuestState;

const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;

/// `proc_exit`: ends the guest's call; the status is the program's exit status.
#[derive(Debug)]
pub struct GuestExit(pub i32);

impl std::fmt::Display for GuestExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the program exited with status {}", self.0)
    }
}

impl std::error::Error for GuestExit {}

/// Where one stream of a run goes.
pub enum Sink {
    /// The host process's own stream (`fitz run` of a top-level program).
    Inherit,
    /// Kept for the host to log or show, up to `cap` bytes (the rest is dropped).
    Buffer { bytes: Vec<u8>, cap: usize },
}

impl Sink {
    pub fn buffer(cap: usize) -> Sink {
        Sink::Buffer { bytes: Vec::new(), cap }
    }

    fn write(&mut self, fd: i32, data: &[u8]) {
        use std::io::Write;
        match self {
            Sink::Inherit if fd == 1 => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(data);
                let _ = out.flush();
            }
            Sink::Inherit => {
                let _ = std::io::stderr().lock().write_all(data);
            }
            Sink::Buffer { bytes, cap } => {
                let room = cap.saturating_sub(bytes.len());
                if room > 0 {
                    bytes.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
        }
    }

    pub fn take_text(&mut self) -> String {
        match self {
            Sink::Inherit => String::new(),
            Sink::Buffer { bytes, .. } => String::from_utf8_lossy(&std::mem::take(bytes)).into_owned(),
        }
    }
}

/// A run's stdout and stderr.
pub struct Output {
    pub stdout: Sink,
    pub stderr: Sink,
}

impl Output {
    pub fn inherit() -> Output {
        Output { stdout: Sink::Inherit, stderr: Sink::Inherit }
    }

    pub fn captured(stdout_cap: usize, stderr_cap: usize) -> Output {
        Output { stdout: Sink::buffer(stdout_cap), stderr: Sink::buffer(stderr_cap) }
    }
}

fn read_u32(mem: &[u8], addr: usize) -> Option<u32> {
    Some(u32::from_le_bytes(mem.get(addr..addr.checked_add(4)?)?.try_into().ok()?))
}

/// The most iovecs one `fd_write` takes (POSIX's `IOV_MAX`); more is `EINVAL`, as on Linux.
pub const MAX_IOVECS: u32 = 1024;
/// The most bytes `random_get` fills at once (WASI libcs ask for 256 at most).
pub const MAX_RANDOM_BYTES: u32 = 64 << 10;

/// Writes the iovecs' bytes to the run's sink. The sink's room is known before anything is
/// copied, and only what fits is copied: iovecs may all point at one large region, so the
/// lengths they claim say nothing about what the host should spend.
fn fd_write(caller: &mut Caller<'_, GuestState>, fd: i32, iovs: u32, iovs_len: u32, nwritten: u32) -> wasmtime::Result<i32> {
    caller.data_mut().budget.call()?;
    if fd != 1 && fd != 2 {
        return Ok(ERRNO_BADF);
    }
    if iovs_len > MAX_IOVECS {
        return Ok(ERRNO_INVAL);
    }
    let mem = memory(caller)?;
    let (data, state) = mem.data_and_store_mut(&mut *caller);
    let sink = if fd == 1 { &mut state.output.stdout } else { &mut state.output.stderr };
    let mut total: u32 = 0;
    for i in 0..iovs_len as usize {
        let at = iovs as usize + 8 * i;
        let (Some(ptr), Some(len)) = (read_u32(data, at), read_u32(data, at + 4)) else { return Ok(ERRNO_FAULT) };
        let Some(bytes) = data.get(ptr as usize..ptr as usize + len as usize) else { return Ok(ERRNO_FAULT) };
        // Past the sink's room the bytes are dropped, yet reported written: a capped sink is
        // a full disk that never fails, not an error the program has to handle.
        sink.write(fd, bytes);
        total = total.saturating_add(len);
    }
    let Some(out) = data.get_mut(nwritten as usize..nwritten as usize + 4) else { return Ok(ERRNO_FAULT) };
    out.copy_from_slice(&total.to_le_bytes());
    Ok(ERRNO_SUCCESS)
}

/// Clocks and randomness are not counted against the run's host calls: each is as cheap as a
/// few guest instructions, and a loop waiting on the clock is a loop like any other, bounded
/// by the deadline and the CPU share.
fn clock_time_get(caller: &mut Caller<'_, GuestState>, clock: i32, at: u32) -> wasmtime::Result<i32> {
    let nanos: u64 = match clock {
        // realtime
        0 => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        // monotonic
        1 => {
            static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
            u64::try_from(START.get_or_init(std::time::Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
        }
        _ => return Ok(ERRNO_INVAL),
    };
    let mem = memory(caller)?;
    let Some(out) = mem.data_mut(&mut *caller).get_mut(at as usize..at as usize + 8) else { return Ok(ERRNO_FAULT) };
    out.copy_from_slice(&nanos.to_le_bytes());
    Ok(ERRNO_SUCCESS)
}

fn random_get(caller: &mut Caller<'_, GuestState>, buf: u32, len: u32) -> wasmtime::Result<i32> {
    if len > MAX_RANDOM_BYTES {
        return Ok(ERRNO_INVAL);
    }
    let mem = memory(caller)?;
    let Some(out) = mem.data_mut(&mut *caller).get_mut(buf as usize..buf as usize + len as usize) else {
        return Ok(ERRNO_FAULT);
    };
    rand::rngs::OsRng.fill_bytes(out);
    Ok(ERRNO_SUCCESS)
}

pub fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.func_wrap(WASI, "fd_write", |mut c: Caller<'_, GuestState>, fd: i32, iovs: u32, n: u32, out: u32| fd_write(&mut c, fd, iovs, n, out))?;
    linker.func_wrap(WASI, "clock_time_get", |mut c: Caller<'_, GuestState>, clock: i32, _precision: i64, at: u32| clock_time_get(&mut c, clock, at))?;
    linker.func_wrap(WASI, "random_get", |mut c: Caller<'_, GuestState>, buf: u32, len: u32| random_get(&mut c, buf, len))?;
    linker.func_wrap(WASI, "proc_exit", |_c: Caller<'_, GuestState>, code: i32| -> wasmtime::Result<()> { Err(wasmtime::Error::new(GuestExit(code))) })?;
    Ok(())
}
