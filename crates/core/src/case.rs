//! The case (案件): what was reported, where, by whom, and where it stands in the closed loop.
//!
//! A `Case` is never edited directly: it is the fold of its history (`history::replay`), and the only
//! way to change it is `workflow::apply`, which returns the next case together with the event to store.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::area::AreaCode;
use crate::category::{CategoryCode, Stage};
use crate::org::{DepartmentCode, PersonId};
use crate::tier::Tier;

/// A case's number, assigned by the store in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseId(pub u64);

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for CaseId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .trim_start_matches('#')
            .parse::<u64>()
            .map(CaseId)
            .map_err(|_| format!("case id {s:?} is not a number"))
    }
}

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 网格员上报
    GridWorker,
    /// 市民随手拍
    Citizen,
    /// 12345 热线
    Hotline12345,
    /// 110 警情
    Police110,
    /// 舆情
    PublicOpinion,
    /// 传感器告警
    Sensor,
    /// Open311 应用
    Open311,
    /// 受理员代录 (a dispatcher entering a phone call or a visit)
    Desk,
}

impl Channel {
    pub const ALL: [Channel; 8] = [
        Channel::GridWorker,
        Channel::Citizen,
        Channel::Hotline12345,
        Channel::Police110,
        Channel::PublicOpinion,
        Channel::Sensor,
        Channel::Open311,
        Channel::Desk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::GridWorker => "grid_worker",
            Channel::Citizen => "citizen",
            Channel::Hotline12345 => "hotline_12345",
            Channel::Police110 => "police_110",
            Channel::PublicOpinion => "public_opinion",
            Channel::Sensor => "sensor",
            Channel::Open311 => "open311",
            Channel::Desk => "desk",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Channel::GridWorker => "网格员上报",
            Channel::Citizen => "市民上报",
            Channel::Hotline12345 => "12345热线",
            Channel::Police110 => "110警情",
            Channel::PublicOpinion => "舆情",
            Channel::Sensor => "传感器",
            Channel::Open311 => "Open311",
            Channel::Desk => "受理员代录",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A WGS84 point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lon: f64,
    pub lat: f64,
}

/// Someone who reported the case. Name and phone are personal data: mask them for roles that do not
/// need them (`org::mask_phone`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reporter {
    pub channel: Channel,
    #[serde(default)]
    pub person: Option<PersonId>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// The kind of a proposal (建议提案).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    /// 人大代表建议 — a suggestion by a deputy to the people's congress.
    NpcSuggestion,
    /// 政协委员提案 — a proposal by a member of the CPPCC committee.
    CppccProposal,
}

impl ProposalKind {
    pub const ALL: [ProposalKind; 2] = [ProposalKind::NpcSuggestion, ProposalKind::CppccProposal];

    pub fn as_str(self) -> &'static str {
        match self {
            ProposalKind::NpcSuggestion => "npc_suggestion",
            ProposalKind::CppccProposal => "cppcc_proposal",
        }
    }

    pub fn parse(text: &str) -> Option<ProposalKind> {
        ProposalKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ProposalKind::NpcSuggestion => "人大代表建议",
            ProposalKind::CppccProposal => "政协委员提案",
        }
    }

    /// The category a proposal of this kind is filed under (data/taxonomy.csv, major class Z99).
    ///
    /// Proposals are categories rather than a channel: a category carries what a proposal needs
    /// (a default department, a tier, stage limits), the list filter and the KPIs already group by
    /// category, and adding two CSV lines touches no code that matches on `Channel`. The report
    /// still records the channel it came in through (the desk).
    pub fn category_code(self) -> &'static str {
        match self {
            ProposalKind::NpcSuggestion => "Z9901",
            ProposalKind::CppccProposal => "Z9902",
        }
    }

    /// The kind whose category is `code`, if `code` is a proposal category.
    pub fn of_category(code: &str) -> Option<ProposalKind> {
        ProposalKind::ALL
            .into_iter()
            .find(|k| k.category_code() == code)
    }
}

/// Longest proposal number accepted, in characters (e.g. 「第0123号」).
pub const MAX_PROPOSAL_NUMBER_CHARS: usize = 32;
/// Longest session name or proposer name accepted, in characters.
pub const MAX_PROPOSAL_NAME_CHARS: usize = 64;
/// Without a deadline on the document, a proposal is due this many calendar months after it was
/// filed (`deadline::proposal_due_at`).
pub const PROPOSAL_DEFAULT_MONTHS: u32 = 3;

