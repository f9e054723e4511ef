//! Reading and writing values of any manifest type in a byte slice that stands for a module's
//! memory, so the host can marshal without knowing the compiler. Reading never trusts the
//! memory: every pointer and length is bounds-checked and the total work is capped, so a hostile
//! module can only produce an error.

use crate::layout::*;
use crate::types::{RecordType, ValueType};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `Str`, `Uuid` and `Secret`.
    Str(String),
    Bytes(Vec<u8>),
    /// Microseconds since the Unix epoch.
    DateTime(i64),
    /// Days since 1970-01-01.
    Date(i64),
    List(Vec<Value>),
    Map(Vec<(Value, Value)>),
    /// Field values in declaration order.
    Record(Vec<Value>),
    Ok(Box<Value>),
    Err(Box<Value>),
    /// An `Any`, with the type of what it holds.
    Any {
        ty: ValueType,
        value: Box<Value>,
    },
}

/// The type tables values are read and written with: the records, and the types `Any` values
/// hold (by tag).
#[derive(Clone, Copy, Debug, Default)]
pub struct Types<'a> {
    pub records: &'a [RecordType],
    pub any: &'a [ValueType],
}

impl<'a> Types<'a> {
    /// Tables with records and no `Any` types.
    pub fn records(records: &'a [RecordType]) -> Types<'a> {
        Types { records, any: &[] }
    }
}

/// A value as passed in one wasm parameter or result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slot {
    I32(u32),
    I64(i64),
    F64(f64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AbiError {
    /// A pointer or length points outside memory.
    OutOfBounds {
        addr: u64,
    },
    /// A slot of the wrong wasm type for the value type.
    SlotKind,
    InvalidUtf8,
    UnknownRecord(u32),
    BadTag(u32),
    /// The value does not have the shape its type says.
    Shape(&'static str),
    /// Deeper or larger than the limits allow.
    TooLarge,
}

impl std::fmt::Display for AbiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AbiError::OutOfBounds { addr } => write!(f, "address {addr} is outside the module's memory"),
            AbiError::SlotKind => write!(f, "value passed as the wrong wasm type"),
            AbiError::InvalidUtf8 => write!(f, "string is not valid UTF-8"),
            AbiError::UnknownRecord(id) => write!(f, "unknown record type {id}"),
            AbiError::BadTag(t) => write!(f, "invalid Result tag {t}"),
            AbiError::Shape(what) => write!(f, "value does not match its type: {what}"),
            AbiError::TooLarge => write!(f, "value exceeds the size limits"),
        }
    }
}

impl std::error::Error for AbiError {}

/// Limits on what one read may build: nesting depth, and the host memory the resulting
/// `Value` takes (every node at `VALUE_BYTES`, plus string bytes). A module can point many
/// list items at one string, so what a read builds is bounded by this, not by the module's
/// memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: u32,
    pub max_bytes: u64,
}

/// What one node of a `Value` costs the host.
pub const VALUE_BYTES: u64 = std::mem::size_of::<Value>() as u64;

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_bytes: 32 << 20 }
    }
}

impl Limits {
    /// The default depth, with `max_bytes` of host memory.
    pub fn bytes(max_bytes: usize) -> Limits {
        Limits { max_bytes: max_bytes as u64, ..Limits::default() }
    }
}

impl Value {
    /// About what this value takes in host memory, counted as a read charges it.
    pub fn host_bytes(&self) -> u64 {
        VALUE_BYTES
            + match self {
                Value::Str(s) => s.len() as u64,
                Value::List(items) | Value::Record(items) => items.iter().map(Value::host_bytes).sum(),
                Value::Map(entries) => entries.iter().map(|(k, v)| k.host_bytes() + v.host_bytes()).sum(),
                Value::Ok(v) | Value::Err(v) | Value::Any { value: v, .. } => v.host_bytes(),
                _ => 0,
            }
    }
}

struct Reader<'m> {
    mem: &'m [u8],
    types: Types<'m>,
    work: u64,
    limits: Limits,
}

