//! The append-only, hash-chained case history.
//!
//! Each event records what happened as facts (the department chosen, the deadline computed), so that
//! `evolve` rebuilds a case from its events alone, without the taxonomy or calendar of the day. Each
//! event carries the SHA-256 of the previous event and of its own content: editing, reordering or
//! deleting any past event breaks the chain at that point, and `verify_chain` names where.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::area::AreaCode;
use crate::case::{
    Case, CaseId, CaseState, Deadline, Handler, NewReport, PendingExtension, Rating, Reporter,
};
use crate::category::CategoryCode;
use crate::org::{DepartmentCode, PersonId, Role};
use crate::tier::Tier;

/// The `prev_hash` of a case's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it, as recorded in history (the scope is checked at the time, not stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRef {
    pub person: PersonId,
    pub role: Role,
}

/// What happened, with every fact needed to rebuild the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// 上报
    Reported {
        report: Box<NewReport>,
        tier: Tier,
        deadline: Deadline,
    },
    /// 受理/立案 (possibly correcting the category)
    Accepted {
        category: CategoryCode,
        tier: Tier,
        deadline: Deadline,
    },
    /// 不予立案
    Rejected { reason: String },
    /// 派遣
    Dispatched {
        department: DepartmentCode,
        co_departments: Vec<DepartmentCode>,
        deadline: Deadline,
    },
    /// 自处置 — settled in the grid, with evidence; goes to verification.
    SelfSettled {
        evidence: Vec<String>,
        note: String,
        deadline: Deadline,
    },
    /// 退回 — the department returns a misrouted case to the dispatcher.
    Returned { reason: String, deadline: Deadline },
    /// 反馈 — the handler reports it done, with evidence.
    FeedbackGiven {
        evidence: Vec<String>,
        note: String,
        deadline: Deadline,
    },
    /// 核查通过
    Verified { note: String, deadline: Deadline },
    /// 核查不通过 — back to handling, counted as 返工 rework.
    VerificationFailed { reason: String, deadline: Deadline },
    /// 结案
    Closed { note: String },
    /// 评价
    Rated { rating: Rating },
    /// 延期申请
    ExtensionRequested { hours: u32, reason: String },
    /// 延期批准: the handle deadline moves by the granted hours plus the working time spent waiting.
    ExtensionApproved {
        hours: u32,
        waited_minutes: i64,
        #[serde(serialize_with = "crate::time_json::serialize")]
        due_at: DateTime<Utc>,
    },
    /// 延期驳回
    ExtensionDenied { reason: String },
    /// 挂账
    LongTermSet { reason: String },
    /// 挂账恢复 — handling resumes with a fresh deadline.
    LongTermResumed { note: String, deadline: Deadline },
    /// 督办 — a supervision notice; the state does not change.
    SupervisionIssued { note: String },
    /// 升级 — the tier moves up, co-handling departments join.
    Escalated {
        from: Tier,
        to: Tier,
        co_departments: Vec<DepartmentCode>,
        reason: String,
    },
    /// 合并 — this case is a duplicate of `target`.
    MergedInto { target: CaseId },
    /// 合并 — the duplicate `source` was merged into this case; its reporters are kept here.
    DuplicateAbsorbed {
        source: CaseId,
        reporters: Vec<Reporter>,
    },
}

