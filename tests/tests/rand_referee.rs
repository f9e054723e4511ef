//! `rand.seeded(n)` against a second implementation of upstream's generator (SplitMix64 and
//! the way `int`, `float`, `bool`, `shuffle` and `sample` draw from it), written in Python
//! from upstream's description: the same seed must give the same numbers as upstream does,
//! whatever the seed and the bounds, so stored seeds replay the same games. (Floats are
//! compared as Fitz prints them: shortest digits, written out positionally.)

use fitz_tests::{compile_and_run, python};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const REFEREE: &str = r#"
import sys, json
from decimal import Decimal
M = (1 << 64) - 1
class G:
    def __init__(s, seed): s.st = seed & M
    def nxt(s):
        s.st = (s.st + 0x9E3779B97F4A7C15) & M
        z = s.st
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)
    def int(s, lo, hi):
        v = lo + s.nxt() % (hi - lo + 1)
        return v - (1 << 64) if v >= (1 << 63) else v
    def float(s): return (s.nxt() >> 11) * (1.0 / (1 << 53))
    def bool(s): return s.nxt() & 1 == 1
    def shuffle(s, xs):
        xs = list(xs)
        for i in range(len(xs) - 1, 0, -1):
            j = s.int(0, i)
            xs[i], xs[j] = xs[j], xs[i]
        return xs
    def sample(s, xs, n):
        xs = list(xs)
        for i in range(n):
            j = s.int(i, len(xs) - 1)
            xs[i], xs[j] = xs[j], xs[i]
        return xs[:n]
for seed, ops in json.loads(sys.stdin.read()):
    g = G(seed)
    out = []
    for op in ops:
        if op[0] == "int": out.append(str(g.int(op[1], op[2])))
        elif op[0] == "float": out.append(format(Decimal(repr(g.float())), "f"))
        elif op[0] == "bool": out.append("true" if g.bool() else "false")
        elif op[0] == "shuffle": out.append("[" + ", ".join(map(str, g.shuffle(range(op[1])))) + "]")
        else: out.append("[" + ", ".join(map(str, g.sample(range(op[1]), op[2]))) + "]")
    print(" ".join(out))
"#;

#[test]
fn seeded_generators_draw_what_upstreams_generator_draws() {
    let mut rng = StdRng::seed_from_u64(2026);
    let mut cases = Vec::new();
    for _ in 0..200 {
        let seed: i64 = match rng.gen_range(0..3) {
            0 => rng.gen_range(-1000..1000),
            _ => rng.r#gen(),
        };
        let ops: Vec<serde_json::Value> = (0..rng.gen_range(1..8))
            .map(|_| match rng.gen_range(0..6) {
                0 => {
                    let lo: i64 = rng.gen_range(-100..100);
                    serde_json::json!(["int", lo, lo + rng.gen_range(0..1000)])
                }
                1 => {
                    let lo: i64 = rng.gen_range(i64::MIN / 2..0);
                    serde_json::json!(["int", lo, rng.gen_range(0..i64::MAX)])
                }
                2 => serde_json::json!(["float"]),
                3 => serde_json::json!(["bool"]),
                4 => serde_json::json!(["shuffle", rng.gen_range(0..9)]),
                _ => {
                    let n = rng.gen_range(0..9);
                    serde_json::json!(["sample", n, rng.gen_range(0..=n)])
                }
            })
            .collect();
        cases.push((seed, ops));
    }
    let mut program = String::new();
    for (seed, ops) in &cases {
        let calls: Vec<String> = ops
            .iter()
            .map(|op| match op[0].as_str().expect("op") {
                "int" => format!("g.int({}, {})", op[1], op[2]),
                "float" => "g.float()".to_string(),
                "bool" => "g.bool()".to_string(),
                "shuffle" => format!("g.shuffle([i for i in 0..{}])", op[1]),
                _ => format!("match g.sample([i for i in 0..{}], {}) {{ Ok(xs) => xs, Err(_) => [] }}", op[1], op[2]),
            })
            .collect();
        // A literal for i64::MIN is not writable; every seed here is above it.
        program.push_str(&format!("g = rand.seeded({seed})\nprint({})\n", calls.join(", ")));
    }
    let (code, out, err) = compile_and_run(&program, "rand_referee.fitz").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0, "{err}");
    let expected = python::run_with_stdin(REFEREE, &serde_json::to_string(&cases).expect("json"));
    for (i, (ours, theirs)) in out.lines().zip(expected.lines()).enumerate() {
        assert_eq!(ours, theirs, "case {i}: seed {} ops {:?}", cases[i].0, cases[i].1);
    }
    assert_eq!(out.lines().count(), cases.len());
}
