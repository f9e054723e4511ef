//! Diagnostics: the one shape every phase's problems are turned into, and the only place that
//! renders them (rustc-style text through codespan-reporting, or JSON for editors and CI).

use serde::Serialize;

use crate::sources::Sources;
use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable name of the kind of problem, e.g. `type-mismatch`.
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    /// The `help:` as edits, where the fix is mechanical (an editor's quick fix).
    pub fixes: Vec<Fix>,
}

/// One way to mend a diagnostic: edits to the program's text, applied together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
}

/// `span` replaced by `text` (an empty span inserts).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, code, message: message.into(), labels: vec![], notes: vec![], help: None, fixes: vec![] }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn primary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into(), primary: true });
        self
    }

    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into(), primary: false });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A fix of one edit.
    pub fn fix(mut self, title: impl Into<String>, span: Span, text: impl Into<String>) -> Self {
        self.fixes.push(Fix { title: title.into(), edits: vec![Edit { span, text: text.into() }] });
        self
    }

    /// A fix inserting `text` at `at`, when its place was found.
    pub fn fix_at(self, at: Option<u32>, title: impl Into<String>, text: impl Into<String>) -> Self {
        self.fix_in(at.map(|a| Span::new(a, a)), title, text)
    }

    /// A fix replacing `span` by `text`, when it was found.
    pub fn fix_in(self, span: Option<Span>, title: impl Into<String>, text: impl Into<String>) -> Self {
        match span {
            Some(s) => self.fix(title, s, text),
            None => self,
        }
    }

    /// Moves every span (labels and fixes) by `f`: a file's spans into the program's.
    pub fn respan(&mut self, f: impl Fn(Span) -> Span) {
        for l in &mut self.labels {
            l.span = f(l.span);
        }
        for e in self.fixes.iter_mut().flat_map(|x| &mut x.edits) {
            e.span = f(e.span);
        }
    }

    pub fn span(&self) -> Span {
        self.labels.iter().find(|l| l.primary).map(|l| l.span).unwrap_or_default()
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// All diagnostics of one file, sorted by position.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.items.len() - self.errors()
    }

    pub fn sort(&mut self) {
        self.items.sort_by_key(|a| (a.span(), a.severity));
    }

    /// Renders like rustc: `error[code]: message`, `--> file:line:col`, the source line with
    /// the span underlined, notes and `help:`.
    pub fn render(&self, file: &str, source: &str, color: bool) -> String {
        self.render_in(&Sources::single(file, source), color)
    }

    /// As `render`, for a program of several files: each label in its own file.
    pub fn render_in(&self, sources: &Sources, color: bool) -> String {
        use codespan_reporting::diagnostic as cs;
        use codespan_reporting::files::SimpleFiles;
        use codespan_reporting::term::{self, Chars, Config};

        let mut files = SimpleFiles::new();
        for f in &sources.files {
            files.add(f.name.as_str(), f.text.as_str());
        }
        let config = Config { chars: Chars::ascii(), ..Config::default() };
        let mut out: Vec<u8> = Vec::new();
        for d in &self.items {
            let severity = match d.severity {
                Severity::Error => cs::Severity::Error,
                Severity::Warning => cs::Severity::Warning,
            };
            let labels = d
                .labels
                .iter()
                .map(|l| {
                    let (file, local) = sources.locate(l.span);
                    let range = sources.files.get(file).map_or(0..0, |f| clamp(local, &f.text));
                    let label = if l.primary { cs::Label::primary(file, range) } else { cs::Label::secondary(file, range) };
                    label.with_message(&l.message)
                })
                .collect();
            let mut notes = d.notes.clone();
            if let Some(h) = &d.help {
                notes.push(format!("help: {h}"));
            }
            let diag = cs::Diagnostic::new(severity).with_code(d.code).with_message(&d.message).with_labels(labels).with_notes(notes);
            let result = if color {
                let mut buf = term::termcolor::Ansi::new(&mut out);
                term::emit_to_write_style(&mut buf, &config, &files, &diag)
            } else {
                let mut buf = term::termcolor::NoColor::new(&mut out);
                term::emit_to_write_style(&mut buf, &config, &files, &diag)
            };
            if result.is_err() {
                let (file, _) = sources.line_col(d.span().start);
                let name = sources.files.get(file).map_or("?", |f| f.name.as_str());
                out.extend_from_slice(format!("{}: {}\n", name, d.message).as_bytes());
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Machine-readable form: one object per diagnostic with one-based line and column.
    pub fn to_json(&self, file: &str, source: &str) -> serde_json::Value {
        self.to_json_in(&Sources::single(file, source))
    }

    /// As `to_json`, each diagnostic naming its file.
    pub fn to_json_in(&self, sources: &Sources) -> serde_json::Value {
        let name = |offset: u32| sources.files.get(sources.line_col(offset).0).map_or(String::new(), |f| f.name.clone());
        let items: Vec<serde_json::Value> = self
            .items
            .iter()
            .map(|d| {
                let span = d.span();
                let (_, start) = sources.line_col(span.start);
                let (_, end) = sources.line_col(span.end);
                serde_json::json!({
                    "file": name(span.start),
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    "line": start.line,
                    "column": start.column,
                    "end_line": end.line,
                    "end_column": end.column,
                    "labels": d.labels.iter().map(|l| {
                        let (_, s) = sources.line_col(l.span.start);
                        let (_, local) = sources.locate(l.span);
                        serde_json::json!({
                            "file": name(l.span.start),
                            "message": l.message,
                            "primary": l.primary,
                            "line": s.line,
                            "column": s.column,
                            "start": local.start,
                            "end": local.end,
                        })
                    }).collect::<Vec<_>>(),
                    "notes": d.notes,
                    "help": d.help,
                    "fixes": d.fixes.iter().map(|x| serde_json::json!({
                        "title": x.title,
                        "edits": x.edits.iter().map(|e| {
                            let (_, s) = sources.line_col(e.span.start);
                            let (_, t) = sources.line_col(e.span.end);
                            let (_, local) = sources.locate(e.span);
                            serde_json::json!({
                                "file": name(e.span.start),
                                "line": s.line, "column": s.column, "end_line": t.line, "end_column": t.column,
                                "start": local.start, "end": local.end,
                                "text": e.text,
                            })
                        }).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::Value::Array(items)
    }
}

fn clamp(span: Span, source: &str) -> std::ops::Range<usize> {
    let len = source.len();
    let mut start = (span.start as usize).min(len);
    let mut end = (span.end as usize).min(len).max(start);
    while !source.is_char_boundary(start) {
        start -= 1;
    }
    while !source.is_char_boundary(end) {
        end += 1;
    }
    start..end
}
