//! `fitz apps export` and `fitz apps import` with the real binary: the export goes to a private
//! file, its key to stderr once; the import needs the key, and copies the app whole.

mod kit;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use kit::process::{HostProcess, TOKEN, temp_dir};

const APP: &str = "let S = secret(\"S\")\ntype Item { id: Int, name: Str }\n@post(\"/items\")\nasync fn add(db: DbConn, item: Item) -> Item {\n    return Item.insert(db, item).await?\n}\n@get(\"/items\")\nasync fn all(db: DbConn) -> List<Item> {\n    return Item.all(db).await?\n}\n@get(\"/s\")\nfn s() -> Str => S.expose()\n";

fn fitz(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fitz"));
    cmd.args(args).env("FITZ_OPERATOR_TOKEN", TOKEN).env_remove("FITZ_EXPORT_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("fitz runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_through_the_cli() {
    let dir = temp_dir("cli-backup");
    let host = HostProcess::start(dir.join("data"), &[]);
    let url = host.base.clone();
    let mut set = Command::new(env!("CARGO_BIN_EXE_fitz"));
    set.args(["secrets", "set", "shop", "S", "--to", &url]).env("FITZ_OPERATOR_TOKEN", TOKEN).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null());
    let mut child = set.spawn().expect("spawn");
    {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(b"the value").expect("write");
    }
    assert!(child.wait().expect("waits").success());
    let wasm = fitz_compiler::compile(APP, "shop.fitz").expect("compiles").wasm;
    assert_eq!(host.deploy("shop", wasm).await.0, 200);
    let added = host.client.post(format!("{url}/items")).header("host", "shop.localhost").json(&serde_json::json!({ "id": 0, "name": "kept" })).send().await.expect("added");
    assert_eq!(added.status().as_u16(), 200);

    let file = dir.join("shop.fitzapp");
    let (code, err) = fitz(&["apps", "export", "shop", "-o", file.to_str().expect("path"), "--to", &url], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::metadata(&file).expect("written").permissions().mode() & 0o777, 0o600);
    assert!(!std::fs::read_to_string(&file).expect("read").contains("the value"));
    let key = err.split("FITZ_EXPORT_KEY=").nth(1).expect("the key is shown").trim().to_string();

    let (code, err) = fitz(&["apps", "import", file.to_str().expect("path"), "--name", "copy", "--to", &url], &[]);
    assert_eq!(code, 2, "the key is needed: {err}");
    let (code, err) = fitz(&["apps", "import", file.to_str().expect("path"), "--name", "copy", "--to", &url], &[("FITZ_EXPORT_KEY", &key)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(host.get("copy", "/items", Duration::from_secs(10)).await, (200, r#"[{"id":1,"name":"kept"}]"#.to_string()));
    assert_eq!(host.get("copy", "/s", Duration::from_secs(10)).await, (200, "\"the value\"".to_string()));
    host.kill();
}
