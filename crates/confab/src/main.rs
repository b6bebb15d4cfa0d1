//! The `confab` binary: parses flags, builds a validated `Config`, and calls the libraries.
//!
//! Subcommands: `server`, `cli` and `bench` (the load generator; its exit codes are in `bench`). Server exit codes: 0 success
//! (including a graceful shutdown), 1 runtime failure, 2 bad flags or configuration, 130 a
//! second Ctrl+C. The cli's exit codes are listed in `cli` (and `confab cli --help`).

mod bench;
mod cli;
mod server_args;

use clap::{Parser, Subcommand};

/// The system allocator, counted: the server's INFO `used_memory` (see `confab_alloc`).
#[global_allocator]
static GLOBAL: confab_alloc::Counting = confab_alloc::Counting;

/// confab: a multi-threaded message and key-value server that speaks the Redis protocol.
#[derive(Parser, Debug)]
#[command(name = "confab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (RESP2/RESP3 on TCP; redis-cli and Redis client libraries work with it).
    Server(server_args::ServerArgs),
    /// Interactive client (like redis-cli): prompt, one-shot commands, stdin pipes, pub/sub.
    Cli(cli::CliArgs),
    /// Load generator (like redis-benchmark): requests, churn, sequences, stream, fanout.
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Server(args) => server_args::run(args),
        Command::Cli(args) => cli::run(args),
        Command::Bench(args) => bench::run(args),
    };
    std::process::exit(code);
}
