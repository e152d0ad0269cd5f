//! Working-time calendar (Asia/Shanghai): which days are working days under China's official
//! holiday schedule (including 调休 make-up working days), and deadline arithmetic in working
//! minutes.
//!
//! Deadlines in district grid governance are counted in working time ("handle within 8 working
//! hours"), so a case reported on the eve of National Day is not overdue during the holiday, and a
//! make-up Saturday counts like a Monday. All local-time logic is in Asia/Shanghai wall-clock time.
//! Shanghai has had no DST since 1991, so a wall-clock minute is an elapsed minute for every year
//! the data covers.
//!
//! The State Council publishes each year's schedule only in the November before it, while deadlines
//! cross New Year every December. For the [`PROVISIONAL_YEARS`] years after the official data, the
//! calendar therefore uses the statutory holidays alone (see [`statutory_days_off`]): the fixed-date
//! ones, and the lunar ones (春节, 端午, 中秋) and 清明 computed from the calendar. Such a year is
//! marked provisional ([`WorkCalendar::is_provisional`]); when the notice appears, load it and the
//! official days replace the provisional ones. Beyond that horizon, and before the data, the calendar
//! never guesses: it fails with [`CalendarError::YearNotCovered`]. The module is pure: time comes in
//! as arguments, nothing reads the clock.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike,
    Utc, Weekday,
};
use chrono_tz::Tz;

/// The time zone in which working hours and working days are defined.
pub const TIMEZONE: Tz = chrono_tz::Asia::Shanghai;

/// China's official public holidays and make-up working days (调休上班), 2020–2026.
///
/// Source: the `holidays`, `workdays` and `in_lieu_days` tables of the PyPI package
/// `chinese-calendar` 1.11.0 (MIT, maintained by hand from the State Council notices
/// 国务院办公厅关于…部分节假日安排的通知), exported unchanged by `shared/data/china-holidays` (see its
/// PROVENANCE.md). Columns: `date,kind,name,name_zh,weekday,in_lieu`; `kind` is `holiday` (a day
/// off, weekend days inside a holiday block included) or `workday` (a Saturday or Sunday that is a
/// working day).
const CHINA_HOLIDAYS_CSV: &str = include_str!("../data/china_holidays_2020_2026.csv");

/// Years after the official data for which the statutory holidays stand in for the notice.
pub const PROVISIONAL_YEARS: i32 = 5;

/// The days off that China's statute fixes for `year`, before any State Council notice adds bridge
/// days and 调休: 《全国年节及纪念日放假办法》 as revised in 2024 (in force from 2025) — 元旦 1 day
/// (1 Jan), 春节 4 days (除夕 to 初三), 清明 1 day, 劳动节 2 days (1–2 May), 端午 1 day (5/5 lunar),
/// 中秋 1 day (15/8 lunar), 国庆 3 days (1–3 Oct). Lunar dates come from the `chinese-lunisolar-calendar`
/// crate; 清明 from the usual solar-term formula for 2001–2099.
///
/// A provisional year misses the notice's bridge days (deadlines may fall a day early near a
/// holiday) and its make-up Saturdays (a deadline may fall a day late). `None` outside 2001–2099.
pub fn statutory_days_off(year: i32) -> Option<Vec<NaiveDate>> {
    use chinese_lunisolar_calendar::LunisolarDate;
    if !(2001..=2099).contains(&year) {
        return None;
    }
    let lunar = |lunar_year: i32, month: u8, day: u8| -> Option<NaiveDate> {
        let date =
            LunisolarDate::from_ymd(u16::try_from(lunar_year).ok()?, month, false, day).ok()?;
        Some(date.to_naive_date())
    };
    let fixed = |month: u32, day: u32| NaiveDate::from_ymd_opt(year, month, day);
    // 清明: the day the sun reaches 15° longitude; for 2001–2099, floor(Y·0.2422 + 4.81) − floor(Y/4)
    // of April, Y = year − 2000 (checked against the official data 2020–2026 by a test).
    let y = year - 2000;
    let qingming = (f64::from(y) * 0.2422 + 4.81).floor() as u32 - (y / 4) as u32;
    let new_year = lunar(year, 1, 1)?;
    let mut days = vec![
        fixed(1, 1)?,
        new_year.pred_opt()?,
        new_year,
        new_year.succ_opt()?,
        new_year.succ_opt()?.succ_opt()?,
        fixed(4, qingming)?,
        fixed(5, 1)?,
        fixed(5, 2)?,
        lunar(year, 5, 5)?,
        lunar(year, 8, 15)?,
        fixed(10, 1)?,
        fixed(10, 2)?,
        fixed(10, 3)?,
    ];
    days.sort();
    days.dedup();
    Some(days)
}

/// Why a calendar could not be built or could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// A date falls in a year that the holiday data does not cover: an explicit error, never a
    /// guess.
    #[error("the working-time calendar has no holiday data for {year} (it covers {first}–{last}, the last years provisionally)")]
    YearNotCovered { year: i32, first: i32, last: i32 },
    /// The holiday CSV is malformed; `line` is the 1-based line in the CSV text.
    #[error("holiday data line {line}: {reason}")]
    BadHolidayData { line: usize, reason: String },
    /// A working-hours specification is malformed or inconsistent.
    #[error("working hours are invalid: {0}")]
    BadWorkingHours(String),
}

/// Builds a constant time; evaluated at compile time, so a bad constant fails the build, not a run.
const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid constant time"),
    }
}

