//! Sections, sentences and quantified items of a cleaned work report.
//!
//! A quantity is a number (Arabic or Chinese) followed by a unit from a fixed list (家, 个, 亿元, 万平方米, %,
//! 个工作日 …), or a bare index value followed by 左右/以上. Numbers that are not quantities are skipped by
//! their context: years (2021年), dates, ordinals (第四届), names (4号线, 5G, PM2.5, T3), numbers inside short
//! quotes (「“十四五”」, 「“两个维护”」) and titles, and small Chinese numerals not directly governed by a
//! verb of doing (「四个意识」, 「三大环境」, 「中央八项规定」). The indicator is the clause before the number
//! (without connectives such as 确保/力争 and level verbs such as 达到/提高到), plus the noun after the unit
//! when the number counts it (「新增2家创新型载体」 → 新增创新型载体). See `docs/workreport.md`.

use super::clean::{heading_number_length, is_heading_line, Cleaned};
use super::numerals::{is_chinese_numeral_char, read_number};
use super::{Comparator, Item, Kind, Period};

/// What a section of the report is about, from its heading.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SectionClass {
    /// 「2023年工作回顾」: results.
    Review,
    /// 「2024年主要目标任务」, 「工作安排」: this year's work.
    ThisYear,
    /// 「狠抓“十四五”目标任务落实」: a plan period.
    Plan(String),
    /// Nothing said yet (a snippet, or text before the first heading).
    Unknown,
}

/// Units counted in Arabic numerals, longest first at match time, each with the characters that, following
/// it, make it part of a word instead (「5家园区」 is fine, but 「人才」 after a number is not 「人」 + 「才」).
const UNITS: &[(&str, &str)] = &[
    ("个工作日", ""),
    ("个百分点", ""),
    ("百分点", ""),
    ("个小时", ""),
    ("个月", ""),
    ("工作日", ""),
    ("平方公里", ""),
    ("平方千米", ""),
    ("平方米", ""),
    ("立方米", ""),
    ("千瓦时", ""),
    ("千瓦", ""),
    ("兆瓦", ""),
    ("吉瓦", ""),
    ("吨标准煤", ""),
    ("标准箱", ""),
    ("标箱", ""),
    ("公里", ""),
    ("千米", ""),
    ("公顷", ""),
    ("公斤", ""),
    ("千克", ""),
    ("微克", ""),
    ("毫克", ""),
    ("人次", ""),
    ("户次", ""),
    ("架次", ""),
    ("车次", ""),
    ("班次", ""),
    ("艘次", ""),
    ("美元", ""),
    ("欧元", ""),
    ("小时", ""),
    ("分钟", ""),
    ("%", ""),
    ("‰", ""),
    ("吨", ""),
    ("亩", ""),
    ("米", ""),
    ("升", ""),
    ("元", "素旦宵"),
    ("个", "人体性案"),
    ("家", "庭园居长属电乡人具族"),
    ("项", "目"),
    ("所", "有在属以得长谓"),
    ("条", "例件款线"),
    ("座", "谈位"),
    ("处", "理置罚于长"),
    ("张", ""),
    ("台", "阶湾账"),
    ("辆", ""),
    ("套", "餐"),
    ("间", "隔接"),
    ("户", "籍外型口"),
    ("人", "才员口民均力工士群物文居"),
    ("名", "单称牌片录义"),
    ("位", "置于"),
    ("件", ""),
    ("场", "所景地馆"),
    ("次", "会全性序要"),
    ("批", "准复示"),
    ("只", "有要是能"),
    ("头", "部等雁"),
    ("棵", ""),
    ("株", ""),
    ("片", "区"),
    ("块", ""),
    ("栋", ""),
    ("幢", ""),
    ("层", "级面次"),
    ("宗", "旨教"),
    ("笔", ""),
    ("例", "如外"),
    ("种", "植养业子类"),
    ("款", ""),
    ("部", "门署分委位件队"),
    ("本", "地市区次届年"),
    ("册", ""),
    ("篇", ""),
    ("轮", ""),
    ("支", "持撑付出"),
    ("口", "岸号罩径"),
    ("眼", "光前界"),
    ("盏", ""),
    ("架", ""),
    ("艘", ""),
    ("列", "入车"),
    ("趟", ""),
    ("组", "织建成团合"),
    ("床", ""),
    ("倍", ""),
    ("分", "之别类布析子"),
    ("天", "津然地空下府"),
    ("周", "年边期转末"),
    ("年", ""),
    ("度", "假过量"),
];

/// Units a Chinese numeral may count: measure words of things done, not of times or ranks, so that
/// 「十分」, 「一日」, 「百年」 and 「一级」 are not quantities.
const CHINESE_UNITS: &[&str] = &[
    "个",
    "家",
    "项",
    "所",
    "条",
    "座",
    "处",
    "张",
    "台",
    "辆",
    "套",
    "户",
    "名",
    "人",
    "件",
    "场",
    "亩",
    "公里",
    "平方米",
    "平方公里",
    "吨",
    "元",
    "美元",
    "倍",
    "人次",
    "支",
    "栋",
    "间",
    "块",
    "片",
    "%",
    "个百分点",
    "百分点",
];

/// Units of time: a duration right before a word names a service or a scheme (「15分钟生活圈」).
const DURATION_UNITS: &[&str] = &[
    "小时",
    "个小时",
    "分钟",
    "天",
    "个工作日",
    "工作日",
    "个月",
    "周",
];

/// Words that, opening what follows a duration, make it the name of a service, a scheme or an opening time rather
/// than a time within which something is done: 「24小时开放」, 「24小时值守」, 「144小时过境免签」,
/// 「365天不打烊」, 「7天无理由退货」, 「15分钟上高速」 (an access standard, as 「15分钟生活圈」 is), 「用3个月时间」
/// (the time given to a campaign), and 「…的」 (a modifier: 「为期3个月的专项行动」). An action verb
/// (「1小时响应」, 「24小时解决」, 「1天办结」, 「30分钟到场」) is none of these, and the duration stays a quantity.
const DURATION_NAME_OPENINGS: &[&str] = &[
    "的",
    "开放",
    "营业",
    "值守",
    "值班",
    "在线",
    "不打烊",
    "不间断",
    "不停歇",
    "全天候",
    "无休",
    "免签",
    "过境",
    "直播",
    "热线",
    "自助",
    "无理由",
    "服务",
    "上高速",
    "上高铁",
    "通达",
    "直达",
    "可达",
    "通勤",
    "车程",
    "时间",
];

/// Nouns that, anywhere in the words right after a duration (up to the next punctuation, at most
/// `DURATION_NAME_SPAN` characters), make the duration part of their name: 「15分钟社区生活圈」,
/// 「5分钟消防救援圈」, 「24小时响应率」, 「24小时三级联合值守机制」, 「5天工作制」, 「24小时城市书房」.
const DURATION_NAME_HEADS: &[&str] = &[
    "圈",
    "率",
    "机制",
    "制度",
    "工作制",
    "模式",
    "体系",
    "专班",
    "专线",
    "窗口",
    "书房",
    "书店",
    "图书馆",
    "便利店",
    "药房",
    "药店",
    "门店",
    "驿站",
];

/// How far after a duration a naming noun is looked for.
const DURATION_NAME_SPAN: usize = 8;

/// Whether the duration whose unit ends before `at` names something (see `DURATION_NAME_OPENINGS` and
/// `DURATION_NAME_HEADS`) rather than being a quantity. A comparator of limit (「3个工作日内」) is skipped first:
/// 「3个工作日内办结」 is a quantity, 「24小时内响应机制」 a name; any other comparator (「8小时以上」) makes it a
/// quantity.
fn duration_names_something(chars: &[char], at: usize) -> bool {
    let mut start = at;
    if let Some((comparator, length)) = post_comparator_at(chars, at) {
        if comparator != Comparator::AtMost {
            return false;
        }
        start += length;
    }
    if DURATION_NAME_OPENINGS
        .iter()
        .any(|word| starts_with_at(chars, start, word))
    {
        return true;
    }
    let mut end = start;
    while end < chars.len() && end - start < DURATION_NAME_SPAN && is_hanzi(chars[end]) {
        end += 1;
    }
    (start..end).any(|k| {
        DURATION_NAME_HEADS.iter().any(|head| {
            starts_with_at(chars, k, head)
                && k + word_len(head) <= end
                // 「率先」 is an adverb, not a rate.
                && !(*head == "率" && chars.get(k + 1) == Some(&'先'))
        })
    })
}

