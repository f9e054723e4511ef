//! `Any`: a box holding a value with the tag of its type (`guest_abi::layout::ANY_*`). The
//! tags index the module's `any` table, which starts with the JSON types (so the host can
//! build an `Any` from any JSON value) and grows with every type the program boxes. What an
//! `Any` does with its value (print it, compare it, name its type) is a dispatch over that
//! table, generated once lowering is over and the table is complete.

use guest_abi::layout::{ANY_PAYLOAD, ANY_SIZE, ANY_TAG};
use wasm_encoder::Instruction as I;

use super::{FnBuilder, FnState, Local, Lowerer, Rt, boxed, slot};
use crate::ir::{FuncId, ValType};
use crate::types::Type;

/// The dispatch functions, reserved on first use and defined by `finish_any`.
#[derive(Clone, Copy, Debug)]
pub struct AnyDispatch {
    /// `(sb, any)`: appends the value as `print` shows it.
    display_top: FuncId,
    /// `(sb, any)`: appends the value as it shows inside a collection.
    display_inline: FuncId,
    /// `(a, b) -> i32`: same type and equal values.
    eq: FuncId,
    /// `(any) -> Str`: the name of the value's type.
    type_name: FuncId,
}

/// The types of a JSON value, as Fitz types, in `guest_abi::types::any_json_types` order.
fn json_types() -> Vec<Type> {
    vec![Type::Null, Type::Bool, Type::Int, Type::Float, Type::Str, Type::list(Type::Any), Type::map(Type::Str, Type::Any)]
}