/// Standard Chinese office hours: 09:00–12:00 and 13:30–18:00 (7.5 hours).
const DEFAULT_PERIODS: [(NaiveTime, NaiveTime); 2] =
    [(hm(9, 0), hm(12, 0)), (hm(13, 30), hm(18, 0))];

/// The daily working periods, e.g. 09:00–12:00 and 13:30–18:00 (the default).
///
/// Periods are whole minutes, sorted, non-overlapping (they may touch), each with start < end, so a
/// period cannot cross midnight and the latest possible end is 23:59. Serialized as the spec string
/// `"09:00-12:00,13:30-18:00"` so that a deserialized value is validated like a parsed one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkingHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

impl WorkingHours {
    /// Validates and sorts the periods. Rejects an empty list (no working time would make every
    /// deadline unreachable), times with seconds, empty or inverted periods, and overlaps.
    pub fn new(mut periods: Vec<(NaiveTime, NaiveTime)>) -> Result<Self, CalendarError> {
        if periods.is_empty() {
            return Err(CalendarError::BadWorkingHours(
                "at least one working period is needed".to_string(),
            ));
        }
        for &(start, end) in &periods {
            for time in [start, end] {
                if time.second() != 0 || time.nanosecond() != 0 {
                    return Err(CalendarError::BadWorkingHours(format!(
                        "{time} is not a whole minute"
                    )));
                }
            }
            if start >= end {
                return Err(CalendarError::BadWorkingHours(format!(
                    "{} does not end after it starts (a period cannot cross midnight)",
                    fmt_period(start, end)
                )));
            }
        }
        periods.sort();
        for pair in periods.windows(2) {
            let ((s1, e1), (s2, e2)) = (pair[0], pair[1]);
            if s2 < e1 {
                return Err(CalendarError::BadWorkingHours(format!(
                    "{} overlaps {}",
                    fmt_period(s1, e1),
                    fmt_period(s2, e2)
                )));
            }
        }
        Ok(Self { periods })
    }

    /// Parses "09:00-12:00,13:30-18:00" (periods separated by commas, `HH:MM-HH:MM`; an en dash is
    /// accepted too, and spaces around the parts are ignored).
    pub fn parse(spec: &str) -> Result<Self, CalendarError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(CalendarError::BadWorkingHours(
                "the specification is empty".to_string(),
            ));
        }
        let mut periods = Vec::new();
        for part in spec.split(',') {
            let part = part.trim();
            let (start, end) = part.split_once(['-', '–']).ok_or_else(|| {
                CalendarError::BadWorkingHours(format!("{part:?} is not a period HH:MM-HH:MM"))
            })?;
            periods.push((parse_hhmm(start.trim())?, parse_hhmm(end.trim())?));
        }
        Self::new(periods)
    }

    /// The periods, sorted by start time.
    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// Working minutes in one full working day (450 for the default hours).
    pub fn minutes_per_day(&self) -> i64 {
        self.day_length().num_minutes()
    }

    fn day_length(&self) -> TimeDelta {
        self.periods
            .iter()
            .map(|&(start, end)| end - start)
            .fold(TimeDelta::zero(), |sum, length| sum + length)
    }
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self {
            periods: DEFAULT_PERIODS.to_vec(),
        }
    }
}

/// Writes the spec form that [`WorkingHours::parse`] reads back.
impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(start, end)) in self.periods.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&fmt_period(start, end))?;
        }
        Ok(())
    }
}

impl FromStr for WorkingHours {
    type Err = CalendarError;
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        Self::parse(spec)
    }
}

impl TryFrom<String> for WorkingHours {
    type Error = CalendarError;
    fn try_from(spec: String) -> Result<Self, Self::Error> {
        Self::parse(&spec)
    }
}

impl From<WorkingHours> for String {
    fn from(hours: WorkingHours) -> String {
        hours.to_string()
    }
}

fn fmt_period(start: NaiveTime, end: NaiveTime) -> String {
    format!("{}-{}", start.format("%H:%M"), end.format("%H:%M"))
}

fn parse_hhmm(text: &str) -> Result<NaiveTime, CalendarError> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| CalendarError::BadWorkingHours(format!("{text:?} is not a time HH:MM")))
}

/// The parsed holiday table, shared (behind an `Arc`) by every calendar built from it.
#[derive(Debug)]
struct HolidayData {
    /// Dates whose status the data states explicitly: `true` = working day, `false` = day off.
    listed: BTreeMap<NaiveDate, bool>,
    first_year: i32,
    last_year: i32,
    /// Statutory days off of the years after `last_year` (see [`statutory_days_off`]).
    provisional_off: std::collections::BTreeSet<NaiveDate>,
    /// The last year the provisional days reach (= `last_year` when none could be computed).
    provisional_last_year: i32,
}

impl HolidayData {
    fn parse(csv_text: &str) -> Result<Self, CalendarError> {
        let bad = |line: usize, reason: String| CalendarError::BadHolidayData { line, reason };
        let line_of = |position: Option<&csv::Position>| position.map_or(0, |p| p.line() as usize);

        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(csv_text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| bad(line_of(e.position()), e.to_string()))?
            .clone();
        let column = |name: &str| headers.iter().position(|h| h == name);
        let date_col = column("date").ok_or_else(|| bad(1, "no `date` column".to_string()))?;
        let kind_col = column("kind").ok_or_else(|| bad(1, "no `kind` column".to_string()))?;
        // Optional, but when present it is a cheap check against mistyped dates.
        let weekday_col = column("weekday");

        let mut listed: BTreeMap<NaiveDate, (bool, usize)> = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| bad(line_of(e.position()), e.to_string()))?;
            let line = line_of(record.position());
            let field = |col: usize| record.get(col).unwrap_or("");

