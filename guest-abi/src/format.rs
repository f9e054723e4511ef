//! Format specifications in interpolation (`"{price:>10,.2f}"`): one parser for the checker,
//! which refuses a spec that cannot apply, and for the host, which applies it (the `fmt`
//! import) to the value a module hands over.
//!
//! The grammar is Python's format mini-language,
//! `[[fill]align][sign][#][0][width][grouping][.precision][type]`, printed as upstream Fitz
//! prints it: its numbers are Rust's (exact decimal rounding, ties to even), so `e` writes
//! `1.23e-4` (no `+`, no padded exponent), a float with a precision and no type is fixed
//! (`{x:.2}` is `{x:.2f}`), and `g` strips trailing zeros only in fixed notation.

use std::fmt;

/// Widths and precisions past these are refused: what one interpolation can make is bounded.
pub const MAX_WIDTH: usize = 1000;
pub const MAX_PRECISION: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    Center,
    /// `=`: padding between the sign (and base prefix) and the digits.
    AfterSign,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// Only negative numbers carry a sign (the default).
    Minus,
    Plus,
    Space,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The padding character when one is written before the alignment.
    pub fill: Option<char>,
    pub align: Option<Align>,
    pub sign: Sign,
    /// `#`: base prefixes (`0x`), and a kept point and zeros in `g`.
    pub alternate: bool,
    /// `0` before the width: sign-aware zero padding.
    pub zero: bool,
    pub width: usize,
    /// `,` or `_` between groups of digits.
    pub grouping: Option<char>,
    pub precision: Option<usize>,
    pub ty: Option<char>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    /// Not the grammar: the index of the first character that does not fit.
    Malformed(usize),
    TooWide,
    TooPrecise,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Malformed(_) => f.write_str("expected `[[fill]align][sign][#][0][width][,|_][.precision][type]`"),
            SpecError::TooWide => write!(f, "a width is at most {MAX_WIDTH}"),
            SpecError::TooPrecise => write!(f, "a precision is at most {MAX_PRECISION}"),
        }
    }
}

/// What a value is, for the spec to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    /// Text, and any value formatted as its displayed text.
    Text,
}

const TYPES: &str = "bcdeEfFgGnosxX%";

impl Spec {
    pub fn parse(spec: &str) -> Result<Spec, SpecError> {
        let chars: Vec<char> = spec.chars().collect();
        let mut i = 0;
        let mut out = Spec { fill: None, align: None, sign: Sign::Minus, alternate: false, zero: false, width: 0, grouping: None, precision: None, ty: None };
        let align_of = |c: char| match c {
            '<' => Some(Align::Left),
            '>' => Some(Align::Right),
            '^' => Some(Align::Center),
            '=' => Some(Align::AfterSign),
            _ => None,
        };
        if let Some(a) = chars.get(1).and_then(|c| align_of(*c)) {
            out.fill = Some(chars[0]);
            out.align = Some(a);
            i = 2;
        } else if let Some(a) = chars.first().and_then(|c| align_of(*c)) {
            out.align = Some(a);
            i = 1;
        }
        match chars.get(i) {
            Some('+') => (out.sign, i) = (Sign::Plus, i + 1),
            Some('-') => i += 1,
            Some(' ') => (out.sign, i) = (Sign::Space, i + 1),
            _ => {}
        }
        if chars.get(i) == Some(&'#') {
            out.alternate = true;
            i += 1;
        }
        if chars.get(i) == Some(&'0') {
            out.zero = true;
            i += 1;
        }
        let (width, next) = number(&chars, i);
        if let Some(w) = width {
            if w > MAX_WIDTH {
                return Err(SpecError::TooWide);
            }
            out.width = w;
        }
        i = next;
        if let Some(g @ (',' | '_')) = chars.get(i) {
            out.grouping = Some(*g);
            i += 1;
        }
        if chars.get(i) == Some(&'.') {
            let (p, next) = number(&chars, i + 1);
            let Some(p) = p else { return Err(SpecError::Malformed(i + 1)) };
            if p > MAX_PRECISION {
                return Err(SpecError::TooPrecise);
            }
            out.precision = Some(p);
            i = next;
        }
        if let Some(t) = chars.get(i).filter(|t| TYPES.contains(**t)) {
            out.ty = Some(*t);
            i += 1;
        }
        if i != chars.len() {
            return Err(SpecError::Malformed(i));
        }
        Ok(out)
    }

