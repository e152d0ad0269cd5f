//! The single writer thread and its group commit.
//!
//! SQLite allows one writer at a time, and a durable commit costs an fsync. So every write request
//! is queued to this one thread, which takes whatever is waiting (up to `MAX_BATCH`), applies each
//! request in one transaction, commits once, and only then answers every caller. Under load many
//! reports share one fsync; a lone report still commits at once, without waiting for company.
//!
//! A request refused by the rules writes nothing and does not disturb the rest of its batch: the
//! rules run on the pure core before anything is written. A storage failure rolls back the whole
//! batch and every caller in it gets the error, so no caller is told "done" for lost work.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use onegrid_core::workflow::apply_sealed;
use onegrid_core::{
    merge, Actor, Case, CaseId, Command, NewReport, Person, Reference, WorkflowError,
};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::rows;
use crate::{CellIndex, LayerSummary, StoreError};
use onegrid_core::area::AreaLevel;
use onegrid_geo::index::{IndexOptions, SharedIndex};

/// Most requests committed in one transaction.
const MAX_BATCH: usize = 4096;
/// Longest a batch waits for more requests when writers are concurrent.
const LINGER_MAX: Duration = Duration::from_micros(300);
/// A batch stops waiting when no request arrived for this long.
const LINGER_GAP: Duration = Duration::from_micros(20);

pub type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A small write outside the case workflow (accounts, sessions, photos, webhooks…). It runs inside
/// the batch's transaction under a savepoint, so its failure undoes only itself; its answer waits
/// for the commit like every other write.
pub type SideWork = Box<dyn FnOnce(&Connection) -> Result<Box<dyn Any + Send>, StoreError> + Send>;

pub enum WriteRequest {
    Report {
        report: Box<NewReport>,
        actor: Actor,
        now: DateTime<Utc>,
        reply: Reply<Case>,
    },
    Act {
        id: CaseId,
        expected_version: Option<u64>,
        command: Box<Command>,
        actor: Actor,
        now: DateTime<Utc>,
        reply: Reply<Case>,
    },
    Merge {
        source: CaseId,
        target: CaseId,
        actor: Actor,
        now: DateTime<Utc>,
        reply: Reply<(Case, Case)>,
    },
    PutReference {
        reference: Box<Reference>,
        reply: Reply<()>,
    },
    PutPerson {
        person: Box<Person>,
        reply: Reply<()>,
    },
    Side {
        work: SideWork,
        reply: Reply<Box<dyn Any + Send>>,
    },
    PutLayer {
        level: AreaLevel,
        shapes: Vec<rows::ShapeRow>,
        /// For the cell layer: its index (None for an empty layer), swapped in on commit.
        index: Option<Option<Arc<CellIndex>>>,
        now: DateTime<Utc>,
        reply: Reply<LayerSummary>,
    },
}

/// A decided request whose answer waits for the commit.
// Pending answers live only for one batch; boxing the cases would cost an allocation per report.
#[allow(clippy::large_enum_variant)]
enum Pending {
    Case(Reply<Case>, Result<Case, StoreError>),
    Pair(Reply<(Case, Case)>, Result<(Case, Case), StoreError>),
    Unit(Reply<()>, Result<(), StoreError>),
    Layer(Reply<LayerSummary>, Result<LayerSummary, StoreError>),
    Side(
        Reply<Box<dyn Any + Send>>,
        Result<Box<dyn Any + Send>, StoreError>,
    ),
}

impl Pending {
    fn fail(self, error: &str) {
        // A caller that gave up waiting has dropped its receiver; nothing to tell it.
        let storage = || StoreError::Storage(error.to_string());
        match self {
            Pending::Case(reply, _) => drop(reply.send(Err(storage()))),
            Pending::Pair(reply, _) => drop(reply.send(Err(storage()))),
            Pending::Unit(reply, _) => drop(reply.send(Err(storage()))),
            Pending::Layer(reply, _) => drop(reply.send(Err(storage()))),
            Pending::Side(reply, _) => drop(reply.send(Err(storage()))),
        }
    }

    fn answer(self) {
        match self {
            Pending::Case(reply, result) => drop(reply.send(result)),
            Pending::Pair(reply, result) => drop(reply.send(result)),
            Pending::Unit(reply, result) => drop(reply.send(result)),
            Pending::Layer(reply, result) => drop(reply.send(result)),
            Pending::Side(reply, result) => drop(reply.send(result)),
        }
    }
}

