//! What an editor asks of a program (`fitz lsp`): hover, definitions, references, symbols and
//! completions, answered from the same parse and typed program `fitz check` makes — kept even
//! when the program has type errors, so a half-written file still answers.
//!
//! Offsets are the program's (`Sources`: every file at its base); the server turns them into
//! files, lines and columns.

use crate::ast::{self, Item, StmtKind};
use crate::check::vocabulary as vocab;
use crate::diagnostic::Diagnostics;
use crate::project::Project;
use crate::sources::Sources;
use crate::span::Span;
use crate::syntax::token::Token;
use crate::tast::{self, TExpr, TExprKind, visit};
use crate::types::{Type, TypeDisplay};

/// One analysis of a program.
pub struct Analysis {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
    module: Option<ast::Module>,
    program: Option<tast::Program>,
    records: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SymbolKind {
    Function,
    Type,
    Field,
    Variable,
}

#[derive(Clone, Debug)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    /// The whole declaration, and its name.
    pub span: Span,
    pub name_span: Span,
    pub children: Vec<Symbol>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CompletionKind {
    Keyword,
    Function,
    Module,
    Type,
    Field,
    Method,
    Variable,
    Decorator,
}

#[derive(Clone, Debug)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
}

/// A function's signature while its call is being written (`signature help`).
#[derive(Clone, Debug, PartialEq)]
pub struct SignatureHelp {
    pub label: String,
    /// Each parameter as written in the declaration (`a: Int = 1`).
    pub params: Vec<String>,
    /// The parameter the cursor is in.
    pub active: usize,
    pub doc: Option<String>,
}

/// The call whose arguments hold `offset` in `text`: the callee's last name and which argument
/// the cursor is in. Text, not a parse: the call is usually half-written (`add(1, `).
pub fn call_at(text: &str, offset: usize) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let at = offset.min(bytes.len());
    // Strings and comments before the cursor on its own line would fool the count; a call's
    // arguments rarely hold brackets inside strings, and a wrong guess only shows no help.
    let (mut depth, mut commas, mut i) = (0i32, 0usize, at);
    // A call's arguments are near; past this, the cursor is in no call worth helping with.
    let stop = at.saturating_sub(4096);
    while i > stop {
        i -= 1;
        match bytes[i] {
            b')' | b']' | b'}' => depth += 1,
            b'[' | b'{' if depth > 0 => depth -= 1,
            b'[' | b'{' => return None,
            b'(' if depth > 0 => depth -= 1,
            b'(' => {
                let name_end = text[..i].trim_end().len();
                let name_start = text[..name_end].rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |s| s + 1);
                let name = &text[name_start..name_end];
                return (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then(|| (name.to_string(), commas));
            }
            b',' if depth == 0 => commas += 1,
            _ => {}
        }
    }
    None
}

const KEYWORDS: &[&str] = &[
    "fn", "async", "await", "let", "type", "if", "else", "match", "for", "in", "while", "loop", "return", "break", "continue", "import", "from", "as", "and", "or", "not", "true",
    "false", "null",
];

impl Analysis {
    pub fn of(project: &Project) -> Analysis {
        let checked = crate::check_project(project);
        // The typed program even when it has errors: what the checker could type is typed.
        let program = checked.program.or_else(|| {
            let mut module = project.module.clone()?;
            crate::commands::add_dispatcher(&mut module, project.sources.joined());
            Some(crate::check::check_module(&module).0)
        });
        let records = program.as_ref().map(|p| p.records.iter().map(|r| r.name.clone()).collect()).unwrap_or_default();
        Analysis { sources: project.sources.clone(), diagnostics: checked.diagnostics, module: project.module.clone(), program, records }
    }

    /// Whether the files parsed (hover and completion need it; diagnostics do not).
    pub fn is_readable(&self) -> bool {
        self.module.is_some()
    }

    fn show(&self, ty: &Type) -> String {
        TypeDisplay { ty, records: &self.records }.to_string()
    }

