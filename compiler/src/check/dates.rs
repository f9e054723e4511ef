//! `Date` and `DateTime` as upstream's guide has them, written in Fitz (see `prelude`): a
//! `Date` is a count of days since 1970-01-01 and a `DateTime` of microseconds (UTC), so the
//! calendar arithmetic is integer code over Howard Hinnant's `days_from_civil` and
//! `civil_from_days`. Parsing is the host's (`parse_time`), as JSON's is.

use super::Checker;
use super::builtins::BParam;
use super::prelude::{Needs, Template, p};
use crate::types::Type;

fn t(ret: Type, params: Vec<BParam>, body: &'static str) -> Template {
    Template { params, ret, needs: Needs::Nothing, subject: Type::Null, body }
}

/// Binds `y`, `m`, `d` to the civil date of the Int `days`.
macro_rules! civil {
    () => {
        "let zz = days + 719468
let era = (zz - zz % 146097) / 146097
let doe = zz - era * 146097
let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
let mp = (5 * doy + 2) / 153
let d = doy - (153 * mp + 2) / 5 + 1
let m = if mp < 10 { mp + 3 } else { mp - 9 }
let y = yoe + era * 400 + (if m <= 2 { 1 } else { 0 })
"
    };
}

/// Binds `dim`, the number of days in month `mo` of year `yr`.
macro_rules! days_in_month {
    () => {
        "let leap = (yr % 4 == 0 and yr % 100 != 0) or yr % 400 == 0
let dim = if mo == 2 { if leap { 29 } else { 28 } } else if mo == 4 or mo == 6 or mo == 9 or mo == 11 { 30 } else { 31 }
"
    };
}

/// Binds `made`, the `Date` of year `yr`, month `mo`, day `dy` (valid ones).
macro_rules! from_civil {
    () => {
        "let cy = if mo <= 2 { yr - 1 } else { yr }
let cera = (cy - cy % 400) / 400
let cyoe = cy - cera * 400
let cmm = if mo > 2 { mo - 3 } else { mo + 9 }
let cdoy = (153 * cmm + 2) / 5 + dy - 1
let cdoe = cyoe * 365 + cyoe / 4 - cyoe / 100 + cdoy
let made = (cera * 146097 + cdoe - 719468).__to_date()
"
    };
}

const DATE_ADD_MONTHS: &str = concat!(
    "let days = recv.__days()\n",
    civil!(),
    "let total = y * 12 + (m - 1) + n
let yr = (total - total % 12) / 12
let mo = total - yr * 12 + 1
",
    days_in_month!(),
    "let dy = if d > dim { dim } else { d }\n",
    from_civil!(),
    "made"
);

