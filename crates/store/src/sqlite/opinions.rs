//! SQL of public-opinion posts (see `crate::opinions`): writes run in the writer's batch through
//! `side` (under a savepoint, so a refused write leaves nothing), reads on a read connection.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onegrid_core::{CaseId, PersonId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::rows::{corrupt, time_text};
use super::SqliteStore;
use crate::opinions::{
    Decision, GivenPlace, NewOpinion, Opinion, OpinionError, OpinionFilter, OpinionStore,
    Placement, Settlement,
};
use crate::StoreError;

const COLUMNS: &str = "id, received_at, received_by, posted_at, source, url, text, lon, lat, crs, \
     cell, address, relevance, relevant, label, confidence, candidate_case, candidate_similarity, \
     auto_decision, decision, case_id, placed_by, placed_at";

/// The default and largest page of a list.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(format!("opinion time {text:?}: {e}")))
}

fn parse_decision(text: &str) -> Result<Decision, StoreError> {
    Decision::parse(text).ok_or_else(|| corrupt(format!("opinion decision {text:?}")))
}

fn parse_person(text: &str) -> Result<PersonId, StoreError> {
    PersonId::parse(text).map_err(|e| corrupt(format!("opinion account: {e}")))
}

fn opinion_row(row: &Row<'_>) -> rusqlite::Result<Result<Opinion, StoreError>> {
    let received_at: String = row.get(1)?;
    let received_by: String = row.get(2)?;
    let posted_at: Option<String> = row.get(3)?;
    let candidate_case: Option<i64> = row.get(16)?;
    let candidate_similarity: Option<f64> = row.get(17)?;
    let auto_decision: String = row.get(18)?;
    let decision: String = row.get(19)?;
    let case_id: Option<i64> = row.get(20)?;
    let placed_by: Option<String> = row.get(21)?;
    let placed_at: Option<String> = row.get(22)?;
    let id: i64 = row.get(0)?;
    let source: String = row.get(4)?;
    let url: Option<String> = row.get(5)?;
    let text: String = row.get(6)?;
    let place = GivenPlace {
        lon: row.get(7)?,
        lat: row.get(8)?,
        crs: row.get(9)?,
        cell: row.get(10)?,
        address: row.get(11)?,
    };
    let relevance: f64 = row.get(12)?;
    let relevant: bool = row.get(13)?;
    let label: Option<String> = row.get(14)?;
    let confidence: Option<f64> = row.get(15)?;
    // Parsing errors are the store's, not SQLite's: they travel inside the row's value.
    Ok((|| {
        Ok(Opinion {
            id: id as u64,
            received_at: parse_time(&received_at)?,
            received_by: parse_person(&received_by)?,
            posted_at: posted_at.as_deref().map(parse_time).transpose()?,
            source,
            url,
            text,
            place,
            relevance: relevance as f32,
            relevant,
            label,
            confidence: confidence.map(|c| c as f32),
            candidate: candidate_case
                .map(|c| (CaseId(c as u64), candidate_similarity.unwrap_or(0.0) as f32)),
            auto_decision: parse_decision(&auto_decision)?,
            decision: parse_decision(&decision)?,
            case_id: case_id.map(|c| CaseId(c as u64)),
            placed_by: placed_by.as_deref().map(parse_person).transpose()?,
            placed_at: placed_at.as_deref().map(parse_time).transpose()?,
        })
    })())
}

fn load(connection: &Connection, id: u64) -> Result<Opinion, OpinionError> {
    connection
        .query_row(
            &format!("SELECT {COLUMNS} FROM opinions WHERE id = ?1"),
            params![id as i64],
            opinion_row,
        )
        .optional()?
        .transpose()?
        .ok_or(OpinionError::NotFound(id))
}

fn check_new(opinion: &NewOpinion) -> Result<(), OpinionError> {
    if opinion.decision.has_case() != opinion.case_id.is_some() {
        return Err(OpinionError::Invalid(format!(
            "a post {} {} a case",
            opinion.decision,
            if opinion.decision.has_case() {
                "must name"
            } else {
                "cannot name"
            }
        )));
    }
    if opinion.text.trim().is_empty() || opinion.source.trim().is_empty() {
        return Err(OpinionError::Invalid(
            "a post needs its text and its source".to_string(),
        ));
    }
    Ok(())
}