    /// Why the spec cannot apply to a value of this kind, or `None` when it can.
    pub fn misfit(&self, kind: Kind) -> Option<&'static str> {
        let numeric_only = self.sign != Sign::Minus || self.alternate || self.zero || self.grouping.is_some() || self.align == Some(Align::AfterSign);
        match kind {
            Kind::Text => {
                if self.ty.is_some_and(|t| t != 's') {
                    Some("a number type")
                } else if numeric_only {
                    Some("a sign, `#`, `0`, grouping or `=`")
                } else {
                    None
                }
            }
            Kind::Int => match self.ty {
                Some('s') => Some("the type `s`"),
                Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%') => None,
                _ if self.precision.is_some() => Some("a precision"),
                Some('c') if numeric_only => Some("a sign, `#`, `0`, grouping or `=` with `c`"),
                _ => None,
            },
            Kind::Float => match self.ty {
                Some(t @ ('b' | 'c' | 'd' | 'o' | 'x' | 'X' | 's')) => Some(match t {
                    's' => "the type `s`",
                    'd' => "the type `d`",
                    _ => "an integer type",
                }),
                _ if self.alternate && !matches!(self.ty, Some('g' | 'G')) => Some("`#`"),
                _ => None,
            },
        }
    }
}

fn number(chars: &[char], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n: usize = 0;
    while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(d as usize);
        i += 1;
    }
    ((i > start).then_some(n), i)
}

/// An `Int` laid out by the spec (the spec fits an `Int`).
pub fn format_int(spec: &Spec, n: i64) -> String {
    if matches!(spec.ty, Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%')) {
        return format_float(spec, n as f64);
    }
    if spec.ty == Some('c') {
        let c = u32::try_from(n).ok().and_then(char::from_u32).unwrap_or(char::REPLACEMENT_CHARACTER);
        return pad(spec, "", &c.to_string(), Align::Left);
    }
    let abs = n.unsigned_abs();
    let (digits, prefix, group) = match spec.ty {
        Some('b') => (format!("{abs:b}"), "0b", 4),
        Some('o') => (format!("{abs:o}"), "0o", 4),
        Some('x') => (format!("{abs:x}"), "0x", 4),
        Some('X') => (format!("{abs:X}"), "0X", 4),
        _ => (abs.to_string(), "", 3),
    };
    let mut head = sign_of(spec, n < 0).to_string();
    if spec.alternate {
        head.push_str(prefix);
    }
    let digits = match spec.grouping {
        Some(sep) => group_digits(&digits, sep, group, zero_run(spec, head.len())),
        None => digits,
    };
    pad(spec, &head, &digits, Align::Right)
}

/// A `Float` laid out by the spec (the spec fits a `Float`).
pub fn format_float(spec: &Spec, x: f64) -> String {
    let negative = x.is_sign_negative() && !x.is_nan();
    let a = x.abs();
    let body = if x.is_nan() {
        "NaN".to_string()
    } else if a.is_infinite() {
        "inf".to_string()
    } else {
        match (spec.ty, spec.precision) {
            (None, None) => {
                if a.fract() == 0.0 {
                    format!("{a:.1}")
                } else {
                    format!("{a}")
                }
            }
            (None | Some('f' | 'F'), p) => format!("{a:.*}", p.unwrap_or(6)),
            (Some('e'), p) => format!("{a:.*e}", p.unwrap_or(6)),
            (Some('E'), p) => format!("{a:.*E}", p.unwrap_or(6)),
            (Some('%'), p) => format!("{:.*}%", p.unwrap_or(6), a * 100.0),
            (Some(t @ ('g' | 'G')), p) => general(a, p.unwrap_or(6).max(1), spec.alternate, t == 'G'),
            // `n` is `g` without locale; `d`-like types never reach a float (see `misfit`).
            (Some(_), p) => general(a, p.unwrap_or(6).max(1), spec.alternate, false),
        }
    };
    let body = if spec.ty.is_some_and(|t| t.is_ascii_uppercase()) { body.to_uppercase() } else { body };
    let head = sign_of(spec, negative);
    let body = match spec.grouping {
        Some(sep) if a.is_finite() => {
            let end = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
            let rest = body[end..].chars().count();
            format!("{}{}", group_digits(&body[..end], sep, 3, zero_run(spec, head.len() + rest)), &body[end..])
        }
        _ => body,
    };
    pad(spec, head, &body, Align::Right)
}

