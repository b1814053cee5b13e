//! The `kassa` binary, as an operator runs it.

use std::process::Command;

const KASSA: &str = env!("CARGO_BIN_EXE_kassa");

/// `kassa` with a clean environment: no `.env` (the working directory is a fresh folder).
pub fn kassa(dir: &std::path::Path) -> Command {
    let mut command = Command::new(KASSA);
    command.current_dir(dir).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}
