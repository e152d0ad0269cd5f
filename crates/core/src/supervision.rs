//! Supervision tasks (督办任务): a work report's targets for its year, each with a lead department, a
//! deadline, progress reports and 督办 notices, supervised like cases through a hash-chained,
//! append-only history per task.
//!
//! - [`assess`] is the status rule (on_track / at_risk / overdue / done), a pure function of the
//!   target, the progress reports, the deadline and the time; `docs/supervision.md` states it.
//! - [`suggest_departments`] is the keyword rule that proposes a lead (主办) and co-departments (协办)
//!   from an indicator.
//! - [`TaskEvent`], [`verify_task_chain`], [`evolve_task`] and [`replay_task`] are the history, with
//!   the same hashing as the case history (`crate::history`): SHA-256 over the canonical JSON of the
//!   event's content, which includes the previous event's hash.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calendar::{CalendarError, WorkCalendar, TIMEZONE};
use crate::history::{ActorRef, GENESIS_HASH};
use crate::org::DepartmentCode;

/// A task's number, assigned by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How the reported value is compared with the target value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = ">")]
    MoreThan,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "<")]
    LessThan,
    /// A plain or approximate value (左右, 约): read as "reach it" (`>=`).
    #[serde(rename = "=")]
    Equal,
}

impl Cmp {
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::AtLeast => ">=",
            Cmp::MoreThan => ">",
            Cmp::AtMost => "<=",
            Cmp::LessThan => "<",
            Cmp::Equal => "=",
        }
    }

    pub fn parse(text: &str) -> Option<Cmp> {
        Some(match text {
            ">=" => Cmp::AtLeast,
            ">" => Cmp::MoreThan,
            "<=" => Cmp::AtMost,
            "<" => Cmp::LessThan,
            "=" => Cmp::Equal,
            _ => return None,
        })
    }

    /// Lower is better (`<=`, `<`): 控制在, 压缩至…以内, 低于.
    pub fn lower_is_better(self) -> bool {
        matches!(self, Cmp::AtMost | Cmp::LessThan)
    }

    /// Whether `value` meets a target of `target` under this comparator (`=` is read as `>=`).
    pub fn met(self, value: f64, target: f64) -> bool {
        match self {
            Cmp::AtLeast | Cmp::Equal => value >= target,
            Cmp::MoreThan => value > target,
            Cmp::AtMost => value <= target,
            Cmp::LessThan => value < target,
        }
    }

    /// The sign written in front of the value in tables: ≥ > ≤ < ≈.
    pub fn sign(self) -> &'static str {
        match self {
            Cmp::AtLeast => "≥",
            Cmp::MoreThan => ">",
            Cmp::AtMost => "≤",
            Cmp::LessThan => "<",
            Cmp::Equal => "≈",
        }
    }
}

/// A task as created from one extracted target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    /// The report's name, e.g. 「东丽区2021年政府工作报告」.
    pub report: String,
    /// The year the report plans for; the default deadline is its last day.
    pub year: i32,
    pub section: String,
    pub indicator: String,
    pub value: f64,
    pub unit: String,
    pub cmp: Cmp,
    /// The source text of the target and its character span in the report.
    pub quote: String,
    pub start: usize,
    pub end: usize,
    pub lead: Option<DepartmentCode>,
    pub co_departments: Vec<DepartmentCode>,
    /// The last day (Asia/Shanghai) by which the target must be met.
    pub deadline: NaiveDate,
}

/// One progress report by the lead department: the value reached so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressReport {
    pub value: f64,
    pub evidence: Vec<String>,
    pub note: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// One 督办 notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub note: String,
    pub at: DateTime<Utc>,
    pub by: String,
    /// The lead department must report progress by then (counted in working time).
    pub respond_by: Option<DateTime<Utc>>,
}

/// A task as it stands after its history (the projection the store keeps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub version: u64,
    #[serde(flatten)]
    pub spec: NewTask,
    /// The value progress is counted from (default: 0 for higher-is-better targets, the first
    /// reported value for lower-is-better ones).
    pub baseline: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub progress: Vec<ProgressReport>,
    pub notices: Vec<Notice>,
    /// When a progress report first met the target.
    pub done_at: Option<DateTime<Utc>>,
    /// Reminders recorded by the reminder sweep (催办提醒), oldest first. Absent in tasks stored
    /// before reminders existed, hence the default.
    #[serde(default)]
    pub reminders: Vec<ReminderRecord>,
    pub head_hash: String,
}

/// A reminder recorded in a task's history by the reminder sweep (see [`reminder_due`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderRecord {
    pub at: DateTime<Utc>,
    /// The status that called for it: at_risk or overdue.
    pub status: Status,
    /// Why, as a sentence (Chinese): 「进度 30%，时间已过 50%，落后 20 个百分点」.
    pub reason: String,
}

impl Task {
    pub fn latest(&self) -> Option<&ProgressReport> {
        self.progress.last()
    }

    /// Whether a department leads or co-handles the task.
    pub fn involves(&self, department: &DepartmentCode) -> bool {
        self.spec.lead.as_ref() == Some(department) || self.spec.co_departments.contains(department)
    }

    /// The last time someone or something chased the lead department: the latest reminder or 督办
    /// notice.
    pub fn last_chased(&self) -> Option<DateTime<Utc>> {
        let reminded = self.reminders.last().map(|r| r.at);
        let noticed = self.notices.last().map(|n| n.at);
        reminded.max(noticed)
    }

    /// The status now (see [`assess`]).
    pub fn assess(&self, now: DateTime<Utc>) -> Assessment {
        let reports: Vec<(DateTime<Utc>, f64)> =
            self.progress.iter().map(|p| (p.at, p.value)).collect();
        assess(&StatusInput {
            cmp: self.spec.cmp,
            target: self.spec.value,
            baseline: self.baseline,
            reports: &reports,
            year_start: year_start(self.spec.year),
            created_at: self.created_at,
            deadline: deadline_end(self.spec.deadline),
            now,
        })
    }
}

// ---------------------------------------------------------------- status rule

/// Progress may trail time elapsed by this fraction of the whole (15 percentage points) before a
/// task is at risk.
pub const BEHIND_MARGIN: f64 = 0.15;
/// A task without a progress report for this many days (since its last report, or since it was
/// created) is at risk.
pub const STALE_DAYS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OnTrack,
    AtRisk,
    Overdue,
    Done,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::Overdue => "overdue",
            Status::Done => "done",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Status::OnTrack => "正常推进",
            Status::AtRisk => "进度滞后",
            Status::Overdue => "逾期未完成",
            Status::Done => "已完成",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "on_track" => Status::OnTrack,
            "at_risk" => Status::AtRisk,
            "overdue" => Status::Overdue,
            "done" => Status::Done,
            _ => return None,
        })
    }

    pub const ALL: [Status; 4] = [
        Status::OnTrack,
        Status::AtRisk,
        Status::Overdue,
        Status::Done,
    ];
}

