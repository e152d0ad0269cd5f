//! Mapping between core types and SQLite rows, shared by the writer and the readers.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use onegrid_core::category::StageLimits;
use onegrid_core::{
    Area, AreaCode, AreaTree, Case, CaseId, Category, CategoryCode, Department, DepartmentCode,
    Departments, Event, Person, PersonId, Reference, Role, Scope, Taxonomy, Tier, WorkCalendar,
    WorkingHours,
};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::grid::{parse_geometry, GridShape};
use crate::{LayerSummary, StoreError};
use onegrid_core::area::AreaLevel;

/// Timestamps are stored as fixed-width RFC 3339 UTC text so that text order is time order.
pub fn time_text(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub fn case_from_body(body: &str) -> Result<Case, StoreError> {
    serde_json::from_str(body).map_err(|e| corrupt(format!("case row: {e}")))
}

pub fn event_from_body(body: &str) -> Result<Event, StoreError> {
    serde_json::from_str(body).map_err(|e| corrupt(format!("event row: {e}")))
}

pub fn load_case(connection: &Connection, id: CaseId) -> Result<Option<Case>, StoreError> {
    let body: Option<String> = connection
        .query_row(
            "SELECT body FROM cases WHERE id = ?1",
            params![id.0 as i64],
            |row| row.get(0),
        )
        .optional()?;
    body.as_deref().map(case_from_body).transpose()
}

pub fn load_history(connection: &Connection, id: CaseId) -> Result<Vec<Event>, StoreError> {
    let mut statement =
        connection.prepare_cached("SELECT body FROM events WHERE case_id = ?1 ORDER BY seq")?;
    let rows = statement.query_map(params![id.0 as i64], |row| row.get::<_, String>(0))?;
    let mut events = Vec::new();
    for body in rows {
        events.push(event_from_body(&body?)?);
    }
    Ok(events)
}

/// Appends an event and writes the case projection. Both inside the caller's transaction.
/// Returns the event's feed position (its rowid in `events`).
pub fn write_event_and_case(
    transaction: &Transaction<'_>,
    event: &Event,
    case: &Case,
) -> Result<u64, StoreError> {
    let json = serde_json::to_string(event).map_err(|e| corrupt(e.to_string()))?;
    write_sealed_event_and_case(transaction, event, &json, case)
}

/// As `write_event_and_case`, with the event's JSON already made from its hashed bytes
/// (`history::SealedEvent`), so the hot path serializes each event once.
pub fn write_sealed_event_and_case(
    transaction: &Transaction<'_>,
    event: &Event,
    event_body: &str,
    case: &Case,
) -> Result<u64, StoreError> {
    let case_body = serde_json::to_string(case).map_err(|e| corrupt(e.to_string()))?;
    transaction
        .prepare_cached(
            "INSERT INTO events (case_id, seq, at, kind, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            event.case_id.0 as i64,
            event.seq as i64,
            time_text(&event.at),
            event.kind.name(),
            event_body,
            event.hash,
        ])?;
    // Events is a rowid table written only here, so the last insert is the feed head.
    let position = transaction.last_insert_rowid() as u64;
    // The values of `case_columns`, bound where they lie instead of copied into `Value`s.
    transaction
        .prepare_cached(
            "INSERT INTO cases (id, version, state, cell, category, tier, channel, department, \
             reported_at, updated_at, due_at, head_hash, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, state = excluded.state, \
             cell = excluded.cell, category = excluded.category, tier = excluded.tier, \
             channel = excluded.channel, department = excluded.department, \
             updated_at = excluded.updated_at, due_at = excluded.due_at, \
             head_hash = excluded.head_hash, body = excluded.body",
        )?
        .execute(params![
            case.id.0 as i64,
            case.version as i64,
            case.state.as_str(),
            case.cell.as_str(),
            case.category.as_str(),
            case.tier.as_str(),
            case.channel.as_str(),
            case.lead_department().map(|d| d.as_str()),
            time_text(&case.reported_at),
            time_text(&case.updated_at),
            case.deadline.as_ref().map(|d| time_text(&d.due_at)),
            case.head_hash,
            case_body,
        ])?;
    Ok(position)
}

