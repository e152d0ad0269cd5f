//! Fixtures in domain terms: a two-street district with its people (`World`), a case and its history
//! as it moves through the loop (`Story`), command builders, and `t` for Shanghai wall-clock times.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use onegrid_core::calendar::TIMEZONE;
use onegrid_core::history::{replay, verify_chain};
use onegrid_core::{
    apply, merge, Actor, Area, AreaCode, AreaTree, Case, CaseId, CategoryCode, Channel, Command,
    DepartmentCode, Departments, Event, GeoPoint, NewReport, Person, PersonId, Reference, Reporter,
    Role, Rules, Scope, Taxonomy, Tier, WorkCalendar, WorkflowError,
};

pub const DISTRICT: &str = "120110";
pub const STREET_1: &str = "120110001";
pub const STREET_2: &str = "120110002";
pub const COMMUNITY_1: &str = "120110001001";
pub const COMMUNITY_2: &str = "120110002001";
/// The two cells of street 1's community.
pub const CELL_1A: &str = "120110001001001";
pub const CELL_1B: &str = "120110001001002";
/// The two cells of street 2's community.
pub const CELL_2A: &str = "120110002001001";
pub const CELL_2B: &str = "120110002001002";
pub const CELLS: [&str; 4] = [CELL_1A, CELL_1B, CELL_2A, CELL_2B];

pub const CITIZEN_LI: &str = "citizen.li";
pub const CITIZEN_ZHAO: &str = "citizen.zhao";
/// Patrols both cells of street 1's community.
pub const GRID_WANG: &str = "grid.wang";
/// Patrols only `CELL_1A`: a second grid worker who can verify grid.wang's work there.
pub const GRID_LIU: &str = "grid.liu";
/// Patrols street 2's community.
pub const GRID_CHEN: &str = "grid.chen";
pub const DISPATCHER_1: &str = "dispatcher.zhang";
pub const DISPATCHER_2: &str = "dispatcher.sun";
pub const HANDLER_CHENGGUAN: &str = "handler.chengguan";
pub const HANDLER_JIEDAO: &str = "handler.jiedao";
pub const HANDLER_ZHUJIAN: &str = "handler.zhujian";
pub const COMMANDER: &str = "commander.ma";
pub const SUPERVISOR: &str = "supervisor.he";
pub const ADMIN: &str = "admin.root";
pub const INTEGRATOR: &str = "feed.12345";

pub const PEOPLE: [&str; 14] = [
    CITIZEN_LI,
    CITIZEN_ZHAO,
    GRID_WANG,
    GRID_LIU,
    GRID_CHEN,
    DISPATCHER_1,
    DISPATCHER_2,
    HANDLER_CHENGGUAN,
    HANDLER_JIEDAO,
    HANDLER_ZHUJIAN,
    COMMANDER,
    SUPERVISOR,
    ADMIN,
    INTEGRATOR,
];

/// 暴露垃圾: chengguan, grid tier, limits accept 1 / dispatch 1 / handle 8 / verify 4 / close 2 hours.
pub const LITTER: &str = "S0101";
/// 积存垃圾渣土: chengguan, street tier, handle 24 hours.
pub const DEBRIS: &str = "S0102";
/// 路面塌陷: chengguan, district tier, handle 4 hours.
pub const ROAD_COLLAPSE: &str = "S0401";
/// 邻里纠纷: jiedao, grid tier, accept 2 / handle 24 hours.
pub const NEIGHBOUR_DISPUTE: &str = "Z0101";
/// Well formed, but not in the taxonomy.
pub const UNKNOWN_CATEGORY: &str = "Z9999";

/// A time given as Asia/Shanghai wall-clock text `YYYY-MM-DD HH:MM`.
pub fn t(local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|e| panic!("test time {local:?} is not YYYY-MM-DD HH:MM: {e}"));
    TIMEZONE
        .from_local_datetime(&naive)
        .single()
        .unwrap_or_else(|| panic!("test time {local:?} is ambiguous in Asia/Shanghai"))
        .with_timezone(&Utc)
}

