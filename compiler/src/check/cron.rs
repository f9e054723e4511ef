//! `@cron` jobs (and `@every("30s")`, an interval): the expression (read by `guest_abi::cron`, exactly as the host will schedule
//! it) and the function's shape; and `@test` functions, entries of the same shape.

use guest_abi::cron::{CronError, Schedule};

use super::Checker;
use super::problem::{CronProblem, Problem};
use crate::ast;
use crate::tast::{CronJob, FnId, TestCase};
use crate::types::Type;

impl Checker {
    pub fn check_crons(&mut self, fns: &[&ast::FnDecl]) -> Vec<CronJob> {
        let mut jobs = Vec::new();
        for (i, f) in fns.iter().enumerate() {
            let Some((expr, span)) = self.fns[i].decorators.cron.clone() else { continue };
            let params: Vec<Type> = self.fns[i].params.iter().map(|p| self.unifier.resolve(&p.ty)).collect();
            let takes_db = match params.as_slice() {
                [] => Some(false),
                [Type::DbConn] => Some(true),
                _ => None,
            };
            if takes_db.is_none() {
                let span = f.params.first().map_or(f.name.span, |p| p.span);
                self.report(Problem::CronParams { span });
            }
            match Schedule::parse(&expr) {
                Ok(schedule) => {
                    if let Some(takes_db) = takes_db {
                        jobs.push(CronJob { func: FnId(i as u32), name: f.name.name.clone(), expr, schedule: schedule.normalized, takes_db });
                    }
                }
                Err(e) => {
                    let problem = match e {
                        CronError::Interval(t) => CronProblem::Interval(t),
                        CronError::FieldCount(n) => CronProblem::FieldCount(n),
                        CronError::Field { field, value, reason } => CronProblem::Field { field, value, reason },
                    };
                    self.report(Problem::InvalidCron { expr, problem, span });
                }
            }
        }
        jobs
    }

    /// `@test` functions: no parameters, or the test's database.
    pub fn check_tests(&mut self, fns: &[&ast::FnDecl]) -> Vec<TestCase> {
        let mut tests = Vec::new();
        for (i, f) in fns.iter().enumerate() {
            if self.fns[i].decorators.test.is_none() {
                continue;
            }
            let params: Vec<Type> = self.fns[i].params.iter().map(|p| self.unifier.resolve(&p.ty)).collect();
            match params.as_slice() {
                [] => tests.push(TestCase { func: FnId(i as u32), name: f.name.name.clone(), takes_db: false }),
                [Type::DbConn] => tests.push(TestCase { func: FnId(i as u32), name: f.name.name.clone(), takes_db: true }),
                _ => self.report(Problem::TestParams { span: f.params.first().map_or(f.name.span, |p| p.span) }),
            }
        }
        tests
    }
}
