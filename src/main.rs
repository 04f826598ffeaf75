//! The `gild` command line: a thin layer over the library.

mod cli;

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before anything opens a database: SQLite takes this only before its first use.
    let sqlite_memory = gild::store::use_global_allocator_for_sqlite();
    let args = cli::Args::parse();
    let log_format = args.log_format;
    cli::init_tracing(&args);
    if let Err(code) = sqlite_memory {
        tracing::debug!(code, "SQLite keeps its own allocator");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = anyhow::Error::new(e).context("cannot start the async runtime");
            cli::print_error(log_format, &e, cli::EXIT_FAILURE);
            return ExitCode::from(cli::EXIT_FAILURE);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = cli::exit_code_of(&e);
            cli::print_error(log_format, &e, code);
            ExitCode::from(code)
        }
    }
}
