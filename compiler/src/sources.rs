//! The source files of one program. A project's modules are parsed one by one and their spans
//! moved into one range of offsets, file after file (as rustc's `SourceMap` and codespan's
//! `Files` do), so every later phase keeps using a plain `Span` and only the places that show a
//! position to a person ask which file it is in.

use crate::span::{LineCol, LineIndex, Span};

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// What messages call the file: its path from the project's root.
    pub name: String,
    pub text: String,
    /// Where the file starts in the program's offsets.
    pub base: u32,
    lines: LineIndex,
}

#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub files: Vec<SourceFile>,
    /// Every file's text at its base, one newline between: a span of any file slices it.
    joined: String,
}

impl Sources {
    /// A program of one file.
    pub fn single(name: &str, text: &str) -> Sources {
        let mut s = Sources::default();
        s.add(name, text);
        s
    }

    /// Adds a file after the others and returns its index; its spans are to be moved by its
    /// `base`.
    pub fn add(&mut self, name: &str, text: &str) -> usize {
        if !self.joined.is_empty() {
            self.joined.push('\n');
        }
        let base = self.joined.len() as u32;
        self.joined.push_str(text);
        self.files.push(SourceFile { name: name.to_string(), text: text.to_string(), base, lines: LineIndex::new(text) });
        self.files.len() - 1
    }

    /// The text of every file at its base: what spans index.
    pub fn joined(&self) -> &str {
        &self.joined
    }

    /// The index of the file holding `offset` (the last one for an offset past the end).
    pub fn file_at(&self, offset: u32) -> usize {
        self.files.partition_point(|f| f.base <= offset).saturating_sub(1)
    }

    /// The file of `span`, and `span` inside that file.
    pub fn locate(&self, span: Span) -> (usize, Span) {
        let i = self.file_at(span.start);
        let Some(f) = self.files.get(i) else { return (0, span) };
        let len = f.text.len() as u32;
        let start = (span.start - f.base).min(len);
        (i, Span::new(start, (span.end.saturating_sub(f.base)).clamp(start, len)))
    }

    /// The file and one-based line and column of an offset.
    pub fn line_col(&self, offset: u32) -> (usize, LineCol) {
        let (i, local) = self.locate(Span::new(offset, offset));
        match self.files.get(i) {
            Some(f) => (i, f.lines.line_col(&f.text, local.start)),
            None => (0, LineCol { line: 1, column: 1 }),
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.files.iter().map(|f| f.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_find_their_file_line_and_column() {
        let mut s = Sources::default();
        s.add("main.fitz", "import util\nprint(1)\n");
        let u = s.add("util.fitz", "fn f() -> Int => 1\n");
        let base = s.files[u].base;
        assert_eq!(&s.joined()[base as usize..base as usize + 2], "fn");
        assert_eq!(s.line_col(base + 3), (1, LineCol { line: 1, column: 4 }));
        assert_eq!(s.line_col(12), (0, LineCol { line: 2, column: 1 }));
        assert_eq!(s.locate(Span::new(base + 3, base + 4)), (1, Span::new(3, 4)));
    }
}
