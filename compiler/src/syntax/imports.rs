//! `import` and `from … import` lines, taken out of the token stream before the grammar sees
//! it. `import`, `from` and `as` are words only at the start of a top-level line (and `as`
//! inside one of these lines), so a field or a variable may still be called `from`; that is
//! easier to say at this level than in an LR grammar.
//!
//! ```text
//! import a.b [as n]
//! from a.b import x [as y], T [as U]        (also inside `( … )` over several lines)
//! ```

use super::error::{Expected, SyntaxError};
use super::lexer::Spanned;
use super::token::Token;
use crate::ast::{Ident, Import, ImportName};
use crate::span::Span;

/// Splits `tokens` (after `layout`) into the import lines and the rest.
pub fn take_imports(tokens: Vec<Spanned>, errors: &mut Vec<SyntaxError>) -> (Vec<Import>, Vec<Spanned>) {
    let mut imports = Vec::new();
    let mut rest = Vec::with_capacity(tokens.len());
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let at_line_start = depth == 0 && rest.last().is_none_or(|(_, t, _)| *t == Token::Newline);
        if at_line_start && starts_import(&tokens[i..]) {
            let mut p = Parser { tokens: &tokens, pos: i, errors };
            if let Some(import) = p.import() {
                imports.push(import);
            }
            // The line ends at the next newline at this level, whatever the parser made of it.
            i = p.pos;
            while i < tokens.len() && tokens[i].1 != Token::Newline {
                i += 1;
            }
            i += 1;
            continue;
        }
        match tokens[i].1 {
            Token::LBrace | Token::LParen | Token::LBracket | Token::InterpStart(_) => depth += 1,
            Token::RBrace | Token::RParen | Token::RBracket | Token::InterpEnd(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        rest.push(tokens[i].clone());
        i += 1;
    }
    (imports, rest)
}

fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Ident(w) if w == word)
}

fn starts_import(tokens: &[Spanned]) -> bool {
    match tokens {
        [(_, a, _), (_, Token::Ident(_), _), ..] => is_word(a, "import") || is_word(a, "from"),
        _ => false,
    }
}

struct Parser<'t, 'e> {
    tokens: &'t [Spanned],
    pos: usize,
    errors: &'e mut Vec<SyntaxError>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t, _)| t)
    }

    fn span_here(&self) -> Span {
        match self.tokens.get(self.pos) {
            Some((l, _, r)) => Span::new(*l, *r),
            None => self.tokens.last().map_or(Span::default(), |(_, _, r)| Span::new(*r, *r)),
        }
    }

    fn unexpected(&mut self, expected: Expected) -> Option<()> {
        let found = self.peek().filter(|t| **t != Token::Newline).cloned();
        let span = self.span_here();
        self.errors.push(SyntaxError::Unexpected { found, expected: vec![expected], span });
        None
    }

    fn ident(&mut self) -> Option<Ident> {
        match self.tokens.get(self.pos) {
            Some((l, Token::Ident(name), r)) => {
                self.pos += 1;
                Some(Ident { name: name.clone(), span: Span::new(*l, *r) })
            }
            _ => {
                self.unexpected(Expected::Name)?;
                None
            }
        }
    }

    fn eat(&mut self, t: &Token) -> bool {
        let here = self.peek() == Some(t);
        if here {
            self.pos += 1;
        }
        here
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let here = self.peek().is_some_and(|t| is_word(t, word));
        if here {
            self.pos += 1;
        }
        here
    }

    fn path(&mut self) -> Option<Vec<Ident>> {
        let mut path = vec![self.ident()?];
        while self.eat(&Token::Dot) {
            path.push(self.ident()?);
        }
        Some(path)
    }

    fn alias(&mut self) -> Option<Option<Ident>> {
        if self.eat_word("as") { self.ident().map(Some) } else { Some(None) }
    }

    fn end_of_line(&mut self) -> Option<()> {
        match self.peek() {
            None | Some(Token::Newline) => Some(()),
            Some(_) => self.unexpected(Expected::NewLine),
        }
    }

    fn import(&mut self) -> Option<Import> {
        let start = self.tokens[self.pos].0;
        let from = is_word(&self.tokens[self.pos].1, "from");
        self.pos += 1;
        let path = self.path()?;
        let (alias, names) = if from {
            if !self.eat_word("import") {
                self.unexpected(Expected::Token("import".into()))?;
            }
            (None, Some(self.names()?))
        } else {
            (self.alias()?, None)
        };
        let end = self.tokens[self.pos - 1].2;
        self.end_of_line()?;
        Some(Import { path, alias, names, span: Span::new(start, end) })
    }

    fn names(&mut self) -> Option<Vec<ImportName>> {
        let parenthesised = self.eat(&Token::LParen);
        let mut names = Vec::new();
        loop {
            if parenthesised && self.eat(&Token::RParen) {
                break;
            }
            let name = self.ident()?;
            let alias = self.alias()?;
            names.push(ImportName { name, alias });
            if self.eat(&Token::Comma) {
                continue;
            }
            if parenthesised && !self.eat(&Token::RParen) {
                self.unexpected(Expected::Token(")".into()))?;
            }
            break;
        }
        if names.is_empty() {
            self.unexpected(Expected::Name)?;
        }
        Some(names)
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::parse_module;

    fn imports(src: &str) -> Vec<String> {
        let (m, errors) = parse_module(src);
        assert!(errors.is_empty(), "{errors:?}");
        m.imports.iter().map(crate::syntax::print::import).collect()
    }

    #[test]
    fn reads_every_form() {
        let src = "import util\nimport a.b as n\nfrom m import x, T as U\nfrom m import (\n    greet,\n    shout as s,\n)\nprint(1)\n";
        assert_eq!(imports(src), ["import util", "import a.b as n", "from m import x, T as U", "from m import greet, shout as s"]);
        assert_eq!(parse_module(src).0.items.len(), 1);
    }

    #[test]
    fn the_words_stay_names_elsewhere() {
        let src = "type Mail { from: Str, to: Str }\nlet from = 1\nlet import = from + 1\nfn f(as: Int) -> Int => as\n";
        let (m, errors) = parse_module(src);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(m.imports.is_empty());
        assert_eq!(m.items.len(), 4);
    }

    #[test]
    fn a_broken_line_is_reported_and_the_rest_parses() {
        let (m, errors) = parse_module("from m import\nimport a as\nfrom m x\nprint(1)\n");
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(m.items.len(), 1);
    }
}
