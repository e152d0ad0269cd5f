//! Major projects (重大项目) in the store: the stored project, its append-only change record, and
//! `ProjectStore`, the storage interface the `Store` exposes through `Store::projects()`.
//!
//! The record's rules (`onegrid_core::projects::validate`) are checked inside the write, against
//! the stored project for an update, so that two concurrent edits cannot leave a project out of
//! order. Each change appends an event whose hash covers the previous event's hash.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use onegrid_core::projects::{event_hash, ProjectError, ProjectFields};
use onegrid_core::{AreaCode, DepartmentCode, PersonId};
use serde::Serialize;

use crate::StoreError;

/// A stored project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub id: u64,
    /// 1 at registration, one more per change.
    pub version: u64,
    #[serde(flatten)]
    pub fields: ProjectFields,
    /// The grid cell its point lies in.
    pub cell: AreaCode,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One change to a project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectEvent {
    pub project_id: u64,
    /// 1 for the registration; equals the project's version after the change.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: PersonId,
    /// `created`, `imported` or `updated`.
    pub kind: String,
    /// The whole record (created, imported) or `{"changes": [{field, before, after}], "cell": …}`.
    pub body: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Checks a project's events: sequence 1, 2, 3… and each hash over the previous hash and the body.
pub fn verify_events(events: &[ProjectEvent]) -> Result<(), String> {
    let mut previous = String::new();
    for (index, event) in events.iter().enumerate() {
        if event.seq != index as u64 + 1 {
            return Err(format!(
                "event {} has sequence number {}",
                index + 1,
                event.seq
            ));
        }
        if event.prev_hash != previous {
            return Err(format!(
                "event {} does not follow the event before it",
                event.seq
            ));
        }
        if event_hash(&previous, &event.body.to_string()) != event.hash {
            return Err(format!(
                "event {} was altered: its hash does not match its content",
                event.seq
            ));
        }
        previous = event.hash.clone();
    }
    Ok(())
}

/// Which projects to list. Every field narrows the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectFilter {
    pub department: Option<DepartmentCode>,
    /// The park, exactly as stored (a code or a name).
    pub park: Option<String>,
    /// Substring of the name.
    pub text: Option<String>,
    /// The project's cell lies in this area subtree.
    pub area: Option<AreaCode>,
}

/// A project to register: the record and the cell its point was located in.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    pub fields: ProjectFields,
    pub cell: AreaCode,
}

/// Why a project write or read failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectStoreError {
    #[error(transparent)]
    Invalid(#[from] ProjectError),
    /// One project of a batch is refused (index from 0); nothing of the batch is stored.
    #[error("project {} of the batch: {error}", index + 1)]
    InvalidInBatch { index: usize, error: ProjectError },
    #[error("project {0} does not exist")]
    NotFound(u64),
    #[error("project {id} was changed meanwhile: you saw version {expected}, it is now at version {actual}; reload it and try again")]
    VersionConflict { id: u64, expected: u64, actual: u64 },
    #[error("project {id} belongs to the department {department}, not to yours")]
    OutOfScope { id: u64, department: DepartmentCode },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ProjectStoreError {
    fn from(error: rusqlite::Error) -> Self {
        ProjectStoreError::Store(StoreError::from(error))
    }
}

/// The storage interface of major projects.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Registers one project (event `created`).
    async fn create_project(
        &self,
        project: NewProject,
        actor: &PersonId,
        now: DateTime<Utc>,
    ) -> Result<Project, ProjectStoreError>;

    /// Registers a batch in one transaction (events `imported`): all or none.
    async fn create_projects(
        &self,
        projects: Vec<NewProject>,
        actor: &PersonId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Project>, ProjectStoreError>;

    /// Replaces a project's record (event `updated` naming the changed fields). With
    /// `expected_version`, refuses if the project moved meanwhile; with `department`, refuses unless
    /// the stored project belongs to it.
    async fn update_project(
        &self,
        id: u64,
        expected_version: Option<u64>,
        department: Option<DepartmentCode>,
        project: NewProject,
        actor: &PersonId,
        now: DateTime<Utc>,
    ) -> Result<Project, ProjectStoreError>;

    async fn project(&self, id: u64) -> Result<Project, ProjectStoreError>;

    /// The project's events, oldest first.
    async fn project_events(&self, id: u64) -> Result<Vec<ProjectEvent>, ProjectStoreError>;

    /// The projects matching the filter, by id.
    async fn list_projects(
        &self,
        filter: &ProjectFilter,
    ) -> Result<Vec<Project>, ProjectStoreError>;
}

/// The China calendar date of an instant (the day actual stage dates are checked against).
pub fn china_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&onegrid_core::calendar::TIMEZONE)
        .date_naive()
}
