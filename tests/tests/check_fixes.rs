//! The checker's fixes (an editor's quick fixes, `fitz check --format json`'s `fixes`): every
//! fix any golden program earns is applied, and the program checked again — the fix must mend
//! its own diagnostic (one fewer of its code) without breaking the parse. The list of fixes is
//! a snapshot, so a fix that moves or changes is reviewed.

use std::fmt::Write;
use std::path::Path;

use fitz_compiler::diagnostic::{Diagnostic, Fix};

fn apply(text: &str, fix: &Fix) -> String {
    let mut edits = fix.edits.clone();
    edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.span.start as usize..e.span.end as usize, &e.text);
    }
    out
}

fn count(diags: &[Diagnostic], code: &str) -> usize {
    diags.iter().filter(|d| d.code == code).count()
}

fn syntax_errors(diags: &[Diagnostic]) -> Vec<String> {
    diags.iter().filter(|d| d.code == "syntax").map(|d| format!("{}:{:?}: {}", d.code, d.span(), d.message)).collect()
}

#[test]
fn every_fix_mends_its_own_diagnostic() {
    let dir = fitz_tests::repo_root().join("tests/cases/check/err");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("test step").map(|e| e.expect("test step").path()).filter(|p| p.extension().is_some_and(|x| x == "fitz")).collect();
    paths.sort();
    let mut listing = String::new();
    let mut codes = std::collections::BTreeSet::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("test step");
        let before = fitz_compiler::check_source(&text).diagnostics.items;
        let name = path.file_name().expect("test step").to_string_lossy();
        for d in before.iter().filter(|d| !d.fixes.is_empty()) {
            for fix in &d.fixes {
                codes.insert(d.code);
                let line = text[..d.span().start as usize].matches('\n').count() + 1;
                let edits: Vec<String> = fix.edits.iter().map(|e| format!("{:?} → {:?}", &text[e.span.start as usize..e.span.end as usize], e.text)).collect();
                writeln!(listing, "{name}:{line} [{}] {}: {}", d.code, fix.title, edits.join(", ")).expect("test step");
                let fixed = apply(&text, fix);
                let after = fitz_compiler::check_source(&fixed).diagnostics.items;
                check_mended(path, d, fix, &text, &before, &fixed, &after);
            }
        }
    }
    // The fixes this suite must keep seeing: a golden that loses its case loses its test.
    for code in [
        "unknown-name",
        "unknown-field",
        "unknown-method",
        "unknown-decorator",
        "unknown-role",
        "decorator-key",
        "missing-await",
        "unused-future",
        "await-outside-async",
        "await-non-future",
        "use-keyword",
        "single-quoted-string",
        "redundant-authenticated",
        "user-on-public-route",
        "user-parameter",
        "unbound-path-parameter",
        "spawn-not-background",
        "outside-transaction",
        "type-mismatch",
    ] {
        assert!(codes.contains(code), "no golden program earns a fix for `{code}`; fixes seen for {codes:?}");
    }
    insta::assert_snapshot!(listing);
}

fn check_mended(path: &Path, d: &Diagnostic, fix: &Fix, text: &str, before: &[Diagnostic], fixed: &str, after: &[Diagnostic]) {
    let was_syntax = count(before, "syntax");
    let now_syntax = syntax_errors(after);
    assert!(now_syntax.len() <= was_syntax, "{}: fix `{}` for [{}] breaks the parse:\n{}\n--- fixed text ---\n{fixed}", path.display(), fix.title, d.code, now_syntax.join("\n"));
    // A syntax error stops the checker, so mending one may uncover what it hid: only the
    // syntax errors are compared then.
    let (had, has) = (count(before, d.code), count(after, d.code));
    assert!(
        has < had || (d.code != "syntax" && was_syntax > 0 && has <= had),
        "{}: fix `{}` did not mend [{}] ({had} before, {has} after) at {:?}\n--- fixed text ---\n{fixed}\n--- was ---\n{text}",
        path.display(),
        fix.title,
        d.code,
        d.span()
    );
}
