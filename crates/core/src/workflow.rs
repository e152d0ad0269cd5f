//! The closed loop: one function, `apply`, decides whether a command is legal for a case in its state
//! and for this actor, and returns the next case together with the history event to append.
//!
//! 上报 report → 受理/立案 accept (or 不予立案 reject) → 派遣 dispatch (or 自处置 settle in the grid) →
//! 处置 handle → 反馈 feedback with evidence → 核查 verify (fail: back to handling, 返工) → 结案 close →
//! 评价 rate. Beside the loop: 退回 return, 延期 extension, 挂账 long-term, 督办 supervision, 升级
//! escalation and 合并 merge.
//!
//! Rights are checked here and nowhere else, so every interface (CLI, HTTP, Open311) enforces the same
//! rules: a role decides which commands a person may give, the scope decides on which cases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::area::{AreaLevel, AreaTree};
use crate::calendar::{CalendarError, WorkCalendar};
use crate::case::{
    Case, CaseId, CaseState, Channel, Deadline, Handler, NewReport, Proposal, ProposalKind, Rating,
};
use crate::category::{CategoryCode, Stage, Taxonomy};
use crate::history::{evolve, ActorRef, Event, EventKind, SealedEvent, GENESIS_HASH};
use crate::org::{Actor, DepartmentCode, Departments, Role};
use crate::tier::Tier;

/// Longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, note or reason accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;
/// At most this many photos or evidence items per command.
pub const MAX_ATTACHMENTS: usize = 20;
/// Longest extension one request may ask for, in working hours (about three months).
pub const MAX_EXTENSION_HOURS: u32 = 500;

/// A request to change a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// 上报 — creates the case `id` (assigned by the store).
    Report { id: CaseId, report: Box<NewReport> },
    /// 受理/立案, optionally correcting the category.
    Accept {
        #[serde(default)]
        category: Option<CategoryCode>,
    },
    /// 不予立案
    Reject { reason: String },
    /// 派遣 to a lead department (主办), with optional co-handlers (协办). Without a department, the
    /// category's default department.
    Dispatch {
        #[serde(default)]
        department: Option<DepartmentCode>,
        #[serde(default)]
        co_departments: Vec<DepartmentCode>,
    },
    /// 自处置 — a grid worker settles it on the spot.
    SelfSettle { evidence: Vec<String>, note: String },
    /// 退回 — the department says the case is not theirs.
    Return { reason: String },
    /// 反馈 — the handler reports it done, with evidence.
    Feedback { evidence: Vec<String>, note: String },
    /// 核查 — pass or fail (fail sends it back to handling as rework).
    Verify {
        passed: bool,
        #[serde(default)]
        note: String,
    },
    /// 结案
    Close {
        #[serde(default)]
        note: String,
    },
    /// 评价 — 1 to 5.
    Rate {
        score: u8,
        #[serde(default)]
        comment: String,
    },
    /// 延期申请
    RequestExtension { hours: u32, reason: String },
    /// 延期批准
    ApproveExtension,
    /// 延期驳回
    DenyExtension { reason: String },
    /// 挂账
    SetLongTerm { reason: String },
    /// 挂账恢复
    ResumeFromLongTerm {
        #[serde(default)]
        note: String,
    },
    /// 督办
    Supervise { note: String },
    /// 升级
    Escalate {
        to: Tier,
        #[serde(default)]
        co_departments: Vec<DepartmentCode>,
        reason: String,
    },
    /// 合并 — this case duplicates `target`. Use `merge` to apply it to both cases at once.
    MergeInto { target: CaseId },
    /// The other half of a merge, applied to the target by `merge`.
    AbsorbDuplicate { source: CaseId },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Report { .. } => "report",
            Command::Accept { .. } => "accept",
            Command::Reject { .. } => "reject",
            Command::Dispatch { .. } => "dispatch",
            Command::SelfSettle { .. } => "self_settle",
            Command::Return { .. } => "return",
            Command::Feedback { .. } => "feedback",
            Command::Verify { .. } => "verify",
            Command::Close { .. } => "close",
            Command::Rate { .. } => "rate",
            Command::RequestExtension { .. } => "request_extension",
            Command::ApproveExtension => "approve_extension",
            Command::DenyExtension { .. } => "deny_extension",
            Command::SetLongTerm { .. } => "set_long_term",
            Command::ResumeFromLongTerm { .. } => "resume_from_long_term",
            Command::Supervise { .. } => "supervise",
            Command::Escalate { .. } => "escalate",
            Command::MergeInto { .. } => "merge_into",
            Command::AbsorbDuplicate { .. } => "absorb_duplicate",
        }
    }
}