/// The columns of a case row between its id and its body, in table order. They are what
/// `list_cases` filters on, so `verify` recomputes them from the replay and compares, as it does
/// the body: a forged state column would otherwise put a case in the wrong lists unnoticed.
pub fn case_columns(case: &Case) -> Vec<Value> {
    let text = |s: &str| Value::Text(s.to_string());
    vec![
        Value::Integer(case.version as i64),
        text(case.state.as_str()),
        text(case.cell.as_str()),
        text(case.category.as_str()),
        text(case.tier.as_str()),
        text(case.channel.as_str()),
        case.lead_department()
            .map_or(Value::Null, |d| text(d.as_str())),
        Value::Text(time_text(&case.reported_at)),
        Value::Text(time_text(&case.updated_at)),
        case.deadline
            .map_or(Value::Null, |d| Value::Text(time_text(&d.due_at))),
        text(&case.head_hash),
    ]
}

/// The stored `case_columns` of a case row.
pub fn load_case_columns(
    connection: &Connection,
    id: CaseId,
) -> Result<Option<Vec<Value>>, StoreError> {
    let columns = connection
        .query_row(
            "SELECT version, state, cell, category, tier, channel, department, reported_at, \
             updated_at, due_at, head_hash FROM cases WHERE id = ?1",
            params![id.0 as i64],
            |row| (0..11).map(|i| row.get::<_, Value>(i)).collect(),
        )
        .optional()?;
    Ok(columns)
}

const WORKING_HOURS_KEY: &str = "working_hours";

/// Reads the reference data. An empty database gives empty reference data.
pub fn load_reference(connection: &Connection) -> Result<Reference, StoreError> {
    let mut areas = Vec::new();
    let mut statement = connection.prepare("SELECT code, name, generated FROM areas")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let code: String = row.get(0)?;
        areas.push(Area {
            code: AreaCode::parse(&code).map_err(corrupt)?,
            name: row.get(1)?,
            generated: row.get::<_, i64>(2)? != 0,
        });
    }
    let areas = if areas.is_empty() {
        AreaTree::default()
    } else {
        AreaTree::new(areas).map_err(corrupt)?
    };

    let mut list = Vec::new();
    let mut statement = connection.prepare("SELECT code, name, short_name FROM departments")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let code: String = row.get(0)?;
        list.push(Department {
            code: DepartmentCode::parse(&code).map_err(corrupt)?,
            name: row.get(1)?,
            short_name: row.get(2)?,
        });
    }
    let departments = Departments::new(list).map_err(corrupt)?;

    let mut categories = Vec::new();
    let mut statement = connection.prepare(
        "SELECT code, name, major_name, department, tier, accept_hours, dispatch_hours, \
         handle_hours, verify_hours, close_hours FROM categories",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let code: String = row.get(0)?;
        let department: String = row.get(3)?;
        let tier: String = row.get(4)?;
        categories.push(Category {
            code: CategoryCode::parse(&code).map_err(corrupt)?,
            name: row.get(1)?,
            major_name: row.get(2)?,
            department: DepartmentCode::parse(&department).map_err(corrupt)?,
            tier: Tier::parse(&tier).ok_or_else(|| corrupt(format!("tier {tier:?}")))?,
            limits: StageLimits {
                accept_hours: row.get(5)?,
                dispatch_hours: row.get(6)?,
                handle_hours: row.get(7)?,
                verify_hours: row.get(8)?,
                close_hours: row.get(9)?,
            },
        });
    }
    let taxonomy = if categories.is_empty() {
        Taxonomy::default()
    } else {
        Taxonomy::new(categories, &departments).map_err(corrupt)?
    };

    let mut people = BTreeMap::new();
    let mut statement = connection.prepare("SELECT id, name, role, scope, phone FROM people")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let role: String = row.get(2)?;
        let scope: String = row.get(3)?;
        let person = Person {
            id: PersonId::parse(&id).map_err(corrupt)?,
            name: row.get(1)?,
            role: Role::parse(&role).ok_or_else(|| corrupt(format!("role {role:?}")))?,
            scope: serde_json::from_str::<Scope>(&scope).map_err(corrupt)?,
            phone: row.get(4)?,
        };
        people.insert(person.id.clone(), person);
    }

    let hours: Option<String> = connection
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            params![WORKING_HOURS_KEY],
            |row| row.get(0),
        )
        .optional()?;
    let hours = match hours {
        Some(spec) => WorkingHours::parse(&spec).map_err(corrupt)?,
        None => WorkingHours::default(),
    };
    Ok(Reference {
        areas,
        taxonomy,
        departments,
        people,
        calendar: WorkCalendar::china().with_hours(hours),
    })
}

