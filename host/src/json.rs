//! Guest values and JSON, by the manifest's types (DESIGN.md §4: the host does JSON, the guest
//! sees typed values). Writing follows upstream's response rules (records as objects in field
//! order without `@hidden` fields, `DateTime` as ISO 8601, secrets as `***`); reading is strict
//! and names the place and the problem, for 400 answers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use guest_abi::types::{RecordType, ValueType};
use guest_abi::value::Value;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value as Json;

/// A guest value as JSON, by its type.
pub fn to_json(records: &[RecordType], ty: &ValueType, v: &Value) -> Json {
    serde_json::to_value(Typed { records, ty, value: v }).unwrap_or(Json::Null)
}

/// The JSON text of a guest value: what `to_json` gives, written straight to bytes, without
/// building a `serde_json::Value` (a map per record, a string per key) on the way.
pub fn to_json_bytes(records: &[RecordType], ty: &ValueType, v: &Value) -> Vec<u8> {
    serde_json::to_vec(&Typed { records, ty, value: v }).unwrap_or_else(|_| b"null".to_vec())
}

/// `to_json_bytes`, or `None` as soon as the text would pass `cap` bytes (a value that is small
/// in guest memory can still be large as text: strings of escapes, many records).
pub fn to_json_bytes_within(records: &[RecordType], ty: &ValueType, v: &Value, cap: usize) -> Option<Vec<u8>> {
    let mut out = Capped { bytes: Vec::new(), cap };
    serde_json::to_writer(&mut out, &Typed { records, ty, value: v }).ok()?;
    Some(out.bytes)
}

struct Capped {
    bytes: Vec<u8>,
    cap: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + data.len() > self.cap {
            return Err(std::io::Error::other("past the cap"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A guest value seen through its type, serialized as JSON.
struct Typed<'a> {
    records: &'a [RecordType],
    ty: &'a ValueType,
    value: &'a Value,
}

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let records = self.records;
        match (self.ty, self.value) {
            (_, Value::Null) => s.serialize_unit(),
            (_, Value::Int(i)) => s.serialize_i64(*i),
            (_, Value::Float(f)) if f.is_finite() => s.serialize_f64(*f),
            (_, Value::Float(_)) => s.serialize_unit(),
            (_, Value::Bool(b)) => s.serialize_bool(*b),
            (ValueType::Secret, Value::Str(_)) => s.serialize_str("***"),
            (_, Value::Str(text)) => s.serialize_str(text),
            (_, Value::Bytes(b)) => s.serialize_str(&BASE64.encode(b)),
            (_, Value::DateTime(us)) => s.serialize_str(&format_datetime(*us)),
            (_, Value::Date(days)) => s.serialize_str(&format_date(*days)),
            (_, Value::Any { ty, value }) => Typed { records, ty, value }.serialize(s),
            (ValueType::Nullable { inner }, value) => Typed { records, ty: inner, value }.serialize(s),
            (ValueType::List { item }, Value::List(items)) => s.collect_seq(items.iter().map(|value| Typed { records, ty: item, value })),
            (ValueType::Map { key, value: vty }, Value::Map(entries)) => s.collect_map(entries.iter().map(|(k, value)| (key_text(key, k), Typed { records, ty: vty, value }))),
            (ValueType::Record { id }, Value::Record(fields)) => {
                let mut m = s.serialize_map(None)?;
                if let Some(r) = records.get(*id as usize) {
                    for (f, value) in r.fields.iter().zip(fields).filter(|(f, _)| !f.hidden) {
                        m.serialize_entry(&f.name, &Typed { records, ty: &f.ty, value })?;
                    }
                }
                m.end()
            }
            (ValueType::Result { ok, .. }, Value::Ok(value)) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("ok", &Typed { records, ty: ok, value })?;
                m.end()
            }
            (ValueType::Result { err, .. }, Value::Err(value)) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("error", &Typed { records, ty: err, value })?;
                m.end()
            }
            _ => s.serialize_unit(),
        }
    }
}

