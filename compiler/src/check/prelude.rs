//! Methods of the built-in types written in Fitz: the rest of upstream's `List`, `Map`, `Str`
//! and range methods (`reduce`, `sort_by`, `enumerate`, `pad_start`, `merge`, …).
//!
//! Each is a signature, checked like any built-in's, and a body of Fitz statements that sees
//! the receiver and the arguments under their parameter names. The call becomes that body,
//! checked in place with the argument types known, so it is compiled like the user's own
//! loops. Bodies declare every variable with `let` (never by assignment, which could reach a
//! global of the same name), and their spans are the call's (`syntax::parse_template`).
//! Names starting with `__` are primitives only bodies may call (`__index_of`, `__fail`, …).

use super::Checker;
use super::builtins::BParam;
use super::problem::{Expectation, Problem};
use crate::ast;
use crate::span::Span;
use crate::tast::{TBlock, TExpr, TExprKind, TStmt};
use crate::types::Type;

/// What a method needs of its receiver's item (or key, or value) type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// `<` between two of them: `Int`, `Float` or `Str`.
    Order,
    /// A number: `Int` or `Float`.
    Number,
    /// A map key: `Int`, `Float`, `Str` or `Bool`.
    Key,
    /// `==` between two of them.
    Equality,
}

/// A method written in Fitz: parameters after the receiver (named `recv` in the body), the
/// result type, what the checked type must allow, and the body.
pub struct Template {
    pub params: Vec<BParam>,
    pub ret: Type,
    pub needs: Needs,
    /// The type `needs` applies to.
    pub subject: Type,
    pub body: &'static str,
}

pub(super) fn p(name: &str, ty: Type) -> BParam {
    BParam { name: name.to_string(), ty, default: None, variadic: false }
}

fn pair(a: Type, b: Type) -> Type {
    Type::Tuple(vec![a, b])
}

/// A `Result` with any Err as one whose Err is that Err's text.
pub fn try_as_text(result: Type, ok: Type) -> Template {
    Template { params: vec![p("r", result)], ret: Type::result(ok), needs: Needs::Nothing, subject: Type::Null, body: TRY_AS_TEXT }
}