/// Why a command was refused. Each variant names the problem; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("cannot {command} case {case_id}: it is {state} ({state_zh})")]
    IllegalTransition {
        case_id: CaseId,
        command: &'static str,
        state: CaseState,
        state_zh: &'static str,
    },
    #[error("{role} may not {command}")]
    RoleNotAllowed { role: Role, command: &'static str },
    #[error("{person} ({role}) may not {command} case {case_id}: {why}")]
    OutOfScope {
        person: String,
        role: Role,
        command: &'static str,
        case_id: CaseId,
        why: String,
    },
    #[error("unknown category {0}")]
    UnknownCategory(String),
    #[error("unknown department {0}")]
    UnknownDepartment(String),
    #[error("unknown area {0}: it is not in the area tree")]
    UnknownArea(String),
    #[error("area {code} is a {level}, but a case must be located in a grid cell (15-digit code)")]
    NotACell { code: String, level: AreaLevel },
    #[error("{field}: {problem}")]
    InvalidInput {
        field: &'static str,
        problem: String,
    },
    #[error("case {0} has already been rated")]
    AlreadyRated(CaseId),
    #[error("case {0} already has an extension request waiting for approval")]
    ExtensionPending(CaseId),
    #[error("case {0} has no extension request to approve or deny")]
    NoExtensionPending(CaseId),
    #[error("cannot escalate case {case_id} from {from} to {to}: escalation only moves up (grid → street → district)")]
    TierNotHigher {
        case_id: CaseId,
        from: Tier,
        to: Tier,
    },
    #[error("cannot merge case {source_id} into {target}: {why}")]
    BadMerge {
        source_id: CaseId,
        target: CaseId,
        why: String,
    },
    #[error("case {0} already exists")]
    AlreadyReported(CaseId),
    #[error("case does not exist yet: only a report can create it")]
    NotReported,
    #[error("{0}")]
    Calendar(#[from] CalendarError),
}

/// The reference data the rules need. Borrowed, so the caller decides how it is cached.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub areas: &'a AreaTree,
    pub taxonomy: &'a Taxonomy,
    pub departments: &'a Departments,
    pub calendar: &'a WorkCalendar,
}

impl Rules<'_> {
    fn deadline(
        &self,
        stage: Stage,
        category: &CategoryCode,
        now: DateTime<Utc>,
    ) -> Result<Deadline, WorkflowError> {
        let limits = self
            .taxonomy
            .get(category)
            .ok_or_else(|| WorkflowError::UnknownCategory(category.to_string()))?
            .limits;
        let limit_hours = limits.hours(stage);
        Ok(Deadline {
            stage,
            started_at: now,
            due_at: self.calendar.add_working_hours(now, limit_hours)?,
            limit_hours,
        })
    }

    /// The handle-stage deadline starting `now`: for a proposal (建议提案) the date it carries
    /// (`deadline::proposal_handle_deadline`), otherwise the category's working-hour limit.
    fn handle_deadline(&self, case: &Case, now: DateTime<Utc>) -> Result<Deadline, WorkflowError> {
        match crate::deadline::proposal_handle_deadline(self.calendar, case, now)? {
            Some(deadline) => Ok(deadline),
            None => self.deadline(Stage::Handle, &case.category, now),
        }
    }

    fn check_department(&self, code: &DepartmentCode) -> Result<(), WorkflowError> {
        if self.departments.get(code).is_none() {
            return Err(WorkflowError::UnknownDepartment(code.to_string()));
        }
        Ok(())
    }
}

