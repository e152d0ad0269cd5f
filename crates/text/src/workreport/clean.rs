//! Cleaning a report's text before extraction, keeping a map from every cleaned character back to the
//! original one, and a list of the steps taken with their original positions so that a person can check them.
//!
//! Steps, in order: characters (invisible characters dropped, full-width digits and letters folded, traditional
//! forms outside the GB2312 simplified set converted); continuation marks 「(上接第13版)」; lines (page headers
//! 「14 | 要闻」, running titles 「东丽区政府工作报告」, editors' lines and the slogans a newspaper page ends
//! with); column breaks (a paragraph that stops mid-sentence is joined to the next); spaces between Chinese
//! characters; passages repeated by the layout (80 characters or more that already appeared earlier).
//!
//! Cleaning only removes characters or replaces one character by one, so every cleaned character has exactly
//! one original character.

use std::collections::HashMap;
use std::fmt;

/// What a cleaning step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepKind {
    /// The file was converted from another encoding, or had a byte-order mark (position 0–0).
    Encoding,
    /// Zero-width, soft-hyphen or control characters dropped.
    Invisible,
    /// Full-width digits, letters and signs (１２％) folded to ASCII.
    FullWidth,
    /// Footnote marks (circled numbers ①–㊿) dropped.
    FootnoteMark,
    /// A traditional form (壓) replaced by its simplified one (压).
    TraditionalForm,
    /// A newspaper page header or page number line (「14 | 要闻」, 「- 3 -」, a date line).
    PageHeader,
    /// A continuation mark (「(上接第13版)」, 「（下转第15版）」).
    ContinuationMark,
    /// The report's title repeated as a running head in the middle of the text.
    RunningTitle,
    /// Other page furniture: editors' lines, the slogans or advertisement words closing a page.
    PageFurniture,
    /// A paragraph cut mid-sentence by a column or page break joined to its continuation.
    ColumnBreakJoin,
    /// Spaces between two Chinese characters (OCR spacing) dropped.
    SpaceBetweenHanzi,
    /// A passage that repeats an earlier one (the layout printed it twice) dropped.
    RepeatedPassage,
}

impl StepKind {
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Encoding => "encoding",
            StepKind::Invisible => "invisible_character",
            StepKind::FullWidth => "full_width",
            StepKind::FootnoteMark => "footnote_mark",
            StepKind::TraditionalForm => "traditional_form",
            StepKind::PageHeader => "page_header",
            StepKind::ContinuationMark => "continuation_mark",
            StepKind::RunningTitle => "running_title",
            StepKind::PageFurniture => "page_furniture",
            StepKind::ColumnBreakJoin => "column_break_join",
            StepKind::SpaceBetweenHanzi => "space_between_hanzi",
            StepKind::RepeatedPassage => "repeated_passage",
        }
    }
}

/// One cleaning step: `original[start..end]` (character offsets into the original text) became `replacement`.
#[derive(Debug, Clone, PartialEq)]
pub struct CleaningStep {
    pub kind: StepKind,
    pub start: usize,
    pub end: usize,
    pub original: String,
    pub replacement: String,
    pub note: String,
}

impl fmt::Display for CleaningStep {
    /// One line: `at 2–9 page_header: 「14 | 要闻」 removed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}–{} {}", self.start, self.end, self.kind.name())?;
        if !self.original.is_empty() {
            write!(f, ": 「{}」", shorten(&self.original))?;
            if self.replacement.is_empty() {
                write!(f, " removed")?;
            } else {
                write!(f, " → 「{}」", shorten(&self.replacement))?;
            }
        }
        if !self.note.is_empty() {
            write!(f, " ({})", self.note)?;
        }
        Ok(())
    }
}

/// Shows line ends as ⏎ and elides the middle of long text, so a step stays on one line.
fn shorten(text: &str) -> String {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c == '\n' { '⏎' } else { c })
        .collect();
    if chars.len() <= 40 {
        return chars.into_iter().collect();
    }
    let head: String = chars[..16].iter().collect();
    let tail: String = chars[chars.len() - 16..].iter().collect();
    format!("{head}…{tail} ({} characters)", chars.len())
}

