//! `fitz openapi app.fitz`: the document the app serves at `/openapi.json`, on stdout.

use std::path::Path;

use super::compile_file;

pub fn openapi(file: &Path) -> u8 {
    let artifact = match compile_file(file) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let name = super::app_path(file).file_name().map_or_else(|| "app".into(), |n| n.to_string_lossy().into_owned());
    super::stdout(&(crate::openapi::json(&artifact.manifest, &name) + "\n"));
    0
}