/// Magnitudes after an Arabic number; they become part of the unit (「453万平方米」 is 453 万平方米). 千 and 百
/// count only inside a unit (「5千米」) or before 万 (「3千万元」): 「500千伏变电站」 is a name.
const MAGNITUDES: &[&str] = &["万亿", "千万", "百万", "十万", "亿", "万"];

/// Comparators after the number and unit.
const POST_COMPARATORS: &[(&str, Comparator)] = &[
    ("及以上", Comparator::AtLeast),
    ("以上", Comparator::AtLeast),
    ("以下", Comparator::AtMost),
    ("以内", Comparator::AtMost),
    ("之内", Comparator::AtMost),
    ("内", Comparator::AtMost),
    ("左右", Comparator::Equal),
    ("上下", Comparator::Equal),
];

/// Comparators before the number, longest first.
const PRE_COMPARATORS: &[(&str, Comparator)] = &[
    ("不少于", Comparator::AtLeast),
    ("不低于", Comparator::AtLeast),
    ("不小于", Comparator::AtLeast),
    ("至少", Comparator::AtLeast),
    ("最少", Comparator::AtLeast),
    ("不超过", Comparator::AtMost),
    ("不高于", Comparator::AtMost),
    ("不多于", Comparator::AtMost),
    ("不大于", Comparator::AtMost),
    ("最多", Comparator::AtMost),
    ("至多", Comparator::AtMost),
    ("控制在", Comparator::AtMost),
    ("控制到", Comparator::AtMost),
    ("跨越", Comparator::AtLeast),
    ("迈上", Comparator::AtLeast),
    ("站上", Comparator::AtLeast),
    ("超过", Comparator::MoreThan),
    ("突破", Comparator::MoreThan),
    ("高于", Comparator::MoreThan),
    ("多于", Comparator::MoreThan),
    ("大于", Comparator::MoreThan),
    ("超", Comparator::MoreThan),
    ("逾", Comparator::MoreThan),
    ("低于", Comparator::LessThan),
    ("少于", Comparator::LessThan),
    ("小于", Comparator::LessThan),
    ("不足", Comparator::LessThan),
    ("不到", Comparator::LessThan),
];

/// Words that set a level before a number; they are not part of the indicator (「总数达到440家」 → 总数).
const LEVEL_WORDS: &[&str] = &[
    "分别达到",
    "累计达到",
    "提升至",
    "提升到",
    "提高至",
    "提高到",
    "增长至",
    "增长到",
    "增加至",
    "增加到",
    "扩大至",
    "扩大到",
    "下降至",
    "下降到",
    "降低至",
    "降低到",
    "减少至",
    "减少到",
    "压缩至",
    "压缩到",
    "压减至",
    "压减到",
    "压降至",
    "压降到",
    "缩短至",
    "缩短到",
    "上升至",
    "上升到",
    "保持在",
    "稳定在",
    "维持在",
    "控制在",
    "控制到",
    "累计达",
    "分别为",
    "达到了",
    "达到",
    "增至",
    "降至",
    "升至",
    "减至",
    "占",
    "约为",
    "共计",
    "总计",
    "合计",
    "分别",
    "达",
    "为",
    "是",
    "在",
    "至",
    "到",
    "约",
    "近",
    "共",
    "的",
];

/// Words of change: they stay in the indicator (「地区生产总值增长」).
const CHANGE_VERBS: &[&str] = &[
    "增长", "下降", "提高", "提升", "降低", "减少", "增加", "压降", "压减", "缩短", "上升", "扩大",
    "增幅", "降幅", "涨幅",
];

/// Connectives and time words opening a clause; they are not part of the indicator.
const LEADING_WORDS: &[&str] = &[
    "确保",
    "力争",
    "争取",
    "努力",
    "全力",
    "年内",
    "全年",
    "今年",
    "当年",
    "其中",
    "同时",
    "并且",
    "以及",
    "还要",
    "进一步",
    "持续",
    "继续",
    "积极",
    "大力",
    "着力",
    "全市",
    "全区",
    "全省",
    "全县",
    "全州",
    "我市",
    "我区",
    "实现",
    "推动",
    "一年来",
    "五年来",
    "预计",
    "计划",
    "要",
    "将",
    "并",
    "且",
    "及",
    "和",
    "还",
    "再",
    "使",
    "让",
    "共",
    "已",
];

/// Verbs of doing that govern a count: a small Chinese numeral is a quantity only after one of them
/// (「建好两个联盟」 but not 「四个意识」), and a list item without its own verb borrows its neighbour's
/// (「改造燃气管网623公里、供热管网150公里」).
const ACTION_VERBS: &[&str] = &[
    "规划建设",
    "加快建设",
    "新增认定",
    "提升改造",
    "新建改建",
    "新改扩建",
    "改造提升",
    "新开工",
    "新培育",
    "新开通",
    "新引进",
    "新招引",
    "新创建",
    "规划",
    "谋划",
    "推进",
    "完工",
    "建成",
    "投产",
    "开业",
    "改扩建",
    "新改建",
    "建成投用",
    "新增",
    "净增",
    "新建",
    "建成",
    "建设",
    "建好",
    "完成",
    "实施",
    "打造",
    "培育",
    "引进",
    "引育",
    "吸引",
    "落实",
    "组建",
    "认定",
    "开工",
    "竣工",
    "改造",
    "启动",
    "打通",
    "新辟",
    "优化",
    "增加",
    "布局",
    "盘活",
    "出清",
    "开展",
    "举办",
    "创建",
    "招引",
    "签约",
    "新设",
    "设立",
    "开通",
    "开设",
    "新开",
    "提供",
    "发放",
    "投入",
    "办好",
    "办理",
    "推出",
    "建立",
    "治理",
    "整治",
    "修复",
    "造林",
    "植树",
    "新植",
    "种植",
    "入库",
    "清理",
    "拆除",
    "腾退",
    "淘汰",
    "关停",
    "培训",
    "救助",
    "资助",
    "帮扶",
    "安置",
    "接待",
    "惠及",
    "支持",
    "扶持",
    "争创",
    "创成",
    "获批",
    "入选",
    "带动",
    "吸纳",
    "整合",
    "修订",
    "制定",
    "出台",
    "发布",
    "更新",
    "更换",
    "加装",
    "安装",
    "铺设",
    "建造",
    "续建",
    "改建",
    "扩建",
    "增设",
    "配建",
    "配备",
    "筹集",
    "孵化",
    "储备",
    "推广",
    "举行",
    "引导",
    "征集",
    "解决",
    "化解",
    "排查",
    "消除",
    "收储",
    "供应",
    "供给",
    "攻克",
    "突破",
    "申报",
    "取得",
    "获得",
    "兑现",
    "减免",
    "减税",
    "降费",
    "投资",
    "融资",
    "新设立",
    "新认定",
    "认证",
    "建",
    "办",
    "修",
    "育",
    "引",
    "新",
];

/// Subjects that need the previous item's noun (「净增国家高新技术企业60家，总数达到440家」).
const GENERIC_INDICATORS: &[&str] = &[
    "总数",
    "总量",
    "总规模",
    "规模",
    "数量",
    "总额",
    "占比",
    "比重",
    "累计",
    "总计",
    "合计",
    "其中",
];

const REJECTED_AFTER_YEAR: &[&str] = &[
    "来", "前", "后", "代", "级", "行动", "计划", "规划", "攻坚", "以来", "以后", "左右",
];

fn starts_with_at(chars: &[char], at: usize, word: &str) -> bool {
    (at..)
        .zip(word.chars())
        .all(|(k, c)| chars.get(k) == Some(&c))
}

fn ends_with_word(chars: &[char], word: &str) -> bool {
    let length = word.chars().count();
    chars.len() >= length && starts_with_at(chars, chars.len() - length, word)
}

fn word_len(word: &str) -> usize {
    word.chars().count()
}

fn is_hanzi(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

fn is_clause_break(c: char) -> bool {
    matches!(c, '，' | ',' | '：' | ':')
}

fn is_sentence_break(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';' | '\n')
}

