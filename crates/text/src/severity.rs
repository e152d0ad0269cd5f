//! Severity and tier signals read from a report's Chinese text: fire, explosion, gas or chemical leak,
//! collapse, injury or death, crowd gathering, children or elderly people at risk, flooding, electric hazards.
//!
//! A documented rule set (see `docs/text.md`, "Severity and tier signals"), not a model: a dispatcher must be
//! able to read why a case was raised. Each rule is a phrase that asks for a [`Tier`] and a [`Priority`];
//! children and elderly people at risk are a subject phrase (孩子, 老人…) and an event phrase (落水, 摔倒…) in
//! the same sentence. A match is dropped when a negation stands just before it in the same clause (没有着火,
//! 无人员伤亡, 防止火灾) or an after-the-fact word just after it (死亡证明, 受伤赔偿, 火灾演练); phrases that
//! only look like events (燃气费, 信息爆炸) are listed as blocking phrases that swallow the text they cover.
//!
//! Offsets are character offsets into the ORIGINAL text: normalisation here maps each character to exactly
//! one character (full-width → half-width, traditional → simplified), so indices carry over unchanged.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use onegrid_core::Tier;

/// What a signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SignalKind {
    Fire,
    Explosion,
    GasLeak,
    ChemicalLeak,
    Collapse,
    Casualty,
    ChildrenAtRisk,
    ElderlyAtRisk,
    Flooding,
    CrowdGathering,
    ElectricHazard,
    /// A fire risk, not a fire: blocked fire exits, charging e-bikes in stairwells, 火灾隐患.
    FireHazard,
}

impl SignalKind {
    /// Every kind, in the order used to break ties between equally severe signals.
    pub const ALL: [SignalKind; 12] = [
        SignalKind::Fire,
        SignalKind::Explosion,
        SignalKind::GasLeak,
        SignalKind::ChemicalLeak,
        SignalKind::Collapse,
        SignalKind::Casualty,
        SignalKind::ChildrenAtRisk,
        SignalKind::ElderlyAtRisk,
        SignalKind::Flooding,
        SignalKind::CrowdGathering,
        SignalKind::ElectricHazard,
        SignalKind::FireHazard,
    ];

    /// A stable English name (snake case), for the case history and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Fire => "fire",
            SignalKind::Explosion => "explosion",
            SignalKind::GasLeak => "gas_leak",
            SignalKind::ChemicalLeak => "chemical_leak",
            SignalKind::Collapse => "collapse",
            SignalKind::Casualty => "casualty",
            SignalKind::ChildrenAtRisk => "children_at_risk",
            SignalKind::ElderlyAtRisk => "elderly_at_risk",
            SignalKind::Flooding => "flooding",
            SignalKind::CrowdGathering => "crowd_gathering",
            SignalKind::ElectricHazard => "electric_hazard",
            SignalKind::FireHazard => "fire_hazard",
        }
    }

    /// The Chinese label a dispatcher sees.
    pub fn name_zh(self) -> &'static str {
        match self {
            SignalKind::Fire => "火情",
            SignalKind::Explosion => "爆炸",
            SignalKind::GasLeak => "燃气泄漏",
            SignalKind::ChemicalLeak => "危化品泄漏",
            SignalKind::Collapse => "倒塌",
            SignalKind::Casualty => "人员伤亡",
            SignalKind::ChildrenAtRisk => "儿童遇险",
            SignalKind::ElderlyAtRisk => "老人遇险",
            SignalKind::Flooding => "水患",
            SignalKind::CrowdGathering => "人员聚集",
            SignalKind::ElectricHazard => "用电险情",
            SignalKind::FireHazard => "消防隐患",
        }
    }
}

impl std::fmt::Display for SignalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How soon a signal needs attention. Ordered: `Urgent` is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// A risk to fix within the normal deadline.
    Normal,
    /// Needs attention today.
    High,
    /// Life or property at risk now.
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// One signal found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub kind: SignalKind,
    /// The tier this signal asks for.
    pub tier: Tier,
    pub priority: Priority,
    /// The text that matched, as written in the input (for children/elderly: subject through event).
    pub matched: String,
    /// Character offset of the first matched character in the input.
    pub start: usize,
    /// Character offset just past the last matched character.
    pub end: usize,
}

