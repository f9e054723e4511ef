//! `fitz lsp`: the language server, over stdio (rust-analyzer's `lsp-server` loop).
//!
//! Every request is answered from `fitz_compiler::ide::Analysis` of the program the document
//! belongs to (the file and what it imports, or its project), read with the editor's unsaved
//! texts over the disk's. Diagnostics are `fitz check`'s own, published on open and on every
//! change for each open file of the program. A document that does not parse keeps its last
//! analysis that did, so hover and completion still answer while a line is half typed; a
//! completion also analyses the text with a stand-in name at the cursor (`user.` becomes
//! `user.__fitz_complete`), which usually parses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use fitz_compiler::ide::{Analysis, CompletionKind as CK, SymbolKind as SK};
use fitz_compiler::span::Span;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use lsp_types::{Position, Range, Url};
use serde_json::Value;

const STAND_IN: &str = "__fitz_complete";

pub fn run() -> u8 {
    let (connection, io) = Connection::stdio();
    let caps = lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(lsp::TextDocumentSyncKind::INCREMENTAL)),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Simple(true)),
        signature_help_provider: Some(lsp::SignatureHelpOptions { trigger_characters: Some(vec!["(".into(), ",".into()]), ..Default::default() }),
        completion_provider: Some(lsp::CompletionOptions { trigger_characters: Some(vec![".".into(), "@".into()]), ..Default::default() }),
        ..Default::default()
    };
    let caps = serde_json::to_value(caps).unwrap_or_default();
    if let Err(e) = connection.initialize(caps) {
        eprintln!("fitz lsp: {e}");
        return 1;
    }
    let mut server = Server { conn: &connection, docs: HashMap::new(), last_good: HashMap::new(), parses: Default::default(), pending: Vec::new(), published: HashMap::new() };
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req).unwrap_or(true) {
                    break;
                }
                server.request(req);
            }
            Message::Notification(n) => server.notification(n),
            Message::Response(_) => {}
        }
        // Edits typed faster than a check are checked once, after the last of them.
        if connection.receiver.is_empty() {
            server.flush();
        }
    }
    drop(server);
    drop(connection);
    match io.join() {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

struct Server<'c> {
    conn: &'c Connection,
    /// The open documents' texts, by path.
    docs: HashMap<PathBuf, String>,
    /// The last analysis of each open document that parsed, with the text it was made from.
    last_good: HashMap<PathBuf, (Rc<Program>, String)>,
    /// Each file's parse while its text is unchanged: an edit parses only its own file again.
    parses: std::cell::RefCell<fitz_compiler::project::ParseCache>,
    /// Documents changed since their program's diagnostics were last published.
    pending: Vec<PathBuf>,
    /// What each file was last told, so a file another one's edit leaves alone is not re-sent.
    published: HashMap<PathBuf, Vec<lsp::Diagnostic>>,
}

/// An analysis and the files of its program, in its `Sources` order.
struct Program {
    analysis: Analysis,
    paths: Vec<PathBuf>,
}

/// The editor's texts over the disk.
struct Overlay<'a>(&'a HashMap<PathBuf, String>);

impl fitz_compiler::project::Files for Overlay<'_> {
    fn read(&self, path: &Path) -> Option<String> {
        self.0.get(path).cloned().or_else(|| std::fs::read_to_string(path).ok())
    }
}

impl Program {
    /// A fix's edits as the editor's: each in its file, in UTF-16 positions.
    fn edit(&self, edits: &[fitz_compiler::diagnostic::Edit]) -> Option<lsp::WorkspaceEdit> {
        let mut changes: HashMap<Url, Vec<lsp::TextEdit>> = HashMap::new();
        for e in edits {
            let (file, local) = self.analysis.sources.locate(e.span);
            let uri = Url::from_file_path(self.paths.get(file)?).ok()?;
            let range = range_in(&self.analysis.sources.files[file].text, local);
            changes.entry(uri).or_default().push(lsp::TextEdit { range, new_text: e.text.clone() });
        }
        Some(lsp::WorkspaceEdit { changes: Some(changes), ..Default::default() })
    }
}

fn path_of(uri: &Url) -> Option<PathBuf> {
    uri.to_file_path().ok()
}

