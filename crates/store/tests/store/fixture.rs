//! The fixture: a fresh database per test holding a small district, and helpers in domain terms.
//!
//! The district is 东丽区 (120110) with two real streets, 张贵庄街道 and 丰年村街道; their communities and
//! cells are generated, as they are in the shipped data. Every role has one person with a scope
//! that fits it. Times are passed explicitly: `at(minutes)` counts from a Monday morning in Tianjin.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use onegrid_core::{
    Actor, Area, AreaCode, AreaTree, Case, CaseId, CategoryCode, Channel, Command, DepartmentCode,
    Departments, Event, NewReport, Person, PersonId, Reference, Reporter, Role, Scope, Taxonomy,
    WorkCalendar, WorkingHours,
};
use onegrid_store::{actor_for, CaseFilter, SqliteStore, Store, StoreError, VerifyReport};
use tempfile::TempDir;

pub const DISTRICT: &str = "120110";
pub const STREET_1: &str = "120110001";
pub const STREET_2: &str = "120110002";
pub const COMMUNITY_1: &str = "120110001001";
pub const CELL_1A: &str = "120110001001001";
pub const CELL_1B: &str = "120110001001002";
pub const CELL_2A: &str = "120110002001001";
pub const CELL_2B: &str = "120110002001002";
pub const CELLS: [&str; 4] = [CELL_1A, CELL_1B, CELL_2A, CELL_2B];

pub const CITIZEN: &str = "citizen.li";
pub const CITIZEN_2: &str = "citizen.chen";
pub const GRID_WORKER_1: &str = "grid.street1";
pub const GRID_WORKER_2: &str = "grid.street2";
pub const DISPATCHER_1: &str = "dispatcher.street1";
pub const DISPATCHER_2: &str = "dispatcher.street2";
pub const HANDLER_CHENGGUAN: &str = "handler.chengguan";
pub const HANDLER_SHUIWU: &str = "handler.shuiwu";
pub const HANDLER_JIEDAO: &str = "handler.jiedao";
pub const COMMANDER: &str = "commander.center";
pub const SUPERVISOR: &str = "supervisor.qian";
pub const ADMIN: &str = "admin.root";
pub const INTEGRATOR: &str = "integrator.hotline";

/// 暴露垃圾: chengguan, grid tier.
pub const LITTER: &str = "S0101";
/// 路面塌陷: chengguan, district tier.
pub const ROAD_COLLAPSE: &str = "S0401";
/// 下水道堵塞或破损: shuiwu, street tier.
pub const BLOCKED_SEWER: &str = "S0404";
/// 邻里纠纷: jiedao, grid tier.
pub const NEIGHBOUR_DISPUTE: &str = "Z0101";

pub fn area(code: &str) -> AreaCode {
    AreaCode::parse(code).expect("valid test area code")
}

pub fn category(code: &str) -> CategoryCode {
    CategoryCode::parse(code).expect("valid test category code")
}

pub fn department(code: &str) -> DepartmentCode {
    DepartmentCode::parse(code).expect("valid test department code")
}

pub fn person_id(id: &str) -> PersonId {
    PersonId::parse(id).expect("valid test person id")
}

/// `minutes` after Monday 2024-03-04 09:00 in Tianjin (01:00 UTC), a working morning.
pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 4, 1, 0, 0)
        .single()
        .expect("valid base time")
        + Duration::minutes(minutes)
}

pub fn person(id: &str, role: Role, areas: &[&str], department_code: Option<&str>) -> Person {
    Person {
        id: person_id(id),
        name: format!("测试 {id}"),
        role,
        scope: Scope {
            areas: areas.iter().map(|code| area(code)).collect(),
            department: department_code.map(department),
        },
        phone: Some("13812345678".to_string()),
    }
}

pub fn people() -> Vec<Person> {
    vec![
        person(CITIZEN, Role::Citizen, &[], None),
        person(CITIZEN_2, Role::Citizen, &[], None),
        person(GRID_WORKER_1, Role::GridWorker, &[COMMUNITY_1], None),
        person(GRID_WORKER_2, Role::GridWorker, &[CELL_2A, CELL_2B], None),
        person(DISPATCHER_1, Role::Dispatcher, &[STREET_1], None),
        person(DISPATCHER_2, Role::Dispatcher, &[STREET_2], None),
        person(
            HANDLER_CHENGGUAN,
            Role::DepartmentHandler,
            &[],
            Some("chengguan"),
        ),
        person(HANDLER_SHUIWU, Role::DepartmentHandler, &[], Some("shuiwu")),
        person(HANDLER_JIEDAO, Role::DepartmentHandler, &[], Some("jiedao")),
        person(COMMANDER, Role::Commander, &[DISTRICT], None),
        person(SUPERVISOR, Role::Supervisor, &[DISTRICT], None),
        person(ADMIN, Role::Admin, &[], None),
        person(INTEGRATOR, Role::Integrator, &[], None),
    ]
}

