//! A large, valid Fitz program for benchmarks: `units` copies of a block that uses records,
//! loops, lambdas, maps, matches, interpolation, routes and ORM chains, and upstream's newer
//! syntax: methods and `static fn` in a type, default and variadic parameters, tuples and their
//! patterns, comprehensions, slices and negative indexes, labelled loops, format specs and
//! built-in methods written in Fitz (about 45 lines each).

pub fn program(units: usize) -> String {
    let mut s = String::from(
        "type User { id: Int, email: Str, role: Str }\n\
         @auth_provider\n\
         fn check(headers: Map<Str, Str>) -> Result<User> => Err(\"no\")\n\n",
    );
    for i in 0..units {
        s.push_str(&format!(
            r#"type Rec{i} {{ id: Int, name: Str, score: Float, note: Str?, active: Bool }}

fn helper{i}(x: Int, label: Str) -> Str {{
    let total = 0
    for k in 0..x {{
        if k % 2 == 0 {{ total += k }} else {{ total -= 1 }}
    }}
    let items = [1, 2, 3].map(fn(v) => v * x).filter(fn(v) => v > 2)
    let m = {{ "a": x, "b": total }}
    return match total {{
        0 => "zero {{label}}"
        n if n > 100 => "big {{n}}"
        _ => "{{label}}-{{items.len()}}-{{m["a"]}}"
    }}
}}

@requires("editor") @get("/rec{i}/{{id}}")
async fn get_rec{i}(db: DbConn, id: Int, user: User) -> Rec{i} {{
    let r = Rec{i}.where(fn(r) => r.id == id and r.active and r.name.starts_with(user.email)).first(db).await?
    if r.score > 10.5 {{
        return 404 {{ "error": helper{i}(id, r.name) }}
    }}
    return r
}}

type Meter{i} {{
    count: Int = 0
    fn bump(by: Int = 1) {{ self.count = self.count + by }}
    static fn named(n: Int) -> Meter{i} => Meter{i} {{ count: n }}
}}

fn stats{i}(xs: List<Int>, scale: Int = 2, ...extra: Int) -> (Int, Str) {{
    let (lo, hi) = (xs[0], xs[-1])
    let squares = [v * scale for v in xs[1..] if v % 2 == 1]
    let names = {{ "k{{j}}": j for j in 0..3 }}
    let total = xs.sum() + extra.len() + squares.len() + names.len()
    'outer: for a in 0..3 {{
        for b in 0..3 {{
            if a * b > total {{ break 'outer }}
        }}
    }}
    let label = "[{{total:>8}}] {{hi - lo:05d}} {{total / 3.0:.2f}}"
    let when = Date.from_ymd(2024, 1 + lo % 12, 1)
    return (total, label.pad_start(20, "*"))
}}

"#
        ));
    }
    s
}