impl Server<'_> {
    fn analyse(&self, path: &Path, docs: &HashMap<PathBuf, String>) -> Option<Program> {
        let layout = fitz_compiler::project::Layout::find(path).ok()?;
        let project = fitz_compiler::project::load_cached(&layout, &Overlay(docs), &mut self.parses.borrow_mut());
        let paths = project.paths.iter().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())).collect();
        Some(Program { analysis: Analysis::of(&project), paths })
    }

    /// The analysis for requests about `path`: the current text's, or the last that parsed.
    /// (Shared: every request while the file does not parse answers from the same one.)
    fn program(&mut self, path: &Path) -> Option<Rc<Program>> {
        let current = self.analyse(path, &self.docs)?;
        if current.analysis.is_readable() {
            return Some(Rc::new(current));
        }
        self.last_good.get(path).map(|(old, _)| old.clone())
    }

    fn send(&self, msg: Message) {
        let _ = self.conn.sender.send(msg);
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(n.params) else { return };
                let Some(path) = path_of(&p.text_document.uri) else { return };
                self.docs.insert(path.clone(), p.text_document.text);
                self.touch(path);
            }
            "textDocument/didChange" => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(n.params) else { return };
                let Some(path) = path_of(&p.text_document.uri) else { return };
                let Some(text) = self.docs.get_mut(&path) else { return };
                for change in p.content_changes {
                    match change.range {
                        Some(r) => {
                            let (start, end) = (offset_in(text, r.start) as usize, offset_in(text, r.end) as usize);
                            text.replace_range(start..end.max(start), &change.text);
                        }
                        None => *text = change.text,
                    }
                }
                self.touch(path);
            }
            "textDocument/didClose" => {
                let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(n.params) else { return };
                if let Some(path) = path_of(&p.text_document.uri) {
                    self.docs.remove(&path);
                    self.last_good.remove(&path);
                    self.parses.borrow_mut().forget(&path);
                    self.published.remove(&path);
                    self.pending.retain(|p| *p != path);
                }
            }
            _ => {}
        }
    }

    fn touch(&mut self, path: PathBuf) {
        if !self.pending.contains(&path) {
            self.pending.push(path);
        }
    }

    /// Diagnoses the documents changed since the last time.
    fn flush(&mut self) {
        for path in std::mem::take(&mut self.pending) {
            self.diagnose(&path);
        }
    }

    /// Publishes the diagnostics of the program `path` belongs to: always for `path`, and for
    /// each other open file of its program whose diagnostics changed.
    fn diagnose(&mut self, path: &Path) {
        let Some(program) = self.analyse(path, &self.docs) else { return };
        let a = &program.analysis;
        let mut by_file: HashMap<usize, Vec<lsp::Diagnostic>> = HashMap::new();
        for d in &a.diagnostics.items {
            let Some(primary) = d.labels.iter().find(|l| l.primary).or(d.labels.first()) else { continue };
            let (file, local) = a.sources.locate(primary.span);
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message += &format!("\nhelp: {help}");
            }
            let severity = match d.severity {
                fitz_compiler::diagnostic::Severity::Error => lsp::DiagnosticSeverity::ERROR,
                fitz_compiler::diagnostic::Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            };
            let range = range_in(&a.sources.files[file].text, local);
            // The fixes travel with the diagnostic, so a code action needs no analysis.
            let fixes: Vec<Value> = d.fixes.iter().filter_map(|f| Some(serde_json::json!({ "title": f.title, "edit": program.edit(&f.edits)? }))).collect();
            let data = (!fixes.is_empty()).then(|| Value::Array(fixes));
            by_file.entry(file).or_default().push(lsp::Diagnostic {
                range,
                severity: Some(severity),
                code: Some(lsp::NumberOrString::String(d.code.to_string())),
                source: Some("fitz".into()),
                message,
                data,
                ..Default::default()
            });
        }
        for (i, p) in program.paths.iter().enumerate() {
            if !self.docs.contains_key(p) && p != path {
                continue;
            }
            let Ok(uri) = Url::from_file_path(p) else { continue };
            let diagnostics = by_file.remove(&i).unwrap_or_default();
            if p != path && self.published.get(p) == Some(&diagnostics) {
                continue;
            }
            self.published.insert(p.clone(), diagnostics.clone());
            let params = lsp::PublishDiagnosticsParams { uri, diagnostics, version: None };
            self.send(Message::Notification(Notification::new("textDocument/publishDiagnostics".into(), params)));
        }
        if program.analysis.is_readable()
            && let Some(text) = self.docs.get(path).cloned()
        {
            self.last_good.insert(path.to_path_buf(), (Rc::new(program), text));
        }
    }

    fn request(&mut self, req: Request) {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            "textDocument/hover" => self.hover(req.params),
            "textDocument/definition" => self.definition(req.params),
            "textDocument/references" => self.references(req.params),
            "textDocument/rename" => self.rename(req.params),
            "textDocument/documentSymbol" => self.symbols(req.params),
            "textDocument/formatting" => self.formatting(req.params),
            "textDocument/completion" => self.completion(req.params),
            "textDocument/codeAction" => self.code_actions(req.params),
            "textDocument/signatureHelp" => self.signature_help(req.params),
            _ => Err((ErrorCode::MethodNotFound, format!("unsupported request {}", req.method))),
        };
        let response = match result {
            Ok(v) => Response::new_ok(id, v),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(Message::Response(response));
    }

    /// The program of a position's document and the position as a program offset.
    fn at(&mut self, doc: &lsp::TextDocumentPositionParams) -> Option<(Rc<Program>, u32)> {
        let path = path_of(&doc.text_document.uri)?;
        let program = self.program(&path)?;
        let i = program.paths.iter().position(|p| *p == path)?;
        let file = &program.analysis.sources.files[i];
        let offset = file.base + offset_in(&file.text, doc.position);
        Some((program, offset))
    }

    fn location(program: &Program, span: Span) -> Option<lsp::Location> {
        let (i, local) = program.analysis.sources.locate(span);
        let uri = Url::from_file_path(program.paths.get(i)?).ok()?;
        Some(lsp::Location { uri, range: range_in(&program.analysis.sources.files[i].text, local) })
    }

    /// The signature of the call being written: the callee and argument are read from the
    /// editor's current text (a half-written call does not parse), the signature from the
    /// last analysis that did.
    fn signature_help(&mut self, params: Value) -> Reply {
        let p: lsp::SignatureHelpParams = parse(params)?;
        let doc = &p.text_document_position_params;
        let Some(path) = path_of(&doc.text_document.uri) else { return Ok(Value::Null) };
        let Some(text) = self.docs.get(&path).cloned().or_else(|| std::fs::read_to_string(&path).ok()) else { return Ok(Value::Null) };
        let offset = offset_in(&text, doc.position) as usize;
        let Some((callee, active)) = fitz_compiler::ide::call_at(&text, offset) else { return Ok(Value::Null) };
        let Some(program) = self.program(&path) else { return Ok(Value::Null) };
        let Some(help) = program.analysis.signature_help(&callee, active) else { return Ok(Value::Null) };
        let documentation = help.doc.map(|d| lsp::Documentation::MarkupContent(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value: d }));
        let parameters = help.params.into_iter().map(|p| lsp::ParameterInformation { label: lsp::ParameterLabel::Simple(p), documentation: None }).collect();
        let signature = lsp::SignatureInformation { label: help.label, documentation, parameters: Some(parameters), active_parameter: Some(help.active as u32) };
        Ok(json(lsp::SignatureHelp { signatures: vec![signature], active_signature: Some(0), active_parameter: Some(help.active as u32) }))
    }

    fn hover(&mut self, params: Value) -> Reply {
        let p: lsp::HoverParams = parse(params)?;
        let Some((program, offset)) = self.at(&p.text_document_position_params) else { return Ok(Value::Null) };
        let Some((span, text)) = program.analysis.hover(offset) else { return Ok(Value::Null) };
        let range = Self::location(&program, span).map(|l| l.range);
        Ok(json(lsp::Hover { contents: lsp::HoverContents::Markup(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value: text }), range }))
    }

    fn definition(&mut self, params: Value) -> Reply {
        let p: lsp::GotoDefinitionParams = parse(params)?;
        let Some((program, offset)) = self.at(&p.text_document_position_params) else { return Ok(Value::Null) };
        Ok(program.analysis.definition(offset).and_then(|s| Self::location(&program, s)).map_or(Value::Null, json))
    }

    fn references(&mut self, params: Value) -> Reply {
        let p: lsp::ReferenceParams = parse(params)?;
        let Some((program, offset)) = self.at(&p.text_document_position) else { return Ok(Value::Null) };
        let spans = program.analysis.references(offset);
        Ok(json(spans.into_iter().filter_map(|s| Self::location(&program, s)).collect::<Vec<_>>()))
    }

    fn rename(&mut self, params: Value) -> Reply {
        let p: lsp::RenameParams = parse(params)?;
        let valid = p.new_name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && p.new_name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            return Err((ErrorCode::InvalidParams, format!("`{}` is not a name", p.new_name)));
        }
        let Some((program, offset)) = self.at(&p.text_document_position) else { return Ok(Value::Null) };
        let spans = program.analysis.references(offset);
        if spans.is_empty() {
            return Err((ErrorCode::InvalidParams, "only a function, type, global or field of the program can be renamed".into()));
        }
        let mut changes: HashMap<Url, Vec<lsp::TextEdit>> = HashMap::new();
        for s in spans {
            if let Some(l) = Self::location(&program, s) {
                changes.entry(l.uri).or_default().push(lsp::TextEdit { range: l.range, new_text: p.new_name.clone() });
            }
        }
        Ok(json(lsp::WorkspaceEdit { changes: Some(changes), ..Default::default() }))
    }

    fn symbols(&mut self, params: Value) -> Reply {
        let p: lsp::DocumentSymbolParams = parse(params)?;
        let Some(path) = path_of(&p.text_document.uri) else { return Ok(Value::Null) };
        let Some(program) = self.program(&path) else { return Ok(Value::Null) };
        let Some(i) = program.paths.iter().position(|q| *q == path) else { return Ok(Value::Null) };
        let file = &program.analysis.sources.files[i];
        let local = |s: Span| range_in(&file.text, Span::new(s.start.saturating_sub(file.base), s.end.saturating_sub(file.base)));
        #[allow(deprecated)] // `deprecated` is a field the type still requires.
        fn convert(s: fitz_compiler::ide::Symbol, local: &dyn Fn(Span) -> Range) -> lsp::DocumentSymbol {
            let kind = match s.kind {
                SK::Function => lsp::SymbolKind::FUNCTION,
                SK::Type => lsp::SymbolKind::STRUCT,
                SK::Field => lsp::SymbolKind::FIELD,
                SK::Variable => lsp::SymbolKind::VARIABLE,
            };
            let children = s.children.into_iter().map(|c| convert(c, local)).collect::<Vec<_>>();
            lsp::DocumentSymbol {
                name: s.name,
                detail: None,
                kind,
                tags: None,
                deprecated: None,
                range: local(s.span),
                selection_range: local(s.name_span),
                children: (!children.is_empty()).then_some(children),
            }
        }
        let out: Vec<lsp::DocumentSymbol> = program.analysis.symbols(i).into_iter().map(|s| convert(s, &local)).collect();
        Ok(json(out))
    }

    fn formatting(&mut self, params: Value) -> Reply {
        let p: lsp::DocumentFormattingParams = parse(params)?;
        let Some(path) = path_of(&p.text_document.uri) else { return Ok(Value::Null) };
        let Some(text) = self.docs.get(&path).cloned().or_else(|| std::fs::read_to_string(&path).ok()) else { return Ok(Value::Null) };
        // A file that does not parse is left alone, as `fitz fmt` leaves it.
        let Some(formatted) = fitz_compiler::syntax::print::format_source(&text) else { return Ok(Value::Null) };
        if formatted == text {
            return Ok(json(Vec::<lsp::TextEdit>::new()));
        }
        let whole = range_in(&text, Span::new(0, text.len() as u32));
        Ok(json(vec![lsp::TextEdit { range: whole, new_text: formatted }]))
    }

    fn completion(&mut self, params: Value) -> Reply {
        let p: lsp::CompletionParams = parse(params)?;
        let pos = &p.text_document_position;
        let Some(path) = path_of(&pos.text_document.uri) else { return Ok(Value::Null) };
        let Some(text) = self.docs.get(&path).cloned() else { return Ok(Value::Null) };
        let at = offset_in(&text, pos.position) as usize;
        // The text with a stand-in name at the cursor, which parses where `user.` alone does not.
        let mut patched = self.docs.clone();
        let word_before = text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let with = if word_before { text.clone() } else { format!("{}{STAND_IN}{}", &text[..at], &text[at..]) };
        patched.insert(path.clone(), with);
        let program = match self.analyse(&path, &patched) {
            Some(p) if p.analysis.is_readable() => Some(Rc::new(p)),
            _ => self.program(&path),
        };
        let Some(program) = program else { return Ok(Value::Null) };
        let Some(i) = program.paths.iter().position(|q| *q == path) else { return Ok(Value::Null) };
        let offset = program.analysis.sources.files[i].base + at as u32;
        let items: Vec<lsp::CompletionItem> = program
            .analysis
            .completions(offset)
            .into_iter()
            .filter(|c| c.label != STAND_IN)
            .map(|c| lsp::CompletionItem {
                label: c.label,
                kind: Some(match c.kind {
                    CK::Keyword => lsp::CompletionItemKind::KEYWORD,
                    CK::Function => lsp::CompletionItemKind::FUNCTION,
                    CK::Module => lsp::CompletionItemKind::MODULE,
                    CK::Type => lsp::CompletionItemKind::STRUCT,
                    CK::Field => lsp::CompletionItemKind::FIELD,
                    CK::Method => lsp::CompletionItemKind::METHOD,
                    CK::Variable => lsp::CompletionItemKind::VARIABLE,
                    CK::Decorator => lsp::CompletionItemKind::KEYWORD,
                }),
                detail: c.detail,
                ..Default::default()
            })
            .collect();
        Ok(json(items))
    }

    /// The checker's fixes (`Diagnostic::fixes`, every mechanical `help:`), as published in
    /// each diagnostic's `data`.
    fn code_actions(&mut self, params: Value) -> Reply {
        let p: lsp::CodeActionParams = parse(params)?;
        let mut out = Vec::new();
        for d in &p.context.diagnostics {
            let Some(Value::Array(fixes)) = &d.data else { continue };
            for (k, f) in fixes.iter().enumerate() {
                let (Some(title), Some(edit)) = (f["title"].as_str(), f.get("edit").and_then(|e| serde_json::from_value::<lsp::WorkspaceEdit>(e.clone()).ok())) else { continue };
                out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                    title: title.to_string(),
                    kind: Some(lsp::CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![d.clone()]),
                    edit: Some(edit),
                    is_preferred: Some(k == 0),
                    ..Default::default()
                }));
            }
        }
        Ok(json(out))
    }
}

