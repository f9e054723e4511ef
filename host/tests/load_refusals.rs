//! Loading a module checks it before running any of it, and refuses a bad one with a message
//! that names the problem: not WebAssembly, no manifest, another ABI version, an import
//! outside the table, a manifest that does not match the exports, a missing secret.

use fitz_host::runtime::Runtime;
use fitz_host::runtime::app::{Limits, TopLevelOutput, load};
use fitz_host::runtime::engine::Allocation;
use fitz_host::runtime::state::AppContext;
use fitz_host::runtime::validate::{LoadError, validate_bytes};
use guest_abi::manifest::{Manifest, SECTION};
use wasm_encoder::{CustomSection, EntityType, FunctionSection, ImportSection, Module, TypeSection, ValType};

const APP: &str = r#"
let GREETING = secret("GREETING")
@get("/hi")
fn hi() -> Str => GREETING.expose()
"#;

fn compiled() -> (Vec<u8>, Manifest) {
    let a = fitz_compiler::compile(APP, "hi.fitz").expect("compiles");
    (a.wasm, a.manifest)
}

/// The module with its manifest section replaced.
fn with_manifest(wasm: &[u8], manifest: &Manifest) -> Vec<u8> {
    let mut out = Module::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.expect("parse");
        if let wasmparser::Payload::CustomSection(c) = &payload
            && c.name() == SECTION
        {
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            out.section(&wasm_encoder::RawSection { id, data: &wasm[range] });
        }
    }
    out.section(&CustomSection { name: SECTION.into(), data: manifest.to_json().into_bytes().into() });
    out.finish()
}

#[test]
fn structural_refusals_name_the_problem() {
    let (wasm, manifest) = compiled();
    assert!(matches!(validate_bytes(b"\0asm\x01\0\0\0garbage"), Err(LoadError::NotWasm(_))));

    let mut m = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    m.section(&types);
    let plain = m.finish();
    let e = validate_bytes(&plain).expect_err("no manifest");
    assert_eq!(e.to_string(), "the module's manifest is unusable: the module has no `fitz.manifest` section");

    let old = with_manifest(&wasm, &Manifest { abi_version: 999, ..manifest.clone() });
    let e = validate_bytes(&old).expect_err("abi");
    assert!(e.to_string().contains("built for guest ABI 999"), "{e}");

    let mut broken = manifest.clone();
    broken.routes[0].returns = guest_abi::types::ValueType::Record { id: 42 };
    let e = validate_bytes(&with_manifest(&wasm, &broken)).expect_err("record");
    assert!(e.to_string().contains("names record 42"), "{e}");
}

#[tokio::test]
async fn runtime_refusals_name_the_problem() {
    let (wasm, manifest) = compiled();
    let rt = Runtime::new(Allocation::OnDemand).expect("runtime");
    let secrets = [("GREETING".to_string(), "hola".to_string())].into_iter().collect();

    // A missing secret.
    let e = load(&rt, &wasm, AppContext::bare(manifest.clone()), Limits::default(), TopLevelOutput::Log).await.err().expect("refused");
    assert_eq!(e.to_string(), "secret GREETING not set (set in the environment or in a .env file next to the app)");

    // A route export the module does not have.
    let mut renamed = manifest.clone();
    renamed.routes[0].export = "fitz_route_7".into();
    let e = load(&rt, &with_manifest(&wasm, &renamed), AppContext { secrets, ..AppContext::bare(manifest.clone()) }, Limits::default(), TopLevelOutput::Log)
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("does not export the function `fitz_route_7`"), "{e}");

    // An import outside the table.
    let mut m = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    m.section(&types);
    let mut imports = ImportSection::new();
    imports.import("env", "system", EntityType::Function(0));
    m.section(&imports);
    m.section(&FunctionSection::new());
    let empty = Manifest { routes: vec![], secrets: vec![], ..manifest.clone() };
    m.section(&CustomSection { name: SECTION.into(), data: empty.to_json().into_bytes().into() });
    let hostile = m.finish();
    let module = wasmtime::Module::new(&rt.engine, &hostile).expect("valid wasm");
    let e = fitz_host::runtime::validate::check_imports(&module).expect_err("refused");
    assert_eq!(e, "the module imports `env.system`, which the host does not provide");
}

#[test]
fn a_header_parameter_is_text_whatever_the_manifest_says() {
    // A hand-edited manifest may claim a header arrives as a record; the host would then write
    // request text where the guest reads a pointer. It is refused before anything runs.
    let source = "@header(name=\"X-Key\")\n@get(\"/k\")\nfn k(x_key: Str) -> Str => x_key\n";
    let a = fitz_compiler::compile(source, "k.fitz").expect("compiles");
    assert!(validate_bytes(&a.wasm).is_ok());
    let mut forged = a.manifest.clone();
    let guest_abi::manifest::Param::Header { ty, .. } = &mut forged.routes[0].params[0] else { panic!("a header parameter") };
    *ty = guest_abi::types::ValueType::Int;
    let e = validate_bytes(&with_manifest(&a.wasm, &forged)).expect_err("refused");
    assert!(e.to_string().contains("a header or cookie parameter is `Str` or `Str?`"), "{e}");
}