/// The cleaned text, the map back to the original, and the steps.
#[derive(Debug, Clone)]
pub struct Cleaned {
    pub chars: Vec<char>,
    /// `origin[i]` is the original character offset of `chars[i]`.
    pub origin: Vec<usize>,
    pub original: Vec<char>,
    pub steps: Vec<CleaningStep>,
}

impl Cleaned {
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// The original span `[start, end)` covering the cleaned span `[clean_start, clean_end)` (non-empty).
    pub fn original_span(&self, clean_start: usize, clean_end: usize) -> (usize, usize) {
        let start = self.origin[clean_start];
        let end = self.origin[clean_end.max(clean_start + 1) - 1] + 1;
        (start, end)
    }

    /// The original text of an original span.
    pub fn original_text(&self, start: usize, end: usize) -> String {
        self.original[start..end].iter().collect()
    }
}

/// A passage at least this long that already appeared is a repetition by the layout. The longest repeat
/// in eight clean 2024 reports is 55 characters (a formula such as 「以习近平新时代中国特色社会主义思想为指导，…」).
pub const MIN_REPEATED_PASSAGE: usize = 80;

/// A line at most this long without punctuation can be a heading, a running title or page furniture.
const SHORT_LINE: usize = 30;

/// Characters that end a sentence or a paragraph: a line ending with anything else stops mid-sentence.
fn is_terminal(c: char) -> bool {
    matches!(
        c,
        '。' | '！'
            | '？'
            | '；'
            | '：'
            | '…'
            | '”'
            | '’'
            | '」'
            | '』'
            | '）'
            | ')'
            | '】'
            | '》'
            | '!'
            | '?'
            | ';'
            | ':'
    )
}

fn is_punctuation(c: char) -> bool {
    matches!(
        c,
        '，' | '。' | '、' | '；' | '：' | '！' | '？' | ',' | ';' | ':' | '!' | '?'
    )
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';')
}

/// CJK ideographs, CJK punctuation and full-width forms: no space belongs between two of them.
fn is_cjk(c: char) -> bool {
    ('\u{3000}'..='\u{9FFF}').contains(&c) || ('\u{FF00}'..='\u{FFEF}').contains(&c)
}