impl Lowerer<'_> {
    /// The tag of `ty` in the module's `any` table, adding it if new.
    pub fn any_tag(&mut self, ty: &Type) -> u32 {
        if self.any_types.is_empty() {
            self.any_types = json_types();
        }
        match self.any_types.iter().position(|t| t == ty) {
            Some(i) => i as u32,
            None => {
                self.any_types.push(ty.clone());
                self.any_types.len() as u32 - 1
            }
        }
    }

    fn any_dispatch(&mut self) -> AnyDispatch {
        if let Some(d) = self.any_dispatch {
            return d;
        }
        if self.any_types.is_empty() {
            self.any_types = json_types();
        }
        let d = AnyDispatch { display_top: self.reserve(), display_inline: self.reserve(), eq: self.reserve(), type_name: self.reserve() };
        self.any_dispatch = Some(d);
        d
    }

    /// The value on the stack (of type `ty`) boxed as an `Any`.
    pub fn emit_to_any(&mut self, f: &mut FnState, ty: &Type) {
        let tag = self.any_tag(ty);
        let alloc = self.rt(Rt::Alloc);
        let (v, p) = (f.temp(slot(ty)), f.temp(ValType::I32));
        f.b.set(v);
        f.b.u32(ANY_SIZE).call(alloc).set(p);
        f.b.get(p).u32(tag).store32(ANY_TAG);
        f.b.get(p).get(v).store_slot(slot(ty), ANY_PAYLOAD);
        f.b.get(p);
    }

    /// The `Any` on the stack as a `ty`, or a runtime error naming what it holds. An `Int`
    /// is taken as a `Float` where one is wanted (JSON does not tell them apart), and `null`
    /// as a nullable type's `null`.
    pub fn emit_from_any(&mut self, f: &mut FnState, ty: &Type, span: crate::span::Span) {
        let d = self.any_dispatch();
        let a = f.temp(ValType::I32);
        f.b.set(a);
        let k = slot(ty);
        let done = f.b.block(Some(k));
        let case = |l: &mut Self, f: &mut FnState, tag_of: &Type, load: &dyn Fn(&mut FnBuilder)| {
            let tag = l.any_tag(tag_of);
            f.b.get(a).load32(ANY_TAG).u32(tag).i32_eq();
            f.b.if_(None);
            load(&mut f.b);
            f.b.br(done);
            f.b.end();
        };
        match ty {
            Type::Nullable(inner) => {
                case(self, f, &Type::Null, &|b| {
                    b.i32(0);
                });
                let (inner, is_boxed) = ((**inner).clone(), boxed(inner));
                let bx = is_boxed.then(|| self.rt(Rt::BoxNew(slot(&inner))));
                case(self, f, &inner, &|b| {
                    b.get(a).load_slot(slot(&inner), ANY_PAYLOAD);
                    if let Some(bx) = bx {
                        b.call(bx);
                    }
                });
            }
            _ => {
                case(self, f, ty, &|b| {
                    b.get(a).load_slot(k, ANY_PAYLOAD);
                });
                if *ty == Type::Float {
                    case(self, f, &Type::Int, &|b| {
                        b.get(a).load64(ANY_PAYLOAD).w(I::F64ConvertI64S);
                    });
                }
            }
        }
        let (line, col) = self.line_col(span);
        let label = self.type_label_of(ty);
        let msg = self.string(&format!("expected {label} from an `Any`, which holds"));
        let fail = self.rt(Rt::Fail);
        f.b.data(msg).i32(line).i32(col).get(a).call(d.type_name).call(fail).unreachable();
        f.b.end();
    }

    pub fn emit_any_display(&mut self, b: &mut FnBuilder, sb: Local, v: Local, top: bool) {
        let d = self.any_dispatch();
        b.get(sb).get(v).call(if top { d.display_top } else { d.display_inline });
    }

    pub fn emit_any_eq(&mut self, b: &mut FnBuilder, x: Local, y: Local) {
        let d = self.any_dispatch();
        b.get(x).get(y).call(d.eq);
    }

    /// `x.type_name()` of an `Any` on the stack.
    pub fn emit_any_type_name(&mut self, f: &mut FnState) {
        let d = self.any_dispatch();
        f.b.call(d.type_name);
    }

    fn type_label_of(&self, ty: &Type) -> String {
        let names: Vec<String> = self.program.records.iter().map(|r| r.name.clone()).collect();
        format!("`{}`", crate::types::TypeDisplay::new(ty, &names))
    }

    /// Defines the dispatch functions over the now complete table (nothing is boxed while
    /// they are built: displaying and comparing never box).
    pub fn finish_any(&mut self) {
        let Some(d) = self.any_dispatch else { return };
        let types = self.any_types.clone();
        for (id, top) in [(d.display_top, true), (d.display_inline, false)] {
            let mut b = FnBuilder::new(format!("any.display{}", if top { "_top" } else { "" }), vec![ValType::I32, ValType::I32], vec![]);
            let (sb, a) = (b.param(0), b.param(1));
            for (tag, ty) in types.iter().enumerate() {
                b.get(a).load32(ANY_TAG).u32(tag as u32).i32_eq();
                b.if_(None);
                let v = b.local(slot(ty));
                b.get(a).load_slot(slot(ty), ANY_PAYLOAD).set(v);
                self.emit_display(&mut b, sb, v, ty, top);
                b.ret();
                b.end();
            }
            self.define(id, b);
        }
        let mut b = FnBuilder::new("any.eq".to_string(), vec![ValType::I32, ValType::I32], vec![ValType::I32]);
        let (x, y) = (b.param(0), b.param(1));
        b.get(x).load32(ANY_TAG).get(y).load32(ANY_TAG).i32_ne();
        b.if_(None);
        b.i32(0).ret();
        b.end();
        for (tag, ty) in types.iter().enumerate() {
            b.get(x).load32(ANY_TAG).u32(tag as u32).i32_eq();
            b.if_(None);
            let (vx, vy) = (b.local(slot(ty)), b.local(slot(ty)));
            b.get(x).load_slot(slot(ty), ANY_PAYLOAD).set(vx);
            b.get(y).load_slot(slot(ty), ANY_PAYLOAD).set(vy);
            self.emit_eq(&mut b, vx, vy, ty);
            b.ret();
            b.end();
        }
        b.i32(0);
        self.define(d.eq, b);
        let mut b = FnBuilder::new("any.type_name".to_string(), vec![ValType::I32], vec![ValType::I32]);
        let a = b.param(0);
        for (tag, ty) in types.iter().enumerate() {
            let label = self.type_label_of(ty);
            let name = self.string(label.trim_matches('`'));
            b.get(a).load32(ANY_TAG).u32(tag as u32).i32_eq();
            b.if_(None);
            b.data(name).ret();
            b.end();
        }
        let unknown = self.string("an unknown type");
        b.data(unknown);
        self.define(d.type_name, b);
    }
}
