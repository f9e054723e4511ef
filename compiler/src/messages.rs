//! The words: every syntax error and checker problem turned into a diagnostic with a title,
//! labels and, where a fix is known, a `help:`.

use crate::check::problem::{CronProblem, Expectation, PathProblem, Problem, ProviderProblem};
use crate::diagnostic::Diagnostic;
use crate::edits;
use crate::span::Span;
use crate::syntax::error::{Expected, LexErrorKind, SyntaxError};
use crate::syntax::token::Token;
use crate::types::{Type, TypeDisplay};

fn list_words(items: &[String]) -> String {
    join_words(items, "or")
}

fn join_words(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {conjunction} {}", init.join(", "), last),
    }
}

/// "did you mean `right`?", and the fix that writes it over `wrong` inside `span`.
fn suggest(d: Diagnostic, text: &str, span: Span, wrong: &str, right: &str, shown: &str) -> Diagnostic {
    let d = d.help(format!("did you mean `{shown}`?"));
    match edits::word_in(text, span, wrong) {
        Some(at) => d.fix(format!("Change to `{shown}`"), at, right),
        None => d,
    }
}

/// A syntax error of `text` (one file's), its spans the file's own.
pub fn syntax(e: &SyntaxError, text: &str) -> Diagnostic {
    match e {
        SyntaxError::Lex(l) => {
            let (code, msg, label, help): (&str, String, &str, Option<String>) = match &l.kind {
                LexErrorKind::UnterminatedString => (
                    "unterminated-string",
                    "this string never ends".into(),
                    "string starts here",
                    Some("close it with `\"` on the same line, or use `\"\"\"` for text over several lines".into()),
                ),
                LexErrorKind::UnterminatedComment => ("unterminated-comment", "this comment never ends".into(), "comment starts here", Some("close it with `*/`".into())),
                LexErrorKind::SingleQuotedString => ("single-quoted-string", "strings use double quotes".into(), "single quotes", Some("write \"...\" instead".into())),
                LexErrorKind::UnknownEscape(c) => (
                    "unknown-escape",
                    format!("unknown escape `\\{c}`"),
                    "not an escape Fitz knows",
                    Some("known escapes: \\n \\t \\r \\0 \\b \\\" \\\\ \\{ \\} \\xHH \\u{…}".into()),
                ),
                LexErrorKind::BadUnicodeEscape => ("bad-unicode-escape", "invalid `\\u{…}` escape".into(), "expected 1 to 6 hex digits naming a Unicode scalar value", None),
                LexErrorKind::BadHexEscape => (
                    "bad-hex-escape",
                    "invalid `\\x` escape".into(),
                    "expected two hex digits of an ASCII character (00 to 7F)",
                    Some("for any other character write `\\u{…}`".into()),
                ),
                LexErrorKind::BadBytesEscape => (
                    "bad-bytes-escape",
                    "invalid escape in a bytes literal".into(),
                    "not a byte escape",
                    Some("bytes literals know \\n \\r \\t \\0 \\\\ \\\" and \\xHH (00 to FF)".into()),
                ),
                LexErrorKind::BadNumber(why) => ("bad-number", "invalid number".into(), why, None),
                LexErrorKind::IntegerTooLarge => ("integer-too-large", "integer literal does not fit in 64 bits".into(), "larger than 9223372036854775807", None),
                LexErrorKind::UnexpectedChar(c) => ("unexpected-character", format!("unexpected character `{c}`"), "not part of Fitz's syntax", None),
                LexErrorKind::UseWord { found, word } => ("use-keyword", format!("`{found}` is not a Fitz operator"), "here", Some(format!("write `{word}`"))),
            };
            let d = Diagnostic::error(code, msg).primary(l.span, label);
            let d = match help {
                Some(h) => d.help(h),
                None => d,
            };
            match &l.kind {
                LexErrorKind::UseWord { word, .. } => d.fix(format!("Write `{word}`"), l.span, *word),
                LexErrorKind::SingleQuotedString => match text.get(l.span.start as usize..l.span.end as usize) {
                    // Only a whole one-line string with no `"`, `\` or `{` inside reads the same.
                    Some(s) if s.len() >= 2 && s.ends_with('\'') && !s[1..s.len() - 1].contains(['"', '\\', '{', '\'', '\n']) => {
                        d.fix("Use double quotes", l.span, format!("\"{}\"", &s[1..s.len() - 1]))
                    }
                    _ => d,
                },
                _ => d,
            }
        }
        SyntaxError::Unexpected { found, expected, span } => {
            let words: Vec<String> = expected
                .iter()
                .map(|e| match e {
                    Expected::Expression => "an expression".to_string(),
                    Expected::Name => "a name".to_string(),
                    Expected::Type => "a type".to_string(),
                    Expected::Pattern => "a pattern".to_string(),
                    Expected::NewLine => "a new line".to_string(),
                    Expected::Token(t) => format!("`{t}`"),
                })
                .collect();
            let found_words = match found {
                Some(t) => t.to_string(),
                None => "the end of the file".to_string(),
            };
            let title = if words.is_empty() { format!("unexpected {found_words}") } else { format!("expected {}, found {found_words}", list_words(&words)) };
            let label = if words.is_empty() { "unexpected here".to_string() } else { format!("expected {}", list_words(&words)) };
            let mut d = Diagnostic::error("syntax", title).primary(*span, label);
            if matches!(found, Some(Token::Newline)) && expected.contains(&Expected::Expression) {
                d = d.help("an expression cannot stop at the end of a line here");
            }
            if matches!(found, Some(Token::Colon)) && words.iter().any(|w| w == "`}`") {
                d = d.help("a `{` here starts a block; if this is a map literal, wrap it in parentheses: `({ … })`");
            }
            d
        }
        SyntaxError::UnknownPatternConstructor { name, span } => {
            Diagnostic::error("unknown-pattern", format!("`{name}(…)` is not a pattern")).primary(*span, "only `Ok(…)` and `Err(…)` take a pattern in parentheses")
        }
        SyntaxError::StatusOutOfRange { status, span } => {
            Diagnostic::error("bad-status", format!("{status} is not an HTTP status")).primary(*span, "expected a status from 100 to 599")
        }
        SyntaxError::Unclosed { open, span } => {
            Diagnostic::error("syntax", "this `{` is never closed").primary(*open, "opened here").secondary(*span, "the file ends here").help("add the `}` where this block ends")
        }
    }
}