fn is_hanzi(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// Whether a line opens with a section number: 一、 / （一） / (一) / 第一部分 / 1. / （1）.
pub fn heading_number_length(line: &[char]) -> Option<usize> {
    let is_chinese_digit = |c: char| {
        matches!(
            c,
            '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十'
        )
    };
    let first = *line.first()?;
    if is_chinese_digit(first) {
        let digits = line.iter().take_while(|&&c| is_chinese_digit(c)).count();
        if digits <= 3 && matches!(line.get(digits), Some('、' | '，' | '.' | '．')) {
            return Some(digits + 1);
        }
        return None;
    }
    if first == '（' || first == '(' {
        let digits = line[1..]
            .iter()
            .take_while(|&&c| is_chinese_digit(c) || c.is_ascii_digit())
            .count();
        if (1..=3).contains(&digits) && matches!(line.get(1 + digits), Some('）' | ')')) {
            return Some(digits + 2);
        }
        return None;
    }
    if first == '第' {
        let digits = line[1..]
            .iter()
            .take_while(|&&c| is_chinese_digit(c))
            .count();
        let rest: String = line.iter().skip(1 + digits).take(2).collect();
        if (1..=3).contains(&digits) && (rest == "部分" || rest.starts_with('章')) {
            return Some(1 + digits + rest.chars().count());
        }
        return None;
    }
    if first.is_ascii_digit() {
        let digits = line.iter().take_while(|c| c.is_ascii_digit()).count();
        // 「1.」 or 「1、」 but not 「1.5」.
        if digits <= 2
            && matches!(line.get(digits), Some('.' | '、' | '．'))
            && !line.get(digits + 1).is_some_and(char::is_ascii_digit)
        {
            return Some(digits + 1);
        }
    }
    None
}

/// A line that is only a heading: numbered without a sentence end, or short without punctuation and without a
/// quantity (「地区生产总值增长6.7%以上」 alone on its line is a target listed one a line, not a heading).
pub fn is_heading_line(line: &[char]) -> bool {
    if line.is_empty() {
        return false;
    }
    if heading_number_length(line).is_some() {
        return !line.iter().any(|&c| is_sentence_end(c)) && line.len() <= 80;
    }
    is_title_like(line)
}

/// Cleans a report's text.
pub fn clean(text: &str) -> Cleaned {
    let original: Vec<char> = text.chars().collect();
    let mut steps = Vec::new();
    let (chars, origin) = fold_characters(&original, &mut steps);
    let (chars, origin) = remove_continuation_marks(&chars, &origin, &original, &mut steps);
    let (chars, origin) = clean_lines(&chars, &origin, &original, &mut steps);
    let (chars, origin) = remove_spaces_between_hanzi(&chars, &origin, &original, &mut steps);
    let (chars, origin) = remove_repeated_passages(&chars, &origin, &original, &mut steps);
    steps.sort_by_key(|step| (step.start, step.end, step.kind));
    Cleaned {
        chars,
        origin,
        original,
        steps,
    }
}

/// Collects consecutive changes of one kind into one step.
struct RunRecorder {
    current: Option<CleaningStep>,
}

impl RunRecorder {
    fn record(
        &mut self,
        steps: &mut Vec<CleaningStep>,
        kind: StepKind,
        index: usize,
        from: char,
        to: Option<char>,
    ) {
        if let Some(step) = &mut self.current {
            if step.kind == kind && step.end == index {
                step.end = index + 1;
                step.original.push(from);
                step.replacement.extend(to);
                return;
            }
        }
        self.flush(steps);
        self.current = Some(CleaningStep {
            kind,
            start: index,
            end: index + 1,
            original: from.to_string(),
            replacement: to.map(String::from).unwrap_or_default(),
            note: String::new(),
        });
    }

    fn flush(&mut self, steps: &mut Vec<CleaningStep>) {
        if let Some(mut step) = self.current.take() {
            if step.kind == StepKind::Invisible {
                step.note = step
                    .original
                    .chars()
                    .map(|c| format!("U+{:04X}", c as u32))
                    .collect::<Vec<_>>()
                    .join(" ");
                step.original.clear();
            }
            steps.push(step);
        }
    }
}

/// Whether `c` is one of the 6,763 hanzi of GB2312, the simplified set: such a character is never converted,
/// even where a traditional-to-simplified table maps it (捍 → 扞, 呵 → 嗬 and 乾 → 干 would damage text).
fn is_gb2312_hanzi(c: char) -> bool {
    let mut buffer = [0u8; 4];
    let (bytes, _, had_unmappable) = encoding_rs::GBK.encode(c.encode_utf8(&mut buffer));
    !had_unmappable
        && bytes.len() == 2
        && (0xB0..=0xF7).contains(&bytes[0])
        && (0xA1..=0xFE).contains(&bytes[1])
}

fn simplified_form(c: char) -> Option<char> {
    if !is_hanzi(c)
        && !('\u{3400}'..='\u{4DBF}').contains(&c)
        && !('\u{F900}'..='\u{FAFF}').contains(&c)
    {
        return None;
    }
    let mut buffer = [0u8; 4];
    let converted = fast2s::convert(c.encode_utf8(&mut buffer));
    let mut converted_chars = converted.chars();
    let simplified = converted_chars.next()?;
    // 槃 (涅槃) lies outside GB2312 but is no traditional form; the table maps it to 盘.
    if converted_chars.next().is_some() || simplified == c || is_gb2312_hanzi(c) || c == '槃' {
        return None;
    }
    Some(simplified)
}

/// Line ends normalised, invisible characters dropped, full-width ASCII folded, traditional forms simplified.
fn fold_characters(original: &[char], steps: &mut Vec<CleaningStep>) -> (Vec<char>, Vec<usize>) {
    let mut chars = Vec::with_capacity(original.len());
    let mut origin = Vec::with_capacity(original.len());
    let mut recorder = RunRecorder { current: None };
    // Converting the whole text at once is fast; characters that changed are checked one by one.
    let text: String = original.iter().collect();
    let whole: Vec<char> = fast2s::convert(&text).chars().collect();
    let aligned = whole.len() == original.len();
    for (index, &c) in original.iter().enumerate() {
        let folded = match c {
            '\r' => {
                if original.get(index + 1) != Some(&'\n') {
                    chars.push('\n');
                    origin.push(index);
                }
                continue;
            }
            '\n' => '\n',
            '\u{000B}' | '\u{000C}' | '\u{0085}' | '\u{2028}' | '\u{2029}' => '\n',
            '\t' | '\u{00A0}' | '\u{3000}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => {
                ' '
            }
            '\u{FEFF}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{00AD}' => {
                recorder.record(steps, StepKind::Invisible, index, c, None);
                continue;
            }
            c if c.is_control() => {
                recorder.record(steps, StepKind::Invisible, index, c, None);
                continue;
            }
            // Circled numbers (①, ⑬, ㉒) are footnote marks in reports; they would split words.
            '\u{2460}'..='\u{2473}'
            | '\u{2776}'..='\u{2793}'
            | '\u{3251}'..='\u{325F}'
            | '\u{32B1}'..='\u{32BF}' => {
                recorder.record(steps, StepKind::FootnoteMark, index, c, None);
                continue;
            }
            '\u{FF10}'..='\u{FF19}'
            | '\u{FF21}'..='\u{FF3A}'
            | '\u{FF41}'..='\u{FF5A}'
            | '％'
            | '．'
            | '＋'
            | '－'
            | '／'
            | '＜'
            | '＞'
            | '＝' => {
                let ascii = char::from_u32(c as u32 - 0xFEE0).unwrap_or(c);
                recorder.record(steps, StepKind::FullWidth, index, c, Some(ascii));
                ascii
            }
            c if !c.is_ascii() && (!aligned || whole[index] != c) => match simplified_form(c) {
                Some(simplified) => {
                    recorder.record(steps, StepKind::TraditionalForm, index, c, Some(simplified));
                    simplified
                }
                None => c,
            },
            c => c,
        };
        chars.push(folded);
        origin.push(index);
    }
    recorder.flush(steps);
    (chars, origin)
}