/// The base unit at `at`, longest first, unless the next character makes it part of a word.
fn base_unit_at(chars: &[char], at: usize) -> Option<&'static str> {
    let mut best: Option<&'static str> = None;
    for &(unit, excluded_next) in UNITS {
        if starts_with_at(chars, at, unit) && best.is_none_or(|b| word_len(unit) > word_len(b)) {
            let next = chars.get(at + word_len(unit));
            if next.is_some_and(|&n| excluded_next.contains(n)) {
                continue;
            }
            best = Some(unit);
        }
    }
    best
}

fn magnitude_at(chars: &[char], at: usize) -> Option<&'static str> {
    MAGNITUDES
        .iter()
        .copied()
        .find(|magnitude| starts_with_at(chars, at, magnitude))
}

/// A number and what follows it, before its indicator is known.
#[derive(Debug, Clone)]
struct Quantity {
    /// Where the number starts (or 「百分之」, or the lower bound of a range).
    number_start: usize,
    value: f64,
    /// The lower bound, when the quantity is a range (「5%—6%」).
    range_low: Option<f64>,
    unit: String,
    /// The comparator written after the number (以上, 以内, 左右, 多, 余).
    post_comparator: Option<Comparator>,
    /// End of the number, unit and comparator words.
    end: usize,
    /// The unit counts things (个, 家, 项) rather than measuring (元, 平方米, %).
    counting: bool,
}

/// What the context around a sentence says about the items in it.
struct SentenceContext<'a> {
    chars: &'a [char],
    start: usize,
    end: usize,
    /// Inside a short quotation or a title: 「“十四五”」, 「《…》」.
    quoted: Vec<bool>,
}

impl SentenceContext<'_> {
    fn quoted(&self, at: usize) -> bool {
        at >= self.start && self.quoted.get(at - self.start).copied().unwrap_or(false)
    }

    fn clause_start(&self, at: usize) -> usize {
        let mut k = at;
        while k > self.start && !is_clause_break(self.chars[k - 1]) {
            k -= 1;
        }
        k
    }

    fn clause_end(&self, at: usize) -> usize {
        let mut k = at;
        while k < self.end && !is_clause_break(self.chars[k]) {
            k += 1;
        }
        k
    }
}

/// Marks characters inside short quotations (at most 20 characters: slogans and names such as 「“两个维护”」) and
/// inside 《titles》 of any length.
fn quoted_spans(chars: &[char]) -> Vec<bool> {
    let mut quoted = vec![false; chars.len()];
    let mut open: Option<(usize, char)> = None;
    for (k, &c) in chars.iter().enumerate() {
        match (open, c) {
            (None, '“' | '《' | '「' | '〈' | '"') => open = Some((k, c)),
            (Some((start, opener)), _)
                if matches!(
                    (opener, c),
                    ('“', '”') | ('《', '》') | ('「', '」') | ('〈', '〉') | ('"', '"')
                ) =>
            {
                if k - start <= 21 || opener == '《' {
                    quoted[start..=k].iter_mut().for_each(|q| *q = true);
                }
                open = None;
            }
            _ => {}
        }
    }
    quoted
}

/// Reads the quantity whose number starts at `at`, or says why there is none (`None`).
fn read_quantity(context: &SentenceContext, at: usize) -> Option<(Quantity, usize)> {
    let chars = context.chars;
    let previous = if at > context.start {
        Some(chars[at - 1])
    } else {
        None
    };
    // 「百分之五」
    if starts_with_at(chars, at, "百分之") {
        let number = read_number(chars, at + 3)?;
        if number.digit_string || number.magnitude.is_some() {
            return None;
        }
        let end = number.end;
        return Some((
            Quantity {
                number_start: at,
                value: number.value,
                range_low: None,
                unit: "%".to_string(),
                post_comparator: post_comparator_at(chars, end).map(|(cmp, _)| cmp),
                end: end + post_comparator_at(chars, end).map_or(0, |(_, length)| length),
                counting: false,
            },
            end,
        ));
    }
    let number = read_number(chars, at)?;
    if number.digit_string || context.quoted(at) {
        return None;
    }
    if let Some(p) = previous {
        let rejected_before = if number.chinese {
            matches!(
                p,
                '第' | '初' | '周' | '之' | '逐' | '统' | '唯' | '同' | '单' | '其' | '任' | '星'
            ) || p.is_ascii_alphanumeric()
        } else {
            p.is_ascii_alphabetic()
                || matches!(
                    p,
                    '第' | '+' | '/' | '#' | '.' | '№' | '-' | '－' | '×' | '*'
                )
        };
        // 「由60个工作日压缩至46个工作日」: the starting point is not an item.
        if rejected_before || matches!(p, '由' | '从') {
            return None;
        }
    }
    let mut j = number.end;
    if !number.chinese {
        let next = chars.get(j).copied();
        if next.is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '+' | '/' | ':' | '×' | '*'))
        {
            return None;
        }
        let integer = number.value.fract() == 0.0;
        if integer && (1900.0..=2100.0).contains(&number.value) {
            let year_follows = next == Some('年')
                || (next.is_some_and(|c| matches!(c, '-' | '—' | '–' | '~' | '～' | '至' | '到'))
                    && chars.get(j + 1).is_some_and(char::is_ascii_digit));
            if year_follows {
                return None;
            }
        }
    } else if starts_with_at(chars, j, "分之") {
        return None;
    }
    let mut magnitude = number.magnitude.map(str::to_string).unwrap_or_default();
    let mut more = false;
    if !number.chinese && base_unit_at(chars, j).is_none() {
        if let Some(found) = magnitude_at(chars, j) {
            magnitude = found.to_string();
            j += word_len(found);
        }
    }
    if matches!(chars.get(j), Some('多' | '余')) {
        more = true;
        j += 1;
        if !number.chinese && magnitude.is_empty() && base_unit_at(chars, j).is_none() {
            if let Some(found) = magnitude_at(chars, j) {
                magnitude = found.to_string();
                j += word_len(found);
            }
        }
    }
    let base = base_unit_at(chars, j);
    let mut unit = magnitude.clone();
    if let Some(base) = base {
        if base == "年" {
            // 「延长30年试点」, 「三年行动」: a duration naming something; 「3年内」 is fine.
            let after = j + 1;
            let names_something = chars
                .get(after)
                .is_some_and(|&c| is_hanzi(c) && !"内以左之".contains(c));
            if number.chinese
                || names_something
                || REJECTED_AFTER_YEAR
                    .iter()
                    .any(|word| starts_with_at(chars, after, word))
            {
                return None;
            }
        }
        if number.chinese && !CHINESE_UNITS.contains(&base) {
            return None;
        }
        unit.push_str(base);
        j += word_len(base);
        // 「2000吨级航道」, 「5万吨级泊位」: a class.
        if chars.get(j) == Some(&'级') {
            return None;
        }
        // 「十亿元企业」, 「过千万美元企业」: an amount in Chinese numerals before a noun names a class.
        if number.chinese && !is_counting(Some(base)) && chars.get(j).is_some_and(|&c| is_hanzi(c))
        {
            return None;
        }
        // 「做好以下十一个方面工作」: the report's own structure.
        if base == "个" && starts_with_at(chars, j, "方面") {
            return None;
        }
        // 「38微克/立方米」, 「3元/吨」
        if chars.get(j) == Some(&'/') {
            if let Some(second) = base_unit_at(chars, j + 1) {
                unit.push('/');
                unit.push_str(second);
                j += 1 + word_len(second);
            }
        }
        // 「15分钟社区生活圈」, 「24小时开放」, 「144小时过境免签」: a duration that names a service or a scheme;
        // 「1小时响应」, 「3个工作日内办结」, 「压缩至3个月」 are quantities.
        if DURATION_UNITS.contains(&base) && duration_names_something(chars, j) {
            return None;
        }
    } else if number.chinese
        && number.magnitude.is_some()
        && ["台阶", "大关", "关口"]
            .iter()
            .any(|word| starts_with_at(chars, j, word))
    {
        // 「地区生产总值跨越千亿台阶」: a milestone, in the magnitude as written.
        j += 2;
    } else if number.chinese || chars.get(j) == Some(&'级') {
        // 「千亿级」, 「百亿级产业集群」: a class, not an amount; a Chinese numeral needs its unit.
        return None;
    }
    // A small Chinese numeral counts only what a verb of doing governs: 「建好两个联盟」, not 「四个意识」.
    if number.chinese && number.magnitude.is_none() && number.value <= 10.0 {
        let clause_start = context.clause_start(at);
        let mut before = &chars[clause_start..at];
        if before.last() == Some(&'了') {
            before = &before[..before.len() - 1];
        }
        if !ACTION_VERBS.iter().any(|verb| ends_with_word(before, verb)) {
            return None;
        }
    }
    // A range: 「5%—6%」, 「3至5年」, 「1—2个」.
    let mut range_low = None;
    let mut value = number.value;
    let mut end = j;
    if let Some(&separator) = chars.get(j) {
        if matches!(separator, '-' | '—' | '–' | '~' | '～' | '至' | '到') && !context.quoted(j + 1)
        {
            let mut second_start = j + 1;
            if chars.get(second_start) == Some(&'—') {
                second_start += 1;
            }
            if let Some(second) = read_number(chars, second_start) {
                if second.chinese == number.chinese && !second.digit_string && second.value > value
                {
                    let second_context = SentenceContext {
                        chars,
                        start: second_start,
                        end: context.end,
                        quoted: vec![false; context.end.saturating_sub(second_start)],
                    };
                    if let Some((upper, _)) = read_quantity(&second_context, second_start) {
                        if (unit.is_empty() || unit == upper.unit) && upper.range_low.is_none() {
                            range_low = Some(value);
                            value = upper.value;
                            unit = upper.unit.clone();
                            end = upper.end;
                            return Some((
                                Quantity {
                                    number_start: at,
                                    value,
                                    range_low,
                                    unit,
                                    post_comparator: None,
                                    end,
                                    counting: is_counting(base),
                                },
                                end,
                            ));
                        }
                    }
                }
            }
        }
    }
    let mut post_comparator = None;
    if let Some((cmp, length)) = post_comparator_at(chars, end) {
        post_comparator = Some(cmp);
        end += length;
    } else if more {
        post_comparator = Some(Comparator::MoreThan);
    }
    if base.is_none() && magnitude.is_empty() {
        // A bare value (an index such as 「居民消费价格指数控制在103左右」) counts only with a comparator
        // after it or a level word before it, at the end of its clause.
        let clause_before = &chars[context.clause_start(at)..at];
        let level_before = ["达到", "为", "在", "至", "到", "突破", "超过"]
            .iter()
            .any(|word| ends_with_word(clause_before, word));
        let clause_ends = chars
            .get(end)
            .is_none_or(|&c| is_clause_break(c) || is_sentence_break(c));
        if number.chinese || !(post_comparator.is_some() || (level_before && clause_ends)) {
            return None;
        }
    }
    Some((
        Quantity {
            number_start: at,
            value,
            range_low,
            unit,
            post_comparator,
            end,
            counting: is_counting(base),
        },
        end,
    ))
}

