//! `onegrid verify` checks every hash chain of a database — cases, supervision tasks (督办任务) and
//! major projects' change records — and names the first broken event of each broken one; `onegrid
//! report remind --record` adds reminders to task chains that still verify.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn onegrid() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onegrid"))
}

/// A demo database made once per test run (57 supervision tasks, 24 major projects); each test
/// copies it.
fn demo_template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("demo.db");
        let output = onegrid()
            .args(["demo", "--create-only", "--db"])
            .arg(&path)
            .output()
            .expect("run onegrid demo");
        assert!(
            output.status.success(),
            "demo failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        (dir, path)
    });
    path
}

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn demo() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("onegrid.db");
        let source = rusqlite::Connection::open(demo_template()).expect("open template");
        source
            .execute("VACUUM INTO ?1", [path.to_string_lossy().as_ref()])
            .expect("copy template");
        Db { _dir: dir, path }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = onegrid();
        let (subcommand, rest) = args.split_at(2.min(args.len()));
        command
            .args(subcommand)
            .arg("--db")
            .arg(&self.path)
            .args(rest);
        command.output().expect("run onegrid")
    }

    /// Runs `onegrid verify`: (exit code, standard output).
    fn verify(&self) -> (Option<i32>, String) {
        let output = self.run(&["verify"]);
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    /// Someone with file access drops a guard trigger and runs SQL behind the store's back.
    fn tamper(&self, sql: &str) {
        let connection = rusqlite::Connection::open(&self.path).expect("open");
        connection.execute_batch(sql).expect("tamper");
    }
}

#[test]
fn a_sound_demo_verifies_cases_tasks_and_projects() {
    let db = Db::demo();
    let (code, stdout) = db.verify();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(stdout.contains(" cases, "), "{stdout}");
    assert!(
        stdout.contains("57 supervision tasks, 57 events"),
        "{stdout}"
    );
    assert!(
        stdout.contains("24 major projects, 24 change events"),
        "{stdout}"
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
    assert!(
        stdout.contains("BROKEN supervision task 5, event 1: its hash does not match its content"),
        "{stdout}"
    );
    assert!(
        stdout.contains("0 of ") && stdout.contains("1 of 57 supervision tasks"),
        "{stdout}"
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