impl<'m> Reader<'m> {
    fn bytes(&self, addr: u32, len: u32) -> Result<&'m [u8], AbiError> {
        let start = addr as usize;
        let end = start.checked_add(len as usize).ok_or(AbiError::OutOfBounds { addr: u64::from(addr) })?;
        self.mem.get(start..end).ok_or(AbiError::OutOfBounds { addr: end as u64 })
    }

    fn u32(&self, addr: u32) -> Result<u32, AbiError> {
        let b = self.bytes(addr, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn charge(&mut self, n: u64) -> Result<(), AbiError> {
        self.work += n;
        if self.work > self.limits.max_bytes { Err(AbiError::TooLarge) } else { Ok(()) }
    }

    /// The `Str` at `p`, borrowed, its bytes charged.
    fn str(&mut self, p: u32) -> Result<&'m str, AbiError> {
        std::str::from_utf8(self.byte_string(p)?).map_err(|_| AbiError::InvalidUtf8)
    }

    /// The `Bytes` (or a `Str`'s bytes) at `p`, borrowed, charged.
    fn byte_string(&mut self, p: u32) -> Result<&'m [u8], AbiError> {
        if p == 0 {
            return Err(AbiError::Shape("null string"));
        }
        let len = self.u32(add(p, STR_LEN)?)?;
        self.charge(u64::from(len))?;
        self.bytes(add(p, STR_BYTES)?, len)
    }

    fn slot_at(&self, addr: u32, kind: SlotKind) -> Result<Slot, AbiError> {
        let b = self.bytes(addr, kind.size())?;
        Ok(match kind {
            SlotKind::I32 => Slot::I32(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            SlotKind::I64 => Slot::I64(i64::from_le_bytes(b.try_into().map_err(|_| AbiError::SlotKind)?)),
            SlotKind::F64 => Slot::F64(f64::from_le_bytes(b.try_into().map_err(|_| AbiError::SlotKind)?)),
        })
    }

    fn read(&mut self, ty: &ValueType, slot: Slot, depth: u32) -> Result<Value, AbiError> {
        if depth > self.limits.max_depth {
            return Err(AbiError::TooLarge);
        }
        self.charge(VALUE_BYTES)?;
        let ptr = |s: Slot| match s {
            Slot::I32(p) => Ok(p),
            _ => Err(AbiError::SlotKind),
        };
        Ok(match ty {
            ValueType::Int => match slot {
                Slot::I64(v) => Value::Int(v),
                _ => return Err(AbiError::SlotKind),
            },
            ValueType::DateTime => match slot {
                Slot::I64(v) => Value::DateTime(v),
                _ => return Err(AbiError::SlotKind),
            },
            ValueType::Date => match slot {
                Slot::I64(v) => Value::Date(v),
                _ => return Err(AbiError::SlotKind),
            },
            ValueType::Float => match slot {
                Slot::F64(v) => Value::Float(v),
                _ => return Err(AbiError::SlotKind),
            },
            ValueType::Bool => match ptr(slot)? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return Err(AbiError::Shape("Bool other than 0 or 1")),
            },
            ValueType::Null => Value::Null,
            ValueType::Str | ValueType::Uuid | ValueType::Secret => Value::Str(self.str(ptr(slot)?)?.to_string()),
            ValueType::Bytes => Value::Bytes(self.byte_string(ptr(slot)?)?.to_vec()),
            ValueType::List { item } => {
                let p = ptr(slot)?;
                if p == 0 {
                    return Err(AbiError::Shape("null list"));
                }
                let len = self.u32(add(p, LIST_LEN)?)?;
                let items = self.u32(add(p, LIST_ITEMS)?)?;
                let kind = slot_kind(item);
                self.bytes(items, len.checked_mul(kind.size()).ok_or(AbiError::TooLarge)?)?;
                let mut out = Vec::with_capacity(len.min(1 << 16) as usize);
                for i in 0..len {
                    let s = self.slot_at(items + i * kind.size(), kind)?;
                    out.push(self.read(item, s, depth + 1)?);
                }
                Value::List(out)
            }
            ValueType::Map { key, value } => {
                let p = ptr(slot)?;
                if p == 0 {
                    return Err(AbiError::Shape("null map"));
                }
                let len = self.u32(add(p, MAP_LEN)?)?;
                let keys = self.u32(add(p, MAP_KEYS)?)?;
                let values = self.u32(add(p, MAP_VALUES)?)?;
                let (kk, vk) = (slot_kind(key), slot_kind(value));
                self.bytes(keys, len.checked_mul(kk.size()).ok_or(AbiError::TooLarge)?)?;
                self.bytes(values, len.checked_mul(vk.size()).ok_or(AbiError::TooLarge)?)?;
                let mut out = Vec::with_capacity(len.min(1 << 16) as usize);
                for i in 0..len {
                    let ks = self.slot_at(keys + i * kk.size(), kk)?;
                    let vs = self.slot_at(values + i * vk.size(), vk)?;
                    out.push((self.read(key, ks, depth + 1)?, self.read(value, vs, depth + 1)?));
                }
                Value::Map(out)
            }
            ValueType::Nullable { inner } => {
                let p = ptr(slot)?;
                if p == 0 {
                    Value::Null
                } else if nullable_is_boxed(inner) {
                    let s = self.slot_at(p, slot_kind(inner))?;
                    self.read(inner, s, depth + 1)?
                } else {
                    self.read(inner, slot, depth + 1)?
                }
            }
            ValueType::Result { ok, err } => {
                let p = ptr(slot)?;
                if p == 0 {
                    return Err(AbiError::Shape("null result"));
                }
                let tag = self.u32(add(p, RESULT_TAG)?)?;
                let payload_ty = match tag {
                    RESULT_OK => ok,
                    RESULT_ERR => err,
                    other => return Err(AbiError::BadTag(other)),
                };
                let s = self.slot_at(add(p, RESULT_PAYLOAD)?, slot_kind(payload_ty))?;
                let v = Box::new(self.read(payload_ty, s, depth + 1)?);
                if tag == RESULT_OK { Value::Ok(v) } else { Value::Err(v) }
            }
            ValueType::Record { id } => {
                let p = ptr(slot)?;
                if p == 0 {
                    return Err(AbiError::Shape("null record"));
                }
                let record = self.types.records.get(*id as usize).ok_or(AbiError::UnknownRecord(*id))?;
                let mut offsets = FieldOffsets::default();
                let mut out = Vec::with_capacity(record.fields.len());
                for f in &record.fields {
                    let off = offsets.next_for(&f.ty);
                    let s = self.slot_at(p.checked_add(off).ok_or(AbiError::OutOfBounds { addr: u64::from(p) + u64::from(off) })?, slot_kind(&f.ty))?;
                    out.push(self.read(&f.ty, s, depth + 1)?);
                }
                Value::Record(out)
            }
            ValueType::Any => {
                let p = ptr(slot)?;
                if p == 0 {
                    return Err(AbiError::Shape("null Any"));
                }
                let tag = self.u32(add(p, ANY_TAG)?)?;
                let ty = self.types.any.get(tag as usize).ok_or(AbiError::BadTag(tag))?;
                if *ty == ValueType::Any {
                    return Err(AbiError::Shape("an Any holding an Any"));
                }
                let s = self.slot_at(add(p, ANY_PAYLOAD)?, slot_kind(ty))?;
                Value::Any { ty: ty.clone(), value: Box::new(self.read(ty, s, depth + 1)?) }
            }
        })
    }
}