            let date_text = field(date_col);
            let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d")
                .map_err(|_| bad(line, format!("{date_text:?} is not a date YYYY-MM-DD")))?;
            if !(1900..=9999).contains(&date.year()) {
                return Err(bad(line, format!("{date} is outside the years 1900–9999")));
            }
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            let working = match (field(kind_col), weekend) {
                ("holiday", _) => false,
                ("workday", true) => true,
                ("workday", false) => {
                    let reason = format!("{date} is a weekday; a `workday` must be a Sat or Sun");
                    return Err(bad(line, reason));
                }
                (other, _) => {
                    let reason = format!("kind {other:?} is neither `holiday` nor `workday`");
                    return Err(bad(line, reason));
                }
            };
            if let Some(col) = weekday_col {
                let stated = field(col);
                let actual = date.weekday().to_string();
                if !stated.is_empty() && stated != actual {
                    return Err(bad(
                        line,
                        format!("{date} is a {actual}, but the row says {stated}"),
                    ));
                }
            }
            if let Some(&(_, earlier)) = listed.get(&date) {
                return Err(bad(
                    line,
                    format!("{date} is already listed on line {earlier}"),
                ));
            }
            listed.insert(date, (working, line));
        }

        // A year is covered only if it has rows, and every year between the first and the last must
        // have rows: a gap would mean data is missing, and "it covers first–last" would be untrue.
        let mut first_line_of_year: BTreeMap<i32, usize> = BTreeMap::new();
        for (date, &(_, line)) in &listed {
            first_line_of_year.entry(date.year()).or_insert(line);
        }
        let years: Vec<(i32, usize)> = first_line_of_year.into_iter().collect();
        let (Some(&(first_year, _)), Some(&(last_year, _))) = (years.first(), years.last()) else {
            return Err(bad(1, "the data has no rows".to_string()));
        };
        for pair in years.windows(2) {
            let ((previous, _), (next, line)) = (pair[0], pair[1]);
            if next != previous + 1 {
                let missing = if next - previous == 2 {
                    (previous + 1).to_string()
                } else {
                    format!("{}–{}", previous + 1, next - 1)
                };
                return Err(bad(
                    line,
                    format!(
                        "no rows for {missing}; every year from the first to the last needs rows"
                    ),
                ));
            }
        }

        let mut provisional_off = std::collections::BTreeSet::new();
        let mut provisional_last_year = last_year;
        for year in last_year + 1..=last_year + PROVISIONAL_YEARS {
            match statutory_days_off(year) {
                Some(days) => {
                    provisional_off.extend(days);
                    provisional_last_year = year;
                }
                None => break,
            }
        }
        Ok(Self {
            listed: listed
                .into_iter()
                .map(|(date, (working, _))| (date, working))
                .collect(),
            first_year,
            last_year,
            provisional_off,
            provisional_last_year,
        })
    }
}

/// Working days (official holiday data) plus daily working hours, in Asia/Shanghai time.
///
/// Cheap to clone: the holiday table is shared.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    data: Arc<HolidayData>,
    hours: WorkingHours,
}

impl WorkCalendar {
    /// The official calendar 2020–2026 with the default working hours.
    ///
    /// The embedded table is parsed once per process and shared.
    pub fn china() -> WorkCalendar {
        static CHINA: OnceLock<Arc<HolidayData>> = OnceLock::new();
        let data = CHINA.get_or_init(|| {
            Arc::new(
                HolidayData::parse(CHINA_HOLIDAYS_CSV)
                    .expect("the embedded China holiday CSV is valid (checked by a unit test)"),
            )
        });
        WorkCalendar {
            data: Arc::clone(data),
            hours: WorkingHours::default(),
        }
    }

    /// Builds a calendar from CSV text with at least the columns `date` and `kind` (the format of
    /// the embedded file), e.g. for a later year's data or tests.
    pub fn from_csv(csv_text: &str, hours: WorkingHours) -> Result<WorkCalendar, CalendarError> {
        Ok(WorkCalendar {
            data: Arc::new(HolidayData::parse(csv_text)?),
            hours,
        })
    }

    /// The same days with other daily hours (e.g. a district's own office hours).
    pub fn with_hours(self, hours: WorkingHours) -> WorkCalendar {
        WorkCalendar { hours, ..self }
    }

    /// The daily working periods in use.
    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// First and last year covered by the data (years that have at least one row).
    pub fn covered_years(&self) -> (i32, i32) {
        (self.data.first_year, self.data.last_year)
    }

    /// The last year with provisional days (statutory holidays only), after the official data.
    pub fn provisional_until(&self) -> i32 {
        self.data.provisional_last_year
    }

    /// Whether `date` lies in a year the calendar answers for provisionally (no official notice).
    pub fn is_provisional(&self, date: NaiveDate) -> bool {
        date.year() > self.data.last_year && date.year() <= self.data.provisional_last_year
    }