fn is_counting(base: Option<&str>) -> bool {
    base.is_some_and(|unit| {
        !matches!(
            unit,
            "%" | "‰"
                | "元"
                | "美元"
                | "欧元"
                | "平方米"
                | "平方公里"
                | "平方千米"
                | "立方米"
                | "公里"
                | "千米"
                | "米"
                | "公顷"
                | "亩"
                | "吨"
                | "公斤"
                | "千克"
                | "千瓦"
                | "千瓦时"
                | "个百分点"
                | "百分点"
                | "倍"
        )
    })
}

fn post_comparator_at(chars: &[char], at: usize) -> Option<(Comparator, usize)> {
    for &(word, cmp) in POST_COMPARATORS {
        if starts_with_at(chars, at, word) {
            let next = chars.get(at + word_len(word));
            // 「内容」, 「内部」, 「以上海」: words, not comparators.
            if word == "内" && next.is_some_and(|&c| "容部外涵地需在".contains(c)) {
                continue;
            }
            if word == "以上" && next.is_some_and(|&c| "海述".contains(c)) {
                continue;
            }
            return Some((cmp, word_len(word)));
        }
    }
    None
}

/// An item under construction: spans are cleaned-text offsets.
#[derive(Debug, Clone)]
struct Draft {
    quantity: Quantity,
    indicator: String,
    /// Where the text before the number starts (the clause, or after the previous item).
    left_start: usize,
    /// Start of the quoted span.
    start: usize,
    /// End of the quoted span (after the counted noun, if any).
    end: usize,
    cmp: Comparator,
}

fn strip_leading<'a>(mut text: &'a [char], words: &[&str]) -> &'a [char] {
    loop {
        let before = text.len();
        while let Some(&c) = text.first() {
            if c == '、' || c == ' ' || c == '”' || c == '）' || c == ')' {
                text = &text[1..];
            } else {
                break;
            }
        }
        // A time phrase: 「2024年」, 「到2025年」, 「到“十四五”末」.
        let mut k = 0;
        if matches!(text.first(), Some('到' | '至' | '在')) {
            k = 1;
        }
        let digits = text[k..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 4 && text.get(k + 4) == Some(&'年') {
            let mut end = k + 5;
            while matches!(text.get(end), Some('底' | '末' | '内' | '前' | '度')) {
                end += 1;
            }
            text = &text[end..];
            continue;
        }
        if let Some(word) = words.iter().find(|word| starts_with_at(text, 0, word)) {
            // Keep a word that is the whole text (「新增」 alone is the indicator's verb).
            if word_len(word) < text.len() {
                text = &text[word_len(word)..];
                continue;
            }
        }
        if text.len() == before {
            return text;
        }
    }
}

/// Strips comparator and level words from the end of the text before a number; returns the rest and the
/// comparator found.
fn strip_trailing(mut text: &[char]) -> (&[char], Option<Comparator>) {
    let mut comparator = None;
    loop {
        while let Some(&c) = text.last() {
            if matches!(c, ' ' | '“' | '（' | '(' | '、') {
                text = &text[..text.len() - 1];
            } else {
                break;
            }
        }
        if let Some(&(word, cmp)) = PRE_COMPARATORS
            .iter()
            .find(|(word, _)| ends_with_word(text, word))
        {
            comparator.get_or_insert(cmp);
            text = &text[..text.len() - word_len(word)];
            continue;
        }
        // 「资产过500亿元」: 过 alone means more than, but not in 通过, 经过, 超过, 越过, 度过.
        if text.last() == Some(&'过')
            && !text
                .get(text.len().wrapping_sub(2))
                .is_some_and(|&c| "通经超越度错路难不".contains(c))
        {
            comparator.get_or_insert(Comparator::MoreThan);
            text = &text[..text.len() - 1];
            continue;
        }
        // A level word, unless it ends a change verb (「增长」 keeps 「长」; 「提高到」 loses 「提高到」).
        if let Some(word) = LEVEL_WORDS.iter().find(|word| ends_with_word(text, word)) {
            text = &text[..text.len() - word_len(word)];
            continue;
        }
        return (text, comparator);
    }
}

fn leading_verb(text: &[char]) -> Option<&'static str> {
    ACTION_VERBS
        .iter()
        .copied()
        .filter(|verb| word_len(verb) >= 2 || text.len() <= 3)
        .filter(|verb| starts_with_at(text, 0, verb))
        .max_by_key(|verb| word_len(verb))
}

/// The text is only a change (「增长」, 「同比增长」, 「年均增长」): it needs its neighbour's subject.
fn is_bare_change(text: &[char]) -> bool {
    let text = strip_leading(text, &["同比", "比上年", "较上年", "年均", "分别"]);
    CHANGE_VERBS
        .iter()
        .any(|verb| starts_with_at(text, 0, verb) && word_len(verb) == text.len())
}

/// 「布局京东智能空港产业园等16个特色载体」: the examples before 等 are dropped, the verb kept. So is a list
/// that the number counts: 「打造…新一代汽车技术、高端装备制造、生物医药、现代服务业4个百亿级产业集群」.
fn drop_examples(text: &[char], value: f64) -> Vec<char> {
    let verb_length = leading_verb(text).map_or(0, word_len);
    let Some(position) = text.iter().rposition(|&c| c == '等') else {
        let separators = text[verb_length..].iter().filter(|&&c| c == '、').count();
        if value.fract() == 0.0 && (2.0..=20.0).contains(&value) && separators + 1 == value as usize
        {
            return text[..verb_length].to_vec();
        }
        return text.to_vec();
    };
    // 「等」 in a word (等级, 平等) is not a list's end.
    if position == 0 || text.get(position + 1).is_some_and(|&c| c == '级') {
        return text.to_vec();
    }
    if verb_length >= position {
        return text.to_vec();
    }
    let mut kept = text[..verb_length].to_vec();
    kept.extend_from_slice(&text[position + 1..]);
    kept
}

