//! Property test: parse → print → parse gives the same tree (spans aside), printing again
//! gives the same text, and the checker never panics on either. The programs are written by a
//! generator that knows the whole syntax (tuples, comprehensions, slices, labelled loops, match
//! ranges, guards and or-patterns, format specs, default, named and variadic parameters, bit
//! operators, methods and `static fn`, decorators with `key=value`, `@command`), and every
//! program of the repository's corpus is round-tripped as it is.
//!
//! CI runs 10,000 generated programs; a longer run is
//! `PROPTEST_CASES=200000 cargo test --release -p fitz-tests --test print_roundtrip`.

use fitz_compiler::syntax::{parse_module, print};
use proptest::prelude::*;

/// The tree's debug form without its spans.
fn shape(source: &str) -> Result<String, String> {
    fitz_tests::tree_shape(source)
}

/// Parses, prints and parses again; `Ok(false)` when the source does not parse at all.
fn round_trip(source: &str) -> Result<bool, String> {
    let Ok(before) = shape(source) else { return Ok(false) };
    let (module, _) = parse_module(source);
    let printed = print::module(&module);
    let after = shape(&printed).map_err(|e| format!("the printed program does not parse: {e}\n--- source\n{source}\n--- printed\n{printed}"))?;
    if before != after {
        let at = before.bytes().zip(after.bytes()).take_while(|(a, b)| a == b).count();
        let window = |s: &str| s.get(at.saturating_sub(300)..(at + 300).min(s.len())).unwrap_or("").to_string();
        return Err(format!(
            "the printed program parses differently\n--- source\n{source}\n--- printed\n{printed}\n--- before (near the difference)\n{}\n--- after\n{}",
            window(&before),
            window(&after)
        ));
    }
    let (again, _) = parse_module(&printed);
    let twice = print::module(&again);
    if twice != printed {
        return Err(format!("printing is not stable\n--- first\n{printed}\n--- second\n{twice}"));
    }
    let _ = fitz_compiler::check_source(source);
    let _ = fitz_compiler::check_source(&printed);
    Ok(true)
}