/// What [`assess`] reads.
#[derive(Debug, Clone)]
pub struct StatusInput<'a> {
    pub cmp: Cmp,
    pub target: f64,
    pub baseline: Option<f64>,
    /// Progress reports, oldest first: (when, value to date).
    pub reports: &'a [(DateTime<Utc>, f64)],
    /// When the period of the target starts (1 January of the report's year, China time).
    pub year_start: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The end of the deadline day (China time).
    pub deadline: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// Why and by how much a task is where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub status: Status,
    /// Time elapsed, as a fraction of [year start, deadline] (0–1).
    pub elapsed: f64,
    /// Progress towards the target, as a fraction from the baseline (0–1).
    pub progress: f64,
    /// How far progress trails time, in percentage points (0 when ahead).
    pub behind_points: f64,
    /// Whole days since the last progress report (or since the task was created).
    pub days_since_report: i64,
    /// Whole days past the deadline (0 before it).
    pub days_overdue: i64,
    /// No progress report for more than [`STALE_DAYS`].
    pub stale: bool,
}

/// The progress fraction: for higher-is-better targets (`>=`, `>`, `=`) the share of the way from
/// the baseline (default 0) to the target; for lower-is-better targets (`<=`, `<`) the share of the
/// way from the baseline (default: the first reported value) down to the target. 1 when the latest
/// value meets the target; 0 without reports; clamped to 0–1.
pub fn progress_fraction(
    cmp: Cmp,
    target: f64,
    baseline: Option<f64>,
    reports: &[(DateTime<Utc>, f64)],
) -> f64 {
    let Some(&(_, latest)) = reports.last() else {
        return 0.0;
    };
    if cmp.met(latest, target) {
        return 1.0;
    }
    let fraction = if cmp.lower_is_better() {
        let base = baseline.unwrap_or(reports[0].1);
        if base <= target {
            0.0
        } else {
            (base - latest) / (base - target)
        }
    } else {
        let base = baseline.unwrap_or(0.0);
        if target <= base {
            0.0
        } else {
            (latest - base) / (target - base)
        }
    };
    if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The status rule, in order:
/// 1. **done** when the latest reported value meets the target under its comparator;
/// 2. **overdue** when `now` is past the deadline and the task is not done;
/// 3. **at_risk** when progress trails elapsed time by more than [`BEHIND_MARGIN`], or when no
///    progress was reported for more than [`STALE_DAYS`] days (counted from the task's creation
///    when there is no report);
/// 4. **on_track** otherwise.
pub fn assess(input: &StatusInput<'_>) -> Assessment {
    let progress = progress_fraction(input.cmp, input.target, input.baseline, input.reports);
    let span = (input.deadline - input.year_start).num_seconds().max(1) as f64;
    let elapsed = ((input.now - input.year_start).num_seconds() as f64 / span).clamp(0.0, 1.0);
    let behind = (elapsed - progress).max(0.0);
    let last_activity = input
        .reports
        .last()
        .map(|&(at, _)| at)
        .unwrap_or(input.created_at);
    let days_since_report = (input.now - last_activity).num_days().max(0);
    let days_overdue = if input.now > input.deadline {
        (input.now - input.deadline).num_days() + 1
    } else {
        0
    };
    let stale = days_since_report > STALE_DAYS;
    let done = input
        .reports
        .last()
        .is_some_and(|&(_, value)| input.cmp.met(value, input.target));
    let status = if done {
        Status::Done
    } else if input.now > input.deadline {
        Status::Overdue
    } else if behind > BEHIND_MARGIN + 1e-9 || stale {
        Status::AtRisk
    } else {
        Status::OnTrack
    };
    Assessment {
        status,
        elapsed,
        progress,
        behind_points: (behind * 1000.0).round() / 10.0,
        days_since_report,
        days_overdue: if done { 0 } else { days_overdue },
        stale: stale && !done,
    }
}

/// 00:00 on 1 January of `year`, China time.
pub fn year_start(year: i32) -> DateTime<Utc> {
    day_start(NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN))
}

/// The end of a deadline day (00:00 of the next day, China time).
pub fn deadline_end(day: NaiveDate) -> DateTime<Utc> {
    day_start(day.succ_opt().unwrap_or(day))
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    TIMEZONE
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

/// The default deadline: the last day of the report's year.
pub fn default_deadline(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// The day (China time) of an instant.
pub fn local_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&TIMEZONE).date_naive()
}

/// The year (China time) of an instant.
pub fn local_year(at: DateTime<Utc>) -> i32 {
    at.with_timezone(&TIMEZONE).year()
}

// ---------------------------------------------------------------- reminders

/// A task that stays behind is reminded again after this many working days (the district's
/// working calendar), counted from its last reminder or 督办 notice.
pub const REMIND_EVERY_WORKING_DAYS: i64 = 5;

/// The reminder rule of the sweep: a task is reminded now when
/// 1. its status (`assessment`, taken at `now`) is **at_risk** or **overdue**, and
/// 2. it was never reminded nor given a 督办 notice, **or** the last of them is at least
///    [`REMIND_EVERY_WORKING_DAYS`] working days old (`calendar`: weekends, holidays and 调休
///    counted as in a notice's limit), **or** the task is overdue and the last of them came before
///    the deadline passed (falling overdue is told at once).
///
/// A done or on-track task is never reminded. Fails only when `calendar` does not cover the time.
pub fn reminder_due(
    task: &Task,
    assessment: &Assessment,
    now: DateTime<Utc>,
    calendar: &WorkCalendar,
) -> Result<bool, CalendarError> {
    // A task once done stays done in its history (`decide` refuses a reminder then), even when a
    // later corrected report puts it behind again: the two rules must agree, or the sweep would
    // try it every hour.
    if task.done_at.is_some() || !matches!(assessment.status, Status::AtRisk | Status::Overdue) {
        return Ok(false);
    }
    let Some(last) = task.last_chased() else {
        return Ok(true);
    };
    if assessment.status == Status::Overdue && last < deadline_end(task.spec.deadline) {
        return Ok(true);
    }
    let minutes = REMIND_EVERY_WORKING_DAYS * calendar.hours().minutes_per_day();
    Ok(now >= calendar.add_working_minutes(last, minutes)?)
}

