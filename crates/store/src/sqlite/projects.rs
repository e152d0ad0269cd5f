//! SQL of major projects (see `crate::projects`): writes run in the writer's batch through `side`
//! (under a savepoint, so a refused write leaves nothing), reads on a read connection.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onegrid_core::projects::{changes, event_hash, validate, ProjectFields};
use onegrid_core::{AreaCode, DepartmentCode, PersonId, Reference};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::rows::{corrupt, time_text};
use super::SqliteStore;
use crate::projects::{
    china_today, NewProject, Project, ProjectEvent, ProjectFilter, ProjectStore, ProjectStoreError,
};
use crate::StoreError;

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(format!("time {text:?}: {e}")))
}

const COLUMNS: &str = "id, version, fields, cell, created_at, updated_at";

type ProjectRow = (i64, i64, String, String, String, String);

fn project_row(row: &Row<'_>) -> rusqlite::Result<ProjectRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn project(
    (id, version, fields, cell, created, updated): ProjectRow,
) -> Result<Project, StoreError> {
    Ok(Project {
        id: id as u64,
        version: version as u64,
        fields: serde_json::from_str(&fields).map_err(|e| corrupt(format!("project {id}: {e}")))?,
        cell: AreaCode::parse(&cell).map_err(|e| corrupt(e.to_string()))?,
        created_at: parse_time(&created)?,
        updated_at: parse_time(&updated)?,
    })
}

fn load(connection: &Connection, id: u64) -> Result<Project, ProjectStoreError> {
    connection
        .query_row(
            &format!("SELECT {COLUMNS} FROM projects WHERE id = ?1"),
            params![id as i64],
            project_row,
        )
        .optional()?
        .map(project)
        .transpose()?
        .ok_or(ProjectStoreError::NotFound(id))
}

fn last_hash(connection: &Connection, id: u64) -> Result<String, ProjectStoreError> {
    Ok(connection
        .query_row(
            "SELECT hash FROM project_events WHERE project_id = ?1 ORDER BY seq DESC LIMIT 1",
            params![id as i64],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

fn append_event(
    connection: &Connection,
    id: u64,
    seq: u64,
    kind: &str,
    body: &serde_json::Value,
    actor: &PersonId,
    now: DateTime<Utc>,
) -> Result<(), ProjectStoreError> {
    let previous = last_hash(connection, id)?;
    let body = body.to_string();
    let hash = event_hash(&previous, &body);
    connection.execute(
        "INSERT INTO project_events (project_id, seq, at, actor, kind, body, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id as i64,
            seq as i64,
            time_text(&now),
            actor.as_str(),
            kind,
            body,
            previous,
            hash
        ],
    )?;
    Ok(())
}

fn park_column(fields: &ProjectFields) -> Option<String> {
    fields
        .park
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

fn json_text(fields: &ProjectFields) -> Result<String, ProjectStoreError> {
    serde_json::to_string(fields)
        .map_err(|e| ProjectStoreError::Store(StoreError::Storage(e.to_string())))
}

fn insert(
    connection: &Connection,
    new: &NewProject,
    kind: &str,
    actor: &PersonId,
    now: DateTime<Utc>,
) -> Result<Project, ProjectStoreError> {
    let text = json_text(&new.fields)?;
    connection.execute(
        "INSERT INTO projects (name, department, park, cell, fields, version, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
        params![
            new.fields.name.trim(),
            new.fields.department.as_str(),
            park_column(&new.fields),
            new.cell.as_str(),
            text,
            time_text(&now)
        ],
    )?;
    let id = connection.last_insert_rowid() as u64;
    let body = serde_json::json!({"fields": new.fields, "cell": new.cell.as_str()});
    append_event(connection, id, 1, kind, &body, actor, now)?;
    Ok(Project {
        id,
        version: 1,
        fields: new.fields.clone(),
        cell: new.cell.clone(),
        created_at: now,
        updated_at: now,
    })
}

// One write's inputs; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
fn update(
    connection: &Connection,
    reference: &Reference,
    id: u64,
    expected_version: Option<u64>,
    department: Option<&DepartmentCode>,
    new: &NewProject,
    actor: &PersonId,
    now: DateTime<Utc>,
) -> Result<Project, ProjectStoreError> {
    let stored = load(connection, id)?;
    if let Some(department) = department {
        if stored.fields.department != *department {
            return Err(ProjectStoreError::OutOfScope {
                id,
                department: stored.fields.department,
            });
        }
    }
    if let Some(expected) = expected_version {
        if expected != stored.version {
            return Err(ProjectStoreError::VersionConflict {
                id,
                expected,
                actual: stored.version,
            });
        }
    }
    validate(&new.fields, &reference.departments, china_today(now))?;
    let changed: Vec<serde_json::Value> = changes(&stored.fields, &new.fields)
        .into_iter()
        .map(|(field, before, after)| serde_json::json!({"field": field, "before": before, "after": after}))
        .collect();
    if changed.is_empty() && stored.cell == new.cell {
        return Ok(stored);
    }
    let version = stored.version + 1;
    connection.execute(
        "UPDATE projects SET name = ?2, department = ?3, park = ?4, cell = ?5, fields = ?6, \
         version = ?7, updated_at = ?8 WHERE id = ?1",
        params![
            id as i64,
            new.fields.name.trim(),
            new.fields.department.as_str(),
            park_column(&new.fields),
            new.cell.as_str(),
            json_text(&new.fields)?,
            version as i64,
            time_text(&now)
        ],
    )?;
    let mut body = serde_json::json!({"changes": changed});
    if stored.cell != new.cell {
        body["cell"] =
            serde_json::json!({"before": stored.cell.as_str(), "after": new.cell.as_str()});
    }
    append_event(connection, id, version, "updated", &body, actor, now)?;
    Ok(Project {
        id,
        version,
        fields: new.fields.clone(),
        cell: new.cell.clone(),
        created_at: stored.created_at,
        updated_at: now,
    })
}

fn events(connection: &Connection, id: u64) -> Result<Vec<ProjectEvent>, ProjectStoreError> {
    load(connection, id)?;
    let mut statement = connection.prepare(
        "SELECT seq, at, actor, kind, body, prev_hash, hash FROM project_events \
         WHERE project_id = ?1 ORDER BY seq",
    )?;
    let rows = statement.query_map(params![id as i64], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, String>(5)?,
            row.get::<_, String>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, at, actor, kind, body, prev_hash, hash) = row?;
        out.push(ProjectEvent {
            project_id: id,
            seq: seq as u64,
            at: parse_time(&at)?,
            actor: PersonId::parse(&actor).map_err(|e| corrupt(e.to_string()))?,
            kind,
            body: serde_json::from_str(&body).map_err(|e| corrupt(e.to_string()))?,
            prev_hash,
            hash,
        });
    }
    Ok(out)
}

fn list(
    connection: &Connection,
    filter: &ProjectFilter,
) -> Result<Vec<Project>, ProjectStoreError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    if let Some(department) = &filter.department {
        values.push(department.as_str().to_string());
        conditions.push(format!("department = ?{}", values.len()));
    }
    if let Some(park) = &filter.park {
        values.push(park.trim().to_string());
        conditions.push(format!("park = ?{}", values.len()));
    }
    if let Some(text) = &filter.text {
        values.push(text.clone());
        conditions.push(format!("instr(name, ?{}) > 0", values.len()));
    }
    if let Some(area) = &filter.area {
        values.push(area.as_str().to_string());
        conditions.push(format!(
            "substr(cell, 1, length(?{0})) = ?{0}",
            values.len()
        ));
    }
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let mut statement = connection.prepare(&format!(
        "SELECT {COLUMNS} FROM projects {condition} ORDER BY id"
    ))?;
    let rows = statement.query_map(rusqlite::params_from_iter(values.iter()), project_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(project(row?)?);
    }
    Ok(out)
}

/// Runs a project write in the writer's batch; a refusal travels inside the answer so that the
/// savepoint is released with nothing written (the work returns before writing when it refuses).
async fn write<T: Send + 'static>(
    store: &SqliteStore,
    work: impl FnOnce(&Connection) -> Result<T, ProjectStoreError> + Send + 'static,
) -> Result<T, ProjectStoreError> {
    let answer = store
        .side(move |connection| match work(connection) {
            Ok(value) => Ok(Ok(value)),
            // Storage failures roll the savepoint back.
            Err(ProjectStoreError::Store(error)) => Err(error),
            Err(refusal) => Ok(Err(refusal)),
        })
        .await?;
    answer
}

