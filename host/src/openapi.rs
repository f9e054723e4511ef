//! The OpenAPI 3.1 document of an app, built from its manifest with utoipa's builder types:
//! every route with its path, query and body parameters, response schemas with record types
//! as `components`, the statuses the handler declares with `return STATUS …`, the 400/401/403
//! answers the host itself gives, and, when the app has an `@auth_provider`, the bearer scheme
//! the seed promises (`components.securitySchemes.bearerAuth`, `security` on each protected
//! operation). `@hidden` fields stay out of schemas.

use std::collections::BTreeMap;

use guest_abi::manifest::{Manifest, Param, Route, RouteAuth};
use guest_abi::types::{RecordType, ValueType};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, Required, ResponseBuilder, Schema};

pub const BEARER: &str = "bearerAuth";
const ERROR: &str = "Error";
const FORBIDDEN: &str = "Forbidden";

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

fn typed(t: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::new(t))
}

/// The JSON schema of a value of `ty`, as the host writes and reads it (`crate::json`).
pub fn schema(records: &[RecordType], ty: &ValueType) -> RefOr<Schema> {
    // This recurses as deep as a type nests (a manifest allows 48 levels): every builder is out
    // of line, so a level costs only this frame (a debug build's frames are large).
    match ty {
        ValueType::List { item } => array_of(schema(records, item)),
        ValueType::Map { value, .. } => map_of(schema(records, value)),
        ValueType::Nullable { inner } => nullable(schema(records, inner)),
        ValueType::Result { ok, err } => result_of(schema(records, ok), schema(records, err)),
        ValueType::Record { id } => match records.get(*id as usize) {
            Some(r) => reference(&r.name),
            None => leaf(&ValueType::Record { id: *id }),
        },
        leaf_type => leaf(leaf_type),
    }
}

/// The schema of a type that holds no other.
#[inline(never)]
fn leaf(ty: &ValueType) -> RefOr<Schema> {
    let object = |b: ObjectBuilder| RefOr::T(Schema::Object(b.build()));
    match ty {
        ValueType::Int => object(typed(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))),
        ValueType::Float => object(typed(Type::Number).format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))),
        ValueType::Bool => object(typed(Type::Boolean)),
        ValueType::Str | ValueType::Secret => object(typed(Type::String)),
        ValueType::Null => object(typed(Type::Null)),
        ValueType::DateTime => object(typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))),
        ValueType::Date => object(typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))),
        ValueType::Uuid => object(typed(Type::String).format(Some(SchemaFormat::Custom("uuid".into())))),
        ValueType::Bytes => object(typed(Type::String).content_encoding("base64")),
        // The schema of any JSON value.
        ValueType::Any => RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(SchemaType::AnyValue).build())),
        _ => object(typed(Type::Object)),
    }
}

#[inline(never)]
fn array_of(item: RefOr<Schema>) -> RefOr<Schema> {
    RefOr::T(Schema::Array(ArrayBuilder::new().items(item).build()))
}

#[inline(never)]
fn map_of(value: RefOr<Schema>) -> RefOr<Schema> {
    RefOr::T(Schema::Object(typed(Type::Object).additional_properties(Some(AdditionalProperties::RefOr(value))).build()))
}

#[inline(never)]
fn nullable(inner: RefOr<Schema>) -> RefOr<Schema> {
    RefOr::T(Schema::OneOf(OneOfBuilder::new().item(inner).item(typed(Type::Null).build()).build()))
}

/// A `Result` inside data is written as `{"ok": …}` or `{"error": …}`.
#[inline(never)]
fn result_of(ok: RefOr<Schema>, err: RefOr<Schema>) -> RefOr<Schema> {
    RefOr::T(Schema::OneOf(
        OneOfBuilder::new().item(typed(Type::Object).property("ok", ok).required("ok").build()).item(typed(Type::Object).property("error", err).required("error").build()).build(),
    ))
}

/// A form body's schema: a file field is binary content (OpenAPI's form encoding), the rest
/// as in JSON.
fn form_schema(records: &[RecordType], ty: &ValueType) -> RefOr<Schema> {
    let field = |t: &ValueType| -> RefOr<Schema> {
        let (inner, optional) = match t {
            ValueType::Nullable { inner } => (inner.as_ref(), true),
            t => (t, false),
        };
        let s = if guest_abi::response::is_file(records, inner) {
            RefOr::T(Schema::Object(typed(Type::String).format(Some(SchemaFormat::Custom("binary".into()))).build()))
        } else {
            schema(records, inner)
        };
        if optional { nullable(s) } else { s }
    };
    match ty {
        ValueType::Map { value, .. } => map_of(field(value)),
        ValueType::Record { id } => match records.get(*id as usize) {
            Some(r) => {
                let mut b = typed(Type::Object);
                for f in r.fields.iter().filter(|f| !f.hidden) {
                    b = b.property(&f.name, field(&f.ty));
                    if !matches!(f.ty, ValueType::Nullable { .. }) && !f.has_default {
                        b = b.required(&f.name);
                    }
                }
                RefOr::T(Schema::Object(b.additional_properties(Some(AdditionalProperties::FreeForm(false))).build()))
            }
            None => schema(records, ty),
        },
        _ => schema(records, ty),
    }
}