/// The length of a continuation mark starting at `start`: 「(上接第13版)」, 「（下转第十五版）」, 「(转第3页)」.
fn continuation_mark_length(chars: &[char], start: usize) -> Option<usize> {
    if !matches!(chars.get(start), Some('(' | '（')) {
        return None;
    }
    let mut i = start + 1;
    let skip_spaces = |i: &mut usize| {
        while chars.get(*i) == Some(&' ') {
            *i += 1;
        }
    };
    skip_spaces(&mut i);
    let verbs = ["上接", "下转", "紧接", "转至", "接", "转", "续"];
    let verb = verbs.iter().find(|verb| {
        verb.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    })?;
    i += verb.chars().count();
    skip_spaces(&mut i);
    if chars.get(i) == Some(&'第') {
        i += 1;
    }
    skip_spaces(&mut i);
    let digits_start = i;
    while chars.get(i).is_some_and(|&c| {
        c.is_ascii_digit() || super::numerals::chinese_digit(c).is_some() || c == '十'
    }) {
        i += 1;
    }
    if i == digits_start || i - digits_start > 4 {
        return None;
    }
    skip_spaces(&mut i);
    if !matches!(chars.get(i), Some('版' | '页')) {
        return None;
    }
    i += 1;
    skip_spaces(&mut i);
    if !matches!(chars.get(i), Some(')' | '）')) {
        return None;
    }
    Some(i + 1 - start)
}

