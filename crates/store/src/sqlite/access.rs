//! SQL of the access tables (see `crate::access`): each function runs on the connection it is given,
//! a read connection or the writer's open transaction.

use chrono::{DateTime, Utc};
use onegrid_core::{AreaCode, CaseId, DepartmentCode, PersonId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::rows::{corrupt, event_from_body, time_text};
use crate::access::{ApiKey, Delivery, FeedEvent, Photo, Session, Webhook};
use crate::StoreError;

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(format!("time {text:?}: {e}")))
}

fn person(text: &str) -> Result<PersonId, StoreError> {
    PersonId::parse(text).map_err(|e| corrupt(e.to_string()))
}

pub fn set_password(
    connection: &Connection,
    person: &PersonId,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO credentials (person, password_hash, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (person) DO UPDATE SET password_hash = excluded.password_hash, \
         updated_at = excluded.updated_at",
        params![person.as_str(), hash, time_text(&now)],
    )?;
    Ok(())
}

pub fn password_hash(
    connection: &Connection,
    person: &PersonId,
) -> Result<Option<String>, StoreError> {
    Ok(connection
        .query_row(
            "SELECT password_hash FROM credentials WHERE person = ?1",
            params![person.as_str()],
            |row| row.get(0),
        )
        .optional()?)
}

pub fn put_session(connection: &Connection, session: &Session) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO sessions (token_hash, person, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            session.token_hash,
            session.person.as_str(),
            time_text(&session.created_at),
            time_text(&session.expires_at)
        ],
    )?;
    // Expired sessions are of no use to anyone; drop them as new ones arrive.
    connection.execute(
        "DELETE FROM sessions WHERE expires_at < ?1",
        params![time_text(&session.created_at)],
    )?;
    Ok(())
}

pub fn session(connection: &Connection, token_hash: &str) -> Result<Option<Session>, StoreError> {
    let row: Option<(String, String, String)> = connection
        .query_row(
            "SELECT person, created_at, expires_at FROM sessions WHERE token_hash = ?1",
            params![token_hash],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    row.map(|(who, created, expires)| {
        Ok(Session {
            token_hash: token_hash.to_string(),
            person: person(&who)?,
            created_at: parse_time(&created)?,
            expires_at: parse_time(&expires)?,
        })
    })
    .transpose()
}

pub fn delete_session(connection: &Connection, token_hash: &str) -> Result<bool, StoreError> {
    Ok(connection.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        params![token_hash],
    )? > 0)
}

const API_KEY_COLUMNS: &str = "id, name, key_hash, created_at, revoked_at";

fn api_key_row(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, Option<String>)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn api_key(
    (id, name, key_hash, created, revoked): (i64, String, String, String, Option<String>),
) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: id as u64,
        name,
        key_hash,
        created_at: parse_time(&created)?,
        revoked_at: revoked.as_deref().map(parse_time).transpose()?,
    })
}

pub fn create_api_key(
    connection: &Connection,
    name: &str,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<ApiKey, StoreError> {
    connection.execute(
        "INSERT INTO api_keys (name, key_hash, created_at) VALUES (?1, ?2, ?3)",
        params![name, key_hash, time_text(&now)],
    )?;
    Ok(ApiKey {
        id: connection.last_insert_rowid() as u64,
        name: name.to_string(),
        key_hash: key_hash.to_string(),
        created_at: now,
        revoked_at: None,
    })
}

pub fn api_keys(connection: &Connection) -> Result<Vec<ApiKey>, StoreError> {
    let mut statement = connection.prepare(&format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY id"
    ))?;
    let rows = statement.query_map([], api_key_row)?;
    rows.map(|row| api_key(row?)).collect()
}

pub fn api_key_by_hash(
    connection: &Connection,
    key_hash: &str,
) -> Result<Option<ApiKey>, StoreError> {
    connection
        .query_row(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"),
            params![key_hash],
            api_key_row,
        )
        .optional()?
        .map(api_key)
        .transpose()
}

pub fn revoke_api_key(
    connection: &Connection,
    id: u64,
    now: DateTime<Utc>,
) -> Result<ApiKey, StoreError> {
    connection.execute(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        params![id as i64, time_text(&now)],
    )?;
    connection
        .query_row(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?1"),
            params![id as i64],
            api_key_row,
        )
        .optional()?
        .map(api_key)
        .transpose()?
        .ok_or(StoreError::NotFound {
            what: "API key",
            id: id.to_string(),
        })
}

pub fn put_photo(
    connection: &Connection,
    photo: &Photo,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO photos (hash, mime, bytes, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (hash) DO NOTHING",
        params![photo.hash, photo.mime, photo.bytes, time_text(&now)],
    )?;
    Ok(())
}