fn key_text(ty: &ValueType, k: &Value) -> String {
    match (ty, k) {
        (_, Value::Str(s)) => s.clone(),
        (_, Value::Int(i)) => i.to_string(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Float(f)) => f.to_string(),
        (_, Value::DateTime(us)) => format_datetime(*us),
        (_, Value::Date(days)) => format_date(*days),
        _ => String::new(),
    }
}

/// Why a JSON value does not fit a type: where (`email`, `items[2].name`, or empty for the
/// whole value) and what.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonError {
    pub path: String,
    pub problem: JsonProblem,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JsonProblem {
    Expected {
        ty: String,
        found: &'static str,
    },
    MissingField(String),
    UndeclaredField(String),
    BadKey(String),
    /// Text with a NUL character, which PostgreSQL cannot store and SQLite can: refused before
    /// any statement runs, so both databases answer the same.
    Nul,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |f: &mut std::fmt::Formatter<'_>| if self.path.is_empty() { Ok(()) } else { write!(f, "field '{}': ", self.path) };
        match &self.problem {
            JsonProblem::Expected { ty, found } => {
                at(f)?;
                write!(f, "expected {ty}, received {found}")
            }
            JsonProblem::MissingField(name) => write!(f, "missing field '{}'", join(&self.path, name)),
            JsonProblem::UndeclaredField(name) => write!(f, "undeclared field '{}'", join(&self.path, name)),
            JsonProblem::BadKey(key) => {
                at(f)?;
                write!(f, "invalid map key '{key}'")
            }
            JsonProblem::Nul => {
                at(f)?;
                f.write_str(NUL_MESSAGE)
            }
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }
}

fn kind_of(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// What a request is told when its text carries a NUL character.
pub const NUL_MESSAGE: &str = "text must not contain the NUL character (\\u0000)";

/// A type's name as a user wrote it, for messages.
pub fn type_name(records: &[RecordType], ty: &ValueType) -> String {
    match ty {
        ValueType::Int => "Int".into(),
        ValueType::Float => "Float".into(),
        ValueType::Bool => "Bool".into(),
        ValueType::Str | ValueType::Secret => "Str".into(),
        ValueType::Bytes => "Bytes".into(),
        ValueType::Null => "Null".into(),
        ValueType::DateTime => "DateTime".into(),
        ValueType::Date => "Date".into(),
        ValueType::Uuid => "Uuid".into(),
        ValueType::List { item } => format!("List<{}>", type_name(records, item)),
        ValueType::Map { key, value } => format!("Map<{}, {}>", type_name(records, key), type_name(records, value)),
        ValueType::Nullable { inner } => format!("{}?", type_name(records, inner)),
        ValueType::Result { ok, .. } => format!("Result<{}>", type_name(records, ok)),
        ValueType::Record { id } => records.get(*id as usize).map_or_else(|| "record".into(), |r| r.name.clone()),
        ValueType::Any => "Any".into(),
    }
}

/// Field defaults, by record index and field index, for fields a body may leave out.
pub type Defaults<'a> = dyn Fn(u32, usize) -> Option<Value> + 'a;

pub fn from_json(records: &[RecordType], ty: &ValueType, j: &Json) -> Result<Value, JsonError> {
    from_json_with(records, ty, j, &|_, _| None)
}

pub fn from_json_with(records: &[RecordType], ty: &ValueType, j: &Json, defaults: &Defaults<'_>) -> Result<Value, JsonError> {
    Reader { records, defaults }.read(ty, j, &mut String::new())
}

struct Reader<'a> {
    records: &'a [RecordType],
    defaults: &'a Defaults<'a>,
}

