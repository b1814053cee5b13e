//! The `kassa` binary: parse the command line, load the configuration, run.

use std::process::ExitCode;

use clap::Parser;
use kassa::cli::{self, Cli};
use kassa::config::Config;
use kassa::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.is_hashing_process() {
        return kassa::credentials::hasher::serve_hashing_process();
    }
    if cli.is_offline() {
        cli::print_openapi();
        return ExitCode::SUCCESS;
    }
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("kassa: cannot read .env: {error}");
        return ExitCode::FAILURE;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kassa: {error}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(config.log_format, cli.log_target());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kassa: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "kassa stopped");
            eprintln!("kassa: {error:#}");
            ExitCode::FAILURE
        }
    }
}
