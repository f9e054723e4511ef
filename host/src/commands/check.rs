//! `fitz check FILE…`: every problem in every file; exit 1 if any has errors.

use std::path::PathBuf;

use super::{color, io_reason, plural};

pub fn check(files: &[PathBuf], json: bool) -> u8 {
    let mut any_errors = false;
    let mut io_error = false;
    let mut items = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    for path in files {
        let name = path.display().to_string();
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot read {name}: {}", io_reason(&e));
                io_error = true;
                continue;
            }
        };
        let checked = fitz_compiler::check_source(&source);
        let d = &checked.diagnostics;
        errors += d.errors();
        warnings += d.warnings();
        any_errors |= d.has_errors();
        if json {
            if let serde_json::Value::Array(list) = d.to_json(&name, &source) {
                items.extend(list);
            }
        } else {
            eprint!("{}", d.render(&name, &source, color()));
        }
    }
    if json {
        let doc = serde_json::json!({ "diagnostics": items, "errors": errors, "warnings": warnings });
        super::stdout(&(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"));
    } else if errors + warnings > 0 {
        eprintln!("{} error{}, {} warning{}", errors, plural(errors), warnings, plural(warnings));
    }
    if io_error {
        2
    } else if any_errors {
        1
    } else {
        0
    }
}
