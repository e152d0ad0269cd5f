//! End-to-end tests of the `onegrid` binary: the demo, the case commands, bad input, and the crash
//! test (SIGKILL while reports are being acknowledged).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use rand::Rng;

mod common;
use common::{onegrid, Db};

#[path = "cli/grid.rs"]
mod grid;

#[path = "cli/apikey.rs"]
mod apikey;

#[test]
fn demo_has_every_state_and_verifies() {
    let db = Db::demo();
    let cases = db.json(&["case", "list", "--json", "--limit", "10000"]);
    let cases = cases.as_array().expect("array");
    assert!(cases.len() >= 500, "only {} demo cases", cases.len());
    for state in [
        "reported",
        "accepted",
        "rejected",
        "handling",
        "awaiting_verification",
        "verified",
        "closed",
        "long_term",
        "merged",
    ] {
        assert!(
            cases.iter().any(|c| c["state"] == state),
            "no demo case in state {state}"
        );
    }
    assert!(
        cases.iter().any(|c| !c["rating"].is_null()),
        "no rated case"
    );
    let output = db.run(&["verify"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok:"));
}

#[test]
fn the_loop_from_the_terminal() {
    let db = Db::demo();
    let cell = "120110001001001";
    let case = db.json(&[
        "case",
        "report",
        "--json",
        "--as",
        "gridworker",
        "--cell",
        cell,
        "--category",
        "S0101",
        "--title",
        "小区门口暴露垃圾",
        "--at",
        "2026-11-23T02:00:00Z",
    ]);
    assert_eq!(case["state"], "reported");
    let id = case["id"].to_string();
    let steps: [&[&str]; 6] = [
        &[
            "--as",
            "dispatcher",
            "--at",
            "2026-11-23T02:30:00Z",
            &id,
            "accept",
        ],
        &[
            "--as",
            "dispatcher",
            "--at",
            "2026-11-23T03:00:00Z",
            &id,
            "dispatch",
        ],
        &[
            "--as",
            "handler",
            "--at",
            "2026-11-23T06:00:00Z",
            &id,
            "feedback",
            "--evidence",
            "清运后照片",
        ],
        &[
            "--as",
            "gridworker",
            "--at",
            "2026-11-23T07:00:00Z",
            &id,
            "verify",
            "--pass",
        ],
        &[
            "--as",
            "dispatcher",
            "--at",
            "2026-11-23T08:00:00Z",
            &id,
            "close",
        ],
        &[
            "--as",
            "citizen",
            "--at",
            "2026-11-23T09:00:00Z",
            &id,
            "rate",
            "--score",
            "5",
        ],
    ];
    let mut last = serde_json::Value::Null;
    for (index, step) in steps.iter().enumerate() {
        let mut args = vec!["case", "act", "--json"];
        args.extend_from_slice(step);
        if index == 5 {
            // The citizen did not report this case: refused, and nothing changes.
            let before = db.snapshot();
            db.fails(&args, "did not report this case");
            assert_eq!(before, db.snapshot());
            args[4] = "dispatcher";
        }
        last = db.json(&args);
    }
    assert_eq!(last["state"], "closed");
    assert_eq!(last["rating"]["score"], 5);
    let shown = db.json(&["case", "show", "--json", &id]);
    assert_eq!(shown["chain_verified"], true);
    assert_eq!(shown["history"].as_array().map(Vec::len), Some(7));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let db = Db::demo();
    let before = db.snapshot();
    let report = |cell: &str, category: &str, title: &str| -> Vec<String> {
        [
            "case",
            "report",
            "--as",
            "dispatcher",
            "--cell",
            cell,
            "--category",
            category,
            "--title",
            title,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let check = |args: Vec<String>, expected: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        db.fails(&args, expected);
    };
    check(
        report("120110001001001", "S9999", "x"),
        "unknown category S9999",
    );
    check(report("120110001001001", "Q0101", "x"), "malformed");
    check(report("120110001", "S0101", "x"), "grid cell");
    check(report("120110999001001", "S0101", "x"), "unknown area");
    check(report("12011000100100", "S0101", "x"), "14 characters");
    check(
        report("120110001001001", "S0101", " "),
        "title: must not be empty",
    );
    check(
        report("120110001001001", "S0101", &"长".repeat(201)),
        "title: is 201 characters long",
    );
    db.fails(
        &["case", "act", "--as", "nobody", "1", "accept"],
        "unknown person nobody",
    );
    db.fails(
        &["case", "act", "--as", "dispatcher", "999999", "accept"],
        "case 999999 does not exist",
    );
    let cases: serde_json::Value = serde_json::from_str(&before.0).expect("JSON case list");
    let closed = cases
        .as_array()
        .and_then(|cases| {
            cases
                .iter()
                .find(|c| c["state"] == "closed" && c["rating"].is_null())
        })
        .map(|c| c["id"].to_string())
        .expect("an unrated closed demo case");
    db.fails(
        &["case", "act", "--as", "commander", &closed, "dispatch"],
        "cannot dispatch case",
    );
    db.fails(
        &[
            "case",
            "act",
            "--as",
            "commander",
            &closed,
            "rate",
            "--score",
            "6",
        ],
        "6 is out of range",
    );
    db.fails(
        &["case", "act", "--as", "supervisor", &closed, "accept"],
        "supervisor may not accept",
    );
    assert_eq!(
        before,
        db.snapshot(),
        "a refused command changed the database"
    );
    db.fails(&["verify", "--nonsense"], "unexpected argument");
    let missing = onegrid()
        .args(["verify", "--db", "/nonexistent/onegrid.db"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}

#[test]
fn tampering_is_named_by_verify() {
    let db = Db::demo();
    let connection = rusqlite::Connection::open(&db.path).expect("open");
    // Someone with file access drops the guard trigger and edits a rating in place.
    connection
        .execute_batch(
            "DROP TRIGGER events_append_only_update;
             UPDATE events SET body = replace(body, '\"score\":5', '\"score\":1')
             WHERE (case_id, seq) IN (SELECT case_id, seq FROM events
               WHERE kind = 'rated' AND body LIKE '%\"score\":5%' LIMIT 1);",
        )
        .expect("tamper");
    drop(connection);
    let output = db.run(&["verify"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("its hash does not match its content"),
        "{stdout}"
    );
}

/// Done-when: reports written from several threads, SIGKILL at a random moment, every
/// acknowledged report is there after reopening, and `onegrid verify` passes.
#[test]
fn acknowledged_reports_survive_sigkill() {
    let db = Db::demo();
    let mut rng = rand::thread_rng();
    for round in 0..3 {
        let kill_after = rng.gen_range(50..1500);
        let mut child = onegrid()
            .args(["load", "--writers", "8", "--reports", "100000000", "--db"])
            .arg(&db.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start onegrid load");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut acknowledged = Vec::new();
        let mut line = String::new();
        while acknowledged.len() < kill_after {
            line.clear();
            if reader.read_line(&mut line).expect("read") == 0 {
                break;
            }
            acknowledged.push(line.trim().parse::<i64>().expect("an id per line"));
        }
        child.kill().expect("SIGKILL");
        // Lines already in the pipe were acknowledged too; a torn last line was not.
        let mut rest = String::new();
        while reader.read_line(&mut rest).unwrap_or(0) > 0 {
            if rest.ends_with('\n') {
                if let Ok(id) = rest.trim().parse::<i64>() {
                    acknowledged.push(id);
                }
            }
            rest.clear();
        }
        child.wait().expect("reap");
        assert!(
            acknowledged.len() >= kill_after.min(50),
            "round {round}: too few acks"
        );

        let connection = rusqlite::Connection::open(&db.path).expect("reopen after crash");
        let mut statement = connection
            .prepare("SELECT 1 FROM cases WHERE id = ?1")
            .expect("prepare");
        let missing: Vec<i64> = acknowledged
            .iter()
            .copied()
            .filter(|id| !statement.exists([id]).expect("query"))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} acknowledged reports lost after SIGKILL (killed after {kill_after}): {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        drop(statement);
        drop(connection);
        let output = db.run(&["verify"]);
        assert!(
            output.status.success(),
            "round {round}: verify failed after SIGKILL: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn severity_words_raise_the_tier_and_the_history_says_why() {
    let db = Db::demo();
    let case = db.json(&[
        "case",
        "report",
        "--json",
        "--as",
        "gridworker",
        "--cell",
        "120110001001001",
        "--category",
        "S0101",
        "--title",
        "小区楼道里闻到很浓的煤气味，怀疑燃气泄漏",
        "--at",
        "2026-11-23T02:00:00Z",
    ]);
    assert_eq!(case["tier"], "district", "{case}");
    let id = case["id"].to_string();
    let shown = db.run(&["case", "show", &id, "--json"]);
    assert!(shown.status.success());
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("tier_reason") && text.contains("燃气泄漏"),
        "{text}"
    );

    // An ordinary report keeps its category's tier and has no reason.
    let plain = db.json(&[
        "case",
        "report",
        "--json",
        "--as",
        "gridworker",
        "--cell",
        "120110001001001",
        "--category",
        "S0101",
        "--title",
        "小区门口暴露垃圾",
        "--at",
        "2026-11-23T02:00:00Z",
    ]);
    assert_eq!(plain["tier"], "grid", "{plain}");
    assert!(plain.get("tier_reason").is_none() || plain["tier_reason"].is_null());
}

/// Runs `onegrid text classify --model MODEL` on one line and returns the label.
fn classify_with(model: &Path, text: &str) -> String {
    use std::io::Write as _;
    let mut child = onegrid()
        .args(["text", "classify", "--model"])
        .arg(model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start text classify");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{text}\n").as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("classify");
    assert!(output.status.success());
    let line = String::from_utf8_lossy(&output.stdout).to_string();
    line.split('\t')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn dispatchers_corrections_teach_the_classifier() {
    let db = Db::demo();
    let dir = tempfile::tempdir().expect("temp dir");
    let before = dir.path().join("before.ogtc");
    let output = db.run(&["text", "train", "--out", before.to_str().expect("path")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let probe = "小区电梯停运好几天了一直没人维修";
    let suggested = classify_with(&before, probe);
    assert_eq!(suggested.len(), 5, "a category code: {suggested}");
    let corrected = if suggested == "Z0101" {
        "S0101"
    } else {
        "Z0101"
    };

    // Three similar reports arrive with the suggested category; the dispatcher corrects each.
    for (i, title) in [
        "电梯停运无人维修",
        "楼里电梯又停运了没人修",
        "电梯停运多日物业不维修",
    ]
    .iter()
    .enumerate()
    {
        let at = format!("2026-11-23T0{}:00:00Z", i + 1);
        let case = db.json(&[
            "case",
            "report",
            "--json",
            "--as",
            "gridworker",
            "--cell",
            "120110001001001",
            "--category",
            &suggested,
            "--title",
            title,
            "--at",
            &at,
        ]);
        let id = case["id"].to_string();
        let accepted = db.json(&[
            "case",
            "act",
            "--json",
            "--as",
            "dispatcher",
            "--at",
            &at,
            &id,
            "accept",
            "--category",
            corrected,
        ]);
        assert_eq!(accepted["category"], corrected);
    }
    let after = dir.path().join("after.ogtc");
    let output = db.run(&["text", "train", "--out", after.to_str().expect("path")]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{message}");
    assert!(message.contains("3 corrections"), "{message}");
    assert_eq!(classify_with(&after, probe), corrected);
}
