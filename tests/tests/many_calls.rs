//! A function with thousands of calls of built-in methods written in Fitz (each inlined with
//! its own locals) still compiles to a valid module: wasm allows 50,000 locals a function,
//! and the lowering reuses those of every call that finished.

use fitz_tests::compile_and_run;

fn program(lines: usize, dates: bool) -> String {
    let mut body = String::from("fn main() -> Int {\nlet total = 0\nlet xs = [3, 1, 2]\nlet d = DateTime.epoch()\n");
    for i in 0..lines {
        let month = if dates { format!("d.add_months({}).month()", i % 40) } else { format!("{}", (i % 40) % 12 + 1) };
        body.push_str(&format!("total += xs.sum() + xs.product() + {month} + \"{i}\".pad_start(6, \"0\").len()\n"));
    }
    body.push_str("return total\n}\nprint(main())\n");
    body
}

#[test]
fn thousands_of_inlined_method_calls_fit_in_one_function() {
    let artifact = fitz_compiler::compile(&program(6000, false), "many_calls.fitz").unwrap_or_else(|e| panic!("{e:?}"));
    wasmparser::validate(&artifact.wasm).expect("a valid module");
    // Without reuse this function needs well over wasm's 50,000 locals; with it, the locals
    // of one line.
    let mut most = 0u32;
    for payload in wasmparser::Parser::new(0).parse_all(&artifact.wasm) {
        if let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload {
            let mut count = 0;
            for group in body.get_locals_reader().expect("locals") {
                count += group.expect("local group").0;
            }
            most = most.max(count);
        }
    }
    assert!(most < 300, "a function has {most} locals");
}

#[test]
fn reused_locals_keep_their_values_apart() {
    let (code, out, err) = compile_and_run(&program(120, true), "many_calls.fitz").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0, "{err}");
    // Each line adds 6 + 6 + (the month i % 40 months after January) + 6.
    let expected: usize = (0..120).map(|i| 6 + 6 + (i % 40) % 12 + 1 + 6).sum();
    assert_eq!(out.trim(), expected.to_string());
}
