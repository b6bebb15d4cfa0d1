//! Lists commands (being written).

use super::{Handler, Plan};

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[];
