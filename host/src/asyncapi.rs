//! The AsyncAPI 3.0 document of an app's `@ws` endpoints (upstream serves one at
//! `/asyncapi.json` beside its OpenAPI): a channel per endpoint at its path, the message a
//! client sends (what the app receives) and the one it gets (what the app sends), their
//! schemas as the OpenAPI document writes them (records under `components.schemas`), JSON text
//! or, for `Bytes`, binary frames; an endpoint behind the provider names the bearer scheme.
//! `/asyncapi` shows the same as a page of plain HTML, which needs nothing from elsewhere.

use guest_abi::manifest::{Manifest, Route, RouteAuth};
use guest_abi::types::ValueType;
use serde_json::{Map, Value as Json, json};

/// A channel's name in the document: its path as a key (`/chat/room` → `chat_room`).
fn channel_id(path: &str) -> String {
    let id: String = path.trim_matches('/').chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if id.is_empty() { "root".into() } else { id }
}

fn message(m: &Manifest, name: &str, ty: &ValueType) -> Json {
    if *ty == ValueType::Bytes {
        return json!({ "name": name, "contentType": "application/octet-stream", "payload": { "type": "string", "format": "binary" } });
    }
    let schema = serde_json::to_value(crate::openapi::schema(&m.records, ty)).unwrap_or(Json::Null);
    json!({ "name": name, "contentType": "application/json", "payload": schema })
}

/// The document, or `None` for an app without `@ws` endpoints.
pub fn document(m: &Manifest, title: &str) -> Option<Json> {
    let endpoints: Vec<(&Route, &guest_abi::manifest::WsSpec)> = m.routes.iter().filter_map(|r| r.ws.as_ref().map(|w| (r, w))).collect();
    if endpoints.is_empty() {
        return None;
    }
    let (mut channels, mut operations, mut messages) = (Map::new(), Map::new(), Map::new());
    let mut secured = false;
    for (r, ws) in &endpoints {
        let id = channel_id(&r.path);
        let (incoming, outgoing) = (format!("{id}_in"), format!("{id}_out"));
        messages.insert(incoming.clone(), message(m, &incoming, &ws.receives));
        messages.insert(outgoing.clone(), message(m, &outgoing, &ws.sends));
        let refer = |name: &str| json!({ "$ref": format!("#/components/messages/{name}") });
        channels.insert(
            id.clone(),
            json!({
                "address": r.path,
                "description": format!("`{}`: a WebSocket at {}", r.handler, r.path),
                "messages": { &incoming: refer(&incoming), &outgoing: refer(&outgoing) },
            }),
        );
        let protected = r.auth != RouteAuth::Public;
        secured |= protected;
        for (action, name) in [("receive", &incoming), ("send", &outgoing)] {
            let mut op = json!({
                "action": action,
                "channel": { "$ref": format!("#/channels/{id}") },
                "messages": [{ "$ref": format!("#/channels/{id}/messages/{name}") }],
            });
            if protected {
                op["security"] = json!([{ "$ref": format!("#/components/securitySchemes/{}", crate::openapi::BEARER) }]);
            }
            operations.insert(format!("{id}_{action}"), op);
        }
    }
    let schemas: Map<String, Json> = m.records.iter().map(|r| (r.name.clone(), serde_json::to_value(crate::openapi::record_schema(&m.records, r)).unwrap_or(Json::Null))).collect();
    let mut components = json!({ "schemas": schemas, "messages": messages });
    if secured {
        components["securitySchemes"] = json!({ crate::openapi::BEARER: { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } });
    }
    let version = m.server.as_ref().and_then(|s| s.api_version.as_deref()).unwrap_or("1.0.0");
    Some(json!({
        "asyncapi": "3.0.0",
        "info": { "title": title, "version": version },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": components,
    }))
}

/// The document as pretty JSON text; `app` is the app's file name (its stem is the title).
pub fn json(m: &Manifest, app: &str) -> Option<String> {
    let title = std::path::Path::new(app).file_stem().map_or(app.to_string(), |s| s.to_string_lossy().into_owned());
    document(m, &title).and_then(|d| serde_json::to_string_pretty(&d).ok())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `/asyncapi`: each channel with its messages' schemas, as plain HTML.
pub fn page(doc: &Json) -> String {
    let title = doc["info"]["title"].as_str().unwrap_or("");
    let mut body = format!(
        "<h1>{} — WebSocket endpoints</h1><p>AsyncAPI {} · <a href=\"/asyncapi.json\">asyncapi.json</a></p>",
        escape(title),
        escape(doc["asyncapi"].as_str().unwrap_or(""))
    );
    let messages = &doc["components"]["messages"];
    for (id, channel) in doc["channels"].as_object().into_iter().flatten() {
        body.push_str(&format!("<section><h2><code>{}</code></h2>", escape(channel["address"].as_str().unwrap_or(id))));
        let secured = doc["operations"][format!("{id}_receive")].get("security").is_some();
        if secured {
            body.push_str("<p>Needs a bearer token (the <code>Authorization</code> header, or the <code>bearer.&lt;token&gt;</code> subprotocol).</p>");
        }
        for (dir, label) in [("in", "The client sends"), ("out", "The client receives")] {
            let m = &messages[format!("{id}_{dir}")];
            let payload = serde_json::to_string_pretty(&m["payload"]).unwrap_or_default();
            body.push_str(&format!("<h3>{label} <small>{}</small></h3><pre>{}</pre>", escape(m["contentType"].as_str().unwrap_or("")), escape(&payload)));
        }
        body.push_str("</section>");
    }
    let schemas = serde_json::to_string_pretty(&doc["components"]["schemas"]).unwrap_or_default();
    body.push_str(&format!("<section><h2>Schemas</h2><pre>{}</pre></section>", escape(&schemas)));
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · AsyncAPI</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}pre{{background:#f4f4f4;padding:.75rem;overflow:auto}}</style>\
         </head><body>{body}</body></html>",
        escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::channel_id;

    #[test]
    fn channels_are_named_by_their_paths() {
        assert_eq!(channel_id("/chat"), "chat");
        assert_eq!(channel_id("/chat/room-1"), "chat_room_1");
        assert_eq!(channel_id("/"), "root");
    }
}
