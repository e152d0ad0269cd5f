//! Timestamps in JSON, byte for byte as chrono's serde writes them (RFC 3339 in UTC with `Z`, the
//! fraction of a second in 0, 3, 6 or 9 digits), but formatted into a stack buffer and handed to the
//! serializer as one string.
//!
//! Why not chrono's own: it writes through `fmt` a piece at a time, and through serde_json's
//! `collect_str` escaping adapter; that was about 27k instructions per report at intake, where the
//! event, the case row and the answer each carry several timestamps (bench/api/README.md). Event
//! hashes are taken over these bytes, so the output must never differ from chrono's: the tests
//! compare the two over many values, and a year outside 0–9999 (which chrono writes with a sign) is
//! left to chrono.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// The longest text: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_LEN: usize = 30;

/// Writes `at` into `buffer` as chrono's serde does; `None` for a year chrono writes with a sign.
fn format(at: &DateTime<Utc>, buffer: &mut [u8; MAX_LEN]) -> Option<usize> {
    let year = at.year();
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (mut second, mut nano) = (at.second(), at.nanosecond());
    // A leap second is stored as nanoseconds past 1e9; chrono writes it as second 60.
    if nano >= 1_000_000_000 {
        second += 1;
        nano -= 1_000_000_000;
    }
    let two = |buffer: &mut [u8; MAX_LEN], at: usize, value: u32| {
        buffer[at] = b'0' + (value / 10 % 10) as u8;
        buffer[at + 1] = b'0' + (value % 10) as u8;
    };
    two(buffer, 0, year as u32 / 100);
    two(buffer, 2, year as u32 % 100);
    buffer[4] = b'-';
    two(buffer, 5, at.month());
    buffer[7] = b'-';
    two(buffer, 8, at.day());
    buffer[10] = b'T';
    two(buffer, 11, at.hour());
    buffer[13] = b':';
    two(buffer, 14, at.minute());
    buffer[16] = b':';
    two(buffer, 17, second);
    let mut len = 19;
    let (digits, mut fraction) = if nano == 0 {
        (0, 0)
    } else if nano % 1_000_000 == 0 {
        (3, nano / 1_000_000)
    } else if nano % 1_000 == 0 {
        (6, nano / 1_000)
    } else {
        (9, nano)
    };
    if digits > 0 {
        buffer[len] = b'.';
        for i in (0..digits).rev() {
            buffer[len + 1 + i] = b'0' + (fraction % 10) as u8;
            fraction /= 10;
        }
        len += 1 + digits;
    }
    buffer[len] = b'Z';
    Some(len + 1)
}

/// `#[serde(serialize_with = "crate::time_json::serialize")]` for a `DateTime<Utc>` field.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0u8; MAX_LEN];
    match format(at, &mut buffer) {
        // Only ASCII digits and separators were written.
        Some(len) => match std::str::from_utf8(&buffer[..len]) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serde::Serialize::serialize(at, serializer),
        },
        None => serde::Serialize::serialize(at, serializer),
    }
}

/// The same for a borrowed field (`at: &DateTime<Utc>`).
pub fn serialize_ref<S: Serializer>(at: &&DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serialize(at, serializer)
}

/// The same for an `Option<DateTime<Utc>>` field (`None` is `null`, as serde writes it).
pub fn serialize_option<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    #[derive(serde::Serialize)]
    struct Fast<'a> {
        #[serde(serialize_with = "serialize_ref")]
        at: &'a DateTime<Utc>,
        #[serde(serialize_with = "serialize_option")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(serde::Serialize)]
    struct Chrono<'a> {
        at: &'a DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    fn same(at: DateTime<Utc>) {
        let fast = serde_json::to_string(&Fast {
            at: &at,
            maybe: Some(at),
        })
        .expect("serializes");
        let chrono = serde_json::to_string(&Chrono {
            at: &at,
            maybe: Some(at),
        })
        .expect("serializes");
        assert_eq!(fast, chrono, "{at:?}");
    }

    #[test]
    fn matches_chrono_for_every_fraction_width() {
        let base = Utc
            .with_ymd_and_hms(2026, 11, 25, 21, 2, 56)
            .single()
            .expect("a valid time");
        for nanos in [
            0,
            1,
            9,
            10,
            999,
            1_000,
            1_001,
            120_000,
            999_999,
            1_000_000,
            5_000_000,
            123_000_000,
            123_456_000,
            123_456_789,
            999_999_999,
        ] {
            same(base + chrono::Duration::nanoseconds(nanos));
        }
    }

    #[test]
    fn matches_chrono_across_years_months_and_days() {
        // A walk with an odd stride visits every month, day, hour, minute and second pattern.
        let mut at = Utc
            .with_ymd_and_hms(1, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid time");
        let end = Utc
            .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
            .single()
            .expect("a valid time");
        let stride =
            chrono::Duration::seconds(7_654_321) + chrono::Duration::nanoseconds(4_321_001);
        let mut count = 0;
        while at < end {
            same(at);
            at += stride;
            count += 1;
        }
        assert!(count > 40_000, "walked {count} values");
        same(end);
        same(
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0)
                .single()
                .expect("a valid time"),
        );
    }

    #[test]
    fn leaves_signed_years_and_leap_seconds_to_the_same_text_as_chrono() {
        for year in [-1, 10_000, -44] {
            same(
                Utc.with_ymd_and_hms(year, 3, 15, 12, 0, 0)
                    .single()
                    .expect("a valid time"),
            );
        }
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .expect("a valid leap second")
            .and_utc();
        same(leap);
    }

    #[test]
    fn none_is_null() {
        let at = Utc::now();
        let json = serde_json::to_string(&Fast {
            at: &at,
            maybe: None,
        })
        .expect("serializes");
        assert!(json.ends_with(",\"maybe\":null}"), "{json}");
    }
}