#[tokio::test]
async fn a_task_is_its_own_entry_with_the_signature_its_manifest_says() {
    let source = "@background\nfn twice(n: Int) -> Int => n * 2\n@get(\"/k\")\nasync fn k() -> Int => spawn(twice(2)).await\n";
    let a = fitz_compiler::compile(source, "k.fitz").expect("compiles");
    assert!(validate_bytes(&a.wasm).is_ok());
    // Pointed at a route's entry instead of its own.
    let mut forged = a.manifest.clone();
    forged.tasks[0].export = guest_abi::exports::route(0);
    let e = validate_bytes(&with_manifest(&a.wasm, &forged)).expect_err("refused");
    assert!(e.to_string().contains("task `twice` must be exported as `fitz_task_0`"), "{e}");
    // A parameter the entry does not take: the signatures differ, refused at load.
    let mut forged = a.manifest.clone();
    forged.tasks[0].params[0] = guest_abi::manifest::TaskParam::Value { name: "n".into(), ty: guest_abi::types::ValueType::Str };
    let rt = Runtime::new(Allocation::OnDemand).expect("runtime");
    let ctx = AppContext::bare(forged.clone());
    let e = load(&rt, &with_manifest(&a.wasm, &forged), ctx, Limits::default(), TopLevelOutput::Log).await.err().expect("refused");
    assert!(e.to_string().contains("the export `fitz_task_0` has the wrong signature"), "{e}");
}

#[test]
fn a_relation_fills_a_field_only_with_rows_of_the_table_it_names() {
    let source = "@table(\"teams\")\ntype Team {\n    id: Int = 0\n    @has_many(\"Player\", via=\"team_id\") players: List<Player>\n}\n@table(\"players\")\ntype Player {\n    id: Int = 0\n    @belongs_to(\"Team\") team_id: Int\n}\n@get(\"/t\")\nasync fn t(db: DbConn) -> Result<List<Team>> => Team.preload(\"players\").all(db).await\n";
    let a = fitz_compiler::compile(source, "t.fitz").expect("compiles");
    assert!(validate_bytes(&a.wasm).is_ok());
    let teams = a.manifest.tables.iter().position(|t| t.name == "teams").expect("teams");
    let players = a.manifest.tables.iter().position(|t| t.name == "players").expect("players");
    let refused = |forged: Manifest, why: &str| {
        let e = validate_bytes(&with_manifest(&a.wasm, &forged)).expect_err("refused");
        assert!(e.to_string().contains(why), "{e}");
    };
    // Filling `players` from the teams table would write rows of one type where another is read.
    let mut forged = a.manifest.clone();
    forged.tables[teams].relations[0].table = "teams".into();
    refused(forged, "is not a list of `teams` rows");
    let mut forged = a.manifest.clone();
    forged.tables[teams].relations[0].foreign_key = "name; DROP TABLE teams".into();
    refused(forged, "which is not a column");
    let mut forged = a.manifest.clone();
    forged.tables[players].columns[1].references.as_mut().expect("a reference").table = "fitz_cron_runs".into();
    refused(forged, "references `fitz_cron_runs.id`, which is not a column");
    // A relation field claimed as a column, or a column dropped: the table no longer matches.
    let mut forged = a.manifest.clone();
    forged.tables[teams].relations.clear();
    refused(forged, "does not match its record");
}

#[test]
fn a_cors_policy_goes_into_headers_only_when_it_is_one() {
    let source = "@middleware(cors({\"allow_origin\": \"https://a.example\"}))\n@get(\"/k\")\nfn k() -> Str => \"k\"\n";
    let a = fitz_compiler::compile(source, "k.fitz").expect("compiles");
    assert!(validate_bytes(&a.wasm).is_ok());
    for (origin, methods, credentials) in [
        ("https://a.example\r\nX-Injected: 1", vec!["GET"], false),
        ("*", vec!["GET"], true),
        ("javascript:alert(1)", vec!["GET"], false),
        ("https://a.example", vec!["GET, POST"], false),
        ("https://a.example", vec!["G\nET"], false),
    ] {
        let mut forged = a.manifest.clone();
        let cors = forged.routes[0].cors.as_mut().expect("a policy");
        cors.allow_origin = origin.into();
        cors.allow_methods = methods.iter().map(|m| m.to_string()).collect();
        cors.allow_credentials = credentials;
        let e = validate_bytes(&with_manifest(&a.wasm, &forged)).expect_err("refused");
        assert!(e.to_string().contains("CORS"), "{origin:?}: {e}");
    }
}

