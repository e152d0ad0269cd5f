//! The Dongli (东丽区, 120110) demo: real streets and zones with their official codes, generated
//! communities and grid cells (no public source lists them, and their names say so), the default
//! departments and taxonomy, one account per role, and cases whose texts are real citizen messages.
//!
//! Case texts come from the 2020 Teddy Cup citizen-message data set (问政 message board; place names
//! masked by the organisers as A市/A3区). Reporter names and phones, channels, cells and the workflow
//! history of each case are generated: the messages are real, their handling here is not.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use geo::{BoundingRect, MultiPolygon};
use indicatif::{ProgressBar, ProgressStyle};
use onegrid_core::{
    Actor, Area, AreaCode, AreaLevel, AreaTree, CaseId, CaseState, CategoryCode, Channel, Command,
    Departments, GeoPoint, NewReport, Person, PersonId, Reference, Reporter, Role, Scope, Taxonomy,
    WorkCalendar,
};
use onegrid_geo::generate::{divide_among, subdivide, GenerateOptions};
use onegrid_geo::GridFeature;
use onegrid_store::{CellIndex, GridShape, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Dongli's streets and zones: NBS 统计用区划代码 2023 (shared/data/tianjin-admin-codes).
const STREETS_CSV: &str = include_str!("../data/dongli_streets.csv");
/// 640 real citizen messages (subject, body, label) from the Teddy Cup 2020 C data set.
const MESSAGES_TSV: &str = include_str!("../data/demo_messages.tsv");

const DISTRICT: &str = "120110";
const DAYS: i64 = 90;

/// The accounts printed at start, one per role.
/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "onegrid-demo";

const ACCOUNTS: [(&str, Role); 8] = [
    ("citizen", Role::Citizen),
    ("gridworker", Role::GridWorker),
    ("dispatcher", Role::Dispatcher),
    ("handler", Role::DepartmentHandler),
    ("commander", Role::Commander),
    ("supervisor", Role::Supervisor),
    ("admin", Role::Admin),
    ("integrator", Role::Integrator),
];

fn code(text: &str) -> anyhow::Result<AreaCode> {
    AreaCode::parse(text).with_context(|| format!("demo area code {text}"))
}

fn person_id(text: &str) -> anyhow::Result<PersonId> {
    PersonId::parse(text).with_context(|| format!("demo person id {text}"))
}

/// Dongli's outline, WGS84 (converted from DataV's GCJ-02; see data/PROVENANCE.md).
const BOUNDARY_GEOJSON: &str = include_str!("../data/dongli_120110_wgs84.geojson");
/// Target sizes of the generated communities and cells: about 95 communities and 2,400 cells over
/// Dongli's 476 km², the scale of a real district grid (a cell is a few minutes' walk across).
const COMMUNITY_AREA_M2: f64 = 5_000_000.0;
const CELL_AREA_M2: f64 = 200_000.0;

/// The demo's grid layers: the real district outline, its 19 real streets/zones with approximate
/// outlines (no public source has their polygons), generated communities and generated cells.
pub struct DemoGrid {
    pub district: GridShape,
    pub streets: Vec<GridShape>,
    pub communities: Vec<GridShape>,
    pub cells: Vec<GridShape>,
}

impl DemoGrid {
    pub fn layers(&self) -> [(AreaLevel, Vec<GridShape>); 4] {
        [
            (AreaLevel::District, vec![self.district.clone()]),
            (AreaLevel::Street, self.streets.clone()),
            (AreaLevel::Community, self.communities.clone()),
            (AreaLevel::Cell, self.cells.clone()),
        ]
    }

    fn areas(&self) -> anyhow::Result<AreaTree> {
        let all = std::iter::once(&self.district)
            .chain(&self.streets)
            .chain(&self.communities)
            .chain(&self.cells)
            .map(|shape| shape.area.clone());
        Ok(AreaTree::new(all)?)
    }
}

fn boundary() -> anyhow::Result<MultiPolygon<f64>> {
    let outcome = onegrid_geo::read::read_geojson(
        BOUNDARY_GEOJSON.as_bytes(),
        &onegrid_geo::read::ReadOptions::default(),
    )
    .context("the embedded Dongli boundary is unreadable")?;
    outcome
        .layer
        .features
        .into_iter()
        .next()
        .map(|feature| feature.geometry)
        .context("the embedded Dongli boundary has no polygon")
}

fn shape(feature: GridFeature, approximate: bool, generated: bool) -> anyhow::Result<GridShape> {
    Ok(GridShape {
        area: Area {
            code: code(&feature.code)?,
            name: feature.name,
            generated,
        },
        geometry: feature.geometry,
        approximate,
    })
}

/// Builds the demo grid. Deterministic: the same layers every time.
pub fn grid() -> anyhow::Result<DemoGrid> {
    let outline = boundary()?;
    let mut reader = csv::Reader::from_reader(STREETS_CSV.as_bytes());
    let mut streets = Vec::new();
    let mut seeds = Vec::new();
    for record in reader.records() {
        let record = record?;
        let field = |i: usize| record.get(i).unwrap_or_default();
        seeds.push(geo::Coord {
            x: field(3).parse::<f64>().context("approx_lon")?,
            y: field(4).parse::<f64>().context("approx_lat")?,
        });
        streets.push((field(0).to_string(), field(1).to_string()));
    }
    let street_features: Vec<GridFeature> = divide_among(&outline, &seeds)
        .into_iter()
        .zip(streets)
        .enumerate()
        .map(|(index, (geometry, (code, name)))| GridFeature {
            code,
            name,
            parent: Some(DISTRICT.to_string()),
            geometry,
            index,
        })
        .collect();
    let communities = subdivide(
        &street_features,
        &GenerateOptions {
            target_area_m2: COMMUNITY_AREA_M2,
            seed: 2021,
            lloyd_iterations: 3,
        },
    )?;
    let cells = subdivide(
        &communities,
        &GenerateOptions {
            target_area_m2: CELL_AREA_M2,
            seed: 2022,
            lloyd_iterations: 2,
        },
    )?;
    Ok(DemoGrid {
        district: GridShape {
            area: Area {
                code: code(DISTRICT)?,
                name: "东丽区".to_string(),
                generated: false,
            },
            geometry: outline,
            approximate: false,
        },
        streets: street_features
            .into_iter()
            .map(|f| shape(f, true, false))
            .collect::<anyhow::Result<_>>()?,
        communities: communities
            .into_iter()
            .map(|f| shape(f, false, true))
            .collect::<anyhow::Result<_>>()?,
        cells: cells
            .into_iter()
            .map(|f| shape(f, false, true))
            .collect::<anyhow::Result<_>>()?,
    })
}

fn person(id: &str, name: &str, role: Role, scope: Scope) -> anyhow::Result<Person> {
    Ok(Person {
        id: person_id(id)?,
        name: name.to_string(),
        role,
        scope,
        phone: None,
    })
}

fn area_scope(codes: &[&AreaCode]) -> Scope {
    Scope {
        areas: codes.iter().map(|c| (*c).clone()).collect(),
        department: None,
    }
}

/// One account per role, plus the generated staff the demo's history needs: a grid worker per
/// community, a dispatcher per street and a handler per department.
pub fn people(areas: &AreaTree, departments: &Departments) -> anyhow::Result<Vec<Person>> {
    let district = code(DISTRICT)?;
    let first_street = code("120110001")?;
    let first_community = code("120110001001")?;
    let chengguan = onegrid_core::DepartmentCode::parse("chengguan")?;
    let mut people = vec![
        person(
            "citizen",
            "王女士（演示市民）",
            Role::Citizen,
            Scope::default(),
        )?,
        person(
            "gridworker",
            "李网格员（演示）",
            Role::GridWorker,
            area_scope(&[&first_community]),
        )?,
        person(
            "dispatcher",
            "张贵庄街道受理员（演示）",
            Role::Dispatcher,
            area_scope(&[&first_street]),
        )?,
        person(
            "handler",
            "城管委处置员（演示）",
            Role::DepartmentHandler,
            Scope {
                areas: Vec::new(),
                department: Some(chengguan),
            },
        )?,
        person(
            "commander",
            "区社会治理指挥中心值班员（演示）",
            Role::Commander,
            area_scope(&[&district]),
        )?,
        person(
            "supervisor",
            "区督查室（演示）",
            Role::Supervisor,
            area_scope(&[&district]),
        )?,
        person("admin", "系统管理员（演示）", Role::Admin, Scope::default())?,
        person(
            "integrator",
            "12345热线接口（演示）",
            Role::Integrator,
            Scope::default(),
        )?,
    ];
    for community in areas.at_level(AreaLevel::Community) {
        people.push(person(
            &format!("grid.{}", community.code),
            &format!("{}网格员（生成）", community.name),
            Role::GridWorker,
            area_scope(&[&community.code]),
        )?);
    }
    for street in areas.at_level(AreaLevel::Street) {
        people.push(person(
            &format!("dispatcher.{}", street.code),
            &format!("{}受理员（生成）", street.name),
            Role::Dispatcher,
            area_scope(&[&street.code]),
        )?);
    }
    for department in departments.iter() {
        people.push(person(
            &format!("handler.{}", department.code),
            &format!("{}处置员（生成）", department.short_name),
            Role::DepartmentHandler,
            Scope {
                areas: Vec::new(),
                department: Some(department.code.clone()),
            },
        )?);
    }
    Ok(people)
}

/// The demo's reference data.
pub fn reference() -> anyhow::Result<Reference> {
    reference_for(&grid()?)
}

fn reference_for(grid: &DemoGrid) -> anyhow::Result<Reference> {
    let areas = grid.areas()?;
    let departments = Departments::default_departments()?;
    let taxonomy = Taxonomy::default_taxonomy(&departments)?;
    let people = people(&areas, &departments)?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    Ok(Reference {
        areas,
        taxonomy,
        departments,
        people,
        calendar: WorkCalendar::china(),
    })
}

/// A real message and the label its government gave it.
struct Message {
    subject: String,
    body: String,
    label: String,
}

fn messages() -> Vec<Message> {
    MESSAGES_TSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields.len() == 4).then(|| Message {
                subject: fields[1].to_string(),
                body: fields[2].to_string(),
                label: fields[3].to_string(),
            })
        })
        .collect()
}

