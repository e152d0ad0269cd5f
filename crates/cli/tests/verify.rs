//! `onegrid verify` checks every hash chain of a database — cases, supervision tasks (督办任务) and
//! major projects' change records — and names the first broken event of each broken one; `onegrid
//! report remind --record` adds reminders to task chains that still verify.

mod common;
use common::{onegrid, Db};

#[test]
fn a_sound_demo_verifies_cases_tasks_and_projects() {
    let db = Db::demo();
    let (code, stdout) = db.verify();
    assert_eq!(code, Some(0), "{stdout}");
    // One line, with the counts of the database (read with SQL).
    let (cases, events) = (db.count("cases"), db.count("events"));
    assert!(cases >= 500, "{cases} demo cases");
    assert_eq!(
        stdout,
        format!(
            "ok: {cases} cases, {events} events; 57 supervision tasks, 57 events; \
             24 major projects, 24 change events; every chain verifies\n"
        )
    );
}

#[test]
fn an_edited_task_event_is_named() {
    let db = Db::demo();
    db.tamper(
        "DROP TRIGGER supervision_task_events_no_update;
         UPDATE supervision_task_events SET body = replace(body, '\"value\":', '\"value\":1')
         WHERE task_id = 5 AND seq = 1;",
    );
    let (code, stdout) = db.verify();
    assert_eq!(code, Some(3), "{stdout}");
    // Exactly one line for the broken chain, then the summary: no case and no project is broken, one of
    // the 57 tasks is, and the counts are those of the database (read with SQL; the edit changed none).
    let (cases, events) = (db.count("cases"), db.count("events"));
    assert!(cases >= 500, "{cases} demo cases");
    assert_eq!(
        stdout,
        format!(
            "BROKEN supervision task 5, event 1: its hash does not match its content \
             (the event was edited)\n\
             0 of {cases} cases, 1 of 57 supervision tasks and 0 of 24 major projects do not verify \
             ({cases} cases, {events} events; 57 supervision tasks, 57 events; 24 major projects, \
             24 change events)\n"
        )
    );
}

#[test]
fn a_task_row_that_differs_from_its_history_is_named() {
    let db = Db::demo();
    // The projection changed, the history did not: the lead department moved without an event.
    db.tamper(
        "UPDATE supervision_tasks SET body = replace(body, '\"lead\":\"shangwu\"', '\"lead\":\"chengguan\"')
         WHERE id = (SELECT MIN(id) FROM supervision_tasks WHERE lead = 'shangwu');",
    );
    let (code, stdout) = db.verify();
    assert_eq!(code, Some(3), "{stdout}");
    assert!(
        stdout.contains("the stored task differs from the replay of its history"),
        "{stdout}"
    );
}

#[test]
fn an_edited_project_change_is_named() {
    let db = Db::demo();
    db.tamper(
        "DROP TRIGGER project_events_no_update;
         UPDATE project_events SET body = replace(body, '\"investment\":', '\"investment\":9')
         WHERE project_id = 3 AND seq = 1;",
    );
    let (code, stdout) = db.verify();
    assert_eq!(code, Some(3), "{stdout}");
    assert!(
        stdout.contains(
            "BROKEN major project 3: event 1 was altered: its hash does not match its content"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("1 of 24 major projects"), "{stdout}");
}

#[test]
fn recorded_reminders_keep_every_chain_sound() {
    let db = Db::demo();
    // A 2021 report: every target is overdue whatever today's date, so each is reminded once.
    let report = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../text/data/workreport/dongli-2021-government-work-report-p14.txt"
    );
    let output = onegrid()
        .args(["report", "import", report, "--name", "旧报告", "--db"])
        .arg(&db.path)
        .output()
        .expect("import");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = db.run(&["report", "remind", "--record", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let recorded = answer["recorded"].as_array().expect("recorded");
    let overdue: Vec<_> = recorded
        .iter()
        .filter(|r| r["status"] == "overdue")
        .collect();
    assert_eq!(overdue.len(), 57, "{answer}");
    assert!(overdue.iter().all(|r| r["reason"]
        .as_str()
        .is_some_and(|s| s.starts_with("已逾期"))));
    // Recorded once: a second sweep right away records nothing.
    let again = db.run(&["report", "remind", "--record"]);
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(again.starts_with("recorded 0 reminders"), "{again}");
    assert!(again.contains("(reminded 1 times, last "), "{again}");
    let (code, stdout) = db.verify();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("114 supervision tasks"), "{stdout}");
}
