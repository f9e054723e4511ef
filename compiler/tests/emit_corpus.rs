//! Every valid program of the check corpus (servers included) and the seed compile to modules
//! that wasmparser validates, and that import only what `guest_abi::imports::TABLE` lists.

use wasmparser::{Parser, Payload};

fn programs() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/cases/check/ok")).expect("corpus").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files.push(root.join("examples/seed/auth.fitz"));
    files
}

#[test]
fn corpus_modules_validate_and_import_only_the_table() {
    for path in programs() {
        let src = std::fs::read_to_string(&path).expect("source");
        let artifact = fitz_compiler::compile(&src, "x.fitz").unwrap_or_else(|d| panic!("{}: {}", path.display(), d.render("x.fitz", &src, false)));
        wasmparser::validate(&artifact.wasm).unwrap_or_else(|e| panic!("{}: invalid module: {e}", path.display()));
        for payload in Parser::new(0).parse_all(&artifact.wasm) {
            if let Ok(Payload::ImportSection(imports)) = payload {
                for import in imports.into_imports() {
                    let import = import.expect("import");
                    assert!(
                        guest_abi::imports::find(import.module, import.name).is_some(),
                        "{} imports {}.{}, which is not in the table",
                        path.display(),
                        import.module,
                        import.name
                    );
                }
            }
        }
    }
}