pub fn area_tree() -> AreaTree {
    let node = |code: &str, name: &str, generated: bool| Area {
        code: area(code),
        name: name.to_string(),
        generated,
    };
    AreaTree::new([
        node(DISTRICT, "东丽区", false),
        node(STREET_1, "张贵庄街道", false),
        node(COMMUNITY_1, "张贵庄街道第1社区（生成）", true),
        node(CELL_1A, "001", true),
        node(CELL_1B, "002", true),
        node(STREET_2, "丰年村街道", false),
        node("120110002001", "丰年村街道第1社区（生成）", true),
        node(CELL_2A, "001", true),
        node(CELL_2B, "002", true),
    ])
    .expect("valid test area tree")
}

/// The fixture's reference data: the small district, the shipped departments and taxonomy, the
/// official calendar, and one person per role.
pub fn reference() -> Reference {
    let departments = Departments::default_departments().expect("default departments parse");
    let taxonomy = Taxonomy::default_taxonomy(&departments).expect("default taxonomy parses");
    Reference {
        areas: area_tree(),
        taxonomy,
        departments,
        people: people()
            .into_iter()
            .map(|person| (person.id.clone(), person))
            .collect(),
        calendar: WorkCalendar::china(),
    }
}

/// A report through `channel` about `cell`, with no reporter details beyond the channel.
pub fn new_report(channel: Channel, cell: &str, category_code: &str, title: &str) -> NewReport {
    NewReport {
        channel,
        reporter: Reporter {
            channel,
            person: None,
            name: None,
            phone: None,
        },
        cell: area(cell),
        point: None,
        distance_to_cell_m: None,
        address: None,
        category: category(category_code),
        title: title.to_string(),
        description: String::new(),
        photos: Vec::new(),
        tier: None,
        tier_reason: None,
        proposal: None,
    }
}

pub fn grid_worker_for(cell: &str) -> &'static str {
    if cell.starts_with(STREET_1) {
        GRID_WORKER_1
    } else {
        GRID_WORKER_2
    }
}

pub fn dispatcher_for(cell: &str) -> &'static str {
    if cell.starts_with(STREET_1) {
        DISPATCHER_1
    } else {
        DISPATCHER_2
    }
}

pub fn handler_for(department_code: &str) -> &'static str {
    match department_code {
        "chengguan" => HANDLER_CHENGGUAN,
        "shuiwu" => HANDLER_SHUIWU,
        "jiedao" => HANDLER_JIEDAO,
        other => panic!("the fixture has no handler for department {other}"),
    }
}

pub fn accept() -> Command {
    Command::Accept { category: None }
}

pub fn reject(reason: &str) -> Command {
    Command::Reject {
        reason: reason.to_string(),
    }
}

/// 派遣 to the category's default department.
pub fn dispatch() -> Command {
    Command::Dispatch {
        department: None,
        co_departments: Vec::new(),
    }
}

pub fn dispatch_to(department_code: &str) -> Command {
    Command::Dispatch {
        department: Some(department(department_code)),
        co_departments: Vec::new(),
    }
}

pub fn feedback(note: &str) -> Command {
    Command::Feedback {
        evidence: vec![format!("photo:{note}")],
        note: note.to_string(),
    }
}