impl EventKind {
    /// A short English name, used in errors and listings.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Reported { .. } => "reported",
            EventKind::Accepted { .. } => "accepted",
            EventKind::Rejected { .. } => "rejected",
            EventKind::Dispatched { .. } => "dispatched",
            EventKind::SelfSettled { .. } => "self_settled",
            EventKind::Returned { .. } => "returned",
            EventKind::FeedbackGiven { .. } => "feedback_given",
            EventKind::Verified { .. } => "verified",
            EventKind::VerificationFailed { .. } => "verification_failed",
            EventKind::Closed { .. } => "closed",
            EventKind::Rated { .. } => "rated",
            EventKind::ExtensionRequested { .. } => "extension_requested",
            EventKind::ExtensionApproved { .. } => "extension_approved",
            EventKind::ExtensionDenied { .. } => "extension_denied",
            EventKind::LongTermSet { .. } => "long_term_set",
            EventKind::LongTermResumed { .. } => "long_term_resumed",
            EventKind::SupervisionIssued { .. } => "supervision_issued",
            EventKind::Escalated { .. } => "escalated",
            EventKind::MergedInto { .. } => "merged_into",
            EventKind::DuplicateAbsorbed { .. } => "duplicate_absorbed",
        }
    }

    /// The Chinese name shown in the timeline.
    pub fn name_zh(&self) -> &'static str {
        match self {
            EventKind::Reported { .. } => "上报",
            EventKind::Accepted { .. } => "立案",
            EventKind::Rejected { .. } => "不予立案",
            EventKind::Dispatched { .. } => "派遣",
            EventKind::SelfSettled { .. } => "自处置",
            EventKind::Returned { .. } => "退回",
            EventKind::FeedbackGiven { .. } => "处置反馈",
            EventKind::Verified { .. } => "核查通过",
            EventKind::VerificationFailed { .. } => "核查不通过（返工）",
            EventKind::Closed { .. } => "结案",
            EventKind::Rated { .. } => "评价",
            EventKind::ExtensionRequested { .. } => "延期申请",
            EventKind::ExtensionApproved { .. } => "延期批准",
            EventKind::ExtensionDenied { .. } => "延期驳回",
            EventKind::LongTermSet { .. } => "挂账",
            EventKind::LongTermResumed { .. } => "挂账恢复",
            EventKind::SupervisionIssued { .. } => "督办",
            EventKind::Escalated { .. } => "升级",
            EventKind::MergedInto { .. } => "合并至",
            EventKind::DuplicateAbsorbed { .. } => "合并重复案件",
        }
    }
}

/// One stored history entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub case_id: CaseId,
    /// 1 for the report, then one more per event; equals the case's version after it.
    pub seq: u64,
    #[serde(serialize_with = "crate::time_json::serialize")]
    pub at: DateTime<Utc>,
    pub actor: ActorRef,
    pub kind: EventKind,
    pub prev_hash: String,
    pub hash: String,
}

/// The hashed part of an event: everything but its own hash. Field order is the canonical order.
#[derive(Serialize)]
struct HashedContent<'a> {
    case_id: CaseId,
    seq: u64,
    #[serde(serialize_with = "crate::time_json::serialize_ref")]
    at: &'a DateTime<Utc>,
    actor: &'a ActorRef,
    kind: &'a EventKind,
    prev_hash: &'a str,
}

/// The canonical JSON of an event's content (everything but its own hash).
///
/// serde_json writes struct fields in declaration order and the event holds no maps, so the bytes
/// are the same on every machine and every run.
fn content_json(
    case_id: CaseId,
    seq: u64,
    at: &DateTime<Utc>,
    actor: &ActorRef,
    kind: &EventKind,
    prev_hash: &str,
) -> String {
    let content = HashedContent {
        case_id,
        seq,
        at,
        actor,
        kind,
        prev_hash,
    };
    // Serializing these plain types to a String cannot fail; an empty string gives a hash that no
    // honest event has, so the failure would show up in `verify_chain`.
    serde_json::to_string(&content).unwrap_or_default()
}