pub fn area(code: &str) -> AreaCode {
    AreaCode::parse(code).unwrap_or_else(|e| panic!("test area code {code:?}: {e}"))
}

pub fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).unwrap_or_else(|e| panic!("test department {code:?}: {e}"))
}

pub fn category(code: &str) -> CategoryCode {
    CategoryCode::parse(code).unwrap_or_else(|e| panic!("test category {code:?}: {e}"))
}

pub fn person_id(id: &str) -> PersonId {
    PersonId::parse(id).unwrap_or_else(|e| panic!("test person {id:?}: {e}"))
}

/// The fixture district 120110: two streets, a community each, two cells per community; the
/// default departments and taxonomy; China's working calendar; one or more people per role.
pub struct World {
    pub reference: Reference,
}

impl World {
    pub fn new() -> World {
        let nodes = [
            (DISTRICT, "东丽区"),
            (STREET_1, "第一街道（测试）"),
            (STREET_2, "第二街道（测试）"),
            (COMMUNITY_1, "第一社区（测试）"),
            (COMMUNITY_2, "第二社区（测试）"),
            (CELL_1A, "001"),
            (CELL_1B, "002"),
            (CELL_2A, "001"),
            (CELL_2B, "002"),
        ];
        let areas = AreaTree::new(nodes.iter().map(|(code, name)| Area {
            code: area(code),
            name: name.to_string(),
            generated: true,
        }))
        .expect("the fixture area tree is valid");
        let departments = Departments::default_departments().expect("default departments parse");
        let taxonomy = Taxonomy::default_taxonomy(&departments).expect("default taxonomy parses");
        let in_areas = |codes: &[&str]| Scope {
            areas: codes.iter().map(|c| area(c)).collect(),
            department: None,
        };
        let in_department = |code: &str| Scope {
            areas: Vec::new(),
            department: Some(department(code)),
        };
        let people = [
            (CITIZEN_LI, Role::Citizen, Scope::default()),
            (CITIZEN_ZHAO, Role::Citizen, Scope::default()),
            (GRID_WANG, Role::GridWorker, in_areas(&[COMMUNITY_1])),
            (GRID_LIU, Role::GridWorker, in_areas(&[CELL_1A])),
            (GRID_CHEN, Role::GridWorker, in_areas(&[COMMUNITY_2])),
            (DISPATCHER_1, Role::Dispatcher, in_areas(&[STREET_1])),
            (DISPATCHER_2, Role::Dispatcher, in_areas(&[STREET_2])),
            (
                HANDLER_CHENGGUAN,
                Role::DepartmentHandler,
                in_department("chengguan"),
            ),
            (
                HANDLER_JIEDAO,
                Role::DepartmentHandler,
                in_department("jiedao"),
            ),
            (
                HANDLER_ZHUJIAN,
                Role::DepartmentHandler,
                in_department("zhujian"),
            ),
            (COMMANDER, Role::Commander, in_areas(&[DISTRICT])),
            // Supervisors read district-wide: an empty area list means the whole district.
            (SUPERVISOR, Role::Supervisor, Scope::default()),
            (ADMIN, Role::Admin, Scope::default()),
            (INTEGRATOR, Role::Integrator, Scope::default()),
        ];
        let people: BTreeMap<PersonId, Person> = people
            .into_iter()
            .map(|(id, role, scope)| {
                let person = Person {
                    id: person_id(id),
                    name: id.to_string(),
                    role,
                    scope,
                    phone: None,
                };
                (person.id.clone(), person)
            })
            .collect();
        World {
            reference: Reference {
                areas,
                taxonomy,
                departments,
                people,
                calendar: WorkCalendar::china(),
            },
        }
    }

