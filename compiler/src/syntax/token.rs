//! Tokens, and the words a user reads for each of them in parse errors.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    Ident(String),
    Int(i64),
    Float(f64),
    /// A string literal without interpolation (escapes already applied).
    Str(String),
    /// `b"…"`: a `Bytes` literal (escapes applied, no interpolation).
    Bytes(Vec<u8>),
    /// `"text{` — the text before the first interpolation.
    InterpStart(String),
    /// `}text{` — text between two interpolations.
    InterpMid(String),
    /// `}text"` — text after the last interpolation.
    InterpEnd(String),
    /// `:spec` at the end of an interpolation, e.g. `>8.2f`.
    FormatSpec(String),
    /// `'outer`: a loop's label (`'outer: for …`, `break 'outer`).
    Label(String),
    Newline,

    // keywords
    Fn,
    Async,
    Await,
    Return,
    Let,
    If,
    Else,
    For,
    While,
    Loop,
    Match,
    Type,
    In,
    Break,
    Continue,
    True,
    False,
    Null,
    And,
    Or,
    Not,

    // punctuation
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Dot,
    DotDot,
    DotDotEq,
    /// `...`: a variadic parameter.
    Ellipsis,
    At,
    Question,
    Arrow,
    FatArrow,
    Pipe,
    Eq,
    EqEq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    PlusEq,
    MinusEq,
    StarEq,
    SlashEq,
    Amp,
    Caret,
    Tilde,
    Shl,
    Shr,
    AmpEq,
    PipeEq,
    CaretEq,
    ShlEq,
    ShrEq,
    Xor,
    Static,
}

impl Token {
    pub fn keyword(word: &str) -> Option<Token> {
        Some(match word {
            "fn" => Token::Fn,
            "async" => Token::Async,
            "await" => Token::Await,
            "return" => Token::Return,
            "let" => Token::Let,
            "if" => Token::If,
            "else" => Token::Else,
            "for" => Token::For,
            "while" => Token::While,
            "loop" => Token::Loop,
            "match" => Token::Match,
            "type" => Token::Type,
            "in" => Token::In,
            "break" => Token::Break,
            "continue" => Token::Continue,
            "true" => Token::True,
            "false" => Token::False,
            "null" => Token::Null,
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "xor" => Token::Xor,
            "static" => Token::Static,
            _ => return None,
        })
    }

    /// Tokens after which a line cannot end a statement, so a newline is ignored.
    pub fn continues_line(&self) -> bool {
        use Token::*;
        matches!(
            self,
            Comma
                | LParen
                | LBracket
                | LBrace
                | Colon
                | Dot
                | DotDot
                | DotDotEq
                | Arrow
                | FatArrow
                | Pipe
                | Eq
                | EqEq
                | NotEq
                | LtEq
                | GtEq
                | Plus
                | Minus
                | Star
                | Slash
                | Percent
                | PlusEq
                | MinusEq
                | StarEq
                | SlashEq
                | And
                | Or
                | Not
                | At
                | Amp
                | Caret
                | Tilde
                | Shl
                | Shr
                | AmpEq
                | PipeEq
                | CaretEq
                | ShlEq
                | ShrEq
                | Xor
        )
    }

    /// Tokens that, at the start of a line, continue the previous one.
    pub fn continues_previous_line(&self) -> bool {
        use Token::*;
        matches!(self, RParen | RBracket | RBrace | Dot | Else | And | Or | Xor | Question | LBrace)
    }
}

impl fmt::Display for Token {
    /// How a token is named in messages: `` `fn` ``, `a string`, `a newline`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Token::*;
        let s = match self {
            Ident(name) => return write!(f, "`{name}`"),
            Int(_) => "an integer",
            Float(_) => "a number",
            Str(_) | InterpStart(_) => "a string",
            Bytes(_) => "a bytes literal",
            InterpMid(_) | InterpEnd(_) => "the end of an interpolation",
            FormatSpec(_) => "a format spec",
            Label(name) => return write!(f, "`'{name}`"),
            Newline => "a new line",
            Fn => "`fn`",
            Async => "`async`",
            Await => "`await`",
            Return => "`return`",
            Let => "`let`",
            If => "`if`",
            Else => "`else`",
            For => "`for`",
            While => "`while`",
            Loop => "`loop`",
            Match => "`match`",
            Type => "`type`",
            In => "`in`",
            Break => "`break`",
            Continue => "`continue`",
            True => "`true`",
            False => "`false`",
            Null => "`null`",
            And => "`and`",
            Or => "`or`",
            Not => "`not`",
            LParen => "`(`",
            RParen => "`)`",
            LBracket => "`[`",
            RBracket => "`]`",
            LBrace => "`{`",
            RBrace => "`}`",
            Comma => "`,`",
            Colon => "`:`",
            Dot => "`.`",
            DotDot => "`..`",
            DotDotEq => "`..=`",
            At => "`@`",
            Question => "`?`",
            Arrow => "`->`",
            FatArrow => "`=>`",
            Pipe => "`|`",
            Eq => "`=`",
            EqEq => "`==`",
            NotEq => "`!=`",
            Lt => "`<`",
            LtEq => "`<=`",
            Gt => "`>`",
            GtEq => "`>=`",
            Plus => "`+`",
            Minus => "`-`",
            Star => "`*`",
            Slash => "`/`",
            Percent => "`%`",
            PlusEq => "`+=`",
            MinusEq => "`-=`",
            StarEq => "`*=`",
            SlashEq => "`/=`",
            Amp => "`&`",
            Caret => "`^`",
            Tilde => "`~`",
            Shl => "`<<`",
            Shr => "`>>`",
            Ellipsis => "`...`",
            AmpEq => "`&=`",
            PipeEq => "`|=`",
            CaretEq => "`^=`",
            ShlEq => "`<<=`",
            ShrEq => "`>>=`",
            Xor => "`xor`",
            Static => "`static`",
        };
        f.write_str(s)
    }
}