pub struct Messages<'a> {
    pub records: &'a [String],
    /// The program's text (every file at its base), where fixes find their places.
    pub text: &'a str,
}

impl Messages<'_> {
    /// Where a decorator goes above the function named at `name`: the start of its line's
    /// text (the `fn`, or the `async` before it).
    fn above_fn(&self, name: Span) -> Option<Span> {
        let at = edits::fn_keyword_before(self.text, name)?;
        let (start, indent) = edits::line_of(self.text, at);
        let at = start + indent.len() as u32;
        Some(Span::new(at, at))
    }

    /// `decorator` on a line of its own, indented as the function's line.
    fn decorator_line(&self, name: Span, decorator: &str) -> String {
        let at = edits::fn_keyword_before(self.text, name).unwrap_or(name.start);
        format!("{decorator}\n{}", edits::line_of(self.text, at).1)
    }

    fn t(&self, ty: &Type) -> String {
        format!("`{}`", TypeDisplay::new(ty, self.records))
    }

    pub fn problem(&self, p: &Problem) -> Diagnostic {
        use Problem::*;
        let span = p.span();
        let with_suggestion = |d: Diagnostic, wrong: &str, s: &Option<String>| match s {
            Some(s) => suggest(d, self.text, span, wrong, s, s),
            None => d,
        };
        match p {
            UnknownName { name, suggestion, .. } => with_suggestion(
                Diagnostic::error("unknown-name", format!("cannot find `{name}` in this scope")).primary(span, "not found"),
                name,
                suggestion,
            ),
            UnknownType { name, suggestion, .. } => with_suggestion(
                Diagnostic::error("unknown-type", format!("unknown type `{name}`")).primary(span, "no type with this name"),
                name,
                suggestion,
            ),
            UnknownField { ty, field, suggestion, .. } => with_suggestion(
                Diagnostic::error("unknown-field", format!("{} has no field `{field}`", self.t(ty))).primary(span, "unknown field"),
                field,
                suggestion,
            ),
            CommandReturn { command, ty, .. } => Diagnostic::error("command-return", format!("command `{command}` returns {}, not its exit status", self.t(ty)))
                .primary(span, "expected `Int`")
                .help("return `0` on success, another number on failure"),
            CommandParam { name, .. } => Diagnostic::error("command-parameter", format!("parameter `{name}` of a command cannot be read from the command line"))
                .primary(span, "expected `Str`, `Int`, `Float`, `Bool` or a last `List<Str>`, with its type written"),
            CommandRestNotLast { .. } => Diagnostic::error("command-parameter", "a `List<Str>` of a command takes the remaining arguments: it comes last, without a default")
                .primary(span, "not last"),
            CommandShortFlag { flag, first, second, .. } => Diagnostic::error("command-short-flag", format!("options `--{first}` and `--{second}` would both be `-{flag}`"))
                .primary(span, "second option with this initial")
                .help("rename one of them"),
            CommandDefault { .. } => Diagnostic::error("command-default", "a command option's default is a literal")
                .primary(span, "not a literal")
                .help("write the value itself (`3`, `-1.5`, `\"text\"`, `true`): the help shows it as the default"),
            ReservedName { name, .. } => Diagnostic::error("reserved-name", format!("`{name}` is a name the compiler uses"))
                .primary(span, "reserved: names starting with `__fitz` are the compiler's")
                .help("choose another name"),
            ReservedLogField { name, .. } => Diagnostic::error("reserved-log-field", format!("`{name}` cannot be a log field"))
                .primary(span, "reserved")
                .note("the log line itself carries `level`, `msg`, `timestamp`, `app` and the trace ids"),
            MethodNeeds { method, ty, what, .. } => {
                Diagnostic::error("method-needs", format!("`{method}` needs {what}, and this is {}", self.t(ty))).primary(span, "called here")
            }
            UnknownMethod { ty, method, suggestion, .. } => with_suggestion(
                Diagnostic::error("unknown-method", format!("{} has no method `{method}`", self.t(ty))).primary(span, "unknown method"),
                method,
                suggestion,
            ),
            Duplicate { what, name, first, .. } => {
                let d = Diagnostic::error("duplicate", format!("{what} `{name}` is defined twice")).primary(span, "defined again here");
                if first != &span { d.secondary(*first, "first defined here") } else { d.note("this name belongs to a built-in type") }
            }
            AssignToUndeclared { name, .. } => Diagnostic::error("assign-undeclared", format!("`{name}` has no value to update"))
                .primary(span, "no variable of this name is in scope")
                .help(format!("give it a first value: `{name} = …`")),
            Private { what, name, record, .. } => Diagnostic::error("private", format!("{what} `{name}` is private to `{record}`"))
                .primary(span, format!("only the methods of `{record}` reach it"))
                .help(format!("names starting with `_` are private; give `{record}` a method that does what you need")),
            MethodNeedsInstance { record, method, .. } => Diagnostic::error("method-needs-instance", format!("`{record}.{method}` needs an instance"))
                .primary(span, "a method, not a `static fn`")
                .help(format!("call it on a value: `value.{method}(…)`")),
            StaticOnInstance { record, method, .. } => Diagnostic::error("static-on-instance", format!("`{method}` is a `static fn` of `{record}`"))
                .primary(span, "called on an instance")
                .help(format!("call it on the type: `{record}.{method}(…)`")),
            UnknownLabel { name, .. } => Diagnostic::error("unknown-label", format!("no enclosing loop is labelled `'{name}`"))
                .primary(span, "not the label of a loop around this")
                .help(format!("label the loop: `'{name}: for …`")),
            BreakValueUnused { .. } => Diagnostic::error("break-value", "this `break` carries a value no one uses")
                .primary(span, "the value of a `break`")
                .note("only a `loop` whose value is used (`x = loop { … break v }`) takes one"),
            BreakWithoutValue { .. } => Diagnostic::error("break-without-value", "this `break` leaves a `loop` used as a value without one")
                .primary(span, "`break` alone")
                .help("give it the loop's value: `break value`"),
            VariadicNotLast { .. } => Diagnostic::error("variadic-not-last", "a variadic parameter must be the last")
                .primary(span, "it takes every positional argument left, so none can follow it"),
            MaybeUnassigned { name, assigned, .. } => Diagnostic::error("maybe-unassigned", format!("`{name}` may have no value here"))
                .primary(span, "read here")
                .secondary(*assigned, "given a value here, but not on every path that reaches the read")
                .help(format!("give `{name}` a value before the branch, or on every path to here")),
            AssignToCapture { name, .. } => Diagnostic::error("assign-captured", format!("cannot assign to `{name}` inside a lambda"))
                .primary(span, "captured from the enclosing function")
                .note("lambdas get a copy of the variables they use"),
            NotAssignable { .. } => Diagnostic::error("not-assignable", "cannot assign to this expression")
                .primary(span, "expected a variable, an index `x[i]` or a field `x.f`"),
            NotAValue { name, what, .. } => {
                let d = Diagnostic::error("not-a-value", format!("`{name}` is a {what}, not a value")).primary(span, "used as a value");
                if *what == "function" { d.help(format!("call it: `{name}(…)`")) } else { d }
            }
            UsedBeforeDefinition { name, defined, .. } => {
                Diagnostic::error("used-before-definition", format!("`{name}` is used before it is defined"))
                    .primary(span, "used here")
                    .secondary(*defined, "defined later here")
                    .note("top-level code runs from top to bottom")
            }
            Mismatch { expected, found, context, .. } => self.mismatch(expected, found, context, span),
            TypeArgCount { name, expected, found, .. } => Diagnostic::error(
                "type-arguments",
                format!("`{name}` takes {expected} type argument{}, found {found}", plural(*expected)),
            )
            .primary(span, "wrong number of type arguments"),
            MaybeNull { ty, .. } => Diagnostic::error("maybe-null", format!("this value may be null: its type is {}", self.t(ty)))
                .primary(span, "may be null")
                .help("check for null first: `match value { null => …, v => … }`"),
            BinaryOperands { op, lhs, rhs, .. } => Diagnostic::error(
                "operator-types",
                format!("`{op}` cannot be applied to {} and {}", self.t(lhs), self.t(rhs)),
            )
            .primary(span, "incompatible operands")
            .help(operator_help(op, lhs, rhs)),
            UnaryOperand { op, ty, .. } => {
                Diagnostic::error("operator-types", format!("`{op}` cannot be applied to {}", self.t(ty))).primary(span, "wrong operand")
            }
            NotCallable { ty, .. } => {
                let d = Diagnostic::error("not-callable", format!("{} is not a function", self.t(ty))).primary(span, "called here");
                if let Type::Record(_) = ty {
                    d.help(format!("build a record with braces: `{} {{ field: value }}`", TypeDisplay::new(ty, self.records)))
                } else {
                    d
                }
            }
            ArgCount { callee, min, max, found, .. } => {
                let wanted = if min == max { format!("{min}") } else { format!("{min} to {max}") };
                Diagnostic::error(
                    "argument-count",
                    format!("`{callee}` takes {wanted} argument{}, but {found} {} given", plural(*max), if *found == 1 { "was" } else { "were" }),
                )
                .primary(span, "wrong number of arguments")
            }
            UnknownNamedArg { callee, name, .. } => {
                Diagnostic::error("unknown-argument", format!("`{callee}` has no parameter named `{name}`")).primary(span, "unknown name")
            }
            ArgTwice { name, .. } => {
                Diagnostic::error("argument-twice", format!("argument `{name}` is given twice")).primary(span, "given again here")
            }
            PositionalAfterNamed { .. } => Diagnostic::error("positional-after-named", "positional argument after a named one")
                .primary(span, "move it before the named arguments"),
            MissingFields { record, fields, .. } => {
                let names: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
                Diagnostic::error("missing-fields", format!("missing field{} {} in `{record}`", plural(fields.len()), join_words(&names, "and")))
                    .primary(span, "incomplete record")
                    .help("give every field that has no default and is not nullable")
            }
            NotIndexable { ty, .. } => {
                Diagnostic::error("not-indexable", format!("{} cannot be indexed", self.t(ty))).primary(span, "indexed here")
            }
            NoFields { ty, field, .. } => {
                Diagnostic::error("no-fields", format!("{} has no field `{field}`", self.t(ty))).primary(span, "unknown field")
            }
            CannotInfer { name, .. } => Diagnostic::error("cannot-infer", format!("cannot tell the type of {name}"))
                .primary(span, "type unknown here")
                .help("add a type annotation"),
            NotIterable { ty, .. } => Diagnostic::error("not-iterable", format!("cannot loop over {}", self.t(ty)))
                .primary(span, "expected a list, a map or a range"),
            MapNeedsPair { .. } => Diagnostic::error("map-loop", "looping over a map gives key-value pairs")
                .primary(span, "expected a pair")
                .help("write `for (key, value) in map`"),
            MissingReturn { name, ret, .. } => Diagnostic::error(
                "missing-return",
                format!("`{name}` can reach its end without returning {}", self.t(ret)),
            )
            .primary(span, format!("declared to return {}", self.t(ret)))
            .help("add a `return` on every path, or make the return type nullable"),
            ReturnOutsideFn { .. } => Diagnostic::error("return-outside-function", "`return` outside a function").primary(span, "not in a function"),
            OutsideLoop { keyword, .. } => {
                Diagnostic::error("outside-loop", format!("`{keyword}` outside a loop")).primary(span, "not in a loop")
            }
            NotPrintable { ty, .. } => {
                Diagnostic::error("not-printable", format!("{} cannot be turned into text", self.t(ty))).primary(span, "not printable")
            }
            BadFormatSpec { spec, why, .. } => Diagnostic::error("format-spec", format!("invalid format spec `:{spec}`"))
                .primary(span, "formatted here")
                .note(why.clone()),
            FormatSpec { spec, ty, why, .. } => {
                Diagnostic::error("format-spec", format!("format spec `:{spec}` cannot format {}", self.t(ty)))
                    .primary(span, "formatted here")
                    .note(why.clone())
            }
            TryOnNonResult { ty, .. } => Diagnostic::error("try-non-result", format!("`?` needs a `Result`, found {}", self.t(ty)))
                .primary(span, "not a Result"),
            TryOutsideResultFn { fn_name, ret, .. } => Diagnostic::error(
                "try-outside-result-function",
                format!("`?` can only be used in a function that returns a `Result`, and `{fn_name}` returns {}", self.t(ret)),
            )
            .primary(span, "the `Err` would have nowhere to go")
            .help(format!("change the return type to `Result<{}>`, or handle the error with `match`", TypeDisplay::new(ret, self.records))),
            ResultMatchNotExhaustive { missing, .. } => Diagnostic::error(
                "non-exhaustive-match",
                format!("this match on a `Result` does not handle `{missing}`"),
            )
            .primary(span, format!("`{missing}` not covered"))
            .help(format!("add an arm `{missing} => …`")),
            PatternMismatch { pattern, ty, .. } => Diagnostic::error(
                "pattern-type",
                format!("{pattern} pattern cannot match a value of type {}", self.t(ty)),
            )
            .primary(span, "pattern of the wrong type"),
            BindingInOrPattern { .. } => Diagnostic::error("binding-in-or-pattern", "names cannot be bound inside `|` patterns")
                .primary(span, "binds a name"),
            NeverEqual { lhs, rhs, equal, .. } => Diagnostic::warning(
                "never-equal",
                format!("{} and {} values are never equal: this is always `{}`", self.t(lhs), self.t(rhs), !equal),
            )
            .primary(span, "values of two different types")
            .help("convert one side first (`n.to_str()`, `s.to_int()`), or compare values of one type"),
            UnreachableArm { .. } => Diagnostic::warning("unreachable-arm", "unreachable match arm")
                .primary(span, "an earlier arm already matches everything"),
            TupleArity { found, expected, ty, .. } => Diagnostic::error(
                "tuple-arity",
                format!("a pattern of {found} item{} cannot match {}, which has {expected}", plural(*found), self.t(ty)),
            )
            .primary(span, format!("expected {expected} item{}", plural(*expected))),
            NoTupleItem { ty, index, .. } => {
                let d = Diagnostic::error("no-tuple-item", format!("{} has no item `.{index}`", self.t(ty))).primary(span, "no such item");
                match ty {
                    Type::Tuple(ts) if ts.is_empty() => d.note("the empty tuple has no items"),
                    Type::Tuple(ts) => d.note(format!("its items are `.0` to `.{}`", ts.len() - 1)),
                    _ => d,
                }
            }
            JwtDecodeUnhandled { expected, .. } => Diagnostic::error(
                "unhandled-jwt-decode",
                "the result of `jwt.decode` is used without handling its error",
            )
            .primary(span, format!("this is a `Result`, not {}", self.t(expected)))
            .help("a token can be forged or expired: unwrap with `?` (`jwt.decode(token, secret)?`) or `match` on `Ok`/`Err`"),
            MissingAwait { inner, .. } => Diagnostic::error("missing-await", "this value is a future that is never awaited")
                .primary(span, format!("a `Future<{}>`", TypeDisplay::new(inner, self.records)))
                .help("add `.await` after this call")
                .fix_at(edits::after(self.text, span), "Add `.await`", ".await"),
            AwaitOutsideAsync { fn_name, fn_span, .. } => Diagnostic::error(
                "await-outside-async",
                format!("`.await` is only allowed in an async function, and `{fn_name}` is not async"),
            )
            .primary(span, "awaited here")
            .secondary(*fn_span, "this function")
            .help("declare it with `async fn`")
            .fix_at(edits::fn_keyword_before(self.text, *fn_span), format!("Make `{fn_name}` async"), "async "),
            AwaitNonFuture { ty, .. } => {
                let d = Diagnostic::error("await-non-future", format!("{} is not a future; there is nothing to await", self.t(ty))).primary(span, "remove `.await`");
                match edits::trailing_await(self.text, span) {
                    Some(at) => d.fix("Remove `.await`", at, ""),
                    None => d,
                }
            }
            UnusedFuture { .. } => Diagnostic::error("unused-future", "this call returns a future that is never awaited, so it never runs")
                .primary(span, "never runs")
                .help("add `.await` after the call")
                .fix_at(edits::after(self.text, span), "Add `.await`", ".await"),
            StatusReturnOutsideHandler { .. } => Diagnostic::error(
                "status-outside-handler",
                "`return STATUS BODY` is only allowed in HTTP handlers and the auth provider",
            )
            .primary(span, "not in a handler")
            .help("return an `Err(…)` instead and let the handler choose the status"),
            UnknownDecorator { name, suggestion, .. } => {
                let d = Diagnostic::error("unknown-decorator", format!("unknown decorator `@{name}`")).primary(span, "not a decorator Fitz knows");
                match suggestion {
                    Some(s) => suggest(d, self.text, span, name, s, &format!("@{s}")),
                    None => d,
                }
            }
            UnsupportedDecorator { name, .. } => {
                Diagnostic::error("unsupported-decorator", format!("`@{name}` is not supported by this compiler yet"))
                    .primary(span, "not supported yet")
            }
            DecoratorPlacement { name, on, .. } => {
                let belongs = match name.as_str() {
                    "table" => "a type",
                    "primary" | "hidden" => "a field of a type",
                    _ => "a function",
                };
                Diagnostic::error("decorator-placement", format!("`@{name}` cannot be used on a {on}"))
                    .primary(span, format!("`@{name}` belongs on {belongs}"))
            }
            DecoratorKey { decorator, key, suggestion, .. } => with_suggestion(
                Diagnostic::error("decorator-key", format!("`@{decorator}` has no setting `{key}`")).primary(span, "unknown setting"),
                key,
                suggestion,
            ),
            DecoratorKeyTwice { decorator, key, .. } => Diagnostic::error("decorator-key", format!("`@{decorator}` is given `{key}` twice"))
                .primary(span, "given again here")
                .help("give it once, by position or as `key=value`"),
            DecoratorKeyType { decorator, key, expected, .. } => Diagnostic::error(
                "decorator-key",
                format!("`{key}` of `@{decorator}` is {}", match *expected {
                    "Int" => "an integer literal",
                    "Bool" => "`true` or `false`",
                    _ => "a string literal",
                }),
            )
            .primary(span, format!("expected {}", match *expected {
                "Int" => "an `Int` literal",
                "Bool" => "a `Bool` literal",
                _ => "a `Str` literal",
            })),
            RolesSyntax { text, .. } => Diagnostic::error("roles-syntax", format!("`{text}` is not a chain of roles"))
                .primary(span, "in this declaration")
                .help("write roles from highest to lowest, separated by `>`: `@roles(\"admin > editor > viewer\")`; several chains are separated by commas"),
            RolesCycle { role, .. } => Diagnostic::error("roles-cycle", format!("role `{role}` is declared above itself"))
                .primary(span, "the declared roles go round in a cycle")
                .help("each role admits the ones below it, so the chains must not loop back"),
            UnknownRole { role, suggestion, .. } => {
                let d = Diagnostic::error("unknown-role", format!("role `{role}` is not declared in `@roles`")).primary(span, "not a declared role");
                match suggestion {
                    Some(s) => suggest(d, self.text, span, role, s, s),
                    None => d.help("declare it in the auth provider's `@roles(…)`"),
                }
            }
            RedundantRequires { role, lower, .. } => Diagnostic::warning("redundant-requires", format!("requiring `{role}` adds nothing: `{lower}` is required too"))
                .primary(span, "redundant")
                .help(format!("`{role}` is above `{lower}`, so whoever has it passes as `{lower}` already; keep the lower one")),
            RolesNotOnProvider { .. } => Diagnostic::error("roles-not-on-provider", "`@roles` goes on the `@auth_provider` function")
                .primary(span, "not on the auth provider"),
            HashLeftOut { record, field, .. } => Diagnostic::warning("hash-left-out", format!("`{record}.{field}` is left out of this answer"))
                .primary(span, "answered without the password hash")
                .help(format!("a password hash never leaves the app (answers, logs, OpenAPI); mark it `@hidden {field}: Str` to say so")),
            OutsideTransaction { db, tx, .. } => Diagnostic::warning("outside-transaction", format!("`{db}` inside its own transaction runs outside it"))
                .primary(span, format!("`{db}` here is not the transaction"))
                .help(format!("use `{tx}`, the transaction's handle: a query on `{db}` neither commits nor rolls back with it (and on SQLite waits for its lock)"))
                .fix_in(edits::word_in(self.text, span, db), format!("Use `{tx}`"), tx),
            RefusesBeforeVerify { verify, .. } => Diagnostic::warning("refuses-before-verify", "this 401 is answered before any password is verified")
                .primary(span, "refused without hashing")
                .secondary(*verify, "a password is verified only here")
                .help("an unknown user is refused faster than a wrong password, which tells a client who has an account: verify against no hash first, `hash.verify(password, null)`, which costs the same"),
            ServerKeyIgnored { key, .. } => {
                let why = match *key {
                    "shutdown_timeout_secs" => "on shutdown the host drains requests, each already bounded by its time limit (README, Limits)",
                    "ws_heartbeat_secs" => "this host has no WebSockets",
                    "observability" => "the host's access log and structured logs are always on",
                    _ => "this host has no /metrics endpoint",
                };
                Diagnostic::warning("server-setting-ignored", format!("`@server({key}=…)` has no effect here"))
                    .primary(span, "accepted and ignored")
                    .help(why)
            }
            ServerSetting { what, value, expected, .. } => {
                Diagnostic::error("server-setting", format!("`@server` {what} `{value}` is not valid")).primary(span, format!("expected {expected}"))
            }
            DecoratorArgs { name, expected, .. } => {
                Diagnostic::error("decorator-arguments", format!("`@{name}` takes {expected}")).primary(span, "wrong arguments")
            }
            ConflictingDecorators { first, second, .. } => Diagnostic::error(
                "conflicting-decorators",
                format!("`{second}` cannot be combined with `{first}` on the same function"),
            )
            .primary(span, "conflicts"),
            BadPath { path, problem, .. } => {
                let why = match problem {
                    PathProblem::NoLeadingSlash => "a path must start with `/`".to_string(),
                    PathProblem::UnclosedBrace => "a `{` is never closed".to_string(),
                    PathProblem::EmptyName => "a parameter needs a name made of letters, digits and `_`".to_string(),
                    PathProblem::PartialSegment => "a path parameter must be a whole segment, like `/users/{id}`".to_string(),
                    PathProblem::DuplicateParam(n) => format!("parameter `{n}` appears twice"),
                    PathProblem::QueryKeyMismatch { key, param } => {
                        format!("query key `{key}` must have the same name as its parameter `{param}`")
                    }
                    PathProblem::BadQueryPair(p) => format!("`{p}` is not of the form `key={{key}}`"),
                };
                Diagnostic::error("bad-path", format!("invalid route path \"{path}\"")).primary(span, why)
            }
            PathParamUnbound { name, fn_name, fn_span, .. } => Diagnostic::error(
                "unbound-path-parameter",
                format!("the route declares `{{{name}}}` but `{fn_name}` has no parameter `{name}`"),
            )
            .primary(span, format!("`{name}` declared here"))
            .secondary(*fn_span, "handler")
            .help(format!("add a parameter `{name}: Str` (or `Int`, `Float`, `Bool`)"))
            .fix_at(edits::params_after(self.text, *fn_span).map(|(at, _)| at), format!("Add parameter `{name}: Str`"), {
                let more = edits::params_after(self.text, *fn_span).is_some_and(|(_, some)| some);
                format!("{name}: Str{}", if more { ", " } else { "" })
            }),
            WsShape { why, help, .. } => Diagnostic::error("ws-shape", format!("a WebSocket handler {why}")).primary(span, "here").help(*help),
            ParamUnbound { name, ty, .. } => Diagnostic::error(
                "unbound-parameter",
                format!("handler parameter `{name}: {}` gets no value", TypeDisplay::new(ty, self.records)),
            )
            .primary(span, "not in the path, not in the query, and not of an injected type")
            .note("parameters come from `{name}` in the path, `?name={name}` in the query, the JSON body (one record type), `DbConn`, `headers: Map<Str, Str>`, `@header(name=…)`, `@cookie(name=…)` or the authenticated user")
            .help(format!("add `{{{name}}}` to the path, or `?{name}={{{name}}}` for a query parameter")),
            PathParamType { name, ty, .. } => Diagnostic::error(
                "path-parameter-type",
                format!("path parameter `{name}` has type {}", self.t(ty)),
            )
            .primary(span, "path parameters are `Int`, `Float`, `Bool`, `Str`, `Date`, `DateTime` or `Uuid`"),
            QueryParamType { name, ty, .. } => Diagnostic::error(
                "query-parameter-type",
                format!("query parameter `{name}` has type {}", self.t(ty)),
            )
            .primary(span, "query parameters are `Int`, `Float`, `Bool`, `Str`, `Date`, `DateTime` or `Uuid`, optionally nullable"),
            CarriedParamType { carrier, name, ty, .. } => Diagnostic::error(
                "carried-parameter-type",
                format!("{carrier} parameter `{name}` has type {}", self.t(ty)),
            )
            .primary(span, format!("a {carrier} is text: `Str`, or `Str?` when it may be absent"))
            .help("parse it in the handler (`.to_int()`, …)"),
            CarriedParamMissing { carrier, param, fn_name, .. } => Diagnostic::error(
                "unbound-carried-parameter",
                format!("`@{carrier}` binds `{param}`, but `{fn_name}` has no parameter `{param}`"),
            )
            .primary(span, format!("binds `{param}`"))
            .help(format!("add a parameter `{param}: Str` (or `Str?`), or name another with `into=\"…\"`")),
            MiddlewareFn { .. } => Diagnostic::error("unsupported-middleware", "`@middleware` takes a function of the program's, by name, or `cors(…)`")
                .primary(span, "neither")
                .help("`@middleware(auth)` with `fn auth(req: Request) { … }`, or `@middleware(cors())`"),
            CorsOffRoute { .. } => Diagnostic::error("cors-off-route", "`@middleware(cors(…))` belongs on a route handler")
                .primary(span, "this function has no `@get`, `@post`, … route"),
            FlagOffRoute { .. } => Diagnostic::error("flag-off-route", "`@flag(\"…\")` gates a route handler")
                .primary(span, "this function has no `@get`, `@post`, … route")
                .help("inside other code, ask `flag(\"name\")`"),
            CarriedOffRoute { carrier, .. } => Diagnostic::error("carried-off-route", format!("`@{carrier}` binds a parameter of a route handler"))
                .primary(span, "this function has no `@get`, `@post`, … route")
                .help("put it on a handler, with the route decorator"),
            TwoBodies { first, .. } => Diagnostic::error("two-bodies", "a handler can take only one request body")
                .primary(span, "second record parameter")
                .secondary(*first, "the body is already bound here"),
            DuplicateRoute { method, path, first, .. } => {
                Diagnostic::error("duplicate-route", format!("route {method} {path} is declared twice"))
                    .primary(span, "declared again here")
                    .secondary(*first, "first declared here")
            }
            BodyOnGet { method, .. } => {
                Diagnostic::warning("body-on-get", format!("a {method} handler reads a JSON body")).primary(span, "read from the request body")
                    .note("clients and proxies often drop bodies of GET and DELETE requests")
            }
            UserParamOnPublicRoute { user, fn_span, .. } => Diagnostic::warning(
                "user-on-public-route",
                format!("`{user}` is the authenticated user type, but this route is not protected"),
            )
            .primary(span, "this will be read from the request body")
            .help("add `@authenticated` (or `@admin` / `@requires`) to the handler")
            .fix_in(self.above_fn(*fn_span), "Add `@authenticated`", self.decorator_line(*fn_span, "@authenticated")),
            NotSerializable { ty, what, .. } => {
                let d = Diagnostic::error("not-serializable", format!("a {what} cannot be of type {}", self.t(ty)))
                    .primary(span, "not representable as JSON");
                if contains_secret(ty) {
                    d.note("secrets are never sent in responses")
                } else {
                    d
                }
            }
            HandlerParamDefault { .. } => Diagnostic::error("handler-default", "handler parameters cannot have defaults")
                .primary(span, "make it nullable (`T?`) to accept a missing query parameter"),
            NoAuthProvider { decorator, fn_name, .. } => Diagnostic::error(
                "no-auth-provider",
                format!("{decorator} on fn '{fn_name}': no `@auth_provider` registered in the program"),
            )
            .primary(span, "needs an auth provider")
            .help("declare one: `@auth_provider fn check(headers: Map<Str, Str>) -> Result<User> { … }`"),
            DuplicateAuthProvider { first, .. } => Diagnostic::error("duplicate-auth-provider", "a program has only one `@auth_provider`")
                .primary(span, "second provider")
                .secondary(*first, "first provider"),
            ProviderShape { problem, .. } => {
                let (title, help) = match problem {
                    ProviderProblem::Params => (
                        "an `@auth_provider` takes `(headers: Map<Str, Str>)` or `(headers: Map<Str, Str>, db: DbConn)`".to_string(),
                        "change the parameters to `(headers: Map<Str, Str>, db: DbConn)`".to_string(),
                    ),
                    ProviderProblem::ReturnNotAnnotated => (
                        "an `@auth_provider` must declare its return type".to_string(),
                        "add `-> Result<User>` (with your user type)".to_string(),
                    ),
                    ProviderProblem::ReturnNotResult(t) => (
                        format!("an `@auth_provider` returns `Result<U>` for a record type `U`, not {}", self.t(t)),
                        "return `Result<User>`: `Ok(user)` lets the request in, `Err(message)` answers 401".to_string(),
                    ),
                    ProviderProblem::UserNotRecord(t) => (
                        format!("the user an `@auth_provider` returns must be a record type, not {}", self.t(t)),
                        "declare a `type User { … }` and return `Result<User>`".to_string(),
                    ),
                };
                Diagnostic::error("auth-provider-shape", title).primary(span, "wrong shape").help(help)
            }
            RoleFieldMissing { decorator, user, type_span, .. } => Diagnostic::error(
                "missing-role-field",
                format!("to use {decorator} the `{user}` type must have a `role: Str` or `roles: List<Str>` field"),
            )
            .primary(span, "checks the user's role")
            .secondary(*type_span, format!("`{user}` has no non-nullable `role: Str` and no `roles: List<Str>`"))
            .help(format!("add `role: Str` (one role) or `roles: List<Str>` (several) to `type {user}`")),
            DuplicateRole { role, first, .. } => Diagnostic::error("duplicate-role", format!("role \"{role}\" is required twice"))
                .primary(span, "repeated")
                .secondary(*first, "first required here"),
            RedundantAuthenticated { with, .. } => Diagnostic::warning(
                "redundant-authenticated",
                format!("`@authenticated` is implied by `{with}`"),
            )
            .primary(span, "has no effect")
            .help("remove `@authenticated`")
            .fix("Remove `@authenticated`", edits::whole_line(self.text, span), ""),
            UserParamCount { fn_name, user, found, .. } => {
                let d = Diagnostic::error(
                    "user-parameter",
                    format!("protected handler `{fn_name}` must take exactly one parameter of type `{user}`, found {found}"),
                )
                .primary(span, "the authenticated user is injected into that parameter");
                if *found == 0 {
                    let more = edits::params_after(self.text, span).is_some_and(|(_, some)| some);
                    d.help(format!("add a parameter `user: {user}`")).fix_at(
                        edits::params_after(self.text, span).map(|(at, _)| at),
                        format!("Add parameter `user: {user}`"),
                        format!("user: {user}{}", if more { ", " } else { "" }),
                    )
                } else {
                    d
                }
            }
            AuthOnNonRoute { decorator, .. } => Diagnostic::error(
                "auth-without-route",
                format!("`{decorator}` only applies to HTTP handlers"),
            )
            .primary(span, "this function has no route decorator")
            .help("add a route such as `@get(\"/path\")`, or remove the auth decorator"),
            InvalidCron { expr, problem, .. } => {
                let why = match problem {
                    CronProblem::FieldCount(n) => {
                        format!("expected 6 fields (sec min hour day month weekday) or 5 (min hour day month weekday), found {n}")
                    }
                    CronProblem::Field { field, value, reason } => format!("{field} `{value}` {reason}"),
                    CronProblem::Interval(t) => format!("`{t}` is not an interval: a number and `s`, `m`, `h` or `d`, from 1s to 7d"),
                };
                let what = if expr.starts_with("@every") { "interval" } else { "cron expression" };
                Diagnostic::error("invalid-cron", format!("invalid {what} \"{expr}\"")).primary(span, why)
            }
            CronParams { .. } => Diagnostic::error("cron-parameters", "a `@cron` job takes no parameters, or just `db: DbConn`")
                .primary(span, "unexpected parameter"),
            TestParams { .. } => Diagnostic::error("test-parameters", "a `@test` takes no parameters, or just `db: DbConn` (the test's own fresh database)")
                .primary(span, "unexpected parameter")
                .help("call the app's routes with `test.get(…)`, `test.post(…)`"),
            TaskType { name, ty, what, .. } => Diagnostic::error(
                "background-type",
                format!("the {what} of `@background` function `{name}` has type {}, which a task cannot be given", self.t(ty)),
            )
            .primary(span, "not a value a task can receive")
            .note("a task runs in a sandbox of its own: it takes values (numbers, strings, lists, maps, records) and `DbConn`, and returns one"),
            SpawnNotBackground { callee: Some(name), fn_span, .. } => Diagnostic::error("spawn-not-background", format!("spawn: fn `{name}` is not declared with @background"))
                .primary(span, "not a background function")
                .help(format!("add `@background` above `fn {name}`"))
                .fix_in(fn_span.and_then(|s| self.above_fn(s)), format!("Add `@background` to `{name}`"), fn_span.map_or_else(String::new, |s| self.decorator_line(s, "@background"))),
            SpawnNotBackground { callee: None, .. } => Diagnostic::error("spawn-not-background", "`spawn` takes a call of a `@background` function, such as `spawn(send_mail(to))`")
                .primary(span, "not a call of a named function"),
            SpawnKept { .. } => Diagnostic::error("spawn-kept", "a spawned task is awaited where it is spawned or let go")
                .primary(span, "kept for later")
                .help("write `spawn(f(x)).await` to wait for its value, or `let _ = spawn(f(x))` to let it run on its own"),
            BadRelation { decorator, reason, .. } => Diagnostic::error("bad-relation", format!("this `@{decorator}` {reason}")).primary(span, "here"),
            NotInWhere { construct, .. } => Diagnostic::error(
                "not-sql",
                format!("{construct} cannot be translated to SQL in a `where` clause"),
            )
            .primary(span, "uses the row, but SQL cannot express this")
            .note("inside `where`, the row supports comparisons, `and`/`or`/`not`, arithmetic, `.starts_with` `.ends_with` `.contains` `.is_null` `.is_not_null` `.is_in`")
            .help("compute values that do not depend on the row before the query, or filter the results after it"),
            WhereNotLambda { method, .. } => Diagnostic::error(
                "query-lambda",
                format!("`.{method}()` takes a lambda like `fn(row) => row.field …`"),
            )
            .primary(span, if *method == "order_by" { "expected `fn(row) => row.column`" } else { "expected `fn(row) => condition`" }),
            WhereRowAlone { .. } => Diagnostic::error("row-in-where", "the row itself cannot be used in a `where` clause")
                .primary(span, "compare one of its fields instead"),
            NotAColumn { record, field, ty, .. } => Diagnostic::error(
                "not-a-column",
                format!("field `{field}` of table type `{record}` has type {}, which cannot be stored in a column", self.t(ty)),
            )
            .primary(span, "columns are `Int`, `Float`, `Str`, `Bool`, `DateTime`, `Date` or `Uuid`, optionally nullable"),
            NeedsWhere { terminal, .. } => Diagnostic::error("needs-where", format!("`.{terminal}()` needs a `.where(…)` first"))
                .primary(span, format!("would {terminal} every row"))
                .help(if *terminal == "update" {
                    "to update every row on purpose, write `.where(fn(_) => true).update(db, { … })`".to_string()
                } else {
                    "to delete every row on purpose, write `.where(fn(_) => true).delete(db)`".to_string()
                }),
            UpdateNeedsMapLiteral { .. } => Diagnostic::error("update-map", "`.update()` takes a map literal of column names")
                .primary(span, "expected `{ \"column\": value }`"),
            UnfinishedQuery { .. } => Diagnostic::error("unfinished-query", "this query is never run")
                .primary(span, "a query being built")
                .help("finish it with `.first(db)`, `.all(db)`, `.count(db)`, `.update(db, …)` or `.delete(db)`, then `.await`"),
            NoPrimaryKey { record, .. } => Diagnostic::error("no-primary-key", format!("table type `{record}` has no primary key"))
                .primary(span, "used as a table here")
                .help("add a field `id: Int`, or mark a field with `@primary`"),
            TwoPrimaryKeys { record, first, .. } => Diagnostic::error("two-primary-keys", format!("`{record}` has two `@primary` fields"))
                .primary(span, "second primary key")
                .secondary(*first, "first primary key")
                .note("composite primary keys are not supported"),
            MutatesTopLevel { global, entry, .. } => Diagnostic::error(
                "mutates-top-level",
                format!("`{entry}` changes top-level `{global}`, but each request starts from the top level's state"),
            )
            .primary(span, "this change would be lost when the request ends")
            .note("every request (and cron tick) runs in a fresh sandbox made from the top level, so no two see each other's changes; upstream keeps such state in one process's memory, which a host of many instances cannot")
            .help(format!("keep data that must outlive the request in the database (`@table` type, `T.insert(db, …)`), or compute `{global}` once at the top level and only read it here")),
            SecretNameNotLiteral { .. } => Diagnostic::error("secret-name", "`secret` takes the name as a string literal")
                .primary(span, "expected \"NAME\"")
                .note("the host checks at start-up that every secret the program names is set"),
            Unsupported { what, .. } => {
                Diagnostic::error("unsupported", format!("{what} is not supported yet")).primary(span, "not supported")
            }
            WsBroadcastEndpoint { found, endpoints, .. } => {
                let d = match found {
                    Some(path) => Diagnostic::error("ws-endpoint", format!("no `@ws` endpoint at \"{path}\"")).primary(span, "not the path of a `@ws` handler"),
                    None => Diagnostic::error("ws-endpoint", "`ws_broadcast` takes the endpoint as a string literal").primary(span, "expected the path of a `@ws` handler"),
                };
                let suggestion = found.as_deref().and_then(|f| crate::check::names::closest(f, endpoints.iter().map(String::as_str)));
                match (suggestion, endpoints.is_empty()) {
                    (Some(s), _) => d.help(format!("did you mean \"{s}\"?")).fix(format!("Write \"{s}\""), span, format!("\"{s}\"")),
                    (None, true) => d.help("declare one with `@ws(\"/path\") async fn h(conn: WsConn<T>) { … }`"),
                    (None, false) => d.help(format!("the program's endpoints: {}", endpoints.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", "))),
                }
            }
        }
    }

    fn mismatch(&self, expected: &Type, found: &Type, context: &Expectation, span: crate::span::Span) -> Diagnostic {
        let (e, f) = (self.t(expected), self.t(found));
        let title = match context {
            Expectation::Argument { callee, index } => {
                format!("argument {} of `{callee}` should be {e}, found {f}", index + 1)
            }
            Expectation::Return { fn_name } => format!("`{fn_name}` returns {e}, but this is {f}"),
            Expectation::Let { name } => format!("`{name}` is declared as {e}, but the value is {f}"),
            Expectation::Condition => format!("a condition must be `Bool`, found {f}"),
            Expectation::Field { record, field } => format!("field `{field}` of `{record}` is {e}, found {f}"),
            Expectation::ListElement => format!("list elements must have one type: expected {e}, found {f}"),
            Expectation::MapKey => format!("map keys must have one type: expected {e}, found {f}"),
            Expectation::MapValue => format!("map values must have one type: expected {e}, found {f}"),
            Expectation::MatchArm => format!("match arms must have one type: expected {e}, found {f}"),
            Expectation::IfBranch => format!("`if` branches must have one type: expected {e}, found {f}"),
            Expectation::Default { name } => format!("the default of `{name}` should be {e}, found {f}"),
            Expectation::Assign | Expectation::Plain => format!("mismatched types: expected {e}, found {f}"),
        };
        let d = Diagnostic::error("type-mismatch", title).primary(span, format!("expected {e}, found {f}"));
        match (expected, found) {
            (Type::Str, Type::Secret) => d.help("use `.expose()` to read the secret's value").fix_at(edits::after(self.text, span), "Add `.expose()`", ".expose()"),
            (Type::Str, Type::Int | Type::Float | Type::Bool) => d.help("use interpolation to turn it into text: \"{value}\""),
            (_, Type::Result(ok, _)) if unify_shallow(expected, ok) => {
                d.help("this is a `Result`: unwrap it with `?` or handle both cases with `match`").fix_at(edits::after(self.text, span), "Unwrap with `?`", "?")
            }
            (_, Type::Null) => d.help(format!("to allow `null`, declare the type as `{}?`", TypeDisplay::new(expected, self.records))),
            _ => d,
        }
    }
}

fn unify_shallow(a: &Type, b: &Type) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn contains_secret(t: &Type) -> bool {
    match t {
        Type::Secret => true,
        Type::List(x) | Type::Nullable(x) | Type::Future(x) => contains_secret(x),
        Type::Map(a, b) | Type::Result(a, b) => contains_secret(a) || contains_secret(b),
        _ => false,
    }
}

fn operator_help(op: &str, lhs: &Type, rhs: &Type) -> String {
    match (op, lhs, rhs) {
        (_, Type::Any, _) | (_, _, Type::Any) => "take the value out of the `Any` first, as the type it holds: `v.as_int()`, or `n: Int = v`".into(),
        ("+", Type::Str, _) | ("+", _, Type::Str) => "to build text from other values use interpolation: \"{a}{b}\"".into(),
        ("%", _, _) => "`%` works on `Int` only".into(),
        ("==" | "!=", _, _) => "only values of the same type can be compared".into(),
        _ => "arithmetic needs `Int` or `Float`; comparisons need two numbers, two strings or two dates".into(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