type Reply = Result<Value, (ErrorCode, String)>;

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, (ErrorCode, String)> {
    serde_json::from_value(v).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
}

fn json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The byte offset of an LSP position (UTF-16 columns) in `text`.
fn offset_in(text: &str, pos: Position) -> u32 {
    let mut line_start = 0usize;
    for _ in 0..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len() as u32,
        }
    }
    let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    let mut units = 0u32;
    for (i, c) in text[line_start..line_end].char_indices() {
        if units >= pos.character {
            return (line_start + i) as u32;
        }
        units += c.len_utf16() as u32;
    }
    line_end as u32
}

/// The LSP position of a byte offset in `text`.
fn position_in(text: &str, offset: u32) -> Position {
    let offset = (offset as usize).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = before[line_start..].encode_utf16().count() as u32;
    Position { line, character }
}

fn range_in(text: &str, span: Span) -> Range {
    Range { start: position_in(text, span.start), end: position_in(text, span.end) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let text = "ab\nñ😀x\n";
        assert_eq!(offset_in(text, Position { line: 1, character: 3 }), 3 + 2 + 4);
        assert_eq!(position_in(text, 3 + 2 + 4), Position { line: 1, character: 3 });
        assert_eq!(offset_in(text, Position { line: 9, character: 0 }), text.len() as u32);
    }
}