// ---------------------------------------------------------------- departments

/// The keyword rules that suggest departments, in order of precedence: the first rule with a
/// keyword in the indicator leads (主办); other matching rules become co-departments (协办), at most
/// two. The codes are those of `data/departments.csv`.
pub const DEPARTMENT_RULES: &[(&str, &[&str])] = &[
    ("xiaofang", &["消防"]),
    ("yibao", &["医保", "医疗保障"]),
    ("xinfang", &["信访"]),
    ("gongre", &["供热", "采暖"]),
    ("ranqi", &["燃气"]),
    ("gongdian", &["电网", "供电", "充电桩", "变电站"]),
    ("tongxin", &["5G", "基站", "宽带", "通信", "光纤"]),
    ("jiaojing", &["交通事故", "交通违法", "停车位"]),
    ("gongan", &["治安", "刑事", "案件", "警务"]),
    ("yingji", &["安全生产", "应急", "事故", "防灾", "减灾"]),
    (
        "shengtai",
        &[
            "PM",
            "空气",
            "优良天数",
            "污染",
            "排放",
            "碳",
            "生态",
            "环境",
            "水质",
            "断面",
            "扬尘",
            "蓝绿",
        ],
    ),
    (
        "shuiwu",
        &[
            "水务", "河道", "排水", "污水", "雨水", "防汛", "节水", "供水", "水系", "坑塘",
        ],
    ),
    (
        "chengguan",
        &[
            "垃圾",
            "环卫",
            "市容",
            "违建",
            "违法建设",
            "公厕",
            "绿化",
            "园林",
            "公园",
            "城市管理",
            "造林",
            "绿廊",
            "照明",
            "道路清扫",
        ],
    ),
    (
        "zhujian",
        &[
            "住房",
            "棚户",
            "老旧小区",
            "保障房",
            "安置房",
            "建筑",
            "管网",
            "物业",
            "房屋",
            "住宅",
            "开工",
            "竣工",
        ],
    ),
    (
        "jiaotong",
        &[
            "道路",
            "公路",
            "公交",
            "交通",
            "桥",
            "地铁",
            "轨道",
            "快速路",
        ],
    ),
    (
        "jiaoyu",
        &[
            "学校",
            "小学",
            "中学",
            "幼儿园",
            "学位",
            "教育",
            "中小学",
            "校",
            "教师",
            "托育",
        ],
    ),
    (
        "weijian",
        &[
            "医院", "卫生", "医疗", "健康", "核酸", "疫苗", "床位", "疫情", "诊",
        ],
    ),
    (
        "renshe",
        &[
            "就业",
            "岗位",
            "培训",
            "社保",
            "养老保险",
            "失业",
            "技能",
            "人才",
        ],
    ),
    (
        "minzheng",
        &[
            "养老",
            "救助",
            "低保",
            "社区",
            "残疾",
            "老年",
            "社会组织",
            "殡葬",
        ],
    ),
    (
        "nongye",
        &[
            "农业", "粮食", "蔬菜", "种植", "农村", "乡村", "农民", "耕地", "畜", "水产", "农田",
        ],
    ),
    ("guotu", &["土地", "用地", "规划", "地块", "出让", "征收"]),
    (
        "wenlv",
        &[
            "文化", "旅游", "文旅", "体育", "图书", "博物", "演出", "景区",
        ],
    ),
    (
        "shichang",
        &[
            "市场主体",
            "食品",
            "药品",
            "质量",
            "商标",
            "专利",
            "知识产权",
            "计量",
            "标准",
        ],
    ),
    ("sifa", &["法律", "普法", "法治", "调解"]),
    (
        "shangwu",
        &[
            "消费",
            "外资",
            "外贸",
            "进出口",
            "零售",
            "商业",
            "招商",
            "企业",
            "投资",
            "项目",
            "产业",
            "税",
            "财政",
            "生产总值",
            "GDP",
            "经济",
            "营业收入",
            "产值",
            "高新",
            "科技",
            "创新",
        ],
    ),
];

/// The departments suggested for an indicator: (lead, co-departments). The lead is the first rule
/// (in [`DEPARTMENT_RULES`] order) with a keyword in the indicator; failing that, in the quote. Only
/// the indicator's other matches become co-departments (at most two). Codes not in `known` are
/// skipped, so a district with other departments gets no unknown code.
pub fn suggest_departments(
    indicator: &str,
    quote: &str,
    known: &dyn Fn(&str) -> bool,
) -> (Option<DepartmentCode>, Vec<DepartmentCode>) {
    let matches = |text: &str| -> Vec<DepartmentCode> {
        DEPARTMENT_RULES
            .iter()
            .filter(|(code, keywords)| known(code) && keywords.iter().any(|k| text.contains(k)))
            .filter_map(|(code, _)| DepartmentCode::parse(code).ok())
            .collect()
    };
    let in_indicator = matches(indicator);
    if let Some((lead, rest)) = in_indicator.split_first() {
        return (Some(lead.clone()), rest.iter().take(2).cloned().collect());
    }
    (matches(quote).into_iter().next(), Vec::new())
}

// ---------------------------------------------------------------- history

/// What happened to a task, with every fact needed to rebuild it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskEventKind {
    /// 立项: created from a report's target.
    Created { task: Box<NewTask> },
    /// 调整: lead, co-departments, deadline or baseline changed (the new values).
    Edited {
        lead: Option<DepartmentCode>,
        co_departments: Vec<DepartmentCode>,
        deadline: NaiveDate,
        baseline: Option<f64>,
    },
    /// 进度报送 by the lead department.
    ProgressReported {
        value: f64,
        evidence: Vec<String>,
        note: String,
    },
    /// 督办 notice.
    NoticeIssued {
        note: String,
        respond_by: Option<DateTime<Utc>>,
    },
    /// 完成: a progress report met the target (recorded right after that report).
    Done { value: f64 },
    /// 催办提醒: the reminder sweep found the task behind ([`reminder_due`]).
    Reminded { status: Status, reason: String },
}