pub struct Writer {
    connection: Connection,
    reference: Arc<RwLock<Arc<Reference>>>,
    /// The point → cell index reports are checked against; replaced only here, on commit.
    cells: Arc<SharedIndex>,
    index_options: IndexOptions,
    next_id: u64,
    /// The feed position (events.rowid) of the last committed event, for live feeds.
    feed_head: tokio::sync::watch::Sender<u64>,
}

/// The cell index as seen by requests of one batch: the committed one, or one a request of the batch
/// replaced (taking effect for the requests after it, and for everyone once the batch commits).
struct BatchCells {
    base: Option<Arc<CellIndex>>,
    replaced: Option<Option<Arc<CellIndex>>>,
}

impl BatchCells {
    fn current(&self) -> Option<&Arc<CellIndex>> {
        match &self.replaced {
            Some(replaced) => replaced.as_ref(),
            None => self.base.as_ref(),
        }
    }
}

impl Writer {
    pub fn new(
        connection: Connection,
        reference: Arc<RwLock<Arc<Reference>>>,
        cells: Arc<SharedIndex>,
        index_options: IndexOptions,
        feed_head: tokio::sync::watch::Sender<u64>,
    ) -> Result<Writer, StoreError> {
        let next_id = next_case_id(&connection)?;
        feed_head.send_replace(last_event_position(&connection)?);
        Ok(Writer {
            connection,
            reference,
            cells,
            index_options,
            next_id,
            feed_head,
        })
    }

    /// Runs until every sender is dropped.
    pub fn run(mut self, mut receiver: mpsc::Receiver<WriteRequest>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut last_batch_len = 0;
        while let Some(first) = receiver.blocking_recv() {
            batch.push(first);
            drain_queued(&mut receiver, &mut batch);
            if last_batch_len > 1 {
                linger(&mut receiver, &mut batch);
            }
            last_batch_len = batch.len();
            tracing::trace!(requests = last_batch_len, "commit batch");
            self.commit_batch(std::mem::take(&mut batch));
        }
    }