/// Replaces all reference data inside the caller's transaction.
pub fn save_reference(
    transaction: &Transaction<'_>,
    reference: &Reference,
) -> Result<(), StoreError> {
    transaction.execute_batch(
        "DELETE FROM areas; DELETE FROM departments; DELETE FROM categories; DELETE FROM people;",
    )?;
    for area in reference.areas.iter() {
        transaction
            .prepare_cached(
                "INSERT INTO areas (code, name, level, parent, generated) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                area.code.as_str(),
                area.name,
                area.level().as_str(),
                area.code.parent().map(|p| p.to_string()),
                area.generated as i64,
            ])?;
    }
    for department in reference.departments.iter() {
        transaction
            .prepare_cached("INSERT INTO departments (code, name, short_name) VALUES (?1, ?2, ?3)")?
            .execute(params![
                department.code.as_str(),
                department.name,
                department.short_name
            ])?;
    }
    for category in reference.taxonomy.iter() {
        transaction
            .prepare_cached(
                "INSERT INTO categories (code, name, major_name, department, tier, accept_hours, \
                 dispatch_hours, handle_hours, verify_hours, close_hours) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                category.code.as_str(),
                category.name,
                category.major_name,
                category.department.as_str(),
                category.tier.as_str(),
                category.limits.accept_hours,
                category.limits.dispatch_hours,
                category.limits.handle_hours,
                category.limits.verify_hours,
                category.limits.close_hours,
            ])?;
    }
    for person in reference.people.values() {
        save_person(transaction, person)?;
    }
    transaction.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![WORKING_HOURS_KEY, reference.calendar.hours().to_string()],
    )?;
    Ok(())
}

pub fn save_person(transaction: &Transaction<'_>, person: &Person) -> Result<(), StoreError> {
    let scope = serde_json::to_string(&person.scope).map_err(corrupt)?;
    transaction
        .prepare_cached(
            "INSERT INTO people (id, name, role, scope, phone) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, \
             scope = excluded.scope, phone = excluded.phone",
        )?
        .execute(params![
            person.id.as_str(),
            person.name,
            person.role.as_str(),
            scope,
            person.phone
        ])?;
    Ok(())
}

/// Checks that people's scopes and departments refer to known areas and departments.
pub fn validate_reference(reference: &Reference) -> Result<(), StoreError> {
    for category in reference.taxonomy.iter() {
        if reference.departments.get(&category.department).is_none() {
            return Err(StoreError::InvalidReference(format!(
                "category {} names unknown department {}",
                category.code, category.department
            )));
        }
    }
    for person in reference.people.values() {
        validate_person(reference, person)?;
    }
    Ok(())
}

pub fn validate_person(reference: &Reference, person: &Person) -> Result<(), StoreError> {
    for area in &person.scope.areas {
        if !reference.areas.contains(area) {
            return Err(StoreError::InvalidReference(format!(
                "person {} has area {area} in their scope, which is not in the area tree",
                person.id
            )));
        }
    }
    if let Some(department) = &person.scope.department {
        if reference.departments.get(department).is_none() {
            return Err(StoreError::InvalidReference(format!(
                "person {} belongs to unknown department {department}",
                person.id
            )));
        }
    }
    if person.role == Role::DepartmentHandler && person.scope.department.is_none() {
        return Err(StoreError::InvalidReference(format!(
            "person {} is a department handler without a department",
            person.id
        )));
    }
    if person.name.trim().is_empty() {
        return Err(StoreError::InvalidReference(format!(
            "person {} has an empty name",
            person.id
        )));
    }
    Ok(())
}

/// One shape of a layer import, serialized before it reaches the writer thread.
pub struct ShapeRow {
    pub area: Area,
    pub geometry_json: String,
    pub approximate: bool,
}

