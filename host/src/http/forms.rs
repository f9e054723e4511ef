//! Form bodies, as upstream takes them: `application/x-www-form-urlencoded` and
//! `multipart/form-data` for a body of `Map<Str, Str>`, `Map<Str, File>` or a record of plain
//! fields. The form is turned into the JSON object the body's type is then checked against
//! exactly as a JSON body is (undeclared fields, missing ones, NUL characters), so a form
//! reaches the guest by the same road and with the same refusals.
//!
//! The whole body is within the app's body cap before it is parsed here; a multipart body
//! holds at most `MAX_PARTS` parts, each with a name, given once, and text that is UTF-8 (a
//! file's content is read as text, as upstream's `File.content: Str`).

use guest_abi::types::{RecordType, ValueType};
use serde_json::{Map, Value as Json};

use super::bind::echo;

pub const MAX_PARTS: usize = 256;

/// The content types a body of some type may come in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accepts {
    pub urlencoded: bool,
    pub multipart: bool,
}

impl Accepts {
    pub const JSON_ONLY: Accepts = Accepts { urlencoded: false, multipart: false };

    /// The 415's words: what this body may be.
    pub fn expected(self) -> String {
        let mut kinds = vec!["application/json"];
        if self.urlencoded {
            kinds.push("application/x-www-form-urlencoded");
        }
        if self.multipart {
            kinds.push("multipart/form-data");
        }
        match kinds.as_slice() {
            [one] => format!("expected Content-Type: {one}"),
            [init @ .., last] => format!("expected Content-Type: {} or {last}", init.join(", ")),
            [] => unreachable!("JSON is always accepted"),
        }
    }
}

/// What a form may fill: text (`Str`, a number, a `Bool`, nullable or not) or a `File`;
/// `Some(true)` for a file the form must carry (so it must be multipart).
fn form_value(records: &[RecordType], ty: &ValueType) -> Option<bool> {
    let (inner, optional) = match ty {
        ValueType::Nullable { inner } => (inner.as_ref(), true),
        t => (t, false),
    };
    match inner {
        ValueType::Str | ValueType::Int | ValueType::Float | ValueType::Bool => Some(false),
        t if guest_abi::response::is_file(records, t) => Some(!optional),
        _ => None,
    }
}

/// What a body of `ty` accepts besides JSON.
pub fn accepts(records: &[RecordType], ty: &ValueType) -> Accepts {
    let fields: Vec<Option<bool>> = match ty {
        ValueType::Map { key, value } if **key == ValueType::Str => vec![form_value(records, value)],
        ValueType::Record { id } if !guest_abi::response::is_file(records, ty) => match records.get(*id as usize) {
            Some(r) => r.fields.iter().map(|f| form_value(records, &f.ty)).collect(),
            None => return Accepts::JSON_ONLY,
        },
        _ => return Accepts::JSON_ONLY,
    };
    if fields.is_empty() || fields.iter().any(Option::is_none) {
        return Accepts::JSON_ONLY;
    }
    // A file the body needs comes only in multipart; text fields come either way.
    let files = fields.contains(&Some(true));
    Accepts { urlencoded: !files, multipart: true }
}

/// One field of a form.
#[derive(Debug)]
pub enum Part {
    Text(String),
    File { name: Option<String>, content_type: Option<String>, content: String },
}