/// `p + off`, or an error where a hostile pointer would wrap around.
fn add(p: u32, off: u32) -> Result<u32, AbiError> {
    p.checked_add(off).ok_or(AbiError::OutOfBounds { addr: u64::from(p) + u64::from(off) })
}

/// Reads the value of type `ty` passed in `slot`, following pointers into `mem`.
pub fn read_value(mem: &[u8], types: Types<'_>, ty: &ValueType, slot: Slot) -> Result<Value, AbiError> {
    read_value_with(mem, types, ty, slot, Limits::default())
}

pub fn read_value_with(mem: &[u8], types: Types<'_>, ty: &ValueType, slot: Slot, limits: Limits) -> Result<Value, AbiError> {
    Reader { mem, types, work: 0, limits }.read(ty, slot, 0)
}

/// Reads values of `types` laid out like a record's fields at `ptr` (a query's parameters).
pub fn read_fields(mem: &[u8], tables: Types<'_>, types: &[ValueType], ptr: u32, limits: Limits) -> Result<Vec<Value>, AbiError> {
    if types.is_empty() {
        return Ok(Vec::new());
    }
    if ptr == 0 {
        return Err(AbiError::Shape("null record"));
    }
    let mut r = Reader { mem, types: tables, work: 0, limits };
    let mut offsets = FieldOffsets::default();
    let mut out = Vec::with_capacity(types.len());
    for ty in types {
        let off = offsets.next_for(ty);
        let s = r.slot_at(ptr.checked_add(off).ok_or(AbiError::OutOfBounds { addr: u64::from(ptr) + u64::from(off) })?, slot_kind(ty))?;
        out.push(r.read(ty, s, 1)?);
    }
    Ok(out)
}

