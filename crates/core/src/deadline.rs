//! Deadline colours: green while in time, yellow from 80 % of the stage's limit, red when overdue.

use chrono::{DateTime, Months, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkCalendar};
use crate::case::{Case, Deadline, Proposal, PROPOSAL_DEFAULT_MONTHS};
use crate::category::Stage;

/// The share of a stage's limit after which a case turns yellow.
pub const YELLOW_SHARE: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineColour {
    Green,
    Yellow,
    Red,
}

impl DeadlineColour {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineColour::Green => "green",
            DeadlineColour::Yellow => "yellow",
            DeadlineColour::Red => "red",
        }
    }

    pub fn parse(text: &str) -> Option<DeadlineColour> {
        match text {
            "green" => Some(DeadlineColour::Green),
            "yellow" => Some(DeadlineColour::Yellow),
            "red" => Some(DeadlineColour::Red),
            _ => None,
        }
    }
}

/// The colour of a running deadline at `now`.
///
/// The limit counted is the working time from the stage's start to its current due time, so an
/// approved extension (which moves `due_at`) also moves the yellow mark.
pub fn colour(
    calendar: &WorkCalendar,
    deadline: &Deadline,
    now: DateTime<Utc>,
) -> Result<DeadlineColour, CalendarError> {
    if now > deadline.due_at {
        return Ok(DeadlineColour::Red);
    }
    let limit = calendar.working_minutes_between(deadline.started_at, deadline.due_at)?;
    let used = calendar.working_minutes_between(deadline.started_at, now)?;
    if limit > 0 && used as f64 >= YELLOW_SHARE * limit as f64 {
        Ok(DeadlineColour::Yellow)
    } else {
        Ok(DeadlineColour::Green)
    }
}

/// Working minutes left until the deadline (negative once overdue).
pub fn remaining_minutes(
    calendar: &WorkCalendar,
    deadline: &Deadline,
    now: DateTime<Utc>,
) -> Result<i64, CalendarError> {
    if now > deadline.due_at {
        Ok(-calendar.working_minutes_between(deadline.due_at, now)?)
    } else {
        calendar.working_minutes_between(now, deadline.due_at)
    }
}

/// When a proposal (建议提案) must be handled: the deadline the document carries, or else
/// `PROPOSAL_DEFAULT_MONTHS` (3) calendar months after `filed_at` — the common rule of local
/// regulations, 「自交办之日起三个月内办结」 — counted on the China calendar (Asia/Shanghai), so
/// 15 March 10:00 is due 15 June 10:00, and 30 November is due 28 (or 29) February.
pub fn proposal_due_at(proposal: &Proposal, filed_at: DateTime<Utc>) -> DateTime<Utc> {
    proposal.due_at.unwrap_or_else(|| {
        let local = filed_at.with_timezone(&Shanghai);
        local
            .checked_add_months(Months::new(PROPOSAL_DEFAULT_MONTHS))
            .map_or(filed_at, |due| due.with_timezone(&Utc))
    })
}

/// The handle-stage (处置) deadline of a proposal case starting at `now`: it runs to the proposal's
/// due time (`proposal_due_at`, counted from the case's filing), not for the category's working-hour
/// limit, and it stays that date when handling starts again (rework, resumption, re-dispatch).
/// `limit_hours` is the working time left from `now` to that date, whole hours rounded down.
/// `None` when the case is not a proposal.
pub fn proposal_handle_deadline(
    calendar: &WorkCalendar,
    case: &Case,
    now: DateTime<Utc>,
) -> Result<Option<Deadline>, CalendarError> {
    let Some(proposal) = &case.proposal else {
        return Ok(None);
    };
    let due_at = proposal_due_at(proposal, case.reported_at);
    let minutes = calendar.working_minutes_between(now, due_at)?;
    Ok(Some(Deadline {
        stage: Stage::Handle,
        started_at: now,
        due_at,
        limit_hours: u32::try_from(minutes / 60).unwrap_or(u32::MAX),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::ProposalKind;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").to_utc()
    }

    fn proposal(due_at: Option<DateTime<Utc>>) -> Proposal {
        Proposal {
            kind: ProposalKind::CppccProposal,
            number: "第45号".to_string(),
            session: None,
            due_at,
            proposer: "李委员".to_string(),
        }
    }

    #[test]
    fn a_carried_deadline_is_the_due_date() {
        let due = at("2024-05-31T18:00:00+08:00");
        assert_eq!(
            proposal_due_at(&proposal(Some(due)), at("2024-03-04T10:00:00+08:00")),
            due
        );
    }

    #[test]
    fn without_one_it_is_three_calendar_months_after_filing_in_china_time() {
        let p = proposal(None);
        assert_eq!(
            proposal_due_at(&p, at("2024-03-15T10:00:00+08:00")),
            at("2024-06-15T10:00:00+08:00")
        );
        // Month ends clamp to the last day of the month.
        assert_eq!(
            proposal_due_at(&p, at("2024-11-30T09:00:00+08:00")),
            at("2025-02-28T09:00:00+08:00")
        );
        // Counted on the China date: 31 May 01:00 China time is 30 May in UTC.
        assert_eq!(
            proposal_due_at(&p, at("2024-05-31T01:00:00+08:00")),
            at("2024-08-31T01:00:00+08:00")
        );
    }
}
