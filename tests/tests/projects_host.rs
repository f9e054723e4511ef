//! A project of three modules deployed to `fitz host` and hot-swapped under load: the
//! types, the queries and the routes live in different files, the deploy is one module, and
//! a new version of one file replaces the app without a failed request or lost data.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fitz_compiler::project::{Disk, Layout, load};
use fitz_tests::multi::TestHost;
use serde_json::json;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fitz-projects-host-{}-{name}-{:08x}", std::process::id(), rand::random::<u32>()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
    std::fs::write(p, text).expect("write");
}

fn build(dir: &Path) -> Vec<u8> {
    let layout = Layout::find(dir).expect("layout");
    let project = load(&layout, &Disk);
    match fitz_compiler::compile_project(&project) {
        Ok(a) => a.wasm,
        Err(d) => panic!("{}", d.render_in(&project.sources, false)),
    }
}

const MODELS: &str = "type Note {\n    id: Int\n    title: Str\n}\n\ntype NoteIn {\n    title: Str\n}\n";

fn service(label: &str) -> String {
    format!(
        "from models import Note, NoteIn\n\nlet LABEL = \"{label}\"\n\nasync fn add(db: DbConn, body: NoteIn) -> Result<Note> {{\n    return Note.insert(db, Note {{ id: 0, title: body.title }}).await\n}}\n\nasync fn count(db: DbConn) -> Result<Int> {{\n    return Note.where(fn(n) => n.id > 0).count(db).await\n}}\n"
    )
}

const MAIN: &str = "from models import Note, NoteIn\nimport service\n\n@post(\"/notes\")\nasync fn post_note(db: DbConn, body: NoteIn) -> Note {\n    return service.add(db, body).await?\n}\n\n@get(\"/which\")\nasync fn which(db: DbConn) -> Map<Str, Str> {\n    let n = service.count(db).await?\n    return { \"label\": service.LABEL, \"notes\": \"{n}\" }\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_module_project_deploys_and_hot_swaps() {
    let dir = temp("swap");
    write(&dir, "app/fitz.toml", "[package]\nname = \"notes\"\nversion = \"0.1.0\"\n\n[bin]\nmain = \"src/main.fitz\"\n");
    write(&dir, "app/src/models.fitz", MODELS);
    write(&dir, "app/src/service.fitz", &service("one"));
    write(&dir, "app/src/main.fitz", MAIN);
    let project = dir.join("app");
    let v1 = build(&project);
    let manifest = guest_abi::manifest::Manifest::from_module(&v1).expect("manifest");
    assert_eq!(manifest.sources, ["src/main.fitz", "src/models.fitz", "src/service.fitz"], "the manifest names every source");

    let host = TestHost::start(&dir.join("host"), None).await;
    let r = host.deploy_wasm("notes", v1.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = host.post("notes", "/notes", None, &json!({ "title": "first" })).await;
    assert_eq!((r.status, &r.body["title"]), (200, &json!("first")), "{}", r.text);

    // Only one module changes; the next version is built from the project as it is now.
    write(&dir, "app/src/service.fitz", &service("two"));
    let v2 = build(&project);
    assert_ne!(v1, v2);

    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<(u16, String)>>> = Arc::default();
    let mut loaders = Vec::new();
    for _ in 0..2 {
        let (client, base, stop, seen) = (host.client.clone(), host.base.clone(), stop.clone(), seen.clone());
        loaders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client.get(format!("{base}/which")).header("host", "notes.localhost").send().await;
                let entry = match r {
                    Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                    Err(e) => (0, e.to_string()),
                };
                seen.lock().expect("lock").push(entry);
            }
        }));
    }
    for i in 0..10 {
        let wasm = if i % 2 == 0 { v2.clone() } else { v1.clone() };
        let r = host.deploy_wasm("notes", wasm).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = host.deploy_wasm("notes", v2.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.await.expect("loader");
    }
    let seen = seen.lock().expect("lock").clone();
    assert!(seen.len() > 20, "the load ran: {} requests", seen.len());
    for (status, body) in &seen {
        assert_eq!(*status, 200, "a request failed during the swaps: {body}");
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        assert!(v["label"] == "one" || v["label"] == "two", "{body}");
        assert_eq!(v["notes"], "1", "the data stays across versions: {body}");
    }
    let r = host.get("notes", "/which", None).await;
    assert_eq!(r.body, json!({ "label": "two", "notes": "1" }), "{}", r.text);
    host.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