async fn read<T: Send + 'static>(
    store: &SqliteStore,
    work: impl FnOnce(&Connection) -> Result<T, ProjectStoreError> + Send + 'static,
) -> Result<T, ProjectStoreError> {
    store
        .read(move |connection| match work(connection) {
            Ok(value) => Ok(Ok(value)),
            Err(ProjectStoreError::Store(error)) => Err(error),
            Err(refusal) => Ok(Err(refusal)),
        })
        .await?
}

fn reference(store: &SqliteStore) -> Arc<Reference> {
    crate::Store::reference(store)
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn create_project(
        &self,
        project: NewProject,
        actor: &PersonId,
        now: DateTime<Utc>,
    ) -> Result<Project, ProjectStoreError> {
        validate(
            &project.fields,
            &reference(self).departments,
            china_today(now),
        )?;
        let actor = actor.clone();
        write(self, move |c| insert(c, &project, "created", &actor, now)).await
    }

    async fn create_projects(
        &self,
        projects: Vec<NewProject>,
        actor: &PersonId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Project>, ProjectStoreError> {
        let reference = reference(self);
        for (index, project) in projects.iter().enumerate() {
            validate(&project.fields, &reference.departments, china_today(now))
                .map_err(|error| ProjectStoreError::InvalidInBatch { index, error })?;
        }
        let actor = actor.clone();
        write(self, move |c| {
            projects
                .iter()
                .map(|p| insert(c, p, "imported", &actor, now))
                .collect()
        })
        .await
    }

    async fn update_project(
        &self,
        id: u64,
        expected_version: Option<u64>,
        department: Option<DepartmentCode>,
        project: NewProject,
        actor: &PersonId,
        now: DateTime<Utc>,
    ) -> Result<Project, ProjectStoreError> {
        let reference = reference(self);
        let actor = actor.clone();
        write(self, move |c| {
            update(
                c,
                &reference,
                id,
                expected_version,
                department.as_ref(),
                &project,
                &actor,
                now,
            )
        })
        .await
    }

    async fn project(&self, id: u64) -> Result<Project, ProjectStoreError> {
        read(self, move |c| load(c, id)).await
    }

    async fn project_events(&self, id: u64) -> Result<Vec<ProjectEvent>, ProjectStoreError> {
        read(self, move |c| events(c, id)).await
    }

    async fn list_projects(
        &self,
        filter: &ProjectFilter,
    ) -> Result<Vec<Project>, ProjectStoreError> {
        let filter = filter.clone();
        read(self, move |c| list(c, &filter)).await
    }
}