/// Phrases that ask for a signal on their own: (kind, tier, priority, phrases). Phrases are written in
/// simplified characters; the input is converted before matching.
const TRIGGERS: &[(SignalKind, Tier, Priority, &[&str])] = &[
    (
        SignalKind::Fire,
        Tier::District,
        Priority::Urgent,
        &[
            "火灾",
            "着火",
            "起火",
            "失火",
            "火情",
            "火警",
            "大火",
            "烧起来",
            "烧着了",
            "冒烟起火",
            "着火冒烟",
            "燃烧起来",
            "烧毁",
            "火势",
        ],
    ),
    (
        SignalKind::Explosion,
        Tier::District,
        Priority::Urgent,
        &["爆炸", "爆燃", "闪爆", "炸了", "发生爆炸"],
    ),
    (
        SignalKind::GasLeak,
        Tier::District,
        Priority::Urgent,
        &[
            "燃气泄漏",
            "燃气泄露",
            "煤气泄漏",
            "煤气泄露",
            "天然气泄漏",
            "天然气泄露",
            "液化气泄漏",
            "液化气泄露",
            "燃气漏气",
            "煤气漏气",
            "天然气漏气",
            "液化气漏气",
            "燃气管道漏气",
            "燃气管漏气",
            "煤气管道漏气",
            "漏燃气",
            "漏煤气",
            "漏天然气",
            "煤气味",
            "燃气味",
            "天然气味",
            "闻到煤气",
            "闻到燃气",
            "闻到天然气",
            "煤气中毒",
            "一氧化碳中毒",
        ],
    ),
    (
        SignalKind::ChemicalLeak,
        Tier::District,
        Priority::Urgent,
        &[
            "危化品泄漏",
            "危化品泄露",
            "化学品泄漏",
            "化学品泄露",
            "有毒气体泄漏",
            "有毒气体泄露",
            "毒气泄漏",
            "毒气泄露",
            "氨气泄漏",
            "氯气泄漏",
            "液氨泄漏",
            "硫化氢",
            "化工厂泄漏",
            "槽罐车泄漏",
            "槽罐车侧翻",
        ],
    ),
    (
        // A smell is a complaint until someone reports a leak: the street checks it today.
        SignalKind::ChemicalLeak,
        Tier::Street,
        Priority::High,
        &[
            "刺鼻气味",
            "有毒气体",
            "毒气",
            "刺鼻的气味",
            "刺鼻味",
            "化学品",
            "危化品",
            "危险化学品",
        ],
    ),
    (
        SignalKind::Collapse,
        Tier::District,
        Priority::Urgent,
        &[
            "倒塌",
            "坍塌",
            "垮塌",
            "塌方",
            "塌陷",
            "楼塌了",
            "房塌了",
            "墙塌了",
            "塌了",
            "山体滑坡",
            "滑坡",
            "泥石流",
        ],
    ),
    (
        SignalKind::Collapse,
        Tier::Street,
        Priority::High,
        &[
            "墙体开裂",
            "墙体倾斜",
            "房屋开裂",
            "房屋倾斜",
            "楼房倾斜",
            "楼体倾斜",
            "墙体裂缝",
            "楼体开裂",
            "摇摇欲坠",
            "随时倒塌",
        ],
    ),
    (
        SignalKind::Casualty,
        Tier::District,
        Priority::Urgent,
        &[
            "受伤",
            "重伤",
            "伤亡",
            "人员伤亡",
            "死亡",
            "身亡",
            "死了人",
            "死人了",
            "遇难",
            "丧生",
            "昏迷",
            "流血",
            "被困",
            "困在",
            "电梯困人",
            "砸伤",
            "烧伤",
            "撞伤",
            "摔伤",
            "打伤",
            "砍伤",
            "刺伤",
            "触电",
            "溺水",
            "落水",
            "溺亡",
            "猝死",
            "晕倒",
            "自杀",
            "跳楼",
            "中毒",
        ],
    ),
    (
        SignalKind::Flooding,
        Tier::District,
        Priority::Urgent,
        &[
            "决堤",
            "溃坝",
            "溃堤",
            "山洪",
            "洪水",
            "被水冲走",
            "水漫金山",
        ],
    ),
    (
        SignalKind::Flooding,
        Tier::Street,
        Priority::High,
        &[
            "倒灌",
            "内涝",
            "被淹",
            "淹了",
            "水淹",
            "积水过膝",
            "积水严重",
            "泡水",
        ],
    ),
    (
        SignalKind::CrowdGathering,
        Tier::District,
        Priority::High,
        &[
            "群体性事件",
            "聚众闹事",
            "聚集闹事",
            "人员聚集",
            "大量人员聚集",
            "群众聚集",
            "围堵",
            "堵路",
            "堵门",
            "打架斗殴",
            "群殴",
            "械斗",
            "发生冲突",
            "肢体冲突",
        ],
    ),
    (
        SignalKind::CrowdGathering,
        Tier::Street,
        Priority::High,
        &[
            "聚集",
            "集体上访",
            "聚集上访",
            "拉横幅",
            "拉条幅",
            "打横幅",
            "静坐",
            "集体维权",
            "聚众",
        ],
    ),
    (
        SignalKind::ElectricHazard,
        Tier::Street,
        Priority::High,
        &[
            "电线裸露",
            "裸露电线",
            "漏电",
            "电线老化",
            "电线脱落",
            "电线掉落",
            "电线垂落",
            "电线断",
            "高压线断",
            "高压线掉",
            "电线杆倒",
            "电缆裸露",
            "电箱漏电",
            "配电箱漏电",
            "电线短路",
            "短路",
        ],
    ),
    (
        SignalKind::FireHazard,
        Tier::Street,
        Priority::Normal,
        &[
            "火灾隐患",
            "消防隐患",
            "消防安全隐患",
            "消防通道被占",
            "占用消防通道",
            "堵塞消防通道",
            "消防通道堵塞",
            "占据消防通道",
            "堵住消防通道",
            "消防通道被堵",
            "楼道充电",
            "飞线充电",
            "私拉电线充电",
            "电动车进楼",
            "消防设施损坏",
            "灭火器过期",
            "消防栓损坏",
            "消防栓没水",
        ],
    ),
];

