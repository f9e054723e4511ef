//! `fitz check FILE|DIR…`: every problem in every program (a file and what it imports, or a
//! project directory); exit 1 if any has errors.

use std::path::PathBuf;

use super::{color, plural};

pub fn check(files: &[PathBuf], json: bool) -> u8 {
    let mut any_errors = false;
    let mut io_error = false;
    let mut items = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    for path in files {
        let project = match super::load_program(path, true) {
            Ok(p) => p,
            Err(_) => {
                io_error = true;
                continue;
            }
        };
        let checked = fitz_compiler::check_project(&project);
        let d = &checked.diagnostics;
        errors += d.errors();
        warnings += d.warnings();
        any_errors |= d.has_errors();
        if json {
            if let serde_json::Value::Array(list) = d.to_json_in(&project.sources) {
                items.extend(list);
            }
        } else {
            eprint!("{}", d.render_in(&project.sources, color()));
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
