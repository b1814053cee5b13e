//! The server's hashing processes (`kassa hash-worker`, `PasswordHasher::in_processes`):
//! right answers, a session and a lower priority of their own, none of the server's
//! environment, a replacement when one is killed, and nothing left when the hasher goes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kassa::credentials::hasher::{PasswordHasher, Verified};
use secrecy::SecretString;

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

/// The live (not yet dead) processes of this test process that run `kassa hash-worker`.
fn hashing_processes() -> Vec<u32> {
    let mut pids = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for pid in children.split_whitespace().filter_map(|pid| pid.parse::<u32>().ok()) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let dead = stat.rfind(')').is_none_or(|end| stat[end..].starts_with(") Z"));
            if !dead && cmdline.split(|byte| *byte == 0).any(|arg| arg == b"hash-worker") {
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    pids
}

/// Fields of /proc/PID/stat after the command name: (session id, nice).
fn session_and_nice(pid: u32) -> (i64, i64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // After "pid (comm) ": state ppid pgrp session … with nice the 17th field from state.
    (fields[3].parse().unwrap(), fields[16].parse().unwrap())
}

#[tokio::test]
async fn hashing_processes_answer_right_lead_their_own_session_and_come_back_after_a_kill() {
    // The test binary is not kassa: the processes run the kassa binary of this build.
    let hasher = PasswordHasher::in_processes(PathBuf::from(env!("CARGO_BIN_EXE_kassa")));
    hasher.warm_up().await.unwrap();

    let hash = hasher.hash(secret("Kassa-Strong-2026")).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    let right = hasher.verify(secret("Kassa-Strong-2026"), Some(hash.clone())).await.unwrap();
    assert_eq!(right, Verified { matches: true, needs_rehash: false });
    assert!(!hasher.verify(secret("Kassa-Strong-2027"), Some(hash.clone())).await.unwrap().matches);
    assert!(
        !hasher.verify(secret("Kassa-Strong-2026"), None).await.unwrap().matches,
        "the dummy hash never matches"
    );
    // A password with what a line-based protocol could trip on.
    let awkward = "line\nbreak \"quoted\" \\ tab\t ключ \u{1F511}";
    let awkward_hash = hasher.hash(secret(awkward)).await.unwrap();
    assert!(hasher.verify(secret(awkward), Some(awkward_hash)).await.unwrap().matches);

    let first = hashing_processes();
    assert!(!first.is_empty(), "the hashes were computed in no process of their own");
    for &pid in &first {
        let (session, nice) = session_and_nice(pid);
        assert_eq!(session, i64::from(pid), "hashing process {pid} leads a session of its own");
        assert_eq!(nice, 10, "hashing process {pid} runs at nice 10");
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        assert!(environ.is_empty(), "the server's environment reached a hashing process");
        let autogroup_on = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
            .is_ok_and(|on| on.trim() == "1");
        if autogroup_on {
            let group = std::fs::read_to_string(format!("/proc/{pid}/autogroup")).unwrap();
            assert!(group.trim_end().ends_with("nice 10"), "its scheduling group: {group}");
        }
    }

    // Killed processes are replaced, and no caller sees the kill.
    for &pid in &first {
        assert!(
            std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success()
        );
    }
    for _ in 0..4 {
        let verified = hasher.verify(secret("Kassa-Strong-2026"), Some(hash.clone())).await.unwrap();
        assert!(verified.matches);
    }
    let second = hashing_processes();
    assert!(!second.is_empty() && second.iter().all(|pid| !first.contains(pid)), "{first:?} then {second:?}");

    // Dropping the hasher ends (and reaps) its processes.
    drop(hasher);
    let deadline = Instant::now() + Duration::from_secs(5);
    while second.iter().any(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists()) {
        assert!(Instant::now() < deadline, "hashing processes outlived their hasher: {second:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