/// The `Str` at `ptr`, borrowed from `mem` (no copy), checked as `read_value` checks it.
pub fn read_str(mem: &[u8], ptr: u32) -> Result<&str, AbiError> {
    read_str_with(mem, ptr, Limits { max_bytes: u64::MAX, ..Limits::default() })
}

/// The bytes of the `Bytes` (or `Str`) at `ptr`, unchecked as text.
pub fn read_byte_string(mem: &[u8], ptr: u32) -> Result<&[u8], AbiError> {
    Reader { mem, types: Types::default(), work: 0, limits: Limits { max_bytes: u64::MAX, ..Limits::default() } }.byte_string(ptr)
}

/// `read_str`, refusing a string longer than `limits` allow.
pub fn read_str_with(mem: &[u8], ptr: u32, limits: Limits) -> Result<&str, AbiError> {
    Reader { mem, types: Types::default(), work: 0, limits }.str(ptr)
}

/// Reads a slot of the given kind stored at `addr`.
pub fn read_slot(mem: &[u8], addr: u32, kind: SlotKind) -> Result<Slot, AbiError> {
    Reader { mem, types: Types::default(), work: 0, limits: Limits::default() }.slot_at(addr, kind)
}

/// Writes values into a fresh block of memory that will start at `base`: objects are laid out
/// one after another, 8-byte aligned, pointers already relative to `base`.
pub struct Writer<'r> {
    pub bytes: Vec<u8>,
    base: u32,
    types: Types<'r>,
}

impl<'r> Writer<'r> {
    pub fn new(base: u32, types: Types<'r>) -> Self {
        Writer { bytes: Vec::new(), base, types }
    }

    fn alloc(&mut self, size: u32) -> Result<u32, AbiError> {
        let at = align_to(self.bytes.len() as u32, OBJECT_ALIGN);
        let end = at.checked_add(size).ok_or(AbiError::TooLarge)?;
        if self.bytes.is_empty() {
            // Room for a typical host-call result (a token, a row) at once, rather than
            // regrowing object by object; a scalar allocates nothing.
            self.bytes.reserve((end as usize).max(256));
        }
        self.bytes.resize(end as usize, 0);
        self.base.checked_add(at).ok_or(AbiError::TooLarge)
    }

    fn put(&mut self, addr: u32, data: &[u8]) {
        let at = (addr - self.base) as usize;
        self.bytes[at..at + data.len()].copy_from_slice(data);
    }

    fn put_slot(&mut self, addr: u32, slot: Slot) {
        match slot {
            Slot::I32(v) => self.put(addr, &v.to_le_bytes()),
            Slot::I64(v) => self.put(addr, &v.to_le_bytes()),
            Slot::F64(v) => self.put(addr, &v.to_le_bytes()),
        }
    }

    /// A `Str`.
    pub fn str(&mut self, s: &str) -> Result<Slot, AbiError> {
        self.byte_string(s.as_bytes())
    }

