//! The benchmark's generated program is a real test input too: it must check clean.

#[path = "../benches/generate.rs"]
mod generate;

#[test]
fn generated_benchmark_program_checks_clean() {
    let src = generate::program(225);
    assert!(src.lines().count() >= 10_000);
    let checked = fitz_compiler::check_source(&src);
    let rendered = checked.diagnostics.render("generated.fitz", &src, false);
    assert!(!checked.diagnostics.has_errors(), "{}", rendered.lines().take(40).collect::<Vec<_>>().join("\n"));
}
