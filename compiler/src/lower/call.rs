//! Built-in functions and methods: runtime helpers, host imports, or a few instructions.

use guest_abi::imports::Import;
use guest_abi::layout::{LIST_ITEMS, LIST_LEN, MAP_KEYS, MAP_LEN, MAP_VALUES, RESULT_ERR, RESULT_OK, STR_BYTES, STR_LEN};
use wasm_encoder::Instruction as I;

use super::expr::key_kind;
use super::{FnState, Local, Lowerer, Rt, slot};
use crate::ir::ValType;
use crate::tast::{Builtin, LogLevel, NumOp, TExpr};
use crate::types::Type;

impl Lowerer<'_> {
    /// A WebSocket message, whatever its slot, in an 8-byte block the host reads with the
    /// endpoint's `sends` type; returns the local holding the block.
    fn lower_in_block(&mut self, f: &mut FnState, message: &TExpr) -> Local {
        let k = slot(&message.ty);
        let alloc = self.rt(Rt::Alloc);
        let block = f.temp(ValType::I32);
        f.b.u32(8).call(alloc).set(block);
        f.b.get(block);
        self.lower_expr(f, message);
        f.b.store_slot(k, 0);
        block
    }

    pub fn lower_builtin(&mut self, f: &mut FnState, builtin: Builtin, args: &[TExpr], e: &TExpr) {
        let import = |l: &mut Self, f: &mut FnState, imp: Import| {
            for a in args {
                l.lower_expr(f, a);
            }
            f.b.call_import(imp);
        };
        let rt_call = |l: &mut Self, f: &mut FnState, rt: Rt| {
            for a in args {
                l.lower_expr(f, a);
            }
            let id = l.rt(rt);
            f.b.call(id);
        };
        match builtin {
            Builtin::Print => {
                let sb_new = self.rt(Rt::SbNew);
                let push_byte = self.rt(Rt::SbPushByte);
                let finish = self.rt(Rt::SbFinish);
                let write = self.rt(Rt::WriteFd);
                let sb = f.temp(ValType::I32);
                f.b.call(sb_new).set(sb);
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.b.get(sb).i32(i32::from(b' ')).call(push_byte);
                    }
                    let v = self.lower_to_local(f, a);
                    self.emit_display(&mut f.b, sb, v, &a.ty, true);
                }
                f.b.get(sb).i32(i32::from(b'\n')).call(push_byte);
                f.b.i32(1).get(sb).call(finish).call(write);
                f.b.i32(0);
            }
            Builtin::Len if args[0].ty == Type::Bytes => self.lower_builtin(f, Builtin::BytesLen, args, e),
            Builtin::MwNext => import(self, f, Import::MwNext),
            Builtin::WsBroadcast => {
                let block = self.lower_in_block(f, &args[1]);
                self.lower_expr(f, &args[0]);
                f.b.get(block).call_import(Import::WsBroadcast);
            }
            Builtin::BytesLen => {
                self.lower_expr(f, &args[0]);
                f.b.load32(STR_LEN).w(I::I64ExtendI32U);
            }
            Builtin::Bytes(op) => {
                f.b.i32(op as i32);
                self.lower_expr(f, &args[0]);
                f.b.call_import(Import::Bytes);
            }
            Builtin::Len => match &args[0].ty {
                Type::Str => rt_call(self, f, Rt::StrCharCount),
                Type::Map(..) => {
                    self.lower_expr(f, &args[0]);
                    f.b.load32(MAP_LEN).w(I::I64ExtendI32U);
                }
                _ => {
                    self.lower_expr(f, &args[0]);
                    f.b.load32(LIST_LEN).w(I::I64ExtendI32U);
                }
            },
            Builtin::EnvOr => import(self, f, Import::EnvOr),
            Builtin::Secret => import(self, f, Import::Secret),
            Builtin::Ok | Builtin::Err => {
                let k = slot(&args[0].ty);
                let new = self.rt(Rt::ResultNew(k));
                f.b.u32(if builtin == Builtin::Ok { RESULT_OK } else { RESULT_ERR });
                self.lower_expr(f, &args[0]);
                f.b.call(new);
            }
            Builtin::HashPassword => import(self, f, Import::HashPassword),
            Builtin::HashVerify => import(self, f, Import::HashVerify),
            Builtin::Flag => import(self, f, Import::Flag),
            Builtin::HttpRequestMap => import(self, f, Import::HttpRequestMap),
            Builtin::SmtpSend => import(self, f, Import::SmtpSend),
            Builtin::JwtEncode => import(self, f, Import::JwtEncode),
            Builtin::JwtDecode => import(self, f, Import::JwtDecode),
            Builtin::JwtDecodeJwks => import(self, f, Import::JwtDecodeJwks),
            Builtin::AuthBlacklist => import(self, f, Import::AuthBlacklist),
            Builtin::AuthIsBlacklisted => import(self, f, Import::AuthIsBlacklisted),
            Builtin::AuthCleanupExpired => import(self, f, Import::AuthCleanupExpired),
            Builtin::AuthIssue => import(self, f, Import::AuthIssue),
            Builtin::TxBegin => import(self, f, Import::TxBegin),
            Builtin::TxEnd => import(self, f, Import::TxEnd),
            Builtin::DbRaw { rows } => {
                for a in args {
                    self.lower_expr(f, a);
                }
                f.b.i32(i32::from(rows)).call_import(Import::DbRaw);
            }
            Builtin::WsRecv => import(self, f, Import::WsRecv),
            Builtin::WsClose => import(self, f, Import::WsClose),
            Builtin::WsSend { broadcast } => {
                let block = self.lower_in_block(f, &args[1]);
                self.lower_expr(f, &args[0]);
                f.b.get(block).i32(i32::from(broadcast)).call_import(Import::WsSend);
            }
            Builtin::DbConnect => {
                // The app's own database: its handle, as every handler's `db` (the URL is the
                // operator's to choose, not the app's).
                self.lower_discard(f, &args[0]);
                let new = self.rt(Rt::ResultNew(slot(&Type::DbConn)));
                f.b.u32(RESULT_OK).u32(guest_abi::imports::APP_DB_HANDLE).call(new);
            }
            Builtin::AuthRefresh => import(self, f, Import::AuthRefresh),
            Builtin::AuthRevoke => import(self, f, Import::AuthRevoke),
            Builtin::DateTimeNow => rt_call(self, f, Rt::NowMicros),
            Builtin::UuidV4 => rt_call(self, f, Rt::UuidV4),
            Builtin::Log(level) => self.lower_log(f, level, args),
            Builtin::SecretExpose | Builtin::UuidToStr | Builtin::Reinterpret => self.lower_expr(f, &args[0]),
            Builtin::ParseTime { datetime } => {
                self.lower_expr(f, &args[0]);
                f.b.i32(i32::from(datetime)).call_import(Import::ParseTime);
            }
            Builtin::DateTimeTimestamp => {
                // floor(micros / 10^6)
                let m = self.lower_to_local(f, &args[0]);
                f.b.get(m).i64(1_000_000).w(I::I64DivS);
                f.b.get(m).i64(1_000_000).w(I::I64RemS).i64(0).w(I::I64LtS).w(I::I64ExtendI32U).i64_sub();
            }
            Builtin::StrLen => rt_call(self, f, Rt::StrCharCount),
            Builtin::StrSplit => rt_call(self, f, Rt::StrSplit),
            Builtin::StrContains => {
                for a in args {
                    self.lower_expr(f, a);
                }
                let find = self.rt(Rt::StrFind);
                f.b.i32(0).call(find).i32(0).w(I::I32GeS);
            }
            Builtin::StrStartsWith => rt_call(self, f, Rt::StrStartsWith),
            Builtin::StrEndsWith => rt_call(self, f, Rt::StrEndsWith),
            Builtin::StrTrim => rt_call(self, f, Rt::StrTrim),
            Builtin::StrUpper => rt_call(self, f, Rt::StrUpper),
            Builtin::StrLower => rt_call(self, f, Rt::StrLower),
            Builtin::StrReplace => rt_call(self, f, Rt::StrReplace),
            Builtin::StrIsEmpty => {
                self.lower_expr(f, &args[0]);
                f.b.load32(0).i32_eqz();
            }
            Builtin::ListSlice => {
                let Type::List(item) = &args[0].ty else { unreachable!("checked: a slice of a list") };
                let size = slot(item).size() as i32;
                let slice = self.rt(Rt::ListSlice);
                self.lower_expr(f, &args[0]);
                f.b.i32(size);
                self.lower_expr(f, &args[1]);
                self.lower_expr(f, &args[2]);
                f.b.call(slice);
            }
            Builtin::StrSlice => rt_call(self, f, Rt::StrSlice),
            Builtin::StrChars => rt_call(self, f, Rt::StrChars),
            Builtin::Num(op) => self.lower_num(f, op, args),
            Builtin::StrToFloat => import(self, f, Import::ParseFloat),
            Builtin::Eprint => {
                let (sb_new, push_str, push_byte, finish, write) =
                    (self.rt(Rt::SbNew), self.rt(Rt::SbPushStr), self.rt(Rt::SbPushByte), self.rt(Rt::SbFinish), self.rt(Rt::WriteFd));
                self.lower_discard(f, &args[0]);
                let msg = self.lower_to_local(f, &args[1]);
                let sb = f.temp(ValType::I32);
                f.b.call(sb_new).set(sb);
                f.b.get(sb).get(msg).call(push_str);
                f.b.get(sb).i32(i32::from(b'\n')).call(push_byte);
                f.b.i32(2).get(sb).call(finish).call(write);
                f.b.i32(0);
            }
            Builtin::AnyTypeName => {
                self.lower_expr(f, &args[0]);
                self.emit_any_type_name(f);
            }
            Builtin::Http { method, body } => {
                f.b.i32(i32::from(method));
                self.lower_expr(f, &args[0]);
                let (headers, timeout) = if body { (&args[2], &args[3]) } else { (&args[1], &args[2]) };
                self.lower_expr(f, headers);
                if body {
                    self.lower_expr(f, &args[1]);
                } else {
                    f.b.i32(0);
                }
                self.lower_expr(f, timeout);
                f.b.call_import(Import::HttpRequest);
            }
            Builtin::TestRequest { method, body } => {
                f.b.i32(i32::from(method));
                self.lower_expr(f, &args[0]);
                self.lower_expr(f, &args[if body { 2 } else { 1 }]);
                if body {
                    self.lower_expr(f, &args[1]);
                } else {
                    f.b.i32(0);
                }
                // The user to act as: a record pointer, or 0 (`null`, or no provider).
                let user = &args[if body { 3 } else { 2 }];
                if matches!(user.ty, Type::Null) {
                    f.b.i32(0);
                } else {
                    self.lower_expr(f, user);
                }
                f.b.call_import(Import::TestRequest);
            }
            Builtin::Sleep => {
                self.lower_expr(f, &args[0]);
                f.b.call_import(Import::Sleep).i32(0);
            }
            Builtin::RandSeeded | Builtin::RandFresh => {
                // A generator is a cell holding its 64-bit state.
                let alloc = self.rt(Rt::Alloc);
                let g = f.temp(ValType::I32);
                f.b.i32(8).call(alloc).set(g);
                if builtin == Builtin::RandSeeded {
                    f.b.get(g);
                    self.lower_expr(f, &args[0]);
                    f.b.store64(0);
                } else {
                    f.b.get(g).i32(8).call_import(Import::RandomGet).drop_();
                }
                f.b.get(g);
            }
            Builtin::RandBytes => {
                // A `Bytes` of n, filled by the host's entropy.
                let alloc = self.rt(Rt::Alloc);
                let (n, p) = (f.temp(ValType::I32), f.temp(ValType::I32));
                self.lower_expr(f, &args[0]);
                f.b.w(I::I32WrapI64).set(n);
                f.b.get(n).u32(STR_BYTES).i32_add().call(alloc).set(p);
                f.b.get(p).get(n).store32(STR_LEN);
                f.b.get(p).u32(STR_BYTES).i32_add().get(n).call_import(Import::RandomGet).drop_();
                f.b.get(p);
            }
            Builtin::RandNext => {
                // SplitMix64: the state advances by the golden gamma, the output is it mixed.
                let (g, z) = (self.lower_to_local(f, &args[0]), f.temp(ValType::I64));
                f.b.get(g).get(g).load64(0).i64(0x9E37_79B9_7F4A_7C15_u64 as i64).i64_add().tee(z).store64(0);
                f.b.get(z).get(z).i64(30).w(I::I64ShrU).w(I::I64Xor).i64(0xBF58_476D_1CE4_E5B9_u64 as i64).w(I::I64Mul).set(z);
                f.b.get(z).get(z).i64(27).w(I::I64ShrU).w(I::I64Xor).i64(0x94D0_49BB_1331_11EB_u64 as i64).w(I::I64Mul).set(z);
                f.b.get(z).get(z).i64(31).w(I::I64ShrU).w(I::I64Xor);
            }
            Builtin::IntURem => {
                self.lower_expr(f, &args[0]);
                self.lower_expr(f, &args[1]);
                f.b.w(I::I64RemU);
            }
            Builtin::UnitFloat => {
                self.lower_expr(f, &args[0]);
                f.b.i64(11).w(I::I64ShrU).w(I::F64ConvertI64S).f64(1.0 / (1u64 << 53) as f64).w(I::F64Mul);
            }
            Builtin::FmtWith => {
                f.b.i32(1);
                self.lower_expr(f, &args[0]);
                f.b.w(I::I64ReinterpretF64);
                self.lower_expr(f, &args[1]);
                f.b.call_import(Import::Fmt);
            }
            Builtin::StrIndexOf { last } => {
                let index_of = self.rt(Rt::StrIndexOf);
                self.lower_expr(f, &args[0]);
                self.lower_expr(f, &args[1]);
                f.b.i32(i32::from(last)).call(index_of);
            }
            Builtin::ListTruncate => {
                // Only ever shrinks: `n` at or past the length leaves the list as it is.
                let l = self.lower_to_local(f, &args[0]);
                let n = self.lower_to_local(f, &args[1]);
                f.b.get(n).get(l).load32(LIST_LEN).w(I::I64ExtendI32U).w(I::I64LtU);
                f.b.if_(None);
                f.b.get(l).get(n).w(I::I32WrapI64).store32(LIST_LEN);
                f.b.end();
                f.b.i32(0);
            }
            Builtin::RangeStart | Builtin::RangeEnd => {
                self.lower_expr(f, &args[0]);
                f.b.load64(if builtin == Builtin::RangeStart { 0 } else { 8 });
            }
            Builtin::RangeInclusive => {
                self.lower_expr(f, &args[0]);
                f.b.load32(16);
            }
            Builtin::Fail => {
                let fail = self.rt(Rt::Fail);
                let (line, col) = self.line_col(e.span);
                self.lower_discard(f, &args[0]);
                self.lower_expr(f, &args[1]);
                f.b.i32(line).i32(col).i32(0).call(fail).unreachable();
            }
            Builtin::ListLen => {
                self.lower_expr(f, &args[0]);
                f.b.load32(LIST_LEN).w(I::I64ExtendI32U);
            }
            Builtin::MapLen => {
                self.lower_expr(f, &args[0]);
                f.b.load32(MAP_LEN).w(I::I64ExtendI32U);
            }
            Builtin::ListPush => {
                let push = self.rt(Rt::ListPush(slot(&args[1].ty)));
                self.lower_expr(f, &args[0]);
                self.lower_expr(f, &args[1]);
                f.b.call(push).i32(0);
            }
            Builtin::ListMap | Builtin::ListFilter | Builtin::ListFind | Builtin::ListAny | Builtin::ListAll => {
                self.lower_list_callback(f, builtin, args, e);
            }
            Builtin::ListContains => {
                let Type::List(item) = &args[0].ty else { unreachable!() };
                let item = (**item).clone();
                let l = self.lower_to_local(f, &args[0]);
                let x = self.lower_to_local(f, &args[1]);
                let (i, el) = (f.counter(), f.temp(slot(&item)));
                let found = f.b.block(Some(ValType::I32));
                let lp = f.b.loop_(None);
                f.b.i32(0).get(i).get(l).load32(LIST_LEN).i32_ge_u().br_if(found).drop_();
                self.list_item_addr(f, l, i, slot(&item));
                f.b.load_slot(slot(&item), 0).set(el);
                f.b.i32(1);
                self.emit_eq(&mut f.b, el, x, &item);
                f.b.br_if(found).drop_();
                f.b.inc(i, 1).br(lp);
                f.b.end();
                f.b.unreachable();
                f.b.end();
            }
            Builtin::ListFirst | Builtin::ListLast => {
                let Type::List(item) = &args[0].ty else { unreachable!() };
                let k = slot(item);
                let l = self.lower_to_local(f, &args[0]);
                let ok = self.rt(Rt::ResultNew(k));
                let err = self.rt(Rt::ResultNew(ValType::I32));
                let msg = self.string("lista vacía");
                f.b.get(l).load32(LIST_LEN).i32_eqz();
                f.b.if_(Some(ValType::I32));
                f.b.u32(RESULT_ERR).data(msg).call(err);
                f.b.else_();
                f.b.u32(RESULT_OK).get(l).load32(LIST_ITEMS);
                if builtin == Builtin::ListLast {
                    f.b.get(l).load32(LIST_LEN).i32(1).i32_sub().i32(k.size() as i32).i32_mul().i32_add();
                }
                f.b.load_slot(k, 0).call(ok);
                f.b.end();
            }
            Builtin::ListJoin => {
                let Type::List(item) = &args[0].ty else { unreachable!() };
                let item = (**item).clone();
                let sb_new = self.rt(Rt::SbNew);
                let finish = self.rt(Rt::SbFinish);
                let push_str = self.rt(Rt::SbPushStr);
                let l = self.lower_to_local(f, &args[0]);
                let sep = self.lower_to_local(f, &args[1]);
                let (sb, i, el) = (f.temp(ValType::I32), f.counter(), f.temp(slot(&item)));
                f.b.call(sb_new).set(sb);
                let done = f.b.block(None);
                let lp = f.b.loop_(None);
                f.b.get(i).get(l).load32(LIST_LEN).i32_ge_u().br_if(done);
                f.b.get(i);
                f.b.if_(None);
                f.b.get(sb).get(sep).call(push_str);
                f.b.end();
                self.list_item_addr(f, l, i, slot(&item));
                f.b.load_slot(slot(&item), 0).set(el);
                self.emit_display(&mut f.b, sb, el, &item, true);
                f.b.inc(i, 1).br(lp);
                f.b.end();
                f.b.end();
                f.b.get(sb).call(finish);
            }
            Builtin::MapGet | Builtin::MapHas => {
                let Type::Map(k, v) = &args[0].ty else { unreachable!() };
                let (k, v) = ((**k).clone(), (**v).clone());
                let find = self.rt(Rt::MapFind(key_kind(&k)));
                let m = self.lower_to_local(f, &args[0]);
                let key = self.lower_to_local(f, &args[1]);
                let at = f.temp(ValType::I32);
                f.b.get(m).get(key).call(find).set(at);
                if builtin == Builtin::MapHas {
                    f.b.get(at).i32(0).w(I::I32GeS);
                    return;
                }
                let ok = self.rt(Rt::ResultNew(slot(&v)));
                let err = self.rt(Rt::ResultNew(ValType::I32));
                f.b.get(at).i32(0).w(I::I32LtS);
                f.b.if_(Some(ValType::I32));
                {
                    // Upstream's text, as `find`'s "no encontrado" is (its chapter 28 shows the
                    // key quoted, as a value inside a collection prints).
                    let prefix = self.string("clave no encontrada: ");
                    let concat = self.rt(Rt::StrConcat);
                    let shown = self.display_to_str(f, key, &k, false);
                    f.b.u32(RESULT_ERR).data(prefix).get(shown).call(concat).call(err);
                }
                f.b.else_();
                f.b.u32(RESULT_OK).get(m).load32(MAP_VALUES).get(at).i32(slot(&v).size() as i32).i32_mul().i32_add();
                f.b.load_slot(slot(&v), 0).call(ok);
                f.b.end();
            }
            Builtin::MapKeys | Builtin::MapValues => {
                let Type::Map(k, v) = &args[0].ty else { unreachable!() };
                let item = if builtin == Builtin::MapKeys { slot(k) } else { slot(v) };
                let field = if builtin == Builtin::MapKeys { MAP_KEYS } else { MAP_VALUES };
                let list_new = self.rt(Rt::ListNew);
                let m = self.lower_to_local(f, &args[0]);
                let l = f.temp(ValType::I32);
                f.b.get(m).load32(MAP_LEN).i32(item.size() as i32).call(list_new).set(l);
                f.b.get(l).load32(LIST_ITEMS).get(m).load32(field).get(m).load32(MAP_LEN).i32(item.size() as i32).i32_mul().memcpy();
                f.b.get(l).get(m).load32(MAP_LEN).store32(LIST_LEN);
                f.b.get(l);
            }
        }
    }

    /// `map`, `filter`, `find`, `any`, `all`: one loop calling the closure on each item.
    fn lower_list_callback(&mut self, f: &mut FnState, builtin: Builtin, args: &[TExpr], e: &TExpr) {
        let Type::List(item) = &args[0].ty else { unreachable!() };
        let item = (**item).clone();
        let k = slot(&item);
        let l = self.lower_to_local(f, &args[0]);
        let c = self.lower_to_local(f, &args[1]);
        let fn_ty = args[1].ty.clone();
        let (i, el) = (f.counter(), f.temp(k));
        let list_new = self.rt(Rt::ListNew);
        let out = f.temp(ValType::I32);
        let out_kind = match (&builtin, &e.ty) {
            (Builtin::ListMap, Type::List(o)) => slot(o),
            _ => k,
        };
        if matches!(builtin, Builtin::ListMap | Builtin::ListFilter) {
            f.b.get(l).load32(LIST_LEN).i32(out_kind.size() as i32).call(list_new).set(out);
        }
        let result = match builtin {
            Builtin::ListAny | Builtin::ListAll | Builtin::ListFind => Some(ValType::I32),
            _ => None,
        };
        let done = f.b.block(result);
        let exhausted = f.b.block(None);
        let lp = f.b.loop_(None);
        f.b.get(i).get(l).load32(LIST_LEN).i32_ge_u().br_if(exhausted);
        self.list_item_addr(f, l, i, k);
        f.b.load_slot(k, 0).set(el);
        match builtin {
            Builtin::ListMap => {
                let push = self.rt(Rt::ListPush(out_kind));
                f.b.get(out);
                self.call_closure(f, c, &[el], &fn_ty);
                f.b.call(push);
            }
            Builtin::ListFilter => {
                let push = self.rt(Rt::ListPush(k));
                self.call_closure(f, c, &[el], &fn_ty);
                f.b.if_(None);
                f.b.get(out).get(el).call(push);
                f.b.end();
            }
            Builtin::ListFind => {
                let ok = self.rt(Rt::ResultNew(k));
                self.call_closure(f, c, &[el], &fn_ty);
                f.b.if_(None);
                f.b.u32(RESULT_OK).get(el).call(ok).br(done);
                f.b.end();
            }
            Builtin::ListAny => {
                self.call_closure(f, c, &[el], &fn_ty);
                f.b.if_(None);
                f.b.i32(1).br(done);
                f.b.end();
            }
            _ => {
                self.call_closure(f, c, &[el], &fn_ty);
                f.b.i32_eqz();
                f.b.if_(None);
                f.b.i32(0).br(done);
                f.b.end();
            }
        }
        f.b.inc(i, 1).br(lp);
        f.b.end();
        f.b.end();
        // Every item seen and none decided.
        match builtin {
            Builtin::ListAny => {
                f.b.i32(0);
            }
            Builtin::ListAll => {
                f.b.i32(1);
            }
            Builtin::ListFind => {
                let err = self.rt(Rt::ResultNew(ValType::I32));
                let msg = self.string("no encontrado");
                f.b.u32(RESULT_ERR).data(msg).call(err);
            }
            _ => {}
        }
        f.b.end();
        if result.is_none() {
            f.b.get(out);
        }
    }

    fn lower_num(&mut self, f: &mut FnState, op: NumOp, args: &[TExpr]) {
        for a in args {
            self.lower_expr(f, a);
        }
        match op {
            NumOp::Sqrt => {
                f.b.w(I::F64Sqrt);
            }
            NumOp::Ceil => {
                f.b.w(I::F64Ceil).w(I::I64TruncSatF64S);
            }
            NumOp::Floor => {
                f.b.w(I::F64Floor).w(I::I64TruncSatF64S);
            }
            NumOp::Round => {
                // Half away from zero: the whole part, plus one step away from zero when the
                // rest is at least a half (exact: the rest of a double is a double).
                let (x, t) = (f.temp(ValType::F64), f.temp(ValType::F64));
                f.b.set(x);
                f.b.get(x).w(I::F64Trunc).set(t);
                f.b.get(t).f64(1.0).get(x).w(I::F64Copysign).w(I::F64Add);
                f.b.get(t);
                f.b.get(x).get(t).w(I::F64Sub).w(I::F64Abs).f64(0.5).w(I::F64Ge);
                f.b.select();
                f.b.w(I::I64TruncSatF64S);
            }
            NumOp::Pow => {
                f.b.i32(0);
                f.b.call_import(Import::Math);
            }
            NumOp::Popcount => {
                f.b.w(I::I64Popcnt);
            }
            NumOp::LeadingZeros => {
                f.b.w(I::I64Clz);
            }
            NumOp::TrailingZeros => {
                f.b.w(I::I64Ctz);
            }
            NumOp::RotateLeft => {
                f.b.w(I::I64Rotl);
            }
            NumOp::RotateRight => {
                f.b.w(I::I64Rotr);
            }
        }
    }

    /// `log.info(message, fields)`: field values are shown as text before crossing to the host.
    fn lower_log(&mut self, f: &mut FnState, level: LogLevel, args: &[TExpr]) {
        let level = match level {
            LogLevel::Debug => 0,
            LogLevel::Info => 1,
            LogLevel::Warn => 2,
            LogLevel::Error => 3,
        };
        let msg = self.lower_to_local(f, &args[0]);
        let fields = self.lower_to_local(f, &args[1]);
        let Type::Map(_, v) = &args[1].ty else { unreachable!("log fields are a map") };
        let v = (**v).clone();
        let as_text = if matches!(v, Type::Str) {
            fields
        } else {
            let map_new = self.rt(Rt::MapNew);
            let insert = self.rt(Rt::MapInsert(super::runtime::KeyKind::Str, ValType::I32));
            let (out, i, val) = (f.temp(ValType::I32), f.counter(), f.temp(slot(&v)));
            f.b.get(fields).load32(MAP_LEN).i32(4).i32(4).call(map_new).set(out);
            let done = f.b.block(None);
            let lp = f.b.loop_(None);
            f.b.get(i).get(fields).load32(MAP_LEN).i32_ge_u().br_if(done);
            f.b.get(fields).load32(MAP_VALUES).get(i).i32(slot(&v).size() as i32).i32_mul().i32_add().load_slot(slot(&v), 0).set(val);
            let text = self.display_to_str(f, val, &v, true);
            f.b.get(out).get(fields).load32(MAP_KEYS).get(i).i32(4).i32_mul().i32_add().load32(0).get(text).call(insert);
            f.b.inc(i, 1).br(lp);
            f.b.end();
            f.b.end();
            out
        };
        f.b.i32(level).get(msg).get(as_text).call_import(Import::Log);
        f.b.i32(0);
        let _: Option<Local> = None;
    }
}