    /// Whether `date` (a Shanghai calendar date) is a working day: listed dates as the data says,
    /// otherwise Monday–Friday; in a provisional year, Monday–Friday except statutory holidays.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        let first = self.data.first_year;
        let last = self.data.provisional_last_year;
        let year = date.year();
        if year < first || year > last {
            return Err(CalendarError::YearNotCovered { year, first, last });
        }
        let weekday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if year > self.data.last_year {
            return Ok(weekday && !self.data.provisional_off.contains(&date));
        }
        Ok(match self.data.listed.get(&date) {
            Some(&working) => working,
            None => weekday,
        })
    }

    /// The instant when `minutes` working minutes have elapsed after `start` (minutes >= 0; 0
    /// returns start). If the count ends exactly at the end of a working period, the answer is that
    /// end (12:00, not 13:30).
    ///
    /// A start outside working time counts from the next working moment. A negative count is
    /// treated as 0. A day's status is looked up only if the count reaches into its working periods
    /// (a start after hours on 2019-12-31 needs no 2019 data); a count that runs past the data
    /// fails with [`CalendarError::YearNotCovered`]. Full working days are stepped whole, so the
    /// cost is one table lookup per calendar day.
    pub fn add_working_minutes(
        &self,
        start: DateTime<Utc>,
        minutes: i64,
    ) -> Result<DateTime<Utc>, CalendarError> {
        if minutes <= 0 {
            return Ok(start);
        }
        // Beyond TimeDelta's range (~292 million years) the count cannot end inside the data
        // anyway.
        let mut remaining = TimeDelta::try_minutes(minutes).unwrap_or(TimeDelta::MAX);
        let periods = self.hours.periods();
        let day_length = self.hours.day_length();
        let (day_start, day_end) = match (periods.first(), periods.last()) {
            (Some(&(start, _)), Some(&(_, end))) => (start, end),
            // `WorkingHours::new` rejects an empty list; without periods no count can finish.
            _ => {
                return Err(CalendarError::BadWorkingHours(
                    "no working periods".to_string(),
                ))
            }
        };

        let local_start = to_local(start);
        let mut date = local_start.date();
        // The earliest moment on `date` that may still be counted.
        let mut from = local_start;
        loop {
            if from.time() < day_end && self.is_working_day(date)? {
                if from.time() <= day_start && remaining > day_length {
                    // Strictly greater: a count that ends on this day goes through the periods
                    // below, so it ends at a period end rather than the next morning.
                    remaining -= day_length;
                } else {
                    for &(period_start, period_end) in periods {
                        let period_end = date.and_time(period_end);
                        if from >= period_end {
                            continue;
                        }
                        let segment_start = from.max(date.and_time(period_start));
                        let available = period_end - segment_start;
                        if remaining <= available {
                            return Ok(to_utc(segment_start + remaining));
                        }
                        remaining -= available;
                    }
                }
            }
            date = self.next_day(date)?;
            from = date.and_time(NaiveTime::MIN);
        }
    }

    /// Convenience: hours * 60.
    pub fn add_working_hours(
        &self,
        start: DateTime<Utc>,
        hours: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        self.add_working_minutes(start, i64::from(hours) * 60)
    }

    /// Working minutes in [from, to); 0 if to <= from.
    ///
    /// A partial minute (only possible when `from` or `to` has seconds) is rounded down. Only days
    /// whose working periods intersect the interval are looked up, one lookup per calendar day.
    pub fn working_minutes_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        if to <= from {
            return Ok(0);
        }
        let (from, to) = (to_local(from), to_local(to));
        let mut total = TimeDelta::zero();
        let mut date = from.date();
        while date <= to.date() {
            let mut in_day = TimeDelta::zero();
            for &(period_start, period_end) in self.hours.periods() {
                let start = date.and_time(period_start).max(from);
                let end = date.and_time(period_end).min(to);
                if start < end {
                    in_day += end - start;
                }
            }
            if in_day > TimeDelta::zero() && self.is_working_day(date)? {
                total += in_day;
            }
            if date == to.date() {
                break;
            }
            date = self.next_day(date)?;
        }
        Ok(total.num_minutes())
    }

    fn next_day(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let (first, last) = (self.data.first_year, self.data.provisional_last_year);
        date.succ_opt().ok_or(CalendarError::YearNotCovered {
            year: date.year().saturating_add(1),
            first,
            last,
        })
    }
}

fn to_local(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&TIMEZONE).naive_local()
}