pub fn verify_passed() -> Command {
    Command::Verify {
        passed: true,
        note: String::new(),
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

pub fn supervise(note: &str) -> Command {
    Command::Supervise {
        note: note.to_string(),
    }
}

pub fn all_cases() -> CaseFilter {
    CaseFilter {
        limit: Some(10_000),
        ..CaseFilter::default()
    }
}

/// The reference data as comparable parts (the calendar's holiday table is always the shipped one;
/// only the working hours are stored).
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceSnapshot {
    pub areas: AreaTree,
    pub taxonomy: Taxonomy,
    pub departments: Departments,
    pub people: BTreeMap<PersonId, Person>,
    pub hours: WorkingHours,
}

impl ReferenceSnapshot {
    pub fn of(reference: &Reference) -> ReferenceSnapshot {
        ReferenceSnapshot {
            areas: reference.areas.clone(),
            taxonomy: reference.taxonomy.clone(),
            departments: reference.departments.clone(),
            people: reference.people.clone(),
            hours: reference.calendar.hours().clone(),
        }
    }
}

/// The database "in meaning": what every read of the trait shows.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub count: u64,
    pub cases: Vec<Case>,
    pub histories: Vec<Vec<Event>>,
    pub reference: ReferenceSnapshot,
}

pub struct TestDb {
    pub store: SqliteStore,
    path: PathBuf,
    _dir: TempDir,
}

impl TestDb {
    /// A fresh database holding the fixture's reference data.
    pub async fn new() -> TestDb {
        TestDb::with_reference(reference()).await
    }

    pub async fn with_reference(reference: Reference) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("onegrid.sqlite");
        let store = SqliteStore::open(&path).expect("the store opens");
        store
            .put_reference(reference)
            .await
            .expect("the fixture's reference data is valid");
        TestDb {
            store,
            path,
            _dir: dir,
        }
    }

    /// Closes the store and opens the same file again, as a restarted server would.
    pub async fn reopen(self) -> TestDb {
        let TestDb { store, path, _dir } = self;
        drop(store);
        let store = SqliteStore::open(&path).expect("the store opens again");
        TestDb { store, path, _dir }
    }

    /// A second connection to the file, as someone with shell access would open it.
    pub fn raw_connection(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("a raw connection opens")
    }

    pub fn actor(&self, person: &str) -> Actor {
        actor_for(&self.store, &person_id(person)).expect("the person is in the reference data")
    }

    pub async fn report(
        &self,
        person: &str,
        report: NewReport,
        now: DateTime<Utc>,
    ) -> Result<Case, StoreError> {
        self.store.report(report, &self.actor(person), now).await
    }

    /// A report by the cell's grid worker, which must be accepted.
    pub async fn reported(
        &self,
        cell: &str,
        category_code: &str,
        title: &str,
        now: DateTime<Utc>,
    ) -> Case {
        let report = new_report(Channel::GridWorker, cell, category_code, title);
        self.report(grid_worker_for(cell), report, now)
            .await
            .expect("the grid worker's report is accepted")
    }

    pub async fn act(
        &self,
        person: &str,
        id: CaseId,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Case, StoreError> {
        self.store
            .act(id, None, command, &self.actor(person), now)
            .await
    }

    /// `act` with optimistic concurrency: refused unless the case is still at `version`.
    pub async fn act_at_version(
        &self,
        person: &str,
        id: CaseId,
        version: u64,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Case, StoreError> {
        self.store
            .act(id, Some(version), command, &self.actor(person), now)
            .await
    }

    pub async fn merge(
        &self,
        person: &str,
        source: CaseId,
        target: CaseId,
        now: DateTime<Utc>,
    ) -> Result<(Case, Case), StoreError> {
        self.store
            .merge(source, target, &self.actor(person), now)
            .await
    }

    /// Applies each step ten minutes after the previous one, from `start_minutes`; every step must
    /// be accepted. Returns the case after the last step.
    pub async fn walk(
        &self,
        id: CaseId,
        steps: impl IntoIterator<Item = (&str, Command)>,
        start_minutes: i64,
    ) -> Case {
        let mut case = self.store.case(id).await.expect("the case exists");
        for (index, (person, command)) in steps.into_iter().enumerate() {
            let name = command.name();
            let now = at(start_minutes + 10 * index as i64);
            case = self
                .act(person, id, command, now)
                .await
                .unwrap_or_else(|error| panic!("{person} could not {name} case {id}: {error}"));
        }
        case
    }

    /// 受理 → 派遣 (default department) → 反馈 → 核查 → 结案, by the people responsible for the case.
    pub async fn close_loop(&self, id: CaseId, start_minutes: i64) -> Case {
        let case = self.store.case(id).await.expect("the case exists");
        let cell = case.cell.to_string();
        let lead = self
            .store
            .reference()
            .taxonomy
            .get(&case.category)
            .expect("the case's category is known")
            .department
            .to_string();
        let steps = [
            (dispatcher_for(&cell), accept()),
            (dispatcher_for(&cell), dispatch()),
            (handler_for(&lead), feedback("已处置")),
            (grid_worker_for(&cell), verify_passed()),
            (dispatcher_for(&cell), close()),
        ];
        self.walk(id, steps, start_minutes).await
    }

    pub async fn snapshot(&self) -> Snapshot {
        let cases = self
            .store
            .list_cases(&all_cases())
            .await
            .expect("list_cases works");
        let mut histories = Vec::new();
        for case in &cases {
            histories.push(self.store.history(case.id).await.expect("history works"));
        }
        Snapshot {
            count: self.store.count_cases().await.expect("count_cases works"),
            cases,
            histories,
            reference: ReferenceSnapshot::of(&self.store.reference()),
        }
    }

    pub async fn verify(&self) -> VerifyReport {
        self.store
            .verify(Arc::new(|_, _| {}))
            .await
            .expect("verify runs")
    }

    pub async fn assert_verifies(&self) {
        let report = self.verify().await;
        assert!(report.is_ok(), "verify found broken cases: {report:#?}");
    }
}

/// Runs `attempt`, which must be refused with an error that `is_expected` accepts and whose message
/// names each of `names`, and checks that the database reads the same before and after.
pub async fn check_refused<T: Debug>(
    db: &TestDb,
    attempt: impl Future<Output = Result<T, StoreError>>,
    is_expected: impl Fn(&StoreError) -> bool,
    names: &[&str],
) {
    let before = db.snapshot().await;
    let error = match attempt.await {
        Ok(value) => panic!("expected a refusal naming {names:?}, got success: {value:?}"),
        Err(error) => error,
    };
    assert!(is_expected(&error), "unexpected error: {error:?}");
    let message = error.to_string();
    for name in names {
        assert!(
            message.contains(name),
            "the message {message:?} does not name {name:?}"
        );
    }
    let after = db.snapshot().await;
    assert!(
        after == before,
        "the refused attempt ({message}) changed the database"
    );
}