pub fn photo(connection: &Connection, hash: &str) -> Result<Option<Photo>, StoreError> {
    Ok(connection
        .query_row(
            "SELECT mime, bytes FROM photos WHERE hash = ?1",
            params![hash],
            |row| {
                Ok(Photo {
                    hash: hash.to_string(),
                    mime: row.get(0)?,
                    bytes: row.get(1)?,
                })
            },
        )
        .optional()?)
}

pub fn photo_exists(connection: &Connection, hash: &str) -> Result<bool, StoreError> {
    Ok(connection
        .query_row(
            "SELECT 1 FROM photos WHERE hash = ?1",
            params![hash],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub fn feed(
    connection: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<FeedEvent>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT e.rowid, e.body, c.cell, c.department, \
         (SELECT json_group_array(json_extract(r.value, '$.person')) \
          FROM json_each(c.body, '$.reporters') r \
          WHERE json_extract(r.value, '$.person') IS NOT NULL) \
         FROM events e JOIN cases c ON c.id = e.case_id \
         WHERE e.rowid > ?1 ORDER BY e.rowid LIMIT ?2",
    )?;
    let rows = statement.query_map(params![after as i64, limit as i64], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
            row.get::<_, String>(4)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (position, body, cell, department, reporters) = row?;
        let event = event_from_body(&body)?;
        let reporters: Vec<String> =
            serde_json::from_str(&reporters).map_err(|e| corrupt(format!("reporters: {e}")))?;
        events.push(FeedEvent {
            position: position as u64,
            case_id: CaseId(event.case_id.0),
            cell: AreaCode::parse(&cell).map_err(corrupt)?,
            department: department
                .as_deref()
                .map(DepartmentCode::parse)
                .transpose()
                .map_err(corrupt)?,
            reporters: reporters
                .iter()
                .map(|p| person(p))
                .collect::<Result<_, _>>()?,
            event,
        });
    }
    Ok(events)
}

const WEBHOOK_COLUMNS: &str = "id, owner, url, secret, created_at, active, cursor";

fn webhook(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, String, bool, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn to_webhook(
    (id, owner, url, secret, created, active, cursor): (
        i64,
        String,
        String,
        String,
        String,
        bool,
        i64,
    ),
) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: id as u64,
        owner: person(&owner)?,
        url,
        secret,
        created_at: parse_time(&created)?,
        active,
        cursor: cursor as u64,
    })
}

pub fn create_webhook(
    connection: &Connection,
    owner: &PersonId,
    url: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Webhook, StoreError> {
    let head: Option<i64> =
        connection.query_row("SELECT MAX(rowid) FROM events", [], |row| row.get(0))?;
    connection.execute(
        "INSERT INTO webhooks (owner, url, secret, created_at, active, cursor) \
         VALUES (?1, ?2, ?3, ?4, 1, ?5)",
        params![
            owner.as_str(),
            url,
            secret,
            time_text(&now),
            head.unwrap_or(0)
        ],
    )?;
    let id = connection.last_insert_rowid();
    to_webhook(connection.query_row(
        &format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1"),
        params![id],
        webhook,
    )?)
}

pub fn webhooks(connection: &Connection) -> Result<Vec<Webhook>, StoreError> {
    let mut statement = connection.prepare(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"
    ))?;
    let rows = statement.query_map([], webhook)?;
    rows.map(|row| to_webhook(row?)).collect()
}

pub fn deactivate_webhook(connection: &Connection, id: u64) -> Result<(), StoreError> {
    let changed = connection.execute(
        "UPDATE webhooks SET active = 0 WHERE id = ?1",
        params![id as i64],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "webhook",
            id: id.to_string(),
        });
    }
    Ok(())
}

pub fn record_delivery(
    connection: &Connection,
    delivery: &Delivery,
    cursor: Option<u64>,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO deliveries (webhook, event_seq, attempt, at, status, error, delivered) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            delivery.webhook as i64,
            delivery.event_position as i64,
            delivery.attempt,
            time_text(&delivery.at),
            delivery.status,
            delivery.error,
            delivery.delivered
        ],
    )?;
    if let Some(cursor) = cursor {
        connection.execute(
            "UPDATE webhooks SET cursor = MAX(cursor, ?2) WHERE id = ?1",
            params![delivery.webhook as i64, cursor as i64],
        )?;
    }
    Ok(())
}

pub fn deliveries(
    connection: &Connection,
    webhook: u64,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT event_seq, attempt, at, status, error, delivered FROM deliveries \
         WHERE webhook = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![webhook as i64, limit as i64], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, u32>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<u16>>(3)?,
            row.get::<_, Option<String>>(4)?,
            row.get::<_, bool>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (position, attempt, at, status, error, delivered) = row?;
        out.push(Delivery {
            webhook,
            event_position: position as u64,
            attempt,
            at: parse_time(&at)?,
            status,
            error,
            delivered,
        });
    }
    Ok(out)
}
