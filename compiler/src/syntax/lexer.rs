//! Hand-written lexer. It never stops at a bad character: it records a [`LexError`] and carries
//! on, so one run reports every problem in a file.
//!
//! String interpolation is lexed into `InterpStart expr* (InterpMid expr*)* InterpEnd`, with the
//! tokens of each embedded expression in between, so the grammar parses interpolations like any
//! other expression and spans stay exact.

use super::error::LexError;
use super::token::Token;
use crate::span::Span;

pub type Spanned = (u32, Token, u32);

/// What the lexer is inside of, innermost last.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Inside `{ … }` of an interpolation; `depth` counts brackets opened inside it.
    Interp { depth: u32, triple: bool },
}

pub struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    modes: Vec<Mode>,
    tokens: Vec<Spanned>,
    errors: Vec<LexError>,
    /// Where every comment is (`//` to the end of its line, `/* … */`), for the formatter.
    comments: Vec<(u32, u32)>,
}

pub fn lex(src: &str) -> (Vec<Spanned>, Vec<LexError>) {
    let (tokens, errors, _) = lex_with_comments(src);
    (tokens, errors)
}

/// As `lex`, with the byte ranges of the comments (which are not tokens).
pub fn lex_with_comments(src: &str) -> (Vec<Spanned>, Vec<LexError>, Vec<(u32, u32)>) {
    let mut lexer = Lexer { src, pos: 0, modes: Vec::new(), tokens: Vec::new(), errors: Vec::new(), comments: Vec::new() };
    lexer.run();
    (lexer.tokens, lexer.errors, lexer.comments)
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl<'s> Lexer<'s> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn starts_with(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s)
    }

    fn push(&mut self, start: usize, tok: Token) {
        self.tokens.push((start as u32, tok, self.pos as u32));
    }

    fn error(&mut self, start: usize, end: usize, kind: super::error::LexErrorKind) {
        self.errors.push(LexError { kind, span: Span::new(start as u32, end as u32) });
    }

    fn run(&mut self) {
        use super::error::LexErrorKind as E;
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                ' ' | '\t' | '\r' => {
                    self.bump();
                }
                '\n' | ';' => {
                    if c == '\n' && matches!(self.modes.last(), Some(Mode::Interp { triple: false, .. })) {
                        // A newline cannot appear inside a one-line string's interpolation.
                        self.error(start, start, E::UnterminatedString);
                        self.modes.pop();
                        self.push(start, Token::InterpEnd(String::new()));
                        continue;
                    }
                    self.bump();
                    self.push(start, Token::Newline);
                }
                '/' if self.starts_with("//") => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                    self.comments.push((start as u32, self.pos as u32));
                }
                '/' if self.starts_with("/*") => self.block_comment(),
                '"' => {
                    if self.starts_with("\"\"\"") {
                        self.pos += 3;
                        self.string_body(start, true, true);
                    } else {
                        self.pos += 1;
                        self.string_body(start, false, true);
                    }
                }
                // Inside an interpolation, `\"` quotes a string, as upstream writes
                // `"{user[\"name\"]}"` in a one-line string.
                '\\' if self.starts_with("\\\"") && matches!(self.modes.last(), Some(Mode::Interp { .. })) => self.escaped_quote_string(start),
                // `'outer`: a loop label, unless a quote closes it (a single-quoted string).
                '\'' if self.peek_at(1).is_some_and(is_ident_start) && !self.label_is_string() => {
                    self.bump();
                    let name_start = self.pos;
                    while self.peek().is_some_and(is_ident_continue) {
                        self.bump();
                    }
                    let name = self.src[name_start..self.pos].to_string();
                    self.push(start, Token::Label(name));
                }
                '\'' => {
                    self.bump();
                    while let Some(c) = self.peek() {
                        self.bump();
                        if c == '\'' || c == '\n' {
                            break;
                        }
                    }
                    self.error(start, self.pos, E::SingleQuotedString);
                    self.push(start, Token::Str(String::new()));
                }
                '0'..='9' => self.number(),
                // `b"…"`: bytes, not the name `b` followed by a string.
                'b' if self.peek_at(1) == Some('"') => {
                    self.pos += 2;
                    self.bytes_body(start);
                }
                c if is_ident_start(c) => {
                    while self.peek().is_some_and(is_ident_continue) {
                        self.bump();
                    }
                    let word = &self.src[start..self.pos];
                    let tok = Token::keyword(word).unwrap_or_else(|| Token::Ident(word.to_string()));
                    self.push(start, tok);
                }
                _ => self.punct(start, c),
            }
        }
        if let Some(Mode::Interp { .. }) = self.modes.last() {
            let end = self.src.len();
            self.error(end, end, E::UnterminatedString);
        }
    }

    /// Whether the `'` here starts `'word'` (a single-quoted string, refused) rather than a
    /// label `'word`.
    fn label_is_string(&self) -> bool {
        let rest = &self.src[self.pos + 1..];
        let word = rest.find(|c: char| !is_ident_continue(c)).unwrap_or(rest.len());
        rest[word..].starts_with('\'')
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        self.pos += 2;
        loop {
            if self.starts_with("*/") {
                self.pos += 2;
                self.comments.push((start as u32, self.pos as u32));
                return;
            }
            if self.bump().is_none() {
                self.error(start, start + 2, super::error::LexErrorKind::UnterminatedComment);
                return;
            }
        }
    }

    fn punct(&mut self, start: usize, c: char) {
        use super::error::LexErrorKind as E;
        use Token::*;
        let two = |l: &Self, s: &str| l.starts_with(s);
        let (tok, len) = if two(self, "...") {
            (Ellipsis, 3)
        } else if two(self, "..=") {
            (DotDotEq, 3)
        } else if two(self, "<<=") {
            (ShlEq, 3)
        } else if two(self, ">>=") {
            (ShrEq, 3)
        } else if two(self, "<<") {
            (Shl, 2)
        } else if two(self, ">>") {
            // Also the end of two type arguments (`List<List<Int>>`): the grammar takes it so.
            (Shr, 2)
        } else if two(self, "..") {
            (DotDot, 2)
        } else if two(self, "->") {
            (Arrow, 2)
        } else if two(self, "=>") {
            (FatArrow, 2)
        } else if two(self, "==") {
            (EqEq, 2)
        } else if two(self, "!=") {
            (NotEq, 2)
        } else if two(self, "<=") {
            (LtEq, 2)
        } else if two(self, ">=") {
            (GtEq, 2)
        } else if two(self, "+=") {
            (PlusEq, 2)
        } else if two(self, "-=") {
            (MinusEq, 2)
        } else if two(self, "*=") {
            (StarEq, 2)
        } else if two(self, "/=") {
            (SlashEq, 2)
        } else if two(self, "&=") {
            (AmpEq, 2)
        } else if two(self, "|=") {
            (PipeEq, 2)
        } else if two(self, "^=") {
            (CaretEq, 2)
        } else if two(self, "&&") {
            self.pos += 2;
            self.error(start, self.pos, E::UseWord { found: "&&", word: "and" });
            self.push(start, And);
            return;
        } else if two(self, "||") {
            self.pos += 2;
            self.error(start, self.pos, E::UseWord { found: "||", word: "or" });
            self.push(start, Or);
            return;
        } else {
            let tok = match c {
                '(' => LParen,
                ')' => RParen,
                '[' => LBracket,
                ']' => RBracket,
                '{' => LBrace,
                '}' => RBrace,
                ',' => Comma,
                ':' => Colon,
                '.' => Dot,
                '@' => At,
                '?' => Question,
                '|' => Pipe,
                '=' => Eq,
                '<' => Lt,
                '>' => Gt,
                '+' => Plus,
                '-' => Minus,
                '*' => Star,
                '/' => Slash,
                '%' => Percent,
                '&' => Amp,
                '^' => Caret,
                '~' => Tilde,
                '!' => {
                    self.bump();
                    self.error(start, self.pos, E::UseWord { found: "!", word: "not" });
                    self.push(start, Not);
                    return;
                }
                other => {
                    self.bump();
                    self.error(start, self.pos, E::UnexpectedChar(other));
                    return;
                }
            };
            (tok, c.len_utf8())
        };
        // Brackets inside an interpolation decide where it ends.
        if let Some(Mode::Interp { depth, triple }) = self.modes.last().copied() {
            match tok {
                LParen | LBracket | LBrace => {
                    *self.modes.last_mut().expect("mode") = Mode::Interp { depth: depth + 1, triple };
                }
                RParen | RBracket | RBrace if depth > 0 => {
                    *self.modes.last_mut().expect("mode") = Mode::Interp { depth: depth - 1, triple };
                }
                RBrace => {
                    self.pos += 1;
                    self.modes.pop();
                    self.string_body(start, triple, false);
                    return;
                }
                Colon if depth == 0 => {
                    self.pos += 1;
                    self.format_spec(start);
                    return;
                }
                _ => {}
            }
        }
        self.pos += len;
        self.push(start, tok);
    }

    /// After `:` at the top of an interpolation: the format spec up to `}`.
    fn format_spec(&mut self, start: usize) {
        let spec_start = self.pos;
        while let Some(c) = self.peek() {
            if c == '}' || c == '"' || c == '\n' {
                break;
            }
            self.bump();
        }
        let spec = self.src[spec_start..self.pos].to_string();
        self.push(start, Token::FormatSpec(spec));
    }

    /// Lexes string text from the current position up to the closing quote or the next `{`.
    /// `opening` says whether this piece starts the literal (`"…`) or resumes it (`}…`).
    fn string_body(&mut self, start: usize, triple: bool, opening: bool) {
        use super::error::LexErrorKind as E;
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                self.error(start, self.pos, E::UnterminatedString);
                let tok = if opening { Token::Str(text) } else { Token::InterpEnd(text) };
                self.push(start, tok);
                return;
            };
            match c {
                '"' if !triple || self.starts_with("\"\"\"") => {
                    self.pos += if triple { 3 } else { 1 };
                    let tok = if opening { Token::Str(text) } else { Token::InterpEnd(text) };
                    self.push(start, tok);
                    return;
                }
                '\n' if !triple => {
                    self.error(start, self.pos, E::UnterminatedString);
                    let tok = if opening { Token::Str(text) } else { Token::InterpEnd(text) };
                    self.push(start, tok);
                    return;
                }
                '{' => {
                    self.bump();
                    let tok = if opening { Token::InterpStart(text) } else { Token::InterpMid(text) };
                    self.push(start, tok);
                    self.modes.push(Mode::Interp { depth: 0, triple });
                    return;
                }
                '\\' => {
                    let esc_start = self.pos;
                    self.bump();
                    match self.escape() {
                        Ok(ch) => text.push(ch),
                        Err(kind) => self.error(esc_start, self.pos, kind),
                    }
                }
                _ => {
                    self.bump();
                    text.push(c);
                }
            }
        }
    }

    /// A `b"…"` literal after its opening quote: one line, no interpolation; any character
    /// stands for its UTF-8 bytes, and `\xHH` for any byte.
    fn bytes_body(&mut self, start: usize) {
        use super::error::LexErrorKind as E;
        let mut bytes = Vec::new();
        loop {
            match self.peek() {
                None | Some('\n') => {
                    self.error(start, self.pos, E::UnterminatedString);
                    break;
                }
                Some('"') => {
                    self.bump();
                    break;
                }
                Some('\\') => {
                    let esc_start = self.pos;
                    self.bump();
                    let byte = match self.bump() {
                        Some('n') => Some(b'\n'),
                        Some('r') => Some(b'\r'),
                        Some('t') => Some(b'\t'),
                        Some('0') => Some(0),
                        Some('\\') => Some(b'\\'),
                        Some('"') => Some(b'"'),
                        Some('x') => {
                            let hex = self.src.get(self.pos..self.pos + 2).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                            let b = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                            if b.is_some() {
                                self.pos += 2;
                            }
                            b
                        }
                        _ => None,
                    };
                    match byte {
                        Some(b) => bytes.push(b),
                        None => self.error(esc_start, self.pos, E::BadBytesEscape),
                    }
                }
                Some(c) => {
                    self.bump();
                    let mut buf = [0; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        self.push(start, Token::Bytes(bytes));
    }

    /// A string delimited by `\"` inside an interpolation: text and escapes up to the next
    /// `\"`, without interpolations of its own.
    fn escaped_quote_string(&mut self, start: usize) {
        use super::error::LexErrorKind as E;
        self.pos += 2;
        let mut text = String::new();
        loop {
            if self.starts_with("\\\"") {
                self.pos += 2;
                self.push(start, Token::Str(text));
                return;
            }
            match self.peek() {
                None | Some('\n') | Some('"') => {
                    self.error(start, self.pos, E::UnterminatedString);
                    self.push(start, Token::Str(text));
                    return;
                }
                Some('\\') => {
                    let esc_start = self.pos;
                    self.bump();
                    match self.escape() {
                        Ok(ch) => text.push(ch),
                        Err(kind) => self.error(esc_start, self.pos, kind),
                    }
                }
                Some(c) => {
                    self.bump();
                    text.push(c);
                }
            }
        }
    }

    /// After a backslash: the escaped character.
    fn escape(&mut self) -> Result<char, super::error::LexErrorKind> {
        use super::error::LexErrorKind as E;
        let Some(c) = self.bump() else { return Err(E::UnterminatedString) };
        Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            'b' => '\u{8}',
            '"' => '"',
            // `\xHH`: an ASCII character by its code (upstream takes up to 0x7F).
            'x' => {
                let hex: String = (0..2)
                    .filter_map(|_| {
                        self.peek().filter(char::is_ascii_hexdigit).inspect(|_| {
                            self.bump();
                        })
                    })
                    .collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(b) if hex.len() == 2 && b <= 0x7F => char::from(b),
                    _ => return Err(E::BadHexEscape),
                }
            }
            '\\' => '\\',
            '{' => '{',
            '}' => '}',
            'u' => {
                if self.peek() != Some('{') {
                    return Err(E::BadUnicodeEscape);
                }
                self.bump();
                let digits_start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.bump();
                }
                let digits = &self.src[digits_start..self.pos];
                if self.peek() != Some('}') || digits.is_empty() || digits.len() > 6 {
                    return Err(E::BadUnicodeEscape);
                }
                self.bump();
                u32::from_str_radix(digits, 16).ok().and_then(char::from_u32).ok_or(E::BadUnicodeEscape)?
            }
            other => return Err(E::UnknownEscape(other)),
        })
    }

    fn number(&mut self) {
        use super::error::LexErrorKind as E;
        let start = self.pos;
        let radix = match (self.peek(), self.peek_at(1)) {
            (Some('0'), Some('x' | 'X')) => 16,
            (Some('0'), Some('b' | 'B')) => 2,
            (Some('0'), Some('o' | 'O')) => 8,
            _ => 10,
        };
        if radix != 10 {
            self.pos += 2;
            let digits = self.digits(radix);
            if digits.is_empty() {
                self.error(start, self.pos, E::BadNumber("expected digits after the prefix"));
                self.push(start, Token::Int(0));
                return;
            }
            let value = i64::from_str_radix(&digits, radix).unwrap_or_else(|_| {
                self.error(start, self.pos, E::IntegerTooLarge);
                0
            });
            self.push(start, Token::Int(value));
            return;
        }
        let mut text = self.digits(10);
        // `t.0.1`: a tuple field right after a `.` is an index, never the start of a number.
        if matches!(self.tokens.last(), Some((_, Token::Dot, end)) if *end as usize == start) {
            let value = text.replace('_', "").parse().unwrap_or_else(|_| {
                self.error(start, self.pos, E::IntegerTooLarge);
                0
            });
            self.push(start, Token::Int(value));
            return;
        }
        let mut is_float = false;
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            text.push('.');
            text.push_str(&self.digits(10));
            is_float = true;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.bump();
            let mut exp = String::from("e");
            if let Some(sign @ ('+' | '-')) = self.peek() {
                self.bump();
                exp.push(sign);
            }
            let digits = self.digits(10);
            if digits.is_empty() {
                // `1e` or `1e+` is an error; `1 else` is not reached here because `e` must follow
                // the digits directly.
                if self.peek().is_some_and(is_ident_start) {
                    self.pos = save;
                } else {
                    self.error(start, self.pos, E::BadNumber("expected digits in the exponent"));
                }
            } else {
                exp.push_str(&digits);
                text.push_str(&exp);
                is_float = true;
            }
        }
        if self.peek().is_some_and(is_ident_start) {
            let bad_start = self.pos;
            while self.peek().is_some_and(is_ident_continue) {
                self.bump();
            }
            self.error(bad_start, self.pos, E::BadNumber("a number cannot be followed by letters"));
        }
        if is_float {
            let value = text.parse::<f64>().unwrap_or(0.0);
            self.push(start, Token::Float(value));
        } else {
            let value = text.parse::<i64>().unwrap_or_else(|_| {
                self.error(start, self.pos, E::IntegerTooLarge);
                0
            });
            self.push(start, Token::Int(value));
        }
    }

    /// Digits of `radix` with `_` separators allowed only between digits.
    fn digits(&mut self, radix: u32) -> String {
        use super::error::LexErrorKind as E;
        let mut out = String::new();
        let mut last_underscore = false;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == '_' {
                if out.is_empty() || last_underscore {
                    let p = self.pos;
                    self.bump();
                    self.error(p, self.pos, E::BadNumber("`_` must sit between two digits"));
                    continue;
                }
                last_underscore = true;
                self.bump();
            } else if c.is_digit(radix) {
                out.push(c);
                last_underscore = false;
                self.bump();
            } else {
                break;
            }
        }
        if last_underscore && self.pos > start {
            self.error(self.pos - 1, self.pos, E::BadNumber("`_` must sit between two digits"));
        }
        out
    }
}

