//! Who may see what: the one place where roles and scopes meet cases, people and events for reading,
//! and where personal data is masked. (What a role may *do* to a case is decided by the domain core,
//! `onegrid_core::workflow::apply`, so the CLI and the server share it.)
//!
//! Reading a case:
//! - citizen, integrator: the cases they reported;
//! - grid worker, dispatcher: cases in their area subtrees;
//! - department handler: cases their department leads (主办) or co-handles (协办);
//! - commander, supervisor: cases in their area (district-wide when they have none);
//! - admin: none (accounts and reference data only).
//!
//! Personal data (reporters' names, phones and accounts) is shown in clear to dispatchers and the
//! command center, who call reporters back, and to a reporter about themself; masked
//! (`138****5678`, `张**`) for every other role; and never present in Open311 output, the live feed
//! or webhooks (`public_event`).

use chrono::{DateTime, Utc};
use onegrid_core::deadline::colour;
use onegrid_core::{Actor, Case, Event, Person, Reference, Reporter, Role};
use onegrid_store::{CaseFilter, FeedEvent};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;

/// May this actor read this case?
pub fn may_read_case(actor: &Actor, case: &Case) -> bool {
    may_read(
        actor,
        &case.cell,
        case.lead_department(),
        &case.co_departments,
        |person| case.is_reporter(person),
    )
}

/// Whether the actor reads every case of the district (a commander or supervisor without an area
/// limit), so that a caller can skip loading a case just to check it.
pub fn reads_every_case(actor: &Actor) -> bool {
    matches!(actor.role, Role::Commander | Role::Supervisor) && actor.scope.areas.is_empty()
}

/// May this actor read this feed event (the case as it is now)?
pub fn may_read_event(actor: &Actor, event: &FeedEvent) -> bool {
    may_read(
        actor,
        &event.cell,
        event.department.as_ref(),
        &[],
        |person| event.reporters.contains(person),
    )
}

fn may_read(
    actor: &Actor,
    cell: &onegrid_core::AreaCode,
    lead: Option<&onegrid_core::DepartmentCode>,
    co: &[onegrid_core::DepartmentCode],
    is_reporter: impl Fn(&onegrid_core::PersonId) -> bool,
) -> bool {
    match actor.role {
        Role::Citizen | Role::Integrator => is_reporter(&actor.person),
        Role::GridWorker | Role::Dispatcher => actor.scope.covers(cell),
        Role::DepartmentHandler => match &actor.scope.department {
            Some(mine) => lead == Some(mine) || co.contains(mine),
            None => false,
        },
        Role::Commander | Role::Supervisor => {
            actor.scope.areas.is_empty() || actor.scope.covers(cell)
        }
        Role::Admin => false,
    }
}

/// The case, if the caller may read it; otherwise the same "not found" as for a case that does not
/// exist, so ids of other scopes reveal nothing.
pub fn readable(caller: &Caller, case: Case) -> Result<Case, ApiError> {
    if may_read_case(&caller.actor(), &case) {
        Ok(case)
    } else {
        Err(not_visible(case.id.0))
    }
}

pub fn not_visible(id: u64) -> ApiError {
    ApiError::not_found(format!(
        "case {id} does not exist, or it is outside what your account may see"
    ))
}

/// Narrows a list query to what the actor may read.
pub fn restrict_filter(actor: &Actor, filter: &mut CaseFilter) -> Result<(), ApiError> {
    match actor.role {
        Role::Citizen | Role::Integrator => filter.reporter = Some(actor.person.clone()),
        Role::GridWorker | Role::Dispatcher => filter.within = Some(actor.scope.areas.clone()),
        Role::DepartmentHandler => match &actor.scope.department {
            Some(department) => filter.involving_department = Some(department.clone()),
            None => {
                return Err(ApiError::forbidden(
                    "your account has no department, so there are no cases for it to see",
                ))
            }
        },
        Role::Commander | Role::Supervisor => {
            if !actor.scope.areas.is_empty() {
                filter.within = Some(actor.scope.areas.clone());
            }
        }
        Role::Admin => {
            return Err(ApiError::forbidden(
                "administrators manage accounts and reference data; they do not read cases",
            ))
        }
    }
    Ok(())
}

/// Refuses unless the caller has one of `roles`, naming what was attempted.
pub fn require_role(caller: &Caller, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&caller.role()) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{} ({}) may not {what}; this needs the role {}",
            caller.person.id,
            caller.role().name_zh(),
            roles
                .iter()
                .map(|r| format!("{} ({})", r.as_str(), r.name_zh()))
                .collect::<Vec<_>>()
                .join(" or ")
        )))
    }
}

/// How much of a reporter a viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    Full,
    Masked,
    /// Nothing personal at all (public outputs).
    None,
}

