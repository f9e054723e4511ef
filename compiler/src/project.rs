//! Programs of several files: `import` and `from … import` (paths relative to the importing
//! file, `a.b` is `a/b.fitz`), and `fitz.toml` projects with path dependencies.
//!
//! ```text
//! load ──► every module parsed (its spans moved into the project's `Sources`)
//!      ──► resolve: one module of items, dependencies first, names made one namespace
//! ```
//!
//! The result is one `ast::Module`, so the checker, lowering and the manifest see one program
//! (one module per project is compiled; the manifest names its sources).

mod auto_auth;
mod manifest;
pub(crate) mod middleware;
mod resolve;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ast::{Import, Module};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::sources::Sources;
use crate::span::Span;
pub use manifest::{ProjectManifest, find_manifest};

/// A program read from files: every module's source, and the merged module when nothing
/// stopped it.
pub struct Project {
    pub sources: Sources,
    /// The file of each source, in the same order (what `--watch` watches).
    pub paths: Vec<PathBuf>,
    pub module: Option<Module>,
    pub diagnostics: Diagnostics,
    /// The project's feature flags and their defaults, for the manifest.
    pub flags: std::collections::BTreeMap<String, bool>,
}

/// One file of the program.
pub(crate) struct Unit {
    /// `a.b` for `a/b.fitz` under the project's root, `dep.x` inside dependency `dep`.
    pub dotted: String,
    pub path: PathBuf,
    /// Where the file starts in the program's offsets.
    pub base: u32,
    pub module: Module,
    /// The unit each of `module.imports` names, where it was found.
    pub targets: Vec<Option<usize>>,
}

/// Where files come from: the disk, or a map in tests and the language server.
pub trait Files {
    fn read(&self, path: &Path) -> Option<String>;
}

pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
}

impl Files for HashMap<PathBuf, String> {
    fn read(&self, path: &Path) -> Option<String> {
        self.get(path).cloned()
    }
}

/// Where a program starts and what its imports may name.
#[derive(Clone, Debug)]
pub struct Layout {
    pub entry: PathBuf,
    /// Modules are named from here: `root/a/b.fitz` is `a.b`.
    pub root: PathBuf,
    /// File names in messages are relative to this.
    pub shown: PathBuf,
    /// The project's name (`[package] name`, else its directory's), for a project.
    pub project: Option<String>,
    /// Dependencies by name: the `[lib]` entry of each.
    pub deps: HashMap<String, PathBuf>,
    /// `[flags]`: feature flags and their defaults.
    pub flags: std::collections::BTreeMap<String, bool>,
}

impl Layout {
    /// A lone file: its directory is the root.
    pub fn file(entry: &Path) -> Layout {
        let root = entry.parent().map(Path::to_path_buf).unwrap_or_default();
        Layout { entry: entry.to_path_buf(), shown: root.clone(), root, project: None, deps: HashMap::new(), flags: Default::default() }
    }

    /// A project directory (with `fitz.toml`) or a file (in a project when a `fitz.toml` is
    /// found above it).
    pub fn find(path: &Path) -> Result<Layout, String> {
        if path.is_dir() {
            if !path.join("fitz.toml").is_file() {
                return Err(format!("`{}` is not a project: it has no `fitz.toml` (give a `.fitz` file, or a directory with one)", path.display()));
            }
            let m = ProjectManifest::read(&path.join("fitz.toml"))?;
            return m.layout(path, None);
        }
        match find_manifest(path) {
            Some(dir) => ProjectManifest::read(&dir.join("fitz.toml"))?.layout(&dir, Some(path)),
            None => Ok(Layout::file(path)),
        }
    }
}

/// Each file's parse, kept while its text is the same: the language server's, so an edit
/// parses again only the file it changed (the program is still checked whole, since a file's
/// types reach every module that imports it).
#[derive(Default)]
pub struct ParseCache {
    entries: HashMap<PathBuf, Parsed>,
    /// Files parsed, and parses taken from the cache, since it was made.
    pub parsed: usize,
    pub reused: usize,
}

struct Parsed {
    text: String,
    module: Module,
    errors: Vec<crate::syntax::error::SyntaxError>,
}

impl ParseCache {
    fn parse(&mut self, path: &Path, text: &str) -> (Module, Vec<crate::syntax::error::SyntaxError>) {
        if let Some(p) = self.entries.get(path)
            && p.text == text
        {
            self.reused += 1;
            return (p.module.clone(), p.errors.clone());
        }
        self.parsed += 1;
        let (module, errors) = crate::syntax::parse_module(text);
        self.entries.insert(path.to_path_buf(), Parsed { text: text.to_string(), module: module.clone(), errors: errors.clone() });
        (module, errors)
    }

    /// Forgets a file (closed in the editor, so the disk speaks for it again).
    pub fn forget(&mut self, path: &Path) {
        self.entries.remove(path);
    }
}

/// Reads the program starting at `layout.entry` and every module it imports.
pub fn load(layout: &Layout, files: &dyn Files) -> Project {
    load_with(layout, files, None)
}

/// As `load`, parsing only the files whose text is not in `cache`.
pub fn load_cached(layout: &Layout, files: &dyn Files, cache: &mut ParseCache) -> Project {
    load_with(layout, files, Some(cache))
}

fn load_with(layout: &Layout, files: &dyn Files, cache: Option<&mut ParseCache>) -> Project {
    let mut l = Loader { layout, files, cache, sources: Sources::default(), units: Vec::new(), by_path: HashMap::new(), problems: Vec::new(), order: Vec::new() };
    let Some(text) = files.read(&layout.entry) else {
        let d = Diagnostic::error("no-entry", format!("cannot read `{}`", layout.entry.display()));
        return Project { sources: l.sources, paths: vec![], module: None, diagnostics: Diagnostics { items: vec![d] }, flags: layout.flags.clone() };
    };
    let entry = l.add(&layout.entry, text, dotted_of(&layout.root, &layout.entry));
    l.visit(entry, &mut Vec::new());
    let Loader { sources, units, problems, order, .. } = l;
    Project { flags: layout.flags.clone(), ..finish(sources, units, order, entry, problems) }
}

