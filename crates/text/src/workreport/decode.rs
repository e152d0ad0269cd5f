//! Bytes → text: UTF-8 as it is, a Chinese legacy encoding (GBK, GB18030, Big5) detected and converted,
//! UTF-16 with a byte-order mark, or without one but recognised by what it decodes to, converted; binary, empty
//! and oversized files refused with a reason.

use encoding_rs::Encoding;

use super::{CleaningStep, StepKind, WorkReportError};

/// The largest file read by default: 16 MiB, about 150 long work reports. A larger file is refused rather than
/// read, because it is almost certainly not one report (and its output would be unreadable).
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// How much of the file is sniffed for binary content.
const SNIFF_BYTES: usize = 64 * 1024;

/// A decoded file.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub text: String,
    /// The encoding the bytes were in: `UTF-8`, `GB18030` (which reads GBK, its subset), `Big5`, `UTF-16LE`,
    /// `UTF-16BE`.
    pub encoding: &'static str,
    /// A byte-order mark opened the file; it is not part of `text` (offsets do not count it).
    pub had_bom: bool,
    /// Undecodable byte sequences replaced by U+FFFD (a few are tolerated, see [`decode`]).
    pub replaced: usize,
    /// UTF-16 without a byte-order mark, recognised by its NUL bytes and what it decodes to.
    pub detected_utf16: bool,
}

impl Decoded {
    /// Whether the bytes were converted from an encoding other than UTF-8.
    pub fn converted(&self) -> bool {
        self.encoding != "UTF-8"
    }

    /// The decoding as a cleaning step, when it did anything worth telling.
    pub fn step(&self) -> Option<CleaningStep> {
        let mut notes = Vec::new();
        if self.converted() {
            let name = if self.encoding == "GB18030" {
                "GB18030 (or GBK, its subset)"
            } else {
                self.encoding
            };
            let how = if self.detected_utf16 {
                " without a byte-order mark (recognised by its NUL bytes and what it decodes to)"
            } else {
                ""
            };
            notes.push(format!(
                "the file is in {name}{how}, converted to UTF-8 (offsets count characters of the converted text)"
            ));
        }
        if self.had_bom {
            notes.push(
                "a byte-order mark opened the file; it is not counted in offsets".to_string(),
            );
        }
        if self.replaced > 0 {
            notes.push(format!(
                "{} undecodable byte sequences were replaced with U+FFFD",
                self.replaced
            ));
        }
        if notes.is_empty() {
            return None;
        }
        Some(CleaningStep {
            kind: StepKind::Encoding,
            start: 0,
            end: 0,
            original: String::new(),
            replacement: String::new(),
            note: notes.join("; "),
        })
    }
}