pub fn record_schema(records: &[RecordType], r: &RecordType) -> Schema {
    let mut b = typed(Type::Object);
    for f in r.fields.iter().filter(|f| !f.hidden) {
        b = b.property(&f.name, schema(records, &f.ty));
        if !matches!(f.ty, ValueType::Nullable { .. }) && !f.has_default {
            b = b.required(&f.name);
        }
    }
    // The host refuses a body with a field the record does not declare (or hides).
    b = b.additional_properties(Some(AdditionalProperties::FreeForm(false)));
    Schema::Object(b.build())
}

fn json_content(s: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(s)).build()
}

/// The path as OpenAPI writes it: the template without its query part.
pub fn openapi_path(route: &Route) -> String {
    route.path.split('?').next().unwrap_or("/").to_string()
}

fn method(m: &str) -> HttpMethod {
    match m.to_ascii_uppercase().as_str() {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn operation(m: &Manifest, route: &Route) -> utoipa::openapi::path::Operation {
    let records = &m.records;
    let mut op = OperationBuilder::new().operation_id(Some(route.handler.clone()));
    let mut binds = false;
    let mut body: Option<crate::http::forms::Accepts> = None;
    let mut raw_body = false;
    for p in &route.params {
        match p {
            Param::Path { name, ty } => {
                binds = true;
                op = op.parameter(ParameterBuilder::new().name(name).parameter_in(ParameterIn::Path).required(Required::True).schema(Some(schema(records, ty))));
            }
            Param::Query { name, ty } => {
                binds = true;
                let (ty, required) = match ty {
                    ValueType::Nullable { inner } => (inner.as_ref(), Required::False),
                    other => (other, Required::True),
                };
                op = op.parameter(ParameterBuilder::new().name(name).parameter_in(ParameterIn::Query).required(required).schema(Some(schema(records, ty))));
            }
            Param::Body { ty: ValueType::Bytes, .. } => {
                // The request's bytes as they come, of any content type: no 415.
                binds = true;
                let bytes = RefOr::T(Schema::Object(typed(Type::String).format(Some(SchemaFormat::Custom("binary".into()))).build()));
                let b = RequestBodyBuilder::new().required(Some(Required::True)).content("application/octet-stream", json_content(bytes));
                op = op.request_body(Some(b.build()));
                raw_body = true;
            }
            Param::Body { ty, .. } => {
                binds = true;
                let accepts = crate::http::forms::accepts(records, ty);
                body = Some(accepts);
                let mut b = RequestBodyBuilder::new().required(Some(Required::True)).content("application/json", json_content(schema(records, ty)));
                if accepts.urlencoded {
                    b = b.content("application/x-www-form-urlencoded", json_content(form_schema(records, ty)));
                }
                if accepts.multipart {
                    b = b.content("multipart/form-data", json_content(form_schema(records, ty)));
                }
                op = op.request_body(Some(b.build()));
            }
            Param::Header { header: name, ty, .. } | Param::Cookie { cookie: name, ty, .. } => {
                binds = true;
                let place = if matches!(p, Param::Header { .. }) { ParameterIn::Header } else { ParameterIn::Cookie };
                let required = if matches!(ty, ValueType::Nullable { .. }) { Required::False } else { Required::True };
                op = op.parameter(ParameterBuilder::new().name(name).parameter_in(place).required(required).schema(Some(schema(records, &ValueType::Str))));
            }
            Param::Db { .. } | Param::Headers { .. } | Param::User { .. } | Param::Request { .. } | Param::Ws { .. } => {}
        }
    }
    // 200: the declared type (a `Result`'s `Ok`; its `Err` is a 500).
    let (ok, fails) = match &route.returns {
        ValueType::Result { ok, .. } => (ok.as_ref(), true),
        other => (other, false),
    };
    let mut responses: BTreeMap<u16, (String, Vec<RefOr<Schema>>)> = BTreeMap::new();
    // A `Response` says its own status, content type and headers when it runs.
    let raw = guest_abi::response::is_response(records, ok);
    if !raw {
        responses.insert(200, ("success".into(), vec![schema(records, ok)]));
    }
    for r in &route.responses {
        let entry = responses.entry(r.status).or_insert_with(|| (format!("declared by `{}`", route.handler), Vec::new()));
        let s = schema(records, &r.ty);
        if !entry.1.contains(&s) {
            entry.1.push(s);
        }
    }
    let mut add = |status: u16, description: &str, s: RefOr<Schema>| {
        responses.entry(status).or_insert_with(|| (description.to_string(), vec![s]));
    };
    if binds {
        add(400, "invalid path, query or body", reference(ERROR));
    }
    // What the host answers every body route before the app sees the body.
    if body.is_some() || raw_body {
        add(413, "the body is larger than the app's limit", reference(ERROR));
    }
    if let Some(accepts) = body {
        let what = accepts.expected().replace("expected Content-Type: ", "");
        add(415, &format!("the body is not {what}"), reference(ERROR));
    }
    if route.auth != RouteAuth::Public {
        add(401, "auth", reference(ERROR));
        op = op.security(SecurityRequirement::new(BEARER, Vec::<String>::new()));
    }
    if let RouteAuth::Roles { roles } = &route.auth {
        add(403, "forbidden: the user's role is not one the route requires", reference(FORBIDDEN));
        // The operation's roles, where a reader and a client generator both see them.
        let below = m.auth.as_ref().is_some_and(|a| !a.hierarchy.is_empty());
        let names: Vec<String> = roles.iter().map(|r| format!("`{r}`")).collect();
        let text = format!("Requires the role {}{}.", names.join(" or "), if below { " (or a role declared above it)" } else { "" });
        op = op.description(Some(text)).extensions(Some(utoipa::openapi::extensions::ExtensionsBuilder::new().add("x-required-roles", serde_json::json!(roles)).build()));
    }
    if fails {
        add(500, "the handler returned an error", reference(ERROR));
    }
    for (status, (description, schemas)) in responses {
        let s = match schemas.len() {
            1 => schemas.into_iter().next().unwrap_or_else(|| reference(ERROR)),
            _ => RefOr::T(Schema::OneOf(schemas.into_iter().fold(OneOfBuilder::new(), |b, s| b.item(s)).build())),
        };
        op = op.response(status.to_string(), ResponseBuilder::new().description(description).content("application/json", json_content(s)).build());
    }
    if raw {
        // The content types its `Response { … }` literals name (upstream lists them), binary
        // where the body is `body_bytes`; `*/*` when one is not a literal.
        let text = |binary: bool| {
            let b = typed(Type::String);
            RefOr::T(Schema::Object(if binary { b.format(Some(SchemaFormat::Custom("binary".into()))) } else { b }.build()))
        };
        let mut answer = ResponseBuilder::new().description(format!("the `Response` `{}` builds: its status, content type, headers and cookies", route.handler));
        if route.media.is_empty() {
            answer = answer.content("*/*", json_content(text(false)));
        }
        for m in &route.media {
            answer = answer.content(m.content_type.clone(), json_content(text(m.binary)));
        }
        op = op.response("default", answer.build());
    }
    op.build()
}

/// The document of one app; `title` names it.
pub fn document(m: &Manifest, title: &str) -> OpenApi {
    let mut paths: BTreeMap<String, Vec<&Route>> = BTreeMap::new();
    // A `@ws` endpoint is not an HTTP operation (upstream describes them in AsyncAPI).
    for r in m.routes.iter().filter(|r| r.ws.is_none()) {
        paths.entry(openapi_path(r)).or_default().push(r);
    }
    let mut builder = PathsBuilder::new();
    for (path, routes) in paths {
        let mut item: Option<PathItem> = None;
        for r in routes {
            let op = operation(m, r);
            item = Some(match item {
                None => PathItem::new(method(&r.method), op),
                Some(mut existing) => {
                    existing.merge_operations(PathItem::new(method(&r.method), op));
                    existing
                }
            });
        }
        if let Some(item) = item {
            builder = builder.path(path, item);
        }
    }
    // A 403 names the user's role, or roles when the user type holds several.
    let several =
        m.auth.as_ref().and_then(|a| m.records.get(a.user as usize)).is_some_and(|u| u.fields.iter().any(|f| f.name == "roles") && !u.fields.iter().any(|f| f.name == "role"));
    let forbidden = if several {
        typed(Type::Object)
            .property("error", typed(Type::String))
            .property("current_roles", ArrayBuilder::new().items(typed(Type::String)))
            .property("required_roles", ArrayBuilder::new().items(typed(Type::String)))
            .required("error")
            .required("current_roles")
            .required("required_roles")
    } else {
        typed(Type::Object)
            .property("error", typed(Type::String))
            .property("current_role", RefOr::T(Schema::OneOf(OneOfBuilder::new().item(typed(Type::String).build()).item(typed(Type::Null).build()).build())))
            .property("required_roles", ArrayBuilder::new().items(typed(Type::String)))
            .required("error")
            .required("current_role")
            .required("required_roles")
    };
    let mut components =
        ComponentsBuilder::new().schema(ERROR, typed(Type::Object).property("error", typed(Type::String)).required("error").build()).schema(FORBIDDEN, forbidden.build());
    for r in &m.records {
        components = components.schema(&r.name, record_schema(&m.records, r));
    }
    if m.auth.is_some() {
        components = components.security_scheme(BEARER, SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()));
    }
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title(title).version(m.server.as_ref().and_then(|s| s.api_version.as_deref()).unwrap_or("1.0.0")).build())
        .paths(builder.build())
        .components(Some(components.build()))
        .build()
}

/// The document as pretty JSON text; `app` is the app's file name (its stem is the title).
pub fn json(m: &Manifest, app: &str) -> String {
    let title = std::path::Path::new(app).file_stem().map_or(app.to_string(), |s| s.to_string_lossy().into_owned());
    document(m, &title).to_pretty_json().unwrap_or_else(|_| "{}".into())
}
