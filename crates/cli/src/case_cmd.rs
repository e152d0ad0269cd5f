//! `onegrid case report|show|list|act`: the workflow from a terminal. Every command acts as a
//! named person (`--as`), so the same rights apply as everywhere else.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use onegrid_core::case::{Proposal, ProposalKind};
use onegrid_core::history::verify_chain;
use onegrid_core::{
    AreaCode, Case, CaseId, CaseState, CategoryCode, Channel, Command, DepartmentCode, GeoPoint,
    NewReport, PersonId, Reporter, Tier,
};
use onegrid_store::{actor_for, CaseFilter, Store};

#[derive(Subcommand)]
pub enum CaseCommand {
    /// 上报: report a new case.
    Report(ReportArgs),
    /// Show one case with its history and whether its chain verifies.
    Show {
        #[command(flatten)]
        common: Common,
        id: CaseId,
    },
    /// List cases, oldest first.
    List(ListArgs),
    /// Apply a workflow command to a case.
    Act {
        #[command(flatten)]
        common: Common,
        /// The person acting.
        #[arg(long = "as")]
        actor: String,
        /// Refuse if the case is no longer at this version (someone else acted meanwhile).
        #[arg(long)]
        expect_version: Option<u64>,
        /// When it happened (RFC 3339); default now.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        id: CaseId,
        #[command(subcommand)]
        action: Action,
    },
}

#[derive(Args)]
pub struct Common {
    #[arg(long)]
    db: PathBuf,
    /// Machine-readable JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    common: Common,
    /// The person reporting (a citizen, grid worker, dispatcher or integrator account).
    #[arg(long = "as")]
    actor: String,
    /// The 15-digit grid cell code (default: the cell the --point lies in).
    #[arg(long, required_unless_present = "point")]
    cell: Option<String>,
    /// The subcategory code, e.g. S0101 (for a proposal, its kind's category by default: Z9901
    /// 人大代表建议, Z9902 政协委员提案).
    #[arg(long, required_unless_present = "proposal_kind")]
    category: Option<String>,
    #[arg(long)]
    title: String,
    #[arg(long, default_value = "")]
    description: String,
    /// grid_worker, citizen, hotline_12345, police_110, public_opinion, sensor, open311 or desk.
    #[arg(long)]
    channel: Option<String>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    address: Option<String>,
    /// Longitude and latitude, e.g. --point 117.31,39.09 (in the --crs coordinate system).
    #[arg(long, value_parser = parse_point)]
    point: Option<GeoPoint>,
    /// The point's coordinate system: wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu). Stored as WGS84.
    #[arg(long, default_value = "wgs84")]
    crs: onegrid_geo::crs::Crs,
    #[arg(long = "photo")]
    photos: Vec<String>,
    /// When it was reported (RFC 3339); default now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    #[command(flatten)]
    proposal: ProposalArgs,
}

/// A proposal (建议提案) handed over for handling, filed as a case (docs/supervision.md,
/// "Proposals"). Only a dispatcher or the command center files one.
#[derive(Args)]
pub struct ProposalArgs {
    /// File a proposal: npc_suggestion (人大代表建议) or cppcc_proposal (政协委员提案).
    #[arg(
        long,
        value_parser = parse_proposal_kind,
        requires_all = ["proposal_number", "proposal_proposer"]
    )]
    proposal_kind: Option<ProposalKind>,
    /// The proposal's number, e.g. 第0123号.
    #[arg(long, requires = "proposal_kind")]
    proposal_number: Option<String>,
    /// The session it was raised at, e.g. 区十八届人大三次会议.
    #[arg(long, requires = "proposal_kind")]
    proposal_session: Option<String>,
    /// The deputy or member who raised it (or the group, for a joint proposal).
    #[arg(long, requires = "proposal_kind")]
    proposal_proposer: Option<String>,
    /// The handling deadline the document carries: a date (due at 18:00 China time that day) or
    /// an RFC 3339 time. Default: 3 months after filing.
    #[arg(long, requires = "proposal_kind", value_parser = parse_due)]
    proposal_due: Option<DateTime<Utc>>,
}

impl ProposalArgs {
    /// The proposal, as the HTTP intake builds it; `None` without `--proposal-kind`.
    fn proposal(self) -> Option<Proposal> {
        Some(Proposal::from_input(
            self.proposal_kind?,
            self.proposal_number.as_deref().unwrap_or_default(),
            self.proposal_session.as_deref(),
            self.proposal_proposer.as_deref().unwrap_or_default(),
            self.proposal_due,
        ))
    }
}

fn parse_proposal_kind(text: &str) -> Result<ProposalKind, String> {
    ProposalKind::parse(text.trim()).ok_or_else(|| {
        format!(
            "{text:?} is neither npc_suggestion (人大代表建议) nor cppcc_proposal (政协委员提案)"
        )
    })
}