const FROM_YMD: &str = concat!(
    "let yr = year
let mo = month
let dy = day
if mo < 1 or mo > 12 { Err(\"invalid date: {year}-{month}-{day}\") } else {
",
    days_in_month!(),
    "if dy < 1 or dy > dim { Err(\"invalid date: {year}-{month}-{day}\") } else {\n",
    from_civil!(),
    "Ok(made)\n}\n}"
);

const YEAR: &str = concat!("let days = recv.__days()\n", civil!(), "y");
const MONTH: &str = concat!("let days = recv.__days()\n", civil!(), "m");
const DAY: &str = concat!("let days = recv.__days()\n", civil!(), "d");

/// The whole days of a `DateTime`, as the Int `days`, and the microseconds after them, `rest`.
macro_rules! split_micros {
    () => {
        "let us = recv.__micros()
let days = (us - us % 86400000000) / 86400000000
let rest = us - days * 86400000000
"
    };
}

const DT_ADD_MONTHS: &str = concat!(split_micros!(), "((days.__to_date().add_months(n)).__days() * 86400000000 + rest).__to_datetime()");

impl Checker {
    /// The template for `method` on a `Date` or `DateTime`, if there is one.
    pub fn date_template(&mut self, ty: &Type, method: &str) -> Option<Template> {
        let int = |n: &str| vec![p(n, Type::Int)];
        Some(match (ty, method) {
            (Type::Date, "year") => t(Type::Int, vec![], YEAR),
            (Type::Date, "month") => t(Type::Int, vec![], MONTH),
            (Type::Date, "day") => t(Type::Int, vec![], DAY),
            // ISO 8601: Monday is 1, Sunday 7 (1970-01-01 was a Thursday).
            (Type::Date, "weekday") => t(Type::Int, vec![], "(recv.__days() + 3) % 7 + 1"),
            (Type::Date, "add_days") => t(Type::Date, int("n"), "(recv.__days() + n).__to_date()"),
            (Type::Date, "subtract_days") => t(Type::Date, int("n"), "(recv.__days() - n).__to_date()"),
            (Type::Date, "add_months") => t(Type::Date, int("n"), DATE_ADD_MONTHS),
            (Type::Date, "subtract_months") => t(Type::Date, int("n"), "recv.add_months(0 - n)"),
            (Type::Date, "add_years") => t(Type::Date, int("n"), "recv.add_months(n * 12)"),
            (Type::Date, "subtract_years") => t(Type::Date, int("n"), "recv.add_months(0 - n * 12)"),
            (Type::Date, "diff_days") => t(Type::Int, vec![p("other", Type::Date)], "recv.__days() - other.__days()"),
            (Type::Date | Type::DateTime, "to_str") => t(Type::Str, vec![], "\"{recv}\""),
            (Type::DateTime, "date") => t(Type::Date, vec![], concat!(split_micros!(), "days.__to_date()")),
            (Type::DateTime, "year") => t(Type::Int, vec![], "recv.date().year()"),
            (Type::DateTime, "month") => t(Type::Int, vec![], "recv.date().month()"),
            (Type::DateTime, "day") => t(Type::Int, vec![], "recv.date().day()"),
            (Type::DateTime, "hour") => t(Type::Int, vec![], concat!(split_micros!(), "rest / 3600000000")),
            (Type::DateTime, "minute") => t(Type::Int, vec![], concat!(split_micros!(), "rest / 60000000 % 60")),
            (Type::DateTime, "second") => t(Type::Int, vec![], concat!(split_micros!(), "rest / 1000000 % 60")),
            (Type::DateTime, "add_days") => t(Type::DateTime, int("n"), "(recv.__micros() + n * 86400000000).__to_datetime()"),
            (Type::DateTime, "add_hours") => t(Type::DateTime, int("n"), "(recv.__micros() + n * 3600000000).__to_datetime()"),
            (Type::DateTime, "add_minutes") => t(Type::DateTime, int("n"), "(recv.__micros() + n * 60000000).__to_datetime()"),
            (Type::DateTime, "add_seconds") => t(Type::DateTime, int("n"), "(recv.__micros() + n * 1000000).__to_datetime()"),
            (Type::DateTime, "subtract_days") => t(Type::DateTime, int("n"), "recv.add_days(0 - n)"),
            (Type::DateTime, "subtract_hours") => t(Type::DateTime, int("n"), "recv.add_hours(0 - n)"),
            (Type::DateTime, "subtract_minutes") => t(Type::DateTime, int("n"), "recv.add_minutes(0 - n)"),
            (Type::DateTime, "subtract_seconds") => t(Type::DateTime, int("n"), "recv.add_seconds(0 - n)"),
            (Type::DateTime, "add_months") => t(Type::DateTime, int("n"), DT_ADD_MONTHS),
            (Type::DateTime, "subtract_months") => t(Type::DateTime, int("n"), "recv.add_months(0 - n)"),
            (Type::DateTime, "add_years") => t(Type::DateTime, int("n"), "recv.add_months(n * 12)"),
            (Type::DateTime, "subtract_years") => t(Type::DateTime, int("n"), "recv.add_months(0 - n * 12)"),
            // Whole units, truncated toward zero (as chrono's `num_seconds()` and the like).
            (Type::DateTime, "diff_days") => t(Type::Int, vec![p("other", Type::DateTime)], "(recv.__micros() - other.__micros()) / 86400000000"),
            (Type::DateTime, "diff_hours") => t(Type::Int, vec![p("other", Type::DateTime)], "(recv.__micros() - other.__micros()) / 3600000000"),
            (Type::DateTime, "diff_minutes") => t(Type::Int, vec![p("other", Type::DateTime)], "(recv.__micros() - other.__micros()) / 60000000"),
            (Type::DateTime, "diff_seconds") => t(Type::Int, vec![p("other", Type::DateTime)], "(recv.__micros() - other.__micros()) / 1000000"),
            _ => return None,
        })
    }

    /// `Date.today()`, `Date.from_ymd(…)`, `DateTime.parse(…)`, … (`DateTime.now()` is a builtin).
    pub fn date_module_template(&mut self, module: &str, name: &str) -> Option<Template> {
        Some(match (module, name) {
            ("Date", "today") => t(Type::Date, vec![], "DateTime.now().date()"),
            ("Date", "tomorrow") => t(Type::Date, vec![], "DateTime.now().date().add_days(1)"),
            ("Date", "yesterday") => t(Type::Date, vec![], "DateTime.now().date().add_days(0 - 1)"),
            ("Date", "from_ymd") => t(Type::result(Type::Date), vec![p("year", Type::Int), p("month", Type::Int), p("day", Type::Int)], FROM_YMD),
            ("Date", "parse") => t(Type::result(Type::Date), vec![p("text", Type::Str)], "text.__parse_date()"),
            ("DateTime", "epoch") => t(Type::DateTime, vec![], "0.__to_datetime()"),
            ("DateTime", "from_timestamp") => t(Type::DateTime, vec![p("seconds", Type::Int)], "(seconds * 1000000).__to_datetime()"),
            ("DateTime", "parse") => t(Type::result(Type::DateTime), vec![p("text", Type::Str)], "text.__parse_datetime()"),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_templates_parse_and_span_their_call() {
        let at = crate::span::Span::new(7, 30);
        for body in [super::YEAR, super::MONTH, super::DAY, super::DATE_ADD_MONTHS, super::FROM_YMD, super::DT_ADD_MONTHS] {
            let cached = format!("{:?}", crate::syntax::parse_template(body, at));
            assert_eq!(cached, format!("{:?}", crate::syntax::parse_template_uncached(body, at)), "{body}");
        }
    }
}
