//! The reference data the workflow reads: areas, taxonomy, departments, people and the calendar.

use std::collections::BTreeMap;

use crate::area::AreaTree;
use crate::calendar::WorkCalendar;
use crate::category::Taxonomy;
use crate::org::{Departments, Person, PersonId};
use crate::workflow::Rules;

/// Everything the rules need, owned, so a store can keep one snapshot and swap it when data changes.
#[derive(Debug, Clone)]
pub struct Reference {
    pub areas: AreaTree,
    pub taxonomy: Taxonomy,
    pub departments: Departments,
    pub people: BTreeMap<PersonId, Person>,
    pub calendar: WorkCalendar,
}

impl Reference {
    pub fn rules(&self) -> Rules<'_> {
        Rules {
            areas: &self.areas,
            taxonomy: &self.taxonomy,
            departments: &self.departments,
            calendar: &self.calendar,
        }
    }

    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.people.get(id)
    }
}
