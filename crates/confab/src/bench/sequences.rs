//! `confab bench sequences` (not written yet).

use clap::Args;

use super::report::Report;
use super::{Common, Fatal};

/// Flags of `confab bench sequences`.
#[derive(Args, Debug, Clone)]
#[command(disable_help_flag = true)]
pub struct SequencesArgs {
    #[command(flatten)]
    pub common: Common,
}

/// Not written yet.
pub fn run(_args: &SequencesArgs) -> Result<Report, Fatal> {
    Err(Fatal::usage("not implemented yet"))
}
