//! `@command` programs: a CLI as upstream's chapter 33 has it. For each function marked
//! `@command("name", desc="…")` this phase writes, in Fitz, a parser of its arguments, and one
//! dispatcher (`__fitz_cli`) the host calls with the command line after the top level ran.
//! The checker checks them like any code (their spans are the `@command` decorator's), and
//! `check::commands` checks what a command may declare.
//!
//! A parameter without a default is a positional argument; one with a default is an option
//! (`--count 3`, `--count=3`, `-c 3`), a `Bool` defaulting to `false` a switch (`--loud`) and one
//! defaulting to `true` is turned off by `--no-name`. A last `List<Str>` (or `...rest: Str`)
//! takes the remaining positional arguments. `-h`/`--help` prints the usage, with the `///`
//! lines above the function; a malformed command line is reported on stderr, exit status 2.

use crate::ast::{Decorator, Expr, ExprKind, FnDecl, Item, Module, StrPart, UnaryOp};
use crate::span::Span;

/// The names this phase defines; user code cannot name them (`__` is the prelude's prefix).
pub const DISPATCHER: &str = "__fitz_cli";

/// What one parameter is on the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgKind {
    Str,
    Int,
    Float,
    Bool,
    /// The rest of the positional arguments.
    Rest,
}

pub fn arg_kind(type_text: &str, variadic: bool) -> Option<ArgKind> {
    let t: String = type_text.chars().filter(|c| !c.is_whitespace()).collect();
    match (t.as_str(), variadic) {
        ("List<Str>", false) => Some(ArgKind::Rest),
        ("Str", false) => Some(ArgKind::Str),
        ("Int", false) => Some(ArgKind::Int),
        ("Float", false) => Some(ArgKind::Float),
        ("Bool", false) => Some(ArgKind::Bool),
        _ => None,
    }
}

/// The `@command` decorator of a function, if it has one.
pub fn command_decorator(f: &FnDecl) -> Option<&Decorator> {
    f.decorators.iter().find(|d| d.name.name == "command")
}

/// A string literal argument of a decorator, by position or key.
fn literal_arg(d: &Decorator, index: usize, key: &str) -> Option<String> {
    let args = d.args.as_ref()?;
    let arg = args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == key)).or_else(|| args.iter().filter(|a| a.name.is_none()).nth(index))?;
    match &arg.value.kind {
        ExprKind::Str(parts) => match parts.as_slice() {
            [StrPart::Text(s)] => Some(s.clone()),
            [] => Some(String::new()),
            _ => None,
        },
        _ => None,
    }
}

/// The short form of an option: its first letter, unless that is `h` (help).
pub fn short_flag(name: &str) -> Option<char> {
    name.chars().next().filter(|c| c.is_ascii_alphabetic() && *c != 'h')
}

struct Param {
    name: String,
    kind: ArgKind,
    /// The default's source text, for an option.
    default: Option<String>,
}

impl Param {
    /// The parser's local for the parameter (prefixed: a parameter may be called `__pos`).
    fn local(&self) -> String {
        format!("__arg_{}", self.name)
    }
}

struct Command {
    name: String,
    desc: String,
    doc: Vec<String>,
    func: String,
    params: Vec<Param>,
    span: Span,
}

/// Text as a Fitz string literal's contents.
fn escape(s: &str) -> String {
    crate::syntax::print::escape(s)
}

/// The `///` lines right above a declaration starting at `start`.
fn doc_lines(source: &str, start: usize) -> Vec<String> {
    let mut out = Vec::new();
    let before = &source[..start.min(source.len())];
    for line in before.lines().rev() {
        match line.trim().strip_prefix("///") {
            Some(text) => out.push(text.strip_prefix(' ').unwrap_or(text).to_string()),
            None => break,
        }
    }
    out.reverse();
    out
}

/// Whether a function is one this phase wrote: all its nodes span the decorator it came from.
pub fn is_generated(f: &FnDecl) -> bool {
    f.name.span == f.span
}

/// A default the parser can start from and the help can print: a literal.
pub fn literal_default(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) => true,
        ExprKind::Str(parts) => parts.iter().all(|p| matches!(p, StrPart::Text(_))),
        ExprKind::Unary { op: UnaryOp::Neg, expr } => matches!(expr.kind, ExprKind::Int(_) | ExprKind::Float(_)),
        _ => false,
    }
}

