//! SQL of the supervision tables (see `crate::supervision`): task rows and their hash-chained events.
//! Writes run through the writer (`side`), reads on a read connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onegrid_core::history::{ActorRef, GENESIS_HASH};
use onegrid_core::supervision::{
    decide, evolve_task, replay_task, NewTask, Task, TaskChange, TaskEvent, TaskEventKind, TaskId,
};
use rusqlite::{params, Connection, OptionalExtension};

use super::rows::corrupt;
use super::SqliteStore;
use crate::supervision::{BrokenTask, SupervisionError, SupervisionStore, TaskVerifyReport};
use crate::StoreError;

fn task_from_body(body: &str) -> Result<Task, StoreError> {
    serde_json::from_str(body).map_err(|e| corrupt(format!("task row: {e}")))
}

fn event_from_body(body: &str) -> Result<TaskEvent, StoreError> {
    serde_json::from_str(body).map_err(|e| corrupt(format!("task event: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Storage(e.to_string()))
}

fn write_task(connection: &Connection, task: &Task) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO supervision_tasks (id, report, year, lead, section, deadline, version, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (id) DO UPDATE SET lead = excluded.lead, deadline = excluded.deadline, \
         version = excluded.version, body = excluded.body",
        params![
            task.id.0 as i64,
            task.spec.report,
            task.spec.year,
            task.spec.lead.as_ref().map(|d| d.as_str().to_string()),
            task.spec.section,
            task.spec.deadline.to_string(),
            task.version as i64,
            to_json(task)?,
        ],
    )?;
    Ok(())
}

fn append_event(connection: &Connection, event: &TaskEvent) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO supervision_task_events (task_id, seq, body) VALUES (?1, ?2, ?3)",
        params![event.task_id.0 as i64, event.seq as i64, to_json(event)?],
    )?;
    Ok(())
}

fn load_task(connection: &Connection, id: TaskId) -> Result<Option<Task>, StoreError> {
    let body: Option<String> = connection
        .query_row(
            "SELECT body FROM supervision_tasks WHERE id = ?1",
            params![id.0 as i64],
            |row| row.get(0),
        )
        .optional()?;
    body.as_deref().map(task_from_body).transpose()
}

fn load_history(connection: &Connection, id: TaskId) -> Result<Vec<TaskEvent>, StoreError> {
    let mut statement = connection
        .prepare("SELECT body FROM supervision_task_events WHERE task_id = ?1 ORDER BY seq")?;
    let rows = statement.query_map(params![id.0 as i64], |row| row.get::<_, String>(0))?;
    rows.map(|body| event_from_body(&body?)).collect()
}

fn create(
    connection: &Connection,
    tasks: Vec<NewTask>,
    actor: &ActorRef,
    now: DateTime<Utc>,
) -> Result<Vec<Task>, SupervisionError> {
    let next: i64 = connection.query_row(
        "SELECT COALESCE(MAX(id), 0) + 1 FROM supervision_tasks",
        [],
        |row| row.get(0),
    )?;
    let mut created = Vec::with_capacity(tasks.len());
    for (offset, spec) in tasks.into_iter().enumerate() {
        let id = TaskId(next as u64 + offset as u64);
        let event = TaskEvent::new(
            id,
            1,
            now,
            actor.clone(),
            TaskEventKind::Created {
                task: Box::new(spec),
            },
            GENESIS_HASH,
        );
        let task = evolve_task(None, &event)?;
        write_task(connection, &task)?;
        append_event(connection, &event)?;
        created.push(task);
    }
    Ok(created)
}

fn change(
    connection: &Connection,
    id: TaskId,
    expected_version: Option<u64>,
    change: TaskChange,
    actor: &ActorRef,
    now: DateTime<Utc>,
) -> Result<Task, SupervisionError> {
    let mut task = load_task(connection, id)?.ok_or(SupervisionError::NotFound(id))?;
    if let Some(expected) = expected_version {
        if expected != task.version {
            return Err(SupervisionError::VersionConflict {
                id,
                expected,
                actual: task.version,
            });
        }
    }
    for kind in decide(&task, change)? {
        let event = TaskEvent::new(
            id,
            task.version + 1,
            now,
            actor.clone(),
            kind,
            &task.head_hash,
        );
        task = evolve_task(Some(task), &event)?;
        append_event(connection, &event)?;
    }
    write_task(connection, &task)?;
    Ok(task)
}