fn check_text(
    field: &'static str,
    text: &str,
    required: bool,
    max: usize,
) -> Result<(), WorkflowError> {
    let chars = text.chars().count();
    if required && text.trim().is_empty() {
        return Err(WorkflowError::InvalidInput {
            field,
            problem: "must not be empty".to_string(),
        });
    }
    if chars > max {
        return Err(WorkflowError::InvalidInput {
            field,
            problem: format!("is {chars} characters long; at most {max} are allowed"),
        });
    }
    Ok(())
}

fn check_attachments(
    field: &'static str,
    items: &[String],
    required: bool,
) -> Result<(), WorkflowError> {
    if required && items.iter().all(|i| i.trim().is_empty()) {
        return Err(WorkflowError::InvalidInput {
            field,
            problem: "at least one item of evidence (a photo or a description) is required"
                .to_string(),
        });
    }
    if items.len() > MAX_ATTACHMENTS {
        return Err(WorkflowError::InvalidInput {
            field,
            problem: format!(
                "{} items given; at most {MAX_ATTACHMENTS} are allowed",
                items.len()
            ),
        });
    }
    for item in items {
        check_text(field, item, false, 1_000)?;
    }
    Ok(())
}

/// Which roles may give a command at all. Scope is checked separately, against the case.
fn role_allowed(command: &Command, role: Role) -> bool {
    use Role::*;
    match command {
        Command::Report { .. } => !matches!(role, Supervisor | Admin),
        Command::Accept { .. }
        | Command::Reject { .. }
        | Command::Dispatch { .. }
        | Command::Close { .. }
        | Command::ApproveExtension
        | Command::DenyExtension { .. }
        | Command::SetLongTerm { .. }
        | Command::ResumeFromLongTerm { .. }
        | Command::MergeInto { .. }
        | Command::AbsorbDuplicate { .. } => matches!(role, Dispatcher | Commander),
        Command::SelfSettle { .. } => role == GridWorker,
        Command::Return { .. } | Command::Feedback { .. } | Command::RequestExtension { .. } => {
            role == DepartmentHandler
        }
        Command::Verify { .. } => matches!(role, GridWorker | Dispatcher | Commander),
        Command::Rate { .. } => matches!(role, Citizen | Dispatcher | Commander),
        Command::Supervise { .. } => matches!(role, Commander | Supervisor),
        Command::Escalate { .. } => matches!(role, Dispatcher | Commander),
    }
}

/// Channels each role may report through: a citizen cannot pose as the 110 feed.
fn channel_allowed(role: Role, channel: Channel) -> bool {
    use Channel::*;
    match role {
        Role::Citizen => matches!(channel, Citizen | Open311),
        Role::GridWorker => channel == GridWorker,
        Role::Integrator => matches!(
            channel,
            Hotline12345 | Police110 | PublicOpinion | Sensor | Open311
        ),
        Role::Dispatcher | Role::Commander => true,
        Role::DepartmentHandler => channel == Desk,
        Role::Supervisor | Role::Admin => false,
    }
}

/// Checks the actor's scope against the case. The role was already checked.
fn check_scope(case: &Case, command: &Command, actor: &Actor) -> Result<(), WorkflowError> {
    let out_of_scope = |why: String| WorkflowError::OutOfScope {
        person: actor.person.to_string(),
        role: actor.role,
        command: command.name(),
        case_id: case.id,
        why,
    };
    match actor.role {
        Role::Commander | Role::Supervisor => {
            // The command center and supervisors work district-wide but only in their district.
            if actor.scope.areas.is_empty() || actor.scope.covers(&case.cell) {
                Ok(())
            } else {
                Err(out_of_scope(format!(
                    "grid cell {} is outside their area",
                    case.cell
                )))
            }
        }
        Role::Dispatcher | Role::GridWorker => {
            if actor.scope.covers(&case.cell) {
                Ok(())
            } else {
                Err(out_of_scope(format!(
                    "grid cell {} is outside their area",
                    case.cell
                )))
            }
        }
        Role::DepartmentHandler => match (&actor.scope.department, case.lead_department()) {
            (Some(mine), Some(lead)) if mine == lead => Ok(()),
            (_, Some(lead)) => Err(out_of_scope(format!(
                "the case is assigned to department {lead}, not theirs"
            ))),
            (_, None) => Err(out_of_scope(
                "the case is not assigned to a department".to_string(),
            )),
        },
        Role::Citizen => {
            if case.is_reporter(&actor.person) {
                Ok(())
            } else {
                Err(out_of_scope("they did not report this case".to_string()))
            }
        }
        Role::Admin | Role::Integrator => Err(out_of_scope("no rights on cases".to_string())),
    }
}

