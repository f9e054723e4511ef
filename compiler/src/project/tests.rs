use std::collections::HashMap;
use std::path::PathBuf;

use super::{Layout, load};
use crate::check_project;

/// Loads and checks `files` (path, text), the first being the entry; returns the rendered
/// diagnostics (empty when the program checks).
fn check(files: &[(&str, &str)]) -> String {
    let map: HashMap<PathBuf, String> = files.iter().map(|(p, t)| (PathBuf::from(format!("proj/{p}")), t.to_string())).collect();
    let layout = Layout {
        entry: PathBuf::from(format!("proj/{}", files[0].0)),
        root: PathBuf::from("proj"),
        shown: PathBuf::from("proj"),
        project: None,
        deps: HashMap::new(),
        flags: Default::default(),
    };
    let project = load(&layout, &map);
    let checked = check_project(&project);
    let errors = crate::diagnostic::Diagnostics { items: checked.diagnostics.items.into_iter().filter(|d| d.is_error()).collect() };
    errors.render_in(&project.sources, false)
}

#[test]
fn every_form_of_import_checks() {
    let util = "type User { id: Int, name: Str }\nlet PREFIX = \"hola\"\nfn greet(n: Str) -> Str => \"{PREFIX}, {n}\"\nfn make(id: Int) -> User => User { id: id, name: \"x\" }\n";
    let main = "import util\nimport util as u\nfrom util import User, greet as hi, PREFIX\n\nlet a = User { id: 1, name: \"a\" }\nprint(util.greet(a.name))\nprint(u.make(2).name)\nprint(hi(PREFIX))\nlet b: User = util.make(3)\nprint(b.id)\n";
    assert_eq!(check(&[("main.fitz", main), ("util.fitz", util)]), "");
}

#[test]
fn nested_paths_and_transitive_imports() {
    // `text/format.fitz` imports `helpers`: the one beside it, `text/helpers.fitz`.
    let models = "type User { id: Int, name: Str }\n";
    let helpers = "fn up(s: Str) -> Str => s.upper()\n";
    let format = "from helpers import up\nfn tag(id: Int, name: Str) -> Str => \"USER#{id}:{up(name)}\"\n";
    let app = "from models import User\nimport text.format\nfn welcome(u: User) -> Str => text.format.tag(u.id, u.name)\n";
    let main = "import app\nfrom models import User\nprint(app.welcome(User { id: 42, name: \"n\" }))\n";
    let files = [("main.fitz", main), ("app.fitz", app), ("models.fitz", models), ("text/format.fitz", format), ("text/helpers.fitz", helpers)];
    assert_eq!(check(&files), "");
}

#[test]
fn a_cycle_is_refused_and_shown() {
    let out = check(&[("main.fitz", "import a\nprint(a.f())\n"), ("a.fitz", "from b import g\nfn f() -> Int => g()\n"), ("b.fitz", "from a import f\nfn g() -> Int => 1\n")]);
    assert!(out.contains("error[import-cycle]: import cycle: a → b → a"), "{out}");
    assert!(out.contains("b.fitz:1:1"), "{out}");
}

#[test]
fn a_missing_module_names_the_file_looked_for() {
    let out = check(&[("main.fitz", "import nope.deep\nprint(1)\n")]);
    assert!(out.contains("error[module-not-found]: no module `nope.deep`"), "{out}");
    assert!(out.contains("looked for `nope/deep.fitz`"), "{out}");
    assert!(out.contains("main.fitz:1:8"), "{out}");
}

#[test]
fn an_unknown_name_is_refused_with_a_suggestion() {
    let out = check(&[("main.fitz", "from util import gret\nimport util\nprint(util.nothing)\n"), ("util.fitz", "fn greet() -> Int => 1\n")]);
    assert!(out.contains("module `util` has no `gret`"), "{out}");
    assert!(out.contains("did you mean `greet`?"), "{out}");
    assert!(out.contains("module `util` has no `nothing`"), "{out}");
}

#[test]
fn a_name_not_imported_is_refused_naming_its_module() {
    let out = check(&[("main.fitz", "import util\nprint(helper())\n"), ("util.fitz", "fn helper() -> Int => 1\n")]);
    assert!(out.contains("`helper` is declared in module `util`"), "{out}");
    assert!(out.contains("from util import helper"), "{out}");
}

#[test]
fn errors_name_the_file_they_are_in() {
    let out = check(&[("main.fitz", "import util\nprint(util.f())\n"), ("util.fitz", "// a comment\nfn f() -> Int {\n    return \"no\"\n}\n")]);
    assert!(out.contains("util.fitz:3:12"), "{out}");
    assert!(out.contains("return \"no\""), "the snippet is util's line: {out}");
    // A resolution error does not hide the checker's errors.
    let out = check(&[("main.fitz", "import util\nprint(helper())\n"), ("util.fitz", "fn helper() -> Int => 1\nfn f() -> Int {\n    return \"no\"\n}\n")]);
    assert!(out.contains("error[not-imported]") && out.contains("util.fitz:3:12"), "{out}");
}

#[test]
fn the_same_name_in_two_modules_stays_two_things() {
    let a = "fn helper() -> Int => 1\ntype Box { v: Int }\nfn boxed() -> Box => Box { v: helper() }\n";
    let b = "fn helper() -> Str => \"b\"\ntype Box { s: Str }\nfn boxed() -> Box => Box { s: helper() }\n";
    let main = "import a\nimport b\nfn helper() -> Bool => true\nprint(a.boxed().v)\nprint(b.boxed().s)\nprint(helper())\n";
    assert_eq!(check(&[("main.fitz", main), ("a.fitz", a), ("b.fitz", b)]), "");
}

