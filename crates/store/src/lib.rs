//! Storage for onegrid: one trait, `Store`, and its backends (SQLite now; PostgreSQL to come).
//!
//! Every write goes through the domain core: the store loads the case, runs `workflow::apply` inside
//! its transaction, appends the event and updates the case projection, then answers only once the
//! transaction is durable. Callers never see a backend's types, so a second backend needs no change
//! in them.
//!
//! Layout:
//! - `lib.rs`: the `Store` trait, `CaseFilter`, `VerifyReport`, `StoreError`.
//! - `grid.rs`: grid layers (`GridShape`) and where a point lands (`LocatedCell`).
//! - `sqlite/`: the SQLite backend (WAL, group commit through one writer thread, read connections).
//! - `migrations/sqlite/`: the schema, applied in order when a database is opened.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onegrid_core::{
    Actor, AreaCode, Case, CaseId, CaseState, CategoryCode, ChainError, Channel, Command,
    DepartmentCode, Event, NewReport, Person, PersonId, Reference, Tier, WorkflowError,
};

pub mod access;
pub mod grid;
pub mod opinions;
pub mod projects;
pub mod sqlite;
pub mod supervision;

pub use access::{ApiKey, Delivery, FeedEvent, Photo, Session, Webhook};
pub use grid::{GridShape, LayerSummary, LocatedCell};
use onegrid_core::area::AreaLevel;
pub use onegrid_geo::index::CellIndex;
pub use sqlite::SqliteStore;

/// Why a store operation failed. Domain refusals keep their own type so callers can map them once.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error("case {0} does not exist")]
    CaseNotFound(CaseId),
    #[error("case {id} was changed meanwhile: you saw version {expected}, it is now at version {actual}; reload it and try again")]
    VersionConflict {
        id: CaseId,
        expected: u64,
        actual: u64,
    },
    #[error("unknown person {0}")]
    UnknownPerson(PersonId),
    #[error("invalid reference data: {0}")]
    InvalidReference(String),
    #[error("cannot open the database {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the point {lon},{lat} is outside the district{}", match nearest_m { Some(m) => format!(": the nearest grid cell is {m:.0} m away, beyond the {snap_m:.0} m intake accepts"), None => String::new() })]
    OutsideDistrict {
        lon: f64,
        lat: f64,
        nearest_m: Option<f64>,
        snap_m: f64,
    },
    #[error("{0}")]
    InvalidPoint(String),
    #[error("no grid cell layer has been imported yet, so points cannot be placed in cells; import one with `onegrid grid import`")]
    NoGrid,
    #[error("the point {lon},{lat} lies in grid cell {located}, not in {given}")]
    PointNotInCell {
        lon: f64,
        lat: f64,
        given: AreaCode,
        located: AreaCode,
    },
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    #[error("the store has shut down")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Storage(error.to_string())
    }
}

/// Which cases to list. Every field narrows the list; `None` means no condition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    /// The case's cell lies in this area subtree.
    pub area: Option<AreaCode>,
    pub state: Option<CaseState>,
    pub category: Option<CategoryCode>,
    /// Lead department (主办).
    pub department: Option<DepartmentCode>,
    pub tier: Option<Tier>,
    pub channel: Option<Channel>,
    /// Reported at or after.
    pub reported_from: Option<DateTime<Utc>>,
    /// Reported before.
    pub reported_to: Option<DateTime<Utc>>,
    /// Substring of the title or description.
    pub text: Option<String>,
    /// Scope: the case's cell lies in one of these subtrees (an empty list matches nothing).
    pub within: Option<Vec<AreaCode>>,
    /// Scope: the department leads (主办) or co-handles (协办) the case.
    pub involving_department: Option<DepartmentCode>,
    /// Scope: this person is one of the case's reporters.
    pub reporter: Option<PersonId>,
    /// Only cases with an id greater than this (cursor pagination, newest ids last).
    pub after: Option<CaseId>,
    /// At most this many cases (default 100, at most 10,000).
    pub limit: Option<usize>,
}

/// One case whose history does not verify, with the first problem found.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenCase {
    pub case_id: CaseId,
    pub problem: String,
}

/// The outcome of checking every chain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    pub cases: u64,
    pub events: u64,
    pub broken: Vec<BrokenCase>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.broken.is_empty()
    }
}

/// Turns a chain error into the report line for its case.
pub fn broken_case(case_id: CaseId, error: &ChainError) -> BrokenCase {
    BrokenCase {
        case_id,
        problem: error.to_string(),
    }
}

/// Progress of a long operation: (done, total).
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// The storage interface. Writes are acknowledged only once durable.
#[async_trait]
pub trait Store: Send + Sync {
    /// The current reference data (areas, taxonomy, departments, people, calendar).
    fn reference(&self) -> Arc<Reference>;

    /// Replaces the reference data as one transaction, after validating it.
    async fn put_reference(&self, reference: Reference) -> Result<(), StoreError>;

    /// Adds or replaces one person.
    async fn put_person(&self, person: Person) -> Result<(), StoreError>;