/// Who counts as a child.
const CHILD_SUBJECTS: &[&str] = &[
    "儿童",
    "孩子",
    "小孩",
    "小朋友",
    "幼儿",
    "婴儿",
    "学生",
    "小学生",
    "中学生",
    "儿子",
    "女儿",
    "孙子",
    "孙女",
    "男孩",
    "女孩",
    "未成年人",
];

/// What puts a child at risk.
const CHILD_EVENTS: &[&str] = &[
    "落水",
    "溺水",
    "掉进",
    "掉入",
    "掉到",
    "坠入",
    "坠楼",
    "坠落",
    "跌落",
    "走失",
    "失踪",
    "被困",
    "困在",
    "被拐",
    "被打",
    "被殴打",
    "虐待",
    "受伤",
    "危险",
    "出事",
    "找不到",
    "被咬",
    "被狗咬",
    "昏迷",
    "中毒",
];

/// Who counts as an elderly person.
const ELDER_SUBJECTS: &[&str] = &[
    "老人",
    "老年人",
    "老太太",
    "老太",
    "老大爷",
    "老奶奶",
    "老爷爷",
    "老伯",
    "大爷",
    "大妈",
    "孤寡",
    "独居",
    "空巢",
    "高龄",
];

/// What puts an elderly person at risk.
const ELDER_EVENTS: &[&str] = &[
    "摔倒",
    "跌倒",
    "摔伤",
    "倒地",
    "走失",
    "失踪",
    "被困",
    "困在",
    "昏迷",
    "晕倒",
    "无人照料",
    "无人照顾",
    "无人看管",
    "无人赡养",
    "无人管",
    "病倒",
    "受伤",
    "饿",
    "去世",
    "没人管",
    "生活不能自理",
    "没出门",
    "未出门",
    "没人应",
    "无人应答",
    "联系不上",
];

/// Phrases that look like an event but are not one; matching them swallows the words they contain.
/// (The longest phrase wins at a position, so 燃气费 is read before any shorter phrase inside it.)
const BLOCKS: &[&str] = &[
    "燃气费",
    "煤气费",
    "燃气公司",
    "信息爆炸",
    "爆炸性",
    "火爆",
    "大火锅",
    "死亡证明",
    "死亡率",
    "生死",
    "失火罪",
    "消防演练",
    "火灾演练",
    "火灾保险",
    "防火",
    "防汛",
    "防洪",
    "洪水期",
    "危险品",
    "很受伤",
    "受伤害",
    "鱼死亡",
    "流血流汗",
    "流血牺牲",
];

/// Words that negate an event when they stand in the same clause within [`NEGATION_WINDOW`] characters before
/// it (没有着火, 无人员伤亡, 未造成伤亡, 防止火灾).
const NEGATORS: &[&str] = &[
    "没有", "没", "无", "未", "不会", "不是", "并非", "非", "防止", "预防", "防范", "杜绝", "避免",
    "以防", "谨防", "排除", "否认", "严禁", "禁止", "担心", "怕",
];