/// `g`: `p` significant digits, fixed when the exponent is in `-4..p` (trailing zeros and a
/// bare point removed unless `#`), otherwise as `e` with `p - 1` decimals.
fn general(a: f64, p: usize, keep_zeros: bool, upper: bool) -> String {
    let sci = format!("{a:.*e}", p - 1);
    let exp: i64 = sci.rsplit('e').next().and_then(|e| e.parse().ok()).unwrap_or(0);
    if a != 0.0 && (exp < -4 || exp >= p as i64) {
        return if upper { sci.to_uppercase() } else { sci };
    }
    let decimals = (p as i64 - 1 - exp).max(0) as usize;
    let fixed = format!("{a:.decimals$}");
    if keep_zeros || !fixed.contains('.') {
        return fixed;
    }
    fixed.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn sign_of(spec: &Spec, negative: bool) -> &'static str {
    match (negative, spec.sign) {
        (true, _) => "-",
        (false, Sign::Plus) => "+",
        (false, Sign::Space) => " ",
        (false, Sign::Minus) => "",
    }
}

/// With zero padding after the sign, the zeros are digits too and grouped with the rest (as
/// Python does): how long the grouped digits must be, given what else the width holds.
fn zero_run(spec: &Spec, beside: usize) -> usize {
    let zeros = spec.fill.unwrap_or(if spec.zero { '0' } else { ' ' }) == '0' && spec.align.unwrap_or(if spec.zero { Align::AfterSign } else { Align::Right }) == Align::AfterSign;
    if zeros { spec.width.saturating_sub(beside) } else { 0 }
}