    /// The identifier at `offset`, with its span.
    pub fn word_at(&self, offset: u32) -> Option<(String, Span)> {
        let text = self.sources.joined().as_bytes();
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let at = offset as usize;
        if at > text.len() {
            return None;
        }
        let mut start = at;
        while start > 0 && is_word(text[start - 1]) {
            start -= 1;
        }
        let mut end = at;
        while end < text.len() && is_word(text[end]) {
            end += 1;
        }
        if start == end || text[start].is_ascii_digit() {
            return None;
        }
        let word = String::from_utf8_lossy(&text[start..end]).into_owned();
        Some((word, Span::new(start as u32, end as u32)))
    }

    /// Whether the word at `span` follows a `.` (a field or a method).
    fn after_dot(&self, span: Span) -> bool {
        self.sources.joined()[..span.start as usize].trim_end().ends_with('.')
    }

    fn items(&self) -> &[Item] {
        self.module.as_ref().map_or(&[], |m| m.items.as_slice())
    }

    fn functions(&self) -> &[tast::FnDef] {
        self.program.as_ref().map_or(&[], |p| p.functions.as_slice())
    }

    /// The innermost function (or lambda) whose body holds `offset`.
    fn function_at(&self, offset: u32) -> Option<&tast::FnDef> {
        self.functions().iter().filter(|f| f.span.start <= offset && offset <= f.span.end && !f.span.is_empty()).min_by_key(|f| f.span.len())
    }

