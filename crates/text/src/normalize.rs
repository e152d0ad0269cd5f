//! Text normalisation before features: width folding, traditional → simplified, case folding, whitespace.

/// Only this many characters of a message are read. Real bodies average ~400 characters; a longer input is
/// classified on its beginning so that a 1 MB paste costs microseconds, not seconds.
pub const MAX_INPUT_CHARS: usize = 8_192;

/// Normalises a message: full-width ASCII and the ideographic space become half-width, traditional characters
/// become simplified (character by character, `fast2s`), letters are lower-cased, control characters and runs
/// of whitespace become one space, and the ends are trimmed. Only the first [`MAX_INPUT_CHARS`] characters are
/// read.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_INPUT_CHARS * 4));
    let mut pending_space = false;
    for c in text.chars().take(MAX_INPUT_CHARS) {
        let c = fold_width(c);
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if is_caseless_cjk(c) {
            // Most of a Chinese message; skips the case tables' search.
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    if out.is_ascii() {
        out
    } else {
        fast2s::convert(&out)
    }
}

/// Full-width ASCII variants (U+FF01–U+FF5E) to ASCII, the ideographic space (U+3000) to a space.
fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// CJK punctuation, kana and unified ideographs (U+3000–U+9FFF): no character there has a case.
#[inline]
fn is_caseless_cjk(c: char) -> bool {
    ('\u{3000}'..='\u{9FFF}').contains(&c)
}

/// Whether a character carries meaning for classification: a letter (including CJK ideographs) or a digit.
#[inline]
pub fn is_content_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
        // CJK unified ideographs, every one assigned and alphabetic; skips the Unicode tables' search.
        true
    } else {
        c.is_alphanumeric()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_case_and_whitespace() {
        assert_eq!(
            normalize("  ＡＢＣ１２３　小区\t\n噪音！ "),
            "abc123 小区 噪音!"
        );
        assert_eq!(normalize("WiFi  信号"), "wifi 信号");
    }

    #[test]
    fn converts_traditional_to_simplified() {
        assert_eq!(normalize("關於學校噪聲問題"), "关于学校噪声问题");
        assert_eq!(normalize("醫療保險"), "医疗保险");
    }

    #[test]
    fn empty_and_whitespace_become_empty() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \t\u{3000}\r\n"), "");
        assert_eq!(normalize("\u{0}\u{7}"), "");
    }

    #[test]
    fn reads_only_the_beginning_of_a_huge_message() {
        let huge = "噪".repeat(MAX_INPUT_CHARS * 3);
        assert_eq!(normalize(&huge).chars().count(), MAX_INPUT_CHARS);
    }

    #[test]
    fn fast_paths_agree_with_the_unicode_tables() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(
                is_content_char(c),
                c.is_alphanumeric(),
                "{c:?} U+{:04X}",
                c as u32
            );
            if is_caseless_cjk(c) {
                assert!(c.to_lowercase().eq([c]), "{c:?} U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn keeps_emoji_and_mixed_scripts() {
        assert_eq!(normalize("😀 Straße ДОМ 房子"), "😀 straße дом 房子");
    }
}
