//! The editor extension (`editors/vscode`) packages with `vsce`, as the marketplace would take
//! it, and carries the grammar, the language configuration and the client that starts
//! `fitz lsp`.

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("npm and npx (Node.js) are on this machine");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?}:\n{text}");
    text
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "node_modules" || name.to_string_lossy().ends_with(".vsix") {
            continue;
        }
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy");
        }
    }
}

#[test]
fn the_extension_packages_with_vsce() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode");
    let dir = std::env::temp_dir().join(format!("fitz-vscode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&source, &dir);
    // The grammar and the configuration are JSON an editor reads as it is.
    for file in ["package.json", "language-configuration.json", "syntaxes/fitz.tmLanguage.json"] {
        let text = std::fs::read_to_string(dir.join(file)).expect(file);
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    run(Command::new("npm").args(["ci", "--omit=dev", "--no-audit", "--no-fund"]).current_dir(&dir));
    run(Command::new("npx").args(["--yes", "@vscode/vsce@3", "package", "-o", "fitz.vsix"]).current_dir(&dir));
    let listing = run(Command::new("python3").args(["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))", "fitz.vsix"]).current_dir(&dir));
    for part in [
        "extension/package.json",
        "extension/extension.js",
        "extension/syntaxes/fitz.tmLanguage.json",
        "extension/language-configuration.json",
        "extension/node_modules/vscode-languageclient/package.json",
    ] {
        assert!(listing.lines().any(|l| l == part), "{part} is in the package:\n{listing}");
    }
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).expect("package.json")).expect("json");
    assert_eq!(manifest["contributes"]["languages"][0]["extensions"][0], ".fitz");
    let client = std::fs::read_to_string(dir.join("extension.js")).expect("extension.js");
    assert!(client.contains(r#"args: ["lsp"]"#), "the client starts `fitz lsp`");
    let _ = std::fs::remove_dir_all(&dir);
}
