//! ORM lowering: for each program in `cases/orm`, the query templates the module carries (its
//! manifest's `queries`: IR, parameter types, result type) must equal `NAME.queries.json`.
//! Set `UPDATE_GOLDEN=1` to rewrite the files after a deliberate change, then review the diff.

use fitz_tests::repo_root;

#[test]
fn query_ir_matches_the_golden_files() {
    let dir = repo_root().join("tests/cases/orm");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("cases/orm").filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "fitz")).collect();
    files.sort();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path).expect("program");
        let artifact = fitz_compiler::compile(&source, "orm.fitz").unwrap_or_else(|d| panic!("{}", d.render("orm.fitz", &source, false)));
        wasmparser::validate(&artifact.wasm).expect("valid module");
        // Read back from the module bytes, as the host will.
        let manifest = guest_abi::manifest::Manifest::from_module(&artifact.wasm).expect("manifest section");
        let got = serde_json::to_string_pretty(&manifest.queries).expect("json") + "\n";
        let golden = path.with_extension("queries.json");
        if update {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            failures.push(format!("{}:\n--- expected\n{want}--- got\n{got}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