    fn current_reference(&self) -> Arc<Reference> {
        match self.reference.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn commit_batch(&mut self, batch: Vec<WriteRequest>) {
        let mut pending = Vec::new();
        let mut new_reference: Option<Arc<Reference>> = None;
        let first_id = self.next_id;
        let base_reference = self.current_reference();
        let mut cells = BatchCells {
            base: self.cells.current(),
            replaced: None,
        };
        let index_options = self.index_options;
        // The feed position of the batch's last event, when it wrote any.
        let mut feed_head: Option<u64> = None;
        let Writer {
            connection,
            next_id,
            ..
        } = self;
        let outcome = (|| -> Result<(), StoreError> {
            let transaction = connection.transaction()?;
            // Cases touched in this batch, so that later requests see earlier ones.
            let mut touched: HashMap<CaseId, Case> = HashMap::new();
            for request in batch {
                let reference = new_reference
                    .clone()
                    .unwrap_or_else(|| base_reference.clone());
                pending.push(Self::decide(
                    &transaction,
                    &reference,
                    &mut touched,
                    next_id,
                    &mut new_reference,
                    &mut cells,
                    index_options,
                    &mut feed_head,
                    request,
                )?);
            }
            transaction.commit()?;
            Ok(())
        })();
        match outcome {
            Ok(()) => {
                if let Some(reference) = new_reference {
                    match self.reference.write() {
                        Ok(mut guard) => *guard = reference,
                        Err(poisoned) => *poisoned.into_inner() = reference,
                    }
                }
                if let Some(index) = cells.replaced {
                    self.cells.replace(index);
                }
                // The head first: a caller that opens the feed once answered starts after its
                // own events.
                if let Some(head) = feed_head {
                    self.feed_head.send_if_modified(|current| {
                        let moved = *current != head;
                        *current = head;
                        moved
                    });
                }
                pending.into_iter().for_each(Pending::answer);
            }
            Err(error) => {
                // The request that hit the error and those after it were dropped unanswered, which
                // their callers see as a failed write; the ones before it are told here.
                tracing::error!(%error, "write batch rolled back");
                self.next_id = first_id;
                let message = error.to_string();
                pending.into_iter().for_each(|p| p.fail(&message));
            }
        }
    }

    /// Decides one request and writes its effects into the open transaction. A rule refusal is an
    /// answer, not a failure: it writes nothing and returns Ok(Pending with the error).
    #[allow(clippy::too_many_arguments)]
    fn decide(
        transaction: &rusqlite::Transaction<'_>,
        reference: &Reference,
        touched: &mut HashMap<CaseId, Case>,
        next_id: &mut u64,
        new_reference: &mut Option<Arc<Reference>>,
        cells: &mut BatchCells,
        index_options: IndexOptions,
        feed_head: &mut Option<u64>,
        request: WriteRequest,
    ) -> Result<Pending, StoreError> {
        let rules = reference.rules();
        let load = |touched: &HashMap<CaseId, Case>, id: CaseId| -> Result<Case, StoreError> {
            match touched.get(&id) {
                Some(case) => Ok(case.clone()),
                None => rows::load_case(transaction, id)?.ok_or(StoreError::CaseNotFound(id)),
            }
        };
        match request {
            WriteRequest::Report {
                mut report,
                actor,
                now,
                reply,
            } => {
                // The store is the authority on where a point lies, checked here against the index of
                // this very transaction: a cell that disagrees with the point is refused, and the
                // snapping distance is the one measured here, never the caller's.
                report.distance_to_cell_m = None;
                if let (Some(point), Some(index)) = (report.point, cells.current()) {
                    match crate::locate_in(index, point.lon, point.lat) {
                        Err(error) => return Ok(Pending::Case(reply, Err(error))),
                        Ok(located) if located.cell != report.cell => {
                            return Ok(Pending::Case(
                                reply,
                                Err(StoreError::PointNotInCell {
                                    lon: point.lon,
                                    lat: point.lat,
                                    given: report.cell.clone(),
                                    located: located.cell,
                                }),
                            ))
                        }
                        Ok(located) => {
                            report.distance_to_cell_m =
                                (located.distance_m > 0.0).then_some(located.distance_m);
                        }
                    }
                }
                let id = CaseId(*next_id);
                let command = Command::Report { id, report };
                match apply_sealed(&rules, None, &command, &actor, now) {
                    Ok((case, sealed)) => {
                        *feed_head = Some(rows::write_sealed_event_and_case(
                            transaction,
                            &sealed.event,
                            &sealed.json,
                            &case,
                        )?);
                        *next_id += 1;
                        // Not kept in `touched`: a later request naming this new id reads it back
                        // from the open transaction, and reports are the hot path.
                        Ok(Pending::Case(reply, Ok(case)))
                    }
                    Err(error) => Ok(Pending::Case(reply, Err(error.into()))),
                }
            }
            WriteRequest::Act {
                id,
                expected_version,
                command,
                actor,
                now,
                reply,
            } => {
                let case = match load(touched, id) {
                    Ok(case) => case,
                    Err(StoreError::CaseNotFound(id)) => {
                        return Ok(Pending::Case(reply, Err(StoreError::CaseNotFound(id))))
                    }
                    Err(other) => return Err(other),
                };
                if let Some(expected) = expected_version {
                    if expected != case.version {
                        return Ok(Pending::Case(
                            reply,
                            Err(StoreError::VersionConflict {
                                id,
                                expected,
                                actual: case.version,
                            }),
                        ));
                    }
                }
                if let Command::MergeInto { .. } | Command::AbsorbDuplicate { .. } = *command {
                    return Ok(Pending::Case(
                        reply,
                        Err(StoreError::Workflow(WorkflowError::InvalidInput {
                            field: "command",
                            problem: "use merge to merge two cases; it changes both at once"
                                .to_string(),
                        })),
                    ));
                }
                match apply_sealed(&rules, Some(&case), &command, &actor, now) {
                    Ok((next, sealed)) => {
                        *feed_head = Some(rows::write_sealed_event_and_case(
                            transaction,
                            &sealed.event,
                            &sealed.json,
                            &next,
                        )?);
                        touched.insert(id, next.clone());
                        Ok(Pending::Case(reply, Ok(next)))
                    }
                    Err(error) => Ok(Pending::Case(reply, Err(error.into()))),
                }
            }
            WriteRequest::Merge {
                source,
                target,
                actor,
                now,
                reply,
            } => {
                let loaded = load(touched, source).and_then(|s| Ok((s, load(touched, target)?)));
                let (source_case, target_case) = match loaded {
                    Ok(pair) => pair,
                    Err(StoreError::CaseNotFound(id)) => {
                        return Ok(Pending::Pair(reply, Err(StoreError::CaseNotFound(id))))
                    }
                    Err(other) => return Err(other),
                };
                match merge(&rules, &source_case, &target_case, &actor, now) {
                    Ok([(merged_source, source_event), (merged_target, target_event)]) => {
                        rows::write_event_and_case(transaction, &source_event, &merged_source)?;
                        *feed_head = Some(rows::write_event_and_case(
                            transaction,
                            &target_event,
                            &merged_target,
                        )?);
                        touched.insert(source, merged_source.clone());
                        touched.insert(target, merged_target.clone());
                        Ok(Pending::Pair(reply, Ok((merged_source, merged_target))))
                    }
                    Err(error) => Ok(Pending::Pair(reply, Err(error.into()))),
                }
            }
            WriteRequest::PutReference { reference, reply } => {
                if let Err(error) = rows::validate_reference(&reference) {
                    return Ok(Pending::Unit(reply, Err(error)));
                }
                rows::save_reference(transaction, &reference)?;
                // Shapes of areas the new tree no longer has go too; if cells went, the index is
                // rebuilt from the cells that remain.
                let dropped = rows::drop_orphan_shapes(transaction)?;
                if dropped.contains(&AreaLevel::Cell) {
                    let shapes = rows::load_layer(transaction, AreaLevel::Cell)?;
                    let index = super::build_index(&shapes, index_options)?;
                    cells.replaced = Some(index.map(Arc::new));
                }
                *new_reference = Some(Arc::new(*reference));
                Ok(Pending::Unit(reply, Ok(())))
            }
            WriteRequest::PutPerson { person, reply } => {
                if let Err(error) = rows::validate_person(reference, &person) {
                    return Ok(Pending::Unit(reply, Err(error)));
                }
                rows::save_person(transaction, &person)?;
                let mut updated = reference.clone();
                updated.people.insert(person.id.clone(), *person);
                *new_reference = Some(Arc::new(updated));
                Ok(Pending::Unit(reply, Ok(())))
            }
            WriteRequest::Side { work, reply } => {
                transaction.execute_batch("SAVEPOINT side_work")?;
                match work(transaction) {
                    Ok(answer) => {
                        transaction.execute_batch("RELEASE side_work")?;
                        Ok(Pending::Side(reply, Ok(answer)))
                    }
                    Err(error) => {
                        transaction.execute_batch("ROLLBACK TO side_work; RELEASE side_work")?;
                        Ok(Pending::Side(reply, Err(error)))
                    }
                }
            }
            WriteRequest::PutLayer {
                level,
                shapes,
                index,
                now,
                reply,
            } => match rows::layer_areas(reference, level, &shapes) {
                Err(error) => Ok(Pending::Layer(reply, Err(error))),
                Ok((areas, mut summary)) => {
                    rows::save_layer(transaction, level, &shapes, now)?;
                    summary.without_shape = areas
                        .at_level(level)
                        .filter(|a| !shapes.iter().any(|s| s.area.code == a.code))
                        .count();
                    let mut updated = reference.clone();
                    updated.areas = areas;
                    *new_reference = Some(Arc::new(updated));
                    if let Some(index) = index {
                        cells.replaced = Some(index);
                    }
                    Ok(Pending::Layer(reply, Ok(summary)))
                }
            },
        }
    }
}

fn drain_queued(receiver: &mut mpsc::Receiver<WriteRequest>, batch: &mut Vec<WriteRequest>) {
    while batch.len() < MAX_BATCH {
        match receiver.try_recv() {
            Ok(request) => batch.push(request),
            Err(_) => break,
        }
    }
}

/// Like PostgreSQL's `commit_delay`: when the last batch showed concurrent writers, wait a moment
/// for the callers that were answered by it to send their next request, so that they share this
/// commit instead of forming a second, alternating group that pays its own fsync. A lone writer
/// (batches of one) never waits.
fn linger(receiver: &mut mpsc::Receiver<WriteRequest>, batch: &mut Vec<WriteRequest>) {
    let started = Instant::now();
    let mut last_arrival = started;
    while batch.len() < MAX_BATCH
        && started.elapsed() < LINGER_MAX
        && last_arrival.elapsed() < LINGER_GAP
    {
        match receiver.try_recv() {
            Ok(request) => {
                batch.push(request);
                last_arrival = Instant::now();
            }
            // Let the callers' threads run; on a small machine they share our cores.
            Err(_) => std::thread::yield_now(),
        }
    }
}

fn last_event_position(connection: &Connection) -> Result<u64, StoreError> {
    let max: Option<i64> =
        connection.query_row("SELECT MAX(rowid) FROM events", [], |row| row.get(0))?;
    Ok(max.map_or(0, |m| m as u64))
}

fn next_case_id(connection: &Connection) -> Result<u64, StoreError> {
    let max: Option<i64> =
        connection.query_row("SELECT MAX(id) FROM cases", [], |row| row.get(0))?;
    Ok(max.map_or(1, |m| m as u64 + 1))
}