impl TaskEventKind {
    pub fn name(&self) -> &'static str {
        match self {
            TaskEventKind::Created { .. } => "created",
            TaskEventKind::Edited { .. } => "edited",
            TaskEventKind::ProgressReported { .. } => "progress_reported",
            TaskEventKind::NoticeIssued { .. } => "notice_issued",
            TaskEventKind::Done { .. } => "done",
            TaskEventKind::Reminded { .. } => "reminded",
        }
    }

    pub fn name_zh(&self) -> &'static str {
        match self {
            TaskEventKind::Created { .. } => "立项",
            TaskEventKind::Edited { .. } => "调整",
            TaskEventKind::ProgressReported { .. } => "进度报送",
            TaskEventKind::NoticeIssued { .. } => "督办",
            TaskEventKind::Done { .. } => "完成",
            TaskEventKind::Reminded { .. } => "催办提醒",
        }
    }
}

/// One stored entry of a task's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    pub task_id: TaskId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: ActorRef,
    pub kind: TaskEventKind,
    pub prev_hash: String,
    pub hash: String,
}

/// The hashed part of an event: everything but its own hash, in canonical field order.
#[derive(Serialize)]
struct HashedContent<'a> {
    task_id: TaskId,
    seq: u64,
    at: &'a DateTime<Utc>,
    actor: &'a ActorRef,
    kind: &'a TaskEventKind,
    prev_hash: &'a str,
}

impl TaskEvent {
    /// Builds the event that follows `prev_hash`, computing its hash.
    pub fn new(
        task_id: TaskId,
        seq: u64,
        at: DateTime<Utc>,
        actor: ActorRef,
        kind: TaskEventKind,
        prev_hash: &str,
    ) -> TaskEvent {
        let mut event = TaskEvent {
            task_id,
            seq,
            at,
            actor,
            kind,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        event.hash = event.computed_hash();
        event
    }

    /// SHA-256 over the canonical JSON of the content (serde_json writes fields in declaration
    /// order and the event holds no maps, so the bytes are the same everywhere).
    pub fn computed_hash(&self) -> String {
        let content = HashedContent {
            task_id: self.task_id,
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            kind: &self.kind,
            prev_hash: &self.prev_hash,
        };
        let json = serde_json::to_string(&content).unwrap_or_default();
        hex::encode(Sha256::digest(json.as_bytes()))
    }
}

/// Why a task's history does not verify, does not replay, or a change is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    #[error("task {task_id} has no history")]
    Empty { task_id: TaskId },
    #[error("task {task_id}, event {seq}: expected sequence number {expected} (an event is missing or out of order)")]
    Sequence {
        task_id: TaskId,
        seq: u64,
        expected: u64,
    },
    #[error(
        "task {task_id}, event {seq}: its hash does not match its content (the event was edited)"
    )]
    ContentHash { task_id: TaskId, seq: u64 },
    #[error("task {task_id}, event {seq}: its previous-event hash does not match event {} (an event before it was edited or deleted)", seq - 1)]
    Link { task_id: TaskId, seq: u64 },
    #[error("task {task_id}, event {seq}: belongs to task {found}")]
    WrongTask {
        task_id: TaskId,
        seq: u64,
        found: TaskId,
    },
    #[error("task {task_id}, event {seq}: a {kind} event cannot come {place}")]
    Replay {
        task_id: TaskId,
        seq: u64,
        kind: &'static str,
        place: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Checks one task's chain: sequence numbers, each event's own hash, and each link.
pub fn verify_task_chain(task_id: TaskId, events: &[TaskEvent]) -> Result<(), TaskError> {
    if events.is_empty() {
        return Err(TaskError::Empty { task_id });
    }
    let mut prev_hash = GENESIS_HASH.to_string();
    for (index, event) in events.iter().enumerate() {
        let expected = index as u64 + 1;
        if event.task_id != task_id {
            return Err(TaskError::WrongTask {
                task_id,
                seq: event.seq,
                found: event.task_id,
            });
        }
        if event.seq != expected {
            return Err(TaskError::Sequence {
                task_id,
                seq: event.seq,
                expected,
            });
        }
        if event.computed_hash() != event.hash {
            return Err(TaskError::ContentHash {
                task_id,
                seq: event.seq,
            });
        }
        if event.prev_hash != prev_hash {
            return Err(TaskError::Link {
                task_id,
                seq: event.seq,
            });
        }
        prev_hash = event.hash.clone();
    }
    Ok(())
}

/// Applies one recorded event to a task (or creates it). No rule checks: they ran when the change
/// was decided ([`decide`]).
pub fn evolve_task(task: Option<Task>, event: &TaskEvent) -> Result<Task, TaskError> {
    let replay = |place: &'static str| TaskError::Replay {
        task_id: event.task_id,
        seq: event.seq,
        kind: event.kind.name(),
        place,
    };
    let mut task = match (task, &event.kind) {
        (None, TaskEventKind::Created { task }) => {
            return Ok(Task {
                id: event.task_id,
                version: event.seq,
                spec: (**task).clone(),
                baseline: None,
                created_at: event.at,
                updated_at: event.at,
                progress: Vec::new(),
                notices: Vec::new(),
                done_at: None,
                reminders: Vec::new(),
                head_hash: event.hash.clone(),
            })
        }
        (None, _) => return Err(replay("before the task is created")),
        (Some(_), TaskEventKind::Created { .. }) => {
            return Err(replay("after the task was created"))
        }
        (Some(task), _) => task,
    };
    if task.id != event.task_id || event.seq != task.version + 1 {
        return Err(replay("out of sequence"));
    }
    match &event.kind {
        TaskEventKind::Created { .. } => {}
        TaskEventKind::Edited {
            lead,
            co_departments,
            deadline,
            baseline,
        } => {
            task.spec.lead = lead.clone();
            task.spec.co_departments = co_departments.clone();
            task.spec.deadline = *deadline;
            task.baseline = *baseline;
        }
        TaskEventKind::ProgressReported {
            value,
            evidence,
            note,
        } => task.progress.push(ProgressReport {
            value: *value,
            evidence: evidence.clone(),
            note: note.clone(),
            at: event.at,
            by: event.actor.person.as_str().to_string(),
        }),
        TaskEventKind::NoticeIssued { note, respond_by } => task.notices.push(Notice {
            note: note.clone(),
            at: event.at,
            by: event.actor.person.as_str().to_string(),
            respond_by: *respond_by,
        }),
        TaskEventKind::Done { .. } => {
            if task.done_at.is_none() {
                task.done_at = Some(event.at);
            }
        }
        TaskEventKind::Reminded { status, reason } => task.reminders.push(ReminderRecord {
            at: event.at,
            status: *status,
            reason: reason.clone(),
        }),
    }
    task.version = event.seq;
    task.updated_at = event.at;
    task.head_hash = event.hash.clone();
    Ok(task)
}