/// A proposal (建议提案) handled as a case: a 人大代表建议 or a 政协委员提案 handed over (交办) for
/// handling, with its number and the handling deadline it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub kind: ProposalKind,
    /// The document's number, e.g. 「第0123号」.
    pub number: String,
    /// The session it was raised at, e.g. 「区十七届人大五次会议」.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The handling deadline the document carries (办理时限); when absent, `PROPOSAL_DEFAULT_MONTHS`
    /// after filing.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time_json::serialize_option"
    )]
    pub due_at: Option<DateTime<Utc>>,
    /// The deputy or member who raised it (or the group, for a 集体提案).
    pub proposer: String,
}

/// Why a proposal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    #[error("the proposal number must not be empty (e.g. 第0123号)")]
    EmptyNumber,
    #[error("the proposal number is {chars} characters long; at most {MAX_PROPOSAL_NUMBER_CHARS} are allowed")]
    NumberTooLong { chars: usize },
    #[error("the proposer's name must not be empty")]
    EmptyProposer,
    #[error(
        "the {field} is {chars} characters long; at most {MAX_PROPOSAL_NAME_CHARS} are allowed"
    )]
    NameTooLong { field: &'static str, chars: usize },
    #[error("the handling deadline {due_at} is not after the filing time {filed_at}")]
    DueBeforeFiling {
        due_at: DateTime<Utc>,
        filed_at: DateTime<Utc>,
    },
}

impl Proposal {
    /// A proposal as a person typed it, trimmed (an empty session is none); every interface builds
    /// it here so that the CLI and HTTP file the same thing. `validate` checks it.
    pub fn from_input(
        kind: ProposalKind,
        number: &str,
        session: Option<&str>,
        proposer: &str,
        due_at: Option<DateTime<Utc>>,
    ) -> Proposal {
        Proposal {
            kind,
            number: number.trim().to_string(),
            session: session
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            due_at,
            proposer: proposer.trim().to_string(),
        }
    }

    /// Checks the fields; `filed_at` is when the case is reported.
    pub fn validate(&self, filed_at: DateTime<Utc>) -> Result<(), ProposalError> {
        let number = self.number.trim();
        if number.is_empty() {
            return Err(ProposalError::EmptyNumber);
        }
        let chars = number.chars().count();
        if chars > MAX_PROPOSAL_NUMBER_CHARS {
            return Err(ProposalError::NumberTooLong { chars });
        }
        if self.proposer.trim().is_empty() {
            return Err(ProposalError::EmptyProposer);
        }
        let names = [
            ("proposer's name", Some(&self.proposer)),
            ("session", self.session.as_ref()),
        ];
        for (field, value) in names {
            let chars = value.map_or(0, |v| v.chars().count());
            if chars > MAX_PROPOSAL_NAME_CHARS {
                return Err(ProposalError::NameTooLong { field, chars });
            }
        }
        if let Some(due_at) = self.due_at {
            if due_at <= filed_at {
                return Err(ProposalError::DueBeforeFiling { due_at, filed_at });
            }
        }
        Ok(())
    }
}

/// What a report says: the payload of the `Report` command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReport {
    pub channel: Channel,
    pub reporter: Reporter,
    /// The grid cell the report lies in (15-digit code).
    pub cell: AreaCode,
    #[serde(default)]
    pub point: Option<GeoPoint>,
    /// Metres from `point` to `cell` when the point lay outside every cell and intake assigned the
    /// nearest cell within its snapping distance; absent when the point is inside its cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_to_cell_m: Option<f64>,
    #[serde(default)]
    pub address: Option<String>,
    pub category: CategoryCode,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Photo references (content hashes or URLs of stored files).
    #[serde(default)]
    pub photos: Vec<String>,
    /// A tier above the category's default, when intake saw a reason (severity words, many reporters).
    #[serde(default)]
    pub tier: Option<Tier>,
    /// Why intake raised the tier, in words a dispatcher reads in the history (e.g. the severity signal
    /// 「煤气泄漏」). Kept in the report event, so the history says which signal did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_reason: Option<String>,
    /// The proposal (建议提案) this case handles, if it is one (see `Proposal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
}