/// The data set's 7 labels map to onegrid's governance major classes (docs/glossary.md).
fn major_for_label(label: &str) -> &'static str {
    match label {
        "城乡建设" => "Z06",
        "环境保护" => "Z04",
        "交通运输" => "Z07",
        "教育文体" => "Z08",
        "劳动和社会保障" => "Z09",
        "商贸旅游" => "Z10",
        "卫生计生" => "Z11",
        _ => "Z05",
    }
}

/// How far a demo case gets through the loop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Goal {
    Reported,
    Accepted,
    Rejected,
    Handling,
    AwaitingVerification,
    Verified,
    Closed,
    Rated,
    LongTerm,
}

fn pick_goal(rng: &mut StdRng, age_days: i64) -> Goal {
    let roll = rng.gen_range(0..100);
    if age_days < 3 {
        return match roll {
            0..=34 => Goal::Reported,
            35..=49 => Goal::Accepted,
            50..=79 => Goal::Handling,
            _ => Goal::AwaitingVerification,
        };
    }
    match roll {
        0..=3 => Goal::Reported,
        4..=7 => Goal::Accepted,
        8..=13 => Goal::Rejected,
        14..=25 => Goal::Handling,
        26..=31 => Goal::AwaitingVerification,
        32..=36 => Goal::Verified,
        37..=51 => Goal::Closed,
        52..=95 => Goal::Rated,
        _ => Goal::LongTerm,
    }
}

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];

