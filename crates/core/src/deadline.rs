//! Deadline colours: green while in time, yellow from 80 % of the stage's limit, red when overdue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, WorkCalendar};
use crate::case::Deadline;

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