/// Where a case stands in the closed loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 已上报 — waiting to be accepted (受理/立案).
    Reported,
    /// 已立案 — accepted, waiting to be dispatched.
    Accepted,
    /// 不予立案 — rejected with a reason. Final.
    Rejected,
    /// 处置中 — a department (or the grid) is handling it.
    Handling,
    /// 已反馈 — the handler reported it done, waiting for verification (核查).
    AwaitingVerification,
    /// 已核查 — verified, waiting to be closed.
    Verified,
    /// 已结案 — closed; may still be rated once.
    Closed,
    /// 挂账 — long-term: cannot be solved now, tracked without a running deadline.
    LongTerm,
    /// 已合并 — a duplicate merged into another case. Final.
    Merged,
}

impl CaseState {
    pub const ALL: [CaseState; 9] = [
        CaseState::Reported,
        CaseState::Accepted,
        CaseState::Rejected,
        CaseState::Handling,
        CaseState::AwaitingVerification,
        CaseState::Verified,
        CaseState::Closed,
        CaseState::LongTerm,
        CaseState::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Reported => "reported",
            CaseState::Accepted => "accepted",
            CaseState::Rejected => "rejected",
            CaseState::Handling => "handling",
            CaseState::AwaitingVerification => "awaiting_verification",
            CaseState::Verified => "verified",
            CaseState::Closed => "closed",
            CaseState::LongTerm => "long_term",
            CaseState::Merged => "merged",
        }
    }

    pub fn parse(text: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            CaseState::Reported => "已上报",
            CaseState::Accepted => "已立案",
            CaseState::Rejected => "不予立案",
            CaseState::Handling => "处置中",
            CaseState::AwaitingVerification => "待核查",
            CaseState::Verified => "已核查",
            CaseState::Closed => "已结案",
            CaseState::LongTerm => "挂账",
            CaseState::Merged => "已合并",
        }
    }

    /// Final states accept no workflow command (a closed case can still be rated).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseState::Rejected | CaseState::Closed | CaseState::Merged
        )
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The running deadline of the current stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub stage: Stage,
    #[serde(serialize_with = "crate::time_json::serialize")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time_json::serialize")]
    pub due_at: DateTime<Utc>,
    /// The stage's limit in working hours when it started (extensions move `due_at`, not this).
    pub limit_hours: u32,
}

/// An extension (延期) requested by the handler, waiting for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingExtension {
    pub hours: u32,
    pub reason: String,
    #[serde(serialize_with = "crate::time_json::serialize")]
    pub requested_at: DateTime<Utc>,
    pub requested_by: PersonId,
}

/// The reporter's (or a follow-up call's) rating of the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub score: u8,
    #[serde(default)]
    pub comment: String,
}

/// Who is handling the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "department", rename_all = "snake_case")]
pub enum Handler {
    /// 自处置 — settled inside the grid by the grid worker.
    Grid,
    /// 主办 — the lead department it was dispatched to.
    Department(DepartmentCode),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    /// Number of events in the history; the optimistic-concurrency version.
    pub version: u64,
    pub state: CaseState,
    pub channel: Channel,
    /// Everyone who reported this matter (more than one after a merge).
    pub reporters: Vec<Reporter>,
    pub cell: AreaCode,
    pub point: Option<GeoPoint>,
    /// See `NewReport::distance_to_cell_m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_to_cell_m: Option<f64>,
    pub address: Option<String>,
    pub category: CategoryCode,
    pub title: String,
    pub description: String,
    pub photos: Vec<String>,
    pub tier: Tier,
    pub handler: Option<Handler>,
    /// 协办 — co-handling departments.
    pub co_departments: Vec<DepartmentCode>,
    #[serde(serialize_with = "crate::time_json::serialize")]
    pub reported_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time_json::serialize")]
    pub updated_at: DateTime<Utc>,
    pub deadline: Option<Deadline>,
    pub pending_extension: Option<PendingExtension>,
    /// Who gave the last feedback: they may not verify their own work.
    pub feedback_by: Option<PersonId>,
    pub evidence: Vec<String>,
    pub rework_count: u32,
    pub return_count: u32,
    pub supervision_count: u32,
    pub reason: Option<String>,
    pub merged_into: Option<CaseId>,
    pub merged_from: Vec<CaseId>,
    pub rating: Option<Rating>,
    /// See `NewReport::proposal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
    /// Hash of the last event: the head of the case's chain.
    pub head_hash: String,
}