/// Decodes a file's bytes.
///
/// Refused: more than `max_bytes` ([`WorkReportError::TooLarge`]), no bytes ([`WorkReportError::Empty`]), only
/// whitespace ([`WorkReportError::Blank`]), a known binary format or bytes that are not text such as NUL
/// ([`WorkReportError::Binary`]), and an encoding that is neither UTF-8 nor a Chinese one
/// ([`WorkReportError::UnknownEncoding`]). Text with a few damaged bytes (at most one replacement in a hundred
/// characters) is read with U+FFFD in their place and the count reported; more is
/// [`WorkReportError::Undecodable`] (or, for what is not Chinese text, [`WorkReportError::UnknownEncoding`]).
pub fn decode(bytes: &[u8], max_bytes: u64) -> Result<Decoded, WorkReportError> {
    let length = bytes.len() as u64;
    if length > max_bytes {
        return Err(WorkReportError::TooLarge {
            bytes: length,
            limit: max_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(WorkReportError::Empty);
    }
    // UTF-16 is full of NUL bytes, so its byte-order mark is looked for before the binary check.
    if let Some((encoding, bom_length)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_length..]);
        let replaced = if had_errors {
            text.chars().filter(|&c| c == '\u{FFFD}').count()
        } else {
            0
        };
        return finish(text.into_owned(), display_name(encoding), true, replaced);
    }
    if let Some(kind) = infer::get(bytes) {
        if kind.matcher_type() != infer::MatcherType::Text {
            return Err(WorkReportError::Binary {
                what: format!(
                    "a {} file ({})",
                    kind.extension().to_uppercase(),
                    kind.mime_type()
                ),
            });
        }
    }
    let sniffed = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let control_bytes = sniffed
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    if sniffed.contains(&0) || control_bytes * 100 > sniffed.len() {
        // UTF-16 saved without a byte-order mark: every ASCII character has a NUL byte, so it looks binary.
        if let Some(encoding) = utf16_without_bom(bytes) {
            let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
            let replaced = if had_errors {
                text.chars().filter(|&c| c == '\u{FFFD}').count()
            } else {
                0
            };
            let mut decoded = finish(text.into_owned(), display_name(encoding), false, replaced)?;
            decoded.detected_utf16 = true;
            return Ok(decoded);
        }
        return Err(WorkReportError::Binary {
            what: "binary data (it contains NUL or control bytes that text does not)".to_string(),
        });
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return finish(text.to_string(), "UTF-8", false, 0);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let guess = detector.guess(None, chardetng::Utf8Detection::Allow);
    // encoding_rs reads GBK with the GB18030 decoder (a superset), as the WHATWG Encoding standard does.
    let chinese = if guess == encoding_rs::GBK || guess == encoding_rs::GB18030 {
        Some(encoding_rs::GB18030)
    } else if guess == encoding_rs::BIG5 {
        Some(encoding_rs::BIG5)
    } else {
        None
    };
    if let Some(encoding) = chinese {
        let (text, _, had_errors) = encoding.decode(bytes);
        let replaced = if had_errors {
            text.chars().filter(|&c| c == '\u{FFFD}').count()
        } else {
            0
        };
        let total = text.chars().count();
        if replaced * 100 > total {
            return Err(WorkReportError::Undecodable {
                encoding: display_name(encoding).to_string(),
                bad: replaced,
                total,
            });
        }
        return finish(text.into_owned(), display_name(encoding), false, replaced);
    }
    // Damaged UTF-8: a few bad sequences in otherwise valid text.
    let lossy = String::from_utf8_lossy(bytes);
    let replaced = lossy.chars().filter(|&c| c == '\u{FFFD}').count();
    let total = lossy.chars().count();
    if replaced * 100 <= total
        && lossy
            .chars()
            .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
    {
        return finish(lossy.into_owned(), "UTF-8", false, replaced);
    }
    Err(WorkReportError::UnknownEncoding {
        guess: guess.name().to_string(),
    })
}

/// Whether `bytes` are UTF-16 text without a byte-order mark, and which endianness: an even length and, decoded
/// that way, no broken surrogate and nothing but text (at least 98 % CJK, ASCII letters, digits, punctuation
/// and line ends), with at least one Chinese character in ten. Random bytes decode to such text with a
/// vanishing probability (a code unit is text about one time in three).
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let sniffed = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let nul_at = |parity: usize| {
        sniffed
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    // ASCII characters put their NUL at odd positions in little-endian, at even ones in big-endian; a Chinese
    // character whose low byte is 0 (一, U+4E00) puts one on the other side, so the side decides only the order
    // in which both are tried: what the bytes decode to decides.
    let (even, odd) = (nul_at(0), nul_at(1));
    let candidates = if odd >= even {
        [encoding_rs::UTF_16LE, encoding_rs::UTF_16BE]
    } else {
        [encoding_rs::UTF_16BE, encoding_rs::UTF_16LE]
    };
    candidates.iter().copied().find(|&encoding| {
        // The sniffed part may end inside a surrogate pair: its last unit is left out when it opens one.
        let mut sample = sniffed;
        if let [.., a, b] = sample {
            let last = if encoding == encoding_rs::UTF_16LE {
                u16::from_le_bytes([*a, *b])
            } else {
                u16::from_be_bytes([*a, *b])
            };
            if (0xD800..0xDC00).contains(&last) {
                sample = &sample[..sample.len() - 2];
            }
        }
        let (text, had_errors) = encoding.decode_without_bom_handling(sample);
        if had_errors {
            return false;
        }
        let (mut total, mut texty, mut hanzi) = (0usize, 0usize, 0usize);
        for c in text.chars() {
            total += 1;
            let is_hanzi =
                ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c);
            hanzi += usize::from(is_hanzi);
            let is_text = is_hanzi
                || matches!(c, '\n' | '\r' | '\t' | ' '..='~')
                || ('\u{2000}'..='\u{206F}').contains(&c)
                || ('\u{3000}'..='\u{303F}').contains(&c)
                || ('\u{FF00}'..='\u{FFEF}').contains(&c)
                || ('\u{2460}'..='\u{24FF}').contains(&c)
                || matches!(
                    c,
                    '\u{00B7}' | '\u{00D7}' | '\u{2116}' | '\u{2160}'..='\u{217F}'
                );
            texty += usize::from(is_text);
        }
        total > 0 && texty * 100 >= total * 98 && hanzi * 10 >= total
    })
}

/// The name people know an encoding by.
fn display_name(encoding: &'static Encoding) -> &'static str {
    match encoding.name() {
        "gb18030" | "GBK" => "GB18030",
        name => name,
    }
}

fn finish(
    text: String,
    encoding: &'static str,
    had_bom: bool,
    replaced: usize,
) -> Result<Decoded, WorkReportError> {
    if text.trim().is_empty() {
        return Err(if text.is_empty() {
            WorkReportError::Empty
        } else {
            WorkReportError::Blank
        });
    }
    Ok(Decoded {
        text,
        encoding,
        had_bom,
        replaced,
        detected_utf16: false,
    })
}
