//! The `kassa` binary as an operator runs it.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::{TEST_JWT_SECRET, TestApp, TestDb, kassa};

#[test]
fn kassa_openapi_prints_the_committed_document() {
    let dir = tempfile::tempdir().unwrap();
    let output = kassa(dir.path()).arg("openapi").output().unwrap();

    assert!(output.status.success());
    let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    assert!(output.stdout == committed, "run `cargo run -q -- openapi > openapi/openapi.json`");
}

#[test]
fn without_postgres_binaries_kassa_exits_1_with_an_explanation() {
    let dir = tempfile::tempdir().unwrap();
    let output = kassa(dir.path())
        .env("POSTGRES_BIN_DIR", dir.path().join("no-such-postgres"))
        .env("EMBEDDED_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no PostgreSQL server binaries"), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
}

#[test]
fn a_bad_variable_stops_kassa_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        vec![("DATABASE_URL", "postgres://localhost/kassa")],
        vec![("DATABASE_URL", "postgres://localhost/kassa"), ("JWT_SECRET", "too-short")],
        vec![("DATABASE_URL", "not a url"), ("JWT_SECRET", TEST_JWT_SECRET)],
        vec![
            ("DATABASE_URL", "postgres://localhost/kassa"),
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("BIND_ADDR", "nowhere"),
        ],
    ];
    let names = ["JWT_SECRET", "JWT_SECRET", "DATABASE_URL", "BIND_ADDR"];
    for (vars, name) in cases.iter().zip(names) {
        let output = kassa(dir.path()).envs(vars.iter().copied()).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{vars:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name), "{vars:?} → {stderr}");
    }
}

#[tokio::test]
async fn kassa_shuts_down_gracefully_on_sigterm() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = kassa(dir.path())
        .env("DATABASE_URL", db.url())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("METRICS_ADDR", "off")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        match client.get(format!("http://127.0.0.1:{port}/readyz")).send().await {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(error) => panic!("kassa never answered: {error}"),
        }
    };
    assert_eq!(ready.status(), 200);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    let status = tokio::task::spawn_blocking(move || server.wait_with_output()).await.unwrap().unwrap();

    assert!(status.status.success(), "exit status {:?}", status.status);
    let logs = String::from_utf8_lossy(&status.stdout);
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(
        logs.lines().all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()),
        "LOG_FORMAT=json: {logs}"
    );
}

#[tokio::test]
async fn an_export_file_is_private_and_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    let app = TestApp::spawn().await;
    let key = app.register_owner("ivan", "Лавка").await.key();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lavka.sql");
    let export = |extra: &[&str]| {
        let mut command = kassa(dir.path());
        command
            .args(["tenants", "export", &key, "--output"])
            .arg(&file)
            .args(extra)
            .env("DATABASE_URL", app.db.url())
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .stdin(Stdio::null());
        // SAFETY: umask is async-signal-safe and touches nothing but the child's own mask.
        // The usual 022: a file written with default permissions would be world-readable.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0o022);
                Ok(())
            });
        }
        command.output().unwrap()
    };
    let mode = || std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;

    let first = export(&[]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(mode(), 0o600, "the export holds password hashes");
    let written = std::fs::read(&file).unwrap();
    assert!(String::from_utf8_lossy(&written).contains("CREATE TABLE tenant_lavka.employees"));

    let again = export(&[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), written, "the existing export is kept");

    let forced = export(&["--force"]);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    assert_eq!(mode(), 0o600);
}

#[tokio::test]
async fn an_export_never_puts_the_database_password_on_pg_dumps_command_line() {
    use std::os::unix::fs::PermissionsExt;

    let app = TestApp::spawn().await;
    let key = app.register_owner("ivan", "Лавка").await.key();
    // The test server trusts local connections, so any password gets in; a real one is kept.
    let mut url = url::Url::parse(&app.db.url()).unwrap();
    if url.password().is_none() {
        url.set_password(Some("hunter2-s3cret")).unwrap();
    }
    let password = url.password().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    // A pg_dump that records what it was given, where `ps` and /proc/PID/cmdline would show it.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let spy = bin.join("pg_dump");
    let record = dir.path().join("record");
    std::fs::write(
        &spy,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" > '{0}/argv'\nprintf '%s' \"$PGPASSWORD\" > '{0}/env'\necho '-- dump'\n",
            dir.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&spy, std::fs::Permissions::from_mode(0o755)).unwrap();

    let output = kassa(dir.path())
        .args(["tenants", "export", &key, "--output"])
        .arg(&record)
        .env("DATABASE_URL", url.as_str())
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .env("POSTGRES_BIN_DIR", &bin)
        .stdin(Stdio::null())
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
    assert!(argv.contains("--schema=tenant_lavka"), "{argv}");
    let decoded = percent_encoding::percent_decode_str(&password).decode_utf8().unwrap();
    assert!(
        !argv.contains(&password) && !argv.contains(&*decoded),
        "pg_dump's argv shows the password: {argv}"
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("env")).unwrap(), decoded, "PGPASSWORD on the child");
}