    /// A `Bytes` (a `Str`'s layout, any bytes).
    pub fn byte_string(&mut self, s: &[u8]) -> Result<Slot, AbiError> {
        let len = u32::try_from(s.len()).map_err(|_| AbiError::TooLarge)?;
        let p = self.alloc(STR_BYTES.checked_add(len).ok_or(AbiError::TooLarge)?)?;
        self.put(p, &len.to_le_bytes());
        self.put(p + STR_BYTES, s);
        Ok(Slot::I32(p))
    }

    /// A `Map<Str, Str>` from its pairs, in order (headers, JWT claims), without building a
    /// `Value` first.
    pub fn str_map<K: AsRef<str>, V: AsRef<str>>(&mut self, entries: &[(K, V)]) -> Result<Slot, AbiError> {
        let size = SlotKind::I32.size();
        let (header, keys, values) = self.map_header(entries.len(), SlotKind::I32, SlotKind::I32)?;
        for (i, (k, v)) in entries.iter().enumerate() {
            let ks = self.str(k.as_ref())?;
            self.put_slot(keys + i as u32 * size, ks);
            let vs = self.str(v.as_ref())?;
            self.put_slot(values + i as u32 * size, vs);
        }
        Ok(Slot::I32(header))
    }

    /// A map's header and its key and value arrays, for `len` entries; the arrays are filled
    /// by the caller.
    fn map_header(&mut self, len: usize, kk: SlotKind, vk: SlotKind) -> Result<(u32, u32, u32), AbiError> {
        let len = u32::try_from(len).map_err(|_| AbiError::TooLarge)?;
        let header = self.alloc(MAP_HEADER_SIZE)?;
        let keys = self.alloc(len.checked_mul(kk.size()).ok_or(AbiError::TooLarge)?.max(1))?;
        let values = self.alloc(len.checked_mul(vk.size()).ok_or(AbiError::TooLarge)?.max(1))?;
        self.put(header + MAP_LEN, &len.to_le_bytes());
        self.put(header + MAP_CAP, &len.to_le_bytes());
        self.put(header + MAP_KEYS, &keys.to_le_bytes());
        self.put(header + MAP_VALUES, &values.to_le_bytes());
        Ok((header, keys, values))
    }

    /// The `Ok` of a `Result<T, Str>` (what a host call answers) with its payload written by
    /// `payload`: no boxed `Value` and no `Result` type to build.
    pub fn ok(&mut self, payload: impl FnOnce(&mut Self) -> Result<Slot, AbiError>) -> Result<Slot, AbiError> {
        self.result(RESULT_OK, payload)
    }

    /// An 8-byte cell holding the slot `payload` writes: how a host call hands back a value
    /// of any slot kind through its one `i32` result.
    pub fn cell(&mut self, payload: impl FnOnce(&mut Self) -> Result<Slot, AbiError>) -> Result<Slot, AbiError> {
        let p = self.alloc(8)?;
        let s = payload(self)?;
        self.put_slot(p, s);
        Ok(Slot::I32(p))
    }

    /// The `Err(message)` of a `Result<T, Str>`.
    pub fn err(&mut self, message: &str) -> Result<Slot, AbiError> {
        self.result(RESULT_ERR, |w| w.str(message))
    }

    fn result(&mut self, tag: u32, payload: impl FnOnce(&mut Self) -> Result<Slot, AbiError>) -> Result<Slot, AbiError> {
        let p = self.alloc(RESULT_SIZE)?;
        self.put(p + RESULT_TAG, &tag.to_le_bytes());
        let s = payload(self)?;
        self.put_slot(p + RESULT_PAYLOAD, s);
        Ok(Slot::I32(p))
    }