/// The noun a count applies to, after the unit: 「新增2家创新型载体」 → 创新型载体. It runs to the next quantity or
/// the clause end (`next_quantity`: another quantity follows in the clause); with a 的 only what follows the last
/// one is kept (「10个购物便捷、…的消费新地标」 → 消费新地标); a list after a count is counted whole
/// (「40个机关、企事业单位附属空间」) unless it is cut as the comment below says. A unit's alternative in
/// brackets is skipped (「7万套（间）保障性租赁住房」). A duration takes what is done within it (「1天办结」 →
/// 办结); a purpose (「615亿元用于…」) is not taken.
fn counted_noun(
    chars: &[char],
    start: usize,
    stop: usize,
    unit: &str,
    counting: bool,
    next_quantity: bool,
) -> (Vec<char>, usize) {
    if unit == "年" {
        return (Vec::new(), start);
    }
    // 「1天办结」, 「2小时响应、48小时解决」: a duration counts nothing, but what is done within it completes the
    // indicator (「不动产登记1天办结」 → 不动产登记办结): the words up to the next punctuation when they are short
    // (「30天办理完成」), else their first two characters, the verb (「1天办结成为现实」 → 办结).
    if DURATION_UNITS.contains(&unit) {
        let mut end = start;
        while end < stop && is_hanzi(chars[end]) {
            end += 1;
        }
        if end - start > 4 {
            end = start + 2;
        }
        if end == start || chars[start] == '的' {
            return (Vec::new(), start);
        }
        return (chars[start..end].to_vec(), end);
    }
    // 「7万套（间）保障性租赁住房」: a unit's alternative in brackets is part of the unit, not of the noun.
    let mut start = start;
    if matches!(chars.get(start), Some('（' | '(')) {
        if let Some(close) =
            (start + 1..stop.min(start + 5)).find(|&k| matches!(chars[k], '）' | ')'))
        {
            start = close + 1;
        }
    }
    let mut end = start;
    while end < stop && !(end > start && is_conjunction_at(chars, end)) {
        end += 1;
    }
    let text = &chars[start..end];
    let opens_noun = text
        .first()
        .is_some_and(|&c| is_hanzi(c) || c.is_ascii_alphanumeric() || c == '“');
    let conjunction = !text.is_empty() && (chars[start] == '或' || is_conjunction_at(chars, start));
    if !opens_noun
        || conjunction
        || ["用于", "用来", "的"]
            .iter()
            .any(|w| starts_with_at(text, 0, w))
    {
        return (Vec::new(), start);
    }
    // A 、 ends the noun when the list goes on with another quantity (「建成5所小学、3所中学」,
    // 「新开工117个重大项目、总投资1935.7亿元」), another action (「新建3个公园、完善…」, 「…、增长7.1%」) or
    // examples (「10.7万亩高标准农田、中储粮仓储物流园等建设」), when the unit measures rather than counts, or when
    // the whole list would be too long a name; otherwise the number counts the whole list
    // (「40个机关、企事业单位附属空间」).
    const OPENS_PHRASE: &[&str] = &[
        "一批",
        "一系列",
        "若干",
        "多个",
        "一大批",
        "完善",
        "加强",
        "加快",
        "强化",
        "健全",
        "深化",
        "提升",
        "推动",
        "促进",
        "做好",
        "抓好",
        "提高",
        "确保",
        "力争",
        "实现",
        "同比",
        "比上年",
        "较上年",
    ];
    let list_break = text.iter().enumerate().position(|(k, &c)| {
        c == '、' && {
            let rest = &text[k + 1..];
            !counting
                || next_quantity
                || rest.is_empty()
                || text.len() > 24
                || rest.contains(&'等')
                || leading_verb(rest).is_some_and(|verb| word_len(verb) >= 2)
                || CHANGE_VERBS
                    .iter()
                    .chain(OPENS_PHRASE)
                    .any(|word| starts_with_at(rest, 0, word))
        }
    });
    let (noun, noun_end) = match text.iter().rposition(|&c| c == '的') {
        Some(position) => (&text[position + 1..], end),
        None => match list_break {
            Some(position) => (&text[..position], start + position),
            None => (text, end),
        },
    };
    if noun.is_empty() || noun.len() > 24 {
        return (Vec::new(), start);
    }
    (noun.to_vec(), noun_end)
}

/// Whether the conjunction at `at` (并, 和, 及, 与) joins two phrases rather than opening a word (「和美乡村」,
/// 「及时」, 「并网」).
fn is_conjunction_at(chars: &[char], at: usize) -> bool {
    const WORDS: &[&str] = &[
        "和美", "和谐", "和平", "和睦", "和合", "和顺", "和煦", "及时", "及早", "与会", "并网",
        "并购", "并联", "并行", "并重", "并存", "并轨", "并举",
    ];
    "并和及与".contains(chars[at]) && !WORDS.iter().any(|word| starts_with_at(chars, at, word))
}

/// The subject of an indicator: without its change verb at the end and its action verb at the start.
fn subject_of(indicator: &str) -> String {
    let mut chars: Vec<char> = indicator.chars().collect();
    let trailing = CHANGE_VERBS
        .iter()
        .chain(ACTION_VERBS.iter().filter(|verb| word_len(verb) >= 2))
        .filter(|verb| ends_with_word(&chars, verb) && chars.len() > word_len(verb))
        .map(|verb| word_len(verb))
        .max();
    if let Some(length) = trailing {
        chars.truncate(chars.len() - length);
    }
    if let Some(verb) = leading_verb(&chars) {
        if word_len(verb) < chars.len() {
            chars.drain(..word_len(verb));
        }
    }
    chars.into_iter().collect()
}

/// The quantities of the text `[start, end)` read as one sentence, with the sentence's context.
fn read_quantities(
    chars: &[char],
    start: usize,
    end: usize,
) -> (SentenceContext<'_>, Vec<Quantity>) {
    let quoted = quoted_spans(&chars[start..end]);
    let context = SentenceContext {
        chars,
        start,
        end,
        quoted,
    };
    let mut quantities = Vec::new();
    let mut k = start;
    while k < end {
        let c = chars[k];
        let starts_number = (c.is_ascii_digit()
            && (k == start || !(chars[k - 1].is_ascii_digit() || chars[k - 1] == '.')))
            || (is_chinese_numeral_char(c)
                && (k == start || !is_chinese_numeral_char(chars[k - 1])));
        if !starts_number {
            k += 1;
            continue;
        }
        match read_quantity(&context, k) {
            Some((quantity, next)) => {
                k = next.max(k + 1);
                quantities.push(quantity);
            }
            None => {
                let number_end = read_number(chars, k).map_or(k + 1, |n| n.end);
                k = number_end.max(k + 1);
            }
        }
    }
    (context, quantities)
}

/// Whether a line (a heading candidate, a running-title candidate) holds a quantity: 「地区生产总值增长6.7%以上」
/// alone on its line is a target, not a heading.
pub(crate) fn holds_quantity(line: &[char]) -> bool {
    !read_quantities(line, 0, line.len()).1.is_empty()
}

/// Whether `line` ends exactly with a quantity that has a unit of its own (「…新增就业3万人」, 「…增长6.7%以上」),
/// the quantity not continuing into `next` (「…增长6.7%」 + 「以上…」 continues; so does 「…2万」 + 「人」). Such a
/// line is complete: a target listed one a line, not a paragraph cut by a column break.
pub(crate) fn ends_with_quantity(line: &[char], next: &[char]) -> bool {
    // Only the end of the line matters: its last 40 characters, from a clause break when there is one.
    let mut from = line.len().saturating_sub(40);
    while from > 0 && !is_clause_break(line[from - 1]) && !is_sentence_break(line[from - 1]) {
        from -= 1;
        if line.len() - from > 80 {
            break;
        }
    }
    let mut joined: Vec<char> = line[from..].to_vec();
    let break_at = joined.len();
    joined.extend(next.iter().take(8));
    let (_, quantities) = read_quantities(&joined, 0, joined.len());
    quantities
        .iter()
        .rfind(|quantity| quantity.number_start < break_at)
        .is_some_and(|quantity| {
            quantity.end == break_at && !MAGNITUDES.contains(&quantity.unit.as_str())
        })
}

