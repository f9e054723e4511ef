//! Where a fix's edit goes, found in the text around a diagnostic's span: the name to replace
//! inside it, the `fn` keyword before a function's name, its parameter list, the line a
//! decorator stands on. Each answers `None` when the text is not what it expects, and then the
//! diagnostic keeps its `help:` without a fix — a fix is offered only where it is sure.

use crate::span::Span;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn slice(text: &str, span: Span) -> Option<&str> {
    text.get(span.start as usize..span.end as usize)
}

/// `word` as a whole word inside `span` (its first such occurrence).
pub fn word_in(text: &str, span: Span, word: &str) -> Option<Span> {
    let inside = slice(text, span)?;
    let bytes = inside.as_bytes();
    let mut from = 0;
    while let Some(at) = inside[from..].find(word).map(|i| i + from) {
        let end = at + word.len();
        let before = at == 0 || !is_word(bytes[at - 1]);
        let after = end == bytes.len() || !is_word(bytes[end]);
        if before && after && !word.is_empty() {
            return Some(Span::new(span.start + at as u32, span.start + end as u32));
        }
        from = at + 1;
    }
    None
}

/// The `fn` keyword before a function's name (where `async ` goes).
pub fn fn_keyword_before(text: &str, name: Span) -> Option<u32> {
    let before = text.get(..name.start as usize)?.trim_end();
    let at = before.strip_suffix("fn")?.len();
    (at == 0 || !is_word(before.as_bytes()[at - 1])).then_some(at as u32)
}

/// Just inside the `(` after a function's name, and whether the list has parameters.
pub fn params_after(text: &str, name: Span) -> Option<(u32, bool)> {
    let rest = text.get(name.end as usize..)?;
    let open = rest.len() - rest.trim_start().len();
    if !rest[open..].starts_with('(') {
        return None;
    }
    let inside = open + 1;
    let empty = rest[inside..].trim_start().starts_with(')');
    Some((name.end + inside as u32, !empty))
}

/// The start of the line holding `at`, and that line's indentation.
pub fn line_of(text: &str, at: u32) -> (u32, &str) {
    let start = text[..at as usize].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
    (start as u32, indent)
}

/// `span` with the rest of its line when nothing else stands on it: what deleting a
/// decorator written on a line of its own removes.
pub fn whole_line(text: &str, span: Span) -> Span {
    let (start, _) = line_of(text, span.start);
    let end = text[span.end as usize..].find('\n').map_or(text.len(), |i| span.end as usize + i);
    let alone = text[start as usize..span.start as usize].trim().is_empty() && text[span.end as usize..end].trim().is_empty();
    if alone { Span::new(start, (end + 1).min(text.len()) as u32) } else { span }
}

/// Where `.await` (or `?`) goes after an expression: its end, past trailing blanks.
pub fn after(text: &str, span: Span) -> Option<u32> {
    let inside = slice(text, span)?;
    Some(span.start + inside.trim_end().len() as u32)
}

/// The trailing `.await` of an awaited expression.
pub fn trailing_await(text: &str, span: Span) -> Option<Span> {
    let inside = slice(text, span)?.trim_end();
    let head = inside.strip_suffix("await")?.trim_end().strip_suffix('.')?;
    let head = head.trim_end();
    Some(Span::new(span.start + head.len() as u32, span.start + inside.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_found_whole() {
        let t = "let usr = user_name + usr";
        assert_eq!(word_in(t, Span::new(0, t.len() as u32), "usr"), Some(Span::new(4, 7)));
        assert_eq!(word_in(t, Span::new(8, t.len() as u32), "usr"), Some(Span::new(22, 25)));
        assert_eq!(word_in(t, Span::new(0, 3), "usr"), None);
    }

    #[test]
    fn functions_and_parameters() {
        let t = "@get(\"/a\")\nfn  show (x: Int) {}\nfn none( ) {}";
        let name = Span::new(15, 19);
        assert_eq!(&t[name.start as usize..name.end as usize], "show");
        assert_eq!(fn_keyword_before(t, name), Some(11));
        assert_eq!(params_after(t, name), Some((21, true)));
        assert_eq!(params_after(t, Span::new(35, 39)), Some((40, false)));
        assert_eq!(fn_keyword_before("xfn a()", Span::new(4, 5)), None);
    }

    #[test]
    fn lines_and_awaits() {
        let t = "fn f() {\n    @authenticated\n    x\n}";
        let deco = Span::new(13, 27);
        assert_eq!(&t[deco.start as usize..deco.end as usize], "@authenticated");
        assert_eq!(whole_line(t, deco), Span::new(9, 28));
        assert_eq!(line_of(t, 30), (28, "    "));
        let a = "g(x) . await ";
        assert_eq!(trailing_await(a, Span::new(0, a.len() as u32)), Some(Span::new(4, 12)));
        assert_eq!(after(a, Span::new(0, 5)), Some(4));
    }
}
