//! `@server(static_dir="public")`: the folder's files appended to the built module as its
//! `fitz.static` section (`guest_abi::statics`), in path order, so a build is the same bytes
//! every time and a deploy carries them.

use std::path::Path;

use guest_abi::statics::{File, MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES, SECTION, encode, valid_path};
use wasm_encoder::Encode;

/// Appends the files under `dir` to `wasm`. Dot-files (`.env`, `.git`) are left out; a name a
/// URL could not carry plainly, a file too large, or too many are errors naming the file.
pub fn bundle(wasm: &mut Vec<u8>, dir: &Path) -> Result<usize, String> {
    let mut files = Vec::new();
    collect(dir, "", &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let total: usize = files.iter().map(|f| f.bytes.len()).sum();
    if files.len() > MAX_FILES {
        return Err(format!("`{}` holds more than {MAX_FILES} files", dir.display()));
    }
    if total > MAX_TOTAL_BYTES {
        return Err(format!("`{}` holds more than {} MiB", dir.display(), MAX_TOTAL_BYTES >> 20));
    }
    let mut payload = Vec::new();
    SECTION.encode(&mut payload);
    payload.extend(encode(&files));
    wasm.push(0);
    (payload.len() as u32).encode(wasm);
    wasm.extend(payload);
    Ok(files.len())
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<File>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read the static folder `{}`: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        if !valid_path(&path) {
            return Err(format!("static file `{path}`: use letters, digits and `-_.~@+` in names"));
        }
        let kind = entry.file_type().map_err(|e| format!("cannot read `{path}`: {e}"))?;
        if kind.is_dir() {
            collect(&entry.path(), &path, out)?;
        } else if kind.is_file() {
            let size = entry.metadata().map(|m| m.len() as usize).unwrap_or(0);
            if size > MAX_FILE_BYTES {
                return Err(format!("static file `{path}` is larger than {} MiB", MAX_FILE_BYTES >> 20));
            }
            if out.len() >= MAX_FILES {
                return Err(format!("more than {MAX_FILES} static files"));
            }
            let bytes = std::fs::read(entry.path()).map_err(|e| format!("cannot read `{path}`: {e}"))?;
            out.push(File { path, bytes });
        }
    }
    Ok(())
}
