//! `onegrid apikey`: a key is printed once as the last line, only its hash is stored, list never
//! shows a key, revoke marks it, and bad input fails with a message.

use super::{onegrid, Db};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn create_list_and_revoke_keys() {
    let db = Db::demo();
    let created = db.run(&["apikey", "create", "--name", "街道App"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let stdout = text(&created.stdout);
    let key = stdout
        .lines()
        .last()
        .expect("a last line")
        .trim()
        .to_string();
    assert_eq!(key.len(), 43, "a 32-byte URL-safe key, got {key:?}");
    assert!(key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    // Only the hash is stored.
    let connection = rusqlite::Connection::open(&db.path).expect("open");
    let stored: String = connection
        .query_row("SELECT key_hash FROM api_keys", [], |row| row.get(0))
        .expect("one key");
    assert_eq!(stored.len(), 64);
    assert_ne!(stored, key);
    drop(connection);

    let second = db.run(&["apikey", "create", "--name", "second"]);
    let second_key = text(&second.stdout).lines().last().map(str::to_string);
    assert_ne!(second_key.as_deref(), Some(key.as_str()));

    let listed = text(&db.run(&["apikey", "list"]).stdout);
    assert!(listed.contains("1\t街道App\tcreated "), "{listed}");
    assert!(listed.contains("2\tsecond\t"), "{listed}");
    assert_eq!(listed.matches("\tactive").count(), 2, "{listed}");
    assert!(!listed.contains(&key), "list shows a key: {listed}");

    let revoked = db.run(&["apikey", "revoke", "1"]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert!(text(&revoked.stdout).contains("revoked API key 1 (街道App)"));
    let listed = text(&db.run(&["apikey", "list"]).stdout);
    assert!(
        listed.contains("1\t街道App\tcreated ") && listed.contains("\trevoked "),
        "{listed}"
    );
    assert_eq!(listed.matches("\tactive").count(), 1, "{listed}");
}

#[test]
fn bad_apikey_input_fails_with_a_message() {
    let db = Db::demo();
    db.fails(&["apikey", "revoke", "99"], "99");
    db.fails(&["apikey", "create", "--name", "  "], "--name");
    let missing = onegrid()
        .args(["apikey", "list", "--db", "/nonexistent/dir/x.db"])
        .output()
        .expect("run");
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("does not exist"));
    let listed = text(&db.run(&["apikey", "list"]).stdout);
    assert!(listed.contains("no API keys"), "{listed}");
}
