//! What the CLI tests share: the built `onegrid` binary, a demo database made once per test run, and
//! `Db`, a private copy of it for one test with helpers to run commands against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `onegrid` binary built for these tests.
pub fn onegrid() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onegrid"))
}

/// A demo database made once per test run (`onegrid demo --create-only`: 57 supervision tasks, 24 major
/// projects); each test copies it so tests stay independent.
pub fn demo_template() -> &'static Path {
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

/// A test's own copy of the demo database, removed with it.
pub struct Db {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Db {
    pub fn demo() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("onegrid.db");
        // The template was closed cleanly, so the main file holds everything (WAL checkpointed).
        let source = rusqlite::Connection::open(demo_template()).expect("open template");
        source
            .execute("VACUUM INTO ?1", [path.to_string_lossy().as_ref()])
            .expect("copy template");
        Db { _dir: dir, path }
    }

    /// `onegrid SUBCOMMAND ACTION --db PATH REST…`
    pub fn run(&self, args: &[&str]) -> Output {
        let (subcommand, rest) = args.split_at(2.min(args.len()));
        onegrid()
            .args(subcommand)
            .arg("--db")
            .arg(&self.path)
            .args(rest)
            .output()
            .expect("run onegrid")
    }

    /// Runs a command that must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Runs a command that must succeed and print JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("JSON output")
    }

    /// Runs a command that must fail with `expected` in its standard error.
    pub fn fails(&self, args: &[&str], expected: &str) {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
    }

    /// Everything a user could see, for "nothing changed" checks: every case as `case list --json` prints
    /// it (byte for byte; it must be JSON) and every event hash.
    pub fn snapshot(&self) -> (String, Vec<(i64, i64, String)>) {
        let cases = self.ok(&["case", "list", "--json", "--limit", "10000"]);
        serde_json::from_str::<serde_json::Value>(&cases).expect("JSON case list");
        let connection = rusqlite::Connection::open(&self.path).expect("open");
        let mut statement = connection
            .prepare("SELECT case_id, seq, hash FROM events ORDER BY case_id, seq")
            .expect("prepare");
        let events = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        (cases, events)
    }

    /// The number of rows of a table, read with SQL rather than through `onegrid`.
    pub fn count(&self, table: &str) -> i64 {
        let connection = rusqlite::Connection::open(&self.path).expect("open");
        connection
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }

    /// Runs `onegrid verify`: (exit code, standard output).
    pub fn verify(&self) -> (Option<i32>, String) {
        let output = self.run(&["verify"]);
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    /// Someone with file access drops a guard trigger and runs SQL behind the store's back.
    pub fn tamper(&self, sql: &str) {
        let connection = rusqlite::Connection::open(&self.path).expect("open");
        connection.execute_batch(sql).expect("tamper");
    }
}