#[test]
fn every_corpus_program_round_trips() {
    let root = fitz_tests::repo_root();
    let mut files = Vec::new();
    let mut dirs = vec![root.join("tests/cases"), root.join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "fitz") {
                files.push(path);
            }
        }
    }
    files.push(fitz_tests::seed_path());
    files.sort();
    let mut parsed = 0;
    let mut failures = Vec::new();
    for path in &files {
        let source = std::fs::read_to_string(path).expect("corpus file");
        match round_trip(&source) {
            Ok(true) => parsed += 1,
            Ok(false) => {}
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{} programs:\n{}", failures.len(), failures.join("\n\n"));
    assert!(parsed >= 150, "only {parsed} of {} corpus programs parse", files.len());
}

/// A small deterministic generator of programs, driven by a seed.
struct Gen {
    state: u64,
    out: String,
}

const NAMES: &[&str] = &["x", "y", "n", "xs", "m", "t", "user", "total", "café", "_tmp"];
const METHODS: &[&str] = &["len", "map", "filter", "sort", "upper", "get", "push", "reduce", "zip", "enumerate"];
const BINOPS: &[&str] = &["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "and", "or", "xor", "&", "|", "^", "<<", ">>"];
const ASSIGN: &[&str] = &["=", "+=", "-=", "*=", "/=", "&=", "|=", "^=", "<<=", ">>="];
const SPECS: &[&str] = &[":.2f", ":>8", ":,", ":#x", ":.2e", ":.1%", ":*^10", ":05d", ":+", ":_"];
const TYPES: &[&str] = &["Int", "Float", "Str", "Bool", "List<Int>", "Map<Str, Int>", "(Int, Str)", "Int?", "List<List<Int>>", "Fn(Int) -> Int", "Result<Int>", "(Int,)"];
const TEXT: &[&str] = &["hi", "a b", "tab\\t", "quote \\\"q\\\"", "brace \\{x\\}", "\\u{1F600}", "\\x41", "back\\\\slash", "ñandú", ""];

impl Gen {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn name(&mut self) -> String {
        self.pick(NAMES).to_string()
    }

    fn string(&mut self, d: u32) -> String {
        let mut s = String::from("\"");
        for _ in 0..self.below(3) {
            if d > 0 && self.below(2) == 0 {
                let e = self.expr(d - 1);
                let spec = if self.below(3) == 0 { self.pick(SPECS) } else { "" };
                s.push_str(&format!("{{{e}{spec}}}"));
            } else {
                s.push_str(self.pick(TEXT));
            }
        }
        s.push('"');
        s
    }

    fn list(&mut self, d: u32, max: usize) -> Vec<String> {
        (0..self.below(max + 1)).map(|_| self.expr(d)).collect()
    }

    /// An expression that is safe anywhere, `if` heads included.
    fn head(&mut self, d: u32) -> String {
        let e = self.expr(d);
        if e.starts_with('{') || e.contains(" { ") || e.starts_with("fn") || e.starts_with("async") { format!("({e})") } else { e }
    }

    fn pattern(&mut self, d: u32) -> String {
        match self.below(if d == 0 { 6 } else { 10 }) {
            0 => "_".into(),
            1 => self.name(),
            2 => format!("{}", self.below(100) as i64 - 20),
            3 => format!("{}..{}", self.below(10), 10 + self.below(10)),
            4 => format!("\"{}\"", self.pick(TEXT)),
            5 => self.pick(&["true", "false", "null", "2.5", "-1.5"]).to_string(),
            6 => format!("Ok({})", self.pattern(d - 1)),
            7 => format!("Err({})", self.pattern(d - 1)),
            8 => {
                let items: Vec<String> = (0..1 + self.below(3)).map(|_| self.pattern(d - 1)).collect();
                format!("({})", items.join(", "))
            }
            _ => format!("{} | {}", self.below(5), self.below(5) + 5),
        }
    }

    fn expr(&mut self, d: u32) -> String {
        let leaf = d == 0;
        match self.below(if leaf { 7 } else { 34 }) {
            0 => format!("{}", self.below(1_000_000)),
            1 => self.pick(&["2.5", "0.001", "1e9", "1_000", "0xFF", "0b101", "0o17", "1.5e-7"]).to_string(),
            2 => self.pick(&["true", "false", "null"]).to_string(),
            3 => self.string(0),
            4..=6 => self.name(),
            7 | 8 => {
                let op = self.pick(BINOPS);
                format!("{} {op} {}", self.expr(d - 1), self.expr(d - 1))
            }
            9 => format!("{}{}", self.pick(&["-", "not ", "~"]), self.atom(d - 1)),
            10 => {
                let args = self.list(d - 1, 3).join(", ");
                format!("{}({args})", self.name())
            }
            11 => {
                let args = self.list(d - 1, 2).join(", ");
                let m = self.pick(METHODS);
                format!("{}.{m}({args})", self.atom(d - 1))
            }
            12 => format!("{}.{}", self.atom(d - 1), self.pick(&["name", "id", "0", "1", "await"])),
            13 => format!("{}[{}]", self.atom(d - 1), self.expr(d - 1)),
            14 => {
                let (a, b) = (self.atom(d - 1), self.atom(d - 1));
                let s = self.pick(&["{a}..{b}", "{a}..", "..{b}", "..={b}", "..", "-1..", "{a}..={b}"]).replace("{a}", &a).replace("{b}", &b);
                format!("{}[{s}]", self.atom(d - 1))
            }
            15 => format!("{}?", self.atom(d - 1)),
            16 => format!("[{}]", self.list(d - 1, 3).join(", ")),
            17 => match self.below(3) {
                0 => "()".into(),
                1 => format!("({},)", self.expr(d - 1)),
                _ => format!("({}, {})", self.expr(d - 1), self.expr(d - 1)),
            },
            18 => {
                let entries: Vec<String> = (0..self.below(3)).map(|_| format!("{}: {}", self.string(0), self.expr(d - 1))).collect();
                format!("{{{}}}", entries.join(", "))
            }
            19 => format!("User {{ name: {}, id: {} }}", self.expr(d - 1), self.expr(d - 1)),
            20 => {
                let guard = if self.below(2) == 0 { format!(" if {}", self.head(d - 1)) } else { String::new() };
                format!("[{} for {} in {}{guard}]", self.expr(d - 1), self.pick(&["x", "(k, v)", "(i, (a, _))"]), self.head(d - 1))
            }
            21 => format!("{{{}: {} for (k, v) in {}}}", self.expr(d - 1), self.expr(d - 1), self.head(d - 1)),
            22 => format!("(fn({}) => {})", self.params(d - 1), self.expr(d - 1)),
            23 => {
                let body = self.block(d - 1);
                format!("(async fn(x: Int) -> Int {body})")
            }
            24 => {
                let mut s = format!("if {} {}", self.head(d - 1), self.block(d - 1));
                if self.below(2) == 0 {
                    s.push_str(&format!(" else if {} {}", self.head(d - 1), self.block(d - 1)));
                }
                if self.below(2) == 0 {
                    s.push_str(&format!(" else {}", self.block(d - 1)));
                }
                s
            }
            25 | 26 => {
                let mut s = format!("match {} {{\n", self.head(d - 1));
                for _ in 0..1 + self.below(3) {
                    let guard = if self.below(3) == 0 { format!(" if {}", self.expr(d - 1)) } else { String::new() };
                    let body = match self.below(4) {
                        0 => self.block(d - 1),
                        1 => self.pick(&["return", "return 1", "break", "continue"]).to_string(),
                        _ => {
                            let e = self.expr(d - 1);
                            if e.starts_with('{') { format!("({e})") } else { e }
                        }
                    };
                    s.push_str(&format!("{}{guard} => {body}\n", self.pattern(2)));
                }
                s.push('}');
                s
            }
            27 => format!("{}..{}", self.atom(d - 1), self.atom(d - 1)),
            28 => format!("'outer: loop {{\nbreak 'outer {}\n}}", self.expr(d - 1)),
            29 => format!("{}.await", self.atom(d - 1)),
            30 => self.string(d),
            31 => format!("({})", self.expr(d - 1)),
            32 => format!("t.{}.{}", self.below(3), self.below(3)),
            _ => format!("{}(x: {}, {})", self.name(), self.expr(d - 1), self.expr(d - 1)),
        }
    }

    fn atom(&mut self, d: u32) -> String {
        format!("({})", self.expr(d))
    }

    fn params(&mut self, d: u32) -> String {
        let mut ps = Vec::new();
        for i in 0..self.below(4) {
            let ty = self.pick(TYPES);
            ps.push(match self.below(3) {
                0 => format!("p{i}: {ty}"),
                1 => format!("p{i}: {ty} = {}", self.expr(d)),
                _ => format!("p{i}"),
            });
        }
        if self.below(4) == 0 {
            ps.push(format!("...rest: {}", self.pick(TYPES)));
        }
        ps.join(", ")
    }

    fn block(&mut self, d: u32) -> String {
        let mut s = String::from("{\n");
        for _ in 0..self.below(3) {
            let st = self.stmt(d);
            s.push_str(&st);
            s.push('\n');
        }
        s.push('}');
        s
    }

    fn stmt(&mut self, d: u32) -> String {
        match self.below(if d == 0 { 5 } else { 14 }) {
            0 => format!("let {} = {}", self.name(), self.expr(d)),
            1 => format!("let {}: {} = {}", self.name(), self.pick(TYPES), self.expr(d)),
            2 => format!("{}: {} = {}", self.name(), self.pick(TYPES), self.expr(d)),
            3 => format!("{} {} {}", self.name(), self.pick(ASSIGN), self.expr(d)),
            4 => format!("print({})", self.expr(d)),
            5 => format!("let ({}, {}) = {}", self.pattern(1), self.name(), self.expr(d - 1)),
            6 => format!("{}[{}] = {}", self.name(), self.expr(d - 1), self.expr(d - 1)),
            7 => format!("{}while {} {}", self.label(), self.head(d - 1), self.block(d - 1)),
            8 => format!("{}for {} in {} {}", self.label(), self.pick(&["x", "(k, v)", "(i, (a, b))", "_"]), self.head(d - 1), self.block(d - 1)),
            9 => self.pick(&["break", "continue", "break 'outer", "continue 'outer", "return", "return 401 { \"error\": \"no\" }"]).to_string(),
            10 => format!("return {}", self.expr(d - 1)),
            11 => format!("x.{} = {}", self.pick(&["name", "id"]), self.expr(d - 1)),
            12 if self.below(2) == 0 => format!("fn inner(a: Int, b = 2) -> Int => {}", self.expr(d - 1)),
            _ => self.expr(d),
        }
    }

    fn label(&mut self) -> &'static str {
        if self.below(3) == 0 { "'outer: " } else { "" }
    }

    fn decorators(&mut self) -> String {
        let mut s = String::new();
        for _ in 0..self.below(3) {
            s.push_str(self.pick(&[
                "@get(\"/users/{id}\")",
                "@authenticated",
                "@requires(\"admin\")",
                "@command(\"go\", desc=\"Go somewhere\")",
                "@server(port=8080, host=\"0.0.0.0\")",
                "@cron(\"0 * * * *\")",
                "@admin()",
            ]));
            s.push('\n');
        }
        s
    }

    fn item(&mut self, d: u32) -> String {
        match self.below(5) {
            0 | 1 => {
                let decorators = self.decorators();
                let head = format!("{}{}fn f{}({}) -> {}", decorators, if self.below(4) == 0 { "async " } else { "" }, self.below(9), self.params(1), self.pick(TYPES));
                if self.below(3) == 0 {
                    let e = self.expr(d);
                    if e.starts_with('{') { format!("{head} => ({e})") } else { format!("{head} => {e}") }
                } else {
                    format!("{head} {}", self.block(d))
                }
            }
            2 => {
                let mut s = format!("{}type T{} {{\n", if self.below(3) == 0 { "@table(\"things\")\n" } else { "" }, self.below(9));
                for i in 0..self.below(3) {
                    let default = if self.below(2) == 0 { format!(" = {}", self.expr(0)) } else { String::new() };
                    let deco = if self.below(4) == 0 { "@primary " } else { "" };
                    s.push_str(&format!("{deco}_f{i}: {}{default}\n", self.pick(TYPES)));
                }
                for i in 0..self.below(3) {
                    let st = if self.below(2) == 0 { "static " } else { "" };
                    s.push_str(&format!("{st}fn m{i}({}) -> Int {}\n", self.params(0), self.block(d.saturating_sub(1))));
                }
                s.push('}');
                s
            }
            _ => self.stmt(d),
        }
    }

    fn program(mut self) -> String {
        for _ in 0..1 + self.below(5) {
            let depth = 1 + self.below(3) as u32;
            let item = self.item(depth);
            self.out.push_str(&item);
            self.out.push('\n');
        }
        self.out
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

#[test]
fn generated_programs_round_trip() {
    let mut parsed = 0u32;
    let total = cases();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: total, failure_persistence: None, ..ProptestConfig::default() });
    let count = std::cell::Cell::new(0u32);
    runner
        .run(&any::<u64>(), |seed| {
            let program = Gen { state: seed, out: String::new() }.program();
            match round_trip(&program) {
                Ok(ok) => {
                    count.set(count.get() + u32::from(ok));
                    Ok(())
                }
                Err(e) => Err(TestCaseError::fail(e)),
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    parsed += count.get();
    // The generator writes valid syntax; if most of its programs stopped parsing, this test
    // would pass without testing anything.
    assert!(parsed * 10 >= total * 9, "only {parsed} of {total} generated programs parse");
}