/// Drives one demo case from its report to its goal, each step after the last in working time.
struct CaseDriver<'a> {
    store: &'a dyn Store,
    reference: &'a Reference,
    now: DateTime<Utc>,
    at: DateTime<Utc>,
    id: Option<CaseId>,
}

impl CaseDriver<'_> {
    fn actor(&self, id: &str) -> anyhow::Result<Actor> {
        self.reference
            .person(&person_id(id)?)
            .map(Person::actor)
            .with_context(|| format!("demo account {id} missing"))
    }

    /// Moves the clock forward by a random share of `limit_hours` (sometimes past it, so the demo
    /// has late cases too). Returns false when that would pass the present: the case stops here.
    fn advance(&mut self, rng: &mut StdRng, limit_hours: u32) -> anyhow::Result<bool> {
        let limit_minutes = i64::from(limit_hours.max(1)) * 60;
        let minutes = rng.gen_range(5..=limit_minutes * 13 / 10);
        let next = self
            .reference
            .calendar
            .add_working_minutes(self.at, minutes)?;
        if next >= self.now {
            return Ok(false);
        }
        self.at = next;
        Ok(true)
    }

    async fn act(&mut self, actor: &str, command: Command) -> anyhow::Result<()> {
        let id = self.id.context("case not reported yet")?;
        let actor = self.actor(actor)?;
        self.store
            .act(id, None, command, &actor, self.at)
            .await
            .with_context(|| format!("demo case {id}"))?;
        Ok(())
    }
}