/// A handling deadline: `2027-03-01` (18:00 that day, China time: the end of the working day) or
/// an RFC 3339 time.
fn parse_due(text: &str) -> Result<DateTime<Utc>, String> {
    use chrono::TimeZone;
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let end_of_day = date.and_hms_opt(18, 0, 0).expect("18:00 is a valid time");
        return onegrid_core::calendar::TIMEZONE
            .from_local_datetime(&end_of_day)
            .single()
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| format!("{text} 18:00 is not a time in China"));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is neither a date (2027-03-01) nor an RFC 3339 time"))
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    common: Common,
    /// Cases in this area subtree (street, community or cell code).
    #[arg(long)]
    area: Option<String>,
    #[arg(long)]
    state: Option<String>,
    #[arg(long)]
    category: Option<String>,
    #[arg(long)]
    department: Option<String>,
    #[arg(long)]
    tier: Option<String>,
    #[arg(long)]
    channel: Option<String>,
    /// Text in the title or description.
    #[arg(long)]
    text: Option<String>,
    /// Only cases with a larger id (for paging).
    #[arg(long)]
    after: Option<CaseId>,
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

#[derive(Subcommand)]
pub enum Action {
    /// 受理/立案, optionally correcting the category.
    Accept {
        #[arg(long)]
        category: Option<String>,
    },
    /// 不予立案
    Reject {
        #[arg(long)]
        reason: String,
    },
    /// 派遣 to a department (default: the category's department), with co-handlers (协办).
    Dispatch {
        #[arg(long)]
        department: Option<String>,
        #[arg(long = "co")]
        co_departments: Vec<String>,
    },
    /// 自处置: settled on the spot by the grid worker.
    SelfSettle {
        #[arg(long = "evidence", required = true)]
        evidence: Vec<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 退回: the case is not this department's.
    Return {
        #[arg(long)]
        reason: String,
    },
    /// 反馈: report it done, with evidence.
    Feedback {
        #[arg(long = "evidence", required = true)]
        evidence: Vec<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 核查: --pass, or --fail with a note (back to handling, counted as rework).
    Verify {
        #[arg(long, conflicts_with = "fail", required_unless_present = "fail")]
        pass: bool,
        #[arg(long)]
        fail: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 结案
    Close {
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 评价: 1 (very dissatisfied) to 5 (very satisfied).
    Rate {
        #[arg(long)]
        score: u8,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// 延期申请
    RequestExtension {
        #[arg(long)]
        hours: u32,
        #[arg(long)]
        reason: String,
    },
    /// 延期批准
    ApproveExtension,
    /// 延期驳回
    DenyExtension {
        #[arg(long)]
        reason: String,
    },
    /// 挂账
    LongTerm {
        #[arg(long)]
        reason: String,
    },
    /// 挂账恢复
    Resume {
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 督办
    Supervise {
        #[arg(long)]
        note: String,
    },
    /// 升级: to street or district, with co-handling departments.
    Escalate {
        #[arg(long)]
        to: String,
        #[arg(long = "co")]
        co_departments: Vec<String>,
        #[arg(long)]
        reason: String,
    },
    /// 合并: this case duplicates case --into.
    Merge {
        #[arg(long)]
        into: CaseId,
    },
}

/// `lon,lat` (spaces around the numbers allowed), as `--point` and `grid locate` take it.
pub(crate) fn parse_point(text: &str) -> Result<GeoPoint, String> {
    let (lon, lat) = text
        .split_once(',')
        .ok_or_else(|| format!("point {text:?} must be LON,LAT"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("{s:?} is not a number"))
    };
    Ok(GeoPoint {
        lon: parse(lon)?,
        lat: parse(lat)?,
    })
}

fn department(text: &str) -> anyhow::Result<DepartmentCode> {
    DepartmentCode::parse(text).map_err(Into::into)
}

fn parse_channel(text: &str) -> anyhow::Result<Channel> {
    Channel::parse(text).with_context(|| {
        format!(
            "channel {text:?} is not one of: {}",
            Channel::ALL.map(Channel::as_str).join(", ")
        )
    })
}

fn command_for(action: Action) -> anyhow::Result<Command> {
    Ok(match action {
        Action::Accept { category } => Command::Accept {
            category: category.as_deref().map(CategoryCode::parse).transpose()?,
        },
        Action::Reject { reason } => Command::Reject { reason },
        Action::Dispatch {
            department: lead,
            co_departments,
        } => Command::Dispatch {
            department: lead.as_deref().map(department).transpose()?,
            co_departments: co_departments
                .iter()
                .map(|d| department(d))
                .collect::<Result<_, _>>()?,
        },
        Action::SelfSettle { evidence, note } => Command::SelfSettle { evidence, note },
        Action::Return { reason } => Command::Return { reason },
        Action::Feedback { evidence, note } => Command::Feedback { evidence, note },
        Action::Verify { pass, note, .. } => Command::Verify { passed: pass, note },
        Action::Close { note } => Command::Close { note },
        Action::Rate { score, comment } => Command::Rate { score, comment },
        Action::RequestExtension { hours, reason } => Command::RequestExtension { hours, reason },
        Action::ApproveExtension => Command::ApproveExtension,
        Action::DenyExtension { reason } => Command::DenyExtension { reason },
        Action::LongTerm { reason } => Command::SetLongTerm { reason },
        Action::Resume { note } => Command::ResumeFromLongTerm { note },
        Action::Supervise { note } => Command::Supervise { note },
        Action::Escalate {
            to,
            co_departments,
            reason,
        } => Command::Escalate {
            to: Tier::parse(&to)
                .with_context(|| format!("tier {to:?} is not grid, street or district"))?,
            co_departments: co_departments
                .iter()
                .map(|d| department(d))
                .collect::<Result<_, _>>()?,
            reason,
        },
        Action::Merge { into } => Command::MergeInto { target: into },
    })
}

pub async fn run(command: CaseCommand) -> anyhow::Result<ExitCode> {
    match command {
        CaseCommand::Report(args) => report(args).await,
        CaseCommand::Show { common, id } => show(common, id).await,
        CaseCommand::List(args) => list(args).await,
        CaseCommand::Act {
            common,
            actor,
            expect_version,
            at,
            id,
            action,
        } => {
            let store = crate::open_existing(&common.db)?;
            let actor = actor_for(store.as_ref(), &PersonId::parse(&actor)?)?;
            let now = at.unwrap_or_else(Utc::now);
            let case = match command_for(action)? {
                Command::MergeInto { target } => store.merge(id, target, &actor, now).await?.0,
                command => store.act(id, expect_version, command, &actor, now).await?,
            };
            print_case(store.as_ref(), &case, common.json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let store = crate::open_existing(&args.common.db)?;
    let point = args.point.map(|p| {
        let wgs84 = args.crs.to_wgs84(geo::Coord { x: p.lon, y: p.lat });
        GeoPoint {
            lon: wgs84.x,
            lat: wgs84.y,
        }
    });
    // The store checks a given cell against the point; without a cell, the point decides.
    let cell = match (&args.cell, point) {
        (Some(cell), _) => AreaCode::parse(cell)?,
        (None, Some(point)) => onegrid_store::locate(store.as_ref(), point.lon, point.lat)?.cell,
        (None, None) => anyhow::bail!("give --cell or --point"),
    };
    let actor = actor_for(store.as_ref(), &PersonId::parse(&args.actor)?)?;
    let channel = match &args.channel {
        Some(text) => parse_channel(text)?,
        None => default_channel(actor.role),
    };
    let proposal = args.proposal.proposal();
    // A proposal is filed under its kind's category unless one is named (the core refuses any other).
    let category = match (&args.category, &proposal) {
        (Some(code), _) => CategoryCode::parse(code)?,
        (None, Some(proposal)) => CategoryCode::parse(proposal.kind.category_code())?,
        (None, None) => anyhow::bail!("give --category"),
    };
    let mut report = NewReport {
        channel,
        reporter: Reporter {
            channel,
            person: None,
            name: args.name,
            phone: args.phone,
        },
        cell,
        point,
        distance_to_cell_m: None,
        address: args.address,
        category,
        title: args.title,
        description: args.description,
        photos: args.photos,
        tier: None,
        tier_reason: None,
        proposal,
    };
    // Severity words (fire, gas leak, collapse, people hurt…) raise the tier; an unknown category is
    // left for the store to refuse.
    let category_tier = store
        .reference()
        .taxonomy
        .get(&report.category)
        .map(|c| c.tier);
    if let Some(category_tier) = category_tier {
        if onegrid_text::severity::raise_report_tier(&mut report, category_tier).is_some() {
            if let Some(reason) = &report.tier_reason {
                eprintln!("tier raised: {reason}");
            }
        }
    }
    let case = store
        .report(report, &actor, args.at.unwrap_or_else(Utc::now))
        .await?;
    print_case(store.as_ref(), &case, args.common.json)?;
    Ok(ExitCode::SUCCESS)
}

fn default_channel(role: onegrid_core::Role) -> Channel {
    use onegrid_core::Role;
    match role {
        Role::GridWorker => Channel::GridWorker,
        Role::Citizen => Channel::Citizen,
        Role::Integrator => Channel::Hotline12345,
        _ => Channel::Desk,
    }
}

async fn show(common: Common, id: CaseId) -> anyhow::Result<ExitCode> {
    let store = crate::open_existing(&common.db)?;
    let case = store.case(id).await?;
    let history = store.history(id).await?;
    let chain = verify_chain(id, &history);
    if common.json {
        let value = serde_json::json!({
            "case": case,
            "history": history,
            "chain_verified": chain.is_ok(),
            "chain_error": chain.as_ref().err().map(ToString::to_string),
        });
        out!("{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        print_case(store.as_ref(), &case, false)?;
        out!("history:")?;
        for event in &history {
            out!(
                "  {:>3}  {}  {:<10} {}（{}）",
                event.seq,
                event
                    .at
                    .with_timezone(&onegrid_core::calendar::TIMEZONE)
                    .format("%Y-%m-%d %H:%M"),
                event.actor.person,
                event.kind.name_zh(),
                event.kind.name()
            )?;
        }
        match &chain {
            Ok(()) => out!("chain: verified ({} events)", history.len())?,
            Err(error) => out!("chain: BROKEN — {error}")?,
        }
    }
    Ok(if chain.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let store = crate::open_existing(&args.common.db)?;
    let filter = CaseFilter {
        area: args.area.as_deref().map(AreaCode::parse).transpose()?,
        state: args
            .state
            .as_deref()
            .map(|s| {
                CaseState::parse(s).with_context(|| {
                    format!(
                        "state {s:?} is not one of: {}",
                        CaseState::ALL.map(CaseState::as_str).join(", ")
                    )
                })
            })
            .transpose()?,
        category: args
            .category
            .as_deref()
            .map(CategoryCode::parse)
            .transpose()?,
        department: args.department.as_deref().map(department).transpose()?,
        tier: args
            .tier
            .as_deref()
            .map(|t| {
                Tier::parse(t)
                    .with_context(|| format!("tier {t:?} is not grid, street or district"))
            })
            .transpose()?,
        channel: args.channel.as_deref().map(parse_channel).transpose()?,
        text: args.text,
        after: args.after,
        limit: Some(args.limit),
        ..CaseFilter::default()
    };
    let cases = store.list_cases(&filter).await?;
    if args.common.json {
        out!("{}", serde_json::to_string_pretty(&cases)?)?;
    } else {
        for case in &cases {
            out!(
                "{:>6}  {:<8} {:<6} {}  {}",
                case.id,
                case.state.name_zh(),
                case.tier.name_zh(),
                case.cell,
                case.title
            )?;
        }
        out!("{} cases", cases.len())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_case(store: &dyn Store, case: &Case, json: bool) -> anyhow::Result<()> {
    if json {
        out!("{}", serde_json::to_string_pretty(case)?)?;
        return Ok(());
    }
    let reference = store.reference();
    let category = reference
        .taxonomy
        .get(&case.category)
        .map(|c| format!("{} / {}", c.major_name, c.name))
        .unwrap_or_else(|| case.category.to_string());
    out!(
        "case {}  {}（{}）",
        case.id,
        case.state.name_zh(),
        case.state
    )?;
    out!("  title:    {}", case.title)?;
    out!("  category: {} {}", case.category, category)?;
    out!(
        "  cell:     {} {}",
        case.cell,
        reference.areas.path_names(&case.cell).join(" / ")
    )?;
    out!("  tier:     {}（{}）", case.tier.name_zh(), case.tier)?;
    if let Some(proposal) = &case.proposal {
        let session = proposal
            .session
            .as_deref()
            .map(|s| format!(" · {s}"))
            .unwrap_or_default();
        out!(
            "  proposal: {} {}{session} · {} · 办结时限 {}",
            proposal.kind.name_zh(),
            proposal.number,
            proposal.proposer,
            onegrid_core::deadline::proposal_due_at(proposal, case.reported_at)
                .with_timezone(&onegrid_core::calendar::TIMEZONE)
                .format("%Y-%m-%d %H:%M")
        )?;
    }
    if let Some(lead) = case.lead_department() {
        out!("  handler:  {lead}")?;
    }
    if let Some(deadline) = case.deadline {
        let colour = onegrid_core::deadline::colour(&reference.calendar, &deadline, Utc::now())
            .map(|c| c.as_str().to_string())
            .unwrap_or_else(|e| e.to_string());
        out!(
            "  deadline: {} {} ({colour})",
            deadline.stage.name_zh(),
            deadline
                .due_at
                .with_timezone(&onegrid_core::calendar::TIMEZONE)
                .format("%Y-%m-%d %H:%M")
        )?;
    }
    out!("  version:  {}", case.version)?;
    Ok(())
}