impl Case {
    pub fn lead_department(&self) -> Option<&DepartmentCode> {
        match &self.handler {
            Some(Handler::Department(code)) => Some(code),
            _ => None,
        }
    }

    pub fn is_reporter(&self, person: &PersonId) -> bool {
        self.reporters
            .iter()
            .any(|r| r.person.as_ref() == Some(person))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").to_utc()
    }

    fn proposal() -> Proposal {
        Proposal {
            kind: ProposalKind::NpcSuggestion,
            number: "第0123号".to_string(),
            session: Some("区十七届人大五次会议".to_string()),
            due_at: Some(at("2024-06-30T18:00:00+08:00")),
            proposer: "王代表".to_string(),
        }
    }

    #[test]
    fn a_complete_proposal_is_valid() {
        assert_eq!(proposal().validate(at("2024-03-04T10:00:00+08:00")), Ok(()));
        let no_deadline = Proposal {
            due_at: None,
            session: None,
            ..proposal()
        };
        assert_eq!(
            no_deadline.validate(at("2024-03-04T10:00:00+08:00")),
            Ok(())
        );
    }

    #[test]
    fn bad_proposals_are_refused_with_their_reason() {
        let filed = at("2024-03-04T10:00:00+08:00");
        let check = |p: Proposal| p.validate(filed).expect_err("refused");
        let blank = Proposal {
            number: "  ".to_string(),
            ..proposal()
        };
        assert_eq!(check(blank), ProposalError::EmptyNumber);
        let long = Proposal {
            number: "号".repeat(33),
            ..proposal()
        };
        assert_eq!(check(long), ProposalError::NumberTooLong { chars: 33 });
        let just_fits = Proposal {
            number: "号".repeat(32),
            ..proposal()
        };
        assert_eq!(just_fits.validate(filed), Ok(()));
        let nameless = Proposal {
            proposer: String::new(),
            ..proposal()
        };
        assert_eq!(check(nameless), ProposalError::EmptyProposer);
        let long_session = Proposal {
            session: Some("会".repeat(65)),
            ..proposal()
        };
        assert_eq!(
            check(long_session),
            ProposalError::NameTooLong {
                field: "session",
                chars: 65
            }
        );
        let past = Proposal {
            due_at: Some(at("2024-03-01T18:00:00+08:00")),
            ..proposal()
        };
        let error = check(past);
        assert!(matches!(error, ProposalError::DueBeforeFiling { .. }));
        assert!(error.to_string().contains("not after the filing time"));
    }

    #[test]
    fn kinds_name_their_categories() {
        for kind in ProposalKind::ALL {
            assert_eq!(ProposalKind::parse(kind.as_str()), Some(kind));
            assert_eq!(ProposalKind::of_category(kind.category_code()), Some(kind));
        }
        assert_eq!(ProposalKind::of_category("S0101"), None);
        assert_eq!(ProposalKind::parse("petition"), None);
    }

    /// A report written before proposals existed serialises to the very same bytes, so the hashes of
    /// stored events do not change; a proposal report carries its proposal.
    #[test]
    fn reports_without_a_proposal_serialise_as_before() {
        let old = r#"{"channel":"citizen","reporter":{"channel":"citizen","person":null,"name":"李明","phone":null},"cell":"120110001001001","point":{"lon":117.31,"lat":39.09},"address":null,"category":"S0101","title":"路边垃圾","description":"","photos":[],"tier":null}"#;
        let report: NewReport = serde_json::from_str(old).expect("an old report parses");
        assert_eq!(report.proposal, None);
        assert_eq!(serde_json::to_string(&report).expect("json"), old);

        let with = NewReport {
            proposal: Some(proposal()),
            ..report
        };
        let json = serde_json::to_string(&with).expect("json");
        assert!(json.ends_with(r#""tier":null,"proposal":{"kind":"npc_suggestion","number":"第0123号","session":"区十七届人大五次会议","due_at":"2024-06-30T10:00:00Z","proposer":"王代表"}}"#), "{json}");
        let back: NewReport = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, with);
    }
}