#[cfg(test)]
// Literals such as 3.14 are test inputs, not approximations of π.
#[allow(clippy::approx_constant)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Token> {
        let (t, e) = lex(src);
        assert!(e.is_empty(), "{e:?}");
        t.into_iter().map(|(_, t, _)| t).collect()
    }

    #[test]
    fn interpolation_is_split_into_tokens() {
        use Token::*;
        assert_eq!(
            toks(r#""a{x}b{m["k"]:>5}c""#),
            vec![
                InterpStart("a".into()),
                Ident("x".into()),
                InterpMid("b".into()),
                Ident("m".into()),
                LBracket,
                Str("k".into()),
                RBracket,
                FormatSpec(">5".into()),
                InterpEnd("c".into()),
            ]
        );
    }

    #[test]
    fn numbers() {
        use Token::*;
        assert_eq!(toks("1_000 0xff 0b101 0o17 3.14 1e3 0..10"), vec![Int(1000), Int(255), Int(5), Int(15), Float(3.14), Float(1000.0), Int(0), DotDot, Int(10)]);
    }

    #[test]
    fn tuple_fields_after_a_dot_are_integers() {
        use Token::*;
        assert_eq!(toks("t.0.1 x.1e3"), vec![Ident("t".into()), Dot, Int(0), Dot, Int(1), Ident("x".into()), Dot, Int(1), Ident("e3".into())]);
    }

    #[test]
    fn errors_do_not_stop_lexing() {
        let (t, e) = lex("let x = 1_ ! \"abc\\q\" 'x' #");
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(t.len() >= 5);
    }
}
