//! Newline rules. A newline ends a statement, except where the line plainly goes on:
//! inside `( )`, `[ ]` and interpolations, after a token that cannot end a statement
//! (`,` `=` `+` `and` `=>` …), before one that cannot start one (`.` `)` `}` `else` …), and
//! between a decorator and what it decorates. Runs of newlines collapse into one. What is left
//! is exactly the separators the grammar needs, which keeps the grammar free of optional
//! newlines.

use super::lexer::Spanned;
use super::token::Token;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// `(`, `[` or an interpolation: newlines inside are insignificant.
    Paren,
    /// `{`: newlines inside separate statements, fields and arms.
    Brace,
}

pub fn layout(tokens: Vec<Spanned>) -> Vec<Spanned> {
    let mut out: Vec<Spanned> = Vec::with_capacity(tokens.len());
    let mut stack: Vec<(Open, usize)> = Vec::new();
    // Output index of the `(` matched by the most recent `)`.
    let mut last_closed_paren: Option<usize> = None;
    let mut i = 0;
    while i < tokens.len() {
        let (l, tok, r) = tokens[i].clone();
        i += 1;
        if tok == Token::Newline {
            let next = tokens[i..].iter().map(|(_, t, _)| t).find(|t| **t != Token::Newline);
            let after_next = tokens[i..].iter().map(|(_, t, _)| t).filter(|t| **t != Token::Newline).nth(1);
            let mut forced = false;
            if matches!(stack.last(), Some((Open::Paren, _))) && next.is_some_and(|n| starts_statement(n, after_next)) {
                // A statement cannot start inside brackets: they were left open by mistake.
                // Closing them and ending the line here lets the parser report the mistake
                // and carry on with the next statement.
                while matches!(stack.last(), Some((Open::Paren, _))) {
                    stack.pop();
                }
                forced = true;
            }
            let in_paren = matches!(stack.last(), Some((Open::Paren, _)));
            let prev = out.last().map(|(_, t, _)| t);
            let keep = !in_paren
                && prev.is_some_and(|p| *p != Token::Newline && (forced || !p.continues_line()))
                && !after_decorator(&out, last_closed_paren)
                && next.is_some_and(|n| !n.continues_previous_line());
            if keep {
                out.push((l, tok, r));
            }
            continue;
        }
        match &tok {
            Token::LParen | Token::LBracket | Token::InterpStart(_) => stack.push((Open::Paren, out.len())),
            Token::LBrace => stack.push((Open::Brace, out.len())),
            Token::RBrace => {
                // Also closes brackets left open inside the braces.
                while let Some((open, _)) = stack.pop() {
                    if open == Open::Brace {
                        break;
                    }
                }
            }
            Token::RParen | Token::RBracket | Token::InterpEnd(_) => {
                if matches!(stack.last(), Some((Open::Paren, _)))
                    && let Some((_, at)) = stack.pop()
                    && tok == Token::RParen
                {
                    last_closed_paren = Some(at);
                }
            }
            _ => {}
        }
        out.push((l, tok, r));
    }
    out
}

/// Tokens that can only begin a statement or declaration, never continue an expression.
fn starts_statement(tok: &Token, after: Option<&Token>) -> bool {
    match tok {
        Token::Let | Token::Type | Token::While | Token::For | Token::Loop | Token::Return | Token::At => true,
        // `fn name(` declares; `fn(` is a lambda and may sit inside brackets.
        Token::Fn => matches!(after, Some(Token::Ident(_))),
        _ => false,
    }
}

/// Whether the tokens so far end with a complete decorator: `@name` or `@name(…)`.
fn after_decorator(out: &[Spanned], last_closed_paren: Option<usize>) -> bool {
    let n = out.len();
    let tok = |i: usize| out.get(i).map(|(_, t, _)| t);
    match tok(n.wrapping_sub(1)) {
        Some(Token::Ident(_)) => matches!(tok(n.wrapping_sub(2)), Some(Token::At)),
        Some(Token::RParen) => match last_closed_paren {
            Some(open) if open >= 2 => matches!(tok(open - 1), Some(Token::Ident(_))) && matches!(tok(open - 2), Some(Token::At)),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::lexer::lex;

    fn shape(src: &str) -> String {
        let (toks, _) = lex(src);
        layout(toks)
            .into_iter()
            .map(|(_, t, _)| match t {
                Token::Newline => ";".to_string(),
                Token::Ident(n) => n,
                Token::Int(v) => v.to_string(),
                other => other.to_string().trim_matches('`').to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn newlines_inside_parens_and_after_operators_vanish() {
        assert_eq!(shape("f(a,\n b)\nx = 1 +\n 2\n\n\ny"), "f ( a , b ) ; x = 1 + 2 ; y");
    }

    #[test]
    fn an_unclosed_bracket_ends_at_the_next_statement() {
        assert_eq!(shape("let a = [1,\nlet b = 2"), "let a = [ 1 , ; let b = 2");
        assert_eq!(shape("f(fn(x) {\n a\n b\n})"), "f ( fn ( x ) { a ; b } )");
    }

    #[test]
    fn decorators_and_chains_join_lines() {
        assert_eq!(shape("@get(\"/\")\n@admin\nfn f()"), "@ get ( a string ) @ admin fn f ( )");
        assert_eq!(shape("xs\n  .map(g)\n  .len()"), "xs . map ( g ) . len ( )");
        assert_eq!(shape("if a {\n b\n}\nelse {\n c\n}"), "if a { b } else { c }");
    }
}