fn insert(connection: &Connection, new: &NewOpinion) -> Result<Opinion, OpinionError> {
    connection.execute(
        "INSERT INTO opinions (received_at, received_by, posted_at, source, url, text, lon, lat, \
         crs, cell, address, relevance, relevant, label, confidence, candidate_case, \
         candidate_similarity, auto_decision, decision, case_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?18, ?19)",
        params![
            time_text(&new.received_at),
            new.received_by.as_str(),
            new.posted_at.as_ref().map(time_text),
            new.source,
            new.url,
            new.text,
            new.place.lon,
            new.place.lat,
            new.place.crs,
            new.place.cell,
            new.place.address,
            f64::from(new.relevance),
            new.relevant,
            new.label,
            new.confidence.map(f64::from),
            new.candidate.map(|(c, _)| c.0 as i64),
            new.candidate.map(|(_, s)| f64::from(s)),
            new.decision.as_str(),
            new.case_id.map(|c| c.0 as i64),
        ],
    )?;
    load(connection, connection.last_insert_rowid() as u64)
}

fn place(connection: &Connection, id: u64, placement: &Placement) -> Result<Opinion, OpinionError> {
    let stored = load(connection, id)?;
    if !stored.decision.placeable() {
        return Err(OpinionError::NotPlaceable {
            id,
            decision: stored.decision,
            case_id: stored.case_id,
        });
    }
    connection.execute(
        "UPDATE opinions SET decision = ?2, case_id = ?3, label = COALESCE(?4, label), \
         confidence = COALESCE(?5, confidence), placed_by = ?6, placed_at = ?7 WHERE id = ?1",
        params![
            id as i64,
            placement.decision.as_str(),
            placement.case_id.0 as i64,
            placement.label,
            placement.confidence.map(f64::from),
            placement.by.as_str(),
            time_text(&placement.at),
        ],
    )?;
    load(connection, id)
}

fn settle(connection: &Connection, id: u64, outcome: &Settlement) -> Result<Opinion, OpinionError> {
    let stored = load(connection, id)?;
    if stored.decision != Decision::NeedsPlace || stored.placed_by.is_some() {
        return Err(OpinionError::NotPlaceable {
            id,
            decision: stored.decision,
            case_id: stored.case_id,
        });
    }
    connection.execute(
        "UPDATE opinions SET decision = ?2, auto_decision = ?2, case_id = ?3, \
         label = COALESCE(?4, label), confidence = COALESCE(?5, confidence) WHERE id = ?1",
        params![
            id as i64,
            outcome.decision.as_str(),
            outcome.case_id.0 as i64,
            outcome.label,
            outcome.confidence.map(f64::from),
        ],
    )?;
    load(connection, id)
}

fn list(connection: &Connection, filter: &OpinionFilter) -> Result<Vec<Opinion>, OpinionError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut condition = |sql: &str, value: rusqlite::types::Value| {
        values.push(value);
        conditions.push(sql.replace('?', &format!("?{}", values.len())));
    };
    if let Some(decision) = filter.decision {
        condition("decision = ?", decision.as_str().to_string().into());
    }
    if let Some(source) = &filter.source {
        condition("source = ?", source.trim().to_string().into());
    }
    if let Some(from) = &filter.received_from {
        condition("received_at >= ?", time_text(from).into());
    }
    if let Some(to) = &filter.received_to {
        condition("received_at < ?", time_text(to).into());
    }
    if let Some(after) = filter.after {
        // Ids beyond i64 match nothing; clamp rather than wrap.
        condition("id > ?", i64::try_from(after).unwrap_or(i64::MAX).into());
    }
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let mut statement = connection.prepare(&format!(
        "SELECT {COLUMNS} FROM opinions {condition} ORDER BY id LIMIT {limit}"
    ))?;
    let rows = statement.query_map(rusqlite::params_from_iter(values.iter()), opinion_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

/// Runs a write in the writer's batch; a refusal travels inside the answer so that the savepoint is
/// released with nothing written (the work refuses before it writes).
async fn write<T: Send + 'static>(
    store: &SqliteStore,
    work: impl FnOnce(&Connection) -> Result<T, OpinionError> + Send + 'static,
) -> Result<T, OpinionError> {
    store
        .side(move |connection| match work(connection) {
            Ok(value) => Ok(Ok(value)),
            // Storage failures roll the savepoint back.
            Err(OpinionError::Store(error)) => Err(error),
            Err(refusal) => Ok(Err(refusal)),
        })
        .await?
}

async fn read<T: Send + 'static>(
    store: &SqliteStore,
    work: impl FnOnce(&Connection) -> Result<T, OpinionError> + Send + 'static,
) -> Result<T, OpinionError> {
    store
        .read(move |connection| match work(connection) {
            Ok(value) => Ok(Ok(value)),
            Err(OpinionError::Store(error)) => Err(error),
            Err(refusal) => Ok(Err(refusal)),
        })
        .await?
}

#[async_trait]
impl OpinionStore for SqliteStore {
    async fn record_opinion(&self, opinion: NewOpinion) -> Result<Opinion, OpinionError> {
        check_new(&opinion)?;
        write(self, move |c| insert(c, &opinion)).await
    }