    pub fn write(&mut self, ty: &ValueType, value: &Value) -> Result<Slot, AbiError> {
        let shape = AbiError::Shape;
        Ok(match (ty, value) {
            (ValueType::Int, Value::Int(v)) => Slot::I64(*v),
            (ValueType::DateTime, Value::DateTime(v)) | (ValueType::Date, Value::Date(v)) => Slot::I64(*v),
            (ValueType::Float, Value::Float(v)) => Slot::F64(*v),
            (ValueType::Bool, Value::Bool(b)) => Slot::I32(u32::from(*b)),
            (ValueType::Null, Value::Null) => Slot::I32(0),
            (ValueType::Str | ValueType::Uuid | ValueType::Secret, Value::Str(s)) => self.str(s)?,
            (ValueType::Bytes, Value::Bytes(b)) => self.byte_string(b)?,
            (ValueType::List { item }, Value::List(items)) => {
                let kind = slot_kind(item);
                let len = u32::try_from(items.len()).map_err(|_| AbiError::TooLarge)?;
                let header = self.alloc(LIST_HEADER_SIZE)?;
                let data = self.alloc(len.checked_mul(kind.size()).ok_or(AbiError::TooLarge)?.max(1))?;
                self.put(header + LIST_LEN, &len.to_le_bytes());
                self.put(header + LIST_CAP, &len.to_le_bytes());
                self.put(header + LIST_ITEMS, &data.to_le_bytes());
                for (i, v) in items.iter().enumerate() {
                    let s = self.write(item, v)?;
                    self.put_slot(data + i as u32 * kind.size(), s);
                }
                Slot::I32(header)
            }
            (ValueType::Map { key, value: vty }, Value::Map(entries)) => {
                let (kk, vk) = (slot_kind(key), slot_kind(vty));
                let (header, keys, values) = self.map_header(entries.len(), kk, vk)?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    let ks = self.write(key, k)?;
                    self.put_slot(keys + i as u32 * kk.size(), ks);
                    let vs = self.write(vty, v)?;
                    self.put_slot(values + i as u32 * vk.size(), vs);
                }
                Slot::I32(header)
            }
            (ValueType::Nullable { .. }, Value::Null) => Slot::I32(0),
            (ValueType::Nullable { inner }, v) => {
                let s = self.write(inner, v)?;
                if nullable_is_boxed(inner) {
                    let b = self.alloc(BOX_SIZE)?;
                    self.put_slot(b, s);
                    Slot::I32(b)
                } else {
                    s
                }
            }
            (ValueType::Result { ok, .. }, Value::Ok(v)) => self.result(RESULT_OK, |w| w.write(ok, v))?,
            (ValueType::Result { err, .. }, Value::Err(v)) => self.result(RESULT_ERR, |w| w.write(err, v))?,
            (ValueType::Record { id }, Value::Record(fields)) => {
                let record = self.types.records.get(*id as usize).ok_or(AbiError::UnknownRecord(*id))?;
                if record.fields.len() != fields.len() {
                    return Err(shape("record with the wrong number of fields"));
                }
                let p = self.alloc(record_size(record.fields.iter().map(|f| &f.ty)))?;
                let mut offsets = FieldOffsets::default();
                for (f, v) in record.fields.iter().zip(fields) {
                    let off = offsets.next_for(&f.ty);
                    let s = self.write(&f.ty, v)?;
                    self.put_slot(p + off, s);
                }
                Slot::I32(p)
            }
            (ValueType::Any, Value::Any { ty, value }) => {
                let tag = self.types.any.iter().position(|t| t == ty).ok_or(shape("an Any of a type the module does not hold"))?;
                let p = self.alloc(ANY_SIZE)?;
                self.put(p + ANY_TAG, &(tag as u32).to_le_bytes());
                let s = self.write(ty, value)?;
                self.put_slot(p + ANY_PAYLOAD, s);
                Slot::I32(p)
            }
            _ => return Err(shape("value of another type")),
        })
    }
}