impl Reader<'_> {
    fn read(&self, ty: &ValueType, j: &Json, path: &mut String) -> Result<Value, JsonError> {
        let records = self.records;
        let wrong = |path: &str| JsonError { path: path.to_string(), problem: JsonProblem::Expected { ty: type_name(records, ty), found: kind_of(j) } };
        Ok(match (ty, j) {
            (ValueType::Any, j) => any_of(j, path)?,
            (ValueType::Nullable { .. } | ValueType::Null, Json::Null) => Value::Null,
            (ValueType::Nullable { inner }, j) => self.read(inner, j, path)?,
            (ValueType::Int, Json::Number(n)) => Value::Int(n.as_i64().ok_or_else(|| wrong(path))?),
            (ValueType::Float, Json::Number(n)) => Value::Float(n.as_f64().ok_or_else(|| wrong(path))?),
            (ValueType::Bool, Json::Bool(b)) => Value::Bool(*b),
            (ValueType::Str | ValueType::Secret, Json::String(s)) if s.contains('\0') => {
                return Err(JsonError { path: path.clone(), problem: JsonProblem::Nul });
            }
            (ValueType::Str | ValueType::Secret, Json::String(s)) => Value::Str(s.clone()),
            (ValueType::Uuid, Json::String(s)) => Value::Str(parse_uuid(s).ok_or_else(|| wrong(path))?),
            (ValueType::Bytes, Json::String(s)) => Value::Bytes(
                BASE64
                    .decode(s)
                    .map_err(|_| JsonError { path: path.clone(), problem: JsonProblem::Expected { ty: "Bytes".into(), found: "a string that is not standard base64" } })?,
            ),
            (ValueType::DateTime, Json::String(s)) => Value::DateTime(parse_datetime(s).ok_or_else(|| wrong(path))?),
            (ValueType::Date, Json::String(s)) => Value::Date(parse_date(s).ok_or_else(|| wrong(path))?),
            (ValueType::List { item }, Json::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, it) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    out.push(self.read(item, it, path)?);
                    path.truncate(len);
                }
                Value::List(out)
            }
            (ValueType::Map { key, value }, Json::Object(entries)) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    if k.contains('\0') {
                        return Err(JsonError { path: path.clone(), problem: JsonProblem::Nul });
                    }
                    let key_value = parse_key(key, k).ok_or_else(|| JsonError { path: path.clone(), problem: JsonProblem::BadKey(k.clone()) })?;
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    out.push((key_value, self.read(value, v, path)?));
                    path.truncate(len);
                }
                Value::Map(out)
            }
            (ValueType::Record { id }, Json::Object(entries)) => {
                let r = records.get(*id as usize).ok_or_else(|| wrong(path))?;
                for k in entries.keys() {
                    if !r.fields.iter().any(|f| &f.name == k && !f.hidden) {
                        return Err(JsonError { path: path.clone(), problem: JsonProblem::UndeclaredField(k.clone()) });
                    }
                }
                let mut fields = Vec::with_capacity(r.fields.len());
                for (i, f) in r.fields.iter().enumerate() {
                    match entries.get(&f.name) {
                        Some(v) if !f.hidden => {
                            let len = path.len();
                            if !path.is_empty() {
                                path.push('.');
                            }
                            path.push_str(&f.name);
                            fields.push(self.read(&f.ty, v, path)?);
                            path.truncate(len);
                        }
                        _ if f.has_default || f.hidden => match (self.defaults)(*id, i) {
                            Some(v) => fields.push(v),
                            None if matches!(f.ty, ValueType::Nullable { .. }) => fields.push(Value::Null),
                            None => return Err(JsonError { path: path.clone(), problem: JsonProblem::MissingField(f.name.clone()) }),
                        },
                        _ if matches!(f.ty, ValueType::Nullable { .. }) => fields.push(Value::Null),
                        _ => return Err(JsonError { path: path.clone(), problem: JsonProblem::MissingField(f.name.clone()) }),
                    }
                }
                Value::Record(fields)
            }
            _ => return Err(wrong(path)),
        })
    }
}

