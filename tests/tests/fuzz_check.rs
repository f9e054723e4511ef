//! Property test: the parser and checker never panic, whatever they are fed: random token
//! soup, and the corpus programs with random cuts, insertions and duplications. Every run
//! also renders the diagnostics (text and JSON), which must not panic either.
//!
//! CI runs a bounded number of cases; a longer run is
//! `PROPTEST_CASES=200000 cargo test --release -p fitz-tests --test fuzz_check`.

use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "fn",
    "async",
    "await",
    "return",
    "let",
    "if",
    "else",
    "for",
    "while",
    "loop",
    "match",
    "type",
    "in",
    "break",
    "continue",
    "true",
    "false",
    "null",
    "and",
    "or",
    "not",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ".",
    "..",
    "..=",
    "@",
    "?",
    "->",
    "=>",
    "|",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "+=",
    "\n",
    ";",
    "\"",
    "\"\"\"",
    "\"a{x}b\"",
    "{",
    "}",
    "'",
    "//",
    "/*",
    "*/",
    "0",
    "1_000",
    "0x1F",
    "3.5",
    "1e9",
    "99999999999999999999",
    "x",
    "User",
    "db",
    "u",
    "Int",
    "Str",
    "List<Int>",
    "Map<Str, Str>",
    "Result<User>",
    "Int?",
    "@get(\"/a/{id}\")",
    "@auth_provider",
    "@admin",
    "@requires(\"r\")",
    "@cron(\"* * * * * *\")",
    "@table(\"t\")",
    "User.where(fn(u) => u.id == 1).first(db).await",
    "jwt.decode(t, s)?",
    "hash.password(p)",
    "return 401 { \"error\": \"x\" }",
    "é",
    "名",
    "\\u{2603}",
    "\\q",
    "!",
    "&&",
    "#",
    "\t",
    "&",
    "^",
    "~",
    "<<",
    ">>",
    "xor",
    "&=",
    "|=",
    "<<=",
    ">>=",
    "x = 1",
    "n: Int = 2",
    "\\x41",
    "\\\"",
    "List<List<Int>>",
    "Map<Str, List<Int>>",
    "[x for x in xs if x > 1]",
    "{k: v for (k, v) in m}",
    "xs[1..]",
    "xs[..=2]",
    "xs[-1]",
    "'outer:",
    "break 'outer",
    "continue 'a",
    "loop { break 1 }",
    "...rest: Int",
    "(1, \"a\")",
    "(x,)",
    "()",
    "t.0.1",
    "let (a, _) = t",
    "(Int, Str)",
    "for (i, (a, b)) in ps",
    "@command(\"c\")",
    "@command(\"c\", desc=\"d\")",
    "fn c(a: Str, n: Int = 1, f: Bool = false, rest: List<Str>) -> Int",
    "-> Int",
    "= -2.5",
];

const NAMES: &[&str] = &[
    "Int", "Float", "Str", "Bool", "Null", "List", "Map", "Result", "DbConn", "Secret", "DateTime", "Uuid", "Future", "Fn", "print", "len", "secret", "env_or", "Ok", "Err",
    "hash", "jwt", "auth", "log", "db", "headers", "user", "User", "x", "_", "where", "first", "all", "insert", "update", "delete", "await",
];

fn corpus() -> Vec<String> {
    let root = fitz_tests::repo_root();
    let mut out = Vec::new();
    for dir in ["tests/cases/check/ok", "tests/cases/check/err"] {
        let mut entries: Vec<_> =
            std::fs::read_dir(root.join(dir)).expect("corpus dir").filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "fitz")).collect();
        entries.sort();
        out.extend(entries.iter().map(|p| std::fs::read_to_string(p).expect("corpus file")));
    }
    out.push(std::fs::read_to_string(fitz_tests::seed_path()).expect("seed"));
    out
}

fn exercise(source: &str) {
    let checked = fitz_compiler::check_source(source);
    let _ = checked.diagnostics.render("fuzz.fitz", source, false);
    let _ = checked.diagnostics.to_json("fuzz.fitz", source);
}

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, fragment: usize },
    Duplicate { at: usize, len: usize, to: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), 0..FRAGMENTS.len()).prop_map(|(at, fragment)| Edit::Insert { at, fragment }),
        (any::<usize>(), 0usize..60, any::<usize>()).prop_map(|(at, len, to)| Edit::Duplicate { at, len, to }),
    ]
}

fn apply(source: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = source.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match *e {
            Edit::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Edit::Insert { at, fragment } => {
                let at = at % (chars.len() + 1);
                let frag: Vec<char> = FRAGMENTS[fragment].chars().collect();
                chars.splice(at..at, frag);
            }
            Edit::Duplicate { at, len, to } => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                let piece: Vec<char> = chars.get(at..end).map(<[char]>::to_vec).unwrap_or_default();
                let to = to % (chars.len() + 1);
                chars.splice(to..to, piece);
            }
        }
    }
    chars.into_iter().collect()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(600)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_corpus_never_panics(index in any::<usize>(), edits in prop::collection::vec(edit(), 1..8)) {
        let corpus = corpus();
        let source = apply(&corpus[index % corpus.len()], &edits);
        exercise(&source);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec((0..FRAGMENTS.len(), 0u8..3), 0..120)) {
        let mut source = String::new();
        for (t, sep) in tokens {
            source.push_str(FRAGMENTS[t]);
            source.push_str(match sep { 0 => " ", 1 => "\n", _ => "" });
        }
        exercise(&source);
    }

    /// Swapping names keeps most programs parseable, so this mostly exercises the checker.
    #[test]
    fn renamed_identifiers_never_panic(index in any::<usize>(), swaps in prop::collection::vec((any::<usize>(), any::<usize>()), 1..6)) {
        let corpus = corpus();
        let source = &corpus[index % corpus.len()];
        let (tokens, _) = fitz_compiler::syntax::lexer::lex(source);
        let idents: Vec<(usize, usize)> = tokens
            .iter()
            .filter(|(_, t, _)| matches!(t, fitz_compiler::syntax::token::Token::Ident(_)))
            .map(|(l, _, r)| (*l as usize, *r as usize))
            .collect();
        if idents.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = idents.iter().map(|(l, r)| &source[*l..*r]).chain(NAMES.iter().copied()).collect();
        let mut replaced: Vec<(usize, usize, &str)> =
            swaps.iter().map(|(a, b)| { let (l, r) = idents[a % idents.len()]; (l, r, names[b % names.len()]) }).collect();
        replaced.sort_by_key(|(l, _, _)| std::cmp::Reverse(*l));
        replaced.dedup_by_key(|(l, _, _)| *l);
        let mut out = source.clone();
        for (l, r, name) in replaced {
            out.replace_range(l..r, name);
        }
        exercise(&out);
    }

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,200}") {
        exercise(&source);
    }
}
