//! Format specs against Python's f-strings as the referee, for the part of the language where
//! upstream Fitz and Python agree (integers in every base, fixed and percent floats, text):
//! one generated Fitz program prints each value with its spec through the whole pipeline
//! (checker, wasm, the host's `fmt`), and Python prints the same list.
//!
//! Left to golden files (`cases/run/format_specs.fitz`) are upstream's own choices: `e` and
//! `g` write exponents as Rust does, and a float with a precision and no type is fixed.

use fitz_tests::{compile_and_run, python};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.gen_range(0..from.len())]
}

/// `[[fill]align][sign][#][0][width]`, shared by every kind.
fn head(rng: &mut StdRng, numeric: bool) -> String {
    let mut s = String::new();
    let align = if numeric { pick(rng, &["", "<", ">", "^", "=", "*>", "·^", "0<", "_="]) } else { pick(rng, &["", "<", ">", "^", "*<", "é^", ".>"]) };
    s.push_str(align);
    if numeric {
        s.push_str(pick(rng, &["", "+", "-", " "]));
        if rng.gen_bool(0.2) {
            s.push('#');
        }
        if rng.gen_bool(0.25) {
            s.push('0');
        }
    }
    s.push_str(pick(rng, &["", "", "1", "7", "12", "30"]));
    s
}

fn int_case(rng: &mut StdRng) -> (String, String) {
    let n: i64 = match rng.gen_range(0..4) {
        0 => rng.gen_range(-1000..1000),
        1 => rng.gen_range(-10_000_000_000..10_000_000_000),
        2 => rng.gen_range(i64::MIN + 1..=i64::MAX),
        _ => *[0, 1, -1, i64::MAX, i64::MIN + 1].get(rng.gen_range(0..5)).expect("index"),
    };
    let ty = pick(rng, &["", "d", "x", "X", "b", "o", "n"]);
    let ty = if ty == "n" { "" } else { ty };
    // Python refuses `,` with a base other than ten; `_` groups bases by four.
    let grouping = if ty.is_empty() || ty == "d" { pick(rng, &["", "", ",", "_"]) } else { pick(rng, &["", "", "_"]) };
    let mut spec = head(rng, true);
    if ty.is_empty() || ty == "d" {
        spec = spec.replace('#', "");
    }
    (n.to_string(), format!("{spec}{grouping}{ty}"))
}

fn float_case(rng: &mut StdRng) -> (String, String) {
    let x: f64 = match rng.gen_range(0..5) {
        0 => rng.gen_range(-1000.0..1000.0),
        1 => (rng.gen_range(-100_000..100_000) as f64) / 1000.0,
        2 => rng.gen_range(-1.0..1.0) * 10f64.powi(rng.gen_range(-30..30)),
        3 => f64::from_bits(rng.r#gen::<u64>() & !(0x7ff << 52) | (rng.gen_range(900u64..1150) << 52)),
        // Exact ties in binary: where the rounding rule shows.
        _ => (rng.gen_range(-4000..4000) as f64) / 8.0,
    };
    let ty = pick(rng, &["f", "F", "%"]);
    let precision = pick(rng, &["", ".0", ".1", ".2", ".3", ".6", ".12", ".20"]);
    let grouping = pick(rng, &["", "", ",", "_"]);
    let spec = head(rng, true).replace('#', "");
    (format!("{x:?}"), format!("{spec}{grouping}{precision}{ty}"))
}

fn text_case(rng: &mut StdRng) -> (String, String) {
    const LETTERS: &[&str] = &["a", "b", "Z", " ", "ñ", "ü", "名", "-", "7", "é", "x"];
    let len = rng.gen_range(0..12);
    let s: String = (0..len).map(|_| pick(rng, LETTERS)).collect();
    let precision = pick(rng, &["", "", ".0", ".2", ".5"]);
    let ty = pick(rng, &["", "s"]);
    (format!("\"{s}\""), format!("{}{precision}{ty}", head(rng, false)))
}

#[test]
fn format_specs_print_what_python_prints() {
    let cases: usize = std::env::var("FORMAT_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500);
    let mut rng = StdRng::seed_from_u64(0xF17_u64.wrapping_add(cases as u64));
    let mut items = Vec::with_capacity(cases);
    for i in 0..cases {
        items.push(match i % 3 {
            0 => int_case(&mut rng),
            1 => float_case(&mut rng),
            _ => text_case(&mut rng),
        });
    }
    // Each line framed, so padding at either end is compared too.
    let program: String = items.iter().map(|(v, s)| format!("print(\"[{{{v}:{s}}}]\")\n")).collect();
    let (code, out, err) = compile_and_run(&program, "format_referee.fitz").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0, "{err}");
    let script = "import sys, json\nfor v, s in json.loads(sys.stdin.read()):\n    print('[' + format(eval(v), s) + ']')";
    let input = serde_json::to_string(&items).expect("json");
    let expected = python::run_with_stdin(script, &input);
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (out.lines().collect(), expected.lines().collect());
    assert_eq!(ours.len(), items.len(), "one line per case");
    let wrong: Vec<String> =
        items.iter().zip(ours.iter().zip(&theirs)).filter(|(_, (a, b))| a != b).map(|((v, s), (a, b))| format!("{{{v}:{s}}}: fitz {a:?}, python {b:?}")).collect();
    assert!(wrong.is_empty(), "{} of {} differ:\n{}", wrong.len(), items.len(), wrong.iter().take(40).cloned().collect::<Vec<_>>().join("\n"));
}