#[test]
fn locals_shadow_imports() {
    let util = "fn f() -> Int => 1\nlet n = 5\n";
    let main = "from util import f, n\nfn g(f: Int) -> Int {\n    let n = f + 1\n    return n\n}\nprint(g(f()))\nprint(n)\n";
    assert_eq!(check(&[("main.fitz", main), ("util.fitz", util)]), "");
}

#[test]
fn importing_clashes_with_a_declaration() {
    let out = check(&[("main.fitz", "from util import f\nfn f() -> Int => 2\n"), ("util.fitz", "fn f() -> Int => 1\n")]);
    assert!(out.contains("error[import-clash]"), "{out}");
}

#[test]
fn a_module_is_not_a_value() {
    let out = check(&[("main.fitz", "import util\nprint(util)\n"), ("util.fitz", "fn f() -> Int => 1\n")]);
    assert!(out.contains("error[module-as-value]"), "{out}");
}

/// Applies the first fix of every diagnostic, each in its own file, and checks again.
fn check_after_fixes(files: &[(&str, &str)]) -> (Vec<String>, String) {
    let map: HashMap<PathBuf, String> = files.iter().map(|(p, t)| (PathBuf::from(format!("proj/{p}")), t.to_string())).collect();
    let layout =
        Layout { entry: PathBuf::from(format!("proj/{}", files[0].0)), root: "proj".into(), shown: "proj".into(), project: None, deps: HashMap::new(), flags: Default::default() };
    let project = load(&layout, &map);
    let checked = check_project(&project);
    let mut texts: Vec<String> = project.sources.files.iter().map(|f| f.text.clone()).collect();
    let mut titles = Vec::new();
    let mut edits: Vec<(usize, crate::span::Span, String)> = Vec::new();
    for d in &checked.diagnostics.items {
        if let Some(fix) = d.fixes.first() {
            titles.push(fix.title.clone());
            edits.extend(fix.edits.iter().map(|e| {
                let (file, local) = project.sources.locate(e.span);
                (file, local, e.text.clone())
            }));
        }
    }
    edits.sort_by_key(|(f, s, _)| std::cmp::Reverse((*f, s.start)));
    for (file, span, text) in edits {
        texts[file].replace_range(span.start as usize..span.end as usize, &text);
    }
    let names: Vec<&str> = project.sources.files.iter().map(|f| f.name.as_str()).collect();
    let fixed: Vec<(&str, &str)> = names.iter().zip(&texts).map(|(n, t)| (*n, t.as_str())).collect();
    (titles, check(&fixed))
}

#[test]
fn import_fixes_land_in_the_file_that_needs_them() {
    let util = "fn greet() -> Int => 1\nfn helper() -> Int => 2\n";
    // The second file of the program needs both fixes: its import misspelt, a name not imported.
    let other = "from util import gret\nfn twice() -> Int => helper() * 2\n";
    let main = "import other\nprint(other.twice())\n";
    let (titles, out) = check_after_fixes(&[("main.fitz", main), ("other.fitz", other), ("util.fitz", util)]);
    assert_eq!(titles, ["Change to `greet`", "Import `helper` from `util`"]);
    assert_eq!(out, "", "the fixed program checks");
}

#[test]
fn a_parse_cache_parses_only_the_files_that_changed() {
    let util = "fn helper() -> Int => 2\n";
    let mut map: HashMap<PathBuf, String> = HashMap::new();
    map.insert("proj/main.fitz".into(), "import util\nprint(util.helper())\n".into());
    map.insert("proj/util.fitz".into(), util.into());
    let layout = Layout { entry: "proj/main.fitz".into(), root: "proj".into(), shown: "proj".into(), project: None, deps: HashMap::new(), flags: Default::default() };
    let mut cache = super::ParseCache::default();
    let first = super::load_cached(&layout, &map, &mut cache);
    assert!(check_project(&first).program.is_some());
    assert_eq!((cache.parsed, cache.reused), (2, 0));
    // An edit to main: util's parse is reused, and its spans still land in its own file.
    map.insert("proj/main.fitz".into(), "import util\n\nprint(util.helper() + \"x\")\n".into());
    let second = super::load_cached(&layout, &map, &mut cache);
    assert_eq!((cache.parsed, cache.reused), (3, 1));
    let checked = check_project(&second);
    let d = &checked.diagnostics.items[0];
    assert_eq!(d.code, "operator-types", "{:?}", checked.diagnostics.items);
    // Now util changes and gains an error: its diagnostic is in util.fitz, after main's text.
    map.insert("proj/util.fitz".into(), "fn helper() -> Int => \"two\"\n".into());
    let third = super::load_cached(&layout, &map, &mut cache);
    assert_eq!((cache.parsed, cache.reused), (4, 2));
    let out = check_project(&third).diagnostics.render_in(&third.sources, false);
    assert!(out.contains("util.fitz:1:23"), "{out}");
    // The cached program is the program a fresh load makes.
    let fresh = load(&layout, &map);
    assert_eq!(format!("{:?}", fresh.module), format!("{:?}", third.module));
}
