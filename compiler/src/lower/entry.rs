//! Functions and the entry points the host calls: routes, the auth provider, cron jobs, the
//! top level, and the allocator.

use guest_abi::exports;
use guest_abi::exports::SITE_RETURN;

use super::expr::push_zero;
use super::{FnBuilder, FnState, Lowerer, Mode, Rt, slot};
use crate::ir::ValType;
use crate::tast::{FnDef, FnId, FnKind, TExprKind};
use crate::types::Type;

impl Lowerer<'_> {
    /// Entry points return outcomes; see `guest_abi::exports`.
    pub fn mode_of(&self, id: FnId) -> Mode {
        let p = self.program;
        if p.main == Some(id) {
            Mode::Main
        } else if p.routes.iter().any(|r| r.handler == id)
            || p.auth.as_ref().is_some_and(|a| a.func == id)
            || p.crons.iter().any(|c| c.func == id)
            || p.tests.iter().any(|t| t.func == id)
            || p.tasks.iter().any(|t| t.entry == id)
            || p.afters.iter().any(|t| t.entry == id)
            || p.wraps.iter().any(|t| t.entry == id)
        {
            Mode::Entry
        } else {
            Mode::Plain
        }
    }

    pub fn lower_fn(&mut self, id: FnId, def: &FnDef, mode: Mode) -> FnBuilder {
        let lambda = def.kind == FnKind::Lambda;
        let mut params: Vec<ValType> = Vec::new();
        if lambda {
            params.push(ValType::I32);
        }
        params.extend(def.params.iter().map(|p| slot(&def.locals[p.0 as usize].ty)));
        let results = match mode {
            Mode::Plain => vec![slot(&def.ret)],
            Mode::Entry => vec![ValType::I32],
            Mode::Main => vec![],
        };
        let b = FnBuilder::new(def.name.clone(), params, results);
        let mut f = FnState { b, def, id, mode, locals: Vec::new(), loops: Vec::new(), pinned: None, free: Vec::new(), scopes: Vec::new() };
        // Parameters are the first wasm locals (after a lambda's environment).
        let offset = u32::from(lambda);
        for (i, p) in def.params.iter().enumerate() {
            if f.locals.len() <= p.0 as usize {
                f.locals.resize(p.0 as usize + 1, None);
            }
            f.locals[p.0 as usize] = Some(super::Local(i as u32 + offset));
        }
        if lambda {
            for (k, (inner, _)) in def.captures.iter().enumerate() {
                let l = f.local(*inner);
                let kind = f.b.local_type(l);
                f.b.get(f.b.param(0)).load_slot(kind, 8 * k as u32).set(l);
            }
        }
        match &def.body.kind {
            // A block body (typed `Null`: it returns through `return`). An arrow body can be a
            // block too (a comprehension is one), and is its value.
            TExprKind::Block(block) if def.body.ty == Type::Null => {
                self.lower_block(&mut f, block, None);
                // Falling off the end returns null.
                self.finish_fn(&mut f);
            }
            _ => {
                self.lower_expr(&mut f, &def.body);
                if def.body.ty != Type::Never {
                    if mode == Mode::Entry {
                        let v = f.temp(slot(&def.ret));
                        f.b.set(v);
                        let outcome = self.rt(Rt::OutcomeNew(slot(&def.ret)));
                        f.b.u32(SITE_RETURN).get(v).call(outcome);
                    } else if mode == Mode::Main {
                        f.b.drop_();
                    }
                } else if mode != Mode::Main {
                    push_zero(&mut f.b, ValType::I32);
                }
            }
        }
        f.b
    }

    fn finish_fn(&mut self, f: &mut FnState) {
        match f.mode {
            Mode::Main => {}
            Mode::Plain => push_zero(&mut f.b, slot(&f.def.ret)),
            Mode::Entry => {
                let k = slot(&f.def.ret);
                let outcome = self.rt(Rt::OutcomeNew(k));
                f.b.u32(SITE_RETURN);
                push_zero(&mut f.b, k);
                f.b.call(outcome);
            }
        }
    }

    /// One export per defaulted record field, so the host can fill in fields a request body
    /// leaves out (`guest_abi::exports::field_default`).
    pub fn add_field_defaults(&mut self) {
        let program = self.program;
        for (rid, r) in program.records.iter().enumerate() {
            for (i, f) in r.fields.iter().enumerate() {
                let Some(default) = &f.default else { continue };
                let def = FnDef {
                    name: format!("default {}.{}", r.name, f.name),
                    kind: FnKind::User,
                    is_async: false,
                    params: Vec::new(),
                    ret: f.ty.clone(),
                    locals: Vec::new(),
                    captures: Vec::new(),
                    body: default.clone(),
                    span: f.span,
                };
                let func = self.lower_fn(FnId(u32::MAX), &def, Mode::Plain);
                let id = self.add(func);
                self.exports.push((exports::field_default(rid, i), id));
            }
        }
    }

    pub fn add_exports(&mut self) {
        let alloc = self.rt(Rt::Alloc);
        self.exports.push((exports::ALLOC.to_string(), alloc));
        if let Some(main) = self.program.main {
            self.exports.push((exports::MAIN.to_string(), self.fn_id(main)));
            // A WASI command's entry point too, so `wasmtime run app.wasm` runs the top level.
            self.exports.push(("_start".to_string(), self.fn_id(main)));
        }
        for (i, r) in self.program.routes.iter().enumerate() {
            self.exports.push((exports::route(i), self.fn_ids[r.handler.0 as usize]));
        }
        if let Some(a) = &self.program.auth {
            self.exports.push((exports::AUTH.to_string(), self.fn_ids[a.func.0 as usize]));
        }
        for (i, c) in self.program.crons.iter().enumerate() {
            self.exports.push((exports::cron(i), self.fn_ids[c.func.0 as usize]));
        }
        for (i, t) in self.program.tests.iter().enumerate() {
            self.exports.push((exports::test(i), self.fn_ids[t.func.0 as usize]));
        }
        for (i, t) in self.program.tasks.iter().enumerate() {
            self.exports.push((exports::task(i), self.fn_ids[t.entry.0 as usize]));
        }
        for (i, t) in self.program.wraps.iter().enumerate() {
            self.exports.push((exports::wrap(i), self.fn_ids[t.entry.0 as usize]));
        }
        for (i, t) in self.program.afters.iter().enumerate() {
            self.exports.push((exports::after(i), self.fn_ids[t.entry.0 as usize]));
        }
        if let Some(cli) = self.program.cli {
            self.exports.push((exports::CLI.to_string(), self.fn_id(cli)));
        }
    }
}
