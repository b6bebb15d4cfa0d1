//! `confab bench fanout` (not written yet).

use clap::Args;

use super::report::Report;
use super::{Common, Fatal};

/// Flags of `confab bench fanout`.
#[derive(Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct FanoutArgs {
    #[command(flatten)]
    pub common: Common,
}

/// Not written yet.
pub fn run(_args: &FanoutArgs) -> Result<Report, Fatal> {
    Err(Fatal::usage("not implemented yet"))
}