/// `digits` with `sep` between groups of `every`, led by zeros until at least `min_len` long.
fn group_digits(digits: &str, sep: char, every: usize, min_len: usize) -> String {
    let grouped_len = |n: usize| n + (n.max(1) - 1) / every;
    let mut n = digits.len();
    while grouped_len(n) < min_len {
        n += 1;
    }
    let padded = format!("{}{digits}", "0".repeat(n - digits.len()));
    let mut out = String::with_capacity(grouped_len(n));
    for (i, c) in padded.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(every) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Text laid out by the spec: `.precision` keeps that many characters.
pub fn format_text(spec: &Spec, s: &str) -> String {
    let kept: &str = match spec.precision {
        Some(p) => match s.char_indices().nth(p) {
            Some((end, _)) => &s[..end],
            None => s,
        },
        None => s,
    };
    pad(spec, "", kept, Align::Left)
}

/// `head` (sign, prefix) and `body` padded to the spec's width, aligned as it says or as the
/// kind's default.
fn pad(spec: &Spec, head: &str, body: &str, default: Align) -> String {
    let len = head.chars().count() + body.chars().count();
    let missing = spec.width.saturating_sub(len);
    // `0` pads with zeros after the sign unless a fill or an alignment says otherwise.
    let fill = spec.fill.unwrap_or(if spec.zero { '0' } else { ' ' });
    let align = spec.align.unwrap_or(if spec.zero { Align::AfterSign } else { default });
    let run = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
    match align {
        Align::Left => format!("{head}{body}{}", run(missing)),
        Align::Right => format!("{}{head}{body}", run(missing)),
        Align::Center => format!("{}{head}{body}{}", run(missing / 2), run(missing - missing / 2)),
        Align::AfterSign => format!("{head}{}{body}", run(missing)),
    }
}

#[cfg(test)]
#[allow(clippy::approx_constant)] // the digits of π are test data here
mod tests {
    use super::*;

    fn int(spec: &str, n: i64) -> String {
        format_int(&Spec::parse(spec).expect("a valid spec"), n)
    }

    fn float(spec: &str, x: f64) -> String {
        format_float(&Spec::parse(spec).expect("a valid spec"), x)
    }

    fn text(spec: &str, s: &str) -> String {
        format_text(&Spec::parse(spec).expect("a valid spec"), s)
    }

    #[test]
    fn integers() {
        assert_eq!(int("5d", 42), "   42");
        assert_eq!(int("<5d", 42), "42   ");
        assert_eq!(int("^5d", 42), " 42  ");
        assert_eq!(int("05d", 42), "00042");
        assert_eq!(int("05d", -42), "-0042");
        assert_eq!(int("x", 255), "ff");
        assert_eq!(int("X", 255), "FF");
        assert_eq!(int("b", 255), "11111111");
        assert_eq!(int("#x", 255), "0xff");
        assert_eq!(int("#010b", 5), "0b00000101");
        assert_eq!(int("+", 42), "+42");
        assert_eq!(int("+", -7), "-7");
        assert_eq!(int(" ", 7), " 7");
        assert_eq!(int(",", 1_000_000), "1,000,000");
        assert_eq!(int("_", 1_000_000), "1_000_000");
        assert_eq!(int("_x", 0xdead_beef), "dead_beef");
        assert_eq!(int(",", i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(int("*>8,", -1234), "**-1,234");
        assert_eq!(int("c", 65), "A");
        assert_eq!(int("<05", 42), "42000");
        // Zero padding is grouped as the digits are.
        assert_eq!(int("08,", 1234), "0,001,234");
        assert_eq!(int("08,", -1234), "-001,234");
        assert_eq!(int("#012_x", 1234), "0x0_0000_04d2");
        assert_eq!(int("*=10,", -1234), "-****1,234");
        assert_eq!(int("0<10,", 1234), "1,23400000");
        assert_eq!(int(".2f", 3), "3.00");
    }

    #[test]
    fn floats() {
        assert_eq!(float(".2f", 3.14159), "3.14");
        assert_eq!(float(".4f", 3.14159), "3.1416");
        assert_eq!(float(".2", 3.14159), "3.14");
        assert_eq!(float("f", 0.5), "0.500000");
        // Exact decimal rounding: 0.15 is below a half, 0.125 is a tie (to even).
        assert_eq!(float(".1f", 0.15), "0.1");
        assert_eq!(float(".2f", 0.125), "0.12");
        assert_eq!(float(".2e", 0.00012345), "1.23e-4");
        assert_eq!(float(".2E", 12345.0), "1.23E4");
        assert_eq!(float(".1%", 0.42), "42.0%");
        assert_eq!(float(",.2f", 1234567.89), "1,234,567.89");
        assert_eq!(float("012,.2f", 1234.5), "0,001,234.50");
        assert_eq!(float("08,.1%", 0.5), "0,050.0%");
        assert_eq!(float("g", 1234.5), "1234.5");
        assert_eq!(float("g", 0.00001), "1.00000e-5");
        assert_eq!(float("g", 1234567890.0), "1.23457e9");
        assert_eq!(float("G", 1234567890.0), "1.23457E9");
        assert_eq!(float("g", 3.14), "3.14");
        assert_eq!(float(".4g", 3.14159265), "3.142");
        assert_eq!(float("g", 100.0), "100");
        assert_eq!(float("#g", 100.0), "100.000");
        assert_eq!(float("g", 0.0), "0");
        assert_eq!(float("+.1f", 2.0), "+2.0");
        assert_eq!(float("08.2f", -3.5), "-0003.50");
        assert_eq!(float(">10", 2.5), "       2.5");
        assert_eq!(float("", 2.0), "2.0");
        assert_eq!(float(".1f", -0.04), "-0.0");
        assert_eq!(float("f", f64::INFINITY), "inf");
        assert_eq!(float("F", f64::NEG_INFINITY), "-INF");
        assert_eq!(float(".3f", 1e300).len(), 305);
    }

    #[test]
    fn text_values() {
        assert_eq!(text("*>10", "Hola"), "******Hola");
        assert_eq!(text("-^10", "Hola"), "---Hola---");
        assert_eq!(text(".>10", "Hola"), "......Hola");
        assert_eq!(text("10", "ñandú"), "ñandú     ");
        assert_eq!(text(".3", "ñandú"), "ñan");
        assert_eq!(text("^7.2s", "abc"), "  ab   ");
    }

    #[test]
    fn bad_specs_are_refused() {
        for bad in ["q", ".f", "5.", "1001", ".1001f", "<<<", "x5", ",,", "d5"] {
            assert!(Spec::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Spec::parse("99999999999999999999999").expect_err("too wide"), SpecError::TooWide);
    }

    #[test]
    fn what_fits_what() {
        let p = |s: &str| Spec::parse(s).expect("a valid spec");
        assert!(p(".2f").misfit(Kind::Text).is_some());
        assert!(p(",").misfit(Kind::Text).is_some());
        assert!(p(">10").misfit(Kind::Text).is_none());
        assert!(p(".3").misfit(Kind::Text).is_none());
        assert!(p(".3").misfit(Kind::Int).is_some());
        assert!(p("x").misfit(Kind::Float).is_some());
        assert!(p("#x").misfit(Kind::Int).is_none());
        assert!(p(".2f").misfit(Kind::Int).is_none());
        assert!(p("s").misfit(Kind::Int).is_some());
    }
}
