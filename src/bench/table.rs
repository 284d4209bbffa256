//! Plain-text tables for people: column alignment, the benchmark's result table, and the
//! summaries `nn2py train` and `nn2py train-mlp` print.

use std::path::Path;

use crate::bench::mips62::{BenchReport, Row, SetScore};
use crate::bench::zoo::ZooReport;
use crate::tasks::Task;
use crate::train::sweep::{self, MlpOutcome};
use crate::train::Trained;

/// How a column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Renders a header and rows as space-separated columns, each as wide as its widest cell, with
/// a dashed rule under the header. Rows shorter than the header are padded with empty cells;
/// extra cells are dropped. Every line ends with `\n` and has no trailing spaces.
pub fn aligned(header: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let cell = |row: &[String], i: usize| row.get(i).map_or("", String::as_str).to_string();
    let mut widths: Vec<usize> = header.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (i, width) in widths.iter_mut().enumerate() {
            *width = (*width).max(cell(row, i).chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(header)
            .zip(&widths)
            .map(|((text, (_, align)), &width)| match align {
                Align::Left => format!("{text:<width$}"),
                Align::Right => format!("{text:>width$}"),
            })
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.iter().map(|(h, _)| h.to_string()).collect());
    out.push_str(&line(widths.iter().map(|&w| "-".repeat(w)).collect()));
    for row in rows {
        out.push_str(&line((0..header.len()).map(|i| cell(row, i)).collect()));
    }
    out
}

/// A rate in `[0, 1]` as a percentage with two decimals, rounded down; `100%` only when exactly 1.
pub fn percent(rate: f64) -> String {
    if rate == 1.0 {
        "100%".to_string()
    } else {
        // Never round 99.996% up to 100.00%: the column must not claim an exactness it lacks.
        format!("{:.2}%", (rate * 10_000.0).floor() / 100.0)
    }
}

fn optional<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "-".to_string(), show)
}

fn score_cells(score: Option<&SetScore>) -> [String; 2] {
    [
        optional(score, |s| percent(s.python_vs_network)),
        optional(score, |s| percent(s.python_vs_truth)),
    ]
}

fn row_cells(row: &Row) -> Vec<String> {
    let model = row.model.as_ref();
    let [net, truth] = score_cells(row.held_out.as_ref());
    let [_, long_truth] = score_cells(row.long.as_ref());
    vec![
        row.task.to_string(),
        optional(model, |m| m.architecture.clone()),
        optional(model, |m| m.parameters.to_string()),
        optional(model, |m| m.nonzero.to_string()),
        optional(model, |m| {
            let cached = if m.cached { " (cached)" } else { "" };
            format!("{:.1}{cached}", m.training_seconds)
        }),
        optional(row.conversion_seconds, |s| format!("{s:.2}")),
        optional(row.code_lines, |n| n.to_string()),
        optional(row.program.as_ref(), |p| p.expression_nodes.to_string()),
        net,
        truth,
        long_truth,
        if row.solved { "yes" } else { "no" }.to_string(),
        match (&row.lifted, &row.coding) {
            (Some(true), Some(coding)) => coding.clone(),
            (Some(_), _) => "no".to_string(),
            (None, _) => "-".to_string(),
        },
    ]
}

/// The benchmark's table: one line per task in the report's order, then any errors, then the
/// totals.
pub fn render(report: &BenchReport) -> String {
    use Align::{Left, Right};
    let header = [
        ("task", Left),
        ("architecture", Left),
        ("params", Right),
        ("nonzero", Right),
        ("train s", Right),
        ("convert s", Right),
        ("lines", Right),
        ("nodes", Right),
        ("py=net", Right),
        ("py=truth", Right),
        ("2x len", Right),
        ("solved", Left),
        ("lifted", Left),
    ];
    let rows: Vec<Vec<String>> = report.rows.iter().map(row_cells).collect();
    let mut out = aligned(&header, &rows);
    let notes: Vec<String> = report
        .rows
        .iter()
        .flat_map(|row| {
            let error = row.error.as_ref().map(|e| format!("{}: {e}", row.task));
            let long = row
                .long_error
                .as_ref()
                .map(|e| format!("{} (2x length): {e}", row.task));
            error.into_iter().chain(long)
        })
        .collect();
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            out.push_str(&note);
            out.push('\n');
        }
    }
    let t = &report.totals;
    out.push_str(&format!(
        "\nsolved {} of {} tasks ({} with a lifted program, {} with errors); training {:.1} s, conversion {:.1} s (median {:.2} s), wall time {:.1} s\n",
        t.solved,
        t.tasks,
        t.lifted_solved,
        t.errors,
        t.training_seconds,
        t.conversion_seconds,
        t.median_conversion_seconds,
        t.wall_seconds
    ));
    out
}