#[tokio::test]
async fn a_static_bundle_names_only_files_inside_it() {
    let source = "@server(static_dir=\"public\")\nfn main() => 0\n@get(\"/k\")\nfn k() -> Str => \"k\"\n";
    let a = fitz_compiler::compile(source, "k.fitz").expect("compiles");
    let rt = Runtime::new(Allocation::OnDemand).expect("runtime");
    let with_section = |files: Vec<u8>| {
        let mut m = a.wasm.clone();
        let mut payload = Vec::new();
        wasm_encoder::Encode::encode(guest_abi::statics::SECTION, &mut payload);
        payload.extend(files);
        m.push(0);
        wasm_encoder::Encode::encode(&(payload.len() as u32), &mut m);
        m.extend(payload);
        m
    };
    let good = with_section(guest_abi::statics::encode(&[guest_abi::statics::File { path: "a.txt".into(), bytes: b"a".to_vec() }]));
    assert!(load(&rt, &good, AppContext::bare(a.manifest.clone()), Limits::default(), TopLevelOutput::Log).await.is_ok());
    let traversal = with_section(guest_abi::statics::encode(&[guest_abi::statics::File { path: "../../etc/passwd".into(), bytes: b"x".to_vec() }]));
    let mut lying = 1u32.to_le_bytes().to_vec();
    lying.extend(5u32.to_le_bytes());
    lying.extend(b"a.txt");
    lying.extend(1_000_000u32.to_le_bytes());
    for bad in [traversal, with_section(lying)] {
        let e = load(&rt, &bad, AppContext::bare(a.manifest.clone()), Limits::default(), TopLevelOutput::Log).await.err().expect("refused");
        assert!(e.to_string().contains("static"), "{e}");
    }
}

#[tokio::test]
async fn a_post_middleware_is_its_own_entry_and_named_by_routes_only_as_declared() {
    let source = "fn stamp(req: Request, resp: Response) -> Response => resp\n@middleware(stamp)\n@get(\"/k\")\nfn k() -> Int => 1\n";
    let a = fitz_compiler::compile(source, "k.fitz").expect("compiles");
    assert!(validate_bytes(&a.wasm).is_ok());
    assert_eq!(a.manifest.routes[0].after, [0]);
    // A route naming a middleware the manifest does not declare.
    let mut forged = a.manifest.clone();
    forged.routes[0].after = vec![7];
    let e = validate_bytes(&with_manifest(&a.wasm, &forged)).expect_err("refused");
    assert!(e.to_string().contains("route GET /k names middleware 7"), "{e}");
    // A middleware pointed at the route's entry instead of its own.
    let mut forged = a.manifest.clone();
    forged.afters[0].export = guest_abi::exports::route(0);
    let e = validate_bytes(&with_manifest(&a.wasm, &forged)).expect_err("refused");
    assert!(e.to_string().contains("middleware `stamp` must be exported as `fitz_after_0`"), "{e}");
    // Declared by a manifest whose module has no such export: refused at load.
    let mut forged = a.manifest.clone();
    forged.afters.push(guest_abi::manifest::After { name: "ghost".into(), export: guest_abi::exports::after(1) });
    let rt = Runtime::new(Allocation::OnDemand).expect("runtime");
    let e = load(&rt, &with_manifest(&a.wasm, &forged), AppContext::bare(forged.clone()), Limits::default(), TopLevelOutput::Log).await.err().expect("refused");
    assert!(e.to_string().contains("fitz_after_1"), "{e}");
}

#[tokio::test]
async fn a_wrap_middleware_is_its_own_entry_and_named_by_routes_only_as_declared() {
    let source = "fn gate(req: Request, next: Fn() -> Response) -> Response => next()\n@middleware(gate)\n@get(\"/k\")\nfn k() -> Int => 1\n";
    let a = fitz_compiler::compile(source, "k.fitz").expect("compiles");
    assert!(validate_bytes(&a.wasm).is_ok());
    assert_eq!(a.manifest.routes[0].wrap, [0]);
    assert_eq!((a.manifest.wraps[0].name.as_str(), a.manifest.wraps[0].export.as_str()), ("gate", "fitz_wrap_0"));
    let mut forged = a.manifest.clone();
    forged.routes[0].wrap = vec![3];
    let e = validate_bytes(&with_manifest(&a.wasm, &forged)).expect_err("refused");
    assert!(e.to_string().contains("route GET /k names wrap middleware 3"), "{e}");
    // Pointed at the route's entry, which takes other arguments.
    let mut forged = a.manifest.clone();
    forged.wraps[0].export = guest_abi::exports::route(0);
    let e = validate_bytes(&with_manifest(&a.wasm, &forged)).expect_err("refused");
    assert!(e.to_string().contains("middleware `gate` must be exported as `fitz_wrap_0`"), "{e}");
    let mut forged = a.manifest.clone();
    forged.wraps.push(guest_abi::manifest::Wrap { name: "ghost".into(), export: guest_abi::exports::wrap(1), responses: vec![] });
    let rt = Runtime::new(Allocation::OnDemand).expect("runtime");
    let e = load(&rt, &with_manifest(&a.wasm, &forged), AppContext::bare(forged.clone()), Limits::default(), TopLevelOutput::Log).await.err().expect("refused");
    assert!(e.to_string().contains("fitz_wrap_1"), "{e}");
}