/// Words that make an event after the fact or hypothetical when they follow it in the same clause within
/// [`AFTER_WINDOW`] characters (受伤赔偿, 死亡抚恤金, 火灾演练, 火灾险).
const AFTER_BLOCKERS: &[&str] = &[
    "演练",
    "演习",
    "宣传",
    "培训",
    "知识",
    "教育",
    "预案",
    "保险",
    "赔偿",
    "补偿",
    "抚恤",
    "待遇",
    "认定",
    "鉴定",
    "证明",
    "报销",
    "补助",
    "丧葬",
    "费",
    "怎么办",
    "隐患",
    "风险",
    "的可能",
];

const NEGATION_WINDOW: usize = 4;
const AFTER_WINDOW: usize = 6;
/// A child or elderly subject and its event must be this close (characters) and in the same sentence.
const PAIR_WINDOW: usize = 20;

/// What a phrase means; one phrase may play several roles (被困 is a casualty and a child/elderly event).
#[derive(Debug, Clone, Copy, Default)]
struct Role {
    trigger: Option<(SignalKind, Tier, Priority)>,
    child_subject: bool,
    child_event: bool,
    elder_subject: bool,
    elder_event: bool,
}

struct Matcher {
    automaton: AhoCorasick,
    roles: Vec<Role>,
}

/// One automaton for every phrase: a single pass over the text finds all of them in time linear in the text,
/// where a regex per rule would rescan the text ~280 times. Leftmost-longest semantics let the longer phrase
/// win (人员伤亡 over 伤亡, 燃气费 blocks nothing shorter), which is what the blocking phrases rely on.
static MATCHER: LazyLock<Matcher> = LazyLock::new(|| {
    let mut roles: HashMap<&'static str, Role> = HashMap::new();
    for (kind, tier, priority, phrases) in TRIGGERS {
        for phrase in *phrases {
            let role = roles.entry(phrase).or_default();
            if role.trigger.is_none() {
                role.trigger = Some((*kind, *tier, *priority));
            }
        }
    }
    for phrase in CHILD_SUBJECTS {
        roles.entry(phrase).or_default().child_subject = true;
    }
    for phrase in CHILD_EVENTS {
        roles.entry(phrase).or_default().child_event = true;
    }
    for phrase in ELDER_SUBJECTS {
        roles.entry(phrase).or_default().elder_subject = true;
    }
    for phrase in ELDER_EVENTS {
        roles.entry(phrase).or_default().elder_event = true;
    }
    for phrase in BLOCKS {
        roles.entry(phrase).or_default();
    }
    let mut entries: Vec<(&'static str, Role)> = roles.into_iter().collect();
    entries.sort_by_key(|(phrase, _)| *phrase);
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(entries.iter().map(|(phrase, _)| phrase))
        .expect("the built-in severity phrases are a small, valid pattern set");
    Matcher {
        automaton,
        roles: entries.into_iter().map(|(_, role)| role).collect(),
    }
});

/// Full-width ASCII (U+FF01–U+FF5E) to ASCII and the ideographic space to a space: one character for one, so
/// character offsets are unchanged.
fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// The text with widths folded and traditional characters simplified, character for character. `None` when
/// the text cannot contain a phrase (pure ASCII).
fn fold(text: &str) -> Option<String> {
    if text.is_ascii() {
        return None;
    }
    let folded: String = text.chars().map(fold_width).collect();
    // fast2s converts one character into one character; should a later version not, the width-folded text
    // still has the right offsets.
    let simplified = fast2s::convert(&folded);
    if simplified.chars().count() == folded.chars().count() {
        Some(simplified)
    } else {
        Some(folded)
    }
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        ',' | '，'
            | '。'
            | '.'
            | '!'
            | '！'
            | '?'
            | '？'
            | ';'
            | '；'
            | '、'
            | ':'
            | '：'
            | '\n'
            | '\r'
            | ' '
            | '\t'
    )
}

fn is_sentence_break(c: char) -> bool {
    matches!(c, '。' | '!' | '！' | '?' | '？' | ';' | '；' | '\n' | '\r')
}

/// Up to `n` characters before byte `at`, stopping at a clause break, in reading order.
fn clause_before(text: &str, at: usize, n: usize) -> String {
    let mut window: Vec<char> = text
        .get(..at)
        .unwrap_or("")
        .chars()
        .rev()
        .take(n)
        .take_while(|c| !is_clause_break(*c))
        .collect();
    window.reverse();
    window.into_iter().collect()
}