/// Puts each demo case at a random point of the district, in the cell the index says.
struct Placer<'a> {
    index: &'a CellIndex,
    bounds: geo::Rect<f64>,
}

impl Placer<'_> {
    fn place(&self, rng: &mut StdRng) -> anyhow::Result<(GeoPoint, AreaCode)> {
        // The district fills about 60 % of its bounding box; 1,000 tries never all miss.
        for _ in 0..1_000 {
            let lon = rng.gen_range(self.bounds.min().x..self.bounds.max().x);
            let lat = rng.gen_range(self.bounds.min().y..self.bounds.max().y);
            if let Ok(found) = onegrid_store::locate_in(self.index, lon, lat) {
                if found.distance_m == 0.0 {
                    return Ok((GeoPoint { lon, lat }, found.cell));
                }
            }
        }
        anyhow::bail!("no point inside the demo grid found in 1,000 tries")
    }
}

async fn drive_case(
    store: &dyn Store,
    reference: &Reference,
    place: &Placer<'_>,
    message: &Message,
    seed: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<CaseId> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (point, cell) = place.place(&mut rng)?;
    let community = cell
        .ancestor_at(AreaLevel::Community)
        .context("cell without community")?;
    let street = cell
        .ancestor_at(AreaLevel::Street)
        .context("cell without street")?;
    let major = major_for_label(&message.label);
    let choices: Vec<&CategoryCode> = reference
        .taxonomy
        .iter()
        .filter(|c| c.code.major() == major)
        .map(|c| &c.code)
        .collect();
    let category = choices[rng.gen_range(0..choices.len())].clone();
    let limits = reference
        .taxonomy
        .get(&category)
        .context("category")?
        .limits;
    let channel = match rng.gen_range(0..10) {
        0..=2 => Channel::GridWorker,
        3..=4 => Channel::Citizen,
        5..=7 => Channel::Hotline12345,
        8 => Channel::PublicOpinion,
        _ => Channel::Open311,
    };
    let reporter_account = match channel {
        Channel::GridWorker => format!("grid.{community}"),
        Channel::Citizen | Channel::Open311 => "citizen".to_string(),
        _ => "integrator".to_string(),
    };
    let age_minutes = rng.gen_range(30..DAYS * 24 * 60);
    let reported_at = now - Duration::minutes(age_minutes);
    let goal = pick_goal(&mut rng, age_minutes / 60 / 24);
    let mut driver = CaseDriver {
        store,
        reference,
        now,
        at: reported_at,
        id: None,
    };
    let name = format!(
        "{}{}（生成）",
        SURNAMES[rng.gen_range(0..SURNAMES.len())],
        if rng.gen_bool(0.5) {
            "先生"
        } else {
            "女士"
        }
    );
    let phone = format!(
        "1{}{:09}",
        rng.gen_range(3..=9),
        rng.gen_range(0..1_000_000_000u64)
    );
    let report = NewReport {
        channel,
        reporter: Reporter {
            channel,
            person: None,
            name: Some(name),
            phone: Some(phone),
        },
        cell: cell.clone(),
        point: Some(point),
        distance_to_cell_m: None,
        address: None,
        category: category.clone(),
        title: message.subject.clone(),
        description: message.body.clone(),
        photos: Vec::new(),
        tier: None,
        tier_reason: None,
        proposal: None,
    };
    let actor = driver.actor(&reporter_account)?;
    let case = store
        .report(report, &actor, reported_at)
        .await
        .with_context(|| format!("demo report {:?}", message.subject))?;
    driver.id = Some(case.id);
    if goal == Goal::Reported {
        return Ok(case.id);
    }
    let dispatcher = format!("dispatcher.{street}");
    let grid_worker = format!("grid.{community}");
    if !driver.advance(&mut rng, limits.accept_hours)? {
        return Ok(case.id);
    }
    if goal == Goal::Rejected {
        driver
            .act(
                &dispatcher,
                Command::Reject {
                    reason: "不属于本平台受理范围，已告知来电人通过相应渠道反映（演示）"
                        .to_string(),
                },
            )
            .await?;
        return Ok(case.id);
    }
    let self_settled = channel == Channel::GridWorker && rng.gen_bool(0.4);
    if self_settled {
        driver
            .act(
                &grid_worker,
                Command::SelfSettle {
                    evidence: vec!["现场处置照片（演示）".to_string()],
                    note: "网格员现场协调解决（演示）".to_string(),
                },
            )
            .await?;
    } else {
        driver
            .act(&dispatcher, Command::Accept { category: None })
            .await?;
        if goal == Goal::Accepted || !driver.advance(&mut rng, limits.dispatch_hours)? {
            return Ok(case.id);
        }
        driver
            .act(
                &dispatcher,
                Command::Dispatch {
                    department: None,
                    co_departments: Vec::new(),
                },
            )
            .await?;
        let department = reference
            .taxonomy
            .get(&category)
            .context("category")?
            .department
            .clone();
        let handler = format!("handler.{department}");
        if rng.gen_bool(0.06) && driver.advance(&mut rng, 2)? {
            driver
                .act(
                    "commander",
                    Command::Supervise {
                        note: "请加快办理，按期反馈（演示督办）".to_string(),
                    },
                )
                .await?;
        }
        if goal == Goal::LongTerm {
            if driver.advance(&mut rng, limits.handle_hours)? {
                driver
                    .act(
                        &dispatcher,
                        Command::SetLongTerm {
                            reason: "涉及规划调整，需纳入年度计划解决（演示）".to_string(),
                        },
                    )
                    .await?;
            }
            return Ok(case.id);
        }
        if rng.gen_bool(0.08) && driver.advance(&mut rng, limits.handle_hours / 2)? {
            driver
                .act(
                    &handler,
                    Command::RequestExtension {
                        hours: limits.handle_hours,
                        reason: "需协调产权单位，申请延期（演示）".to_string(),
                    },
                )
                .await?;
            if driver.advance(&mut rng, 2)? {
                driver.act(&dispatcher, Command::ApproveExtension).await?;
            }
        }
        if goal == Goal::Handling || !driver.advance(&mut rng, limits.handle_hours)? {
            return Ok(case.id);
        }
        driver
            .act(
                &handler,
                Command::Feedback {
                    evidence: vec!["处置后照片（演示）".to_string()],
                    note: "已按要求处置完毕（演示）".to_string(),
                },
            )
            .await?;
        if rng.gen_bool(0.12) && driver.advance(&mut rng, limits.verify_hours)? {
            driver
                .act(
                    &grid_worker,
                    Command::Verify {
                        passed: false,
                        note: "现场核查仍未解决，退回重办（演示）".to_string(),
                    },
                )
                .await?;
            if !driver.advance(&mut rng, limits.handle_hours)? {
                return Ok(case.id);
            }
            driver
                .act(
                    &handler,
                    Command::Feedback {
                        evidence: vec!["返工后照片（演示）".to_string()],
                        note: "已返工处置（演示）".to_string(),
                    },
                )
                .await?;
        }
    }
    if goal == Goal::AwaitingVerification || !driver.advance(&mut rng, limits.verify_hours)? {
        return Ok(case.id);
    }
    let verifier = if self_settled {
        dispatcher.as_str()
    } else {
        grid_worker.as_str()
    };
    driver
        .act(
            verifier,
            Command::Verify {
                passed: true,
                note: "现场核查已解决（演示）".to_string(),
            },
        )
        .await?;
    if goal == Goal::Verified || !driver.advance(&mut rng, limits.close_hours)? {
        return Ok(case.id);
    }
    driver
        .act(
            &dispatcher,
            Command::Close {
                note: String::new(),
            },
        )
        .await?;
    if goal == Goal::Rated && driver.advance(&mut rng, 8)? {
        let score = match rng.gen_range(0..100) {
            0..=59 => 5,
            60..=84 => 4,
            85..=92 => 3,
            93..=96 => 2,
            _ => 1,
        };
        let rater = if reporter_account == "citizen" {
            "citizen"
        } else {
            dispatcher.as_str()
        };
        driver
            .act(
                rater,
                Command::Rate {
                    score,
                    comment: if rater == "citizen" {
                        "演示评价".to_string()
                    } else {
                        "回访评价（演示）".to_string()
                    },
                },
            )
            .await?;
    }
    Ok(case.id)
}

