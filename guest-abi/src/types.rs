//! Value types as the manifest describes them: enough for the host to read and write any value
//! a module passes across the boundary, and to describe it in JSON and OpenAPI.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValueType {
    Int,
    Float,
    Bool,
    Str,
    /// Raw bytes, laid out as a `Str` is (no promise of UTF-8); JSON: standard base64.
    Bytes,
    Null,
    /// Microseconds since the Unix epoch, UTC; JSON `"YYYY-MM-DDTHH:MM:SSZ"`.
    DateTime,
    /// Days since 1970-01-01 (proleptic Gregorian); JSON `"YYYY-MM-DD"`.
    Date,
    /// Held as its canonical text.
    Uuid,
    /// Held as text; never serialised.
    Secret,
    List {
        item: Box<ValueType>,
    },
    Map {
        key: Box<ValueType>,
        value: Box<ValueType>,
    },
    Nullable {
        inner: Box<ValueType>,
    },
    Result {
        ok: Box<ValueType>,
        err: Box<ValueType>,
    },
    /// A record type, by index into the manifest's `records`.
    Record {
        id: u32,
    },
    /// A value of any of the manifest's `any` types, boxed with the index of its type
    /// (`layout::ANY_TAG`, `ANY_PAYLOAD`).
    Any,
}

impl ValueType {
    pub fn list(item: ValueType) -> ValueType {
        ValueType::List { item: Box::new(item) }
    }
    pub fn map(key: ValueType, value: ValueType) -> ValueType {
        ValueType::Map { key: Box::new(key), value: Box::new(value) }
    }
    pub fn nullable(inner: ValueType) -> ValueType {
        ValueType::Nullable { inner: Box::new(inner) }
    }
    pub fn result(ok: ValueType, err: ValueType) -> ValueType {
        ValueType::Result { ok: Box::new(ok), err: Box::new(err) }
    }
}

/// The types a JSON value can be, as the first tags of every `any` table: null, a Bool, an
/// Int, a Float, a Str, a list of them and an object of them.
pub fn any_json_types() -> [ValueType; crate::layout::ANY_JSON_TYPES] {
    [ValueType::Null, ValueType::Bool, ValueType::Int, ValueType::Float, ValueType::Str, ValueType::list(ValueType::Any), ValueType::map(ValueType::Str, ValueType::Any)]
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordType {
    pub name: String,
    pub fields: Vec<FieldType>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldType {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ValueType,
    /// `@hidden`: left out of responses (and refused in request bodies).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// A default exists, so the field may be missing from a request body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub has_default: bool,
}