fn remove_continuation_marks(
    chars: &[char],
    origin: &[usize],
    original: &[char],
    steps: &mut Vec<CleaningStep>,
) -> (Vec<char>, Vec<usize>) {
    let mut keep = vec![true; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        if let Some(length) = continuation_mark_length(chars, i) {
            let (start, end) = (origin[i], origin[i + length - 1] + 1);
            steps.push(CleaningStep {
                kind: StepKind::ContinuationMark,
                start,
                end,
                original: original[start..end].iter().collect(),
                replacement: String::new(),
                note: String::new(),
            });
            keep[i..i + length].iter_mut().for_each(|k| *k = false);
            i += length;
        } else {
            i += 1;
        }
    }
    compact(chars, origin, &keep)
}

fn compact(chars: &[char], origin: &[usize], keep: &[bool]) -> (Vec<char>, Vec<usize>) {
    let mut out_chars = Vec::with_capacity(chars.len());
    let mut out_origin = Vec::with_capacity(chars.len());
    for ((&c, &o), &k) in chars.iter().zip(origin).zip(keep) {
        if k {
            out_chars.push(c);
            out_origin.push(o);
        }
    }
    (out_chars, out_origin)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Blank,
    Text,
    Removed(StepKind),
}

/// A line of the text: `[start, end)` is its content without surrounding spaces, `newline` the index of the
/// line end after it (if any).
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    newline: Option<usize>,
    kind: LineKind,
}

/// 「14 | 要闻」, 「要闻 | 14」, 「- 3 -」, 「第14版」, 「14」, 「2021年1月20日 星期三」.
fn is_page_header(line: &[char]) -> bool {
    if line.is_empty() || line.len() > SHORT_LINE {
        return false;
    }
    let text: String = line.iter().collect();
    let is_page_number = |part: &str| {
        let part = part
            .trim()
            .trim_matches(|c| matches!(c, '-' | '—' | '–' | '－' | '·'));
        let part = part.trim();
        (1..=3).contains(&part.len()) && part.chars().all(|c| c.is_ascii_digit())
    };
    for separator in ['|', '｜', '丨', '│'] {
        if let Some((left, right)) = text.split_once(separator) {
            let short_words =
                |part: &str| part.trim().chars().count() <= 12 && !part.chars().any(is_punctuation);
            return (is_page_number(left) && short_words(right))
                || (is_page_number(right) && short_words(left));
        }
    }
    if is_page_number(&text) {
        return true;
    }
    if let Some(rest) = text.strip_prefix('第') {
        let rest = rest.trim();
        if let Some(number) = rest.strip_suffix('版') {
            let number = number.trim();
            return !number.is_empty()
                && number.chars().all(|c| {
                    c.is_ascii_digit() || super::numerals::chinese_digit(c).is_some() || c == '十'
                });
        }
    }
    // A newspaper date line: 2021年1月20日 星期三.
    let digits = line.iter().take_while(|c| c.is_ascii_digit()).count();
    digits == 4
        && line.get(4) == Some(&'年')
        && text.contains('月')
        && text.contains('日')
        && line.len() <= 24
        && !line.iter().any(|&c| is_punctuation(c))
        && (text.contains("星期") || text.ends_with('日') || text.contains("农历"))
}

/// Editors' and photographers' credit lines of a newspaper page.
fn is_credit_line(line: &[char]) -> bool {
    if line.len() > SHORT_LINE {
        return false;
    }
    let text: String = line.iter().collect();
    [
        "责任编辑",
        "责编",
        "美编",
        "校对",
        "版式设计",
        "制图",
        "本版编辑",
    ]
    .iter()
    .any(|label| {
        text.strip_prefix(label)
            .is_some_and(|rest| rest.trim_start().starts_with([':', '：']))
    })
}

