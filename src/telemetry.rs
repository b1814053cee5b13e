//! Logging: one subscriber for the process, compact text or flattened JSON (`LOG_FORMAT`).
//!
//! The filter comes from `RUST_LOG` and defaults to `kassa=info,tower_http=warn,sqlx=warn`:
//! sqlx at `info` would log every statement, which is noise at POS request rates.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "kassa=info,tower_http=warn,sqlx=warn";

/// Where log lines go: the server logs to stdout (what process supervisors collect); the
/// operator's commands log to stderr, so their stdout stays the command's output (a SQL
/// export, a table) and can be piped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(format: LogFormat, target: LogTarget) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let writer = move || -> Box<dyn std::io::Write> {
        match target {
            LogTarget::Stdout => Box::new(std::io::stdout()),
            LogTarget::Stderr => Box::new(std::io::stderr()),
        }
    };
    // Colours only for a person at a terminal: a collected log gets plain lines, and the
    // server does not format escape codes into every request's line.
    let to_terminal = match target {
        LogTarget::Stdout => std::io::stdout().is_terminal(),
        LogTarget::Stderr => std::io::stderr().is_terminal(),
    };
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(to_terminal);
    // A second init (tests, embedding) keeps the first subscriber instead of panicking.
    let _ = match format {
        LogFormat::Text => builder.compact().try_init(),
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
        }
    };
}