/// The area tree after importing a layer: new codes added, existing names updated. Refuses shapes of
/// another level, duplicate codes, and codes whose parent is not in the tree.
pub fn layer_areas(
    reference: &Reference,
    level: AreaLevel,
    shapes: &[ShapeRow],
) -> Result<(AreaTree, LayerSummary), StoreError> {
    let mut areas: BTreeMap<AreaCode, Area> = reference
        .areas
        .iter()
        .map(|a| (a.code.clone(), a.clone()))
        .collect();
    let mut summary = LayerSummary {
        level: Some(level),
        shapes: shapes.len(),
        ..LayerSummary::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for shape in shapes {
        let code = &shape.area.code;
        if code.level() != level {
            return Err(StoreError::InvalidReference(format!(
                "{code} is a {} code, but this layer holds {level}s",
                code.level()
            )));
        }
        if !seen.insert(code.clone()) {
            return Err(StoreError::InvalidReference(format!(
                "{code} appears twice in the layer"
            )));
        }
        match areas.get(code) {
            None => summary.added_areas += 1,
            Some(existing) if existing.name != shape.area.name => summary.renamed_areas += 1,
            Some(_) => {}
        }
        areas.insert(code.clone(), shape.area.clone());
    }
    let tree = AreaTree::new(areas.into_values()).map_err(|e| {
        StoreError::InvalidReference(format!("the layer does not fit the area tree: {e}"))
    })?;
    Ok((tree, summary))
}

/// Writes a layer: upserts its areas and replaces the level's shapes.
pub fn save_layer(
    transaction: &Transaction<'_>,
    level: AreaLevel,
    shapes: &[ShapeRow],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    transaction.execute(
        "DELETE FROM area_shapes WHERE level = ?1",
        params![level.as_str()],
    )?;
    let at = time_text(&now);
    for shape in shapes {
        let area = &shape.area;
        transaction
            .prepare_cached(
                "INSERT INTO areas (code, name, level, parent, generated) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, generated = excluded.generated",
            )?
            .execute(params![
                area.code.as_str(),
                area.name,
                level.as_str(),
                area.code.parent().map(|p| p.to_string()),
                area.generated as i64,
            ])?;
        transaction
            .prepare_cached(
                "INSERT INTO area_shapes (code, level, geometry, approximate, imported_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                area.code.as_str(),
                level.as_str(),
                shape.geometry_json,
                shape.approximate as i64,
                at,
            ])?;
    }
    Ok(())
}

/// The stored shapes of one level, with their areas.
pub fn load_layer(connection: &Connection, level: AreaLevel) -> Result<Vec<GridShape>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT s.code, a.name, a.generated, s.geometry, s.approximate \
         FROM area_shapes s JOIN areas a ON a.code = s.code WHERE s.level = ?1 ORDER BY s.code",
    )?;
    let mut rows = statement.query(params![level.as_str()])?;
    let mut shapes = Vec::new();
    while let Some(row) = rows.next()? {
        let code: String = row.get(0)?;
        let geometry: String = row.get(3)?;
        shapes.push(GridShape {
            area: Area {
                code: AreaCode::parse(&code).map_err(corrupt)?,
                name: row.get(1)?,
                generated: row.get::<_, i64>(2)? != 0,
            },
            geometry: parse_geometry(&code, &geometry).map_err(corrupt)?,
            approximate: row.get::<_, i64>(4)? != 0,
        });
    }
    Ok(shapes)
}

/// Deletes the shapes of areas that are no longer in the tree; returns the levels that lost shapes.
pub fn drop_orphan_shapes(transaction: &Transaction<'_>) -> Result<Vec<AreaLevel>, StoreError> {
    let mut statement = transaction.prepare(
        "DELETE FROM area_shapes WHERE code NOT IN (SELECT code FROM areas) RETURNING level",
    )?;
    let mut rows = statement.query([])?;
    let mut levels = Vec::new();
    while let Some(row) = rows.next()? {
        let level: String = row.get(0)?;
        if let Some(level) = AreaLevel::parse(&level) {
            if !levels.contains(&level) {
                levels.push(level);
            }
        }
    }
    Ok(levels)
}