/// Builds the items of one sentence `[start, end)`.
fn sentence_drafts(chars: &[char], start: usize, end: usize) -> Vec<Draft> {
    let (context, quantities) = read_quantities(chars, start, end);
    // A measured amount qualifying the counted things, as in 「投资1亿元以上项目50个」, is not an item itself.
    let mut drafts: Vec<Draft> = Vec::new();
    for index in 0..quantities.len() {
        let quantity = &quantities[index];
        let clause_start = context.clause_start(quantity.number_start);
        let clause_end = context.clause_end(quantity.end);
        let next_in_clause = quantities
            .get(index + 1)
            .filter(|next| next.number_start < clause_end)
            .map(|next| next.number_start);
        if !quantity.counting
            && matches!(
                quantity.post_comparator,
                Some(Comparator::AtLeast | Comparator::AtMost)
            )
            && chars.get(quantity.end).is_some_and(|&c| is_hanzi(c))
            && next_in_clause.is_some()
        {
            continue;
        }
        // 「总投资2735亿元的576个储备项目」, 「覆盖38个村的27处公墓」, 「投资126亿元的产业园」: an amount
        // before 的 describes what follows.
        let describes = {
            let stop = next_in_clause.unwrap_or(clause_end);
            let between = &chars[quantity.end..stop];
            let ends_with_de = between.last() == Some(&'的') && next_in_clause.is_some();
            let measured_de = !quantity.counting && between.first() == Some(&'的');
            let measured_class = !quantity.counting
                && ["企业", "项目", "以上企业", "以上项目"]
                    .iter()
                    .any(|word| starts_with_at(between, 0, word));
            ends_with_de || measured_de || measured_class
        };
        if describes {
            continue;
        }
        // 「100万吨铝制品、永昌锦纶等154个项目」: a number inside the examples names an example.
        let examples_follow = (quantity.end..clause_end).any(|k| {
            chars[k] == '等'
                && chars
                    .get(k + 1)
                    .is_some_and(|&c| c.is_ascii_digit() || is_chinese_numeral_char(c))
        });
        if examples_follow {
            continue;
        }
        let previous = drafts.last().filter(|draft| draft.end >= clause_start);
        let previous_in_clause = previous.filter(|draft| {
            draft.quantity.end >= clause_start && draft.end <= quantity.number_start
        });
        let mut left_start = clause_start;
        let mut list_continuation = false;
        if let Some(draft) = previous_in_clause {
            left_start = draft.end;
            if chars.get(left_start) == Some(&'、') {
                left_start += 1;
                list_continuation = true;
            }
        }
        let left_raw = &chars[left_start..quantity.number_start];
        let left = strip_leading(left_raw, LEADING_WORDS);
        let quote_start = if left.is_empty() {
            quantity.number_start
        } else {
            quantity.number_start - left.len()
        };
        let (mut left_core, mut pre_comparator) = strip_trailing(left);
        // 「由60个工作日压缩至46个工作日内」: the starting point is not part of the indicator.
        let starting_point = (0..left_core.len()).find(|&k| {
            matches!(left_core[k], '由' | '从')
                && left_core
                    .get(k + 1)
                    .is_some_and(|&c| c.is_ascii_digit() || is_chinese_numeral_char(c))
        });
        if let Some(position) = starting_point {
            let (core, cmp) = strip_trailing(&left_core[..position]);
            left_core = core;
            pre_comparator = pre_comparator.or(cmp);
        }
        let left_core = drop_examples(left_core, quantity.value);
        let (noun, noun_end) = counted_noun(
            chars,
            quantity.end,
            next_in_clause.unwrap_or(clause_end),
            &quantity.unit,
            quantity.counting,
            next_in_clause.is_some(),
        );
        let mut indicator: String = left_core.iter().chain(noun.iter()).collect();
        let own: String = left_core.iter().collect();
        // The neighbour in the same sentence lends what this item leaves out.
        let neighbour = drafts
            .last()
            .filter(|draft| draft.start >= start && draft.end <= quantity.number_start);
        if let Some(neighbour) = neighbour {
            let left_chars: Vec<char> = own.chars().collect();
            let durations = DURATION_UNITS.contains(&quantity.unit.as_str())
                && DURATION_UNITS.contains(&neighbour.quantity.unit.as_str());
            if durations
                && own.is_empty()
                && !noun.is_empty()
                && neighbour.end > neighbour.quantity.end
            {
                // 「群众诉求2小时响应、48小时解决」: the second duration's action is done to the first's subject.
                let neighbour_action = neighbour.end - neighbour.quantity.end;
                let neighbour_chars: Vec<char> = neighbour.indicator.chars().collect();
                let subject: String = neighbour_chars
                    [..neighbour_chars.len().saturating_sub(neighbour_action)]
                    .iter()
                    .collect();
                indicator = format!("{}{}", subject_of(&subject), indicator);
            } else if own.is_empty() && noun.is_empty() {
                indicator = neighbour.indicator.clone();
            } else if own.is_empty() && previous_in_clause.is_some() && !list_continuation {
                // 「完成美爱家园等6个老旧小区13.75万平方米提升改造」
                indicator = format!("{}{}", neighbour.indicator, indicator);
            } else if is_bare_change(&left_chars) {
                // 「集装箱吞吐量达到2218万标准箱、增长5.5%」
                indicator = format!("{}{}", subject_of(&neighbour.indicator), indicator);
            } else if GENERIC_INDICATORS.contains(&own.as_str()) && noun.is_empty() {
                // 「净增国家高新技术企业60家，总数达到440家」
                indicator = format!("{}{}", subject_of(&neighbour.indicator), own);
            } else if noun.is_empty()
                && leading_verb(&left_chars).is_some_and(|verb| word_len(verb) == left_chars.len())
            {
                // 「老旧小区综合整治新开工300个、完工200个」
                indicator = format!("{}{}", subject_of(&neighbour.indicator), own);
            } else if noun.is_empty()
                && !list_continuation
                && left_chars.len() <= 3
                && leading_verb(&left_chars).is_none()
                && left_chars
                    .last()
                    .is_some_and(|&c| "额率值量数比价度".contains(c))
            {
                // 「新增服装电商经营主体500家，交易额突破500亿元」
                indicator = format!("{}{}", subject_of(&neighbour.indicator), own);
            } else if list_continuation && leading_verb(&left_chars).is_none() {
                // 「改造燃气管网623公里、供热管网150公里」
                let neighbour_chars: Vec<char> = neighbour.indicator.chars().collect();
                if let Some(verb) = leading_verb(&neighbour_chars) {
                    indicator = format!("{verb}{indicator}");
                }
            }
        }
        if neighbour.is_none() && is_bare_change(&own.chars().collect::<Vec<_>>()) {
            // 「地区生产总值跨越千亿台阶，增长7%以上」: the subject opens the previous clause.
            if let Some(subject) = previous_clause_subject(chars, start, clause_start) {
                indicator = format!("{subject}{indicator}");
            }
        }
        let end_of_item = noun_end.max(quantity.end);
        let cmp = quantity
            .post_comparator
            .or(pre_comparator)
            .unwrap_or(Comparator::Equal);
        let indicator = indicator
            .trim_matches(|c: char| c.is_whitespace() || "，、：；（）()".contains(c))
            .trim_start_matches('”')
            .trim_end_matches('“')
            .to_string();
        drafts.push(Draft {
            quantity: quantity.clone(),
            indicator,
            left_start,
            start: quote_start.min(quantity.number_start),
            end: end_of_item,
            cmp,
        });
    }
    distribute(chars, drafts)
}

/// The subject opening the clause before `clause_start` (in the same sentence): the text before its first verb.
fn previous_clause_subject(
    chars: &[char],
    sentence_start: usize,
    clause_start: usize,
) -> Option<String> {
    if clause_start <= sentence_start + 1 {
        return None;
    }
    let end = clause_start - 1;
    let mut begin = end;
    while begin > sentence_start && !is_clause_break(chars[begin - 1]) {
        begin -= 1;
    }
    let clause = strip_leading(&chars[begin..end], LEADING_WORDS);
    const VERBS: &[&str] = &[
        "跨越", "突破", "达到", "实现", "保持", "超过", "迈上", "迈过", "站上", "稳定", "增长",
        "提高", "完成", "达", "是", "为",
    ];
    let verb_at =
        (1..clause.len()).find(|&k| VERBS.iter().any(|verb| starts_with_at(clause, k, verb)))?;
    let subject: String = clause[..verb_at].iter().collect();
    (subject.chars().count() <= 16).then_some(subject)
}

