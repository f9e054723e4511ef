//! Syntax errors as data. The words for them live in `crate::messages`.

use super::token::Token;
use crate::span::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct LexError {
    pub kind: LexErrorKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LexErrorKind {
    UnterminatedString,
    UnterminatedComment,
    SingleQuotedString,
    UnknownEscape(char),
    BadUnicodeEscape,
    /// `\x` not followed by two hex digits of an ASCII character.
    BadHexEscape,
    /// In a `b"…"` literal: an escape other than `\n \r \t \0 \\ \"` and `\xHH`.
    BadBytesEscape,
    BadNumber(&'static str),
    IntegerTooLarge,
    UnexpectedChar(char),
    /// `&&` where Fitz says `and`, `!` for `not`.
    UseWord {
        found: &'static str,
        word: &'static str,
    },
}

/// What the parser expected, in the classes a user thinks in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expected {
    Expression,
    Name,
    Type,
    Pattern,
    NewLine,
    Token(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum SyntaxError {
    Lex(LexError),
    Unexpected {
        found: Option<Token>,
        expected: Vec<Expected>,
        span: Span,
    },
    /// A constructor pattern other than `Ok(..)` / `Err(..)`.
    UnknownPatternConstructor {
        name: String,
        span: Span,
    },
    /// `return 999 {…}`
    StatusOutOfRange {
        status: i64,
        span: Span,
    },
    /// The file ended inside a block: `open` is the innermost `{` never closed.
    Unclosed {
        open: Span,
        span: Span,
    },
}

impl SyntaxError {
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Lex(e) => e.span,
            SyntaxError::Unexpected { span, .. } | SyntaxError::UnknownPatternConstructor { span, .. } | SyntaxError::StatusOutOfRange { span, .. } => *span,
            SyntaxError::Unclosed { open, .. } => *open,
        }
    }
}

type LalrpopError = lalrpop_util::ParseError<u32, Token, ()>;

/// Turns lalrpop's terminal names into the few classes a message should mention.
fn classify(expected: &[String]) -> Vec<Expected> {
    let has = |t: &str| expected.iter().any(|e| e == t);
    let mut out = Vec::new();
    let expression_start = has("\"int\"") && has("\"(\"") && has("\"string\"");
    if expression_start {
        out.push(Expected::Expression);
    } else if has("\"int\"") && has("\"null\"") && !has("\"(\"") {
        out.push(Expected::Pattern);
    } else if has("\"ident\"") {
        out.push(Expected::Name);
    }
    // Operators and postfix tokens only say "the expression could go on"; naming them all is
    // noise, so only the tokens that close or separate something are listed.
    const CLOSERS: &[&str] = &["\")\"", "\"]\"", "\"}\"", "\",\"", "\"=>\"", "\"=\"", "\":\"", "\"{\"", "\"in\"", "\"->\"", "\">\"", "\"fn\""];
    // After a complete expression `>` is just another operator.
    let after_expression = has("\"+\"");
    for e in expected {
        if e == "\">\"" && after_expression {
            continue;
        }
        if CLOSERS.contains(&e.as_str()) {
            if e == "\"{\"" && expression_start {
                continue;
            }
            if e == "\"fn\"" && expression_start {
                continue;
            }
            out.push(Expected::Token(e.trim_matches('"').to_string()));
        }
    }
    if has("\"NL\"") && out.is_empty() {
        out.push(Expected::NewLine);
    }
    // A short list the classes above said nothing about is worth naming in full.
    if out.is_empty() && expected.len() <= 3 {
        out.extend(expected.iter().map(|e| Expected::Token(e.trim_matches('"').to_string())));
    }
    out.sort();
    out.dedup();
    out
}

impl SyntaxError {
    pub fn from_lalrpop(err: LalrpopError, source_len: u32) -> SyntaxError {
        use lalrpop_util::ParseError as P;
        match err {
            P::InvalidToken { location } => SyntaxError::Unexpected { found: None, expected: vec![], span: Span::new(location, location) },
            P::UnrecognizedEof { location, expected } => {
                SyntaxError::Unexpected { found: None, expected: classify(&expected), span: Span::new(location.min(source_len), location.min(source_len)) }
            }
            P::UnrecognizedToken { token: (l, tok, r), expected } => SyntaxError::Unexpected { found: Some(tok), expected: classify(&expected), span: Span::new(l, r) },
            P::ExtraToken { token: (l, tok, r) } => SyntaxError::Unexpected { found: Some(tok), expected: vec![], span: Span::new(l, r) },
            P::User { .. } => SyntaxError::Unexpected { found: None, expected: vec![], span: Span::new(0, 0) },
        }
    }
}
