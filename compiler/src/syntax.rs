//! Source text to syntax tree: lex, apply the newline rules, parse. Never fails outright: what
//! cannot be parsed becomes an `Error` node and a [`SyntaxError`].

mod builders;
pub mod error;
mod imports;
pub mod layout;
pub mod lexer;
pub mod print;
pub mod respan;
pub mod token;

#[allow(clippy::all, clippy::unwrap_used, unused_parens, unused_imports)]
mod grammar {
    lalrpop_util::lalrpop_mod!(pub grammar, "/syntax/grammar.rs");
    pub use grammar::*;
}

use crate::ast::Module;
pub use error::SyntaxError;

pub fn parse_module(source: &str) -> (Module, Vec<SyntaxError>) {
    let (tokens, lex_errors) = lexer::lex(source);
    let tokens = layout::layout(tokens);
    let unclosed = innermost_unclosed_brace(&tokens);
    let mut errors: Vec<SyntaxError> = lex_errors.into_iter().map(SyntaxError::Lex).collect();
    let (imports, tokens) = imports::take_imports(tokens, &mut errors);
    let len = source.len() as u32;
    let parser = grammar::ModuleParser::new();
    let result = parser.parse(&mut errors, len, tokens.into_iter().map(Ok::<_, ()>));
    let module = match result {
        Ok(module) => Module { imports, ..module },
        Err(e) => {
            errors.push(SyntaxError::from_lalrpop(e, len));
            Module::default()
        }
    };
    // "Expected `}` at the end of the file" says little; the brace that was never closed says
    // where to look.
    if let Some(open) = unclosed {
        for e in &mut errors {
            if let SyntaxError::Unexpected { found: None, span, .. } = e {
                *e = SyntaxError::Unclosed { open, span: *span };
            }
        }
    }
    errors.sort_by_key(|e| e.span());
    // Recovery can report the same position twice; one message is enough.
    errors.dedup_by(|a, b| a.span() == b.span());
    (module, errors)
}

/// The innermost `{` left open at the end of the tokens, if any.
fn innermost_unclosed_brace(tokens: &[(u32, token::Token, u32)]) -> Option<crate::span::Span> {
    let mut open: Vec<crate::span::Span> = Vec::new();
    for (start, t, end) in tokens {
        match t {
            token::Token::LBrace => open.push(crate::span::Span::new(*start, *end)),
            token::Token::RBrace => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

/// A built-in method written in Fitz (`check::prelude`): its statements, every node spanning
/// `at` (the call), so what the checker or the running program reports points at the call.
/// Each body is parsed once per thread; a call gets a copy (`respan`). The templates are ours;
/// one that does not parse is a bug, caught by the prelude's tests.
pub fn parse_template(source: &'static str, at: crate::span::Span) -> Vec<crate::ast::Stmt> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static PARSED: RefCell<HashMap<(usize, usize), Vec<crate::ast::Stmt>>> = RefCell::new(HashMap::new());
    }
    let key = (source.as_ptr() as usize, source.len());
    let mut stmts = PARSED.with(|cache| cache.borrow_mut().entry(key).or_insert_with(|| parse_template_text(source)).clone());
    respan::stmts(&mut stmts, &|_| at);
    stmts
}

/// A template parsed with every token at `at`, as `parse_template` did before it cached: the
/// cached copies must come out the same (`check::prelude`'s tests compare them).
#[cfg(test)]
pub fn parse_template_uncached(source: &str, at: crate::span::Span) -> Vec<crate::ast::Stmt> {
    let (tokens, _) = lexer::lex(source);
    let tokens = layout::layout(tokens).into_iter().map(|(_, t, _)| Ok::<_, ()>((at.start, t, at.end)));
    let mut errors = Vec::new();
    let module = grammar::ModuleParser::new().parse(&mut errors, source.len() as u32, tokens).expect("parses");
    module.items.into_iter().filter_map(|i| if let crate::ast::Item::Stmt(s) = i { Some(s) } else { None }).collect()
}

fn parse_template_text(source: &str) -> Vec<crate::ast::Stmt> {
    let (tokens, lex_errors) = lexer::lex(source);
    assert!(lex_errors.is_empty(), "template does not lex: {source}");
    let tokens = layout::layout(tokens).into_iter().map(Ok::<_, ()>);
    let mut errors = Vec::new();
    let module = grammar::ModuleParser::new().parse(&mut errors, source.len() as u32, tokens);
    let module = module.ok().filter(|_| errors.is_empty()).unwrap_or_else(|| panic!("template does not parse: {source}"));
    module
        .items
        .into_iter()
        .map(|item| match item {
            crate::ast::Item::Stmt(s) => s,
            _ => panic!("a template holds statements only: {source}"),
        })
        .collect()
}

/// Items written by the compiler itself (`commands`), every node spanning `at`.
pub fn parse_generated(source: &str, at: crate::span::Span) -> Vec<crate::ast::Item> {
    let (tokens, lex_errors) = lexer::lex(source);
    assert!(lex_errors.is_empty(), "generated code does not lex: {source}");
    let tokens = layout::layout(tokens).into_iter().map(|(_, t, _)| Ok::<_, ()>((at.start, t, at.end)));
    let mut errors = Vec::new();
    let module = grammar::ModuleParser::new().parse(&mut errors, source.len() as u32, tokens);
    module.ok().filter(|_| errors.is_empty()).unwrap_or_else(|| panic!("generated code does not parse: {source}")).items
}