fn all_tasks(connection: &Connection) -> Result<Vec<Task>, StoreError> {
    let mut statement = connection.prepare("SELECT body FROM supervision_tasks ORDER BY id")?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    rows.map(|body| task_from_body(&body?)).collect()
}

fn verify(connection: &Connection) -> Result<TaskVerifyReport, StoreError> {
    let mut report = TaskVerifyReport::default();
    for task in all_tasks(connection)? {
        let events = load_history(connection, task.id)?;
        report.tasks += 1;
        report.events += events.len() as u64;
        match replay_task(task.id, &events) {
            Ok(replayed) if replayed == task => {}
            Ok(_) => report.broken.push(BrokenTask {
                task_id: task.id,
                problem: format!(
                    "task {}: the stored task differs from the replay of its history",
                    task.id
                ),
            }),
            Err(error) => report.broken.push(BrokenTask {
                task_id: task.id,
                problem: error.to_string(),
            }),
        }
    }
    Ok(report)
}

/// Moves a rules error out of a side write (which only carries `StoreError`) without failing it.
type Inner<T> = Result<T, SupervisionError>;

fn flatten<T>(result: Result<Inner<T>, StoreError>) -> Result<T, SupervisionError> {
    result?
}

#[async_trait]
impl SupervisionStore for SqliteStore {
    async fn create_tasks(
        &self,
        tasks: Vec<NewTask>,
        actor: ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<Task>, SupervisionError> {
        // A failure here is a storage failure: the whole import is undone with the savepoint.
        self.side(move |c| {
            create(c, tasks, &actor, now).map_err(|e| match e {
                SupervisionError::Store(inner) => inner,
                other => StoreError::Storage(other.to_string()),
            })
        })
        .await
        .map_err(SupervisionError::from)
    }

    async fn change_task(
        &self,
        id: TaskId,
        expected_version: Option<u64>,
        task_change: TaskChange,
        actor: ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Task, SupervisionError> {
        flatten(
            self.side(move |c| {
                // Rule refusals write nothing, so they are answers, not failed writes.
                Ok(
                    match change(c, id, expected_version, task_change, &actor, now) {
                        Err(SupervisionError::Store(inner)) => return Err(inner),
                        other => other,
                    },
                )
            })
            .await,
        )
    }

    async fn task(&self, id: TaskId) -> Result<Task, SupervisionError> {
        self.read(move |c| load_task(c, id))
            .await?
            .ok_or(SupervisionError::NotFound(id))
    }

    async fn task_history(&self, id: TaskId) -> Result<Vec<TaskEvent>, SupervisionError> {
        let events = self.read(move |c| load_history(c, id)).await?;
        if events.is_empty() {
            return Err(SupervisionError::NotFound(id));
        }
        Ok(events)
    }

    async fn tasks(&self) -> Result<Vec<Task>, SupervisionError> {
        Ok(self.read(all_tasks).await?)
    }

    async fn verify_tasks(&self) -> Result<TaskVerifyReport, SupervisionError> {
        Ok(self.read(verify).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use onegrid_core::org::{DepartmentCode, PersonId, Role};
    use onegrid_core::supervision::{default_deadline, Cmp, Status, TaskError};

    fn actor(person: &str, role: Role) -> ActorRef {
        ActorRef {
            person: PersonId::parse(person).expect("id"),
            role,
        }
    }

    fn spec(indicator: &str, value: f64) -> NewTask {
        NewTask {
            report: "东丽区2021年政府工作报告".into(),
            year: 2021,
            section: "三、2021年主要工作安排".into(),
            indicator: indicator.into(),
            value,
            unit: "家".into(),
            cmp: Cmp::AtLeast,
            quote: format!("{indicator}{value}家"),
            start: 0,
            end: 10,
            lead: DepartmentCode::parse("shangwu").ok(),
            co_departments: vec![],
            deadline: default_deadline(2021),
        }
    }

    fn now(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").to_utc()
    }

    #[tokio::test]
    async fn tasks_are_stored_changed_verified_and_tampering_is_found() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).expect("open");
        let sv = store.supervision();
        let boss = actor("supervisor", Role::Supervisor);
        let created = sv
            .create_tasks(
                vec![
                    spec("净增国家高新技术企业", 60.0),
                    spec("新增市场主体", 1000.0),
                ],
                boss.clone(),
                now("2021-02-01T09:00:00+08:00"),
            )
            .await
            .expect("create");
        assert_eq!(created.iter().map(|t| t.id.0).collect::<Vec<_>>(), [1, 2]);
        let id = created[0].id;
        sv.change_task(
            id,
            Some(1),
            TaskChange::Notice {
                note: "请报送进度".into(),
                respond_by: None,
            },
            boss.clone(),
            now("2021-03-01T09:00:00+08:00"),
        )
        .await
        .expect("notice");
        // A stale version is refused.
        let stale = sv
            .change_task(
                id,
                Some(1),
                TaskChange::Progress {
                    value: 1.0,
                    evidence: vec![],
                    note: String::new(),
                },
                boss.clone(),
                now("2021-03-02T09:00:00+08:00"),
            )
            .await;
        assert!(matches!(
            stale,
            Err(SupervisionError::VersionConflict { actual: 2, .. })
        ));
        // A rules refusal is an answer, and the writer goes on.
        let empty = sv
            .change_task(
                id,
                None,
                TaskChange::Notice {
                    note: " ".into(),
                    respond_by: None,
                },
                boss.clone(),
                now("2021-03-02T09:00:00+08:00"),
            )
            .await;
        assert!(matches!(
            empty,
            Err(SupervisionError::Task(TaskError::Invalid(_)))
        ));
        let handler = actor("handler", Role::DepartmentHandler);
        let done = sv
            .change_task(
                id,
                None,
                TaskChange::Progress {
                    value: 61.0,
                    evidence: vec!["名单".into()],
                    note: "全年".into(),
                },
                handler,
                now("2021-11-02T09:00:00+08:00"),
            )
            .await
            .expect("progress");
        assert_eq!(done.version, 4);
        assert_eq!(
            done.assess(now("2021-11-03T00:00:00+08:00")).status,
            Status::Done
        );
        let history = sv.task_history(id).await.expect("history");
        assert_eq!(
            history.iter().map(|e| e.kind.name()).collect::<Vec<_>>(),
            ["created", "notice_issued", "progress_reported", "done"]
        );
        assert!(matches!(
            sv.task(TaskId(99)).await,
            Err(SupervisionError::NotFound(TaskId(99)))
        ));
        let report = sv.verify_tasks().await.expect("verify");
        assert_eq!((report.tasks, report.events, report.is_ok()), (2, 5, true));
        drop(store);

        // Tamper with the file directly: the triggers refuse it, so drop them the way an attacker would.
        let raw = Connection::open(&path).expect("raw");
        assert!(raw
            .execute(
                "UPDATE supervision_task_events SET body = replace(body, '61', '62') WHERE task_id = 1 AND seq = 3",
                [],
            )
            .is_err());
        raw.execute_batch(
            "DROP TRIGGER supervision_task_events_no_update; \
             UPDATE supervision_task_events SET body = replace(body, '\"value\":61', '\"value\":62') WHERE task_id = 1 AND seq = 3;",
        )
        .expect("tamper");
        drop(raw);
        let store = SqliteStore::open(&path).expect("reopen");
        let report = store.supervision().verify_tasks().await.expect("verify");
        assert_eq!(report.broken.len(), 1);
        assert_eq!(report.broken[0].task_id, TaskId(1));
        assert!(
            report.broken[0].problem.contains("event 3"),
            "{}",
            report.broken[0].problem
        );
    }
}