/// A JSON value as an `Any`: tagged with the JSON type it is (`guest_abi::types::any_json_types`),
/// whole numbers as `Int` when they fit, arrays and objects holding `Any`s.
fn any_of(j: &Json, path: &mut String) -> Result<Value, JsonError> {
    let any = |ty: ValueType, value: Value| Value::Any { ty, value: Box::new(value) };
    Ok(match j {
        Json::Null => any(ValueType::Null, Value::Null),
        Json::Bool(b) => any(ValueType::Bool, Value::Bool(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => any(ValueType::Int, Value::Int(i)),
            None => any(ValueType::Float, Value::Float(n.as_f64().unwrap_or(f64::NAN))),
        },
        Json::String(s) if s.contains('\0') => return Err(JsonError { path: path.clone(), problem: JsonProblem::Nul }),
        Json::String(s) => any(ValueType::Str, Value::Str(s.clone())),
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(any_of(it, path)?);
                path.truncate(len);
            }
            any(ValueType::list(ValueType::Any), Value::List(out))
        }
        Json::Object(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                if k.contains('\0') {
                    return Err(JsonError { path: path.clone(), problem: JsonProblem::Nul });
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                out.push((Value::Str(k.clone()), any_of(v, path)?));
                path.truncate(len);
            }
            any(ValueType::map(ValueType::Str, ValueType::Any), Value::Map(out))
        }
    })
}

fn parse_key(ty: &ValueType, k: &str) -> Option<Value> {
    match ty {
        ValueType::Str => Some(Value::Str(k.to_string())),
        ValueType::Int => k.parse().ok().map(Value::Int),
        ValueType::Bool => k.parse().ok().map(Value::Bool),
        ValueType::Float => k.parse().ok().filter(|f: &f64| f.is_finite()).map(Value::Float),
        _ => None,
    }
}

/// The canonical lower-case form of a UUID written as 8-4-4-4-12 hex digits.
pub fn parse_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        let dash = matches!(i, 8 | 13 | 18 | 23);
        if dash != (*c == b'-') || (!dash && !c.is_ascii_hexdigit()) {
            return None;
        }
    }
    Some(s.to_ascii_lowercase())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD`, `days` after 1970-01-01.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD` (a real day of the proleptic Gregorian calendar) to days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in_month {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `YYYY-MM-DDTHH:MM:SSZ`, with `.ffffff` when there are microseconds.
pub fn format_datetime(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if frac == 0 { format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z") } else { format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}Z") }
}