/// Creates the demo in an empty store: reference data, then the cases.
pub async fn create(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    let grid = grid()?;
    let reference = reference_for(&grid)?;
    store.put_reference(reference.clone()).await?;
    // Demo accounts share one well-known password, printed at start; a real district creates its
    // accounts with their own (POST /api/people).
    for (id, _) in ACCOUNTS {
        let person = PersonId::parse(id)?;
        let hash = onegrid_server::auth::hash_password(DEMO_PASSWORD)?;
        store.set_password(&person, hash, now).await?;
    }
    for (level, shapes) in grid.layers() {
        store.put_grid_layer(level, shapes, now).await?;
    }
    let index = store
        .cell_index()
        .context("the demo's cell layer gave no point index")?;
    let bounds = grid
        .district
        .geometry
        .bounding_rect()
        .context("the demo district has no extent")?;
    let place = Placer {
        index: &index,
        bounds,
    };
    let messages = messages();
    let bar = ProgressBar::new(messages.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("creating demo cases {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Cases are independent; drive them a few at a time so their writes share commits.
    for (chunk_index, chunk) in messages.chunks(32).enumerate() {
        let results = futures::future::join_all(chunk.iter().enumerate().map(|(i, message)| {
            let seed = (chunk_index * 32 + i) as u64;
            drive_case(store, &reference, &place, message, seed, now)
        }))
        .await;
        for result in results {
            result?;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    merge_duplicates(store, &reference, now).await?;
    supervision_tasks(store, now).await?;
    major_projects(store, now).await?;
    Ok(())
}

/// How many generated major projects the demo has.
pub const DEMO_PROJECTS: usize = 24;

/// Generated major projects (重大项目, names marked 「（示例）」) at every stage of the pipeline,
/// imported through the same workbook path a district uses, so that the rates have something to show.
async fn major_projects(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    let (workbook, _) = crate::projects_cmd::sample_workbook(store, DEMO_PROJECTS).await?;
    let supervisor = onegrid_core::PersonId::parse("supervisor")?;
    onegrid_server::projects::import_workbook(store, &workbook, false, None, &supervisor, now)
        .await
        .map_err(|e| anyhow::anyhow!("the demo's sample projects: {}", e.sentence()))?;
    Ok(())
}

/// Some matters are reported twice. The demo re-reports a dozen open cases through the 12345
/// hotline (same text, same cell, a little later) and merges each repeat into the original, as a
/// dispatcher would: one case, every reporter kept.
async fn merge_duplicates(
    store: &dyn Store,
    reference: &Reference,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let commander = reference
        .person(&person_id("commander")?)
        .map(Person::actor)
        .context("commander account")?;
    let integrator = reference
        .person(&person_id("integrator")?)
        .map(Person::actor)
        .context("integrator account")?;
    let open = store
        .list_cases(&onegrid_store::CaseFilter {
            state: Some(CaseState::Accepted),
            limit: Some(12),
            ..Default::default()
        })
        .await?;
    for original in open {
        let repeated_at = (original.updated_at + Duration::minutes(20)).min(now);
        let repeat = NewReport {
            channel: Channel::Hotline12345,
            reporter: Reporter {
                channel: Channel::Hotline12345,
                person: None,
                name: Some("赵先生（生成）".to_string()),
                phone: Some("13900000000".to_string()),
            },
            cell: original.cell.clone(),
            point: original.point,
            distance_to_cell_m: None,
            address: None,
            category: original.category.clone(),
            title: original.title.clone(),
            description: original.description.clone(),
            photos: Vec::new(),
            tier: None,
            tier_reason: None,
            proposal: None,
        };
        let repeat = store.report(repeat, &integrator, repeated_at).await?;
        store
            .merge(repeat.id, original.id, &commander, repeated_at)
            .await?;
    }
    Ok(())
}

/// Prints the demo accounts, one per role.
pub fn print_accounts(store: &dyn Store) {
    let reference = store.reference();
    eprintln!("demo accounts (one per role), password {DEMO_PASSWORD}:");
    for (id, role) in ACCOUNTS {
        if let Some(person) = PersonId::parse(id)
            .ok()
            .and_then(|p| reference.person(&p).cloned())
        {
            eprintln!("  {id:<12} {:<18} {}", role.as_str(), person.name);
        }
    }
}

/// Page 14 of Dongli's 2021 government work report, the document onegrid was created from (a copy of
/// `shared/seed/`, kept with the extractor's test data).
const SEED_REPORT: &str =
    include_str!("../../text/data/workreport/dongli-2021-government-work-report-p14.txt");

/// The seed report's targets as the demo's supervision tasks (督办任务), so that 督查督办 shows a real
/// plan. They are tracked against this year's calendar (deadline the end of this year) so that their
/// status means something today; the report's name says so.
async fn supervision_tasks(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<usize> {
    use chrono::Datelike;
    let extraction = onegrid_text::workreport::extract(SEED_REPORT);
    let china = chrono::FixedOffset::east_opt(8 * 3600).context("the China time offset")?;
    let year = now.with_timezone(&china).year();
    let (_, _, tasks) = onegrid_server::supervision::tasks_from_extraction(
        &extraction,
        Some("东丽区2021年政府工作报告（第14版；演示：按本年度督办）"),
        Some(year),
        &store.reference(),
    )
    .map_err(|e| anyhow::anyhow!("the seed report: {e}"))?;
    let count = tasks.len();
    let supervisor = onegrid_core::history::ActorRef {
        person: onegrid_core::PersonId::parse("supervisor")?,
        role: onegrid_core::Role::Supervisor,
    };
    store
        .supervision()
        .create_tasks(tasks, supervisor, now)
        .await?;
    Ok(count)
}
