//! Service hours: a weekly schedule in the centre's local time, public holidays when it is
//! closed, and make-up working days (调休) when it opens on a weekend. Pure: Unix time in,
//! open or closed (and until when) out. Emergency calls do not ask it.

use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
/// How far ahead the next opening is looked for (a long holiday is about ten days).
const LOOK_AHEAD_DAYS: i64 = 31;

/// `[service.hours]` as written in the configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HoursConfig {
    /// The centre's offset from UTC in minutes (480 for China, which has no daylight saving).
    pub utc_offset_minutes: i32,
    /// Opening times per weekday, `"HH:MM-HH:MM"` each; a day left out is closed.
    pub mon: Vec<String>,
    /// Tuesday.
    pub tue: Vec<String>,
    /// Wednesday.
    pub wed: Vec<String>,
    /// Thursday.
    pub thu: Vec<String>,
    /// Friday.
    pub fri: Vec<String>,
    /// Saturday.
    pub sat: Vec<String>,
    /// Sunday.
    pub sun: Vec<String>,
    /// Closed all day, `"YYYY-MM-DD"` (public holidays).
    pub holidays: Vec<String>,
    /// Open on these days with Monday's hours though they fall on a weekend (调休).
    pub workdays: Vec<String>,
}

/// Open or closed at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoursState {
    /// Open until then (Unix ms).
    Open {
        /// When this opening ends.
        closes_at_ms: i64,
    },
    /// Closed; opens then, if within a month.
    Closed {
        /// The next opening.
        opens_at_ms: Option<i64>,
    },
}

/// A checked schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    offset_ms: i64,
    /// Monday first: opening ranges in minutes after local midnight.
    week: [Vec<(u32, u32)>; 7],
    holidays: Vec<i64>,
    workdays: Vec<i64>,
}

impl Schedule {
    /// Checks a configuration; the error names the bad entry.
    pub fn new(cfg: &HoursConfig) -> Result<Self, String> {
        if cfg.utc_offset_minutes.abs() > 14 * 60 {
            return Err(format!(
                "service.hours.utc_offset_minutes {} is not an offset",
                cfg.utc_offset_minutes
            ));
        }
        let days = [
            ("mon", &cfg.mon),
            ("tue", &cfg.tue),
            ("wed", &cfg.wed),
            ("thu", &cfg.thu),
            ("fri", &cfg.fri),
            ("sat", &cfg.sat),
            ("sun", &cfg.sun),
        ];
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for (i, (name, ranges)) in days.iter().enumerate() {
            for r in ranges.iter() {
                let range = parse_range(r)
                    .ok_or_else(|| format!("service.hours.{name}: {r:?} is not HH:MM-HH:MM"))?;
                week[i].push(range);
            }
            week[i].sort_unstable();
        }
        let dates = |what: &str, list: &[String]| -> Result<Vec<i64>, String> {
            list.iter()
                .map(|d| {
                    parse_date(d).ok_or_else(|| {
                        format!("service.hours.{what}: {d:?} is not a date YYYY-MM-DD")
                    })
                })
                .collect()
        };
        Ok(Self {
            offset_ms: i64::from(cfg.utc_offset_minutes) * MINUTE_MS,
            week,
            holidays: dates("holidays", &cfg.holidays)?,
            workdays: dates("workdays", &cfg.workdays)?,
        })
    }

    /// Whether the service is open at `unix_ms`, and until when or from when.
    pub fn state(&self, unix_ms: i64) -> HoursState {
        let local = unix_ms + self.offset_ms;
        let day = local.div_euclid(DAY_MS);
        let minute = (local.rem_euclid(DAY_MS) / MINUTE_MS) as u32;
        let at = |d: i64, m: u32| d * DAY_MS + i64::from(m) * MINUTE_MS - self.offset_ms;
        if let Some(&(_, end)) = self
            .ranges(day)
            .iter()
            .find(|(a, b)| *a <= minute && minute < *b)
        {
            // Ranges that touch (12:00-24:00, then 00:00- the next day) are one opening.
            let mut closes = at(day, end);
            let (mut d, mut e) = (day, end);
            while e >= 24 * 60 {
                d += 1;
                match self.ranges(d).first() {
                    Some(&(0, next)) if d - day < LOOK_AHEAD_DAYS => {
                        e = next;
                        closes = at(d, next);
                    }
                    _ => break,
                }
            }
            return HoursState::Open {
                closes_at_ms: closes,
            };
        }
        for d in day..day + LOOK_AHEAD_DAYS {
            let next = self
                .ranges(d)
                .iter()
                .find(|(a, _)| d > day || *a > minute)
                .map(|(a, _)| at(d, *a));
            if next.is_some() {
                return HoursState::Closed { opens_at_ms: next };
            }
        }
        HoursState::Closed { opens_at_ms: None }
    }

    fn ranges(&self, day: i64) -> &[(u32, u32)] {
        if self.holidays.contains(&day) {
            return &[];
        }
        let weekday = weekday(day);
        if weekday >= 5 && self.workdays.contains(&day) {
            return &self.week[0];
        }
        &self.week[weekday]
    }
}