    /// 上报: creates a case. The store assigns the id.
    async fn report(
        &self,
        report: NewReport,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Case, StoreError>;

    /// Applies a workflow command. With `expected_version`, refuses if the case moved meanwhile.
    async fn act(
        &self,
        id: CaseId,
        expected_version: Option<u64>,
        command: Command,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Case, StoreError>;

    /// 合并: merges duplicate `source` into `target`, both in one transaction.
    /// Returns (source, target) after the merge.
    async fn merge(
        &self,
        source: CaseId,
        target: CaseId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Case, Case), StoreError>;

    async fn case(&self, id: CaseId) -> Result<Case, StoreError>;

    async fn history(&self, id: CaseId) -> Result<Vec<Event>, StoreError>;

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, StoreError>;

    async fn count_cases(&self) -> Result<u64, StoreError>;

    /// Every history of the cases reported in `[from, to)`, for KPIs.
    async fn histories(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Vec<Event>>, StoreError>;

    /// Checks every case's chain and that the case projection equals the replay of its history.
    async fn verify(&self, progress: Progress) -> Result<VerifyReport, StoreError>;

    /// Imports the grid layer of one level as one transaction: its areas are added to the tree (or
    /// renamed), and its shapes replace the level's previous shapes. Areas of the level missing from
    /// the new layer stay in the tree, since cases may name them, but lose their shape. Importing the
    /// cell layer swaps the point → cell index atomically once the transaction is durable.
    async fn put_grid_layer(
        &self,
        level: AreaLevel,
        shapes: Vec<GridShape>,
        now: DateTime<Utc>,
    ) -> Result<LayerSummary, StoreError>;

    /// The stored shapes of one level, ordered by code.
    async fn grid_layer(&self, level: AreaLevel) -> Result<Vec<GridShape>, StoreError>;

    /// The point → cell index over the current cell layer, or None before one is imported. Readers
    /// hold the index they got while a new one replaces it.
    fn cell_index(&self) -> Option<Arc<CellIndex>>;

    // ---- Access: what the HTTP interface keeps besides cases (see `access`). ----

    /// Sets a person's password hash (argon2, made by the caller).
    async fn set_password(
        &self,
        person: &PersonId,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn password_hash(&self, person: &PersonId) -> Result<Option<String>, StoreError>;

    async fn put_session(&self, session: Session) -> Result<(), StoreError>;

    /// The session of a token hash, expired or not (the caller checks expiry against its clock).
    async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError>;

    /// Ends a session; false if there was none.
    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError>;

    async fn create_api_key(
        &self,
        name: &str,
        key_hash: String,
        now: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError>;

    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError>;

    /// Revokes a key (kept, for the record); NotFound if there is no such key.
    async fn revoke_api_key(&self, id: u64, now: DateTime<Utc>) -> Result<ApiKey, StoreError>;

    /// Stores a photo (a photo already stored is kept as it is).
    async fn put_photo(&self, photo: Photo, now: DateTime<Utc>) -> Result<(), StoreError>;

    async fn photo(&self, hash: &str) -> Result<Option<Photo>, StoreError>;

    /// Whether a photo is stored (without reading its bytes).
    async fn photo_exists(&self, hash: &str) -> Result<bool, StoreError>;

    /// Events after feed position `after`, oldest first, at most `limit`.
    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<FeedEvent>, StoreError>;

    /// The feed position of the last committed event; changes after every commit that added events.
    fn feed_head(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Subscribes `owner` to the events they may see, from the current head of the feed on.
    async fn create_webhook(
        &self,
        owner: &PersonId,
        url: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Webhook, StoreError>;

    /// Every webhook, active or not.
    async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError>;

    /// Stops a webhook; NotFound if there is no such webhook.
    async fn deactivate_webhook(&self, id: u64) -> Result<(), StoreError>;

    /// Records one delivery attempt; with `cursor`, also moves the webhook's cursor there.
    async fn record_delivery(
        &self,
        delivery: Delivery,
        cursor: Option<u64>,
    ) -> Result<(), StoreError>;

    /// The latest deliveries of a webhook, newest first.
    async fn deliveries(&self, webhook: u64, limit: usize) -> Result<Vec<Delivery>, StoreError>;

    // --- projects ---
    /// Major projects (重大项目): their records and change record (see `projects`).
    fn projects(&self) -> &dyn projects::ProjectStore;

    // --- supervision ---
    /// Supervision tasks (督办任务) and their hash-chained histories (see `supervision`).
    fn supervision(&self) -> &dyn supervision::SupervisionStore;

    // --- public opinion ---
    /// Public-opinion posts (舆情) received and what became of them (see `opinions`).
    fn opinions(&self) -> &dyn opinions::OpinionStore;
}

/// Places a WGS84 point in its grid cell: the cell containing it, else the nearest cell within the
/// index's snapping distance (the distance is returned), else an "outside the district" error.
pub fn locate(store: &dyn Store, lon: f64, lat: f64) -> Result<LocatedCell, StoreError> {
    let index = store.cell_index().ok_or(StoreError::NoGrid)?;
    locate_in(&index, lon, lat)
}

/// As [`locate`], with an index the caller holds (one index for a whole batch).
pub fn locate_in(index: &CellIndex, lon: f64, lat: f64) -> Result<LocatedCell, StoreError> {
    use onegrid_geo::index::LocateError;
    match index.locate(lon, lat) {
        Ok(found) => Ok(LocatedCell {
            cell: AreaCode::parse(index.code(found.cell)).map_err(|e| {
                StoreError::Corrupt(format!("the cell index holds a bad code: {e}"))
            })?,
            distance_m: found.distance_m,
        }),
        Err(LocateError::OutsideDistrict { nearest_m, .. }) => Err(StoreError::OutsideDistrict {
            lon,
            lat,
            nearest_m,
            snap_m: index.snap_distance_m(),
        }),
        Err(other) => Err(StoreError::InvalidPoint(other.to_string())),
    }
}

/// Resolves a person id to the actor the rules check, from the store's reference data.
pub fn actor_for(store: &dyn Store, person: &PersonId) -> Result<Actor, StoreError> {
    store
        .reference()
        .person(person)
        .map(Person::actor)
        .ok_or_else(|| StoreError::UnknownPerson(person.clone()))
}