fn read_command(f: &FnDecl, d: &Decorator, source: &str) -> Option<Command> {
    let name = literal_arg(d, 0, "name")?;
    // The checker reports a command that does not return its exit status.
    let ret = f.ret.as_ref()?;
    if source.get(ret.span.start as usize..ret.span.end as usize)?.trim() != "Int" {
        return None;
    }
    let desc = literal_arg(d, 1, "desc").unwrap_or_default();
    let mut params = Vec::new();
    for p in &f.params {
        let ty = p.ty.as_ref()?;
        let kind = arg_kind(source.get(ty.span.start as usize..ty.span.end as usize)?, p.variadic)?;
        let default = match &p.default {
            Some(e) if !literal_default(e) => return None,
            Some(e) => Some(source.get(e.span.start as usize..e.span.end as usize)?.to_string()),
            None => None,
        };
        params.push(Param { name: p.name.name.clone(), kind, default });
    }
    // The line where the function starts: its first decorator.
    let line_start = source[..f.span.start as usize].rfind('\n').map_or(0, |i| i + 1);
    Some(Command { name, desc, doc: doc_lines(source, line_start), func: f.name.name.clone(), params, span: d.span })
}

/// The usage line of a command, after `usage: PROG `.
fn usage(c: &Command) -> String {
    let mut out = c.name.clone();
    for p in &c.params {
        match (&p.kind, &p.default) {
            (ArgKind::Rest, _) => out.push_str(&format!(" [{}...]", p.name)),
            (ArgKind::Bool, Some(d)) if d.trim() == "true" => out.push_str(&format!(" [--no-{}]", p.name)),
            (ArgKind::Bool, Some(_)) => out.push_str(&format!(" [--{}]", p.name)),
            (_, Some(_)) => out.push_str(&format!(" [--{} <{}>]", p.name, p.name)),
            (_, None) => out.push_str(&format!(" <{}>", p.name)),
        }
    }
    out
}

/// One line of a command's help for an option: its forms and default.
fn option_help(p: &Param) -> String {
    let short = short_flag(&p.name).map(|c| format!("-{c}, ")).unwrap_or_default();
    let default = p.default.as_deref().unwrap_or("").trim();
    match p.kind {
        ArgKind::Bool if default == "true" => format!("  --no-{}", p.name),
        ArgKind::Bool => format!("  {short}--{}", p.name),
        _ => format!("  {short}--{} <{}>  (default: {default})", p.name, p.name),
    }
}

/// Fitz statements that parse `text` (a local holding one argument) as the parameter's type
/// into `target`, or end the command with status 2.
fn convert(kind: &ArgKind, target: &str, text: &str, what: &str) -> String {
    let (method, noun) = match kind {
        ArgKind::Int => ("to_int", "an integer"),
        ArgKind::Float => ("to_float", "a number"),
        ArgKind::Bool => {
            return format!(
                "if {text} == \"true\" {{ {target} = true }} else if {text} == \"false\" {{ {target} = false }} else {{\n\
                 __usage.__eprint(\"error: {what} is true or false, not `{{{text}}}`\\n\" + __usage)\nreturn 2\n}}\n"
            );
        }
        _ => return format!("{target} = {text}\n"),
    };
    format!(
        "match {text}.{method}() {{\nOk(__value) => {{ {target} = __value }}\nErr(_) => {{\n\
         __usage.__eprint(\"error: {what} takes {noun}, not `{{{text}}}`\\n\" + __usage)\nreturn 2\n}}\n}}\n"
    )
}