fn illegal(case: &Case, command: &Command) -> WorkflowError {
    WorkflowError::IllegalTransition {
        case_id: case.id,
        command: command.name(),
        state: case.state,
        state_zh: case.state.name_zh(),
    }
}

/// Decides a command: checks the role, scope, state and input, and returns the next case with the
/// event that records it. `case` is `None` only for `Command::Report`.
///
/// Pure: the time and the new case's id come in as arguments, and the result depends on nothing else.
pub fn apply(
    rules: &Rules<'_>,
    case: Option<&Case>,
    command: &Command,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Case, Event), WorkflowError> {
    apply_sealed(rules, case, command, actor, now).map(|(case, sealed)| (case, sealed.event))
}

/// `apply`, returning the event with its JSON for a store to write (see `SealedEvent`).
pub fn apply_sealed(
    rules: &Rules<'_>,
    case: Option<&Case>,
    command: &Command,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Case, SealedEvent), WorkflowError> {
    if !role_allowed(command, actor.role) {
        return Err(WorkflowError::RoleNotAllowed {
            role: actor.role,
            command: command.name(),
        });
    }
    let actor_ref = ActorRef {
        person: actor.person.clone(),
        role: actor.role,
    };
    let (case_id, seq, prev_hash, kind) = match (case, command) {
        (None, Command::Report { id, report }) => {
            let kind = decide_report(rules, report, actor, now)?;
            (*id, 1, GENESIS_HASH.to_string(), kind)
        }
        (None, _) => return Err(WorkflowError::NotReported),
        (Some(case), Command::Report { .. }) => {
            return Err(WorkflowError::AlreadyReported(case.id))
        }
        (Some(case), _) => {
            check_scope(case, command, actor)?;
            let kind = decide(rules, case, command, actor, now)?;
            (case.id, case.version + 1, case.head_hash.clone(), kind)
        }
    };
    let sealed = Event::sealed(case_id, seq, now, actor_ref, kind, &prev_hash);
    // evolve only fails on an event that cannot follow the case, which decide never produces.
    let next = evolve(case.cloned(), &sealed.event).map_err(|e| WorkflowError::InvalidInput {
        field: "history",
        problem: e.to_string(),
    })?;
    Ok((next, sealed))
}

/// A proposal (建议提案) is filed by the desk (a dispatcher or the command center), under its kind's
/// category, and only a proposal may use a proposal category.
fn check_proposal(
    report: &NewReport,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    if let Some(proposal) = &report.proposal {
        if !matches!(actor.role, Role::Dispatcher | Role::Commander) {
            return Err(WorkflowError::RoleNotAllowed {
                role: actor.role,
                command: "file a proposal (建议提案); the desk (a dispatcher or the command center) files them",
            });
        }
        proposal
            .validate(now)
            .map_err(|e| WorkflowError::InvalidInput {
                field: "proposal",
                problem: e.to_string(),
            })?;
    }
    check_proposal_category(report.proposal.as_ref(), &report.category)
}

