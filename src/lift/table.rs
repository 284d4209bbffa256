//! The table reading: a finite machine with no short formulas still reads as its transition
//! table, when the table is small.

use super::reading::{Candidate, Context, Found, Outcome, Reading};

/// The table reading, tried when the finite reading read a machine and no reading found formulas.
pub const READING: Reading = Reading::new("table", machine_without_formulas, read_table);

/// Largest transition table written for a machine with no short formulas.
const MAX_TABLE_ROWS: u128 = 1024;

fn machine_without_formulas(context: &Context, candidates: &[Candidate]) -> bool {
    candidates.is_empty() && matches!(context.machine.get(), Some(Ok(_)))
}

fn read_table(context: &Context, _: &[Candidate]) -> Outcome {
    let Some(Ok(machine)) = context.machine.get() else {
        return Ok(Ok(Vec::new()));
    };
    let rows = context
        .bounds
        .iter()
        .map(|&(lo, hi)| (hi as i128 - lo as i128 + 1) as u128)
        .fold(machine.count as u128, u128::saturating_mul);
    if rows > MAX_TABLE_ROWS {
        return Ok(Err(format!(
            "the transition table would have {rows} rows (limit {MAX_TABLE_ROWS})"
        )));
    }
    Ok(Ok(vec![Found::Table(machine.clone())]))
}
