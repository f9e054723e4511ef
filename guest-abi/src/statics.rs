//! Static files bundled into a module (`@server(static_dir="public")`): the custom section
//! `fitz.static`, written by `fitz build` from the program's folder and read by the host, so a
//! deploy carries its front end with it and nothing is read from the host's disk.
//!
//! ```text
//! count: u32 LE, then per file: path length u32 LE, path (UTF-8), size u32 LE, bytes
//! ```

pub const SECTION: &str = "fitz.static";

/// Bounds a bundle may not pass, on either side.
pub const MAX_FILES: usize = 10_000;
pub const MAX_FILE_BYTES: usize = 16 << 20;
pub const MAX_TOTAL_BYTES: usize = 64 << 20;

#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// Relative, `/`-separated, no `.` or `..` parts: `css/site.css`.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Whether `path` may name a bundled file (and so be part of a URL unescaped).
pub fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 512
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != ".." && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~@+".contains(&b)))
}

pub fn encode(files: &[File]) -> Vec<u8> {
    let mut out = (files.len() as u32).to_le_bytes().to_vec();
    for f in files {
        out.extend((f.path.len() as u32).to_le_bytes());
        out.extend(f.path.as_bytes());
        out.extend((f.bytes.len() as u32).to_le_bytes());
        out.extend(&f.bytes);
    }
    out
}

/// The files of a section, or why it cannot be one (a module is anyone's bytes).
pub fn decode(data: &[u8]) -> Result<Vec<File>, String> {
    let mut at = 0usize;
    let u32_at = |at: &mut usize| -> Result<usize, String> {
        let b = data.get(*at..*at + 4).ok_or("the static files section ends early")?;
        *at += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = u32_at(&mut at)?;
    if count > MAX_FILES {
        return Err(format!("more than {MAX_FILES} static files"));
    }
    let mut files = Vec::with_capacity(count);
    let mut total = 0usize;
    for _ in 0..count {
        let n = u32_at(&mut at)?;
        let path = data.get(at..at.saturating_add(n)).ok_or("the static files section ends early")?;
        at += n;
        let path = std::str::from_utf8(path).map_err(|_| "a static file's path is not UTF-8")?.to_string();
        if !valid_path(&path) {
            return Err(format!("static file path {path:?} is not a plain relative path"));
        }
        let size = u32_at(&mut at)?;
        if size > MAX_FILE_BYTES {
            return Err(format!("static file {path} is larger than {MAX_FILE_BYTES} bytes"));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(format!("static files larger than {MAX_TOTAL_BYTES} bytes in all"));
        }
        let bytes = data.get(at..at.saturating_add(size)).ok_or("the static files section ends early")?.to_vec();
        at += size;
        if files.iter().any(|f: &File| f.path == path) {
            return Err(format!("static file {path} is there twice"));
        }
        files.push(File { path, bytes });
    }
    if at != data.len() {
        return Err("the static files section has bytes after its last file".into());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_a_bundle() {
        let files = vec![File { path: "index.html".into(), bytes: b"<p>hi</p>".to_vec() }, File { path: "css/a.css".into(), bytes: vec![] }];
        assert_eq!(decode(&encode(&files)), Ok(files.clone()));
        let mut bad = files.clone();
        bad[0].path = "../etc/passwd".into();
        assert!(decode(&encode(&bad)).is_err());
        bad[0].path = "/abs".into();
        assert!(decode(&encode(&bad)).is_err());
        bad[0].path = "a//b".into();
        assert!(decode(&encode(&bad)).is_err());
        let data = encode(&files);
        for cut in 0..data.len() {
            assert!(decode(&data[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = 5u32.to_le_bytes().to_vec();
        huge.extend(4u32.to_le_bytes());
        huge.extend(b"a.js");
        huge.extend(u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
        assert!(decode(&(u32::MAX).to_le_bytes()).is_err());
    }
}