/// SHA-256 over the canonical JSON of the event's content, which includes `prev_hash`.
pub fn event_hash(
    case_id: CaseId,
    seq: u64,
    at: &DateTime<Utc>,
    actor: &ActorRef,
    kind: &EventKind,
    prev_hash: &str,
) -> String {
    let json = content_json(case_id, seq, at, actor, kind, prev_hash);
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// An event together with its JSON, built from the same bytes that were hashed, so a store can
/// write it without serializing the event a second time (the hot path of intake).
#[derive(Debug, Clone, PartialEq)]
pub struct SealedEvent {
    pub event: Event,
    /// Equal to `serde_json::to_string(&event)`: `Event`'s fields are the hashed content's fields,
    /// in the same order, followed by `hash`.
    pub json: String,
}

impl Event {
    /// Builds the event that follows `prev_hash`, computing its own hash.
    pub fn new(
        case_id: CaseId,
        seq: u64,
        at: DateTime<Utc>,
        actor: ActorRef,
        kind: EventKind,
        prev_hash: &str,
    ) -> Event {
        Event::sealed(case_id, seq, at, actor, kind, prev_hash).event
    }

    /// Like `new`, and also returns the event's JSON.
    pub fn sealed(
        case_id: CaseId,
        seq: u64,
        at: DateTime<Utc>,
        actor: ActorRef,
        kind: EventKind,
        prev_hash: &str,
    ) -> SealedEvent {
        let mut json = content_json(case_id, seq, &at, &actor, &kind, prev_hash);
        let hash = hex::encode(Sha256::digest(json.as_bytes()));
        // Append the hash as the last field: `{…content…,"hash":"…"}`.
        json.pop();
        json.push_str(",\"hash\":\"");
        json.push_str(&hash);
        json.push_str("\"}");
        SealedEvent {
            event: Event {
                case_id,
                seq,
                at,
                actor,
                kind,
                prev_hash: prev_hash.to_string(),
                hash,
            },
            json,
        }
    }

    pub fn computed_hash(&self) -> String {
        event_hash(
            self.case_id,
            self.seq,
            &self.at,
            &self.actor,
            &self.kind,
            &self.prev_hash,
        )
    }
}

/// Why a history does not verify or does not replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("case {case_id} has no history")]
    Empty { case_id: CaseId },
    #[error("case {case_id}, event {seq}: expected sequence number {expected} (an event is missing or out of order)")]
    Sequence {
        case_id: CaseId,
        seq: u64,
        expected: u64,
    },
    #[error(
        "case {case_id}, event {seq}: its hash does not match its content (the event was edited)"
    )]
    ContentHash { case_id: CaseId, seq: u64 },
    #[error("case {case_id}, event {seq}: its previous-event hash does not match event {} (an event before it was edited or deleted)", seq - 1)]
    Link { case_id: CaseId, seq: u64 },
    #[error("case {case_id}, event {seq}: belongs to case {found}")]
    WrongCase {
        case_id: CaseId,
        seq: u64,
        found: CaseId,
    },
    #[error("case {case_id}, event {seq}: a {kind} event cannot follow the case's state {state}")]
    Replay {
        case_id: CaseId,
        seq: u64,
        kind: &'static str,
        state: String,
    },
}

/// Checks one case's chain: sequence numbers, each event's own hash, and each link.
/// Returns the first broken event.
pub fn verify_chain(case_id: CaseId, events: &[Event]) -> Result<(), ChainError> {
    if events.is_empty() {
        return Err(ChainError::Empty { case_id });
    }
    let mut prev_hash = GENESIS_HASH.to_string();
    for (index, event) in events.iter().enumerate() {
        let expected = index as u64 + 1;
        if event.case_id != case_id {
            return Err(ChainError::WrongCase {
                case_id,
                seq: event.seq,
                found: event.case_id,
            });
        }
        if event.seq != expected {
            return Err(ChainError::Sequence {
                case_id,
                seq: event.seq,
                expected,
            });
        }
        if event.computed_hash() != event.hash {
            return Err(ChainError::ContentHash {
                case_id,
                seq: event.seq,
            });
        }
        if event.prev_hash != prev_hash {
            return Err(ChainError::Link {
                case_id,
                seq: event.seq,
            });
        }
        prev_hash = event.hash.clone();
    }
    Ok(())
}