    pub fn rules(&self) -> Rules<'_> {
        self.reference.rules()
    }

    pub fn calendar(&self) -> &WorkCalendar {
        &self.reference.calendar
    }

    pub fn actor(&self, id: &str) -> Actor {
        self.reference
            .person(&person_id(id))
            .unwrap_or_else(|| panic!("{id} is not a person of the fixture"))
            .actor()
    }

    /// Reports a case; panics with the error if the report is refused.
    pub fn report(&self, id: u64, who: &str, report: NewReport, at: &str) -> Story<'_> {
        let (case, event) = self
            .try_report(id, who, report, at)
            .unwrap_or_else(|e| panic!("{who} could not report case {id}: {e}"));
        Story {
            world: self,
            case,
            events: vec![event],
        }
    }

    pub fn try_report(
        &self,
        id: u64,
        who: &str,
        report: NewReport,
        at: &str,
    ) -> Result<(Case, Event), WorkflowError> {
        let command = Command::Report {
            id: CaseId(id),
            report: Box::new(report),
        };
        apply(&self.rules(), None, &command, &self.actor(who), t(at))
    }

    /// Merges `source` into `target` as one decision; panics with the error if refused.
    pub fn merge(&self, source: &mut Story<'_>, target: &mut Story<'_>, who: &str, at: &str) {
        let [(merged_source, source_event), (merged_target, target_event)] =
            self.try_merge(source, target, who, at).unwrap_or_else(|e| {
                panic!(
                    "{who} could not merge case {} into {}: {e}",
                    source.case.id, target.case.id
                )
            });
        source.case = merged_source;
        source.events.push(source_event);
        target.case = merged_target;
        target.events.push(target_event);
    }

    pub fn try_merge(
        &self,
        source: &Story<'_>,
        target: &Story<'_>,
        who: &str,
        at: &str,
    ) -> Result<[(Case, Event); 2], WorkflowError> {
        merge(
            &self.rules(),
            &source.case,
            &target.case,
            &self.actor(who),
            t(at),
        )
    }
}

/// A citizen's report through the citizen app: a point, a photo, a short text.
pub fn report_in(cell: &str, category_code: &str) -> NewReport {
    NewReport {
        channel: Channel::Citizen,
        reporter: Reporter {
            channel: Channel::Citizen,
            person: None,
            name: Some("李明".to_string()),
            phone: Some("13812345678".to_string()),
        },
        cell: area(cell),
        point: Some(GeoPoint {
            lon: 117.31,
            lat: 39.09,
        }),
        distance_to_cell_m: None,
        address: Some("东丽区某路12号".to_string()),
        category: category(category_code),
        title: "路边垃圾堆放".to_string(),
        description: "小区门口垃圾堆放三天无人清理".to_string(),
        photos: vec!["sha256:photo-1".to_string()],
        tier: None,
        tier_reason: None,
        proposal: None,
    }
}

/// The same report through another channel (a grid worker's app, the 12345 feed, the desk).
pub fn report_via(channel: Channel, cell: &str, category_code: &str) -> NewReport {
    let mut report = report_in(cell, category_code);
    report.channel = channel;
    report.reporter.channel = channel;
    report
}

/// A case and its history, moved through the loop by `step`.
pub struct Story<'w> {
    pub world: &'w World,
    pub case: Case,
    pub events: Vec<Event>,
}

