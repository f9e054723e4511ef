//! `fitz.toml`, as upstream writes it:
//!
//! ```toml
//! [package]
//! name = "shop"
//! version = "0.1.0"
//!
//! [bin]
//! main = "src/main.fitz"      # what `fitz run` / `build` / `deploy` start from
//!
//! [lib]
//! entry = "src/lib.fitz"      # what a project depending on this one imports by its name
//!
//! [dependencies]
//! greetings = { path = "../greetings" }
//! ```
//!
//! Keys we do not use (`edition`, `authors`, …) are allowed, as upstream allows them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Layout;

#[derive(Debug, Deserialize, Default)]
pub struct ProjectManifest {
    #[serde(default)]
    pub package: Package,
    #[serde(default)]
    pub bin: Option<Bin>,
    #[serde(default)]
    pub lib: Option<Lib>,
    #[serde(default)]
    pub dependencies: BTreeMap<String, Dependency>,
    /// Feature flags and their defaults (upstream's `[flags]`: `new-checkout = false`).
    #[serde(default)]
    pub flags: BTreeMap<String, bool>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Package {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Bin {
    pub main: String,
}

#[derive(Debug, Deserialize)]
pub struct Lib {
    pub entry: String,
}

#[derive(Debug, Deserialize)]
pub struct Dependency {
    pub path: Option<String>,
    pub git: Option<String>,
}

/// The directory of the nearest `fitz.toml` at or above `file`'s directory, as a path from
/// `file`'s (`src/main.fitz` in a project finds `src/..`).
pub fn find_manifest(file: &Path) -> Option<PathBuf> {
    let mut dir = file.parent()?.to_path_buf();
    for _ in 0..32 {
        if dir.join("fitz.toml").is_file() {
            return Some(dir);
        }
        let up = if dir.as_os_str().is_empty() { PathBuf::from("..") } else { dir.join("..") };
        if std::fs::canonicalize(&up).ok()? == std::fs::canonicalize(if dir.as_os_str().is_empty() { Path::new(".") } else { &dir }).ok()? {
            return None;
        }
        dir = up;
    }
    None
}

impl ProjectManifest {
    pub fn read(path: &Path) -> Result<ProjectManifest, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ProjectManifest, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// The program of the project in `dir`: `[bin] main` (else `src/main.fitz`, else the
    /// `[lib]` entry), or `file` when given; dependencies by name.
    pub fn layout(&self, dir: &Path, file: Option<&Path>) -> Result<Layout, String> {
        let entry = match file {
            Some(f) => f.to_path_buf(),
            None => match (&self.bin, &self.lib) {
                (Some(b), _) => dir.join(&b.main),
                (None, _) if dir.join("src/main.fitz").is_file() => dir.join("src/main.fitz"),
                (None, Some(l)) => dir.join(&l.entry),
                (None, None) => return Err(format!("`{}` names no program: add `[bin] main = \"src/main.fitz\"`", dir.join("fitz.toml").display())),
            },
        };
        let mut deps = HashMap::new();
        for (name, dep) in &self.dependencies {
            let Some(path) = &dep.path else {
                let what = if dep.git.is_some() { "a git dependency" } else { "a dependency without `path`" };
                return Err(format!("dependency `{name}` is {what}: only `path` dependencies are supported (fetching code is not part of a build here)"));
            };
            let dep_dir = dir.join(path);
            let m = ProjectManifest::read(&dep_dir.join("fitz.toml"))?;
            let lib = m.lib.as_ref().map_or_else(|| dep_dir.join("src/lib.fitz"), |l| dep_dir.join(&l.entry));
            if !lib.is_file() {
                return Err(format!("dependency `{name}`: no library at `{}`", lib.display()));
            }
            deps.insert(name.clone(), lib);
        }
        let root = entry.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = self.package.name.clone().unwrap_or_else(|| {
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            dir.file_name().map_or_else(|| "app".into(), |n| n.to_string_lossy().into_owned())
        });
        Ok(Layout { entry, root, shown: dir.to_path_buf(), project: Some(name), deps, flags: self.flags.clone() })
    }
}