    /// The smallest typed expression holding `offset`.
    fn expr_at(&self, offset: u32) -> Option<&TExpr> {
        let f = self.function_at(offset)?;
        let mut best: Option<&TExpr> = None;
        fn walk<'a>(e: &'a TExpr, offset: u32, best: &mut Option<&'a TExpr>) {
            if e.span.start <= offset && offset <= e.span.end {
                if best.is_none_or(|b| e.span.len() <= b.span.len()) {
                    *best = Some(e);
                }
                visit::children(e, &mut |c| walk(c, offset, best));
            }
        }
        walk(&f.body, offset, &mut best);
        best
    }

    /// The `//` lines right above the line `span` starts on: a declaration's documentation.
    fn doc_above(&self, span: Span) -> Option<String> {
        let text = self.sources.joined();
        let line_start = text[..span.start as usize].rfind('\n').map_or(0, |i| i + 1);
        let mut lines = Vec::new();
        let mut end = line_start;
        while end > 0 {
            let prev_start = text[..end - 1].rfind('\n').map_or(0, |i| i + 1);
            let line = text[prev_start..end - 1].trim();
            match line.strip_prefix("//") {
                Some(doc) => lines.push(doc.trim().to_string()),
                None => break,
            }
            end = prev_start;
        }
        lines.reverse();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    fn signature(&self, f: &ast::FnDecl) -> String {
        let text = self.sources.joined();
        let params: Vec<String> = f.params.iter().map(|p| text[p.span.range()].to_string()).collect();
        let ret = f.ret.as_ref().map(|r| format!(" -> {}", &text[r.span.range()])).unwrap_or_default();
        format!("{}fn {}({}){ret}", if f.is_async { "async " } else { "" }, f.name.name, params.join(", "))
    }

    fn record(&self, name: &str) -> Option<(usize, &tast::RecordDef)> {
        self.program.as_ref()?.records.iter().enumerate().find(|(_, r)| r.name == name)
    }

    /// The signature of the program's function `name` (a top-level function, or a method of
    /// one of its types), with the cursor in argument `active`.
    pub fn signature_help(&self, name: &str, active: usize) -> Option<SignatureHelp> {
        let text = self.sources.joined();
        let mut fns = self.items().iter().flat_map(|i| match i {
            Item::Fn(f) => vec![f],
            Item::Type(t) => t.methods.iter().map(|m| &m.decl).collect(),
            _ => vec![],
        });
        let f = fns.find(|f| f.name.name == name)?;
        let params: Vec<String> = f.params.iter().map(|p| text[p.span.range()].to_string()).collect();
        let active = active.min(params.len().saturating_sub(1));
        Some(SignatureHelp { label: self.signature(f), params, active, doc: self.doc_above(f.span) })
    }

    /// What the editor shows over `offset`: the span it is about, and Markdown.
    pub fn hover(&self, offset: u32) -> Option<(Span, String)> {
        let (word, span) = self.word_at(offset)?;
        let code = |s: String, doc: Option<String>| match doc {
            Some(d) => format!("```fitz\n{s}\n```\n\n{d}"),
            None => format!("```fitz\n{s}\n```"),
        };
        // A declaration's name.
        for item in self.items() {
            match item {
                Item::Fn(f) if f.name.span == span => return Some((span, code(self.signature(f), self.doc_above(f.span)))),
                Item::Type(t) => {
                    if t.name.span == span {
                        let fields: Vec<String> = t.fields.iter().map(|f| format!("    {}: {}", f.name.name, &self.sources.joined()[f.ty.span.range()])).collect();
                        return Some((span, code(format!("type {} {{\n{}\n}}", t.name.name, fields.join("\n")), self.doc_above(t.span))));
                    }
                    if let Some(f) = t.fields.iter().find(|f| f.name.span == span) {
                        return Some((span, code(format!("{}.{}: {}", t.name.name, f.name.name, &self.sources.joined()[f.ty.span.range()]), self.doc_above(f.span))));
                    }
                }
                _ => {}
            }
        }
        // A use, by its type.
        let e = self.expr_at(offset)?;
        let text = match &e.kind {
            TExprKind::Field { record, field, .. } => {
                let r = self.program.as_ref()?.records.get(record.0 as usize)?;
                let f = r.fields.get(*field)?;
                format!("{}.{}: {}", r.name, f.name, self.show(&f.ty))
            }
            TExprKind::Local(id) => {
                let local = self.function_at(offset)?.locals.get(id.0 as usize)?;
                format!("{}: {}", local.name, self.show(&e.ty))
            }
            TExprKind::Call { func, .. } | TExprKind::FnRef(func) => {
                let name = &self.functions().get(func.0 as usize)?.name;
                match self.items().iter().find_map(|i| if let Item::Fn(f) = i { (f.name.name == *name).then_some(f) } else { None }) {
                    Some(f) => return Some((span, code(self.signature(f), self.doc_above(f.span)))),
                    None => format!("{word}: {}", self.show(&e.ty)),
                }
            }
            _ if e.span == span => format!("{word}: {}", self.show(&e.ty)),
            _ => return None,
        };
        Some((span, code(text, None)))
    }

    /// Where the name at `offset` is declared.
    pub fn definition(&self, offset: u32) -> Option<Span> {
        let (word, span) = self.word_at(offset)?;
        if self.after_dot(span) {
            // A field: its declaration in the record's type.
            if let Some(TExprKind::Field { record, field, .. }) = self.expr_at(offset).map(|e| &e.kind) {
                let r = self.program.as_ref()?.records.get(record.0 as usize)?;
                return self.field_decl(&r.name, &r.fields.get(*field)?.name);
            }
            return None;
        }
        // A local of the function around it, declared before.
        if let Some(f) = self.function_at(offset)
            && let Some(local) = f.locals.iter().filter(|l| l.name == word && l.span.start <= span.start && !l.span.is_empty()).max_by_key(|l| l.span.start)
        {
            return Some(local.span.min_name(&word, self.sources.joined()));
        }
        self.top_level(&word)
    }

    fn field_decl(&self, record: &str, field: &str) -> Option<Span> {
        self.items().iter().find_map(|i| match i {
            Item::Type(t) if t.name.name == record => t.fields.iter().find(|f| f.name.name == field).map(|f| f.name.span),
            _ => None,
        })
    }

    /// A function, type or global of the program named `name`.
    fn top_level(&self, name: &str) -> Option<Span> {
        self.items().iter().find_map(|i| match i {
            Item::Fn(f) if f.name.name == name => Some(f.name.span),
            Item::Type(t) if t.name.name == name => Some(t.name.span),
            Item::Stmt(s) => match &s.kind {
                StmtKind::Let { name: n, .. } if n.name == name => Some(n.span),
                _ => None,
            },
            _ => None,
        })
    }

    /// Every use and the declaration of the top-level name (or the field) at `offset`, in
    /// every file: the identifier tokens that resolve to it.
    pub fn references(&self, offset: u32) -> Vec<Span> {
        let Some((word, span)) = self.word_at(offset) else { return vec![] };
        let field = self.after_dot(span) || self.items().iter().any(|i| matches!(i, Item::Type(t) if t.fields.iter().any(|f| f.name.span == span)));
        if !field && self.top_level(&word).is_none() {
            return vec![];
        }
        let mut out = Vec::new();
        for file in &self.sources.files {
            let (tokens, _, _) = crate::syntax::lexer::lex_with_comments(&file.text);
            for (start, token, end) in tokens {
                let Token::Ident(name) = token else { continue };
                if name != word {
                    continue;
                }
                let at = Span::new(file.base + start, file.base + end);
                // A field's uses follow a dot (or name it in its type); a top-level name's never do.
                let dotted = self.after_dot(at);
                let declared_field = self.items().iter().any(|i| matches!(i, Item::Type(t) if t.fields.iter().any(|f| f.name.span == at)));
                if field == (dotted || declared_field) {
                    out.push(at);
                }
            }
        }
        out
    }

    /// The declarations of file `file` (its functions, types with their fields, globals).
    pub fn symbols(&self, file: usize) -> Vec<Symbol> {
        let in_file = |s: Span| self.sources.file_at(s.start) == file;
        let mut out = Vec::new();
        for item in self.items() {
            match item {
                Item::Fn(f) if in_file(f.span) => {
                    out.push(Symbol { name: f.name.name.clone(), kind: SymbolKind::Function, span: f.span, name_span: f.name.span, children: vec![] })
                }
                Item::Type(t) if in_file(t.span) => {
                    let children =
                        t.fields.iter().map(|f| Symbol { name: f.name.name.clone(), kind: SymbolKind::Field, span: f.span, name_span: f.name.span, children: vec![] }).collect();
                    out.push(Symbol { name: t.name.name.clone(), kind: SymbolKind::Type, span: t.span, name_span: t.name.span, children });
                }
                Item::Stmt(s) if in_file(s.span) => {
                    if let StmtKind::Let { name, .. } = &s.kind {
                        out.push(Symbol { name: name.name.clone(), kind: SymbolKind::Variable, span: s.span, name_span: name.span, children: vec![] });
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// What may be written at `offset`: after `@` the decorators, after `x.` what `x` has
    /// (a record's fields and methods, a module's functions, a type's ORM methods), else the
    /// names in scope, the built-ins and the keywords.
    pub fn completions(&self, offset: u32) -> Vec<Completion> {
        let text = self.sources.joined();
        let at = (offset as usize).min(text.len());
        let before = &text[..at];
        let partial = before.len() - before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').len();
        let head = &before[..before.len() - partial];
        let item = |label: &str, kind, detail: Option<String>| Completion { label: label.to_string(), kind, detail };
        if head.ends_with('@') {
            let mut out: Vec<Completion> = vocab::FN_DECORATORS.iter().map(|d| item(d, CompletionKind::Decorator, None)).collect();
            out.extend(vocab::TYPE_DECORATORS.iter().chain(vocab::FIELD_DECORATORS).map(|d| item(d, CompletionKind::Decorator, None)));
            return out;
        }
        if let Some(receiver_end) = head.strip_suffix('.').map(str::len) {
            let receiver_start = head[..receiver_end].trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').len();
            let receiver = &head[receiver_start..receiver_end];
            return self.members(receiver, offset);
        }
        let mut out: Vec<Completion> = Vec::new();
        if let Some(f) = self.function_at(offset) {
            let mut seen = std::collections::HashSet::new();
            for l in f.locals.iter().filter(|l| l.span.start <= offset && !l.name.starts_with("__") && seen.insert(l.name.clone())) {
                out.push(item(&l.name, CompletionKind::Variable, Some(self.show(&l.ty))));
            }
        }
        for i in self.items() {
            match i {
                Item::Fn(f) if !f.name.name.starts_with("__") => out.push(item(&f.name.name, CompletionKind::Function, Some(self.signature(f)))),
                Item::Type(t) => out.push(item(&t.name.name, CompletionKind::Type, None)),
                Item::Stmt(s) => {
                    if let StmtKind::Let { name, .. } = &s.kind {
                        out.push(item(&name.name, CompletionKind::Variable, None));
                    }
                }
                _ => {}
            }
        }
        out.extend(vocab::BUILTIN_FNS.iter().filter(|n| !n.starts_with("__")).map(|n| item(n, CompletionKind::Function, None)));
        out.extend(vocab::MODULES.iter().map(|n| item(n, CompletionKind::Module, None)));
        out.extend(vocab::BUILTIN_TYPES.iter().map(|n| item(n, CompletionKind::Type, None)));
        out.extend(KEYWORDS.iter().map(|n| item(n, CompletionKind::Keyword, None)));
        out
    }

    fn members(&self, receiver: &str, offset: u32) -> Vec<Completion> {
        let item = |label: &str, kind, detail: Option<String>| Completion { label: label.to_string(), kind, detail };
        if vocab::MODULES.contains(&receiver) {
            return vocab::module_functions(receiver).iter().map(|f| item(f, CompletionKind::Function, None)).collect();
        }
        if self.record(receiver).is_some() {
            return vocab::ORM_METHODS.iter().map(|m| item(m, CompletionKind::Method, None)).collect();
        }
        // A variable: the innermost function around the cursor that has one of that name.
        let ty = self
            .functions()
            .iter()
            .filter(|f| f.span.start <= offset && offset <= f.span.end)
            .filter_map(|f| f.locals.iter().rev().find(|l| l.name == receiver && l.span.start <= offset).map(|l| (f.span.len(), l.ty.clone())))
            .min_by_key(|(len, _)| *len)
            .map(|(_, ty)| ty)
            .or_else(|| self.program.as_ref()?.globals.iter().find(|g| g.name == receiver).map(|g| g.ty.clone()));
        let Some(ty) = ty else { return vec![] };
        let mut out = Vec::new();
        if let Type::Record(id) = &ty
            && let Some(r) = self.program.as_ref().and_then(|p| p.records.get(id.0 as usize))
        {
            out.extend(r.fields.iter().map(|f| item(&f.name, CompletionKind::Field, Some(self.show(&f.ty)))));
            if let Some(t) = self.items().iter().find_map(|i| if let Item::Type(t) = i { (t.name.name == r.name).then_some(t) } else { None }) {
                out.extend(t.methods.iter().filter(|m| !m.is_static).map(|m| item(&m.decl.name.name, CompletionKind::Method, Some(self.signature(&m.decl)))));
            }
        }
        out.extend(vocab::methods_of(&ty).iter().map(|m| item(m, CompletionKind::Method, None)));
        out
    }
}

trait MinName {
    fn min_name(self, word: &str, text: &str) -> Span;
}

impl MinName for Span {
    /// The first occurrence of `word` inside the span (a declaration's name inside the
    /// declaration), else the span.
    fn min_name(self, word: &str, text: &str) -> Span {
        match text.get(self.range()).and_then(|t| t.find(word)) {
            Some(i) => Span::new(self.start + i as u32, self.start + (i + word.len()) as u32),
            None => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::call_at;

    #[test]
    fn the_call_and_the_argument_under_the_cursor() {
        let t = "let x = add(1, mul(2, 3), ";
        assert_eq!(call_at(t, t.len()), Some(("add".into(), 2)));
        assert_eq!(call_at(t, t.find('3').expect("3")), Some(("mul".into(), 1)));
        assert_eq!(call_at("user.rename(", 12), Some(("rename".into(), 0)));
        assert_eq!(call_at("let xs = [1, 2", 14), None, "inside a list, not a call");
        assert_eq!(call_at("f(a)\nlet y = 2", 14), None, "after the call closed");
    }
}