/// The JSON of one field, by the type it fills.
fn field_json(records: &[RecordType], ty: &ValueType, name: &str, part: Part) -> Result<Json, String> {
    let (ty, nullable) = match ty {
        ValueType::Nullable { inner } => (inner.as_ref(), true),
        t => (t, false),
    };
    let bad = |what: &str, raw: &str| format!("form field '{}': expected {what}, received '{}'", echo(name), echo(raw));
    match (ty, part) {
        (t, Part::Text(text)) if guest_abi::response::is_file(records, t) => Ok(serde_json::json!({ "name": null, "content_type": null, "content": text })),
        (t, Part::File { name, content_type, content }) if guest_abi::response::is_file(records, t) => {
            Ok(serde_json::json!({ "name": name, "content_type": content_type, "content": content }))
        }
        (_, Part::File { .. }) => Err(format!("form field '{}' is a file; this route takes text there", echo(name))),
        // An empty input of a nullable number or flag is its absence.
        (ValueType::Int | ValueType::Float | ValueType::Bool, Part::Text(t)) if nullable && t.is_empty() => Ok(Json::Null),
        (ValueType::Str, Part::Text(t)) => Ok(Json::String(t)),
        (ValueType::Int, Part::Text(t)) => t.trim().parse::<i64>().map(Json::from).map_err(|_| bad("Int", &t)),
        (ValueType::Float, Part::Text(t)) => t.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Json::Number).ok_or_else(|| bad("Float", &t)),
        // `on` is what a checked box sends.
        (ValueType::Bool, Part::Text(t)) => match t.as_str() {
            "true" | "on" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            _ => Err(bad("Bool", &t)),
        },
        _ => Err(format!("form field '{}' cannot be given in a form", echo(name))),
    }
}

/// The type field `name` of a body of `ty` fills: the map's value type, or the record's field
/// (an undeclared one is left as text for the body check to refuse by name).
fn field_type<'a>(records: &'a [RecordType], ty: &'a ValueType, name: &str) -> Option<&'a ValueType> {
    match ty {
        ValueType::Map { value, .. } => Some(value),
        ValueType::Record { id } => records.get(*id as usize)?.fields.iter().find(|f| f.name == name).map(|f| &f.ty),
        _ => None,
    }
}

/// The form's fields as the JSON object of a body of `ty`.
pub fn to_json(records: &[RecordType], ty: &ValueType, fields: Vec<(String, Part)>) -> Result<Json, String> {
    let mut out = Map::new();
    for (name, part) in fields {
        if out.contains_key(&name) {
            return Err(format!("form field '{}' is given twice", echo(&name)));
        }
        let value = match field_type(records, ty, &name) {
            Some(t) => field_json(records, t, &name, part)?,
            None => Json::String(match part {
                Part::Text(t) => t,
                Part::File { content, .. } => content,
            }),
        };
        out.insert(name, value);
    }
    Ok(Json::Object(out))
}

/// `a=1&b=two` (`+` and percent escapes decoded).
pub fn urlencoded(bytes: &[u8]) -> Result<Vec<(String, Part)>, String> {
    if std::str::from_utf8(bytes).is_err() {
        return Err("request body is not UTF-8 text".into());
    }
    Ok(form_urlencoded::parse(bytes).into_owned().map(|(k, v)| (k, Part::Text(v))).collect())
}

