//! The SQLite backend: one file in WAL mode, one writer thread with group commit, a few read
//! connections used from blocking tasks.
//!
//! Durability: `synchronous = FULL` makes each commit fsync the WAL, and a write is answered only
//! after its commit returned, so an acknowledged report survives a crash or power cut.

mod access;
mod opinions;
mod projects;
mod rows;
mod supervision;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onegrid_core::history::replay;
use onegrid_core::{Actor, Case, CaseId, Command, Event, NewReport, Person, PersonId, Reference};
use rusqlite::{params_from_iter, Connection, OpenFlags};
use rusqlite_migration::{Migrations, M};
use tokio::sync::{mpsc, oneshot};

use crate::grid::geometry_json;
use crate::{
    broken_case, ApiKey, BrokenCase, CaseFilter, CellIndex, Delivery, FeedEvent, GridShape,
    LayerSummary, Photo, Progress, Session, Store, StoreError, VerifyReport, Webhook,
};
use onegrid_core::area::AreaLevel;
use onegrid_geo::index::{IndexOptions, SharedIndex};
use writer::{WriteRequest, Writer};

pub use rows::time_text;

/// Read connections kept open. Reads are short; two cores rarely need more.
const READERS: usize = 4;
/// Requests that may wait for the writer before senders are slowed down.
const QUEUE: usize = 65_536;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/sqlite/0001_initial.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0002_events_rowid.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0003_area_shapes.sql")),
        M::up(include_str!("../../migrations/sqlite/0004_access.sql")),
        M::up(include_str!("../../migrations/sqlite/0005_supervision.sql")),
        M::up(include_str!("../../migrations/sqlite/0006_projects.sql")),
        M::up(include_str!("../../migrations/sqlite/0007_opinions.sql")),
    ])
}