fn command_parser(c: &Command) -> String {
    let zero = |k: &ArgKind| match k {
        ArgKind::Str => "\"\"",
        ArgKind::Int => "0",
        ArgKind::Float => "0.0",
        ArgKind::Bool => "false",
        ArgKind::Rest => "[]",
    };
    let ty = |k: &ArgKind| match k {
        ArgKind::Str => "Str",
        ArgKind::Int => "Int",
        ArgKind::Float => "Float",
        ArgKind::Bool => "Bool",
        ArgKind::Rest => "List<Str>",
    };
    let mut help = format!("usage: {{__prog}} {}", escape(&usage(c)));
    if !c.desc.is_empty() {
        help.push_str(&format!("\\n\\n{}", escape(&c.desc)));
    }
    if !c.doc.is_empty() {
        help.push_str(&format!("\\n\\n{}", escape(&c.doc.join("\n"))));
    }
    let options: Vec<String> = c.params.iter().filter(|p| p.default.is_some() && p.kind != ArgKind::Rest).map(option_help).collect();
    if !options.is_empty() {
        help.push_str(&format!("\\n\\noptions:\\n{}", escape(&options.join("\n"))));
    }
    let mut s = format!("fn {DISPATCHER}_{}(__args: List<Str>, __prog: Str) -> Int {{\n", c.func);
    s.push_str(&format!("let __usage = \"usage: {{__prog}} {}\"\n", escape(&usage(c))));
    for p in &c.params {
        let init = match (&p.kind, &p.default) {
            (ArgKind::Rest, _) | (_, None) => zero(&p.kind).to_string(),
            (_, Some(d)) => d.clone(),
        };
        s.push_str(&format!("let {}: {} = {}\n", p.local(), ty(&p.kind), init));
    }
    s.push_str("let __pos = 0\nlet __i = 0\nlet __options = true\nwhile __i < __args.len() {\nlet __t = __args[__i]\n");
    s.push_str("let __eq = if __t.starts_with(\"--\") { __t.__index_of(\"=\") } else { -1 }\n");
    s.push_str("let __flag = if __eq > 0 { __t[..__eq] } else { __t }\n");
    s.push_str("let __v = if __eq > 0 { __t[__eq + 1..] } else { \"\" }\n");
    s.push_str(&format!("if __options and (__flag == \"--help\" or __flag == \"-h\") {{\nprint(\"{help}\")\nreturn 0\n}}\n"));
    s.push_str("else if __options and __t == \"--\" { __options = false }\n");
    for p in c.params.iter().filter(|p| p.default.is_some() && p.kind != ArgKind::Rest) {
        let long = format!("--{}", p.name);
        let dashed = format!("--{}", p.name.replace('_', "-"));
        let mut names = vec![format!("__flag == \"{long}\"")];
        if dashed != long {
            names.push(format!("__flag == \"{dashed}\""));
        }
        if let Some(short) = short_flag(&p.name) {
            names.push(format!("__flag == \"-{short}\""));
        }
        let test = names.join(" or ");
        if p.kind == ArgKind::Bool {
            s.push_str(&format!("else if __options and ({test}) {{\n"));
            s.push_str(&format!("if __eq > 0 {{\n{}}} else {{ {} = true }}\n}}\n", convert(&p.kind, &p.local(), "__v", &long), p.local()));
            s.push_str(&format!("else if __options and (__flag == \"--no-{}\" or __flag == \"--no-{}\") {{ {} = false }}\n", p.name, p.name.replace('_', "-"), p.local()));
        } else {
            s.push_str(&format!("else if __options and ({test}) {{\n"));
            s.push_str(&format!(
                "if __eq <= 0 {{\n__i += 1\nif __i >= __args.len() {{\n__usage.__eprint(\"error: {long} needs a value\\n\" + __usage)\nreturn 2\n}}\n__v = __args[__i]\n}}\n"
            ));
            s.push_str(&convert(&p.kind, &p.local(), "__v", &long));
            s.push_str("}\n");
        }
    }
    // An argument that starts with `-` is an option, unless it is a number (`add -3 5`).
    s.push_str(&format!("else if __options and __t.starts_with(\"-\") and __t != \"-\" and not {DISPATCHER}_number(__t) {{\n"));
    s.push_str("__usage.__eprint(\"error: unknown option `{__t}`\\n\" + __usage)\nreturn 2\n}\nelse {\n");
    let positionals: Vec<&Param> = c.params.iter().filter(|p| p.default.is_none() || p.kind == ArgKind::Rest).collect();
    let mut branches = Vec::new();
    for (i, p) in positionals.iter().enumerate() {
        if p.kind == ArgKind::Rest {
            branches.push(format!("if __pos >= {i} {{ {}.push(__t) }}", p.local()));
        } else {
            branches.push(format!("if __pos == {i} {{\n{}}}", convert(&p.kind, &p.local(), "__t", &format!("<{}>", p.name))));
        }
    }
    let unexpected = "__usage.__eprint(\"error: unexpected argument `{__t}`\\n\" + __usage)\nreturn 2\n";
    if branches.is_empty() {
        s.push_str(unexpected);
    } else {
        s.push_str(&format!("{} else {{\n{unexpected}}}", branches.join(" else ")));
    }
    s.push_str("\n__pos += 1\n}\n__i += 1\n}\n");
    let required = positionals.iter().filter(|p| p.kind != ArgKind::Rest).count();
    for (i, p) in positionals.iter().enumerate().filter(|(_, p)| p.kind != ArgKind::Rest) {
        let _ = required;
        s.push_str(&format!("if __pos <= {i} {{\n__usage.__eprint(\"error: missing <{}>\\n\" + __usage)\nreturn 2\n}}\n", p.name));
    }
    let args: Vec<String> = c.params.iter().map(Param::local).collect();
    s.push_str(&format!("return {}({})\n}}\n", c.func, args.join(", ")));
    s
}