impl Story<'_> {
    /// What `apply` would decide, without changing the story.
    pub fn try_step(
        &self,
        who: &str,
        command: &Command,
        at: &str,
    ) -> Result<(Case, Event), WorkflowError> {
        apply(
            &self.world.rules(),
            Some(&self.case),
            command,
            &self.world.actor(who),
            t(at),
        )
    }

    /// Applies a command that must succeed and records its event.
    pub fn step(&mut self, who: &str, command: Command, at: &str) -> &Event {
        let (case, event) = self.try_step(who, &command, at).unwrap_or_else(|e| {
            panic!(
                "{who} could not {} case {} at {at}: {e}",
                command.name(),
                self.case.id
            )
        });
        self.case = case;
        self.events.push(event);
        self.events.last().expect("just pushed")
    }

    /// Applies a command that must be refused, checks that nothing changed, and returns the error.
    pub fn refused(&self, who: &str, command: Command, at: &str) -> WorkflowError {
        let before = self.case.clone();
        let result = self.try_step(who, &command, at);
        assert_eq!(self.case, before, "a refused command changed the case");
        match result {
            Ok((case, event)) => panic!(
                "{who} was allowed to {} case {} in state {}: {:?} → {}",
                command.name(),
                before.id,
                before.state,
                event.kind,
                case.state
            ),
            Err(err) => err,
        }
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        self.events.iter().map(|e| e.kind.name()).collect()
    }

    /// The history verifies and replays to exactly the current case.
    pub fn assert_history_consistent(&self) {
        verify_chain(self.case.id, &self.events)
            .unwrap_or_else(|e| panic!("chain of case {}: {e}", self.case.id));
        let replayed = replay(self.case.id, &self.events)
            .unwrap_or_else(|e| panic!("replay of case {}: {e}", self.case.id));
        assert_eq!(replayed, self.case, "replay differs from the applied case");
        assert_eq!(self.case.version, self.events.len() as u64);
    }
}

/// Asserts that an error's message names every one of `words`.
pub fn assert_mentions(err: &WorkflowError, words: &[&str]) {
    let message = err.to_string();
    for word in words {
        assert!(
            message.contains(word),
            "error message {message:?} does not mention {word:?}"
        );
    }
}

pub fn text(n: usize) -> String {
    "字".repeat(n)
}

pub fn accept() -> Command {
    Command::Accept { category: None }
}

pub fn accept_as(category_code: &str) -> Command {
    Command::Accept {
        category: Some(category(category_code)),
    }
}

pub fn reject(reason: &str) -> Command {
    Command::Reject {
        reason: reason.to_string(),
    }
}

pub fn dispatch(lead: &str) -> Command {
    dispatch_with(lead, &[])
}

pub fn dispatch_with(lead: &str, co: &[&str]) -> Command {
    Command::Dispatch {
        department: Some(department(lead)),
        co_departments: co.iter().map(|c| department(c)).collect(),
    }
}

pub fn self_settle() -> Command {
    Command::SelfSettle {
        evidence: vec!["sha256:after-cleanup".to_string()],
        note: "已现场清理".to_string(),
    }
}

pub fn feedback() -> Command {
    Command::Feedback {
        evidence: vec!["sha256:after-photo".to_string()],
        note: "已清运".to_string(),
    }
}

pub fn verify_pass() -> Command {
    Command::Verify {
        passed: true,
        note: String::new(),
    }
}

pub fn verify_fail(reason: &str) -> Command {
    Command::Verify {
        passed: false,
        note: reason.to_string(),
    }
}

pub fn close() -> Command {
    Command::Close {
        note: String::new(),
    }
}

pub fn rate(score: u8) -> Command {
    Command::Rate {
        score,
        comment: String::new(),
    }
}

pub fn return_case(reason: &str) -> Command {
    Command::Return {
        reason: reason.to_string(),
    }
}

pub fn request_extension(hours: u32) -> Command {
    Command::RequestExtension {
        hours,
        reason: "需协调产权单位".to_string(),
    }
}

pub fn approve_extension() -> Command {
    Command::ApproveExtension
}

pub fn deny_extension(reason: &str) -> Command {
    Command::DenyExtension {
        reason: reason.to_string(),
    }
}

pub fn set_long_term(reason: &str) -> Command {
    Command::SetLongTerm {
        reason: reason.to_string(),
    }
}

pub fn resume() -> Command {
    Command::ResumeFromLongTerm {
        note: String::new(),
    }
}

pub fn supervise(note: &str) -> Command {
    Command::Supervise {
        note: note.to_string(),
    }
}

pub fn escalate(to: Tier, co: &[&str]) -> Command {
    Command::Escalate {
        to,
        co_departments: co.iter().map(|c| department(c)).collect(),
        reason: "多部门联动".to_string(),
    }
}