/// A proposal case stays in its kind's category; no other case may take a proposal category.
fn check_proposal_category(
    proposal: Option<&Proposal>,
    category: &CategoryCode,
) -> Result<(), WorkflowError> {
    let category_kind = ProposalKind::of_category(category.as_str());
    match (proposal.map(|p| p.kind), category_kind) {
        (Some(kind), found) if found != Some(kind) => Err(WorkflowError::InvalidInput {
            field: "category",
            problem: format!(
                "a {} ({}) is filed under category {}, not {category}",
                kind.as_str(),
                kind.name_zh(),
                kind.category_code()
            ),
        }),
        (None, Some(kind)) => Err(WorkflowError::InvalidInput {
            field: "category",
            problem: format!(
                "category {category} ({}) is for proposals: file one with its number (proposal)",
                kind.name_zh()
            ),
        }),
        _ => Ok(()),
    }
}

fn decide_report(
    rules: &Rules<'_>,
    report: &NewReport,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<EventKind, WorkflowError> {
    if !channel_allowed(actor.role, report.channel) {
        return Err(WorkflowError::InvalidInput {
            field: "channel",
            problem: format!(
                "a {} may not report through the {} channel",
                actor.role,
                report.channel.as_str()
            ),
        });
    }
    if report.cell.level() != AreaLevel::Cell {
        return Err(WorkflowError::NotACell {
            code: report.cell.to_string(),
            level: report.cell.level(),
        });
    }
    if !rules.areas.contains(&report.cell) {
        return Err(WorkflowError::UnknownArea(report.cell.to_string()));
    }
    if actor.role == Role::GridWorker && !actor.scope.covers(&report.cell) {
        return Err(WorkflowError::InvalidInput {
            field: "cell",
            problem: format!(
                "grid cell {} is outside the cells grid worker {} patrols",
                report.cell, actor.person
            ),
        });
    }
    let category = rules
        .taxonomy
        .get(&report.category)
        .ok_or_else(|| WorkflowError::UnknownCategory(report.category.to_string()))?;
    check_proposal(report, actor, now)?;
    check_text("title", &report.title, true, MAX_TITLE_CHARS)?;
    check_text("description", &report.description, false, MAX_TEXT_CHARS)?;
    check_attachments("photos", &report.photos, false)?;
    if let Some(address) = &report.address {
        check_text("address", address, false, 500)?;
    }
    if let Some(point) = report.point {
        let valid = point.lon.is_finite()
            && point.lat.is_finite()
            && (-180.0..=180.0).contains(&point.lon)
            && (-90.0..=90.0).contains(&point.lat);
        if !valid {
            return Err(WorkflowError::InvalidInput {
                field: "point",
                problem: format!(
                    "({}, {}) is not a WGS84 longitude/latitude",
                    point.lon, point.lat
                ),
            });
        }
    }
    for (field, value) in [
        ("reporter name", &report.reporter.name),
        ("reporter phone", &report.reporter.phone),
    ] {
        if let Some(value) = value {
            check_text(field, value, false, 64)?;
        }
    }
    let mut report = (*report).clone();
    // The system knows who a signed-in citizen or grid worker is; an integrator reports for others.
    if matches!(actor.role, Role::Citizen | Role::GridWorker) {
        report.reporter.person = Some(actor.person.clone());
    }
    report.reporter.channel = report.channel;
    let tier = report.tier.unwrap_or(category.tier).max(category.tier);
    let deadline = rules.deadline(Stage::Accept, &report.category, now)?;
    Ok(EventKind::Reported {
        report: Box::new(report),
        tier,
        deadline,
    })
}

fn decide(
    rules: &Rules<'_>,
    case: &Case,
    command: &Command,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<EventKind, WorkflowError> {
    use CaseState::*;
    let state = case.state;
    match command {
        Command::Report { .. } => Err(WorkflowError::AlreadyReported(case.id)),
        Command::Accept { category } => {
            if state != Reported {
                return Err(illegal(case, command));
            }
            let category = category.clone().unwrap_or_else(|| case.category.clone());
            check_proposal_category(case.proposal.as_ref(), &category)?;
            let found = rules
                .taxonomy
                .get(&category)
                .ok_or_else(|| WorkflowError::UnknownCategory(category.to_string()))?;
            Ok(EventKind::Accepted {
                tier: case.tier.max(found.tier),
                deadline: rules.deadline(Stage::Dispatch, &category, now)?,
                category,
            })
        }
        Command::Reject { reason } => {
            if state != Reported {
                return Err(illegal(case, command));
            }
            check_text("reason", reason, true, MAX_TEXT_CHARS)?;
            Ok(EventKind::Rejected {
                reason: reason.clone(),
            })
        }
        Command::Dispatch {
            department,
            co_departments,
        } => {
            if state != Accepted {
                return Err(illegal(case, command));
            }
            let department = match department {
                Some(d) => d.clone(),
                None => rules
                    .taxonomy
                    .get(&case.category)
                    .ok_or_else(|| WorkflowError::UnknownCategory(case.category.to_string()))?
                    .department
                    .clone(),
            };
            rules.check_department(&department)?;
            for co in co_departments {
                rules.check_department(co)?;
                if co == &department {
                    return Err(WorkflowError::InvalidInput {
                        field: "co_departments",
                        problem: format!("{co} is already the lead department (主办)"),
                    });
                }
            }
            Ok(EventKind::Dispatched {
                department,
                co_departments: co_departments.clone(),
                deadline: rules.handle_deadline(case, now)?,
            })
        }
        Command::SelfSettle { evidence, note } => {
            // A grid-settled case that failed verification comes back to the grid worker.
            let grid_rework = state == Handling && case.handler == Some(Handler::Grid);
            if !matches!(state, Reported | Accepted) && !grid_rework {
                return Err(illegal(case, command));
            }
            check_attachments("evidence", evidence, true)?;
            check_text("note", note, false, MAX_TEXT_CHARS)?;
            Ok(EventKind::SelfSettled {
                evidence: evidence.clone(),
                note: note.clone(),
                deadline: rules.deadline(Stage::Verify, &case.category, now)?,
            })
        }
        Command::Return { reason } => {
            if state != Handling {
                return Err(illegal(case, command));
            }
            check_text("reason", reason, true, MAX_TEXT_CHARS)?;
            Ok(EventKind::Returned {
                reason: reason.clone(),
                deadline: rules.deadline(Stage::Dispatch, &case.category, now)?,
            })
        }
        Command::Feedback { evidence, note } => {
            if state != Handling {
                return Err(illegal(case, command));
            }
            check_attachments("evidence", evidence, true)?;
            check_text("note", note, false, MAX_TEXT_CHARS)?;
            Ok(EventKind::FeedbackGiven {
                evidence: evidence.clone(),
                note: note.clone(),
                deadline: rules.deadline(Stage::Verify, &case.category, now)?,
            })
        }
        Command::Verify { passed, note } => {
            if state != AwaitingVerification {
                return Err(illegal(case, command));
            }
            if case.feedback_by.as_ref() == Some(&actor.person) {
                return Err(WorkflowError::OutOfScope {
                    person: actor.person.to_string(),
                    role: actor.role,
                    command: command.name(),
                    case_id: case.id,
                    why: "they gave the feedback themselves; someone else must verify it"
                        .to_string(),
                });
            }
            check_text("note", note, !passed, MAX_TEXT_CHARS)?;
            if *passed {
                Ok(EventKind::Verified {
                    note: note.clone(),
                    deadline: rules.deadline(Stage::Close, &case.category, now)?,
                })
            } else {
                Ok(EventKind::VerificationFailed {
                    reason: note.clone(),
                    deadline: rules.handle_deadline(case, now)?,
                })
            }
        }
        Command::Close { note } => {
            if state != Verified {
                return Err(illegal(case, command));
            }
            check_text("note", note, false, MAX_TEXT_CHARS)?;
            Ok(EventKind::Closed { note: note.clone() })
        }
        Command::Rate { score, comment } => {
            if state != Closed {
                return Err(illegal(case, command));
            }
            if case.rating.is_some() {
                return Err(WorkflowError::AlreadyRated(case.id));
            }
            if !(1..=5).contains(score) {
                return Err(WorkflowError::InvalidInput {
                    field: "score",
                    problem: format!("{score} is out of range; a rating is 1 to 5"),
                });
            }
            check_text("comment", comment, false, MAX_TEXT_CHARS)?;
            Ok(EventKind::Rated {
                rating: Rating {
                    score: *score,
                    comment: comment.clone(),
                },
            })
        }
        Command::RequestExtension { hours, reason } => {
            if state != Handling {
                return Err(illegal(case, command));
            }
            if case.pending_extension.is_some() {
                return Err(WorkflowError::ExtensionPending(case.id));
            }
            if *hours == 0 || *hours > MAX_EXTENSION_HOURS {
                return Err(WorkflowError::InvalidInput {
                    field: "hours",
                    problem: format!(
                        "{hours} is out of range; an extension is 1 to {MAX_EXTENSION_HOURS} working hours"
                    ),
                });
            }
            check_text("reason", reason, true, MAX_TEXT_CHARS)?;
            Ok(EventKind::ExtensionRequested {
                hours: *hours,
                reason: reason.clone(),
            })
        }
        Command::ApproveExtension => {
            if state != Handling {
                return Err(illegal(case, command));
            }
            let pending = case
                .pending_extension
                .as_ref()
                .ok_or(WorkflowError::NoExtensionPending(case.id))?;
            let deadline = case.deadline.ok_or_else(|| illegal(case, command))?;
            // Waiting for the approval does not count against the handler.
            let waited_minutes = rules
                .calendar
                .working_minutes_between(pending.requested_at, now)?;
            let due_at = rules.calendar.add_working_minutes(
                deadline.due_at,
                i64::from(pending.hours) * 60 + waited_minutes,
            )?;
            Ok(EventKind::ExtensionApproved {
                hours: pending.hours,
                waited_minutes,
                due_at,
            })
        }
        Command::DenyExtension { reason } => {
            if state != Handling {
                return Err(illegal(case, command));
            }
            if case.pending_extension.is_none() {
                return Err(WorkflowError::NoExtensionPending(case.id));
            }
            check_text("reason", reason, true, MAX_TEXT_CHARS)?;
            Ok(EventKind::ExtensionDenied {
                reason: reason.clone(),
            })
        }
        Command::SetLongTerm { reason } => {
            if state != Handling {
                return Err(illegal(case, command));
            }
            check_text("reason", reason, true, MAX_TEXT_CHARS)?;
            Ok(EventKind::LongTermSet {
                reason: reason.clone(),
            })
        }
        Command::ResumeFromLongTerm { note } => {
            if state != LongTerm {
                return Err(illegal(case, command));
            }
            check_text("note", note, false, MAX_TEXT_CHARS)?;
            Ok(EventKind::LongTermResumed {
                note: note.clone(),
                deadline: rules.handle_deadline(case, now)?,
            })
        }
        Command::Supervise { note } => {
            if state.is_final() {
                return Err(illegal(case, command));
            }
            check_text("note", note, true, MAX_TEXT_CHARS)?;
            Ok(EventKind::SupervisionIssued { note: note.clone() })
        }
        Command::Escalate {
            to,
            co_departments,
            reason,
        } => {
            if state.is_final() {
                return Err(illegal(case, command));
            }
            if *to <= case.tier {
                return Err(WorkflowError::TierNotHigher {
                    case_id: case.id,
                    from: case.tier,
                    to: *to,
                });
            }
            if *to == Tier::District && actor.role != Role::Commander {
                return Err(WorkflowError::OutOfScope {
                    person: actor.person.to_string(),
                    role: actor.role,
                    command: command.name(),
                    case_id: case.id,
                    why: "only the command center starts district joint handling (区级联动)"
                        .to_string(),
                });
            }
            for co in co_departments {
                rules.check_department(co)?;
            }
            check_text("reason", reason, true, MAX_TEXT_CHARS)?;
            Ok(EventKind::Escalated {
                from: case.tier,
                to: *to,
                co_departments: co_departments.clone(),
                reason: reason.clone(),
            })
        }
        Command::MergeInto { target } => {
            if !matches!(state, Reported | Accepted | Handling | LongTerm) {
                return Err(illegal(case, command));
            }
            if *target == case.id {
                return Err(WorkflowError::BadMerge {
                    source_id: case.id,
                    target: *target,
                    why: "a case cannot be merged into itself".to_string(),
                });
            }
            Ok(EventKind::MergedInto { target: *target })
        }
        Command::AbsorbDuplicate { .. } => Err(WorkflowError::InvalidInput {
            field: "command",
            problem: "absorb_duplicate is applied by merge, not given directly".to_string(),
        }),
    }
}

/// 合并: merges the duplicate `source` into `target` as one decision, returning both new cases and
/// both events (the store writes them in one transaction). Every reporter of the duplicate is kept.
pub fn merge(
    rules: &Rules<'_>,
    source: &Case,
    target: &Case,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<[(Case, Event); 2], WorkflowError> {
    let bad = |why: &str| WorkflowError::BadMerge {
        source_id: source.id,
        target: target.id,
        why: why.to_string(),
    };
    let merge_into = Command::MergeInto { target: target.id };
    if !role_allowed(&merge_into, actor.role) {
        return Err(WorkflowError::RoleNotAllowed {
            role: actor.role,
            command: merge_into.name(),
        });
    }
    if target.state.is_final() {
        return Err(bad(&format!(
            "the target is {} ({})",
            target.state,
            target.state.name_zh()
        )));
    }
    let merged_source = apply(
        rules,
        Some(source),
        &Command::MergeInto { target: target.id },
        actor,
        now,
    )?;
    let absorb = Command::AbsorbDuplicate { source: source.id };
    if !role_allowed(&absorb, actor.role) {
        return Err(WorkflowError::RoleNotAllowed {
            role: actor.role,
            command: absorb.name(),
        });
    }
    check_scope(target, &absorb, actor)?;
    let kind = EventKind::DuplicateAbsorbed {
        source: source.id,
        reporters: source.reporters.clone(),
    };
    let event = Event::new(
        target.id,
        target.version + 1,
        now,
        ActorRef {
            person: actor.person.clone(),
            role: actor.role,
        },
        kind,
        &target.head_hash,
    );
    let next_target = evolve(Some(target.clone()), &event).map_err(|e| bad(&e.to_string()))?;
    Ok([merged_source, (next_target, event)])
}

/// The commands that the actor could legally give on the case now (for UI buttons and CLI hints).
/// Commands that need input are probed with placeholder input; only role, scope and state decide.
pub fn allowed_commands(
    rules: &Rules<'_>,
    case: &Case,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Vec<&'static str> {
    let probe = "—".to_string();
    let candidates = [
        Command::Accept { category: None },
        Command::Reject {
            reason: probe.clone(),
        },
        Command::Dispatch {
            department: None,
            co_departments: Vec::new(),
        },
        Command::SelfSettle {
            evidence: vec![probe.clone()],
            note: probe.clone(),
        },
        Command::Return {
            reason: probe.clone(),
        },
        Command::Feedback {
            evidence: vec![probe.clone()],
            note: probe.clone(),
        },
        Command::Verify {
            passed: true,
            note: probe.clone(),
        },
        Command::Close {
            note: probe.clone(),
        },
        Command::Rate {
            score: 5,
            comment: probe.clone(),
        },
        Command::RequestExtension {
            hours: 8,
            reason: probe.clone(),
        },
        Command::ApproveExtension,
        Command::DenyExtension {
            reason: probe.clone(),
        },
        Command::SetLongTerm {
            reason: probe.clone(),
        },
        Command::ResumeFromLongTerm {
            note: probe.clone(),
        },
        Command::Supervise {
            note: probe.clone(),
        },
        Command::Escalate {
            // One tier up; a district case probes as district and is refused as not higher.
            to: match case.tier {
                Tier::Grid => Tier::Street,
                _ => Tier::District,
            },
            co_departments: Vec::new(),
            reason: probe.clone(),
        },
        Command::MergeInto {
            target: CaseId(u64::MAX),
        },
    ];
    candidates
        .iter()
        .filter(|command| apply(rules, Some(case), command, actor, now).is_ok())
        .map(Command::name)
        .collect()
}