/// Rebuilds a task from its whole history, checking the chain first.
pub fn replay_task(task_id: TaskId, events: &[TaskEvent]) -> Result<Task, TaskError> {
    verify_task_chain(task_id, events)?;
    let mut task = None;
    for event in events {
        task = Some(evolve_task(task, event)?);
    }
    task.ok_or(TaskError::Empty { task_id })
}

/// A change asked for (the caller's rights are checked by the caller).
#[derive(Debug, Clone, PartialEq)]
pub enum TaskChange {
    /// Any field left `None` keeps its value; `baseline: Some(None)` clears it.
    Edit {
        lead: Option<Option<DepartmentCode>>,
        co_departments: Option<Vec<DepartmentCode>>,
        deadline: Option<NaiveDate>,
        baseline: Option<Option<f64>>,
    },
    Progress {
        value: f64,
        evidence: Vec<String>,
        note: String,
    },
    Notice {
        note: String,
        respond_by: Option<DateTime<Utc>>,
    },
    /// A reminder by the sweep, for a task found at_risk or overdue.
    Remind { status: Status, reason: String },
}

/// Decides the events a change makes: validates it and, for a progress report that first meets
/// the target, adds the `done` event after it.
pub fn decide(task: &Task, change: TaskChange) -> Result<Vec<TaskEventKind>, TaskError> {
    match change {
        TaskChange::Edit {
            lead,
            co_departments,
            deadline,
            baseline,
        } => {
            let lead = lead.unwrap_or_else(|| task.spec.lead.clone());
            let mut co = co_departments.unwrap_or_else(|| task.spec.co_departments.clone());
            co.retain(|d| Some(d) != lead.as_ref());
            let mut seen = Vec::new();
            co.retain(|d| {
                let new = !seen.contains(d);
                seen.push(d.clone());
                new
            });
            let deadline = deadline.unwrap_or(task.spec.deadline);
            if deadline < NaiveDate::from_ymd_opt(task.spec.year, 1, 1).unwrap_or(NaiveDate::MIN) {
                return Err(TaskError::Invalid(format!(
                    "the deadline {deadline} is before the report's year {} begins",
                    task.spec.year
                )));
            }
            let baseline = baseline.unwrap_or(task.baseline);
            if baseline.is_some_and(|b| !b.is_finite()) {
                return Err(TaskError::Invalid("the baseline must be a number".into()));
            }
            if lead == task.spec.lead
                && co == task.spec.co_departments
                && deadline == task.spec.deadline
                && baseline == task.baseline
            {
                return Err(TaskError::Invalid("nothing to change: the task already has these departments, deadline and baseline".into()));
            }
            Ok(vec![TaskEventKind::Edited {
                lead,
                co_departments: co,
                deadline,
                baseline,
            }])
        }
        TaskChange::Progress {
            value,
            evidence,
            note,
        } => {
            if !value.is_finite() {
                return Err(TaskError::Invalid(
                    "the value to date must be a number".into(),
                ));
            }
            let mut events = vec![TaskEventKind::ProgressReported {
                value,
                evidence,
                note,
            }];
            if task.done_at.is_none() && task.spec.cmp.met(value, task.spec.value) {
                events.push(TaskEventKind::Done { value });
            }
            Ok(events)
        }
        TaskChange::Notice { note, respond_by } => {
            if note.trim().is_empty() {
                return Err(TaskError::Invalid(
                    "a 督办 notice needs a note saying what is expected".into(),
                ));
            }
            Ok(vec![TaskEventKind::NoticeIssued {
                note: note.trim().to_string(),
                respond_by,
            }])
        }
        TaskChange::Remind { status, reason } => {
            if task.done_at.is_some() {
                return Err(TaskError::Invalid(
                    "the task is done: there is nothing to remind of".into(),
                ));
            }
            if !matches!(status, Status::AtRisk | Status::Overdue) {
                return Err(TaskError::Invalid(format!(
                    "a reminder is for a task at risk or overdue, not {}",
                    status.as_str()
                )));
            }
            Ok(vec![TaskEventKind::Reminded {
                status,
                reason: reason.trim().to_string(),
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{PersonId, Role};
    use chrono::Duration;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").to_utc()
    }

    const YEAR_START: &str = "2021-01-01T00:00:00+08:00";
    const DEADLINE: &str = "2022-01-01T00:00:00+08:00";

    fn input<'a>(
        cmp: Cmp,
        target: f64,
        reports: &'a [(DateTime<Utc>, f64)],
        now: &str,
    ) -> StatusInput<'a> {
        StatusInput {
            cmp,
            target,
            baseline: None,
            reports,
            year_start: at(YEAR_START),
            created_at: at(YEAR_START),
            deadline: at(DEADLINE),
            now: at(now),
        }
    }

    fn status(cmp: Cmp, target: f64, reports: &[(DateTime<Utc>, f64)], now: &str) -> Status {
        assess(&input(cmp, target, reports, now)).status
    }

    #[test]
    fn comparators_meet_exactly_as_written() {
        let cases = [
            (Cmp::AtLeast, 60.0, 60.0, true),
            (Cmp::AtLeast, 60.0, 59.9, false),
            (Cmp::MoreThan, 60.0, 60.0, false),
            (Cmp::MoreThan, 60.0, 60.1, true),
            (Cmp::AtMost, 46.0, 46.0, true),
            (Cmp::AtMost, 46.0, 46.5, false),
            (Cmp::LessThan, 46.0, 46.0, false),
            (Cmp::LessThan, 46.0, 45.0, true),
            (Cmp::Equal, 6.0, 6.0, true),
            (Cmp::Equal, 6.0, 6.5, true),
            (Cmp::Equal, 6.0, 5.9, false),
        ];
        for (cmp, target, value, met) in cases {
            assert_eq!(cmp.met(value, target), met, "{cmp:?} {value} vs {target}");
            assert_eq!(Cmp::parse(cmp.as_str()), Some(cmp));
        }
        assert_eq!(Cmp::parse("≈"), None);
    }

    #[test]
    fn every_status_for_every_comparator() {
        // Mid-year: half the time has gone.
        let mid = "2021-07-02T12:00:00+08:00";
        let recent = at("2021-06-20T00:00:00+08:00");
        for cmp in [Cmp::AtLeast, Cmp::MoreThan, Cmp::Equal] {
            // Target met → done, even after the deadline.
            let met = [(recent, 61.0)];
            assert_eq!(status(cmp, 60.0, &met, mid), Status::Done);
            assert_eq!(
                status(cmp, 60.0, &met, "2022-03-01T00:00:00+08:00"),
                Status::Done
            );
            // Half-way at mid-year → on track.
            assert_eq!(status(cmp, 60.0, &[(recent, 30.0)], mid), Status::OnTrack);
            // 40 % at mid-year: 10 points behind, inside the margin → on track.
            assert_eq!(status(cmp, 60.0, &[(recent, 24.0)], mid), Status::OnTrack);
            // 30 % at mid-year: 20 points behind → at risk.
            assert_eq!(status(cmp, 60.0, &[(recent, 18.0)], mid), Status::AtRisk);
            // Not met after the deadline → overdue.
            assert_eq!(
                status(cmp, 60.0, &[(recent, 59.0)], "2022-01-01T00:00:01+08:00"),
                Status::Overdue
            );
        }
        // The last second of the deadline day is still before the deadline.
        assert_eq!(
            status(
                Cmp::AtLeast,
                60.0,
                &[(at("2021-12-20T00:00:00+08:00"), 40.0)],
                "2021-12-31T23:59:59+08:00"
            ),
            Status::AtRisk
        );
    }

    #[test]
    fn lower_is_better_counts_down_from_the_first_report() {
        let mid = "2021-07-02T12:00:00+08:00";
        let first = at("2021-03-01T00:00:00+08:00");
        let second = at("2021-06-25T00:00:00+08:00");
        for cmp in [Cmp::AtMost, Cmp::LessThan] {
            // From 60 working days down to 46: at 53 half the way → on track.
            let half = [(first, 60.0), (second, 53.0)];
            assert_eq!(status(cmp, 46.0, &half, mid), Status::OnTrack);
            assert!((progress_fraction(cmp, 46.0, None, &half) - 0.5).abs() < 1e-9);
            // No improvement since the first report at mid-year → at risk.
            let flat = [(first, 60.0), (second, 60.0)];
            assert_eq!(status(cmp, 46.0, &flat, mid), Status::AtRisk);
            // Worse than the baseline is progress 0, not negative.
            assert_eq!(
                progress_fraction(cmp, 46.0, None, &[(first, 60.0), (second, 70.0)]),
                0.0
            );
            // Below the target → done.
            assert_eq!(
                status(cmp, 46.0, &[(first, 60.0), (second, 40.0)], mid),
                Status::Done
            );
            // A higher reported value after the deadline → overdue.
            assert_eq!(
                status(cmp, 46.0, &half, "2022-02-01T00:00:00+08:00"),
                Status::Overdue
            );
        }
        // The boundary: 46 meets <= 46, not < 46.
        let at_target = [(first, 60.0), (second, 46.0)];
        assert_eq!(status(Cmp::AtMost, 46.0, &at_target, mid), Status::Done);
        assert_eq!(
            status(Cmp::LessThan, 46.0, &at_target, mid),
            Status::OnTrack
        );
        // An explicit baseline is used instead of the first report.
        let one = [(second, 53.0)];
        let mut with_base = input(Cmp::AtMost, 46.0, &one, mid);
        with_base.baseline = Some(60.0);
        assert!((assess(&with_base).progress - 0.5).abs() < 1e-9);
    }

    #[test]
    fn staleness_and_no_reports() {
        // No report: in the first 60 days of the year a task is on track (behind by less than 15 points).
        assert_eq!(
            status(Cmp::AtLeast, 10.0, &[], "2021-01-20T00:00:00+08:00"),
            Status::OnTrack
        );
        // No report after 60 days: at risk (both stale and behind).
        let a = assess(&input(Cmp::AtLeast, 10.0, &[], "2021-03-15T00:00:00+08:00"));
        assert_eq!(a.status, Status::AtRisk);
        assert!(a.stale);
        assert_eq!(a.days_since_report, 73);
        // Ahead of time but the last report is 61 days old → at risk.
        let old = [(at("2021-01-10T00:00:00+08:00"), 9.0)];
        let a = assess(&input(
            Cmp::AtLeast,
            10.0,
            &old,
            "2021-03-12T00:00:00+08:00",
        ));
        assert_eq!(a.status, Status::AtRisk);
        assert!(a.stale);
        // 60 days exactly is not stale.
        let a = assess(&input(
            Cmp::AtLeast,
            10.0,
            &old,
            "2021-03-11T00:00:00+08:00",
        ));
        assert_eq!(a.status, Status::OnTrack);
        // Overdue counts whole days from the deadline.
        let a = assess(&input(
            Cmp::AtLeast,
            10.0,
            &old,
            "2022-01-03T12:00:00+08:00",
        ));
        assert_eq!((a.status, a.days_overdue), (Status::Overdue, 3));
        // Done is never stale or overdue.
        let done = [(at("2021-02-01T00:00:00+08:00"), 10.0)];
        let a = assess(&input(
            Cmp::AtLeast,
            10.0,
            &done,
            "2022-06-01T00:00:00+08:00",
        ));
        assert_eq!(
            (a.status, a.stale, a.days_overdue),
            (Status::Done, false, 0)
        );
    }

    #[test]
    fn behind_is_reported_in_points_and_margin_is_exclusive() {
        // Exactly 15 points behind is on track; a little more is at risk.
        let start = at(YEAR_START);
        let deadline = at(DEADLINE);
        let span = deadline - start;
        let now = start + span / 2;
        let report = [(now - Duration::days(1), 35.0)];
        let mut i = input(Cmp::AtLeast, 100.0, &report, YEAR_START);
        i.now = now;
        let a = assess(&i);
        assert_eq!(a.behind_points, 15.0);
        assert_eq!(a.status, Status::OnTrack);
        let report = [(now - Duration::days(1), 34.0)];
        i.reports = &report;
        let a = assess(&i);
        assert_eq!(a.behind_points, 16.0);
        assert_eq!(a.status, Status::AtRisk);
        // Before the year starts nothing is elapsed; ahead is 0 points behind.
        let report = [(start, 50.0)];
        i.reports = &report;
        i.now = start - Duration::days(3);
        let a = assess(&i);
        assert_eq!(
            (a.elapsed, a.behind_points, a.status),
            (0.0, 0.0, Status::OnTrack)
        );
        // A zero or negative target with a higher-is-better comparator: progress is met-or-not.
        assert_eq!(
            progress_fraction(Cmp::AtLeast, 0.0, None, &[(start, -1.0)]),
            0.0
        );
        assert_eq!(
            progress_fraction(Cmp::AtLeast, 0.0, None, &[(start, 0.0)]),
            1.0
        );
    }

    #[test]
    fn departments_by_keyword() {
        let all = |_: &str| true;
        let code = |c: &str| DepartmentCode::parse(c).expect("code");
        assert_eq!(
            suggest_departments("改造供热管网", "", &all),
            (Some(code("gongre")), vec![code("zhujian")])
        );
        assert_eq!(
            suggest_departments("新增学位", "", &all).0,
            Some(code("jiaoyu"))
        );
        assert_eq!(
            suggest_departments("净增国家高新技术企业", "", &all).0,
            Some(code("shangwu"))
        );
        assert_eq!(
            suggest_departments("PM2.5平均浓度", "", &all).0,
            Some(code("shengtai"))
        );
        // Nothing in the indicator: the quote decides, without co-departments.
        assert_eq!(
            suggest_departments("完成", "完成老旧小区改造10个", &all),
            (Some(code("zhujian")), vec![])
        );
        assert_eq!(suggest_departments("完成", "完成", &all), (None, vec![]));
        // Unknown codes are skipped.
        let no_heat = |c: &str| c != "gongre";
        assert_eq!(
            suggest_departments("改造供热管网", "", &no_heat).0,
            Some(code("zhujian"))
        );
    }

    fn actor() -> ActorRef {
        ActorRef {
            person: PersonId::parse("supervisor").expect("id"),
            role: Role::Supervisor,
        }
    }

    fn new_task() -> NewTask {
        NewTask {
            report: "东丽区2021年政府工作报告".into(),
            year: 2021,
            section: "三、2021年主要工作安排".into(),
            indicator: "净增国家高新技术企业".into(),
            value: 60.0,
            unit: "家".into(),
            cmp: Cmp::AtLeast,
            quote: "净增国家高新技术企业60家".into(),
            start: 10,
            end: 24,
            lead: DepartmentCode::parse("shangwu").ok(),
            co_departments: vec![],
            deadline: default_deadline(2021),
        }
    }

    fn history() -> Vec<TaskEvent> {
        let id = TaskId(3);
        let mut events = vec![TaskEvent::new(
            id,
            1,
            at("2021-02-01T09:00:00+08:00"),
            actor(),
            TaskEventKind::Created {
                task: Box::new(new_task()),
            },
            GENESIS_HASH,
        )];
        let mut task = replay_task(id, &events).expect("replay");
        for (n, change) in [
            TaskChange::Notice {
                note: "请加快进度".into(),
                respond_by: None,
            },
            TaskChange::Progress {
                value: 20.0,
                evidence: vec![],
                note: "一季度".into(),
            },
            TaskChange::Progress {
                value: 60.0,
                evidence: vec!["名单.pdf".into()],
                note: "".into(),
            },
        ]
        .into_iter()
        .enumerate()
        {
            for kind in decide(&task, change).expect("decide") {
                let last = events.last().expect("event");
                let event = TaskEvent::new(
                    id,
                    last.seq + 1,
                    at("2021-03-01T09:00:00+08:00") + Duration::days(n as i64),
                    actor(),
                    kind,
                    &last.hash,
                );
                task = evolve_task(Some(task), &event).expect("evolve");
                events.push(event);
            }
        }
        events
    }

    /// Applies one change to a task as the store does: decide, then evolve with chained events.
    fn apply(task: Task, change: TaskChange, when: DateTime<Utc>) -> Task {
        let mut task = task;
        for kind in decide(&task, change).expect("decide") {
            let event = TaskEvent::new(
                task.id,
                task.version + 1,
                when,
                actor(),
                kind,
                &task.head_hash,
            );
            task = evolve_task(Some(task), &event).expect("evolve");
        }
        task
    }

    #[test]
    fn reminders_when_behind_every_five_working_days_and_at_once_when_overdue() {
        let calendar = WorkCalendar::china();
        let task = replay_task(TaskId(3), &history()[..1]).expect("replay");
        let due = |task: &Task, now: &str| {
            let now = at(now);
            reminder_due(task, &task.assess(now), now, &calendar).expect("covered")
        };
        // Created 1 February 2021 without progress: on track until progress trails time by 15
        // points (about 24 February), then at risk.
        assert_eq!(
            task.assess(at("2021-02-10T09:00:00+08:00")).status,
            Status::OnTrack
        );
        assert!(!due(&task, "2021-02-10T09:00:00+08:00"));
        assert_eq!(
            task.assess(at("2021-03-01T09:00:00+08:00")).status,
            Status::AtRisk
        );
        assert!(due(&task, "2021-03-01T09:00:00+08:00"));
        // Reminded on Monday 1 March 2021, 09:00: not again before five working days (09:00–12:00,
        // 13:30–18:00) have passed, at 18:00 on Friday 5 March; then again.
        let reminded = apply(
            task,
            TaskChange::Remind {
                status: Status::AtRisk,
                reason: "进度 0%，时间已过 16%".into(),
            },
            at("2021-03-01T09:00:00+08:00"),
        );
        assert_eq!(reminded.reminders.len(), 1);
        assert_eq!(
            reminded.last_chased(),
            Some(at("2021-03-01T09:00:00+08:00"))
        );
        assert!(!due(&reminded, "2021-03-05T17:59:00+08:00"));
        assert!(due(&reminded, "2021-03-05T18:00:00+08:00"));
        // Over 清明 (3–5 April 2021 off), five working days from Thursday 1 April end on Thursday
        // 8 April, 18:00, not Wednesday 7 April.
        let april = apply(
            reminded.clone(),
            TaskChange::Remind {
                status: Status::AtRisk,
                reason: String::new(),
            },
            at("2021-04-01T09:00:00+08:00"),
        );
        assert!(!due(&april, "2021-04-07T18:00:00+08:00"));
        assert!(!due(&april, "2021-04-08T17:59:00+08:00"));
        assert!(due(&april, "2021-04-08T18:00:00+08:00"));
        // A 督办 notice counts as chasing, like a reminder.
        let noticed = apply(
            reminded.clone(),
            TaskChange::Notice {
                note: "请报送".into(),
                respond_by: None,
            },
            at("2021-03-08T10:00:00+08:00"),
        );
        assert!(!due(&noticed, "2021-03-09T10:00:00+08:00"));
        // Reminded on the last afternoon as at risk; an hour after the deadline it is overdue and
        // reminded at once.
        let late = apply(
            reminded,
            TaskChange::Remind {
                status: Status::AtRisk,
                reason: String::new(),
            },
            at("2021-12-31T15:00:00+08:00"),
        );
        assert_eq!(
            late.assess(at("2022-01-01T01:00:00+08:00")).status,
            Status::Overdue
        );
        assert!(due(&late, "2022-01-01T01:00:00+08:00"));
        let overdue = apply(
            late,
            TaskChange::Remind {
                status: Status::Overdue,
                reason: "已逾期 1 天".into(),
            },
            at("2022-01-01T01:00:00+08:00"),
        );
        assert!(!due(&overdue, "2022-01-04T09:00:00+08:00"));
        // Done: never reminded, and a reminder is refused.
        let done = apply(
            overdue,
            TaskChange::Progress {
                value: 60.0,
                evidence: vec![],
                note: String::new(),
            },
            at("2022-01-05T09:00:00+08:00"),
        );
        assert_eq!(
            done.assess(at("2022-03-01T09:00:00+08:00")).status,
            Status::Done
        );
        assert!(!due(&done, "2022-03-01T09:00:00+08:00"));
        assert!(decide(
            &done,
            TaskChange::Remind {
                status: Status::Overdue,
                reason: String::new()
            }
        )
        .is_err());
        // Only at_risk or overdue may be recorded; the reminders replay with the history.
        let fresh = replay_task(TaskId(3), &history()[..1]).expect("replay");
        assert!(decide(
            &fresh,
            TaskChange::Remind {
                status: Status::OnTrack,
                reason: String::new()
            }
        )
        .is_err());
    }

    #[test]
    fn a_task_stored_before_reminders_reads_without_them() {
        let task = replay_task(TaskId(3), &history()).expect("replay");
        let mut json = serde_json::to_value(&task).expect("json");
        json.as_object_mut().expect("object").remove("reminders");
        let read: Task = serde_json::from_value(json).expect("old body");
        assert_eq!(read, task);
    }

    #[test]
    fn history_replays_and_records_done() {
        let events = history();
        let names: Vec<_> = events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(
            names,
            [
                "created",
                "notice_issued",
                "progress_reported",
                "progress_reported",
                "done"
            ]
        );
        let task = replay_task(TaskId(3), &events).expect("replay");
        assert_eq!(task.version, 5);
        assert_eq!(task.notices.len(), 1);
        assert_eq!(task.latest().map(|p| p.value), Some(60.0));
        assert!(task.done_at.is_some());
        assert_eq!(
            task.assess(at("2021-04-01T00:00:00+08:00")).status,
            Status::Done
        );
        // A second report that meets it again adds no second done.
        let more = decide(
            &task,
            TaskChange::Progress {
                value: 70.0,
                evidence: vec![],
                note: String::new(),
            },
        )
        .expect("decide");
        assert_eq!(more.len(), 1);
    }

    #[test]
    fn a_done_task_reported_behind_again_is_not_reminded() {
        let calendar = WorkCalendar::china();
        let task = replay_task(TaskId(3), &history()).expect("replay");
        assert!(task.done_at.is_some());
        // A corrected report far below the target after it was met.
        let corrected = apply(
            task,
            TaskChange::Progress {
                value: 1.0,
                evidence: vec![],
                note: "更正：此前数据有误".into(),
            },
            at("2021-04-01T09:00:00+08:00"),
        );
        let now = at("2021-11-01T09:00:00+08:00");
        let assessment = corrected.assess(now);
        // Assessed from the latest report: behind again.
        assert!(matches!(
            assessment.status,
            Status::AtRisk | Status::Overdue
        ));
        assert!(!reminder_due(&corrected, &assessment, now, &calendar).expect("covered"));
        assert!(decide(
            &corrected,
            TaskChange::Remind {
                status: Status::AtRisk,
                reason: "进度滞后".into()
            }
        )
        .is_err());
    }

    #[test]
    fn tampering_is_found_where_it_happened() {
        let events = history();
        assert_eq!(verify_task_chain(TaskId(3), &events), Ok(()));
        // Edit a value.
        let mut edited = events.clone();
        edited[2].kind = TaskEventKind::ProgressReported {
            value: 55.0,
            evidence: vec![],
            note: "一季度".into(),
        };
        assert_eq!(
            verify_task_chain(TaskId(3), &edited),
            Err(TaskError::ContentHash {
                task_id: TaskId(3),
                seq: 3
            })
        );
        // Edit and rehash one event: the next link breaks.
        edited[2].hash = edited[2].computed_hash();
        assert_eq!(
            verify_task_chain(TaskId(3), &edited),
            Err(TaskError::Link {
                task_id: TaskId(3),
                seq: 4
            })
        );
        // Delete one.
        let mut deleted = events.clone();
        deleted.remove(1);
        assert!(matches!(
            verify_task_chain(TaskId(3), &deleted),
            Err(TaskError::Sequence {
                seq: 3,
                expected: 2,
                ..
            })
        ));
        // Another task's event.
        let mut foreign = events.clone();
        foreign[1].task_id = TaskId(4);
        assert!(matches!(
            verify_task_chain(TaskId(3), &foreign),
            Err(TaskError::WrongTask { .. })
        ));
        assert_eq!(
            verify_task_chain(TaskId(3), &[]),
            Err(TaskError::Empty { task_id: TaskId(3) })
        );
    }

    #[test]
    fn edits_are_validated() {
        let task = replay_task(TaskId(3), &history()[..1]).expect("replay");
        let code = |c: &str| DepartmentCode::parse(c).expect("code");
        let kinds = decide(
            &task,
            TaskChange::Edit {
                lead: Some(Some(code("renshe"))),
                co_departments: Some(vec![code("renshe"), code("shangwu"), code("shangwu")]),
                deadline: None,
                baseline: None,
            },
        )
        .expect("edit");
        assert_eq!(
            kinds,
            vec![TaskEventKind::Edited {
                lead: Some(code("renshe")),
                co_departments: vec![code("shangwu")],
                deadline: default_deadline(2021),
                baseline: None,
            }]
        );
        let unchanged = TaskChange::Edit {
            lead: None,
            co_departments: None,
            deadline: None,
            baseline: None,
        };
        assert!(decide(&task, unchanged).is_err());
        let early = TaskChange::Edit {
            lead: None,
            co_departments: None,
            deadline: NaiveDate::from_ymd_opt(2020, 12, 31),
            baseline: None,
        };
        assert!(decide(&task, early).is_err());
        let nan = TaskChange::Progress {
            value: f64::NAN,
            evidence: vec![],
            note: String::new(),
        };
        assert!(decide(&task, nan).is_err());
        let empty = TaskChange::Notice {
            note: "  ".into(),
            respond_by: None,
        };
        assert!(decide(&task, empty).is_err());
    }
}
