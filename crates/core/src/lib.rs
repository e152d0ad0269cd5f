//! onegrid's domain core: pure types and functions, no I/O, no clock, no randomness.
//!
//! Layout:
//! - `area`: the area tree and its 15-digit grid codes.
//! - `category`: the taxonomy (大类/小类) with default departments, tiers and stage limits.
//! - `org`: departments, people, roles, scopes, and masking of personal data.
//! - `case`: the case and its states.
//! - `workflow`: `apply`, the one transition function, and `merge`.
//! - `history`: hash-chained events, `evolve`, `replay` and `verify_chain`.
//! - `calendar` and `deadline`: working time in Asia/Shanghai and the green/yellow/red marks.
//! - `kpi`: the KPIs, computed from histories only.
//! - `reference`: the reference data bundle the rules read.

pub mod area;
pub mod calendar;
pub mod case;
pub mod category;
pub mod deadline;
pub mod history;
pub mod kpi;
pub mod org;
pub mod projects;
pub mod reference;
pub mod supervision;
pub mod tier;
pub mod time_json;
pub mod workflow;

pub use area::{Area, AreaCode, AreaLevel, AreaTree};
pub use calendar::{CalendarError, WorkCalendar, WorkingHours};
pub use case::{
    Case, CaseId, CaseState, Channel, Deadline, GeoPoint, Handler, NewReport, Reporter,
};
pub use category::{Category, CategoryCode, Stage, Taxonomy};
pub use history::{ActorRef, ChainError, Event, EventKind};
pub use org::{Actor, Department, DepartmentCode, Departments, Person, PersonId, Role, Scope};
pub use reference::Reference;
pub use tier::Tier;
pub use workflow::{apply, merge, Command, Rules, WorkflowError};