/// Up to `n` characters after byte `at`, stopping at a clause break.
fn clause_after(text: &str, at: usize, n: usize) -> String {
    text.get(at..)
        .unwrap_or("")
        .chars()
        .take(n)
        .take_while(|c| !is_clause_break(*c))
        .collect()
}

/// Whether the phrase at bytes `start..end` of the folded text is negated or after the fact.
fn is_non_event(text: &str, start: usize, end: usize) -> bool {
    let before = clause_before(text, start, NEGATION_WINDOW);
    if NEGATORS.iter().any(|n| before.contains(n)) {
        return true;
    }
    let after = clause_after(text, end, AFTER_WINDOW);
    AFTER_BLOCKERS
        .iter()
        .any(|b| after.starts_with(b) || after.contains(b))
}

/// A phrase found in the folded text, with byte and character positions.
#[derive(Debug, Clone, Copy)]
struct Hit {
    role: Role,
    byte_start: usize,
    byte_end: usize,
    start: usize,
    end: usize,
    negated: bool,
}

/// Every signal in `text`: at most one per kind (the most severe occurrence, the first among equals), most
/// severe first (priority, then tier, then position). Never panics; linear in the length of the text.
pub fn signals(text: &str) -> Vec<Signal> {
    let Some(folded) = fold(text) else {
        return Vec::new();
    };
    let matcher = &*MATCHER;
    let mut hits: Vec<Hit> = Vec::new();
    // Matches come in increasing position, so character offsets are counted once over the text.
    let (mut byte_cursor, mut char_cursor) = (0usize, 0usize);
    for m in matcher.automaton.find_iter(&folded) {
        let Some(role) = matcher.roles.get(m.pattern().as_usize()).copied() else {
            continue;
        };
        if role.trigger.is_none()
            && !role.child_subject
            && !role.child_event
            && !role.elder_subject
            && !role.elder_event
        {
            continue; // a blocking phrase: it swallowed its text, nothing to report
        }
        char_cursor += folded
            .get(byte_cursor..m.start())
            .map_or(0, |s| s.chars().count());
        let start = char_cursor;
        let end = start
            + folded
                .get(m.start()..m.end())
                .map_or(0, |s| s.chars().count());
        byte_cursor = m.end();
        char_cursor = end;
        let negated = (role.trigger.is_some() || role.child_event || role.elder_event)
            && is_non_event(&folded, m.start(), m.end());
        hits.push(Hit {
            role,
            byte_start: m.start(),
            byte_end: m.end(),
            start,
            end,
            negated,
        });
    }

    let mut candidates: Vec<(SignalKind, Tier, Priority, usize, usize)> = Vec::new();
    for hit in &hits {
        if let (Some((kind, tier, priority)), false) = (hit.role.trigger, hit.negated) {
            candidates.push((kind, tier, priority, hit.start, hit.end));
        }
    }
    if let Some((s, e)) = pair_signals(&folded, &hits, |r| r.child_subject, |r| r.child_event) {
        let (tier, priority) = (Tier::District, Priority::Urgent);
        candidates.push((SignalKind::ChildrenAtRisk, tier, priority, s, e));
    }
    if let Some((s, e)) = pair_signals(&folded, &hits, |r| r.elder_subject, |r| r.elder_event) {
        let (tier, priority) = (Tier::Street, Priority::High);
        candidates.push((SignalKind::ElderlyAtRisk, tier, priority, s, e));
    }

    // One per kind: the most severe, then the first.
    let mut best: HashMap<SignalKind, (Tier, Priority, usize, usize)> = HashMap::new();
    for (kind, tier, priority, start, end) in candidates {
        let replace = match best.get(&kind) {
            None => true,
            Some(&(t, p, s, _)) => {
                (priority, tier) > (p, t) || ((priority, tier) == (p, t) && start < s)
            }
        };
        if replace {
            best.insert(kind, (tier, priority, start, end));
        }
    }
    let mut out: Vec<Signal> = best
        .into_iter()
        .map(|(kind, (tier, priority, start, end))| Signal {
            kind,
            tier,
            priority,
            matched: text.chars().skip(start).take(end - start).collect(),
            start,
            end,
        })
        .collect();
    out.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(b.tier.cmp(&a.tier))
            .then(a.start.cmp(&b.start))
            .then(a.kind.cmp(&b.kind))
    });
    out
}