/// Splits a list at 、 (and 和, 及, 与 when `conjunctions`).
fn split_list(text: &[char], conjunctions: bool) -> Vec<&[char]> {
    text.split(|&c| c == '、' || (conjunctions && "和及与".contains(c)))
        .filter(|part| !part.is_empty())
        .collect()
}

/// The indicators of a list of values sharing one text: 「粮食、蔬菜分别稳定播种550万亩和75万亩以上」,
/// 「新增省级、市级农业产业化龙头企业2家、20家」, 「国家高新技术企业、国家科技型中小企业各新增1000家」.
fn list_indicators(left: &[char], values: usize) -> Option<Vec<String>> {
    let left = strip_leading(left, LEADING_WORDS);
    let (left, _) = strip_trailing(left);
    let keyword = ["分别", "各", "均"].iter().find_map(|word| {
        (0..left.len())
            .find(|&k| starts_with_at(left, k, word))
            .map(|k| (k, word_len(word)))
    });
    if let Some((position, length)) = keyword {
        let (post, _) = strip_trailing(&left[position + length..]);
        let elements = split_list(&left[..position], true);
        if elements.len() >= 2 && (values == 1 || elements.len() == values) {
            return Some(
                elements
                    .iter()
                    .map(|element| element.iter().chain(post).collect())
                    .collect(),
            );
        }
        return None;
    }
    let parts = split_list(left, false);
    if values < 2 || parts.len() != values {
        return None;
    }
    // The list is of words of the first element's width: 「新增省级、市级农业产业化龙头企业」 is 新增 +
    // (省级 | 市级) + 农业产业化龙头企业.
    let verb = leading_verb(parts[0]).map_or(0, word_len);
    let width = parts[0].len() - verb;
    let last = parts[values - 1];
    if width == 0 || last.len() < width {
        return None;
    }
    let suffix = &last[width..];
    let mut indicators = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let element: &[char] = match index {
            0 => &part[verb..],
            k if k == values - 1 => &part[..width],
            _ => part,
        };
        indicators.push(
            parts[0][..verb]
                .iter()
                .chain(element)
                .chain(suffix)
                .collect(),
        );
    }
    Some(indicators)
}

/// Gives each value of a list its own indicator (see [`list_indicators`]); a comparator written after the last
/// value (「…和75万亩以上」) holds for all.
fn distribute(chars: &[char], drafts: Vec<Draft>) -> Vec<Draft> {
    let mut out = Vec::with_capacity(drafts.len());
    let mut index = 0;
    while index < drafts.len() {
        let mut last = index;
        while last + 1 < drafts.len() {
            let (this, next) = (&drafts[last], &drafts[last + 1]);
            let between = &chars
                [this.quantity.end.min(next.quantity.number_start)..next.quantity.number_start];
            let joined = this.end == this.quantity.end
                && between.len() == 1
                && "、和及与".contains(between[0]);
            if !joined {
                break;
            }
            last += 1;
        }
        let first = &drafts[index];
        let values = last - index + 1;
        let left = &chars[first.left_start..first.quantity.number_start];
        match list_indicators(left, values) {
            Some(indicators) if values > 1 => {
                let shared_cmp = drafts[last].quantity.post_comparator;
                for (draft, indicator) in drafts[index..=last].iter().zip(indicators) {
                    let mut draft = draft.clone();
                    draft.indicator = indicator;
                    draft.start = first.start;
                    if draft.quantity.post_comparator.is_none() {
                        if let Some(cmp) = shared_cmp {
                            draft.cmp = cmp;
                        }
                    }
                    out.push(draft);
                }
            }
            Some(indicators) => {
                for indicator in indicators {
                    let mut draft = first.clone();
                    draft.indicator = indicator;
                    out.push(draft);
                }
            }
            None => out.extend(drafts[index..=last].iter().cloned()),
        }
        index = last + 1;
    }
    out
}

/// What a heading says about its section, and the year it names.
fn classify_heading(heading: &str) -> (Option<SectionClass>, Option<i32>) {
    let year = heading_year(heading);
    if ["回顾", "总结", "过去", "一年来", "五年来"]
        .iter()
        .any(|w| heading.contains(w))
    {
        return (Some(SectionClass::Review), year.map(|y| y + 1));
    }
    if let Some(plan) = plan_name(heading) {
        if ["规划", "目标", "时期", "任务", "期间"]
            .iter()
            .any(|w| heading.contains(w))
        {
            return (Some(SectionClass::Plan(plan)), None);
        }
    }
    let this_year_words = [
        "今年",
        "主要任务",
        "重点任务",
        "工作安排",
        "目标任务",
        "重点工作",
        "主要目标",
        "工作任务",
        "总体思路",
        "工作建议",
        "安排建议",
    ];
    if this_year_words.iter().any(|w| heading.contains(w))
        || (year.is_some()
            && ["任务", "安排", "工作", "目标", "计划"]
                .iter()
                .any(|w| heading.contains(w)))
    {
        return (Some(SectionClass::ThisYear), year);
    }
    (None, None)
}

fn heading_year(text: &str) -> Option<i32> {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len().saturating_sub(4)).find_map(|k| {
        let digits: String = chars[k..k + 4].iter().collect();
        (chars[k..k + 4].iter().all(char::is_ascii_digit)
            && chars.get(k + 4) == Some(&'年')
            && (k == 0 || !chars[k - 1].is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
    })
}

/// 「十四五」 in a text, if a five-year plan is named.
fn plan_name(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len().saturating_sub(2)).find_map(|k| {
        (chars[k] == '十'
            && super::numerals::chinese_digit(chars[k + 1]).is_some()
            && chars[k + 2] == '五')
            .then(|| chars[k..k + 3].iter().collect())
    })
}

/// A paragraph-wide look back: 「一年来」, 「五年来」, 「过去五年」 make what follows results.
fn past_cue_positions(paragraph: &[char]) -> Vec<usize> {
    let mut positions = Vec::new();
    for k in 0..paragraph.len() {
        if starts_with_at(paragraph, k, "年来")
            && k > 0
            && (is_chinese_numeral_char(paragraph[k - 1]) || paragraph[k - 1].is_ascii_digit())
        {
            positions.push(k);
        }
        if starts_with_at(paragraph, k, "过去")
            && paragraph
                .get(k + 2)
                .is_some_and(|&c| is_chinese_numeral_char(c) || matches!(c, '的' | '几'))
        {
            positions.push(k);
        }
        if starts_with_at(paragraph, k, "回顾过去") {
            positions.push(k);
        }
    }
    positions
}

/// The period a sentence names before `at`: 「今年」, 「2024年」, 「到2025年」, 「到“十四五”末」, 「去年」.
fn sentence_period(sentence: &[char], report_year: Option<i32>) -> Option<Period> {
    let text: String = sentence.iter().collect();
    let mut found = None;
    for k in 0..sentence.len() {
        let rest = &sentence[k..];
        if starts_with_at(rest, 0, "今年") || starts_with_at(rest, 0, "年内") {
            // 「今年以来」 in a review is the past of a mid-year report; rare in work reports.
            found = Some(Period::ThisYear);
        } else if starts_with_at(rest, 0, "去年") || starts_with_at(rest, 0, "上年度") {
            if k == 0 || sentence[..k].iter().all(|&c| !is_hanzi(c) || c == '在') {
                found = Some(Period::Past);
            }
        } else if rest.len() >= 5
            && rest[..4].iter().all(char::is_ascii_digit)
            && rest[4] == '年'
            && (k == 0 || !sentence[k - 1].is_ascii_digit())
        {
            let year: i32 = rest[..4].iter().collect::<String>().parse().unwrap_or(0);
            let by = k > 0 && matches!(sentence[k - 1], '到' | '至');
            let at_start = k == 0 || (k == 1 && by) || (k == 1 && sentence[0] == '在');
            match report_year {
                Some(report) if year < report && at_start => found = Some(Period::Past),
                Some(report) if year == report && at_start => found = Some(Period::ThisYear),
                Some(report) if year > report && (by || at_start) => {
                    found = Some(Period::Year(year));
                }
                None if by => found = Some(Period::Year(year)),
                _ => {}
            }
        }
    }
    // 「到“十四五”末」, 「“十四五”期间」 opening the sentence; not 「增至“十二五”末的3.6倍」, a comparison.
    if found.is_none() {
        if let Some(plan) = plan_name(&text) {
            if let Some(index) = text.find(&plan) {
                let before: Vec<char> = text[..index].trim_end_matches('“').chars().collect();
                let before: String = strip_leading(&before, LEADING_WORDS).iter().collect();
                let after = text[index + plan.len()..].trim_start_matches('”');
                let by = matches!(before.as_str(), "" | "到" | "至" | "在");
                if by
                    && ["末", "期间", "时期", "规划期"]
                        .iter()
                        .any(|w| after.starts_with(w))
                {
                    found = Some(Period::Plan(plan));
                }
            }
        }
    }
    found
}