    async fn opinion(&self, id: u64) -> Result<Opinion, OpinionError> {
        read(self, move |c| load(c, id)).await
    }

    async fn list_opinions(&self, filter: &OpinionFilter) -> Result<Vec<Opinion>, OpinionError> {
        let filter = filter.clone();
        read(self, move |c| list(c, &filter)).await
    }

    async fn place_opinion(&self, id: u64, placement: Placement) -> Result<Opinion, OpinionError> {
        if !placement.decision.has_case() {
            return Err(OpinionError::Invalid(format!(
                "a placed post is opened or attached, not {}",
                placement.decision
            )));
        }
        write(self, move |c| place(c, id, &placement)).await
    }

    async fn settle_opinion(&self, id: u64, outcome: Settlement) -> Result<Opinion, OpinionError> {
        if !outcome.decision.has_case() {
            return Err(OpinionError::Invalid(format!(
                "intake settles a post as opened or attached, not {}",
                outcome.decision
            )));
        }
        write(self, move |c| settle(c, id, &outcome)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").to_utc()
    }

    fn post(text: &str, decision: Decision, case_id: Option<u64>, at: &str) -> NewOpinion {
        NewOpinion {
            received_at: time(at),
            received_by: PersonId::parse("integrator").expect("id"),
            posted_at: Some(time("2024-03-04T08:00:00+08:00")),
            source: "微博".to_string(),
            url: Some("https://weibo.com/1/abc".to_string()),
            text: text.to_string(),
            place: GivenPlace {
                lon: Some(117.305),
                lat: Some(39.105),
                crs: None,
                cell: None,
                address: Some("东丽区张贵庄路".to_string()),
            },
            relevance: 0.9,
            relevant: decision != Decision::Dismissed,
            label: Some("城乡建设".to_string()),
            confidence: Some(0.7),
            candidate: None,
            decision,
            case_id: case_id.map(CaseId),
        }
    }

    #[tokio::test]
    async fn posts_are_recorded_listed_and_placed_once() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("o.db");
        let store = SqliteStore::open(&path).expect("open");
        let opinions = store.opinions();
        let opened = opinions
            .record_opinion(post(
                "张贵庄路垃圾没人清",
                Decision::Opened,
                Some(7),
                "2024-03-04T01:00:00Z",
            ))
            .await
            .expect("opened");
        assert_eq!((opened.id, opened.case_id), (1, Some(CaseId(7))));
        assert_eq!(opened.auto_decision, Decision::Opened);
        assert_eq!(opened.place.address.as_deref(), Some("东丽区张贵庄路"));
        let mut dismissed = post(
            "新手机真好用",
            Decision::Dismissed,
            None,
            "2024-03-04T02:00:00Z",
        );
        dismissed.source = "抖音".to_string();
        dismissed.relevance = 0.05;
        dismissed.place = GivenPlace::default();
        let dismissed = opinions.record_opinion(dismissed).await.expect("dismissed");
        let mut unplaced = post(
            "路灯坏了",
            Decision::NeedsPlace,
            None,
            "2024-03-04T03:00:00Z",
        );
        unplaced.candidate = Some((CaseId(3), 0.4));
        let unplaced = opinions
            .record_opinion(unplaced)
            .await
            .expect("needs place");
        assert_eq!(unplaced.candidate, Some((CaseId(3), 0.4)));

        // A decision and a case that do not fit together are refused before anything is written.
        let bad = opinions
            .record_opinion(post(
                "x",
                Decision::NeedsPlace,
                Some(1),
                "2024-03-04T04:00:00Z",
            ))
            .await;
        assert!(matches!(bad, Err(OpinionError::Invalid(_))), "{bad:?}");

        let all = opinions
            .list_opinions(&OpinionFilter::default())
            .await
            .expect("list");
        assert_eq!(all.iter().map(|o| o.id).collect::<Vec<_>>(), [1, 2, 3]);
        let only = |filter: OpinionFilter| async move {
            opinions
                .list_opinions(&filter)
                .await
                .expect("list")
                .iter()
                .map(|o| o.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            only(OpinionFilter {
                decision: Some(Decision::Dismissed),
                ..Default::default()
            })
            .await,
            [dismissed.id]
        );
        assert_eq!(
            only(OpinionFilter {
                source: Some("微博".into()),
                ..Default::default()
            })
            .await,
            [1, 3]
        );
        assert_eq!(
            only(OpinionFilter {
                received_from: Some(time("2024-03-04T02:00:00Z")),
                received_to: Some(time("2024-03-04T03:00:00Z")),
                ..Default::default()
            })
            .await,
            [2]
        );
        assert_eq!(
            only(OpinionFilter {
                after: Some(1),
                limit: Some(1),
                ..Default::default()
            })
            .await,
            [2]
        );

        let desk = PersonId::parse("dispatcher").expect("id");
        let placement = |case: u64| Placement {
            decision: Decision::Opened,
            case_id: CaseId(case),
            label: None,
            confidence: None,
            by: desk.clone(),
            at: time("2024-03-04T05:00:00Z"),
        };
        let placed = opinions
            .place_opinion(unplaced.id, placement(9))
            .await
            .expect("placed");
        assert_eq!(placed.decision, Decision::Opened);
        assert_eq!(placed.auto_decision, Decision::NeedsPlace);
        assert_eq!(placed.case_id, Some(CaseId(9)));
        assert_eq!(placed.placed_by.as_ref(), Some(&desk));
        assert_eq!(placed.label.as_deref(), Some("城乡建设"));
        // Placed once: a second placement is refused and changes nothing.
        let again = opinions.place_opinion(unplaced.id, placement(10)).await;
        assert!(
            matches!(
                again,
                Err(OpinionError::NotPlaceable {
                    decision: Decision::Opened,
                    case_id: Some(CaseId(9)),
                    ..
                })
            ),
            "{again:?}"
        );
        assert_eq!(
            opinions.opinion(unplaced.id).await.expect("get").case_id,
            Some(CaseId(9))
        );
        // A dismissal can be overridden by a desk.
        let overridden = opinions
            .place_opinion(dismissed.id, placement(11))
            .await
            .expect("override");
        assert_eq!(
            (
                overridden.auto_decision,
                overridden.decision,
                overridden.relevant
            ),
            (Decision::Dismissed, Decision::Opened, false)
        );
        assert!(matches!(
            opinions.place_opinion(99, placement(12)).await,
            Err(OpinionError::NotFound(99))
        ));
        assert!(matches!(
            opinions.opinion(99).await,
            Err(OpinionError::NotFound(99))
        ));
        drop(store);

        // Durable: a reopened store reads the same posts.
        let store = SqliteStore::open(&path).expect("reopen");
        let reread = store
            .opinions()
            .list_opinions(&OpinionFilter::default())
            .await
            .expect("list");
        assert_eq!(reread.len(), 3);
        assert_eq!(reread[0], opened);
    }

    #[tokio::test]
    async fn intake_settles_a_post_it_recorded_first_once_and_never_after_a_desk() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(dir.path().join("o.db")).expect("open");
        let opinions = store.opinions();
        let waiting = |text: &str| post(text, Decision::NeedsPlace, None, "2024-03-04T01:00:00Z");
        let settlement = |case: u64| Settlement {
            decision: Decision::Opened,
            case_id: CaseId(case),
            label: Some("交通运输".to_string()),
            confidence: Some(0.8),
        };
        let first = opinions
            .record_opinion(waiting("路灯坏了"))
            .await
            .expect("recorded");
        let settled = opinions
            .settle_opinion(first.id, settlement(11))
            .await
            .expect("settled");
        assert_eq!(
            (settled.decision, settled.auto_decision, settled.case_id),
            (Decision::Opened, Decision::Opened, Some(CaseId(11)))
        );
        assert_eq!(settled.label.as_deref(), Some("交通运输"));
        assert_eq!(settled.placed_by, None, "intake is not a desk");
        // Settling again, or settling a post a desk placed meanwhile, changes nothing.
        let again = opinions.settle_opinion(first.id, settlement(12)).await;
        assert!(
            matches!(again, Err(OpinionError::NotPlaceable { .. })),
            "{again:?}"
        );
        let second = opinions
            .record_opinion(waiting("井盖丢了"))
            .await
            .expect("recorded");
        opinions
            .place_opinion(
                second.id,
                Placement {
                    decision: Decision::Opened,
                    case_id: CaseId(21),
                    label: None,
                    confidence: None,
                    by: PersonId::parse("dispatcher").expect("id"),
                    at: time("2024-03-04T01:01:00Z"),
                },
            )
            .await
            .expect("placed by the desk");
        let late = opinions.settle_opinion(second.id, settlement(22)).await;
        assert!(
            matches!(late, Err(OpinionError::NotPlaceable { .. })),
            "{late:?}"
        );
        let stored = opinions.opinion(second.id).await.expect("read");
        assert_eq!(
            (stored.decision, stored.case_id),
            (Decision::Opened, Some(CaseId(21)))
        );
        let wrong = opinions
            .settle_opinion(
                first.id,
                Settlement {
                    decision: Decision::Dismissed,
                    ..settlement(13)
                },
            )
            .await;
        assert!(matches!(wrong, Err(OpinionError::Invalid(_))), "{wrong:?}");
    }
}
