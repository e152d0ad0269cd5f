//! A district's own history as training data: every case a dispatcher accepted (立案) is a labelled
//! example, text = title + description, label = the category confirmed at acceptance. When the dispatcher
//! changed the category on accepting, the example is a correction and counts more, so that retraining
//! classifies the next report of that kind as the dispatcher would.

use onegrid_core::history::{Event, EventKind};

use crate::train::Example;

/// What was learnt from a history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryExamples {
    pub examples: Vec<Example>,
    /// Examples whose category the dispatcher changed on accepting.
    pub corrections: usize,
    /// Cases left out: never accepted (still waiting, or rejected), or without any text.
    pub skipped: usize,
}

/// Labelled examples from case histories (each the events of one case, in order). Corrections get
/// `correction_weight` (≥ 1; e.g. 3), ordinary confirmations weight 1.
pub fn examples_from_histories(
    histories: &[Vec<Event>],
    correction_weight: f32,
) -> HistoryExamples {
    let weight = if correction_weight.is_finite() {
        correction_weight.max(1.0)
    } else {
        1.0
    };
    let mut out = HistoryExamples::default();
    for events in histories {
        let reported = events.iter().find_map(|e| match &e.kind {
            EventKind::Reported { report, .. } => Some(report),
            _ => None,
        });
        // The category confirmed last: a case may be accepted once only, but be robust to more.
        let confirmed = events.iter().rev().find_map(|e| match &e.kind {
            EventKind::Accepted { category, .. } => Some(category),
            _ => None,
        });
        let (Some(report), Some(confirmed)) = (reported, confirmed) else {
            out.skipped += 1;
            continue;
        };
        let text = format!("{} {}", report.title.trim(), report.description.trim());
        if text.trim().is_empty() {
            out.skipped += 1;
            continue;
        }
        let mut example = Example::new(text.trim(), confirmed.as_str());
        if *confirmed != report.category {
            out.corrections += 1;
            example = example.weighted(weight);
        }
        out.examples.push(example);
    }
    out
}
