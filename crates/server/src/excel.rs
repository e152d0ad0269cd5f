//! Dates in Excel workbooks, one way for every export and import: calendar days and wall-clock
//! times to `ExcelDateTime` for writing (rust_xlsxwriter), and serial day numbers to dates for
//! reading (calamine).

use std::fmt::Display;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, XlsxError};

/// The day of `at` as an Excel date. Excel holds 1900 to 9999 (and its day 0, 1899-12-31); any
/// other day is an error, one naming `at` when the year is not even a u16.
pub fn excel_date(at: &(impl Datelike + Display)) -> Result<ExcelDateTime, XlsxError> {
    let year =
        u16::try_from(at.year()).map_err(|_| XlsxError::DateTimeRangeError(at.to_string()))?;
    // Month and day always fit in u8.
    ExcelDateTime::from_ymd(year, at.month() as u8, at.day() as u8)
}

/// A wall-clock time as an Excel date-time (to the second).
pub fn excel_date_time(at: NaiveDateTime) -> Result<ExcelDateTime, XlsxError> {
    // Hour and minute always fit in u16 / u8.
    excel_date(&at)?.and_hms(at.hour() as u16, at.minute() as u8, at.second())
}

/// The date of an Excel serial day number (the 1900 date system as Excel counts it, so day 1 is
/// 1899-12-31 and days after February 1900 are right); any fraction of a day is dropped. None
/// below 1, beyond 9999-12-31 (2 958 465) and for NaN.
pub fn date_from_serial(serial: f64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|base| base.checked_add_days(Days::new(serial.max(0.0) as u64)))
        .filter(|_| (1.0..2_958_466.0).contains(&serial))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn serials_read_as_excel_shows_them() {
        assert_eq!(date_from_serial(1.0), Some(day(1899, 12, 31)));
        assert_eq!(date_from_serial(45_717.0), Some(day(2025, 3, 1)));
        assert_eq!(date_from_serial(45_717.75), Some(day(2025, 3, 1)));
        assert_eq!(date_from_serial(2_958_465.0), Some(day(9999, 12, 31)));
        for bad in [0.0, 0.5, -3.0, 2_958_466.0, f64::NAN, f64::INFINITY] {
            assert_eq!(date_from_serial(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_round_trip_through_serials() {
        for d in [day(1950, 1, 1), day(2025, 3, 1), day(2199, 12, 31)] {
            let written = excel_date(&d).map(|x| x.to_excel());
            assert_eq!(written.ok().and_then(date_from_serial), Some(d));
        }
    }

    #[test]
    fn years_excel_cannot_hold_are_errors() {
        assert!(excel_date(&day(1899, 12, 30)).is_err());
        assert!(excel_date(&day(1900, 1, 1)).is_ok());
        assert!(excel_date(&day(470, 1, 1)).is_err());
        assert!(excel_date(&day(-5, 1, 1)).is_err());
    }
}
