//! `fitz fmt FILE|DIR… [--check]`: every `.fitz` file in one canonical layout, comments kept
//! (`fitz_compiler::syntax::print::format_source`). `--check` changes nothing and exits 1 when
//! a file would change; a file that does not parse is left as it is and reported (exit 1).

use std::path::{Path, PathBuf};

/// The `.fitz` files under `path` (a file is itself), sorted; hidden folders and `target` are
/// skipped.
fn fitz_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" {
                fitz_files(&p, out);
            }
        } else if name.ends_with(".fitz") {
            out.push(p);
        }
    }
}

pub fn fmt(paths: &[PathBuf], check: bool) -> u8 {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            eprintln!("error: {} does not exist", p.display());
            return 2;
        }
        fitz_files(p, &mut files);
    }
    let (mut changed, mut broken) = (0usize, 0usize);
    for file in &files {
        let Ok(source) = super::read_source(file) else { return 2 };
        let Some(formatted) = fitz_compiler::syntax::print::format_source(&source) else {
            eprintln!("error: {} does not parse (`fitz check` says why); left as it is", file.display());
            broken += 1;
            continue;
        };
        if formatted == source {
            continue;
        }
        changed += 1;
        if check {
            eprintln!("{} would be reformatted", file.display());
        } else if let Err(e) = std::fs::write(file, formatted) {
            eprintln!("error: cannot write {}: {}", file.display(), super::io_reason(&e));
            return 2;
        }
    }
    if !check && changed > 0 {
        eprintln!("formatted {changed} file{}", super::plural(changed));
    }
    if broken > 0 || (check && changed > 0) { 1 } else { 0 }
}
