//! Cron expressions, shared by the compiler (which rejects bad ones with a message naming the
//! field) and the host (which schedules with exactly the same reading). Six fields, seconds
//! first, or the classic five (minute first, seconds = 0). UTC. Day of week 0–7 with 0 and 7
//! both Sunday, names `SUN`–`SAT` and `JAN`–`DEC` accepted; `*`, `?`, lists, ranges and
//! steps. When both day of month and day of week are restricted, a day matching either runs
//! (as Vixie cron does).

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CronError {
    /// `@every …` with a duration that is not `N` followed by `s`, `m`, `h` or `d`, from one
    /// second to seven days.
    Interval(String),
    FieldCount(usize),
    Field {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    seconds: u64,
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u16,
    days_of_week: u8,
    dom_any: bool,
    dow_any: bool,
    /// `@every 30s` (upstream's `@every("30s")`): every so many seconds, on the multiples of
    /// the interval since the epoch, so every host counts the same ticks.
    interval: Option<i64>,
    /// The six-field form, seconds first (`@every N` for an interval, in seconds).
    pub normalized: String,
}

/// `30s`, `5m`, `2h`, `1d` (or plain seconds) as seconds, from 1 second to 7 days.
pub fn interval_seconds(text: &str) -> Option<i64> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: i64 = digits.parse().ok().filter(|_| digits.len() <= 7)?;
    let secs = n * match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    (1..=7 * 86_400).contains(&secs).then_some(secs)
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    question_ok: bool,
}

const SECOND: FieldSpec = FieldSpec { name: "second", min: 0, max: 59, names: &[], question_ok: false };
const MINUTE: FieldSpec = FieldSpec { name: "minute", min: 0, max: 59, names: &[], question_ok: false };
const HOUR: FieldSpec = FieldSpec { name: "hour", min: 0, max: 23, names: &[], question_ok: false };
const DOM: FieldSpec = FieldSpec { name: "day of month", min: 1, max: 31, names: &[], question_ok: true };
const MONTH: FieldSpec =
    FieldSpec { name: "month", min: 1, max: 12, names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], question_ok: false };
const DOW: FieldSpec = FieldSpec { name: "day of week", min: 0, max: 7, names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], question_ok: true };

impl FieldSpec {
    fn err(&self, value: &str, reason: &'static str) -> CronError {
        CronError::Field { field: self.name, value: value.to_string(), reason }
    }

    fn value(&self, s: &str, whole: &str) -> Result<u32, CronError> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = self.names.iter().position(|n| *n == upper) {
            // Month names count from 1, weekday names from 0 (Sunday).
            return Ok(i as u32 + self.min);
        }
        let v: u32 = s.parse().map_err(|_| self.err(whole, "is not a number"))?;
        if v < self.min || v > self.max {
            return Err(self.err(whole, "is out of range"));
        }
        Ok(v)
    }

    /// A bit set of the values the field allows, and whether it was `*`/`?`.
    fn parse(&self, field: &str) -> Result<(u64, bool), CronError> {
        if field == "?" {
            if !self.question_ok {
                return Err(self.err(field, "is only allowed for day of month and day of week"));
            }
            return Ok((self.all(), true));
        }
        let mut bits = 0u64;
        for item in field.split(',') {
            if item.is_empty() {
                return Err(self.err(field, "has an empty list item"));
            }
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => {
                    let step: u32 = s.parse().map_err(|_| self.err(item, "has a step that is not a number"))?;
                    if step == 0 {
                        return Err(self.err(item, "has a step of zero"));
                    }
                    (r, step)
                }
                None => (item, 1),
            };
            let (lo, hi) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a, item)?, self.value(b, item)?);
                if a > b {
                    return Err(self.err(item, "is a range whose start is after its end"));
                }
                (a, b)
            } else {
                let v = self.value(range, item)?;
                // `5/15` means from 5 to the end in steps of 15.
                (v, if step > 1 { self.max } else { v })
            };
            let mut v = lo;
            while v <= hi {
                bits |= 1 << v;
                v += step;
            }
        }
        Ok((bits, field == "*"))
    }

    fn all(&self) -> u64 {
        (self.min..=self.max).fold(0, |b, v| b | 1 << v)
    }
}