/// What the viewer may see of the reporters of a case they may read.
pub fn disclosure(actor: &Actor) -> Disclosure {
    match actor.role {
        Role::Dispatcher | Role::Commander => Disclosure::Full,
        _ => Disclosure::Masked,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReporterView {
    pub channel: String,
    /// The account, when the viewer may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// True when this reporter is the viewer.
    pub is_you: bool,
}

pub fn reporter_view(reporter: &Reporter, viewer: &Actor, disclosure: Disclosure) -> ReporterView {
    let is_you = reporter.person.as_ref() == Some(&viewer.person);
    let level = if is_you { Disclosure::Full } else { disclosure };
    let (person, name, phone) = match level {
        Disclosure::Full => (
            reporter.person.as_ref().map(ToString::to_string),
            reporter.name.clone(),
            reporter.phone.clone(),
        ),
        Disclosure::Masked => (
            None,
            reporter.name.as_deref().map(onegrid_core::org::mask_name),
            reporter.phone.as_deref().map(onegrid_core::org::mask_phone),
        ),
        Disclosure::None => (None, None, None),
    };
    ReporterView {
        channel: reporter.channel.as_str().to_string(),
        person,
        name,
        phone,
        is_you,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PointView {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadlineView {
    /// The stage the deadline runs for (accept, dispatch, handle, verify, close).
    pub stage: String,
    #[serde(serialize_with = "onegrid_core::time_json::serialize")]
    pub started_at: DateTime<Utc>,
    #[serde(serialize_with = "onegrid_core::time_json::serialize")]
    pub due_at: DateTime<Utc>,
    pub limit_hours: u32,
    /// green, yellow (80 % of the limit used) or red (overdue), now.
    pub colour: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatingView {
    pub score: u8,
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExtensionView {
    pub hours: u32,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub requested_by: String,
}

/// A case as an account sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub id: u64,
    /// The number of events in its history; send it back as `expected_version` to act safely.
    pub version: u64,
    pub state: String,
    pub state_zh: String,
    pub channel: String,
    pub tier: String,
    pub cell: String,
    pub cell_name: Option<String>,
    pub point: Option<PointView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_to_cell_m: Option<f64>,
    pub address: Option<String>,
    pub category: String,
    pub category_name: Option<String>,
    pub title: String,
    pub description: String,
    /// Photo ids; fetch each from `/api/photos/{id}`.
    pub photos: Vec<String>,
    /// `grid` (自处置) or `department` (主办), when someone is handling it.
    pub handler: Option<String>,
    pub department: Option<String>,
    pub department_name: Option<String>,
    pub co_departments: Vec<String>,
    #[serde(serialize_with = "onegrid_core::time_json::serialize")]
    pub reported_at: DateTime<Utc>,
    #[serde(serialize_with = "onegrid_core::time_json::serialize")]
    pub updated_at: DateTime<Utc>,
    pub deadline: Option<DeadlineView>,
    pub pending_extension: Option<ExtensionView>,
    pub evidence: Vec<String>,
    pub rework_count: u32,
    pub return_count: u32,
    pub supervision_count: u32,
    pub reason: Option<String>,
    pub merged_into: Option<u64>,
    pub merged_from: Vec<u64>,
    pub rating: Option<RatingView>,
    pub reporters: Vec<ReporterView>,
    /// The proposal (建议提案) this case handles, if it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<ProposalView>,
    pub head_hash: String,
}

/// A proposal (建议提案) handled as a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalView {
    /// npc_suggestion or cppcc_proposal.
    pub kind: String,
    /// 人大代表建议 or 政协委员提案.
    pub kind_zh: String,
    pub number: String,
    pub session: Option<String>,
    /// The deadline the document carries, if it carries one.
    pub due_at: Option<DateTime<Utc>>,
    /// The deadline that applies: `due_at`, or 3 months after filing.
    pub effective_due_at: DateTime<Utc>,
    pub proposer: String,
}

/// The case as `viewer` may see it (the caller has checked `may_read_case`).
pub fn case_view(
    case: &Case,
    viewer: &Actor,
    reference: &Reference,
    now: DateTime<Utc>,
) -> CaseView {
    let disclosure = disclosure(viewer);
    let department = case.lead_department();
    CaseView {
        id: case.id.0,
        version: case.version,
        state: case.state.as_str().to_string(),
        state_zh: case.state.name_zh().to_string(),
        channel: case.channel.as_str().to_string(),
        tier: case.tier.as_str().to_string(),
        cell: case.cell.to_string(),
        cell_name: reference.areas.get(&case.cell).map(|a| a.name.clone()),
        point: case.point.map(|p| PointView {
            lon: p.lon,
            lat: p.lat,
        }),
        distance_to_cell_m: case.distance_to_cell_m,
        address: case.address.clone(),
        category: case.category.to_string(),
        category_name: reference
            .taxonomy
            .get(&case.category)
            .map(|c| c.name.clone()),
        title: case.title.clone(),
        description: case.description.clone(),
        photos: case.photos.clone(),
        handler: case.handler.as_ref().map(|h| match h {
            onegrid_core::Handler::Grid => "grid".to_string(),
            onegrid_core::Handler::Department(_) => "department".to_string(),
        }),
        department: department.map(ToString::to_string),
        department_name: department
            .and_then(|d| reference.departments.get(d))
            .map(|d| d.name.clone()),
        co_departments: case
            .co_departments
            .iter()
            .map(ToString::to_string)
            .collect(),
        reported_at: case.reported_at,
        updated_at: case.updated_at,
        deadline: case.deadline.map(|d| DeadlineView {
            stage: d.stage.as_str().to_string(),
            started_at: d.started_at,
            due_at: d.due_at,
            limit_hours: d.limit_hours,
            colour: colour(&reference.calendar, &d, now)
                .ok()
                .map(|c| c.as_str().to_string()),
        }),
        pending_extension: case.pending_extension.as_ref().map(|e| ExtensionView {
            hours: e.hours,
            reason: e.reason.clone(),
            requested_at: e.requested_at,
            requested_by: e.requested_by.to_string(),
        }),
        evidence: case.evidence.clone(),
        rework_count: case.rework_count,
        return_count: case.return_count,
        supervision_count: case.supervision_count,
        reason: case.reason.clone(),
        merged_into: case.merged_into.map(|id| id.0),
        merged_from: case.merged_from.iter().map(|id| id.0).collect(),
        rating: case.rating.as_ref().map(|r| RatingView {
            score: r.score,
            comment: r.comment.clone(),
        }),
        reporters: case
            .reporters
            .iter()
            .map(|r| reporter_view(r, viewer, disclosure))
            .collect(),
        proposal: case.proposal.as_ref().map(|p| ProposalView {
            kind: p.kind.as_str().to_string(),
            kind_zh: p.kind.name_zh().to_string(),
            number: p.number.clone(),
            session: p.session.clone(),
            due_at: p.due_at,
            effective_due_at: onegrid_core::deadline::proposal_due_at(p, case.reported_at),
            proposer: p.proposer.clone(),
        }),
        head_hash: case.head_hash.clone(),
    }
}

/// An event as JSON with its personal data treated per `disclosure` (reporters inside report and
/// merge events; a citizen's account id as the actor is personal too).
pub fn event_json(event: &Event, viewer: Option<&Actor>, disclosure: Disclosure) -> Value {
    let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
    let viewer_id = viewer.map(|v| v.person.to_string());
    let treat = |reporter: &mut Value| {
        let is_you = viewer_id.is_some()
            && reporter.get("person").and_then(Value::as_str) == viewer_id.as_deref();
        let level = if is_you { Disclosure::Full } else { disclosure };
        let Some(object) = reporter.as_object_mut() else {
            return;
        };
        match level {
            Disclosure::Full => {}
            Disclosure::Masked => {
                object.remove("person");
                for (field, mask) in [
                    ("name", onegrid_core::org::mask_name as fn(&str) -> String),
                    ("phone", onegrid_core::org::mask_phone),
                ] {
                    if let Some(Value::String(text)) = object.get(field) {
                        let masked = mask(text);
                        object.insert(field.to_string(), Value::String(masked));
                    }
                }
            }
            Disclosure::None => {
                object.remove("person");
                object.remove("name");
                object.remove("phone");
            }
        }
    };
    if let Some(kind) = value.get_mut("kind") {
        if let Some(reporter) = kind.get_mut("report").and_then(|r| r.get_mut("reporter")) {
            treat(reporter);
        }
        if let Some(Value::Array(reporters)) = kind.get_mut("reporters") {
            reporters.iter_mut().for_each(treat);
        }
    }
    if disclosure != Disclosure::Full || viewer.is_none() {
        let citizen_actor = value
            .get("actor")
            .and_then(|a| a.get("role"))
            .and_then(Value::as_str)
            == Some(Role::Citizen.as_str());
        let is_viewer = value
            .get("actor")
            .and_then(|a| a.get("person"))
            .and_then(Value::as_str)
            == viewer_id.as_deref();
        if citizen_actor && !is_viewer {
            if let Some(actor) = value.get_mut("actor").and_then(Value::as_object_mut) {
                actor.insert("person".to_string(), Value::String("citizen".to_string()));
            }
        }
    }
    value
}

/// An event for public outputs (live feed, webhooks): nothing personal at all.
pub fn public_event(event: &Event) -> Value {
    event_json(event, None, Disclosure::None)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeView {
    pub areas: Vec<String>,
    pub department: Option<String>,
}

/// An account as another account sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub role_zh: String,
    pub scope: ScopeView,
    /// In clear for the person themself and administrators; masked otherwise.
    pub phone: Option<String>,
}

pub fn person_view(person: &Person, viewer: Option<&Person>) -> PersonView {
    let clear = viewer.is_some_and(|v| v.id == person.id || v.role == Role::Admin);
    PersonView {
        id: person.id.to_string(),
        name: person.name.clone(),
        role: person.role.as_str().to_string(),
        role_zh: person.role.name_zh().to_string(),
        scope: ScopeView {
            areas: person.scope.areas.iter().map(ToString::to_string).collect(),
            department: person.scope.department.as_ref().map(ToString::to_string),
        },
        phone: person.phone.as_deref().map(|p| {
            if clear {
                p.to_string()
            } else {
                onegrid_core::org::mask_phone(p)
            }
        }),
    }
}
