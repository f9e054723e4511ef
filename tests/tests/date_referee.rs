//! `Date` and `DateTime` arithmetic against Python's `datetime` (the proleptic Gregorian
//! calendar, UTC): random days across years 1–9999 and instants across 1900–2300, moved by
//! days, months (clamped to the month's last day, as chrono and upstream do), years, hours and
//! seconds; their parts, ISO weekday, differences (whole units, truncated toward zero) and
//! text, which must read back through `Date.parse`/`DateTime.parse`.

use fitz_tests::{compile_and_run, python};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const REFEREE: &str = r#"
import sys, json, calendar
from datetime import date, datetime, timedelta, timezone
def add_months(d, n):
    total = d.year * 12 + d.month - 1 + n
    y, m = divmod(total, 12)
    m += 1
    return d.replace(year=y, month=m, day=min(d.day, calendar.monthrange(y, m)[1]))
def trunc(x): return int(x) if x >= 0 else -int(-x)
EPOCH = date(1970, 1, 1)
for case in json.loads(sys.stdin.read()):
    if case[0] == "date":
        _, days, n, months, other = case
        d = EPOCH + timedelta(days=days)
        o = EPOCH + timedelta(days=other)
        print(" ".join(str(x) for x in [
            d.isoformat(), (d + timedelta(days=n)).isoformat(), add_months(d, months).isoformat(),
            add_months(d, -months).isoformat(), add_months(d, 12 * (n % 7)).isoformat(),
            d.year, d.month, d.day, d.isoweekday(), (d - o).days, str(d < o).lower()]))
    else:
        _, secs, hours, months, other = case
        t = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=secs)
        o = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=other)
        f = lambda x: x.strftime("%Y-%m-%dT%H:%M:%SZ")
        delta = (t - o).total_seconds()
        print(" ".join(str(x) for x in [
            f(t), f(t + timedelta(hours=hours)), f(add_months(t, months)), t.date().isoformat(),
            t.hour, t.minute, t.second, trunc(delta), trunc(delta / 3600), trunc(delta / 86400)]))
"#;

#[test]
fn dates_move_as_pythons_do() {
    let mut rng = StdRng::seed_from_u64(1952);
    let mut cases: Vec<serde_json::Value> = Vec::new();
    let mut program = String::new();
    // Days of years 1–9999, kept far enough inside that moving them stays inside.
    let (lo, hi) = (-719_162 + 800, 2_932_896 - 800);
    for _ in 0..100 {
        let days: i64 = rng.gen_range(lo..hi);
        let other: i64 = rng.gen_range(lo..hi);
        let n: i64 = rng.gen_range(-700..700);
        let months: i64 = rng.gen_range(-24..24);
        cases.push(serde_json::json!(["date", days, n, months, other]));
        program.push_str(&format!(
            "d = Date.parse(\"{}\")?\no = Date.parse(\"{}\")?\n\
             print(d, d.add_days({n}), d.add_months({months}), d.subtract_months({months}), d.add_years({}), d.year(), d.month(), d.day(), d.weekday(), d.diff_days(o), d < o)\n",
            iso_date(days),
            iso_date(other),
            n.rem_euclid(7)
        ));
    }
    for _ in 0..100 {
        let secs: i64 = rng.gen_range(-2_208_988_800..10_413_792_000);
        let other: i64 = rng.gen_range(-2_208_988_800..10_413_792_000);
        let hours: i64 = rng.gen_range(-10_000..10_000);
        let months: i64 = rng.gen_range(-30..30);
        cases.push(serde_json::json!(["datetime", secs, hours, months, other]));
        program.push_str(&format!(
            "t = DateTime.from_timestamp({secs})\nu = DateTime.from_timestamp({other})\n\
             print(t, t.add_hours({hours}), t.add_months({months}), t.date(), t.hour(), t.minute(), t.second(), t.diff_seconds(u), t.diff_hours(u), t.diff_days(u))\n\
             match DateTime.parse(t.to_str()) {{\n    Ok(back) => {{ if back != t {{ print(\"parse differs\") }} }}\n    Err(e) => print(e)\n}}\n"
        ));
    }
    let program = format!("fn main() -> Result<Null> {{\n{program}return Ok(null)\n}}\nmatch main() {{\n    Ok(_) => {{}}\n    Err(e) => print(e)\n}}\n");
    let (code, out, err) = compile_and_run(&program, "date_referee.fitz").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0, "{err}");
    let expected = python::run_with_stdin(REFEREE, &serde_json::to_string(&cases).expect("json"));
    for (i, (ours, theirs)) in out.lines().zip(expected.lines()).enumerate() {
        assert_eq!(ours, theirs, "case {i}: {}", cases[i]);
    }
    assert_eq!(out.lines().count(), cases.len(), "{out}");
}

/// `YYYY-MM-DD` of `days` after 1970-01-01, written independently of the code under test.
fn iso_date(days: i64) -> String {
    let mut y = 1970i64;
    let mut d = days;
    let year_len = |y: i64| if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 { 366 } else { 365 };
    while d < 0 {
        y -= 1;
        d += year_len(y);
    }
    while d >= year_len(y) {
        d -= year_len(y);
        y += 1;
    }
    let months = [31, if year_len(y) == 366 { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut m = 0;
    while d >= months[m] {
        d -= months[m];
        m += 1;
    }
    format!("{y:04}-{:02}-{:02}", m + 1, d + 1)
}