/// A short line without punctuation and without a quantity: a heading, a running title, page furniture.
fn is_title_like(line: &[char]) -> bool {
    line.len() <= SHORT_LINE
        && !line.iter().any(|&c| is_punctuation(c))
        && !super::extract::holds_quantity(line)
}

fn removal_step(
    kind: StepKind,
    line: &Line,
    origin: &[usize],
    original: &[char],
    note: &str,
) -> CleaningStep {
    let (start, end) = (origin[line.start], origin[line.end - 1] + 1);
    CleaningStep {
        kind,
        start,
        end,
        original: original[start..end].iter().collect(),
        replacement: String::new(),
        note: note.to_string(),
    }
}

/// Page headers, running titles and furniture removed; paragraphs cut by a break joined; blank lines collapsed.
fn clean_lines(
    chars: &[char],
    origin: &[usize],
    original: &[char],
    steps: &mut Vec<CleaningStep>,
) -> (Vec<char>, Vec<usize>) {
    let mut lines = Vec::new();
    let mut start = 0;
    for i in 0..=chars.len() {
        if i == chars.len() || chars[i] == '\n' {
            let mut content_start = start;
            let mut content_end = i;
            while content_start < content_end && chars[content_start].is_whitespace() {
                content_start += 1;
            }
            while content_end > content_start && chars[content_end - 1].is_whitespace() {
                content_end -= 1;
            }
            let content = &chars[content_start..content_end];
            let kind = if content.is_empty() {
                LineKind::Blank
            } else if is_page_header(content) {
                LineKind::Removed(StepKind::PageHeader)
            } else if is_credit_line(content) {
                LineKind::Removed(StepKind::PageFurniture)
            } else {
                LineKind::Text
            };
            lines.push(Line {
                start: content_start,
                end: content_end,
                newline: (i < chars.len()).then_some(i),
                kind,
            });
            start = i + 1;
        }
    }
    let content = |line: &Line| &chars[line.start..line.end];
    let text_lines: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].kind == LineKind::Text)
        .collect();

    // Running titles: a short line naming a work report, or a short line repeated as a whole, after the first
    // line of text (which is the document's own title when it is one).
    let mut short_line_count: HashMap<&[char], usize> = HashMap::new();
    for &i in &text_lines {
        if is_title_like(content(&lines[i])) {
            *short_line_count.entry(content(&lines[i])).or_default() += 1;
        }
    }
    for &i in text_lines.iter().skip(1) {
        let line = content(&lines[i]);
        if !is_title_like(line) || heading_number_length(line).is_some() {
            continue;
        }
        let text: String = line.iter().collect();
        if text.contains("工作报告") || short_line_count.get(line).copied().unwrap_or(0) >= 2 {
            lines[i].kind = LineKind::Removed(StepKind::RunningTitle);
        }
    }

    // Page furniture closing the text: short lines without punctuation after the last sentence.
    let text_lines: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].kind == LineKind::Text)
        .collect();
    if let Some(last_sentence) = text_lines
        .iter()
        .rposition(|&i| content(&lines[i]).last().is_some_and(|&c| is_terminal(c)))
    {
        let trailing = &text_lines[last_sentence + 1..];
        if !trailing.is_empty()
            && trailing
                .iter()
                .all(|&i| content(&lines[i]).len() <= 12 && is_title_like(content(&lines[i])))
        {
            for &i in trailing {
                lines[i].kind = LineKind::Removed(StepKind::PageFurniture);
            }
        }
    }

    // A short line without punctuation dropped into the middle of a sentence is a running title too.
    let mut text_lines: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].kind == LineKind::Text)
        .collect();
    let mut k = 1;
    while k + 1 < text_lines.len() {
        let (before, line, after) = (text_lines[k - 1], text_lines[k], text_lines[k + 1]);
        let before_content = content(&lines[before]);
        let cut_mid_sentence = before_content.len() > SHORT_LINE
            && before_content.iter().any(|&c| is_sentence_end(c))
            && before_content
                .last()
                .is_some_and(|&c| is_hanzi(c) || matches!(c, '，' | '、'));
        let line_content = content(&lines[line]);
        if cut_mid_sentence
            && line_content.len() <= 20
            && is_title_like(line_content)
            && heading_number_length(line_content).is_none()
            && !is_heading_line(content(&lines[after]))
        {
            lines[line].kind = LineKind::Removed(StepKind::RunningTitle);
            text_lines.remove(k);
        } else {
            k += 1;
        }
    }

    for line in &lines {
        if let LineKind::Removed(kind) = line.kind {
            let note = match kind {
                StepKind::RunningTitle => "a running title in the middle of the text",
                StepKind::PageFurniture => "not part of the report",
                _ => "",
            };
            steps.push(removal_step(kind, line, origin, original, note));
        }
    }

    let mut out_chars = Vec::with_capacity(chars.len());
    let mut out_origin = Vec::with_capacity(chars.len());
    let mut previous: Option<usize> = None;
    for &i in &text_lines {
        let line = lines[i];
        if let Some(p) = previous {
            let before = content(&lines[p]);
            let after = content(&line);
            // A line ending with a quantity is complete (targets listed one a line), unless what follows
            // continues the quantity or the sentence (「…增长6.7%」 + 「以上」, 「…新增停车位960个」 + 「，完成…」).
            let complete = before
                .last()
                .is_some_and(|c| c.is_ascii_digit() || is_hanzi(*c) || *c == '%')
                && !after.first().is_some_and(|&c| is_punctuation(c))
                && super::extract::ends_with_quantity(before, after);
            let joins = before.last().is_some_and(|&c| !is_terminal(c))
                && !is_heading_line(before)
                && heading_number_length(after).is_none()
                && !is_heading_line(after)
                && !complete;
            if joins {
                let (start, end) = (origin[lines[p].end - 1] + 1, origin[line.start]);
                let tail: String = before[before.len().saturating_sub(6)..].iter().collect();
                let head: String = after[..after.len().min(6)].iter().collect();
                steps.push(CleaningStep {
                    kind: StepKind::ColumnBreakJoin,
                    start,
                    end,
                    original: original[start..end].iter().collect(),
                    replacement: String::new(),
                    note: format!("「…{tail}」 continues with 「{head}…」"),
                });
            } else if let Some(newline) = lines[p].newline {
                out_chars.push('\n');
                out_origin.push(origin[newline]);
            }
        }
        out_chars.extend_from_slice(&chars[line.start..line.end]);
        out_origin.extend_from_slice(&origin[line.start..line.end]);
        previous = Some(i);
    }
    (out_chars, out_origin)
}