impl Checker {
    /// The template for `method` on a receiver of type `ty`, if there is one.
    pub fn template(&mut self, ty: &Type, method: &str) -> Option<Template> {
        let t = |ret: Type, params: Vec<BParam>, body: &'static str| Template { params, ret, needs: Needs::Nothing, subject: Type::Null, body };
        let needs = |mut tpl: Template, needs: Needs, subject: Type| {
            tpl.needs = needs;
            tpl.subject = subject;
            tpl
        };
        let pred = |x: &Type| Type::Fn(vec![x.clone()], Box::new(Type::Bool));
        if matches!(ty, Type::DbConn) {
            if method != "transaction" {
                return None;
            }
            // `db.transaction(async fn(tx) -> Result<T> { … })`: upstream's.
            let x = self.unifier.fresh();
            let f = Type::Fn(vec![Type::DbConn], Box::new(Type::future(Type::result(x.clone()))));
            return Some(t(Type::future(Type::result(x)), vec![p("f", f)], TRANSACTION));
        }
        let item = match ty {
            Type::List(x) => Some((**x).clone()),
            Type::Range => Some(Type::Int),
            _ => None,
        };
        // Ranges share a few of the list methods (their items are `Int`s, read in order).
        if matches!(ty, Type::Range) && !matches!(method, "enumerate" | "zip" | "chain" | "len" | "step_by" | "to_list") {
            return None;
        }
        if let Some(x) = &item {
            let x = x.clone();
            let list = Type::list(x.clone());
            let tpl = match method {
                "count" => t(Type::Int, vec![p("f", pred(&x))], COUNT),
                "find_index" => t(Type::result(Type::Int), vec![p("f", pred(&x))], FIND_INDEX),
                "reduce" => {
                    let acc = self.unifier.fresh();
                    let f = Type::Fn(vec![acc.clone(), x.clone()], Box::new(acc.clone()));
                    t(acc.clone(), vec![p("init", acc), p("f", f)], REDUCE)
                }
                "flat_map" => {
                    let u = self.unifier.fresh();
                    t(Type::list(u.clone()), vec![p("f", Type::Fn(vec![x.clone()], Box::new(Type::list(u))))], FLAT_MAP)
                }
                "enumerate" => t(Type::list(pair(Type::Int, x.clone())), vec![], ENUMERATE),
                "zip" => {
                    let u = self.unifier.fresh();
                    t(Type::list(pair(x.clone(), u.clone())), vec![p("other", Type::list(u))], ZIP)
                }
                "chain" => t(list.clone(), vec![p("other", list.clone())], CHAIN),
                "partition" => t(pair(list.clone(), list.clone()), vec![p("f", pred(&x))], PARTITION),
                "min" => needs(t(Type::result(x.clone()), vec![], MIN), Needs::Order, x.clone()),
                "max" => needs(t(Type::result(x.clone()), vec![], MAX), Needs::Order, x.clone()),
                "sum" | "product" => {
                    let body = match (method, &x) {
                        ("sum", Type::Float) => SUM_FLOAT,
                        ("sum", _) => SUM_INT,
                        (_, Type::Float) => PRODUCT_FLOAT,
                        _ => PRODUCT_INT,
                    };
                    needs(t(x.clone(), vec![], body), Needs::Number, x.clone())
                }
                "unique" => needs(t(list.clone(), vec![], UNIQUE), Needs::Equality, x.clone()),
                "to_map" => match &x {
                    Type::Tuple(kv) if kv.len() == 2 => needs(t(Type::map(kv[0].clone(), kv[1].clone()), vec![], TO_MAP), Needs::Key, kv[0].clone()),
                    _ => return None,
                },
                "zip_to_map" => {
                    let v = self.unifier.fresh();
                    needs(t(Type::map(x.clone(), v.clone()), vec![p("values", Type::list(v))], ZIP_TO_MAP), Needs::Key, x.clone())
                }
                _ => match (ty, method) {
                    (Type::Range, "len") => t(Type::Int, vec![], RANGE_LEN),
                    (Type::Range, "step_by") => t(list.clone(), vec![p("step", Type::Int)], RANGE_STEP_BY),
                    (Type::Range, "to_list") => t(list.clone(), vec![], CHAIN_ONE),
                    (Type::List(_), "sort") => needs(t(Type::Null, vec![], SORT), Needs::Order, x.clone()),
                    (Type::List(_), "sort_by") => {
                        let cmp = Type::Fn(vec![x.clone(), x.clone()], Box::new(Type::Int));
                        t(Type::Null, vec![p("cmp", cmp)], SORT_BY)
                    }
                    (Type::List(_), "reverse") => t(Type::Null, vec![], REVERSE),
                    (Type::List(_), "pop") => t(Type::result(x.clone()), vec![], POP),
                    (Type::List(_), "is_empty") => t(Type::Bool, vec![], IS_EMPTY),
                    (Type::List(_), "flatten") => match &x {
                        Type::List(inner) => t(Type::list((**inner).clone()), vec![], FLATTEN),
                        _ => return None,
                    },
                    (Type::List(_), "starts_with") => needs(t(Type::Bool, vec![p("prefix", list.clone())], LIST_STARTS_WITH), Needs::Equality, x.clone()),
                    (Type::List(_), "ends_with") => needs(t(Type::Bool, vec![p("suffix", list.clone())], LIST_ENDS_WITH), Needs::Equality, x.clone()),
                    (Type::List(_), "insert_at") => t(list.clone(), vec![p("index", Type::Int), p("item", x.clone())], INSERT_AT),
                    (Type::List(_), "remove_at") => t(list.clone(), vec![p("index", Type::Int)], REMOVE_AT),
                    (Type::List(_), "index_of") => needs(t(Type::result(Type::Int), vec![p("item", x.clone())], LIST_INDEX_OF), Needs::Equality, x.clone()),
                    (Type::List(_), "split_at") => t(pair(list.clone(), list.clone()), vec![p("index", Type::Int)], LIST_SPLIT_AT),
                    (Type::List(_), "group_by") => {
                        let k = self.unifier.fresh();
                        needs(t(Type::map(k.clone(), list.clone()), vec![p("f", Type::Fn(vec![x.clone()], Box::new(k.clone())))], GROUP_BY), Needs::Key, k)
                    }
                    (Type::List(_), "zip_with") => {
                        let (u, v) = (self.unifier.fresh(), self.unifier.fresh());
                        let f = Type::Fn(vec![x.clone(), u.clone()], Box::new(v.clone()));
                        t(Type::list(v), vec![p("other", Type::list(u)), p("f", f)], ZIP_WITH)
                    }
                    (Type::List(_), "max_by") | (Type::List(_), "min_by") => {
                        let key = self.unifier.fresh();
                        let body = if method == "max_by" { MAX_BY } else { MIN_BY };
                        needs(t(Type::result(x.clone()), vec![p("f", Type::Fn(vec![x.clone()], Box::new(key.clone())))], body), Needs::Order, key)
                    }
                    (Type::List(_), "scan") => {
                        let acc = self.unifier.fresh();
                        let f = Type::Fn(vec![acc.clone(), x.clone()], Box::new(acc.clone()));
                        t(Type::list(acc.clone()), vec![p("init", acc), p("f", f)], SCAN)
                    }
                    (Type::List(_), "windows") => t(Type::list(list.clone()), vec![p("n", Type::Int)], WINDOWS),
                    (Type::List(_), "take") => t(list.clone(), vec![p("n", Type::Int)], TAKE),
                    (Type::List(_), "drop") => t(list.clone(), vec![p("n", Type::Int)], DROP),
                    (Type::List(_), "init") => t(list.clone(), vec![], INIT),
                    (Type::List(_), "tail") => t(list.clone(), vec![], TAIL),
                    (Type::List(_), "intersperse") => t(list.clone(), vec![p("separator", x.clone())], INTERSPERSE),
                    (Type::List(_), "cycle") => t(list.clone(), vec![p("n", Type::Int)], CYCLE),
                    _ => return None,
                },
            };
            return Some(tpl);
        }
        match ty {
            Type::Map(k, v) => {
                let (k, v) = ((**k).clone(), (**v).clone());
                let map = ty.clone();
                Some(match method {
                    "filter" => t(map, vec![p("f", Type::Fn(vec![k, v], Box::new(Type::Bool)))], MAP_FILTER),
                    "map_values" => {
                        let u = self.unifier.fresh();
                        t(Type::map(k, u.clone()), vec![p("f", Type::Fn(vec![v], Box::new(u)))], MAP_MAP_VALUES)
                    }
                    "merge" => t(map.clone(), vec![p("other", map)], MAP_MERGE),
                    "update" => t(map, vec![p("key", k), p("f", Type::Fn(vec![v.clone()], Box::new(v)))], MAP_UPDATE),
                    "keys_sorted" => needs(t(Type::list(k.clone()), vec![], MAP_KEYS_SORTED), Needs::Order, k),
                    "entries" => t(Type::list(pair(k, v)), vec![], MAP_ENTRIES),
                    "invert" => needs(t(Type::map(v.clone(), k), vec![], MAP_INVERT), Needs::Key, v),
                    "is_empty" => t(Type::Bool, vec![], IS_EMPTY),
                    "has_value" => needs(t(Type::Bool, vec![p("value", v.clone())], MAP_HAS_VALUE), Needs::Equality, v),
                    "merge_with" => {
                        let f = Type::Fn(vec![v.clone(), v.clone()], Box::new(v.clone()));
                        t(map.clone(), vec![p("other", map), p("f", f)], MAP_MERGE_WITH)
                    }
                    "with" => t(map, vec![p("key", k), p("value", v)], MAP_WITH),
                    _ => return None,
                })
            }
            Type::RandGen => {
                let x = self.unifier.fresh();
                let list = Type::list(x.clone());
                Some(match method {
                    "int" => t(Type::Int, vec![p("min", Type::Int), p("max", Type::Int)], RAND_INT),
                    "float" => t(Type::Float, vec![], RAND_FLOAT),
                    "bool" => t(Type::Bool, vec![], RAND_BOOL),
                    "choice" => t(Type::result(x), vec![p("items", list)], RAND_CHOICE),
                    "shuffle" => t(list.clone(), vec![p("items", list)], RAND_SHUFFLE),
                    "sample" => t(Type::result(list.clone()), vec![p("items", list), p("n", Type::Int)], RAND_SAMPLE),
                    _ => return None,
                })
            }
            // Taking a value out of an `Any` is a coercion, checked when it runs.
            Type::Any => Some(match method {
                "as_int" => t(Type::Int, vec![], "recv"),
                "as_float" => t(Type::Float, vec![], "recv"),
                "as_str" => t(Type::Str, vec![], "recv"),
                "as_bool" => t(Type::Bool, vec![], "recv"),
                "is_null" => t(Type::Bool, vec![], "recv == null"),
                _ => return None,
            }),
            Type::Int => Some(match method {
                "abs" => t(Type::Int, vec![], ABS_RECV),
                "to_str" => t(Type::Str, vec![], TO_STR),
                "to_str_base" => t(Type::Str, vec![p("base", Type::Int)], TO_STR_BASE),
                _ => return None,
            }),
            Type::Float => Some(match method {
                "abs" => t(Type::Float, vec![], ABS_RECV),
                "to_str" => t(Type::Str, vec![], TO_STR),
                "is_nan" => t(Type::Bool, vec![], IS_NAN),
                "is_finite" => t(Type::Bool, vec![], IS_FINITE),
                _ => return None,
            }),
            Type::Str => Some(match method {
                "repeat" => t(Type::Str, vec![p("n", Type::Int)], STR_REPEAT),
                "trim_start" => t(Type::Str, vec![], STR_TRIM_START),
                "trim_end" => t(Type::Str, vec![], STR_TRIM_END),
                "find" | "index_of" => t(Type::result(Type::Int), vec![p("part", Type::Str)], STR_FIND),
                "last_index_of" => t(Type::result(Type::Int), vec![p("part", Type::Str)], STR_LAST_INDEX_OF),
                "pad_start" => t(Type::Str, vec![p("width", Type::Int), p("fill", Type::Str)], STR_PAD_START),
                "pad_end" => t(Type::Str, vec![p("width", Type::Int), p("fill", Type::Str)], STR_PAD_END),
                "center" => t(Type::Str, vec![p("width", Type::Int), p("fill", Type::Str)], STR_CENTER),
                "left" => t(Type::Str, vec![p("n", Type::Int)], STR_LEFT),
                "right" => t(Type::Str, vec![p("n", Type::Int)], STR_RIGHT),
                "split_at" => t(pair(Type::Str, Type::Str), vec![p("index", Type::Int)], STR_SPLIT_AT),
                "reverse" => t(Type::Str, vec![], STR_REVERSE),
                "count" => t(Type::Int, vec![p("part", Type::Str)], STR_COUNT),
                "__localize" if self.templates > 0 => t(Type::Str, vec![p("locale", Type::Str)], STR_LOCALIZE),
                "lines" => t(Type::list(Type::Str), vec![], STR_LINES),
                "to_int" => t(Type::result(Type::Int), vec![], STR_TO_INT),
                "repeat_with" => t(Type::Str, vec![p("n", Type::Int), p("separator", Type::Str)], STR_REPEAT_WITH),
                "swap_case" => t(Type::Str, vec![], STR_SWAP_CASE),
                "title" => t(Type::Str, vec![], STR_TITLE),
                "is_alpha" => t(Type::Bool, vec![], STR_IS_ALPHA),
                "is_digit" => t(Type::Bool, vec![], STR_IS_DIGIT),
                "is_numeric" => t(Type::Bool, vec![], STR_IS_NUMERIC),
                _ => return None,
            }),
            Type::Date | Type::DateTime => self.date_template(ty, method),
            _ => None,
        }
    }

