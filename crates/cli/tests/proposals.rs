//! `onegrid case report --proposal-*`: a proposal (建议提案) filed from the terminal by the desk, its
//! category and handling deadline (the carried date, or 3 calendar months after filing), shown by
//! `case show`; bad proposals and filers other than the desk are refused and change nothing
//! (docs/supervision.md, "Proposals").

mod common;
use common::Db;

/// A cell of the demo's first street (120110001), the `dispatcher`'s.
const CELL: &str = "120110001001001";

/// `case report --json` arguments for a proposal filed by `actor` at `at`, plus `extra`.
fn proposal_report<'a>(actor: &'a str, at: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "case",
        "report",
        "--json",
        "--as",
        actor,
        "--cell",
        CELL,
        "--title",
        "关于加快老旧小区加装电梯的提案",
        "--description",
        "建议简化老旧小区加装电梯审批流程，加大财政补贴力度。",
        "--at",
        at,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn the_desk_files_a_proposal_with_its_deadline() {
    let db = Db::demo();
    let case = db.json(&proposal_report(
        "dispatcher",
        "2026-11-23T02:00:00Z",
        &[
            "--proposal-kind",
            "cppcc_proposal",
            "--proposal-number",
            " 第0123号 ",
            "--proposal-session",
            "区政协十八届三次会议",
            "--proposal-proposer",
            "张委员",
            "--proposal-due",
            "2027-03-01",
        ],
    ));
    assert_eq!(case["state"], "reported");
    // Filed under its kind's category without --category.
    assert_eq!(case["category"], "Z9902");
    assert_eq!(case["channel"], "desk");
    let proposal = &case["proposal"];
    assert_eq!(proposal["kind"], "cppcc_proposal");
    assert_eq!(proposal["number"], "第0123号", "trimmed as over HTTP");
    assert_eq!(proposal["session"], "区政协十八届三次会议");
    assert_eq!(proposal["proposer"], "张委员");
    // A date means 18:00 that day in China.
    assert_eq!(proposal["due_at"], "2027-03-01T10:00:00Z");
    let id = case["id"].to_string();

    // Handling runs to the carried date.
    for (at, action) in [
        ("2026-11-23T03:00:00Z", "accept"),
        ("2026-11-23T04:00:00Z", "dispatch"),
    ] {
        db.ok(&[
            "case",
            "act",
            "--json",
            "--as",
            "dispatcher",
            "--at",
            at,
            &id,
            action,
        ]);
    }
    let shown = db.json(&["case", "show", "--json", &id]);
    assert_eq!(shown["case"]["state"], "handling");
    assert_eq!(shown["case"]["deadline"]["stage"], "handle");
    assert_eq!(shown["case"]["deadline"]["due_at"], "2027-03-01T10:00:00Z");
    assert_eq!(shown["chain_verified"], true);

    let text = db.ok(&["case", "show", &id]);
    assert!(
        text.contains("proposal: 政协委员提案 第0123号 · 区政协十八届三次会议 · 张委员 · 办结时限 2027-03-01 18:00"),
        "{text}"
    );
}

#[test]
fn without_a_date_a_proposal_is_due_three_months_after_filing() {
    let db = Db::demo();
    // Filed 30 November 10:00 China time: due 28 February 10:00 (the month end clamps).
    let case = db.json(&proposal_report(
        "commander",
        "2026-11-30T02:00:00Z",
        &[
            "--proposal-kind",
            "npc_suggestion",
            "--proposal-number",
            "第0456号",
            "--proposal-proposer",
            "王代表",
        ],
    ));
    assert_eq!(case["category"], "Z9901");
    assert_eq!(case["proposal"]["kind"], "npc_suggestion");
    assert!(case["proposal"].get("due_at").is_none(), "{case}");
    assert!(case["proposal"].get("session").is_none(), "{case}");
    let text = db.ok(&["case", "show", &case["id"].to_string()]);
    assert!(
        text.contains("proposal: 人大代表建议 第0456号 · 王代表 · 办结时限 2027-02-28 10:00"),
        "{text}"
    );
}

#[test]
fn bad_proposals_and_other_filers_are_refused_and_change_nothing() {
    let db = Db::demo();
    let before = db.snapshot();
    let at = "2026-11-23T02:00:00Z";
    let proposal = |number: &'static str| {
        [
            "--proposal-kind",
            "npc_suggestion",
            "--proposal-number",
            number,
            "--proposal-proposer",
            "王代表",
        ]
    };
    // Only the desk files proposals.
    db.fails(
        &proposal_report("gridworker", at, &proposal("第0001号")),
        "may not file a proposal (建议提案)",
    );
    db.fails(
        &proposal_report("citizen", at, &proposal("第0001号")),
        "may not file a proposal (建议提案)",
    );
    // The proposal itself, checked by the core.
    db.fails(
        &proposal_report("dispatcher", at, &proposal("  ")),
        "the proposal number must not be empty",
    );
    let mut past = proposal("第0002号").to_vec();
    past.extend(["--proposal-due", "2026-11-01"]);
    db.fails(
        &proposal_report("dispatcher", at, &past),
        "is not after the filing time",
    );
    // A proposal keeps its kind's category.
    let mut other = proposal("第0003号").to_vec();
    other.extend(["--category", "S0101"]);
    db.fails(
        &proposal_report("dispatcher", at, &other),
        "is filed under category Z9901, not S0101",
    );
    // And a proposal category is for proposals only.
    db.fails(
        &proposal_report("dispatcher", at, &["--category", "Z9902"]),
        "is for proposals",
    );
    // Arguments: the kind, a number and a proposer go together; dates must be dates.
    db.fails(
        &proposal_report(
            "dispatcher",
            at,
            &[
                "--proposal-kind",
                "deputy",
                "--proposal-number",
                "第0004号",
                "--proposal-proposer",
                "王代表",
            ],
        ),
        "neither npc_suggestion (人大代表建议) nor cppcc_proposal (政协委员提案)",
    );
    db.fails(
        &proposal_report(
            "dispatcher",
            at,
            &[
                "--proposal-kind",
                "npc_suggestion",
                "--proposal-number",
                "第0005号",
            ],
        ),
        "--proposal-proposer",
    );
    db.fails(
        &proposal_report(
            "dispatcher",
            at,
            &["--category", "S0101", "--proposal-number", "第0006号"],
        ),
        "--proposal-kind",
    );
    let mut bad_date = proposal("第0007号").to_vec();
    bad_date.extend(["--proposal-due", "2027-02-30"]);
    db.fails(
        &proposal_report("dispatcher", at, &bad_date),
        "is neither a date (2027-03-01) nor an RFC 3339 time",
    );
    // Without a proposal, a category is still needed.
    db.fails(&proposal_report("dispatcher", at, &[]), "--category");
    assert_eq!(before, db.snapshot());
}