/// Encodes `value` for a block starting at `base`; returns the bytes to copy there and the slot.
pub fn write_value(types: Types<'_>, ty: &ValueType, value: &Value, base: u32) -> Result<(Vec<u8>, Slot), AbiError> {
    let mut w = Writer::new(base, types);
    let slot = w.write(ty, value)?;
    Ok((w.bytes, slot))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::FieldType;

    #[test]
    fn round_trip_nested() {
        let records = vec![RecordType {
            name: "User".into(),
            fields: vec![
                FieldType { name: "id".into(), ty: ValueType::Int, hidden: false, has_default: false },
                FieldType { name: "nick".into(), ty: ValueType::nullable(ValueType::Str), hidden: false, has_default: false },
                FieldType { name: "score".into(), ty: ValueType::nullable(ValueType::Float), hidden: false, has_default: false },
            ],
        }];
        let ty = ValueType::result(ValueType::list(ValueType::Record { id: 0 }), ValueType::Str);
        let v = Value::Ok(Box::new(Value::List(vec![
            Value::Record(vec![Value::Int(1), Value::Str("ada".into()), Value::Null]),
            Value::Record(vec![Value::Int(-2), Value::Null, Value::Float(2.5)]),
        ])));
        let base = 4096;
        let (bytes, slot) = write_value(Types::records(&records), &ty, &v, base).expect("write");
        let mut mem = vec![0u8; base as usize];
        mem.extend_from_slice(&bytes);
        assert_eq!(read_value(&mem, Types::records(&records), &ty, slot).expect("read"), v);
    }

    #[test]
    fn direct_writers_match_values() {
        let pairs = [("host", "x.io"), ("authorization", "Bearer t")];
        let as_value = Value::Map(pairs.iter().map(|(k, v)| (Value::Str(k.to_string()), Value::Str(v.to_string()))).collect());
        let ty = ValueType::map(ValueType::Str, ValueType::Str);
        let base = 64;
        let (expected, _) = write_value(Types::default(), &ty, &as_value, base).expect("value");
        let mut w = Writer::new(base, Types::default());
        let slot = w.str_map(&pairs).expect("direct");
        assert_eq!(w.bytes, expected, "the same bytes as writing the Value");

        let result_ty = ValueType::result(ty.clone(), ValueType::Str);
        for v in [Value::Ok(Box::new(as_value.clone())), Value::Err(Box::new(Value::Str("no".into())))] {
            let (expected, _) = write_value(Types::default(), &result_ty, &v, base).expect("value");
            let mut w = Writer::new(base, Types::default());
            let direct = match &v {
                Value::Ok(_) => w.ok(|w| w.str_map(&pairs)),
                _ => w.err("no"),
            };
            let slot = direct.expect("direct");
            assert_eq!(w.bytes, expected);
            let mut mem = vec![0u8; base as usize];
            mem.extend_from_slice(&w.bytes);
            assert_eq!(read_value(&mem, Types::default(), &result_ty, slot).expect("read"), v);
        }
        let mut mem = vec![0u8; base as usize];
        let mut w = Writer::new(base, Types::default());
        let slot2 = w.str_map(&pairs).expect("direct");
        assert_eq!(slot, slot2);
        mem.extend_from_slice(&w.bytes);
        assert_eq!(read_value(&mem, Types::default(), &ty, slot).expect("read"), as_value);

        let mut w = Writer::new(base, Types::default());
        let Slot::I32(p) = w.str("héllo").expect("str") else { panic!("a pointer") };
        let mut mem = vec![0u8; base as usize];
        mem.extend_from_slice(&w.bytes);
        assert_eq!(read_str(&mem, p), Ok("héllo"));
        assert_eq!(read_str(&mem[..mem.len() - 1], p), Err(AbiError::OutOfBounds { addr: u64::from(p) + 4 + 6 }));
    }

    #[test]
    fn hostile_pointers_are_errors() {
        let mem = vec![0xffu8; 64];
        assert!(read_str(&mem, 60).is_err());
        assert!(read_str(&mem, 0).is_err());
        assert!(read_value(&mem, Types::default(), &ValueType::Str, Slot::I32(60)).is_err());
        assert!(read_value(&mem, Types::default(), &ValueType::list(ValueType::Int), Slot::I32(8)).is_err());
        assert_eq!(read_value(&mem, Types::default(), &ValueType::Int, Slot::I32(8)), Err(AbiError::SlotKind));
    }
}