    /// The template for a global function (`abs`, `min`, `max`, `clamp`), if there is one.
    pub fn fn_template(&mut self, name: &str) -> Option<Template> {
        if name == "divmod" {
            // `q * b + r == a` with `r` what `%` gives (never negative); division by zero
            // fails as `%` does.
            let params = vec![p("a", Type::Int), p("b", Type::Int)];
            let ret = Type::Tuple(vec![Type::Int, Type::Int]);
            return Some(Template { params, ret, needs: Needs::Nothing, subject: Type::Null, body: "let r = a % b\n((a - r) / b, r)" });
        }
        if name == "assert" {
            let message = BParam { name: "message".into(), ty: Type::Str, default: Some(TExprKind::Str(String::new())), variadic: false };
            return Some(Template { params: vec![p("condition", Type::Bool), message], ret: Type::Null, needs: Needs::Nothing, subject: Type::Null, body: ASSERT });
        }
        if name == "assert_eq" {
            let x = self.unifier.fresh();
            return Some(Template { params: vec![p("left", x.clone()), p("right", x.clone())], ret: Type::Null, needs: Needs::Equality, subject: x, body: ASSERT_EQ });
        }
        let x = self.unifier.fresh();
        let (params, body, needs): (Vec<&str>, &'static str, Needs) = match name {
            "abs" => (vec!["x"], ABS, Needs::Number),
            "min" => (vec!["a", "b"], MIN_OF, Needs::Order),
            "max" => (vec!["a", "b"], MAX_OF, Needs::Order),
            "clamp" => (vec!["x", "lo", "hi"], CLAMP, Needs::Order),
            _ => return None,
        };
        let params = params.into_iter().map(|n| p(n, x.clone())).collect();
        Some(Template { params, ret: x.clone(), needs, subject: x, body })
    }