/// What `nn2py train` prints after training `task`: one `key value` line each for the task, the
/// network, its steps, its check and the time; `written` (the model's path and its record's)
/// adds a line naming both.
pub fn training_summary(task: &Task, trained: &Trained, written: Option<(&Path, &Path)>) -> String {
    let check = &trained.check;
    let mut summary = String::new();
    let mut line = |key: &str, value: String| summary.push_str(&format!("{key:<13} {value}\n"));
    line("task", task.name.to_string());
    line("architecture", trained.architecture.to_string());
    line(
        "parameters",
        format!("{} ({} nonzero)", trained.parameters, trained.nonzero),
    );
    line(
        "steps",
        if trained.polish_steps > 0 {
            format!("{} ({} polishing)", trained.steps, trained.polish_steps)
        } else {
            trained.steps.to_string()
        },
    );
    line(
        "held-out",
        format!(
            "{} of {} fresh sequences exact, {} of {} values ({})",
            check.sequences_correct,
            check.sequences,
            check.values_correct,
            check.values,
            percent(check.rate())
        ),
    );
    line("time", format!("{:.1} s", trained.seconds));
    if let Some((model, record)) = written {
        line(
            "wrote",
            format!(
                "{} (record: {})",
                model.display().to_string().escape_debug(),
                record.display().to_string().escape_debug()
            ),
        );
    }
    summary
}

/// What `nn2py train-mlp` prints: the sweep's CSV (when it swept), then one line on the network
/// written.
pub fn mlp_summary(outcome: &MlpOutcome) -> String {
    let run = &outcome.run;
    let mut text = String::new();
    if let Some(result) = &outcome.sweep {
        text.push_str(&sweep::csv(result));
    }
    text.push_str(&format!(
        "task {}; {} parameters ({} nonzero weights); held-out accuracy {}, max error {:.3e}; \
         {:.1} bits; snapped: {}\n",
        run.task.name(),
        run.parameters,
        run.nonzero_weights,
        percent(run.held_out.accuracy),
        run.held_out.max_error,
        sweep::bits(&run.model),
        run.snapped
    ));
    text
}

/// The zoo benchmark's table: one line per network, then the errors, then the totals.
pub fn render_zoo(report: &ZooReport) -> String {
    use Align::{Left, Right};
    let header = [
        ("task", Left),
        ("cell", Left),
        ("width", Right),
        ("head", Left),
        ("lifted", Left),
        ("coding", Left),
        ("lines", Right),
        ("convert s", Right),
        ("py=net", Right),
        ("py=label", Right),
        ("py=net 2x", Right),
        ("py=label 2x", Right),
    ];
    let rate = |r: Option<f64>| optional(r, percent);
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|row| {
            vec![
                row.task.clone(),
                row.cell.to_string(),
                row.width.to_string(),
                row.head.to_string(),
                if row.lifted { "yes" } else { "no" }.to_string(),
                row.coding.clone().unwrap_or_else(|| "-".to_string()),
                optional(row.python_lines, |n| n.to_string()),
                optional(row.convert_s, |s| format!("{s:.2}")),
                rate(row.network_agreement),
                rate(row.label_agreement),
                rate(row.network_agreement_2x),
                rate(row.label_agreement_2x),
            ]
        })
        .collect();
    let mut out = aligned(&header, &rows);
    if !report.errors.is_empty() {
        out.push('\n');
        for e in &report.errors {
            out.push_str(&format!("{}: {}\n", e.network, e.error));
        }
    }
    let t = &report.totals;
    out.push_str(&format!(
        "\n{} network{}: {} lifted; Python exact against the labels on {} at the trained length, {} at twice it; conversion {:.1} s (median {:.2} s), wall time {:.1} s\n",
        t.networks,
        if t.networks == 1 { "" } else { "s" },
        t.lifted,
        t.exact,
        t.exact_2x,
        t.convert_s,
        t.median_convert_s,
        t.wall_s
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_space() {
        let text = aligned(
            &[
                ("name", Align::Left),
                ("n", Align::Right),
                ("x", Align::Left),
            ],
            &[
                vec!["a".into(), "10".into(), "".into()],
                vec!["long".into(), "2".into()],
            ],
        );
        assert_eq!(text, "name   n  x\n----  --  -\na     10\nlong   2\n");
    }

    #[test]
    fn percentages_never_round_up_to_exact() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.99999), "99.99%");
        assert_eq!(percent(0.5), "50.00%");
        assert_eq!(percent(0.0), "0.00%");
    }
}
