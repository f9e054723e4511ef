//! The `fitz` command.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "fitz", version, about = "Fitz on WebAssembly: check, build and serve Fitz programs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check programs and report every problem; exit 1 if any has errors.
    Check {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// `json` prints one machine-readable document for editors and CI.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's own exits: 0 for --help/--version, 2 for usage errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Check { files, format } => check(&files, format),
    }
}

fn check(files: &[std::path::PathBuf], format: Format) -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut any_errors = false;
    let mut io_error = false;
    let mut json = Vec::new();
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
        match format {
            Format::Text => eprint!("{}", d.render(&name, &source, color)),
            Format::Json => {
                if let serde_json::Value::Array(items) = d.to_json(&name, &source) {
                    json.extend(items);
                }
            }
        }
    }
    match format {
        Format::Json => {
            let doc = serde_json::json!({ "diagnostics": json, "errors": errors, "warnings": warnings });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        Format::Text => {
            if errors + warnings > 0 {
                eprintln!(
                    "{} error{}, {} warning{}",
                    errors,
                    if errors == 1 { "" } else { "s" },
                    warnings,
                    if warnings == 1 { "" } else { "s" }
                );
            }
        }
    }
    if io_error {
        ExitCode::from(2)
    } else if any_errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The OS reason without Rust's "(os error 2)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}