    /// The template for a module function (`rand.int`, `num.format`, …), if there is one.
    pub fn module_template(&mut self, module: &str, name: &str) -> Option<Template> {
        if module == "Date" || module == "DateTime" {
            return self.date_module_template(module, name);
        }
        let t = |ret: Type, params: Vec<BParam>, body: &'static str| Template { params, ret, needs: Needs::Nothing, subject: Type::Null, body };
        let x = self.unifier.fresh();
        let list = Type::list(x.clone());
        Some(match (module, name) {
            // The global generator: each call draws fresh entropy from the host, so no state
            // outlives a request (or is shared by the requests that start from one snapshot).
            ("rand", "int") => t(Type::Int, vec![p("min", Type::Int), p("max", Type::Int)], "rand.__fresh().int(min, max)"),
            ("rand", "float") => t(Type::Float, vec![], "rand.__fresh().float()"),
            ("rand", "bool") => t(Type::Bool, vec![], "rand.__fresh().bool()"),
            ("rand", "choice") => t(Type::result(x), vec![p("items", list)], "rand.__fresh().choice(items)"),
            ("rand", "shuffle") => t(list.clone(), vec![p("items", list)], "rand.__fresh().shuffle(items)"),
            ("rand", "sample") => t(Type::result(list.clone()), vec![p("items", list), p("n", Type::Int)], "rand.__fresh().sample(items, n)"),
            ("rand", "bytes") => t(Type::Bytes, vec![p("n", Type::Int)], RAND_BYTES),
            ("num", "format") => Template { params: vec![p("x", x.clone()), p("locale", Type::Str)], ret: Type::Str, needs: Needs::Number, subject: x, body: NUM_FORMAT },
            ("num", "percent") => t(Type::Str, vec![p("x", Type::Float), p("locale", Type::Str), p("digits", Type::Int)], NUM_PERCENT),
            ("num", "currency") => t(Type::Str, vec![p("x", Type::Float), p("locale", Type::Str), p("code", Type::Str)], NUM_CURRENCY),
            _ => return None,
        })
    }

    /// Checks the call of a template: its needs, then its body with the receiver and the
    /// checked arguments bound to its parameter names.
    pub fn expand_template(&mut self, method: &str, tpl: Template, recv: Option<TExpr>, targs: Vec<TExpr>, span: Span) -> TExpr {
        if let Some(what) = self.unmet(tpl.needs, &tpl.subject) {
            let (ty, method) = match &recv {
                Some(r) => (self.res(&r.ty), format!(".{method}()")),
                None => (self.res(&tpl.subject), format!("{method}()")),
            };
            self.report(Problem::MethodNeeds { method, ty, what, span });
            return Self::error_expr(span);
        }
        let first_local = self.cur_ref().locals.len() as u32;
        self.push_scope();
        let mut stmts = Vec::with_capacity(targs.len() + 2);
        let names = recv.as_ref().map(|_| "recv").into_iter().chain(tpl.params.iter().map(|p| p.name.as_str()));
        for (name, value) in names.zip(recv.into_iter().chain(targs)) {
            let local = self.declare_local(name, value.ty.clone(), span);
            stmts.push(TStmt::Let { local, value });
        }
        self.templates += 1;
        let body = crate::syntax::parse_template(tpl.body, span);
        let (block, ty) = self.check_block(&ast::Block { stmts: body, span }, Some(Some(&tpl.ret)));
        self.templates -= 1;
        self.pop_scope();
        let value = self.coerce(TExpr { kind: TExprKind::Block(block), ty, span }, &tpl.ret, Expectation::Plain);
        stmts.push(TStmt::Expr(value));
        let ty = self.res(&tpl.ret);
        let scoped = Some((first_local, self.cur_ref().locals.len() as u32));
        TExpr { kind: TExprKind::Block(TBlock { stmts, span, scoped }), ty, span }
    }

    fn unmet(&mut self, needs: Needs, subject: &Type) -> Option<&'static str> {
        let t = self.res(subject);
        let ok = match (needs, &t) {
            (Needs::Nothing, _) | (_, Type::Error) => true,
            (Needs::Order, t) => matches!(t, Type::Int | Type::Float | Type::Str),
            (Needs::Number, t) => matches!(t, Type::Int | Type::Float),
            (Needs::Key, t) => matches!(t, Type::Int | Type::Float | Type::Str | Type::Bool),
            (Needs::Equality, t) => super::expr::comparable(t),
        };
        (!ok).then_some(match needs {
            Needs::Order => "items ordered by `<` (`Int`, `Float` or `Str`)",
            Needs::Number => "numbers (`Int` or `Float`)",
            Needs::Key => "map keys (`Int`, `Float`, `Str` or `Bool`)",
            _ => "items compared by `==`",
        })
    }
}

const COUNT: &str = "
let n = 0
for x in recv { if f(x) { n += 1 } }
n";

