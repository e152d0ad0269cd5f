//! Numbers as work reports write them: Arabic (`1,600`, `6.7`) and Chinese (`两`, `十四`, `一百二十`, `千余`).
//!
//! The scanner only reads the number itself; whether a number is a quantity (and not a year, an ordinal or
//! the 「四」 of 「四个意识」) is decided by the extractor, which sees the context.

/// A number found in text: `chars[start..end]` is its written form.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub start: usize,
    pub end: usize,
    pub value: f64,
    /// Written in Chinese numerals (两、十、百…) rather than Arabic digits.
    pub chinese: bool,
    /// A trailing 万/亿/万亿 split off a Chinese numeral (「十四万」 is 14 with magnitude 万), so that it
    /// joins the unit as it does after Arabic digits (「14万人」).
    pub magnitude: Option<&'static str>,
    /// Written digit by digit (「二〇三五」), the way years are written: never a quantity.
    pub digit_string: bool,
}

/// The value of a Chinese digit (零〇 = 0, 两 = 2).
pub fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn small_unit(c: char) -> Option<f64> {
    Some(match c {
        '十' => 10.0,
        '百' => 100.0,
        '千' => 1000.0,
        _ => return None,
    })
}

fn big_unit(c: char) -> Option<f64> {
    Some(match c {
        '万' => 1e4,
        '亿' => 1e8,
        _ => return None,
    })
}

/// Whether `c` can be part of a Chinese numeral.
pub fn is_chinese_numeral_char(c: char) -> bool {
    chinese_digit(c).is_some() || small_unit(c).is_some() || big_unit(c).is_some()
}

/// The value of a Chinese numeral such as 「一百二十」 (120), 「两万」 (20000), 「十四」 (14). Returns the value
/// and whether it was written digit by digit (「二〇二一」, read as 2021).
pub fn parse_chinese(numeral: &[char]) -> Option<(f64, bool)> {
    if numeral.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut section = 0.0;
    let mut number: Option<f64> = None;
    let mut digit_string = String::new();
    let mut previous_was_digit = false;
    let mut consecutive_digits = false;
    for &c in numeral {
        if let Some(digit) = chinese_digit(c) {
            // 「三千零五」: a zero after a unit only holds a place.
            if digit == 0 && !previous_was_digit && !digit_string.is_empty() {
                continue;
            }
            if previous_was_digit {
                consecutive_digits = true;
            }
            digit_string.push(char::from_digit(digit, 10)?);
            number = Some(f64::from(digit));
            previous_was_digit = true;
        } else if let Some(unit) = small_unit(c) {
            // 「十」 alone means ten, 「十四」 fourteen.
            section += number.unwrap_or(1.0) * unit;
            number = None;
            previous_was_digit = false;
        } else if let Some(unit) = big_unit(c) {
            if unit >= 1e8 {
                total = (total + section + number.unwrap_or(0.0)) * unit;
                section = 0.0;
            } else {
                section = (section + number.unwrap_or(0.0)) * unit;
            }
            number = None;
            previous_was_digit = false;
        } else {
            return None;
        }
    }
    if consecutive_digits {
        let value = digit_string.parse::<f64>().ok()?;
        return Some((value, true));
    }
    Some((total + section + number.unwrap_or(0.0), false))
}

