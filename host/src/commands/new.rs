//! `fitz new NAME [--template api|auth]`: a project that checks clean, runs with `fitz run`
//! and tests with `fitz test` in its folder (`src/main_test.fitz`). `api` is a JSON API over a table, in two modules; `auth` is
//! accounts with Argon2id, JWTs, roles, logout and the blacklist's cleanup, with a fresh
//! `JWT_SECRET` in its `.env`.

use std::path::Path;

/// The project templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    Api,
    Auth,
}

fn files(template: Template, name: &str) -> Vec<(&'static str, String)> {
    let fill = |t: &str| t.replace("{{name}}", name);
    let (main, models, tests) = match template {
        Template::Api => (include_str!("new/api_main.fitz"), include_str!("new/api_models.fitz"), include_str!("new/api_test.fitz")),
        Template::Auth => (include_str!("new/auth_main.fitz"), include_str!("new/auth_models.fitz"), include_str!("new/auth_test.fitz")),
    };
    let mut out = vec![
        ("fitz.toml", format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n[bin]\nmain = \"src/main.fitz\"\n")),
        ("src/main.fitz", fill(main)),
        ("src/models.fitz", fill(models)),
        ("src/main_test.fitz", fill(tests)),
        (".gitignore", ".env\n*.db\n*.db-*\n*.wasm\n".to_string()),
        (
            "README.md",
            format!(
                "# {name}\n\n```\nfitz run            # serve on http://127.0.0.1:3000 (docs at /docs)\nfitz check          # every problem, with file:line:col\nfitz test           # the tests in src/*_test.fitz, each on a fresh database\nfitz build          # {name}.wasm, for `fitz serve` or `fitz deploy`\n```\n"
            ),
        ),
    ];
    if template == Template::Auth {
        let secret: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        out.push((".env", format!("# Signs the app's tokens: keep it out of version control.\nJWT_SECRET={secret}\n")));
    }
    out
}

/// A project name: what a package, a folder and a deployed app can all be called.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 63 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') && name.as_bytes()[0].is_ascii_lowercase()
}

pub fn new(path: &Path, template: Template) -> u8 {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !valid_name(&name) {
        eprintln!("error: `{name}` cannot name a project: use lower-case letters, digits, `-` and `_`, starting with a letter");
        return 2;
    }
    if path.exists() && std::fs::read_dir(path).map(|mut d| d.next().is_some()).unwrap_or(true) {
        eprintln!("error: `{}` already exists and is not empty", path.display());
        return 2;
    }
    for (file, text) in files(template, &name) {
        let target = path.join(file);
        let written = target.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&target, text));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {}", target.display(), super::io_reason(&e));
            return 2;
        }
    }
    eprintln!("created {} ({:?} template): cd {} && fitz run", path.display(), template, path.display());
    0
}