/// The parts of a multipart body with `boundary`.
pub async fn multipart(bytes: Vec<u8>, boundary: String) -> Result<Vec<(String, Part)>, String> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes::Bytes::from(bytes)) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err("request body is not a valid multipart/form-data body".into()),
        };
        if out.len() == MAX_PARTS {
            return Err(format!("a form holds at most {MAX_PARTS} fields"));
        }
        let Some(name) = field.name().map(str::to_string) else { return Err("a part of the form has no name".into()) };
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.essence_str().to_string());
        let data = field.bytes().await.map_err(|_| "request body is not a valid multipart/form-data body".to_string())?;
        let Ok(text) = String::from_utf8(data.to_vec()) else {
            return Err(format!("form field '{}' is not UTF-8 text (files are read as text)", echo(&name)));
        };
        let part = match file_name {
            Some(f) => Part::File { name: Some(f), content_type, content: text },
            None if content_type.is_some() => Part::File { name: None, content_type, content: text },
            None => Part::Text(text),
        };
        out.push((name, part));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_abi::types::FieldType;

    fn records() -> Vec<RecordType> {
        let src = guest_abi::response::FILE_SOURCE;
        assert!(src.contains("type File"));
        let opt = ValueType::Nullable { inner: Box::new(ValueType::Str) };
        let file = RecordType {
            name: "File".into(),
            fields: vec![
                FieldType { name: "name".into(), ty: opt.clone(), hidden: false, has_default: false },
                FieldType { name: "content_type".into(), ty: opt, hidden: false, has_default: false },
                FieldType { name: "content".into(), ty: ValueType::Str, hidden: false, has_default: false },
            ],
        };
        let signup = RecordType {
            name: "Signup".into(),
            fields: vec![
                FieldType { name: "name".into(), ty: ValueType::Str, hidden: false, has_default: false },
                FieldType { name: "age".into(), ty: ValueType::Nullable { inner: Box::new(ValueType::Int) }, hidden: false, has_default: false },
                FieldType { name: "agree".into(), ty: ValueType::Bool, hidden: false, has_default: false },
            ],
        };
        vec![file, signup]
    }

    #[test]
    fn what_each_body_type_accepts() {
        let r = records();
        let text_map = ValueType::Map { key: Box::new(ValueType::Str), value: Box::new(ValueType::Str) };
        let file_map = ValueType::Map { key: Box::new(ValueType::Str), value: Box::new(ValueType::Record { id: 0 }) };
        assert_eq!(accepts(&r, &text_map), Accepts { urlencoded: true, multipart: true });
        assert_eq!(accepts(&r, &file_map), Accepts { urlencoded: false, multipart: true });
        assert_eq!(accepts(&r, &ValueType::Record { id: 1 }), Accepts { urlencoded: true, multipart: true });
        assert_eq!(accepts(&r, &ValueType::Record { id: 0 }), Accepts::JSON_ONLY);
        assert_eq!(accepts(&r, &ValueType::List { item: Box::new(ValueType::Str) }), Accepts::JSON_ONLY);
        assert_eq!(Accepts::JSON_ONLY.expected(), "expected Content-Type: application/json");
        assert_eq!(Accepts { urlencoded: true, multipart: true }.expected(), "expected Content-Type: application/json, application/x-www-form-urlencoded or multipart/form-data");
    }

    #[test]
    fn fields_take_their_types() {
        let r = records();
        let signup = ValueType::Record { id: 1 };
        let form = urlencoded(b"name=Ada+L%C3%B3pez&age=&agree=on").expect("accepted");
        assert_eq!(to_json(&r, &signup, form).expect("accepted"), serde_json::json!({"name": "Ada López", "age": null, "agree": true}));
        let err = to_json(&r, &signup, urlencoded(b"name=a&age=old&agree=on").expect("accepted")).expect_err("refused");
        assert_eq!(err, "form field 'age': expected Int, received 'old'");
        assert_eq!(to_json(&r, &signup, urlencoded(b"name=a&name=b").expect("accepted")).expect_err("refused"), "form field 'name' is given twice");
        let file = Part::File { name: Some("a.txt".into()), content_type: Some("text/plain".into()), content: "hi".into() };
        assert_eq!(to_json(&r, &signup, vec![("name".into(), file)]).expect_err("refused"), "form field 'name' is a file; this route takes text there");
        assert!(urlencoded(b"a=\xff").is_err());
    }

    #[tokio::test]
    async fn multipart_parts_become_files_and_text() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhola\r\n--XyZ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\nline two\r\n--XyZ--\r\n";
        let parts = multipart(body.as_bytes().to_vec(), "XyZ".into()).await.expect("accepted");
        let r = records();
        let file_map = ValueType::Map { key: Box::new(ValueType::Str), value: Box::new(ValueType::Record { id: 0 }) };
        assert_eq!(
            to_json(&r, &file_map, parts).expect("accepted"),
            serde_json::json!({
                "note": {"name": null, "content_type": null, "content": "hola"},
                "up": {"name": "a.txt", "content_type": "text/plain", "content": "line one\nline two"},
            })
        );
        let binary = b"--XyZ\r\nContent-Disposition: form-data; name=\"img\"; filename=\"a.png\"\r\n\r\n\x89PNG\xff\r\n--XyZ--\r\n".to_vec();
        assert_eq!(multipart(binary, "XyZ".into()).await.expect_err("refused"), "form field 'img' is not UTF-8 text (files are read as text)");
        assert!(multipart(b"garbage".to_vec(), "XyZ".into()).await.is_err());
    }
}