/// Reads the number starting at `start`, if one does: Arabic digits with an optional decimal part and
/// thousands commas, or a run of Chinese numerals. Full-width digits have been folded before.
pub fn read_number(chars: &[char], start: usize) -> Option<Number> {
    let first = *chars.get(start)?;
    if first.is_ascii_digit() {
        return Some(read_arabic(chars, start));
    }
    if !is_chinese_numeral_char(first) {
        return None;
    }
    let mut end = start;
    while end < chars.len() && is_chinese_numeral_char(chars[end]) {
        end += 1;
    }
    let run = &chars[start..end];
    // 「万」 or 「亿」 opening a run is a word (万达, 亿万), not a number.
    if big_unit(run[0]).is_some() {
        return None;
    }
    let mut digits_end = run.len();
    let mut magnitude = None;
    // A trailing magnitude is split off only when the digits before it have none of their own:
    // 「三亿五千万」 stays one value.
    let inner_big_unit = |digits: &[char]| digits.iter().any(|&c| big_unit(c).is_some());
    if run.len() >= 3
        && run[run.len() - 2..] == ['万', '亿']
        && !inner_big_unit(&run[..run.len() - 2])
        && run[run.len() - 2..] == ['万', '亿']
    {
        digits_end -= 2;
        magnitude = Some("万亿");
    } else if let (Some(last), false) = (run.last(), inner_big_unit(&run[..run.len() - 1])) {
        match last {
            '万' => {
                digits_end -= 1;
                magnitude = Some("万");
            }
            '亿' => {
                digits_end -= 1;
                magnitude = Some("亿");
            }
            _ => {}
        }
    }
    let (value, digit_string) = parse_chinese(&run[..digits_end])?;
    Some(Number {
        start,
        end,
        value,
        chinese: true,
        magnitude,
        digit_string,
    })
}

fn read_arabic(chars: &[char], start: usize) -> Number {
    let mut end = start;
    let mut text = String::new();
    let mut seen_point = false;
    while end < chars.len() {
        let c = chars[end];
        if c.is_ascii_digit() {
            text.push(c);
            end += 1;
        } else if c == '.' && !seen_point && chars.get(end + 1).is_some_and(char::is_ascii_digit) {
            seen_point = true;
            text.push('.');
            end += 1;
        } else if c == ','
            && !seen_point
            && (1..=3).all(|k| chars.get(end + k).is_some_and(char::is_ascii_digit))
            && !chars.get(end + 4).is_some_and(char::is_ascii_digit)
        {
            // A thousands separator: exactly three digits follow.
            end += 1;
        } else {
            break;
        }
    }
    Number {
        start,
        end,
        value: text.parse::<f64>().unwrap_or(0.0),
        chinese: false,
        magnitude: None,
        digit_string: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chinese(text: &str) -> Option<f64> {
        let chars: Vec<char> = text.chars().collect();
        parse_chinese(&chars).map(|(value, _)| value)
    }

    #[test]
    fn chinese_numerals() {
        assert_eq!(chinese("十"), Some(10.0));
        assert_eq!(chinese("十四"), Some(14.0));
        assert_eq!(chinese("二十"), Some(20.0));
        assert_eq!(chinese("一百二十"), Some(120.0));
        assert_eq!(chinese("两千"), Some(2000.0));
        assert_eq!(chinese("三千零五"), Some(3005.0));
        assert_eq!(chinese("一万二千"), Some(12000.0));
        assert_eq!(chinese("三亿五千万"), Some(350_000_000.0));
        assert_eq!(chinese("一万亿"), Some(1e12));
        assert_eq!(chinese("千"), Some(1000.0));
        assert_eq!(chinese("二〇三五"), Some(2035.0));
        assert_eq!(
            parse_chinese(&['二', '〇', '三', '五']),
            Some((2035.0, true))
        );
    }

    #[test]
    fn reads_numbers_with_their_magnitude() {
        let chars: Vec<char> = "十四万人".chars().collect();
        let number = read_number(&chars, 0).expect("a number");
        assert_eq!(
            (number.value, number.magnitude, number.end),
            (14.0, Some("万"), 3)
        );
        let chars: Vec<char> = "1,600亿元，6.7%".chars().collect();
        let number = read_number(&chars, 0).expect("a number");
        assert_eq!((number.value, number.end), (1600.0, 5));
        let number = read_number(&chars, 8).expect("a number");
        assert_eq!((number.value, number.end), (6.7, 11));
        let chars: Vec<char> = "万达".chars().collect();
        assert_eq!(read_number(&chars, 0), None);
    }
}