fn remove_spaces_between_hanzi(
    chars: &[char],
    origin: &[usize],
    original: &[char],
    steps: &mut Vec<CleaningStep>,
) -> (Vec<char>, Vec<usize>) {
    let mut keep = vec![true; chars.len()];
    let mut i = 1;
    while i < chars.len() {
        if chars[i] == ' ' && is_cjk(chars[i - 1]) {
            let mut end = i;
            while end < chars.len() && chars[end] == ' ' {
                end += 1;
            }
            if end < chars.len() && is_cjk(chars[end]) {
                keep[i..end].iter_mut().for_each(|k| *k = false);
                let (start, stop) = (origin[i], origin[end - 1] + 1);
                steps.push(CleaningStep {
                    kind: StepKind::SpaceBetweenHanzi,
                    start,
                    end: stop,
                    original: original[start..stop].iter().collect(),
                    replacement: String::new(),
                    note: format!("between 「{}」 and 「{}」", chars[i - 1], chars[end]),
                });
            }
            i = end;
        } else {
            i += 1;
        }
    }
    compact(chars, origin, &keep)
}

/// Drops passages of [`MIN_REPEATED_PASSAGE`] characters or more that repeat earlier text. Linear: 24-character
/// windows are hashed at every 8th position of the text already read, so a repeat of 80 characters is found
/// within 8 characters of its start and extended both ways.
fn remove_repeated_passages(
    chars: &[char],
    origin: &[usize],
    original: &[char],
    steps: &mut Vec<CleaningStep>,
) -> (Vec<char>, Vec<usize>) {
    const WINDOW: usize = 24;
    const STRIDE: usize = 8;
    if chars.len() < MIN_REPEATED_PASSAGE * 2 {
        return (chars.to_vec(), origin.to_vec());
    }
    let hash = |window: &[char]| {
        window.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
            (h ^ u64::from(c as u32)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let mut keep = vec![true; chars.len()];
    let mut next_indexed = 0;
    let mut i = 0;
    while i + WINDOW <= chars.len() {
        // Index the windows of text that ends before `i`, so that a match never overlaps itself.
        while next_indexed + WINDOW <= i {
            // Windows inside a dropped repeat are not indexed: a third copy is reported against the first.
            if keep[next_indexed] && keep[next_indexed + WINDOW - 1] {
                seen.entry(hash(&chars[next_indexed..next_indexed + WINDOW]))
                    .or_insert(next_indexed);
            }
            next_indexed += STRIDE;
        }
        let window = &chars[i..i + WINDOW];
        if window.contains(&'\n') {
            i += 1;
            continue;
        }
        if let Some(&earlier) = seen.get(&hash(window)) {
            if chars[earlier..earlier + WINDOW] == *window {
                let mut back = 0;
                while back < STRIDE
                    && earlier > back
                    && i - back > earlier + WINDOW
                    && keep[i - back - 1]
                    && chars[earlier - back - 1] == chars[i - back - 1]
                    && chars[i - back - 1] != '\n'
                {
                    back += 1;
                }
                let (first, copy) = (earlier - back, i - back);
                let mut length = WINDOW + back;
                // A repeat stays inside its paragraph: the paragraph break after it is kept.
                while copy + length < chars.len()
                    && first + length < copy
                    && chars[first + length] == chars[copy + length]
                    && chars[copy + length] != '\n'
                {
                    length += 1;
                }
                if length >= MIN_REPEATED_PASSAGE {
                    keep[copy..copy + length]
                        .iter_mut()
                        .for_each(|k| *k = false);
                    let (start, end) = (origin[copy], origin[copy + length - 1] + 1);
                    let (first_start, first_end) = (origin[first], origin[first + length - 1] + 1);
                    steps.push(CleaningStep {
                        kind: StepKind::RepeatedPassage,
                        start,
                        end,
                        original: original[start..end].iter().collect(),
                        replacement: String::new(),
                        note: format!("{length} characters repeating {first_start}–{first_end}"),
                    });
                    i = copy + length;
                    continue;
                }
            }
        }
        i += 1;
    }
    compact(chars, origin, &keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb2312_characters_are_not_converted() {
        assert_eq!(simplified_form('壓'), Some('压'));
        assert_eq!(simplified_form('隊'), Some('队'));
        assert_eq!(simplified_form('捍'), None);
        assert_eq!(simplified_form('呵'), None);
        assert_eq!(simplified_form('压'), None);
    }

    #[test]
    fn continuation_marks() {
        let chars: Vec<char> = "(上接第13版)（下转第十五版）（转 第3 页）(注)"
            .chars()
            .collect();
        assert_eq!(continuation_mark_length(&chars, 0), Some(8));
        assert_eq!(continuation_mark_length(&chars, 8), Some(8));
        assert_eq!(continuation_mark_length(&chars, 16), Some(8));
        assert_eq!(continuation_mark_length(&chars, 24), None);
    }

    #[test]
    fn page_headers() {
        let header = |text: &str| is_page_header(&text.chars().collect::<Vec<_>>());
        assert!(header("14 | 要闻"));
        assert!(header("要闻｜3"));
        assert!(header("- 3 -"));
        assert!(header("第14版"));
        assert!(header("2021年1月20日 星期三"));
        assert!(!header("一、2023年工作回顾"));
        assert!(!header("2023年工作回顾"));
    }
}
