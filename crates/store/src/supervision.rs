//! Supervision tasks (督办任务): the store's side of `onegrid_core::supervision`. A task's history is
//! hash-chained and append-only like a case's; the task row is its projection, rebuilt by
//! `verify_tasks` to check that it equals the replay of the history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onegrid_core::history::ActorRef;
use onegrid_core::supervision::{NewTask, Task, TaskChange, TaskError, TaskEvent, TaskId};

use crate::StoreError;

/// Why a supervision operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SupervisionError {
    #[error("task {0} does not exist")]
    NotFound(TaskId),
    #[error("task {id} was changed meanwhile: you saw version {expected}, it is now at version {actual}; reload it and try again")]
    VersionConflict {
        id: TaskId,
        expected: u64,
        actual: u64,
    },
    /// A change refused by the rules (`decide`), or a history that does not verify.
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SupervisionError {
    fn from(error: rusqlite::Error) -> Self {
        SupervisionError::Store(error.into())
    }
}

/// One task whose history does not verify, or whose row differs from the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenTask {
    pub task_id: TaskId,
    pub problem: String,
}

/// The outcome of checking every task's chain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskVerifyReport {
    pub tasks: u64,
    pub events: u64,
    pub broken: Vec<BrokenTask>,
}

impl TaskVerifyReport {
    pub fn is_ok(&self) -> bool {
        self.broken.is_empty()
    }
}

/// Storage of supervision tasks. Writes are acknowledged only once durable.
#[async_trait]
pub trait SupervisionStore: Send + Sync {
    /// 立项: creates the tasks (one `created` event each) in one transaction; the store assigns ids.
    async fn create_tasks(
        &self,
        tasks: Vec<NewTask>,
        actor: ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<Task>, SupervisionError>;

    /// Applies a change (`onegrid_core::supervision::decide`) and appends its events. With
    /// `expected_version`, refuses if the task moved meanwhile.
    async fn change_task(
        &self,
        id: TaskId,
        expected_version: Option<u64>,
        change: TaskChange,
        actor: ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Task, SupervisionError>;

    async fn task(&self, id: TaskId) -> Result<Task, SupervisionError>;

    /// The task's events, oldest first.
    async fn task_history(&self, id: TaskId) -> Result<Vec<TaskEvent>, SupervisionError>;

    /// Every task, by id.
    async fn tasks(&self) -> Result<Vec<Task>, SupervisionError>;

    /// Checks every task's chain and that its row equals the replay of its history.
    async fn verify_tasks(&self) -> Result<TaskVerifyReport, SupervisionError>;
}