const FIND_INDEX: &str = "
let i = 0
let at = -1
for x in recv {
    if f(x) {
        at = i
        break
    }
    i += 1
}
if at < 0 { Err(\"no encontrado\") } else { Ok(at) }";

const REDUCE: &str = "
let acc = init
for x in recv { acc = f(acc, x) }
acc";

const FLAT_MAP: &str = "
let out = []
for x in recv { for y in f(x) { out.push(y) } }
out";

const FLATTEN: &str = "
let out = []
for inner in recv { for y in inner { out.push(y) } }
out";

const ENUMERATE: &str = "
let out = []
let i = 0
for x in recv {
    out.push((i, x))
    i += 1
}
out";

const ZIP: &str = "
let out = []
let i = 0
for x in recv {
    if i >= other.len() { break }
    out.push((x, other[i]))
    i += 1
}
out";

const CHAIN: &str = "
let out = []
for x in recv { out.push(x) }
for x in other { out.push(x) }
out";

const CHAIN_ONE: &str = "
let out = []
for x in recv { out.push(x) }
out";

const PARTITION: &str = "
let yes = []
let no = []
for x in recv {
    if f(x) { yes.push(x) } else { no.push(x) }
}
(yes, no)";

const MIN: &str = "
if recv.len() == 0 { Err(\"lista vacía\") } else {
    let best = recv[0]
    for x in recv { if x < best { best = x } }
    Ok(best)
}";

const MAX: &str = "
if recv.len() == 0 { Err(\"lista vacía\") } else {
    let best = recv[0]
    for x in recv { if best < x { best = x } }
    Ok(best)
}";

const SUM_INT: &str = "
let total = 0
for x in recv { total += x }
total";

const SUM_FLOAT: &str = "
let total = 0.0
for x in recv { total += x }
total";

const PRODUCT_INT: &str = "
let total = 1
for x in recv { total *= x }
total";

const PRODUCT_FLOAT: &str = "
let total = 1.0
for x in recv { total *= x }
total";

const UNIQUE: &str = "
let out = []
for x in recv { if not out.contains(x) { out.push(x) } }
out";

const TO_MAP: &str = "
let out = {}
for (k, v) in recv { out[k] = v }
out";

const ZIP_TO_MAP: &str = "
let out = {}
let i = 0
for k in recv {
    if i >= values.len() { break }
    out[k] = values[i]
    i += 1
}
out";

const RANGE_LEN: &str = "
let n = recv.__end() - recv.__start()
if recv.__inclusive() { n += 1 }
if n < 0 { 0 } else { n }";

const RANGE_STEP_BY: &str = "
if step <= 0 { recv.__fail(\"step_by needs a step above 0\") }
let out = []
let i = recv.__start()
let end = recv.__end()
while i < end or (recv.__inclusive() and i == end) {
    out.push(i)
    i += step
}
out";

// A stable merge sort, bottom up, then copied back into the list.
const SORT: &str = "
let n = recv.len()
let a = recv[..]
let width = 1
while width < n {
    let b = []
    let lo = 0
    while lo < n {
        let mid = lo + width
        if mid > n { mid = n }
        let hi = mid + width
        if hi > n { hi = n }
        let i = lo
        let j = mid
        while i < mid or j < hi {
            if j >= hi or (i < mid and not (a[j] < a[i])) {
                b.push(a[i])
                i += 1
            } else {
                b.push(a[j])
                j += 1
            }
        }
        lo = hi
    }
    a = b
    width *= 2
}
let k = 0
while k < n {
    recv[k] = a[k]
    k += 1
}
null";

const SORT_BY: &str = "
let n = recv.len()
let a = recv[..]
let width = 1
while width < n {
    let b = []
    let lo = 0
    while lo < n {
        let mid = lo + width
        if mid > n { mid = n }
        let hi = mid + width
        if hi > n { hi = n }
        let i = lo
        let j = mid
        while i < mid or j < hi {
            if j >= hi or (i < mid and cmp(a[i], a[j]) <= 0) {
                b.push(a[i])
                i += 1
            } else {
                b.push(a[j])
                j += 1
            }
        }
        lo = hi
    }
    a = b
    width *= 2
}
let k = 0
while k < n {
    recv[k] = a[k]
    k += 1
}
null";

const REVERSE: &str = "
let i = 0
let j = recv.len() - 1
while i < j {
    let t = recv[i]
    recv[i] = recv[j]
    recv[j] = t
    i += 1
    j -= 1
}
null";

const POP: &str = "
let n = recv.len()
if n == 0 { Err(\"lista vacía\") } else {
    let last = recv[n - 1]
    recv.__truncate(n - 1)
    Ok(last)
}";

const IS_EMPTY: &str = "recv.len() == 0";

const LIST_STARTS_WITH: &str = "
if prefix.len() > recv.len() { false } else { recv[..prefix.len()] == prefix }";

const LIST_ENDS_WITH: &str = "
if suffix.len() > recv.len() { false } else { recv[recv.len() - suffix.len()..] == suffix }";

const INSERT_AT: &str = "
let at = index
if at < 0 { at = 0 }
if at > recv.len() { at = recv.len() }
let out = recv[..at]
out.push(item)
for x in recv[at..] { out.push(x) }
out";

const REMOVE_AT: &str = "
if index < 0 or index >= recv.len() { recv[..] } else {
    let out = recv[..index]
    for x in recv[index + 1..] { out.push(x) }
    out
}";

const LIST_INDEX_OF: &str = "
let i = 0
let at = -1
for x in recv {
    if x == item {
        at = i
        break
    }
    i += 1
}
if at < 0 { Err(\"no encontrado\") } else { Ok(at) }";

const MAP_FILTER: &str = "
let out = {}
for (k, v) in recv { if f(k, v) { out[k] = v } }
out";

const MAP_MAP_VALUES: &str = "
let out = {}
for (k, v) in recv { out[k] = f(v) }
out";

const MAP_MERGE: &str = "
let out = {}
for (k, v) in recv { out[k] = v }
for (k, v) in other { out[k] = v }
out";

const MAP_UPDATE: &str = "
let out = {}
for (k, v) in recv {
    if k == key { out[k] = f(v) } else { out[k] = v }
}
out";

const MAP_KEYS_SORTED: &str = "
let keys = recv.keys()
keys.sort()
keys";

const MAP_ENTRIES: &str = "[(k, v) for (k, v) in recv]";

const MAP_INVERT: &str = "
let out = {}
for (k, v) in recv { out[v] = k }
out";

const STR_REPEAT: &str = "[recv for _ in 0..n].join(\"\")";

const STR_TRIM_START: &str = "
let t = recv.trim()
if t == \"\" { \"\" } else { recv[recv.__index_of(t)..] }";

const STR_TRIM_END: &str = "
let t = recv.trim()
if t == \"\" { \"\" } else { recv[..recv.__index_of(t) + t.len()] }";

const STR_FIND: &str = "
let at = recv.__index_of(part)
if at < 0 { Err(\"no encontrado\") } else { Ok(at) }";

const STR_LAST_INDEX_OF: &str = "
let at = recv.__last_index_of(part)
if at < 0 { Err(\"no encontrado\") } else { Ok(at) }";

const STR_PAD_START: &str = "
let missing = width - recv.len()
if missing <= 0 or fill == \"\" { recv } else { fill.repeat(missing)[..missing] + recv }";

const STR_PAD_END: &str = "
let missing = width - recv.len()
if missing <= 0 or fill == \"\" { recv } else { recv + fill.repeat(missing)[..missing] }";

const STR_CENTER: &str = "
let missing = width - recv.len()
if missing <= 0 or fill == \"\" { recv } else {
    let left = missing / 2
    fill.repeat(left)[..left] + recv + fill.repeat(missing - left)[..missing - left]
}";

const STR_LEFT: &str = "if n <= 0 { \"\" } else { recv[..n] }";

const STR_RIGHT: &str = "
let from = recv.len() - n
if from < 0 { from = 0 }
if n <= 0 { \"\" } else { recv[from..] }";

const STR_SPLIT_AT: &str = "
let at = index
if at < 0 { at = 0 }
(recv[..at], recv[at..])";

const STR_REVERSE: &str = "
let cs = recv.chars()
cs.reverse()
cs.join(\"\")";

const STR_COUNT: &str = "
if part == \"\" { recv.len() + 1 } else {
    let n = 0
    let rest = recv
    let at = rest.__index_of(part)
    while at >= 0 {
        n += 1
        rest = rest[at + part.len()..]
        at = rest.__index_of(part)
    }
    n
}";

const TRY_AS_TEXT: &str = "
match r {
    Ok(v) => Ok(v)
    Err(e) => Err(\"{e}\")
}";

const LIST_SPLIT_AT: &str = "
let at = index
if at < 0 { at = 0 }
if at > recv.len() { at = recv.len() }
(recv[..at], recv[at..])";

const MAP_HAS_VALUE: &str = "recv.values().contains(value)";

const ABS: &str = "if x < 0 { -x } else { x }";

// Commits when the function answers `Ok`, rolls back on `Err`; a run that ends inside it
// (trap, deadline) rolls it back too (the host closes its connection).
const TRANSACTION: &str = "let begun = recv.__tx_begin()
match begun {
    Err(e) => Err(e).__as_future(),
    Ok(tx) => {
        let out = f(tx).await
        let done = tx.__tx_end(match out { Ok(_) => true, Err(_) => false })
        match done {
            Err(e) => Err(e).__as_future(),
            Ok(_) => out.__as_future(),
        }
    },
}";

// `assert` and `assert_eq` (`fitz test`): a failure is a runtime error at the call, its
// message naming both sides.
const ASSERT: &str = "if not condition { condition.__fail(if message == \"\" { \"assertion failed\" } else { \"assertion failed: {message}\" }) }";

const ASSERT_EQ: &str = "if left != right { left.__fail(\"assert_eq failed\\n  left: {left}\\n right: {right}\") }";

const ABS_RECV: &str = "if recv < 0 { -recv } else { recv }";

const MIN_OF: &str = "if b < a { b } else { a }";

const MAX_OF: &str = "if a < b { b } else { a }";

const CLAMP: &str = "if x < lo { lo } else if hi < x { hi } else { x }";

const TO_STR: &str = "\"{recv}\"";

const TO_STR_BASE: &str = "
if base == 16 { \"{recv:x}\" } else if base == 8 { \"{recv:o}\" } else if base == 2 { \"{recv:b}\" } else if base == 10 { \"{recv}\" } else {
    recv.__fail(\"to_str_base: the base is 2, 8, 10 or 16, not {base}\")
}";

const IS_NAN: &str = "recv != recv";

const IS_FINITE: &str = "recv - recv == 0.0";

const STR_SWAP_CASE: &str = "[if c.upper() == c { c.lower() } else { c.upper() } for c in recv.chars()].join(\"\")";

// Words start after whitespace: their first letter upper case, the rest lower.
const STR_TITLE: &str = "
let out = []
let start = true
for c in recv.chars() {
    if c == \" \" or c == \"\\t\" or c == \"\\n\" {
        out.push(c)
        start = true
    } else {
        out.push(if start { c.upper() } else { c.lower() })
        start = false
    }
}
out.join(\"\")";

// Letters are the characters with an upper and a lower case form.
const STR_IS_ALPHA: &str = "recv.len() > 0 and recv.chars().all(fn(c) => c.upper() != c.lower())";

const STR_IS_DIGIT: &str = "recv.len() > 0 and recv.chars().all(fn(c) => \"0123456789\".contains(c))";

// An optional sign, then digits with at most one point among them.
const STR_IS_NUMERIC: &str = "
let cs = recv.chars()
let i = 0
if cs.len() > 0 and (cs[0] == \"-\" or cs[0] == \"+\") { i = 1 }
let digits = 0
let dots = 0
let ok = true
while ok and i < cs.len() {
    if cs[i] == \".\" { dots += 1 } else if \"0123456789\".contains(cs[i]) { digits += 1 } else { ok = false }
    i += 1
}
ok and digits > 0 and dots <= 1";

// SplitMix64 as upstream's `rand` draws from it: an inclusive integer is the next output
// modulo the span (taken as unsigned; a span of 2^64 wraps to 0 and takes the output whole).
const RAND_INT: &str = "
if min > max { recv.__fail(\"rand.int: min ({min}) must be <= max ({max})\") }
let span = max - min + 1
let v = recv.__next()
if span == 0 { v } else { min + v.__urem(span) }";

const RAND_FLOAT: &str = "recv.__next().__unit_float()";

const RAND_BOOL: &str = "recv.__next() & 1 == 1";

const RAND_CHOICE: &str = "
if items.len() == 0 { Err(\"rand.choice: empty list\") } else { Ok(items[recv.int(0, items.len() - 1)]) }";

// Fisher-Yates from the last item down, on a copy.
const RAND_SHUFFLE: &str = "
let out = items[..]
let i = out.len() - 1
while i >= 1 {
    let j = recv.int(0, i)
    let t = out[i]
    out[i] = out[j]
    out[j] = t
    i -= 1
}
out";

const RAND_SAMPLE: &str = "
if n < 0 { Err(\"rand.sample: n must be >= 0\") } else if n > items.len() {
    Err(\"rand.sample: n ({n}) is larger than the list ({items.len()})\")
} else {
    let out = items[..]
    let len = out.len()
    let i = 0
    while i < n {
        let j = recv.int(i, len - 1)
        let t = out[i]
        out[i] = out[j]
        out[j] = t
        i += 1
    }
    out.__truncate(n)
    Ok(out)
}";

const RAND_BYTES: &str = "
if n < 0 or n > 1073741824 { n.__fail(\"rand.bytes(n): n must be between 0 and 1073741824\") }
n.__random_bytes()";

// Locale-aware numbers as upstream's `num` has them: `es-AR` (`1.234,5`, `$ 1.250,00`,
// `42,0 %`) and `en-US`, which any other locale falls back to.
const NUM_FORMAT: &str = "
let s = \"{x}\"
if s.ends_with(\".0\") { s = s[..s.len() - 2] }
s.__localize(locale)";

const NUM_PERCENT: &str = "
let body = (x * 100.0).__fmt(\".{digits}f\").__localize(locale)
if locale == \"es-AR\" or locale == \"es-ar\" { body + \" %\" } else { body + \"%\" }";

const NUM_CURRENCY: &str = "
let symbol = code
if code == \"ARS\" or code == \"USD\" or code == \"MXN\" or code == \"CAD\" or code == \"AUD\" or code == \"CLP\" or code == \"COP\" { symbol = \"$\" }
if code == \"EUR\" { symbol = \"€\" }
if code == \"GBP\" { symbol = \"£\" }
if code == \"JPY\" { symbol = \"¥\" }
if code == \"BRL\" { symbol = \"R$\" }
let body = \"{x:.2f}\".__localize(locale)
if locale == \"es-AR\" or locale == \"es-ar\" { symbol + \" \" + body } else { symbol + body }";

// A plain number (`-1234.5`) grouped by thousands with the locale's separators.
const STR_LOCALIZE: &str = "
let (thousands, point) = if locale == \"es-AR\" or locale == \"es-ar\" { (\".\", \",\") } else { (\",\", \".\") }
let at = recv.__index_of(\".\")
let whole = if at < 0 { recv } else { recv[..at] }
let sign = \"\"
if whole.starts_with(\"-\") {
    sign = \"-\"
    whole = whole[1..]
}
let n = whole.len()
let out = [sign]
let i = 0
for c in whole.chars() {
    if i > 0 and (n - i) % 3 == 0 { out.push(thousands) }
    out.push(c)
    i += 1
}
if at >= 0 {
    out.push(point)
    out.push(recv[at + 1..])
}
out.join(\"\")";

const GROUP_BY: &str = "
let out = {}
for x in recv {
    let k = f(x)
    if not out.has(k) { out[k] = [x] } else { out[k].push(x) }
}
out";

const ZIP_WITH: &str = "
let out = []
let i = 0
for x in recv {
    if i >= other.len() { break }
    out.push(f(x, other[i]))
    i += 1
}
out";

const MAX_BY: &str = "
if recv.len() == 0 { Err(\"lista vacía\") } else {
    let best = recv[0]
    let best_key = f(best)
    for x in recv[1..] {
        let k = f(x)
        if best_key < k {
            best = x
            best_key = k
        }
    }
    Ok(best)
}";

const MIN_BY: &str = "
if recv.len() == 0 { Err(\"lista vacía\") } else {
    let best = recv[0]
    let best_key = f(best)
    for x in recv[1..] {
        let k = f(x)
        if k < best_key {
            best = x
            best_key = k
        }
    }
    Ok(best)
}";

const SCAN: &str = "
let out = []
let acc = init
for x in recv {
    acc = f(acc, x)
    out.push(acc)
}
out";

const WINDOWS: &str = "
if n <= 0 { n.__fail(\"windows(n) needs n above 0\") }
[recv[i..i + n] for i in 0..recv.len() - n + 1]";

const TAKE: &str = "if n <= 0 { recv[..0] } else { recv[..n] }";

const DROP: &str = "if n <= 0 { recv[..] } else { recv[n..] }";

const INIT: &str = "if recv.len() == 0 { recv[..] } else { recv[..recv.len() - 1] }";

const TAIL: &str = "recv[1..]";

const INTERSPERSE: &str = "
let out = []
for (i, x) in recv.enumerate() {
    if i > 0 { out.push(separator) }
    out.push(x)
}
out";

const CYCLE: &str = "
let out = []
for _ in 0..n { for x in recv { out.push(x) } }
out";

const MAP_MERGE_WITH: &str = "
let out = {}
for (k, v) in recv { out[k] = v }
for (k, v) in other {
    if out.has(k) { out[k] = f(out[k], v) } else { out[k] = v }
}
out";

const MAP_WITH: &str = "
let out = {}
for (k, v) in recv { out[k] = v }
out[key] = value
out";

// As Rust's `str::lines`: no last empty line after a final newline, `\r\n` taken as one.
const STR_LINES: &str = "
let parts = recv.split(\"\\n\")
if parts.len() > 0 and parts[-1] == \"\" { parts.__truncate(parts.len() - 1) }
[if l.ends_with(\"\\r\") { l[..l.len() - 1] } else { l } for l in parts]";

const STR_REPEAT_WITH: &str = "[recv for _ in 0..n].join(separator)";

// As Rust reads an i64: an optional sign, then ASCII digits only; out of range is an error.
const STR_TO_INT: &str = "
let neg = recv.starts_with(\"-\")
let digits = if neg or recv.starts_with(\"+\") { recv[1..] } else { recv }
let n = 0
let ok = digits != \"\"
for c in digits.chars() {
    let d = \"0123456789\".__index_of(c)
    if d < 0 or c.len() != 1 {
        ok = false
        break
    }
    if neg {
        if n < (-9223372036854775807 - 1 + d) / 10 {
            ok = false
            break
        }
        n = n * 10 - d
    } else {
        if n > (9223372036854775807 - d) / 10 {
            ok = false
            break
        }
        n = n * 10 + d
    }
}
if ok { Ok(n) } else { Err(\"not an integer: {recv}\") }";

#[cfg(test)]
const ALL: &[&str] = &[
    COUNT,
    FIND_INDEX,
    REDUCE,
    FLAT_MAP,
    FLATTEN,
    ENUMERATE,
    ZIP,
    CHAIN,
    CHAIN_ONE,
    PARTITION,
    MIN,
    MAX,
    SUM_INT,
    SUM_FLOAT,
    PRODUCT_INT,
    PRODUCT_FLOAT,
    UNIQUE,
    TO_MAP,
    ZIP_TO_MAP,
    RANGE_LEN,
    RANGE_STEP_BY,
    SORT,
    SORT_BY,
    REVERSE,
    POP,
    IS_EMPTY,
    LIST_STARTS_WITH,
    LIST_ENDS_WITH,
    INSERT_AT,
    REMOVE_AT,
    LIST_INDEX_OF,
    MAP_FILTER,
    MAP_MAP_VALUES,
    MAP_MERGE,
    MAP_UPDATE,
    MAP_KEYS_SORTED,
    MAP_ENTRIES,
    MAP_INVERT,
    STR_REPEAT,
    STR_TRIM_START,
    STR_TRIM_END,
    STR_FIND,
    STR_LAST_INDEX_OF,
    STR_PAD_START,
    STR_PAD_END,
    STR_CENTER,
    STR_LEFT,
    STR_RIGHT,
    STR_SPLIT_AT,
    STR_REVERSE,
    STR_COUNT,
    LIST_SPLIT_AT,
    MAP_HAS_VALUE,
    ABS,
    ABS_RECV,
    MIN_OF,
    MAX_OF,
    CLAMP,
    TO_STR,
    TO_STR_BASE,
    IS_NAN,
    IS_FINITE,
    STR_SWAP_CASE,
    STR_TITLE,
    STR_IS_ALPHA,
    STR_IS_DIGIT,
    STR_IS_NUMERIC,
    RAND_INT,
    RAND_FLOAT,
    RAND_BOOL,
    RAND_CHOICE,
    RAND_SHUFFLE,
    RAND_SAMPLE,
    RAND_BYTES,
    NUM_FORMAT,
    NUM_PERCENT,
    NUM_CURRENCY,
    STR_LOCALIZE,
    TRY_AS_TEXT,
    GROUP_BY,
    ZIP_WITH,
    MAX_BY,
    MIN_BY,
    SCAN,
    WINDOWS,
    TAKE,
    DROP,
    INIT,
    TAIL,
    INTERSPERSE,
    CYCLE,
    MAP_MERGE_WITH,
    MAP_WITH,
    STR_LINES,
    STR_REPEAT_WITH,
    STR_TO_INT,
];

#[cfg(test)]
mod tests {
    /// Every body parses (a template that does not is a bug the first call would hit).
    #[test]
    fn every_template_parses() {
        for body in super::ALL {
            let stmts = crate::syntax::parse_template(body, crate::span::Span::new(3, 9));
            assert!(!stmts.is_empty(), "{body}");
        }
    }

    /// A cached body, spanned anew for each call, is the tree a fresh parse at the call gives.
    #[test]
    fn cached_templates_span_their_call() {
        for at in [crate::span::Span::new(3, 9), crate::span::Span::new(100, 140)] {
            for body in super::ALL {
                let cached = format!("{:?}", crate::syntax::parse_template(body, at));
                let fresh = format!("{:?}", crate::syntax::parse_template_uncached(body, at));
                assert_eq!(cached, fresh, "{body}");
            }
        }
    }
}
