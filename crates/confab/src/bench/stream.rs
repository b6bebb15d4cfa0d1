//! `confab bench stream` (not written yet).

use clap::Args;

use super::report::Report;
use super::{Common, Fatal};

/// Flags of `confab bench stream`.
#[derive(Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct StreamArgs {
    #[command(flatten)]
    pub common: Common,
}

/// Not written yet.
pub fn run(_args: &StreamArgs) -> Result<Report, Fatal> {
    Err(Fatal::usage("not implemented yet"))
}