/// Monday = 0 for a day number counted from 1970-01-01 (a Thursday).
fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

fn parse_hm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

fn parse_range(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-')?;
    let (a, b) = (parse_hm(a)?, parse_hm(b)?);
    (a < b).then_some((a, b))
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    let month_len = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_len).contains(&d) || !(1900..=2200).contains(&y) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office() -> Schedule {
        let week = || vec!["08:30-12:00".to_owned(), "13:30-17:30".to_owned()];
        Schedule::new(&HoursConfig {
            utc_offset_minutes: 480,
            mon: week(),
            tue: week(),
            wed: week(),
            thu: week(),
            fri: week(),
            holidays: vec!["2026-10-01".into(), "2026-10-02".into()],
            workdays: vec!["2026-10-10".into()],
            ..Default::default()
        })
        .unwrap()
    }

    /// Unix ms of a Beijing wall-clock time.
    fn bj(date: &str, h: i64, m: i64) -> i64 {
        parse_date(date).unwrap() * DAY_MS + (h * 60 + m) * MINUTE_MS - 8 * 3600 * 1000
    }

    #[test]
    fn dates_and_weekdays_are_right() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(weekday(parse_date("2026-12-02").unwrap()), 2, "a Wednesday");
        assert_eq!(weekday(parse_date("2026-10-10").unwrap()), 5, "a Saturday");
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2028-02-29").map(weekday), Some(1));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("twenty"), None);
    }

    #[test]
    fn open_in_office_hours_closed_at_lunch_and_at_night() {
        let s = office();
        assert_eq!(
            s.state(bj("2026-12-02", 9, 0)),
            HoursState::Open {
                closes_at_ms: bj("2026-12-02", 12, 0)
            }
        );
        assert_eq!(
            s.state(bj("2026-12-02", 12, 0)),
            HoursState::Closed {
                opens_at_ms: Some(bj("2026-12-02", 13, 30))
            },
            "the end minute is closed"
        );
        assert_eq!(
            s.state(bj("2026-12-02", 20, 0)),
            HoursState::Closed {
                opens_at_ms: Some(bj("2026-12-03", 8, 30))
            }
        );
        // Friday night opens on Monday morning.
        assert_eq!(
            s.state(bj("2026-12-04", 18, 0)),
            HoursState::Closed {
                opens_at_ms: Some(bj("2026-12-07", 8, 30))
            }
        );
    }

    #[test]
    fn holidays_close_and_make_up_workdays_open() {
        let s = office();
        // 2026-10-01 is a Thursday, a holiday: closed until Monday the 5th... but the 3rd and
        // 4th are a weekend, so Monday it is.
        assert_eq!(
            s.state(bj("2026-10-01", 10, 0)),
            HoursState::Closed {
                opens_at_ms: Some(bj("2026-10-05", 8, 30))
            }
        );
        // Saturday the 10th is a make-up working day with Monday's hours.
        assert!(matches!(
            s.state(bj("2026-10-10", 9, 0)),
            HoursState::Open { .. }
        ));
        assert!(matches!(
            s.state(bj("2026-10-11", 9, 0)),
            HoursState::Closed { .. }
        ));
    }

    #[test]
    fn round_the_clock_service_never_closes_at_midnight() {
        let all = || vec!["00:00-24:00".to_owned()];
        let s = Schedule::new(&HoursConfig {
            utc_offset_minutes: 480,
            mon: all(),
            tue: all(),
            wed: all(),
            thu: all(),
            fri: all(),
            sat: all(),
            sun: vec!["00:00-12:00".into()],
            ..Default::default()
        })
        .unwrap();
        // Wednesday 23:59: open through to Sunday noon.
        assert_eq!(
            s.state(bj("2026-12-02", 23, 59)),
            HoursState::Open {
                closes_at_ms: bj("2026-12-06", 12, 0)
            }
        );
    }

    #[test]
    fn a_schedule_with_no_hours_says_it_never_opens() {
        let s = Schedule::new(&HoursConfig::default()).unwrap();
        assert_eq!(s.state(0), HoursState::Closed { opens_at_ms: None });
    }

    #[test]
    fn bad_entries_are_named() {
        let bad = |c: HoursConfig| Schedule::new(&c).unwrap_err();
        assert!(bad(HoursConfig {
            mon: vec!["9-17".into()],
            ..Default::default()
        })
        .contains("service.hours.mon"));
        assert!(bad(HoursConfig {
            tue: vec!["17:00-09:00".into()],
            ..Default::default()
        })
        .contains("tue"));
        assert!(bad(HoursConfig {
            holidays: vec!["2026-02-30".into()],
            ..Default::default()
        })
        .contains("holidays"));
        assert!(bad(HoursConfig {
            utc_offset_minutes: 2000,
            ..Default::default()
        })
        .contains("offset"));
    }
}