/// Applies one recorded event to a case (or creates it from the report). Pure, no rule checks: the
/// rules ran when the event was decided (`workflow::apply`). It only refuses events that cannot
/// follow the case at all, so a corrupt history is reported rather than folded into nonsense.
pub fn evolve(case: Option<Case>, event: &Event) -> Result<Case, ChainError> {
    let replay_error = |state: String| ChainError::Replay {
        case_id: event.case_id,
        seq: event.seq,
        kind: event.kind.name(),
        state,
    };
    let mut case = match (case, &event.kind) {
        (
            None,
            EventKind::Reported {
                report,
                tier,
                deadline,
            },
        ) => {
            let mut reporter = report.reporter.clone();
            reporter.channel = report.channel;
            return Ok(Case {
                id: event.case_id,
                version: event.seq,
                state: CaseState::Reported,
                channel: report.channel,
                reporters: vec![reporter],
                cell: report.cell.clone(),
                point: report.point,
                distance_to_cell_m: report.distance_to_cell_m,
                address: report.address.clone(),
                category: report.category.clone(),
                title: report.title.clone(),
                description: report.description.clone(),
                photos: report.photos.clone(),
                tier: *tier,
                handler: None,
                co_departments: Vec::new(),
                reported_at: event.at,
                updated_at: event.at,
                deadline: Some(*deadline),
                pending_extension: None,
                feedback_by: None,
                evidence: Vec::new(),
                rework_count: 0,
                return_count: 0,
                supervision_count: 0,
                reason: None,
                merged_into: None,
                merged_from: Vec::new(),
                rating: None,
                proposal: report.proposal.clone(),
                head_hash: event.hash.clone(),
            });
        }
        (None, _) => return Err(replay_error("not yet reported".to_string())),
        (Some(_), EventKind::Reported { .. }) => {
            return Err(replay_error("already reported".to_string()))
        }
        (Some(case), _) => case,
    };
    if case.id != event.case_id || event.seq != case.version + 1 {
        return Err(replay_error(case.state.to_string()));
    }
    match &event.kind {
        EventKind::Reported { .. } => {}
        EventKind::Accepted {
            category,
            tier,
            deadline,
        } => {
            case.state = CaseState::Accepted;
            case.category = category.clone();
            case.tier = *tier;
            case.deadline = Some(*deadline);
        }
        EventKind::Rejected { reason } => {
            case.state = CaseState::Rejected;
            case.reason = Some(reason.clone());
            case.deadline = None;
        }
        EventKind::Dispatched {
            department,
            co_departments,
            deadline,
        } => {
            case.state = CaseState::Handling;
            case.handler = Some(Handler::Department(department.clone()));
            merge_departments(&mut case.co_departments, co_departments, department);
            case.deadline = Some(*deadline);
        }
        EventKind::SelfSettled {
            evidence, deadline, ..
        } => {
            case.state = CaseState::AwaitingVerification;
            case.handler = Some(Handler::Grid);
            case.evidence = evidence.clone();
            case.feedback_by = Some(event.actor.person.clone());
            case.deadline = Some(*deadline);
        }
        EventKind::Returned { reason, deadline } => {
            case.state = CaseState::Accepted;
            case.handler = None;
            // Co-handlers were chosen with the misrouted dispatch; the next dispatch chooses again.
            case.co_departments.clear();
            case.pending_extension = None;
            case.return_count += 1;
            case.reason = Some(reason.clone());
            case.deadline = Some(*deadline);
        }
        EventKind::FeedbackGiven {
            evidence, deadline, ..
        } => {
            case.state = CaseState::AwaitingVerification;
            case.evidence = evidence.clone();
            case.feedback_by = Some(event.actor.person.clone());
            case.pending_extension = None;
            case.deadline = Some(*deadline);
        }
        EventKind::Verified { deadline, .. } => {
            case.state = CaseState::Verified;
            case.deadline = Some(*deadline);
        }
        EventKind::VerificationFailed { reason, deadline } => {
            case.state = CaseState::Handling;
            case.rework_count += 1;
            case.reason = Some(reason.clone());
            case.deadline = Some(*deadline);
        }
        EventKind::Closed { .. } => {
            case.state = CaseState::Closed;
            case.deadline = None;
        }
        EventKind::Rated { rating } => {
            case.rating = Some(rating.clone());
        }
        EventKind::ExtensionRequested { hours, reason } => {
            case.pending_extension = Some(PendingExtension {
                hours: *hours,
                reason: reason.clone(),
                requested_at: event.at,
                requested_by: event.actor.person.clone(),
            });
        }
        EventKind::ExtensionApproved { due_at, .. } => {
            case.pending_extension = None;
            if let Some(deadline) = case.deadline.as_mut() {
                deadline.due_at = *due_at;
            }
        }
        EventKind::ExtensionDenied { reason } => {
            case.pending_extension = None;
            case.reason = Some(reason.clone());
        }
        EventKind::LongTermSet { reason } => {
            case.state = CaseState::LongTerm;
            case.pending_extension = None;
            case.reason = Some(reason.clone());
            case.deadline = None;
        }
        EventKind::LongTermResumed { deadline, .. } => {
            case.state = CaseState::Handling;
            case.deadline = Some(*deadline);
        }
        EventKind::SupervisionIssued { .. } => {
            case.supervision_count += 1;
        }
        EventKind::Escalated {
            to, co_departments, ..
        } => {
            case.tier = *to;
            let lead = case.lead_department().cloned();
            for department in co_departments {
                if Some(department) != lead.as_ref() && !case.co_departments.contains(department) {
                    case.co_departments.push(department.clone());
                }
            }
        }
        EventKind::MergedInto { target } => {
            case.state = CaseState::Merged;
            case.merged_into = Some(*target);
            case.pending_extension = None;
            case.deadline = None;
        }
        EventKind::DuplicateAbsorbed { source, reporters } => {
            case.merged_from.push(*source);
            for reporter in reporters {
                if !case.reporters.contains(reporter) {
                    case.reporters.push(reporter.clone());
                }
            }
        }
    }
    case.version = event.seq;
    case.updated_at = event.at;
    case.head_hash = event.hash.clone();
    Ok(case)
}

