//! Configuration of an app: the process environment plus a `.env` file next to it (the
//! environment wins), and the secrets the manifest names.

use std::collections::HashMap;
use std::path::Path;

/// Reads `KEY=value` lines (blank lines and `#` comments skipped, optional `export `, values
/// optionally quoted).
pub fn parse_dotenv(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else { continue };
        let v = v.trim();
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\''))).unwrap_or(v);
        out.insert(k.trim().to_string(), v.to_string());
    }
    out
}

/// The environment an app sees: `.env` next to the source, overridden by the process.
pub fn app_env(source: &Path) -> HashMap<String, String> {
    let mut env = source.parent().map(|d| d.join(".env")).and_then(|p| std::fs::read_to_string(p).ok()).map(|t| parse_dotenv(&t)).unwrap_or_default();
    env.extend(std::env::vars());
    env
}

/// The values of the named secrets, or the names that are missing.
pub fn secrets(names: &[String], env: &HashMap<String, String>) -> Result<HashMap<String, String>, Vec<String>> {
    let missing: Vec<String> = names.iter().filter(|n| !env.contains_key(*n)).cloned().collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(names.iter().map(|n| (n.clone(), env[n].clone())).collect())
}

/// Whether feature flag `name` is on for the app: its `FITZ_FLAG_<NAME>` setting (the
/// environment and `.env` under `fitz run`, the operator's settings under `fitz host`), else
/// the default `fitz.toml` gave, else off.
pub fn flag_on(app: &crate::runtime::state::AppContext, name: &str) -> bool {
    let setting = app.env.get(&guest_abi::manifest::flag_setting(name));
    guest_abi::manifest::flag_enabled(&app.manifest.flags, setting.map(String::as_str), name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dotenv_lines() {
        let env = super::parse_dotenv("# c\nA=1\nexport B = \"two\"\n\nC='3'\nbad line\n");
        assert_eq!(env.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.get("B").map(String::as_str), Some("two"));
        assert_eq!(env.get("C").map(String::as_str), Some("3"));
        assert_eq!(env.len(), 3);
    }
}