fn to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    match TIMEZONE.from_local_datetime(&local).earliest() {
        Some(instant) => instant.with_timezone(&Utc),
        // A wall-clock time skipped by a DST jump (Shanghai: only 1986–1991, before any data):
        // read it with the offset in force just before the jump.
        None => {
            let before = local - TimeDelta::days(1);
            let offset = TIMEZONE.offset_from_local_datetime(&before).earliest();
            let seconds = offset.map_or(8 * 3600, |o| o.fix().local_minus_utc());
            Utc.from_utc_datetime(&(local - TimeDelta::seconds(i64::from(seconds))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), CalendarError>;

    fn cal() -> WorkCalendar {
        WorkCalendar::china()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    /// A Shanghai wall-clock time as a UTC instant.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        TIMEZONE
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid Shanghai time")
            .with_timezone(&Utc)
    }

    fn hours(spec: &str) -> WorkingHours {
        WorkingHours::parse(spec).expect("valid test spec")
    }

    // The embedded file must parse, or `china()` would panic; the counts are those in
    // PROVENANCE.md.
    #[test]
    fn embedded_data_is_valid() -> R {
        let data = HolidayData::parse(CHINA_HOLIDAYS_CSV)?;
        assert_eq!((data.first_year, data.last_year), (2020, 2026));
        assert_eq!(data.listed.len(), 256);
        assert_eq!(data.listed.values().filter(|&&w| !w).count(), 210);
        assert_eq!(data.listed.values().filter(|&&w| w).count(), 46);
        assert_eq!(cal().covered_years(), (2020, 2026));
        assert_eq!(cal().hours(), &WorkingHours::default());
        Ok(())
    }

    // Working days per year, counted independently by a Python script over the same CSV; also
    // checks that a whole-year `working_minutes_between` is day-granular and exact.
    #[test]
    fn working_days_per_year() -> R {
        let cal = cal();
        for (year, days) in [(2021, 250), (2023, 249), (2024, 251), (2025, 248)] {
            let mut count = 0;
            let mut d = date(year, 1, 1);
            while d.year() == year {
                count += i32::from(cal.is_working_day(d)?);
                d = d.succ_opt().expect("next day");
            }
            assert_eq!(count, days, "{year}");
            let minutes =
                cal.working_minutes_between(at(year, 1, 1, 0, 0), at(year, 12, 31, 23, 59))?;
            assert_eq!(minutes, i64::from(days) * 450, "{year}");
        }
        Ok(())
    }

    // National Day 2021: 10-01..10-07 off; Sunday 09-26 and Saturday 10-09 are make-up working
    // days; Friday 10-08 is an ordinary working day (not in the file).
    #[test]
    fn national_day_2021_days() -> R {
        let cal = cal();
        for day in 1..=7 {
            assert!(
                !cal.is_working_day(date(2021, 10, day))?,
                "2021-10-{day:02}"
            );
        }
        assert!(cal.is_working_day(date(2021, 9, 26))?);
        assert!(cal.is_working_day(date(2021, 10, 8))?);
        assert!(cal.is_working_day(date(2021, 10, 9))?);
        assert!(!cal.is_working_day(date(2021, 10, 10))?); // ordinary Sunday
        Ok(())
    }

    // Reported Thursday 2021-09-30 17:00 with an 8-hour limit: 1 h on 09-30 (17:00–18:00); the
    // holiday week 10-01..10-07 is skipped; the next working day is Friday 10-08 (not in the file,
    // so an ordinary weekday), not make-up Saturday 10-09: 09:00–12:00 (3 h) + 13:30–17:30 (4 h).
    #[test]
    fn national_day_2021_deadline() -> R {
        let cal = cal();
        let reported = at(2021, 9, 30, 17, 0);
        let due = cal.add_working_hours(reported, 8)?;
        assert_eq!(due, at(2021, 10, 8, 17, 30));
        assert_eq!(
            due.with_timezone(&TIMEZONE).to_rfc3339(),
            "2021-10-08T17:30:00+08:00"
        );
        assert_eq!(cal.working_minutes_between(reported, due)?, 480);
        // 16 h: 1 h + 7.5 h on 10-08 leave exactly one full day, which ends at 18:00 on make-up
        // Saturday 10-09 (end-of-period rule), not on Monday 10-11.
        assert_eq!(cal.add_working_hours(reported, 16)?, at(2021, 10, 9, 18, 0));
        // Make-up Saturday 10-09 counts: 10-08 17:00 + 2 h = 1 h on Friday + 1 h on Saturday.
        assert_eq!(
            cal.add_working_hours(at(2021, 10, 8, 17, 0), 2)?,
            at(2021, 10, 9, 10, 0)
        );
        Ok(())
    }

    // Saturday 2021-09-25 is an ordinary day off, Sunday 09-26 a make-up working day.
    #[test]
    fn sunday_makeup_day_2021_09_26_counts() -> R {
        let cal = cal();
        assert!(!cal.is_working_day(date(2021, 9, 25))?);
        assert_eq!(
            cal.add_working_hours(at(2021, 9, 25, 10, 0), 1)?,
            at(2021, 9, 26, 10, 0)
        );
        Ok(())
    }

    // Spring Festival 2024: 02-10..02-17 off (Monday 02-12 included); Sundays 02-04 and 02-18 are
    // make-up working days. The eve, Friday 02-09, was a working day that year.
    #[test]
    fn spring_festival_2024() -> R {
        let cal = cal();
        for day in 10..=17 {
            assert!(!cal.is_working_day(date(2024, 2, day))?, "2024-02-{day:02}");
        }
        assert_eq!(date(2024, 2, 12).weekday(), Weekday::Mon);
        assert!(!cal.is_working_day(date(2024, 2, 12))?);
        assert_eq!(date(2024, 2, 4).weekday(), Weekday::Sun);
        assert_eq!(date(2024, 2, 18).weekday(), Weekday::Sun);
        assert!(cal.is_working_day(date(2024, 2, 4))?);
        assert!(cal.is_working_day(date(2024, 2, 18))?);
        assert!(cal.is_working_day(date(2024, 2, 9))?);
        // 1 h on the eve, then the next working moment is Sunday 02-18 09:00.
        assert_eq!(
            cal.add_working_hours(at(2024, 2, 9, 17, 0), 2)?,
            at(2024, 2, 18, 10, 0)
        );
        // Saturday 02-03 10:00 + 1 h lands on make-up Sunday 02-04.
        assert_eq!(
            cal.add_working_hours(at(2024, 2, 3, 10, 0), 1)?,
            at(2024, 2, 4, 10, 0)
        );
        Ok(())
    }

    // November 2021 has no holiday rows: Friday 11-05 17:00 + 2 h skips the weekend to Monday
    // 11-08.
    #[test]
    fn normal_weekend_is_skipped() -> R {
        let cal = cal();
        assert!(!cal.is_working_day(date(2021, 11, 6))?);
        assert!(!cal.is_working_day(date(2021, 11, 7))?);
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 5, 17, 0), 2)?,
            at(2021, 11, 8, 10, 0)
        );
        Ok(())
    }

    // 11:30 + 1 h: 30 min before lunch, 30 min after 13:30.
    #[test]
    fn lunch_break_is_skipped() -> R {
        assert_eq!(
            cal().add_working_hours(at(2021, 11, 3, 11, 30), 1)?,
            at(2021, 11, 3, 14, 0)
        );
        Ok(())
    }

    // A count that ends exactly at a period end is due at that end, not at the next period's start.
    #[test]
    fn count_ending_at_period_end_stops_there() -> R {
        let cal = cal();
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 11, 0), 1)?,
            at(2021, 11, 3, 12, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 17, 0), 1)?,
            at(2021, 11, 3, 18, 0)
        );
        // A full day from a morning start ends at 18:00 that day.
        assert_eq!(
            cal.add_working_minutes(at(2021, 11, 3, 9, 0), 450)?,
            at(2021, 11, 3, 18, 0)
        );
        // One more minute goes to the next morning.
        assert_eq!(
            cal.add_working_minutes(at(2021, 11, 3, 9, 0), 451)?,
            at(2021, 11, 4, 9, 1)
        );
        Ok(())
    }

    // Time outside working periods does not count: the clock starts at the next working moment.
    #[test]
    fn start_outside_hours() -> R {
        let cal = cal();
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 7, 0), 1)?,
            at(2021, 11, 3, 10, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 20, 0), 1)?,
            at(2021, 11, 4, 10, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 5, 20, 0), 1)?,
            at(2021, 11, 8, 10, 0)
        );
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 12, 30), 1)?,
            at(2021, 11, 3, 14, 30)
        );
        // Just after midnight Shanghai time is still the previous day in UTC; the local day
        // decides.
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 0, 30), 1)?,
            at(2021, 11, 3, 10, 0)
        );
        Ok(())
    }

    // Zero (and, defensively, negative) counts return the start unchanged, even outside hours.
    #[test]
    fn zero_minutes_returns_start() -> R {
        let cal = cal();
        let start = at(2021, 11, 3, 20, 0);
        assert_eq!(cal.add_working_minutes(start, 0)?, start);
        assert_eq!(cal.add_working_minutes(start, -5)?, start);
        Ok(())
    }

    // Sub-minute starts keep their seconds; between() rounds a partial minute down.
    #[test]
    fn seconds_are_preserved() -> R {
        let cal = cal();
        let start = at(2021, 11, 3, 10, 0) + TimeDelta::seconds(30);
        assert_eq!(
            cal.add_working_minutes(start, 120)?,
            at(2021, 11, 3, 13, 30) + TimeDelta::seconds(30)
        );
        assert_eq!(
            cal.working_minutes_between(start, at(2021, 11, 3, 10, 2))?,
            1
        );
        Ok(())
    }

    #[test]
    fn working_minutes_between_basics() -> R {
        let cal = cal();
        // Empty and reversed intervals.
        let t = at(2021, 11, 3, 10, 0);
        assert_eq!(cal.working_minutes_between(t, t)?, 0);
        assert_eq!(cal.working_minutes_between(t, at(2021, 11, 3, 9, 0))?, 0);
        // Monday 2021-11-01 00:00 to Monday 11-08 00:00: five ordinary days.
        assert_eq!(
            cal.working_minutes_between(at(2021, 11, 1, 0, 0), at(2021, 11, 8, 0, 0))?,
            5 * 450
        );
        // Golden week 2021-10-01..10-08 00:00: no working time at all.
        assert_eq!(
            cal.working_minutes_between(at(2021, 10, 1, 0, 0), at(2021, 10, 8, 0, 0))?,
            0
        );
        // Half-open: [11:00, 12:00) within the morning, and the lunch break adds nothing.
        assert_eq!(
            cal.working_minutes_between(at(2021, 11, 3, 11, 0), at(2021, 11, 3, 13, 30))?,
            60
        );
        Ok(())
    }

    // Property: counting the minutes up to a computed deadline gives back the count, and a deadline
    // is never earlier than the start. Starts every 37 minutes across the 2021 autumn holidays.
    #[test]
    fn between_inverts_add() -> R {
        let cal = cal();
        let mut start = at(2021, 9, 15, 0, 0);
        let end = at(2021, 10, 15, 0, 0);
        let durations = [
            0, 1, 29, 30, 89, 90, 180, 181, 270, 449, 450, 451, 900, 3000, 10_000,
        ];
        while start < end {
            for &m in &durations {
                let due = cal.add_working_minutes(start, m)?;
                assert!(due >= start);
                assert_eq!(cal.working_minutes_between(start, due)?, m, "{start} + {m}");
                if m > 0 {
                    // Minimal: one minute earlier, the count is not yet reached.
                    let earlier = due - TimeDelta::minutes(1);
                    assert_eq!(
                        cal.working_minutes_between(start, earlier)?,
                        m - 1,
                        "{start} + {m}"
                    );
                }
            }
            start += TimeDelta::minutes(37);
        }
        Ok(())
    }

    proptest::proptest! {
        // Property over the whole covered range: add and between agree for any start and count,
        // unless the count runs past the provisional years, which must then be the explicit error.
        #[test]
        fn add_and_between_agree(start_minute in 0i64..(7 * 366 * 24 * 60), m in 0i64..200_000) {
            let cal = cal();
            let start = at(2020, 1, 1, 0, 0) + TimeDelta::minutes(start_minute);
            match cal.add_working_minutes(start, m) {
                Ok(due) => {
                    proptest::prop_assert!(due >= start);
                    proptest::prop_assert_eq!(cal.working_minutes_between(start, due), Ok(m));
                }
                Err(err) => proptest::prop_assert_eq!(
                    err,
                    CalendarError::YearNotCovered { year: 2032, first: 2020, last: 2031 }
                ),
            }
        }
    }

    // 2,000 working hours (≈ 267 working days) is stepped by whole days and stays exact.
    #[test]
    fn long_durations_are_exact() -> R {
        let cal = cal();
        let start = at(2024, 1, 2, 9, 0);
        let due = cal.add_working_hours(start, 2000)?;
        assert_eq!(cal.working_minutes_between(start, due)?, 120_000);
        // 120,000 / 450 = 266 full days + 300 min, so it ends at 15:30 (3 h + 2 h after 13:30).
        assert_eq!(due.with_timezone(&TIMEZONE).time(), hm(15, 30));
        Ok(())
    }

    // Years outside the data and its provisional years are an explicit error naming the year, never a
    // Mon–Fri guess.
    #[test]
    fn years_not_covered() {
        let cal = cal();
        let uncovered = |year| CalendarError::YearNotCovered {
            year,
            first: 2020,
            last: 2031,
        };
        for year in [2019, 2032] {
            let err = cal
                .is_working_day(date(year, 6, 3))
                .expect_err("uncovered year");
            assert_eq!(err, uncovered(year));
            assert!(err.to_string().contains(&year.to_string()), "{err}");
        }
        // 20,000 hours from 2026-12-01 runs past the provisional years.
        assert_eq!(
            cal.add_working_hours(at(2026, 12, 1, 9, 0), 20_000),
            Err(uncovered(2032))
        );
        // Starting inside 2019 working hours needs 2019's status.
        assert_eq!(
            cal.add_working_hours(at(2019, 12, 31, 10, 0), 1),
            Err(uncovered(2019))
        );
        assert_eq!(
            cal.working_minutes_between(at(2019, 12, 31, 10, 0), at(2020, 1, 2, 10, 0)),
            Err(uncovered(2019))
        );
    }

    // Deadlines cross New Year before the next notice is out: 2027 works, provisionally.
    #[test]
    fn the_years_after_the_data_are_provisional_with_statutory_holidays() -> R {
        let cal = cal();
        assert_eq!(cal.provisional_until(), 2031);
        assert!(!cal.is_provisional(date(2026, 12, 31)));
        assert!(cal.is_provisional(date(2027, 1, 4)));
        // 元旦 2027 is a Friday; Monday 4 January is a working day.
        assert!(!cal.is_working_day(date(2027, 1, 1))?);
        assert!(cal.is_working_day(date(2027, 1, 4))?);
        assert_eq!(
            cal.working_minutes_between(at(2026, 12, 31, 10, 0), at(2027, 1, 4, 10, 0))?,
            (450 - 60) + 60
        );
        // 春节 2027: 除夕 is Friday 5 February, 初三 Monday 8 February; Tuesday 9 works.
        assert!(!cal.is_working_day(date(2027, 2, 5))?);
        assert!(!cal.is_working_day(date(2027, 2, 8))?);
        assert!(cal.is_working_day(date(2027, 2, 9))?);
        // 国庆 1–3 October 2027 is Friday to Sunday; Monday 4 works (no bridge days without a notice).
        assert!(!cal.is_working_day(date(2027, 10, 1))?);
        assert!(cal.is_working_day(date(2027, 10, 4))?);
        Ok(())
    }

    // The statute's days are days off in every official schedule the data holds. From 2025 the statute
    // has 除夕 and 2 May; before that, 春节 was 初一–初三 and 劳动节 one day.
    #[test]
    fn statutory_days_are_off_in_every_official_year() -> R {
        let cal = cal();
        for year in 2020..=2026 {
            let days = statutory_days_off(year).expect("statutory days");
            // 13 days, one fewer when 中秋 falls on 1 October (2020).
            assert!((12..=13).contains(&days.len()), "{year}: {days:?}");
            for day in days {
                let newer_only = year < 2025
                    && (day == date(year, 5, 2)
                        || statutory_days_off(year)
                            .and_then(|d| d.get(1).copied())
                            .is_some_and(|eve| eve == day && day.month() <= 2));
                if newer_only {
                    continue;
                }
                assert!(
                    !cal.is_working_day(day)?,
                    "{day} is statutory but a working day"
                );
            }
        }
        assert_eq!(statutory_days_off(2000), None);
        assert_eq!(statutory_days_off(2100), None);
        Ok(())
    }

    // Starting after hours on 2019-12-31 needs no 2019 working time: New Year's Day 2020 is off,
    // so the count runs on Thursday 2020-01-02.
    #[test]
    fn evening_before_coverage_is_fine() -> R {
        assert_eq!(
            cal().add_working_hours(at(2019, 12, 31, 20, 0), 1)?,
            at(2020, 1, 2, 10, 0)
        );
        Ok(())
    }

    // A district with its own office hours: 08:30–12:00 and 14:00–17:30 (7 h).
    #[test]
    fn custom_working_hours() -> R {
        let custom = hours("08:30-12:00,14:00-17:30");
        assert_eq!(custom.minutes_per_day(), 420);
        assert_eq!(
            custom.periods(),
            &[(hm(8, 30), hm(12, 0)), (hm(14, 0), hm(17, 30))]
        );
        let cal = cal().with_hours(custom.clone());
        assert_eq!(cal.hours(), &custom);
        assert_eq!(cal.covered_years(), (2020, 2026));
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 8, 0), 1)?,
            at(2021, 11, 3, 9, 30)
        );
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 11, 30), 1)?,
            at(2021, 11, 3, 14, 30)
        );
        assert_eq!(
            cal.add_working_hours(at(2021, 11, 3, 17, 0), 1)?,
            at(2021, 11, 4, 9, 0)
        );
        assert_eq!(
            cal.working_minutes_between(at(2021, 11, 3, 0, 0), at(2021, 11, 4, 0, 0))?,
            420
        );
        // Single period, unsorted input with spaces and an en dash, default equivalence.
        assert_eq!(hours("09:00-17:00").minutes_per_day(), 480);
        assert_eq!(
            hours(" 13:30 – 18:00 , 09:00-12:00 "),
            WorkingHours::default()
        );
        assert_eq!(WorkingHours::default().minutes_per_day(), 450);
        // Touching periods are allowed.
        assert_eq!(hours("09:00-12:00,12:00-13:00").minutes_per_day(), 240);
        Ok(())
    }

    // The spec string round-trips through Display/parse and serde, and serde validates.
    #[test]
    fn working_hours_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let default = WorkingHours::default();
        assert_eq!(default.to_string(), "09:00-12:00,13:30-18:00");
        assert_eq!(WorkingHours::parse(&default.to_string())?, default);
        let json = serde_json::to_string(&default)?;
        assert_eq!(json, "\"09:00-12:00,13:30-18:00\"");
        assert_eq!(serde_json::from_str::<WorkingHours>(&json)?, default);
        assert!(serde_json::from_str::<WorkingHours>("\"18:00-09:00\"").is_err());
        assert_eq!(
            "08:00-12:00".parse::<WorkingHours>()?.minutes_per_day(),
            240
        );
        Ok(())
    }

    // Inverted, malformed, overlapping and empty specs are rejected, not silently fixed.
    #[test]
    fn bad_working_hours_rejected() {
        for spec in [
            "18:00-09:00",             // inverted (would cross midnight)
            "09:00-09:00",             // empty period
            "9-12",                    // not HH:MM
            "09:00-12:00,11:00-13:00", // overlapping
            "09:00-12:00,09:00-12:00", // duplicate
            "",                        // nothing
            "09:00",                   // no end
            "09:00-12:00,",            // trailing comma
            "25:00-26:00",             // not a time
            "09:00:30-12:00",          // seconds
        ] {
            let result = WorkingHours::parse(spec);
            assert!(
                matches!(result, Err(CalendarError::BadWorkingHours(_))),
                "{spec:?} gave {result:?}"
            );
        }
        assert!(WorkingHours::new(Vec::new()).is_err());
        let with_seconds = NaiveTime::from_hms_opt(9, 0, 30).expect("valid time");
        assert!(WorkingHours::new(vec![(with_seconds, hm(12, 0))]).is_err());
    }

    fn csv_error_line(text: &str) -> Option<usize> {
        match WorkCalendar::from_csv(text, WorkingHours::default()) {
            Err(CalendarError::BadHolidayData { line, .. }) => Some(line),
            _ => None,
        }
    }

    // Malformed holiday data fails with the offending line, so a bad update is caught on load.
    #[test]
    fn bad_holiday_data_rejected() {
        let header = "date,kind,name,name_zh,weekday,in_lieu\n";
        let ok = "2021-10-01,holiday,National Day,国庆节,Fri,false\n";
        let cases: [(&str, usize); 8] = [
            ("2021-10-01,vacation,National Day,国庆节,Fri,false\n", 2), // unknown kind
            ("2021-13-01,holiday,National Day,国庆节,Fri,false\n", 2),  // bad date
            ("2021-10-08,workday,National Day,国庆节,Fri,false\n", 2),  // workday on a Friday
            ("2021-10-02,holiday,National Day,国庆节,Fri,false\n", 2),  // weekday mismatch
            ("2021-10-01,holiday,x\n", 2),                              // wrong field count
            ("", 1),                                                    // no rows
            ("2021-10-01,holiday,National Day,国庆节,Fri,false\n", 3),  // duplicate (after `ok`)
            ("2023-10-01,holiday,National Day,国庆节,Sun,false\n", 3),  // 2022 missing
        ];
        for (i, (row, line)) in cases.into_iter().enumerate() {
            let text = if i >= 6 {
                format!("{header}{ok}{row}")
            } else {
                format!("{header}{row}")
            };
            assert_eq!(csv_error_line(&text), Some(line), "{text}");
        }
        assert_eq!(csv_error_line("day,kind\n2021-10-01,holiday\n"), Some(1)); // no `date` column
    }

    // A minimal custom table works and defines its own coverage.
    #[test]
    fn from_csv_minimal() -> R {
        let cal = WorkCalendar::from_csv(
            "date,kind\n2021-10-01,holiday\n2021-10-09,workday\n",
            WorkingHours::default(),
        )?;
        assert_eq!(cal.covered_years(), (2021, 2021));
        assert!(!cal.is_working_day(date(2021, 10, 1))?);
        assert!(cal.is_working_day(date(2021, 10, 9))?);
        assert!(cal.is_working_day(date(2021, 10, 4))?); // not listed here: ordinary Monday
                                                         // The next years are provisional; beyond them, an error.
        assert!(cal.is_provisional(date(2022, 1, 4)));
        assert!(!cal.is_working_day(date(2022, 1, 31))?); // 除夕, a Monday
        assert!(cal.is_working_day(date(2027, 1, 4)).is_err());
        Ok(())
    }
}