fn merge_departments(
    existing: &mut Vec<DepartmentCode>,
    added: &[DepartmentCode],
    lead: &DepartmentCode,
) {
    existing.retain(|d| d != lead);
    for department in added {
        if department != lead && !existing.contains(department) {
            existing.push(department.clone());
        }
    }
}

/// Rebuilds a case from its whole history, checking the chain first.
pub fn replay(case_id: CaseId, events: &[Event]) -> Result<Case, ChainError> {
    verify_chain(case_id, events)?;
    let mut case = None;
    for event in events {
        case = Some(evolve(case, event)?);
    }
    case.ok_or(ChainError::Empty { case_id })
}

/// The cell a case was reported in, read from its first event (for KPIs grouped by area).
pub fn reported_cell(events: &[Event]) -> Option<&AreaCode> {
    events.first().and_then(|e| match &e.kind {
        EventKind::Reported { report, .. } => Some(&report.cell),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{PersonId, Role};

    #[test]
    fn sealed_json_is_the_events_own_json() {
        let sealed = Event::sealed(
            CaseId(7),
            3,
            DateTime::parse_from_rfc3339("2024-02-18T09:30:00.123456789+08:00")
                .expect("time")
                .to_utc(),
            ActorRef {
                person: PersonId::parse("wang").expect("id"),
                role: Role::Dispatcher,
            },
            EventKind::Rejected {
                reason: "不属于受理范围 \"引号\" \\ 与换行\n".to_string(),
            },
            GENESIS_HASH,
        );
        assert_eq!(
            sealed.json,
            serde_json::to_string(&sealed.event).expect("serialize")
        );
        let back: Event = serde_json::from_str(&sealed.json).expect("parse");
        assert_eq!(back, sealed.event);
        assert_eq!(back.computed_hash(), back.hash);
    }
}