/// The first (subject, event) pair, in either order, no more than [`PAIR_WINDOW`] characters apart in the same
/// sentence, with the event not negated: its character span.
fn pair_signals(
    folded: &str,
    hits: &[Hit],
    is_subject: impl Fn(&Role) -> bool,
    is_event: impl Fn(&Role) -> bool,
) -> Option<(usize, usize)> {
    for (i, event) in hits.iter().enumerate() {
        if !is_event(&event.role) || event.negated {
            continue;
        }
        let near = |subject: &Hit| {
            let (first, second) = if subject.start < event.start {
                (subject, event)
            } else {
                (event, subject)
            };
            second.start.saturating_sub(first.end) <= PAIR_WINDOW
                && !folded
                    .get(first.byte_end..second.byte_start)
                    .unwrap_or("")
                    .chars()
                    .any(is_sentence_break)
        };
        let before = hits[..i]
            .iter()
            .rev()
            .find(|h| is_subject(&h.role) && near(h));
        let after = || {
            hits[i + 1..]
                .iter()
                .find(|h| is_subject(&h.role) && near(h))
        };
        if let Some(subject) = before.or_else(after) {
            return Some((subject.start.min(event.start), subject.end.max(event.end)));
        }
    }
    None
}

/// The highest tier any signal asks for, with the (most severe) signal that asks for it, when that tier is
/// above `base`; `None` when no signal asks for more than the case already has.
pub fn raised_tier(base: Tier, signals: &[Signal]) -> Option<(Tier, &Signal)> {
    let top = signals.iter().map(|s| s.tier).max()?;
    if top <= base {
        return None;
    }
    let responsible = signals
        .iter()
        .filter(|s| s.tier == top)
        .max_by(|a, b| a.priority.cmp(&b.priority).then(b.start.cmp(&a.start)))?;
    Some((top, responsible))
}

/// Intake's use of the rules: reads the report's title and description and, when a signal asks for a
/// higher tier than both the category's default and the tier the report already asks for, raises the
/// report's tier and records why in `tier_reason` (kept in the report event, so the case history names
/// the signal). Returns the signal that raised it.
pub fn raise_report_tier(
    report: &mut onegrid_core::NewReport,
    category_default: Tier,
) -> Option<Signal> {
    let text = format!("{}。{}", report.title, report.description);
    let found = signals(&text);
    let base = report
        .tier
        .unwrap_or(category_default)
        .max(category_default);
    let (tier, signal) = raised_tier(base, &found)?;
    report.tier = Some(tier);
    report.tier_reason = Some(format!(
        "严重性信号「{}」（{}，{}）: {} → {}",
        signal.matched,
        signal.kind.name_zh(),
        signal.kind.as_str(),
        base.as_str(),
        tier.as_str()
    ));
    Some(signal.clone())
}

/// The highest priority asked by any signal, `None` when there are none.
pub fn highest_priority(signals: &[Signal]) -> Option<Priority> {
    signals.iter().map(|s| s.priority).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<SignalKind> {
        signals(text).into_iter().map(|s| s.kind).collect()
    }

    #[test]
    fn every_phrase_is_simplified_and_matches_itself() {
        for (kind, _, _, phrases) in TRIGGERS {
            for phrase in *phrases {
                let found = kinds(phrase);
                // A phrase may be swallowed by a longer one of another kind only if listed in BLOCKS.
                assert!(
                    found.contains(kind) || BLOCKS.iter().any(|b| b.contains(phrase)),
                    "{phrase} does not give {kind}: {found:?}"
                );
                assert_eq!(
                    fast2s::convert(phrase),
                    *phrase,
                    "{phrase} is not simplified"
                );
            }
        }
    }

    #[test]
    fn negation_window_stops_at_a_clause_break() {
        assert!(kinds("没人管，着火了").contains(&SignalKind::Fire));
        assert!(!kinds("没有着火").contains(&SignalKind::Fire));
    }

    #[test]
    fn folding_keeps_character_counts() {
        let text = "ＡＢ　關於火災，煤氣洩漏😀";
        let folded = fold(text).unwrap();
        assert_eq!(folded.chars().count(), text.chars().count());
        assert!(folded.contains("火灾"));
    }

    #[test]
    fn pairs_need_the_same_sentence() {
        assert!(kinds("孩子在河边玩，掉进河里了").contains(&SignalKind::ChildrenAtRisk));
        assert!(!kinds("孩子放学了。路上有个坑很危险").contains(&SignalKind::ChildrenAtRisk));
    }
}
