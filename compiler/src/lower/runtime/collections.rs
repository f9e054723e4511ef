//! Lists and maps (layouts in `guest_abi::layout`). Both grow by doubling; a map keeps its
//! keys and values in insertion order and finds keys by scanning.

use guest_abi::layout::{HEAP_POINTER_ADDR, LIST_CAP, LIST_HEADER_SIZE, LIST_ITEMS, LIST_LEN, MAP_CAP, MAP_HEADER_SIZE, MAP_KEYS, MAP_LEN, MAP_VALUES};
use wasm_encoder::Instruction as I;

use super::{KeyKind, Lowerer, Rt, name};
use crate::ir::ValType;
use crate::lower::{FnBuilder, Local};

fn size_of(k: ValType) -> i32 {
    k.size() as i32
}

fn key_slot(k: KeyKind) -> ValType {
    match k {
        KeyKind::I64 => ValType::I64,
        KeyKind::F64 => ValType::F64,
        KeyKind::I32 | KeyKind::Str => ValType::I32,
    }
}

impl Lowerer<'_> {
    /// `(cap, item_size) -> List`
    pub(super) fn rt_list_new(&mut self) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name("list_new"), vec![ValType::I32; 2], vec![ValType::I32]);
        let (cap, size) = (b.param(0), b.param(1));
        let l = b.local(ValType::I32);
        b.u32(LIST_HEADER_SIZE).call(alloc).set(l);
        b.get(l).get(cap).store32(LIST_CAP);
        b.get(l).get(cap).i32(1).get(cap).select().get(size).i32_mul().call(alloc).store32(LIST_ITEMS);
        b.get(l);
        b
    }

    /// `(list, item_size)`: room for one more item. When the items are the heap's last
    /// allocation (a list built in a loop), the bump allocator extends them in place instead of
    /// copying, which also leaves no dead copy behind.
    pub(super) fn rt_list_reserve(&mut self) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name("list_reserve"), vec![ValType::I32; 2], vec![]);
        let (l, size) = (b.param(0), b.param(1));
        let (cap, items, old_end) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(l).load32(LIST_LEN).get(l).load32(LIST_CAP).i32_lt_u();
        b.if_(None);
        b.ret();
        b.end();
        b.get(l).load32(LIST_CAP).i32(1).w(I::I32Shl).tee(cap).i32(4).get(cap).i32(4).i32_gt_u().select().set(cap);
        b.get(l).load32(LIST_ITEMS).get(l).load32(LIST_CAP).get(size).i32_mul().i32_add().tee(old_end);
        b.u32(HEAP_POINTER_ADDR).load32(0).i32_eq();
        b.if_(None);
        // The heap ends where the items end, so the next allocation starts there when the end
        // is 8-aligned; otherwise the rounded-up gap is wasted and the items are copied below.
        b.get(cap).get(l).load32(LIST_CAP).i32_sub().get(size).i32_mul().call(alloc).get(old_end).i32_eq();
        b.if_(None);
        b.get(l).get(cap).store32(LIST_CAP);
        b.ret();
        b.end();
        b.end();
        b.get(cap).get(size).i32_mul().call(alloc).tee(items);
        b.get(l).load32(LIST_ITEMS).get(l).load32(LIST_LEN).get(size).i32_mul().memcpy();
        b.get(l).get(items).store32(LIST_ITEMS);
        b.get(l).get(cap).store32(LIST_CAP);
        b
    }

    pub(super) fn rt_list_push(&mut self, k: ValType) -> FnBuilder {
        let reserve = self.rt(Rt::ListReserve);
        let mut b = FnBuilder::new(name(&format!("list_push_{k:?}")), vec![ValType::I32, k], vec![]);
        let (l, v) = (b.param(0), b.param(1));
        b.get(l).i32(size_of(k)).call(reserve);
        b.get(l).load32(LIST_ITEMS).get(l).load32(LIST_LEN).i32(size_of(k)).i32_mul().i32_add().get(v).store_slot(k, 0);
        b.get(l).get(l).load32(LIST_LEN).i32(1).i32_add().store32(LIST_LEN);
        b
    }

    /// `(cap, key_size, value_size) -> Map`
    pub(super) fn rt_map_new(&mut self) -> FnBuilder {
        let alloc = self.rt(Rt::Alloc);
        let mut b = FnBuilder::new(name("map_new"), vec![ValType::I32; 3], vec![ValType::I32]);
        let (cap, ks, vs) = (b.param(0), b.param(1), b.param(2));
        let m = b.local(ValType::I32);
        b.u32(MAP_HEADER_SIZE).call(alloc).set(m);
        b.get(cap).i32(4).get(cap).i32(4).i32_gt_u().select().set(cap);
        b.get(m).get(cap).store32(MAP_CAP);
        b.get(m).get(cap).get(ks).i32_mul().call(alloc).store32(MAP_KEYS);
        b.get(m).get(cap).get(vs).i32_mul().call(alloc).store32(MAP_VALUES);
        b.get(m);
        b
    }

    /// Pushes whether the key at `[addr]` equals `key`.
    fn key_eq(&mut self, b: &mut FnBuilder, k: KeyKind, addr: Local, key: Local) {
        match k {
            KeyKind::I64 => {
                b.get(addr).load64(0).get(key).i64_eq();
            }
            KeyKind::F64 => {
                b.get(addr).loadf64(0).get(key).w(I::F64Eq);
            }
            KeyKind::I32 => {
                b.get(addr).load32(0).get(key).i32_eq();
            }
            KeyKind::Str => {
                let eq = self.rt(Rt::StrEq);
                b.get(addr).load32(0).get(key).call(eq);
            }
        }
    }

    /// `(map, key) -> index or -1`
    pub(super) fn rt_map_find(&mut self, k: KeyKind) -> FnBuilder {
        let kt = key_slot(k);
        let mut b = FnBuilder::new(name(&format!("map_find_{k:?}")), vec![ValType::I32, kt], vec![ValType::I32]);
        let (m, key) = (b.param(0), b.param(1));
        let (i, n, addr) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(m).load32(MAP_LEN).set(n);
        b.get(m).load32(MAP_KEYS).set(addr);
        let done = b.block(None);
        let lp = b.loop_(None);
        b.get(i).get(n).i32_ge_u().br_if(done);
        self.key_eq(&mut b, k, addr, key);
        b.if_(None);
        b.get(i).ret();
        b.end();
        b.inc(i, 1);
        b.get(addr).i32(size_of(kt)).i32_add().set(addr);
        b.br(lp);
        b.end();
        b.end();
        b.i32(-1);
        b
    }

    /// `(map, key, value)`: replaces the value of an existing key, else appends.
    pub(super) fn rt_map_insert(&mut self, k: KeyKind, v: ValType) -> FnBuilder {
        let find = self.rt(Rt::MapFind(k));
        let alloc = self.rt(Rt::Alloc);
        let kt = key_slot(k);
        let mut b = FnBuilder::new(name(&format!("map_insert_{k:?}_{v:?}")), vec![ValType::I32, kt, v], vec![]);
        let (m, key, value) = (b.param(0), b.param(1), b.param(2));
        let (i, cap, keys, values) = (b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32), b.local(ValType::I32));
        b.get(m).get(key).call(find).tee(i).i32(0).w(I::I32GeS);
        b.if_(None);
        b.get(m).load32(MAP_VALUES).get(i).i32(size_of(v)).i32_mul().i32_add().get(value).store_slot(v, 0);
        b.ret();
        b.end();
        b.get(m).load32(MAP_LEN).get(m).load32(MAP_CAP).i32_ge_u();
        b.if_(None);
        {
            b.get(m).load32(MAP_CAP).i32(1).w(I::I32Shl).i32(4).get(m).load32(MAP_CAP).i32(1).w(I::I32Shl).i32(4).i32_gt_u().select().set(cap);
            b.get(cap).i32(size_of(kt)).i32_mul().call(alloc).tee(keys);
            b.get(m).load32(MAP_KEYS).get(m).load32(MAP_LEN).i32(size_of(kt)).i32_mul().memcpy();
            b.get(cap).i32(size_of(v)).i32_mul().call(alloc).tee(values);
            b.get(m).load32(MAP_VALUES).get(m).load32(MAP_LEN).i32(size_of(v)).i32_mul().memcpy();
            b.get(m).get(keys).store32(MAP_KEYS);
            b.get(m).get(values).store32(MAP_VALUES);
            b.get(m).get(cap).store32(MAP_CAP);
        }
        b.end();
        b.get(m).load32(MAP_LEN).set(i);
        b.get(m).load32(MAP_KEYS).get(i).i32(size_of(kt)).i32_mul().i32_add().get(key).store_slot(kt, 0);
        b.get(m).load32(MAP_VALUES).get(i).i32(size_of(v)).i32_mul().i32_add().get(value).store_slot(v, 0);
        b.get(m).get(i).i32(1).i32_add().store32(MAP_LEN);
        b
    }
}
