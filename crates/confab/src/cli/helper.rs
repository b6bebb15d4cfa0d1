//! The rustyline helper of the prompt: Tab completes command names (also after `help `),
//! and a grey hint shows the arguments still to type, both from the [`CommandTable`].

use std::borrow::Cow;
use std::sync::Arc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::docs::CommandTable;

/// Completion and hints for the prompt.
pub struct CliHelper {
    table: Arc<CommandTable>,
}

impl CliHelper {
    pub fn new(table: Arc<CommandTable>) -> CliHelper {
        CliHelper { table }
    }
}

impl Completer for CliHelper {
    type Candidate = Pair;

    /// Like redis-cli: the whole line so far is a prefix of a command name (or `help <prefix>`).
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = if before.len() >= 5 && before[..5].eq_ignore_ascii_case("help ") {
            before.len() - before[5..].trim_start().len()
        } else {
            0
        };
        let typed = &before[start..];
        if typed.is_empty() && start == 0 {
            return Ok((0, Vec::new()));
        }
        let found = self
            .table
            .complete(typed)
            .into_iter()
            .map(|n| Pair {
                display: n.to_string(),
                replacement: n.to_string(),
            })
            .collect();
        Ok((start, found))
    }
}

impl Hinter for CliHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() {
            return None;
        }
        self.table.hint(line)
    }
}

impl Highlighter for CliHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[90m{hint}\x1b[0m"))
    }
}

impl Validator for CliHelper {}

impl Helper for CliHelper {}