fn dispatcher(commands: &[Command]) -> String {
    let width = commands.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    let mut list = String::new();
    for c in commands {
        let line = format!("  {}{}  {}", c.name, " ".repeat(width - c.name.chars().count()), c.desc);
        list.push_str(&format!("\\n{}", escape(line.trim_end())));
    }
    let mut s = format!("fn {DISPATCHER}(__argv: List<Str>) -> Int {{\n");
    s.push_str("let __prog = if __argv.len() > 0 { __argv[0] } else { \"program\" }\n");
    s.push_str(&format!("let __usage = \"usage: {{__prog}} <command> [arguments]\\n\\ncommands:{list}\"\n"));
    s.push_str("if __argv.len() < 2 {\n__usage.__eprint(__usage)\nreturn 2\n}\n");
    s.push_str("let __cmd = __argv[1]\n");
    s.push_str("if __cmd == \"--help\" or __cmd == \"-h\" or __cmd == \"help\" {\nprint(__usage)\nreturn 0\n}\n");
    for c in commands {
        s.push_str(&format!("if __cmd == \"{}\" {{ return {DISPATCHER}_{}(__argv[2..], __prog) }}\n", escape(&c.name), c.func));
    }
    s.push_str("__usage.__eprint(\"error: unknown command `{__cmd}`\\n\" + __usage)\nreturn 2\n}\n");
    s.push_str(&format!("fn {DISPATCHER}_number(t: Str) -> Bool => match t.to_float() {{\nOk(_) => true\nErr(_) => false\n}}\n"));
    s
}

/// Adds the command-line parsers to a module with `@command` functions (those whose
/// decorator and parameters are as a command needs; the checker reports the others).
pub fn add_dispatcher(module: &mut Module, source: &str) {
    // A user's `__fitz…` function is refused by the checker; nothing is written beside it.
    if module.items.iter().any(|i| matches!(i, Item::Fn(f) if f.name.name.starts_with("__fitz"))) {
        return;
    }
    let mut commands = Vec::new();
    for item in &module.items {
        let Item::Fn(f) = item else { continue };
        let Some(d) = command_decorator(f) else { continue };
        if let Some(c) = read_command(f, d, source) {
            commands.push(c);
        }
    }
    if commands.is_empty() {
        return;
    }
    let at = commands[0].span;
    let mut items = Vec::new();
    for c in &commands {
        items.extend(crate::syntax::parse_generated(&command_parser(c), c.span));
    }
    items.extend(crate::syntax::parse_generated(&dispatcher(&commands), at));
    module.items.extend(items);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_comments_above_a_command_are_its_help() {
        let src = "let x = 1\n/// Greets.\n/// Loudly if asked.\n@command(\"greet\")\nfn greet() -> Int => 0\n";
        let start = src.find("@command").expect("decorator");
        assert_eq!(doc_lines(src, start), vec!["Greets.".to_string(), "Loudly if asked.".to_string()]);
        assert!(doc_lines("@command(\"x\")", 0).is_empty());
    }

    #[test]
    fn generated_parsers_parse() {
        let src = "/// Says hi.\n@command(\"greet\", desc=\"Greet a person\")\nfn greet(name: Str, loud: Bool = false, count: Int = 1, rest: List<Str>) -> Int => 0\n@command(\"add\")\nfn add(a: Int, b: Float = 2.5) -> Int => 0\n";
        let (mut module, errors) = crate::syntax::parse_module(src);
        assert!(errors.is_empty());
        let before = module.items.len();
        add_dispatcher(&mut module, src);
        assert_eq!(module.items.len(), before + 4, "two parsers, the dispatcher and its number test");
    }

    #[test]
    fn parameters_named_like_the_parsers_locals_keep_their_values() {
        let src = "@command(\"p\")\nfn p(__pos: Str, __i: Int = 7, __args: List<Str>) -> Int {\nprint(\"{__pos} {__i} {__args}\")\nreturn 0\n}\n";
        let checked = crate::check_source(src);
        assert!(checked.program.is_some(), "{:?}", checked.diagnostics);
    }
}
