//! Runtime helpers: functions every module may need (allocation, strings, numbers, lists,
//! maps, time), written with the same builder as user code and added to a module only when
//! something calls them.

mod case;
mod collections;
mod float;
mod memory;
mod ryu_tables;
mod slices;
mod text;
mod time;

use super::{FnBuilder, Lowerer};
use crate::ir::{FuncId, ValType};

/// How map keys are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    I64,
    F64,
    I32,
    Str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rt {
    Alloc,
    /// `(message: Str, line, col, detail: Str or 0)`: prints `error: file:line:col: message`
    /// to stderr and ends the program.
    Fail,
    WriteFd,
    MemEq,
    StrEq,
    StrCmp,
    StrConcat,
    StrCharCount,
    StrCharAt,
    StrFind,
    StrStartsWith,
    StrEndsWith,
    StrSplit,
    StrReplace,
    StrTrim,
    StrUpper,
    StrLower,
    /// `(ptr) -> code point | length << 24`
    Utf8Decode,
    SbPushChar,
    SbNew,
    SbReserve,
    SbPushBytes,
    SbPushStr,
    SbPushByte,
    SbPushI64,
    SbPushF64,
    SbPushDateTime,
    SbPushDate,
    SbFinish,
    ListNew,
    ListReserve,
    ListPush(ValType),
    MapNew,
    MapFind(KeyKind),
    MapInsert(KeyKind, ValType),
    /// `(tag, payload)` → `Result` object.
    ResultNew(ValType),
    /// `(value)` → box for a nullable scalar.
    BoxNew(ValType),
    /// `(site, payload)` → outcome object.
    OutcomeNew(ValType),
    NowMicros,
    UuidV4,
    ListSlice,
    StrSlice,
    /// `(s) -> List<Str>`, one string per character.
    StrChars,
    /// `(s, part, last: i32) -> i64`: the character index of the first (or last) occurrence,
    /// or -1.
    StrIndexOf,
}

impl Lowerer<'_> {
    /// The runtime helper's function, built (with whatever it needs) on first use.
    pub fn rt(&mut self, which: Rt) -> FuncId {
        if let Some(&id) = self.runtime.get(&which) {
            return id;
        }
        let id = self.reserve();
        self.runtime.insert(which, id);
        let f = match which {
            Rt::Alloc => self.rt_alloc(),
            Rt::Fail => self.rt_fail(),
            Rt::WriteFd => self.rt_write_fd(),
            Rt::MemEq => self.rt_mem_eq(),
            Rt::StrEq => self.rt_str_eq(),
            Rt::StrCmp => self.rt_str_cmp(),
            Rt::StrConcat => self.rt_str_concat(),
            Rt::StrCharCount => self.rt_str_char_count(),
            Rt::StrCharAt => self.rt_str_char_at(),
            Rt::StrFind => self.rt_str_find(),
            Rt::StrStartsWith => self.rt_str_starts_with(),
            Rt::StrEndsWith => self.rt_str_ends_with(),
            Rt::StrSplit => self.rt_str_split(),
            Rt::StrReplace => self.rt_str_replace(),
            Rt::StrTrim => self.rt_str_trim(),
            Rt::StrUpper => self.rt_str_case(true),
            Rt::StrLower => self.rt_str_case(false),
            Rt::Utf8Decode => self.rt_utf8_decode(),
            Rt::SbPushChar => self.rt_sb_push_char(),
            Rt::SbNew => self.rt_sb_new(),
            Rt::SbReserve => self.rt_sb_reserve(),
            Rt::SbPushBytes => self.rt_sb_push_bytes(),
            Rt::SbPushStr => self.rt_sb_push_str(),
            Rt::SbPushByte => self.rt_sb_push_byte(),
            Rt::SbPushI64 => self.rt_sb_push_i64(),
            Rt::SbPushF64 => self.rt_sb_push_f64(),
            Rt::SbPushDateTime => self.rt_sb_push_datetime(),
            Rt::SbPushDate => self.rt_sb_push_date(),
            Rt::SbFinish => self.rt_sb_finish(),
            Rt::ListNew => self.rt_list_new(),
            Rt::ListReserve => self.rt_list_reserve(),
            Rt::ListPush(k) => self.rt_list_push(k),
            Rt::MapNew => self.rt_map_new(),
            Rt::MapFind(k) => self.rt_map_find(k),
            Rt::MapInsert(k, v) => self.rt_map_insert(k, v),
            Rt::ResultNew(k) => self.rt_result_new(k),
            Rt::BoxNew(k) => self.rt_box_new(k),
            Rt::OutcomeNew(k) => self.rt_outcome_new(k),
            Rt::NowMicros => self.rt_now_micros(),
            Rt::UuidV4 => self.rt_uuid_v4(),
            Rt::ListSlice => self.rt_list_slice(),
            Rt::StrSlice => self.rt_str_slice(),
            Rt::StrChars => self.rt_str_chars(),
            Rt::StrIndexOf => self.rt_str_index_of(),
        };
        self.define(id, f);
        id
    }

    /// Emits a call to `fail` with a fixed message at a source position.
    pub fn emit_fail(&mut self, b: &mut FnBuilder, message: &str, span: crate::span::Span) {
        let (line, col) = self.line_col(span);
        let msg = self.string(message);
        let fail = self.rt(Rt::Fail);
        b.data(msg).i32(line).i32(col).i32(0).call(fail).unreachable();
    }
}

fn name(s: &str) -> String {
    format!("rt.{s}")
}