/// RFC 3339 (`2026-11-28T14:00:00Z`, fractional seconds and `±HH:MM` offsets allowed) to
/// microseconds since the epoch.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in_month || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() {
            return None;
        }
        let padded: String = digits.chars().chain(std::iter::repeat('0')).take(6).collect();
        micros = padded.parse().ok()?;
    }
    let offset = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && matches!(tz.as_bytes()[0], b'+' | b'-') && tz.as_bytes()[3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if tz.starts_with('-') { -o } else { o }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_abi::types::FieldType;

    fn field(name: &str, ty: ValueType) -> FieldType {
        FieldType { name: name.into(), ty, hidden: false, has_default: false }
    }

    fn user() -> Vec<RecordType> {
        vec![RecordType {
            name: "User".into(),
            fields: vec![
                field("id", ValueType::Int),
                field("email", ValueType::Str),
                field("nick", ValueType::nullable(ValueType::Str)),
                FieldType { name: "password_hash".into(), ty: ValueType::Str, hidden: true, has_default: false },
            ],
        }]
    }

    #[test]
    fn records_hide_hidden_fields_and_keep_order() {
        let v = Value::Record(vec![Value::Int(1), Value::Str("a@b".into()), Value::Null, Value::Str("$argon2id$…".into())]);
        let j = to_json(&user(), &ValueType::Record { id: 0 }, &v);
        assert_eq!(j.to_string(), r#"{"id":1,"email":"a@b","nick":null}"#);
    }

    #[test]
    fn every_kind_of_value_as_json_text_and_as_a_json_value() {
        let ty = ValueType::result(ValueType::map(ValueType::Int, ValueType::list(ValueType::nullable(ValueType::Record { id: 0 }))), ValueType::Str);
        let ada = Value::Record(vec![Value::Int(1), Value::Str("a\"b\n".into()), Value::Str("x".into()), Value::Str("h".into())]);
        let v = Value::Ok(Box::new(Value::Map(vec![(Value::Int(7), Value::List(vec![ada, Value::Null])), (Value::Int(-2), Value::List(vec![]))])));
        let text = r#"{"ok":{"7":[{"id":1,"email":"a\"b\n","nick":"x"},null],"-2":[]}}"#;
        assert_eq!(String::from_utf8(to_json_bytes(&user(), &ty, &v)).expect("utf-8"), text);
        assert_eq!(to_json(&user(), &ty, &v), serde_json::from_str::<Json>(text).expect("json"));
        let scalars = [
            (ValueType::Float, Value::Float(f64::NAN), "null"),
            (ValueType::Float, Value::Float(0.5), "0.5"),
            (ValueType::Secret, Value::Str("s3cret".into()), r#""***""#),
            (ValueType::DateTime, Value::DateTime(0), r#""1970-01-01T00:00:00Z""#),
            (ValueType::result(ValueType::Int, ValueType::Str), Value::Err(Box::new(Value::Str("no".into()))), r#"{"error":"no"}"#),
            (ValueType::Int, Value::Str("a value of another type".into()), r#""a value of another type""#),
            (ValueType::list(ValueType::Int), Value::Bool(true), "true"),
        ];
        for (ty, v, text) in scalars {
            assert_eq!(String::from_utf8(to_json_bytes(&[], &ty, &v)).expect("utf-8"), text, "{ty:?}");
            assert_eq!(to_json(&[], &ty, &v).to_string(), text, "{ty:?}");
        }
    }

    #[test]
    fn strict_reading_names_the_problem() {
        let r = user();
        let ty = ValueType::Record { id: 0 };
        let parse = |s: &str| from_json(&r, &ty, &serde_json::from_str(s).expect("json")).map_err(|e| e.to_string());
        assert_eq!(parse(r#"{"email":"x","password_hash":"h"}"#), Err("undeclared field 'password_hash'".into()));
        assert_eq!(parse(r#"{"email":"x"}"#), Err("missing field 'id'".into()));
        assert_eq!(parse(r#"{"id":"1","email":"x"}"#), Err("field 'id': expected Int, received a string".into()));
        assert_eq!(parse(r#"{"id":1.5,"email":"x"}"#), Err("field 'id': expected Int, received a number".into()));
        assert_eq!(parse(r#"[1]"#), Err("expected User, received an array".into()));
        let hidden_default = |_: u32, i: usize| (i == 3).then(|| Value::Str(String::new()));
        let ok = from_json_with(&r, &ty, &serde_json::json!({"id": 1, "email": "x"}), &hidden_default);
        assert_eq!(ok, Ok(Value::Record(vec![Value::Int(1), Value::Str("x".into()), Value::Null, Value::Str(String::new())])));
    }

    #[test]
    fn datetimes_round_trip() {
        for s in ["1970-01-01T00:00:00Z", "2026-11-28T14:05:09Z", "2000-02-29T23:59:59.000001Z", "1969-12-31T23:59:59Z"] {
            let us = parse_datetime(s).expect(s);
            assert_eq!(format_datetime(us), s);
        }
        assert_eq!(parse_datetime("2026-11-28T15:05:09+01:00"), parse_datetime("2026-11-28T14:05:09Z"));
        assert_eq!(parse_datetime("2026-02-30T00:00:00Z"), None);
        assert_eq!(parse_datetime("yesterday"), None);
    }
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_are_iso_days_both_ways() {
        for (days, text) in [(0, "1970-01-01"), (-1, "1969-12-31"), (19_782, "2024-02-29"), (-719_162, "0001-01-01"), (2_932_896, "9999-12-31")] {
            assert_eq!(format_date(days), text);
            assert_eq!(parse_date(text), Some(days), "{text}");
            let json = to_json(&[], &ValueType::Date, &Value::Date(days));
            assert_eq!(json, serde_json::Value::String(text.into()));
        }
        for bad in ["2023-02-29", "2024-13-01", "2024-00-10", "2024-1-01", "24-01-01", "2024-01-01T00:00:00Z", "", "２０２４-01-01", "2024-01-32"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