/// A program of one file with no imports to read (text from an editor, tests): an import is
/// reported as a module that cannot be found.
pub fn load_text(name: &str, text: &str) -> Project {
    let path = PathBuf::from(name);
    let mut map = HashMap::new();
    map.insert(path.clone(), text.to_string());
    load(&Layout { entry: path, root: PathBuf::new(), shown: PathBuf::new(), project: None, deps: HashMap::new(), flags: Default::default() }, &map)
}

fn finish(sources: Sources, mut units: Vec<Unit>, order: Vec<usize>, entry: usize, problems: Vec<Diagnostic>) -> Project {
    // A file that did not parse, or a module not found, would only make the checker report
    // what it cannot see; names resolved wrongly are reported beside what the checker finds.
    let readable = problems.is_empty();
    let (mut merged, more) = resolve::resolve(&mut units, &order, entry);
    let mut diagnostics = Diagnostics { items: problems };
    diagnostics.items.extend(more);
    middleware::inline(&mut merged, &mut diagnostics.items);
    diagnostics.sort();
    let paths = units.iter().map(|u| u.path.clone()).collect();
    Project { sources, paths, module: readable.then_some(merged), diagnostics, flags: Default::default() }
}

/// `a/b.fitz` under `root` is `a.b`.
fn dotted_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join(".")
}

struct Loader<'a> {
    layout: &'a Layout,
    files: &'a dyn Files,
    cache: Option<&'a mut ParseCache>,
    sources: Sources,
    units: Vec<Unit>,
    by_path: HashMap<PathBuf, usize>,
    problems: Vec<Diagnostic>,
    /// Units in the order their top levels run: every module after the ones it imports.
    order: Vec<usize>,
}

impl Loader<'_> {
    fn add(&mut self, path: &Path, text: String, dotted: String) -> usize {
        let name = path.strip_prefix(&self.layout.shown).unwrap_or(path).display().to_string();
        let file = self.sources.add(&name, &text);
        let base = self.sources.files[file].base;
        let (mut module, errors) = match self.cache.as_deref_mut() {
            Some(cache) => cache.parse(path, &text),
            None => crate::syntax::parse_module(&text),
        };
        let shift = move |s: Span| Span::new(s.start + base, s.end + base);
        // The first file's offsets are already the program's.
        if base != 0 {
            crate::syntax::respan::module(&mut module, &shift);
        }
        for e in &errors {
            let mut d = crate::messages::syntax(e, &text);
            d.respan(shift);
            self.problems.push(d);
        }
        let targets = vec![None; module.imports.len()];
        self.units.push(Unit { dotted, path: path.to_path_buf(), base, module, targets });
        self.by_path.insert(path.to_path_buf(), self.units.len() - 1);
        self.units.len() - 1
    }

    /// Where `import` leads from the file at `from`: a dependency's entry for its name, else
    /// a file beside `from`.
    fn path_of(&self, from: &Path, import: &Import) -> (PathBuf, String) {
        let segs: Vec<&str> = import.path.iter().map(|i| i.name.as_str()).collect();
        if let Some(lib) = self.layout.deps.get(segs[0]) {
            if segs.len() == 1 {
                return (lib.clone(), segs[0].to_string());
            }
            let dir = lib.parent().map(Path::to_path_buf).unwrap_or_default();
            return (dir.join(segs[1..].join("/")).with_extension("fitz"), segs.join("."));
        }
        let dir = from.parent().map(Path::to_path_buf).unwrap_or_default();
        let path = dir.join(segs.join("/")).with_extension("fitz");
        let dotted = dotted_of(&self.layout.root, &path);
        (path, dotted)
    }

    fn visit(&mut self, unit: usize, stack: &mut Vec<usize>) {
        stack.push(unit);
        let path = self.units[unit].path.clone();
        for (k, import) in self.units[unit].module.imports.clone().iter().enumerate() {
            let (target, dotted) = self.path_of(&path, import);
            let found = match self.by_path.get(&target) {
                Some(&t) => Some(t),
                None => match self.files.read(&target) {
                    Some(text) => {
                        let t = self.add(&target, text, dotted);
                        self.visit(t, stack);
                        Some(t)
                    }
                    None => {
                        let shown = target.strip_prefix(&self.layout.shown).unwrap_or(&target).display().to_string();
                        self.problems.push(
                            Diagnostic::error("module-not-found", format!("no module `{}`", import.dotted()))
                                .primary(import.path.iter().fold(import.path[0].span, |s, i| s.to(i.span)), format!("looked for `{shown}`"))
                                .help("a module is a `.fitz` file beside the importing one (`a.b` is `a/b.fitz`), or a dependency named in `fitz.toml`"),
                        );
                        None
                    }
                },
            };
            if let Some(t) = found
                && let Some(at) = stack.iter().position(|u| *u == t)
            {
                let mut cycle: Vec<String> = stack[at..].iter().map(|u| self.units[*u].dotted.clone()).collect();
                cycle.push(self.units[t].dotted.clone());
                self.problems.push(
                    Diagnostic::error("import-cycle", format!("import cycle: {}", cycle.join(" → ")))
                        .primary(import.span, "this import closes the cycle")
                        .help("move what both modules need into a third module that imports neither"),
                );
                continue;
            }
            self.units[unit].targets[k] = found;
        }
        stack.pop();
        self.order.push(unit);
    }
}

#[cfg(test)]
mod tests;