struct Heading {
    level: usize,
    /// Empty for a numbered line that is an item of a list (「1.地区生产总值增长6%左右；」), not a heading.
    text: String,
    /// Where the paragraph's content starts after an inline heading (「(一) 加快构建现代产业体系。增强…」).
    content_start: usize,
    numeral_one: bool,
}

/// The heading a paragraph is or opens with.
fn paragraph_heading(paragraph: &[char]) -> Option<Heading> {
    if let Some(number_length) = heading_number_length(paragraph) {
        let level = match paragraph[0] {
            '（' | '(' if !paragraph[1].is_ascii_digit() => 2,
            c if c.is_ascii_digit() || paragraph.get(1).is_some_and(char::is_ascii_digit) => 3,
            _ => 1,
        };
        let sentence_end = paragraph
            .iter()
            .position(|&c| matches!(c, '。' | '！' | '？' | '；'));
        let (heading_end, content_start) = match sentence_end {
            Some(position) => (position, position + 1),
            None => (paragraph.len(), paragraph.len()),
        };
        // A long first sentence is not a heading: 「1.」 opening an ordinary paragraph.
        if heading_end > 60 {
            return None;
        }
        let text: String = paragraph[..heading_end]
            .iter()
            .collect::<String>()
            .trim()
            .to_string();
        let numeral_one = level == 1 && number_length == 2 && paragraph[0] == '一';
        // A heading holding a quantity is read too: 「（五）办好十件民生实事」, 「（二）新建学校12所。…」. Below
        // the top level, a numbered paragraph of one sentence that ends with its quantity is an item of a list,
        // not a heading: 「1.地区生产总值增长6%左右；」.
        let first = &paragraph[number_length..heading_end];
        let holds = holds_quantity(first);
        let one_sentence = paragraph[heading_end..]
            .iter()
            .all(|&c| matches!(c, '。' | '；' | ';' | ' '));
        if holds && level > 1 && one_sentence && ends_with_quantity(first, &[]) {
            return Some(Heading {
                level,
                text: String::new(),
                content_start: number_length,
                numeral_one: false,
            });
        }
        return Some(Heading {
            level,
            text,
            content_start: if holds { number_length } else { content_start },
            numeral_one,
        });
    }
    if is_heading_line(paragraph) && paragraph.iter().any(|&c| is_hanzi(c)) {
        let text: String = paragraph.iter().collect::<String>().trim().to_string();
        let level = if classify_heading(&text).0.is_some() {
            1
        } else {
            3
        };
        return Some(Heading {
            level,
            text,
            content_start: paragraph.len(),
            numeral_one: false,
        });
    }
    None
}

/// Extracts the items of a cleaned report; also returns the report's year when a heading names it.
pub fn extract_items(cleaned: &Cleaned) -> (Vec<Item>, Option<i32>) {
    let chars = &cleaned.chars;
    let mut paragraphs = Vec::new();
    let mut start = 0;
    for k in 0..=chars.len() {
        if k == chars.len() || chars[k] == '\n' {
            if k > start {
                paragraphs.push((start, k));
            }
            start = k + 1;
        }
    }
    // First pass: the headings, the report's year, and what the text before the first heading is.
    let mut report_year = None;
    let mut first_top_heading: Option<bool> = None;
    for &(p_start, p_end) in &paragraphs {
        if let Some(heading) = paragraph_heading(&chars[p_start..p_end]) {
            if heading.level == 1 && !heading.text.is_empty() {
                first_top_heading.get_or_insert(
                    heading.numeral_one || heading_number_length(&chars[p_start..p_end]).is_none(),
                );
                let (class, year) = classify_heading(&heading.text);
                if report_year.is_none() {
                    if let (Some(_), Some(year)) = (class, year) {
                        report_year = Some(year);
                    }
                }
            }
        }
    }
    // Text before a first heading numbered 二 or later continues section 一, which in a work report is
    // the review of the past year (the seed page starts that way, from page 13).
    let preamble = match first_top_heading {
        Some(false) => SectionClass::Review,
        _ => SectionClass::Unknown,
    };

    let mut items = Vec::new();
    let mut top_class = preamble;
    let mut sub_class: Option<SectionClass> = None;
    let mut seen_this_year = false;
    let mut path: Vec<(usize, String)> = Vec::new();
    for &(p_start, p_end) in &paragraphs {
        let paragraph = &chars[p_start..p_end];
        let mut content_start = p_start;
        let heading = paragraph_heading(paragraph);
        if let Some(heading) = &heading {
            content_start = p_start + heading.content_start;
        }
        // An item of a numbered list (no text) is read after its number and opens no section.
        if let Some(heading) = heading.filter(|h| !h.text.is_empty()) {
            let (class, _) = classify_heading(&heading.text);
            path.retain(|(level, _)| *level < heading.level);
            path.push((heading.level, heading.text.clone()));
            if heading.level == 1 {
                sub_class = None;
                top_class = match class {
                    Some(class) => class,
                    None if seen_this_year => SectionClass::ThisYear,
                    None => top_class,
                };
                if top_class == SectionClass::ThisYear {
                    seen_this_year = true;
                }
            } else if let Some(class) = class {
                sub_class = Some(class);
            } else if heading.level == 2 {
                sub_class = None;
            }
        }
        if content_start >= p_end {
            continue;
        }
        let section: String = path
            .iter()
            .map(|(_, text)| text.as_str())
            .collect::<Vec<_>>()
            .join(" › ");
        let class = sub_class.clone().unwrap_or_else(|| top_class.clone());
        let past_cues: Vec<usize> = past_cue_positions(paragraph)
            .into_iter()
            .map(|k| p_start + k)
            .collect();
        // Sentences.
        let mut s_start = content_start;
        for k in content_start..=p_end {
            if k < p_end && !is_sentence_break(chars[k]) {
                continue;
            }
            let s_end = k;
            if s_end > s_start {
                for draft in sentence_drafts(chars, s_start, s_end) {
                    let sentence_cue =
                        sentence_period(&chars[s_start..draft.quantity.number_start], report_year);
                    let paragraph_cue = past_cues
                        .iter()
                        .any(|&cue| cue < draft.quantity.number_start)
                        .then_some(Period::Past);
                    let period = sentence_cue.or(paragraph_cue).unwrap_or(match &class {
                        SectionClass::Review => Period::Past,
                        SectionClass::ThisYear | SectionClass::Unknown => Period::ThisYear,
                        SectionClass::Plan(name) => Period::Plan(name.clone()),
                    });
                    let kind = if period == Period::Past {
                        Kind::Achievement
                    } else {
                        Kind::Target
                    };
                    let (start, end) = cleaned.original_span(draft.start, draft.end);
                    let quote = cleaned.original_text(start, end);
                    let mut push = |value: f64, cmp: Comparator| {
                        items.push(Item {
                            indicator: draft.indicator.clone(),
                            value,
                            unit: draft.quantity.unit.clone(),
                            cmp,
                            period: period.clone(),
                            kind,
                            section: section.clone(),
                            start,
                            end,
                            quote: quote.clone(),
                        });
                    };
                    match draft.quantity.range_low {
                        Some(low) => {
                            push(low, Comparator::AtLeast);
                            push(draft.quantity.value, Comparator::AtMost);
                        }
                        None => push(draft.quantity.value, draft.cmp),
                    }
                }
            }
            s_start = k + 1;
        }
    }
    (items, report_year)
}