fn configure(connection: &Connection) -> Result<(), StoreError> {
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

pub struct SqliteStore {
    path: String,
    sender: mpsc::Sender<WriteRequest>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    reference: Arc<RwLock<Arc<Reference>>>,
    /// The point → cell index over the stored cell layer; swapped whole when a layer is imported.
    cells: Arc<SharedIndex>,
    /// How the index is built (the snapping distance for points just outside every cell).
    index_options: IndexOptions,
    /// The feed position of the last committed event, moved by the writer after each commit.
    feed_head: tokio::sync::watch::Receiver<u64>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` and runs pending migrations.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, IndexOptions::default())
    }

    /// Opens the database with other index options, e.g. a district's own snapping distance.
    pub fn open_with(
        path: impl AsRef<Path>,
        index_options: IndexOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path_text = path.as_ref().display().to_string();
        let open_error = |reason: String| StoreError::Open {
            path: path_text.clone(),
            reason,
        };
        let mut connection =
            Connection::open(path.as_ref()).map_err(|e| open_error(e.to_string()))?;
        configure(&connection).map_err(|e| open_error(e.to_string()))?;
        migrations()
            .to_latest(&mut connection)
            .map_err(|e| open_error(format!("migration failed: {e}")))?;
        let reference = rows::load_reference(&connection)?;
        let reference = Arc::new(RwLock::new(Arc::new(reference)));
        let cell_shapes = rows::load_layer(&connection, AreaLevel::Cell)?;
        let cells = Arc::new(SharedIndex::default());
        cells.replace(build_index(&cell_shapes, index_options)?.map(Arc::new));

        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path.as_ref(),
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| open_error(e.to_string()))?;
            reader.busy_timeout(std::time::Duration::from_secs(10))?;
            readers.push(Mutex::new(reader));
        }

        let (sender, receiver) = mpsc::channel(QUEUE);
        let (feed_sender, feed_head) = tokio::sync::watch::channel(0);
        let writer = Writer::new(
            connection,
            reference.clone(),
            cells.clone(),
            index_options,
            feed_sender,
        )?;
        std::thread::Builder::new()
            .name("onegrid-sqlite-writer".to_string())
            .spawn(move || writer.run(receiver))
            .map_err(|e| open_error(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            path: path_text,
            sender,
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            reference,
            cells,
            index_options,
            feed_head,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    async fn write<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> WriteRequest,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(make(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| {
            StoreError::Storage("the write was not committed (the batch failed)".to_string())
        })?
    }

    /// Runs a small write (see `writer::SideWork`) in the writer's next batch.
    async fn side<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let answer = self
            .write(|reply| WriteRequest::Side {
                work: Box::new(move |connection| {
                    work(connection).map(|value| Box::new(value) as Box<dyn std::any::Any + Send>)
                }),
                reply,
            })
            .await?;
        answer.downcast::<T>().map(|value| *value).map_err(|_| {
            StoreError::Storage("a side write answered with the wrong type".to_string())
        })
    }

    /// Runs `work` on a read connection in a blocking task.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let index = self.next_reader.fetch_add(1, Ordering::Relaxed) % READERS;
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let guard = match readers[index].lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            work(&guard)
        })
        .await
        .map_err(|e| StoreError::Storage(format!("read task failed: {e}")))?
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn reference(&self) -> Arc<Reference> {
        match self.reference.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    async fn put_reference(&self, reference: Reference) -> Result<(), StoreError> {
        self.write(|reply| WriteRequest::PutReference {
            reference: Box::new(reference),
            reply,
        })
        .await
    }

    async fn put_person(&self, person: Person) -> Result<(), StoreError> {
        self.write(|reply| WriteRequest::PutPerson {
            person: Box::new(person),
            reply,
        })
        .await
    }

    async fn report(
        &self,
        report: NewReport,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Case, StoreError> {
        let actor = actor.clone();
        self.write(|reply| WriteRequest::Report {
            report: Box::new(report),
            actor,
            now,
            reply,
        })
        .await
    }

    async fn act(
        &self,
        id: CaseId,
        expected_version: Option<u64>,
        command: Command,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Case, StoreError> {
        let actor = actor.clone();
        self.write(|reply| WriteRequest::Act {
            id,
            expected_version,
            command: Box::new(command),
            actor,
            now,
            reply,
        })
        .await
    }

    async fn merge(
        &self,
        source: CaseId,
        target: CaseId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Case, Case), StoreError> {
        let actor = actor.clone();
        self.write(|reply| WriteRequest::Merge {
            source,
            target,
            actor,
            now,
            reply,
        })
        .await
    }

    async fn case(&self, id: CaseId) -> Result<Case, StoreError> {
        self.read(move |connection| {
            rows::load_case(connection, id)?.ok_or(StoreError::CaseNotFound(id))
        })
        .await
    }

    async fn history(&self, id: CaseId) -> Result<Vec<Event>, StoreError> {
        self.read(move |connection| {
            let events = rows::load_history(connection, id)?;
            if events.is_empty() {
                return Err(StoreError::CaseNotFound(id));
            }
            Ok(events)
        })
        .await
    }

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<Case>, StoreError> {
        let filter = filter.clone();
        self.read(move |connection| list_cases(connection, &filter))
            .await
    }

    async fn count_cases(&self) -> Result<u64, StoreError> {
        self.read(|connection| {
            let count: i64 =
                connection.query_row("SELECT COUNT(*) FROM cases", [], |r| r.get(0))?;
            Ok(count as u64)
        })
        .await
    }

    async fn histories(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Vec<Event>>, StoreError> {
        self.read(move |connection| {
            let mut statement = connection.prepare(
                "SELECT e.body FROM events e JOIN cases c ON c.id = e.case_id \
                 WHERE c.reported_at >= ?1 AND c.reported_at < ?2 ORDER BY e.case_id, e.seq",
            )?;
            let bodies = statement
                .query_map([rows::time_text(&from), rows::time_text(&to)], |row| {
                    row.get::<_, String>(0)
                })?;
            let mut histories: Vec<Vec<Event>> = Vec::new();
            for body in bodies {
                let event = rows::event_from_body(&body?)?;
                match histories.last_mut() {
                    Some(last) if last.first().map(|e| e.case_id) == Some(event.case_id) => {
                        last.push(event)
                    }
                    _ => histories.push(vec![event]),
                }
            }
            Ok(histories)
        })
        .await
    }

    async fn verify(&self, progress: Progress) -> Result<VerifyReport, StoreError> {
        // Verification reads the whole history, on its own connection so that reads go on meanwhile.
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let connection = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            verify(&connection, &*progress)
        })
        .await
        .map_err(|e| StoreError::Storage(format!("verify task failed: {e}")))?
    }

    async fn put_grid_layer(
        &self,
        level: AreaLevel,
        shapes: Vec<GridShape>,
        now: DateTime<Utc>,
    ) -> Result<LayerSummary, StoreError> {
        // Build the new index before committing, so that a layer the index cannot take is refused
        // before anything is stored. The writer swaps it in when the layer commits, so reports decided
        // after that commit are checked against the new layer and those before against the old one.
        let index = if level == AreaLevel::Cell {
            let owned = shapes.clone();
            let options = self.index_options;
            let built = tokio::task::spawn_blocking(move || build_index(&owned, options))
                .await
                .map_err(|e| StoreError::Storage(format!("index build failed: {e}")))??;
            Some(built.map(Arc::new))
        } else {
            None
        };
        let rows = shapes
            .into_iter()
            .map(|shape| rows::ShapeRow {
                geometry_json: geometry_json(&shape.geometry),
                area: shape.area,
                approximate: shape.approximate,
            })
            .collect();
        let summary = self
            .write(|reply| WriteRequest::PutLayer {
                level,
                shapes: rows,
                index,
                now,
                reply,
            })
            .await?;
        Ok(summary)
    }

    async fn grid_layer(&self, level: AreaLevel) -> Result<Vec<GridShape>, StoreError> {
        self.read(move |connection| rows::load_layer(connection, level))
            .await
    }

    async fn set_password(
        &self,
        person: &PersonId,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let person = person.clone();
        self.side(move |c| access::set_password(c, &person, &password_hash, now))
            .await
    }

    async fn password_hash(&self, person: &PersonId) -> Result<Option<String>, StoreError> {
        let person = person.clone();
        self.read(move |c| access::password_hash(c, &person)).await
    }

    async fn put_session(&self, session: Session) -> Result<(), StoreError> {
        self.side(move |c| access::put_session(c, &session)).await
    }

    async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let token_hash = token_hash.to_string();
        self.read(move |c| access::session(c, &token_hash)).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let token_hash = token_hash.to_string();
        self.side(move |c| access::delete_session(c, &token_hash))
            .await
    }

    async fn create_api_key(
        &self,
        name: &str,
        key_hash: String,
        now: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError> {
        let name = name.to_string();
        self.side(move |c| access::create_api_key(c, &name, &key_hash, now))
            .await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.read(access::api_keys).await
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let key_hash = key_hash.to_string();
        self.read(move |c| access::api_key_by_hash(c, &key_hash))
            .await
    }

    async fn revoke_api_key(&self, id: u64, now: DateTime<Utc>) -> Result<ApiKey, StoreError> {
        self.side(move |c| access::revoke_api_key(c, id, now)).await
    }

    async fn put_photo(&self, photo: Photo, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.side(move |c| access::put_photo(c, &photo, now)).await
    }

    async fn photo(&self, hash: &str) -> Result<Option<Photo>, StoreError> {
        let hash = hash.to_string();
        self.read(move |c| access::photo(c, &hash)).await
    }

    async fn photo_exists(&self, hash: &str) -> Result<bool, StoreError> {
        let hash = hash.to_string();
        self.read(move |c| access::photo_exists(c, &hash)).await
    }

    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        self.read(move |c| access::feed(c, after, limit)).await
    }

    fn feed_head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.feed_head.clone()
    }

    async fn create_webhook(
        &self,
        owner: &PersonId,
        url: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Webhook, StoreError> {
        let (owner, url, secret) = (owner.clone(), url.to_string(), secret.to_string());
        self.side(move |c| access::create_webhook(c, &owner, &url, &secret, now))
            .await
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        self.read(access::webhooks).await
    }

    async fn deactivate_webhook(&self, id: u64) -> Result<(), StoreError> {
        self.side(move |c| access::deactivate_webhook(c, id)).await
    }

    async fn record_delivery(
        &self,
        delivery: Delivery,
        cursor: Option<u64>,
    ) -> Result<(), StoreError> {
        self.side(move |c| access::record_delivery(c, &delivery, cursor))
            .await
    }

    async fn deliveries(&self, webhook: u64, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.read(move |c| access::deliveries(c, webhook, limit))
            .await
    }

    fn projects(&self) -> &dyn crate::projects::ProjectStore {
        self
    }

    fn supervision(&self) -> &dyn crate::supervision::SupervisionStore {
        self
    }

    fn opinions(&self) -> &dyn crate::opinions::OpinionStore {
        self
    }

    fn cell_index(&self) -> Option<Arc<CellIndex>> {
        self.cells.current()
    }
}

fn list_cases(connection: &Connection, filter: &CaseFilter) -> Result<Vec<Case>, StoreError> {
    let mut conditions: Vec<String> = Vec::new();
    // Values are bound with their SQL type: an integer bound as text would defeat the rowid range
    // and convert every row (a full scan per page).
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut push = |condition: &str, value: String| {
        values.push(rusqlite::types::Value::Text(value));
        conditions.push(condition.replace("?N", &format!("?{}", values.len())));
    };
    if let Some(area) = &filter.area {
        // A prefix range on the indexed cell code: the subtree of `area`.
        push("cell >= ?N", area.to_string());
        push("cell < ?N", format!("{area}~"));
    }
    if let Some(state) = filter.state {
        push("state = ?N", state.as_str().to_string());
    }
    if let Some(category) = &filter.category {
        push("category = ?N", category.to_string());
    }
    if let Some(department) = &filter.department {
        push("department = ?N", department.to_string());
    }
    if let Some(tier) = filter.tier {
        push("tier = ?N", tier.as_str().to_string());
    }
    if let Some(channel) = filter.channel {
        push("channel = ?N", channel.as_str().to_string());
    }
    if let Some(from) = &filter.reported_from {
        push("reported_at >= ?N", rows::time_text(from));
    }
    if let Some(to) = &filter.reported_to {
        push("reported_at < ?N", rows::time_text(to));
    }
    if let Some(roots) = &filter.within {
        if roots.is_empty() {
            conditions.push("0".to_string());
        }
        let mut any = Vec::new();
        for root in roots {
            values.push(rusqlite::types::Value::Text(root.to_string()));
            let low = values.len();
            values.push(rusqlite::types::Value::Text(format!("{root}~")));
            // `+cell`: the scope must not steer the plan onto the cell index. A scope is usually
            // wide (a street, the district), so walking ids in order and skipping the rest beats
            // reading the whole scope through the index and sorting it for every page.
            any.push(format!("(+cell >= ?{low} AND +cell < ?{})", values.len()));
        }
        if !any.is_empty() {
            conditions.push(format!("({})", any.join(" OR ")));
        }
    }
    let mut push = |condition: &str, value: String| {
        values.push(rusqlite::types::Value::Text(value));
        conditions.push(condition.replace("?N", &format!("?{}", values.len())));
    };
    if let Some(department) = &filter.involving_department {
        push(
            "(department = ?N OR EXISTS (SELECT 1 FROM json_each(body, '$.co_departments')              WHERE value = ?N))",
            department.to_string(),
        );
    }
    if let Some(person) = &filter.reporter {
        push(
            "EXISTS (SELECT 1 FROM json_each(body, '$.reporters') r              WHERE json_extract(r.value, '$.person') = ?N)",
            person.to_string(),
        );
    }
    if let Some(text) = &filter.text {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        push(
            "(json_extract(body, '$.title') LIKE ?N ESCAPE '\\' \
             OR json_extract(body, '$.description') LIKE ?N ESCAPE '\\')",
            format!("%{escaped}%"),
        );
    }
    if let Some(after) = filter.after {
        values.push(rusqlite::types::Value::Integer(after.0 as i64));
        conditions.push(format!("id > ?{}", values.len()));
    }
    let limit = filter.limit.unwrap_or(100).min(10_000);
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!("SELECT body FROM cases {where_clause} ORDER BY id LIMIT {limit}");
    let mut statement = connection.prepare(&sql)?;
    let bodies = statement.query_map(params_from_iter(values.iter()), |row| {
        row.get::<_, String>(0)
    })?;
    let mut cases = Vec::new();
    for body in bodies {
        cases.push(rows::case_from_body(&body?)?);
    }
    Ok(cases)
}

fn verify(
    connection: &Connection,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<VerifyReport, StoreError> {
    let total: i64 = connection.query_row("SELECT COUNT(*) FROM cases", [], |r| r.get(0))?;
    let mut report = VerifyReport::default();
    let mut statement =
        connection.prepare("SELECT case_id, body FROM events ORDER BY case_id, seq")?;
    let mut rows_iter = statement.query([])?;
    let mut current: Option<CaseId> = None;
    let mut events: Vec<Event> = Vec::new();
    let mut unreadable: Option<String> = None;
    let finish = |id: CaseId,
                  events: &mut Vec<Event>,
                  unreadable: &mut Option<String>,
                  report: &mut VerifyReport|
     -> Result<(), StoreError> {
        report.cases += 1;
        if let Some(problem) = unreadable.take() {
            report.broken.push(BrokenCase {
                case_id: id,
                problem,
            });
        } else {
            match replay(id, events) {
                Err(error) => report.broken.push(broken_case(id, &error)),
                Ok(rebuilt) => match rows::load_case(connection, id)? {
                    Some(stored) if stored == rebuilt => {
                        let columns = rows::load_case_columns(connection, id)?;
                        if columns != Some(rows::case_columns(&rebuilt)) {
                            report.broken.push(BrokenCase {
                                case_id: id,
                                problem: format!(
                                    "case {id}: the stored case's list columns (state, cell, \
                                     department…) differ from the replay of its history"
                                ),
                            });
                        }
                    }
                    Some(_) => report.broken.push(BrokenCase {
                        case_id: id,
                        problem: format!(
                            "case {id}: the stored case differs from the replay of its history"
                        ),
                    }),
                    None => report.broken.push(BrokenCase {
                        case_id: id,
                        problem: format!("case {id}: history exists but the case row is missing"),
                    }),
                },
            }
        }
        events.clear();
        progress(report.cases, total as u64);
        Ok(())
    };
    while let Some(row) = rows_iter.next()? {
        let id = CaseId(row.get::<_, i64>(0)? as u64);
        let body: String = row.get(1)?;
        if current.is_some_and(|c| c != id) {
            if let Some(previous) = current {
                finish(previous, &mut events, &mut unreadable, &mut report)?;
            }
        }
        current = Some(id);
        report.events += 1;
        match rows::event_from_body(&body) {
            Ok(event) => events.push(event),
            Err(error) => {
                if unreadable.is_none() {
                    unreadable = Some(format!(
                        "case {id}, event {}: unreadable ({error})",
                        events.len() + 1
                    ));
                }
            }
        }
    }
    if let Some(previous) = current {
        finish(previous, &mut events, &mut unreadable, &mut report)?;
    }
    // A case row without any history means its events were deleted.
    let orphans: Vec<i64> = connection
        .prepare("SELECT id FROM cases WHERE id NOT IN (SELECT DISTINCT case_id FROM events)")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for id in orphans {
        report.cases += 1;
        report.broken.push(BrokenCase {
            case_id: CaseId(id as u64),
            problem: format!("case {id}: its whole history is missing"),
        });
    }
    Ok(report)
}

/// The point → cell index over a cell layer (None for an empty layer).
pub(crate) fn build_index(
    shapes: &[GridShape],
    options: IndexOptions,
) -> Result<Option<CellIndex>, StoreError> {
    if shapes.is_empty() {
        return Ok(None);
    }
    let cells: Vec<(String, geo::MultiPolygon<f64>)> = shapes
        .iter()
        .map(|s| (s.area.code.to_string(), s.geometry.clone()))
        .collect();
    CellIndex::build(&cells, options)
        .map(Some)
        .map_err(|e| StoreError::InvalidReference(format!("the cell layer cannot be indexed: {e}")))
}