impl Schedule {
    pub fn parse(expr: &str) -> Result<Schedule, CronError> {
        if let Some(every) = expr.trim().strip_prefix("@every") {
            let secs = interval_seconds(every).ok_or_else(|| CronError::Interval(every.trim().to_string()))?;
            return Ok(Schedule {
                seconds: 0,
                minutes: 0,
                hours: 0,
                days_of_month: 0,
                months: 0,
                days_of_week: 0,
                dom_any: true,
                dow_any: true,
                interval: Some(secs),
                normalized: format!("@every {secs}"),
            });
        }
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let six: Vec<&str> = match fields.len() {
            6 => fields,
            5 => std::iter::once("0").chain(fields).collect(),
            n => return Err(CronError::FieldCount(n)),
        };
        let (seconds, _) = SECOND.parse(six[0])?;
        let (minutes, _) = MINUTE.parse(six[1])?;
        let (hours, _) = HOUR.parse(six[2])?;
        let (dom, dom_any) = DOM.parse(six[3])?;
        let (months, _) = MONTH.parse(six[4])?;
        let (mut dow, dow_any) = DOW.parse(six[5])?;
        if dow & (1 << 7) != 0 {
            dow |= 1;
        }
        Ok(Schedule {
            seconds,
            minutes,
            hours: hours as u32,
            days_of_month: dom as u32,
            months: months as u16,
            days_of_week: (dow & 0x7f) as u8,
            dom_any,
            dow_any,
            interval: None,
            normalized: six.join(" "),
        })
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = self.days_of_month & (1 << day) != 0;
        let dow = self.days_of_week & (1 << weekday) != 0;
        match (self.dom_any, self.dow_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }

    /// The first time strictly after `after` (Unix seconds, UTC) that matches, searching up to
    /// about five years ahead.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        if let Some(n) = self.interval {
            return Some((after.div_euclid(n) + 1) * n);
        }
        let mut t = after + 1;
        let limit = after + 5 * 366 * 86_400;
        while t <= limit {
            let days = t.div_euclid(86_400);
            let secs = t.rem_euclid(86_400) as u32;
            let (_, month, day) = civil_from_days(days);
            let weekday = (days + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday
            if self.months & (1 << month) == 0 || !self.day_matches(day, weekday) {
                t = (days + 1) * 86_400;
                continue;
            }
            let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
            if self.hours & (1 << h) == 0 {
                t = days * 86_400 + i64::from(h + 1) * 3600;
                continue;
            }
            if self.minutes & (1 << m) == 0 {
                t = days * 86_400 + i64::from(h) * 3600 + i64::from(m + 1) * 60;
                continue;
            }
            if self.seconds & (1 << s) == 0 {
                t += 1;
                continue;
            }
            return Some(t);
        }
        None
    }
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31); Howard Hinnant's algorithm.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_schedule_runs_daily_at_three() {
        let s = Schedule::parse("0 0 3 * * *").expect("valid");
        // 2026-01-01T00:00:00Z = 1767225600
        assert_eq!(s.next_after(1_767_225_600), Some(1_767_225_600 + 3 * 3600));
        assert_eq!(s.next_after(1_767_225_600 + 3 * 3600), Some(1_767_225_600 + 27 * 3600));
    }

    #[test]
    fn intervals_tick_on_their_multiples() {
        let s = Schedule::parse("@every 30s").expect("valid");
        assert_eq!(s.normalized, "@every 30");
        assert_eq!(s.next_after(100), Some(120));
        assert_eq!(s.next_after(120), Some(150));
        assert_eq!(Schedule::parse("@every 2h").map(|s| s.normalized), Ok("@every 7200".into()));
        assert_eq!(Schedule::parse("@every 45").map(|s| s.next_after(0)), Ok(Some(45)));
        for bad in ["@every 0s", "@every 8d", "@every 1w", "@every", "@every -5s", "@every 1.5m", "@every 99999999s"] {
            assert!(matches!(Schedule::parse(bad), Err(CronError::Interval(_))), "{bad}");
        }
    }

    #[test]
    fn five_fields_and_steps() {
        let s = Schedule::parse("*/15 * * * *").expect("valid");
        assert_eq!(s.normalized, "0 */15 * * * *");
        assert_eq!(s.next_after(1_767_225_600), Some(1_767_225_600 + 900));
        let every_second = Schedule::parse("*/1 * * * * *").expect("valid");
        assert_eq!(every_second.next_after(100), Some(101));
    }

    #[test]
    fn weekdays_and_names() {
        // 2026-01-01 is a Thursday; next Monday 09:00 is 2026-01-05.
        let s = Schedule::parse("0 0 9 * * MON").expect("valid");
        assert_eq!(s.next_after(1_767_225_600), Some(1_767_225_600 + 4 * 86_400 + 9 * 3600));
        let sunday7 = Schedule::parse("0 0 0 * * 7").expect("valid");
        assert_eq!(sunday7.next_after(1_767_225_600), Some(1_767_225_600 + 3 * 86_400));
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(Schedule::parse("* * *"), Err(CronError::FieldCount(3)));
        assert_eq!(Schedule::parse("0 0 25 * * *"), Err(CronError::Field { field: "hour", value: "25".into(), reason: "is out of range" }));
        assert!(matches!(Schedule::parse("0 0 0 * FOO *"), Err(CronError::Field { field: "month", .. })));
        assert!(matches!(Schedule::parse("*/0 * * * * *"), Err(CronError::Field { field: "second", .. })));
        assert!(matches!(Schedule::parse("0 0 5-1 * * *"), Err(CronError::Field { field: "hour", .. })));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
