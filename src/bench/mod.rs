//! Benchmark harnesses: nn2py trains networks, converts them with the normal converter and
//! scores the generated Python on fresh held-out data.
//!
//! [`mips62`] is the MIPS-62 harness behind `nn2py bench mips62`; [`zoo`] scores the networks
//! of `models/zoo` (trained as users train them) behind `nn2py bench zoo`. The pieces it shares with
//! `nn2py train` and `nn2py tasks` live here: finding a task by name ([`resolve_task`]), the task
//! table ([`task_listing`], [`tasks_table`]), the export metadata of a task's network
//! ([`export_meta`]), and an ordered parallel map ([`run_ordered`]). [`cache`]
//! holds the model cache (an ONNX file plus a JSON training record per task).
//!
//! **Invariant:** nothing here prints or exits; harnesses return rows and report progress
//! through callbacks, and the CLI (`main.rs`, `src/cli/`) prints.
//!
//! **Invariant:** the converter never learns which task a network was trained for: the exported
//! ONNX carries only the input domain and the sequence length (no `nn2py.task`), and the
//! harness passes [`crate::driver::Options::default`] to [`crate::driver::compile`].

pub mod cache;
pub mod mips62;
pub mod table;
pub mod zoo;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::bench::table::{aligned, Align};
use crate::driver::VERSION;
use crate::export::ExportMeta;
use crate::tasks::{self, Task};

/// A task name that is not in the table, with the names it resembles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown task \"{}\"{}", .name.escape_debug(), suggestion(.close))]
pub struct UnknownTask {
    /// The name as given.
    pub name: String,
    /// Close names, most similar first (empty when nothing is close).
    pub close: Vec<&'static str>,
}

fn suggestion(close: &[&str]) -> String {
    if close.is_empty() {
        "; `nn2py tasks` lists them".to_string()
    } else {
        format!("; did you mean {}?", close.join(", "))
    }
}

/// The task named `name`: the exact reference name, or the single name equal to it ignoring
/// ASCII case. Errors: [`UnknownTask`] with up to five close names (by edit distance, case
/// ignored, or containing the given name).
pub fn resolve_task(name: &str) -> Result<&'static Task, UnknownTask> {
    if let Some(task) = tasks::by_name(name) {
        return Ok(task);
    }
    let folded: Vec<&'static Task> = tasks::all()
        .iter()
        .filter(|t| t.name.eq_ignore_ascii_case(name))
        .collect();
    if let [task] = folded.as_slice() {
        return Ok(task);
    }
    let wanted = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = tasks::all()
        .iter()
        .filter_map(|t| {
            let candidate = t.name.to_ascii_lowercase();
            let distance = edit_distance(&wanted, &candidate);
            let limit = (wanted.len().max(candidate.len()) / 3).max(2);
            let contains = wanted.len() >= 3 && candidate.contains(&wanted);
            (distance <= limit || contains).then_some((distance, t.name))
        })
        .collect();
    scored.sort();
    Err(UnknownTask {
        name: name.to_string(),
        close: scored.into_iter().take(5).map(|(_, n)| n).collect(),
    })
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The export metadata of a network trained for `task`: its domain and length, and no task
/// name (see the module's invariant).
pub fn export_meta(task: &Task) -> ExportMeta {
    ExportMeta {
        domain: task.domain_text(),
        length: task.length,
        task: None,
        producer_version: VERSION.to_string(),
    }
}

/// One task of [`TaskListing`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskEntry {
    pub name: &'static str,
    pub input_dim: usize,
    pub output_dim: usize,
    pub length: usize,
    /// Inclusive `[lo, hi]` per input feature.
    pub domain: Vec<(i64, i64)>,
    /// The domain as `--domain` takes it ([`Task::domain_text`]).
    pub domain_text: String,
    /// Whether MIPS solved the task, per the reference.
    pub mips_solved: bool,
}

/// The task table as `nn2py tasks --json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskListing {
    /// Version of this layout; bumped on any incompatible change.
    pub schema_version: u32,
    /// In the reference table's order.
    pub tasks: Vec<TaskEntry>,
}

/// Every task, in the reference table's order.
pub fn task_listing() -> TaskListing {
    TaskListing {
        schema_version: 1,
        tasks: tasks::all()
            .iter()
            .map(|t| TaskEntry {
                name: t.name,
                input_dim: t.input_dim,
                output_dim: t.output_dim,
                length: t.length,
                domain: t.domain.clone(),
                domain_text: t.domain_text(),
                mips_solved: t.mips_solved,
            })
            .collect(),
    }
}

/// The task table for people (`nn2py tasks`): name, input_dim, output_dim, length, domain.
pub fn tasks_table() -> String {
    let rows: Vec<Vec<String>> = task_listing()
        .tasks
        .into_iter()
        .map(|t| {
            vec![
                t.name.to_string(),
                t.input_dim.to_string(),
                t.output_dim.to_string(),
                t.length.to_string(),
                t.domain_text,
            ]
        })
        .collect();
    let header = [
        ("name", Align::Left),
        ("input_dim", Align::Right),
        ("output_dim", Align::Right),
        ("length", Align::Right),
        ("domain", Align::Left),
    ];
    aligned(&header, &rows)
}

/// Applies `work` to every item on `jobs` threads (at least one) and returns the results in
/// the items' order, whatever order they finish in. Items are handed out one at a time, in
/// order, so early items start first.
pub fn run_ordered<T, R, F>(items: &[T], jobs: usize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &T) -> R + Sync,
{
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let threads = jobs.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(index) else {
                    break;
                };
                let result = work(index, item);
                // A poisoned lock means another worker panicked; its panic resurfaces when
                // the scope joins, so this worker's result may be stored regardless.
                let mut slots = results.lock().unwrap_or_else(|e| e.into_inner());
                slots[index] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_exact_and_case_folded_names() {
        assert_eq!(resolve_task("Sum_All").unwrap().name, "Sum_All");
        assert_eq!(resolve_task("bitwise_not").unwrap().name, "Bitwise_Not");
    }

    #[test]
    fn unknown_names_list_close_ones() {
        let err = resolve_task("Sum_Al").unwrap_err();
        assert_eq!(err.close.first(), Some(&"Sum_All"));
        let err = resolve_task("Parity").unwrap_err();
        assert!(err.close.contains(&"Parity_All"), "{:?}", err.close);
        assert!(err.to_string().contains("did you mean"), "{err}");
        let err = resolve_task("zzzzzzzzzzzzzzzzzzzz").unwrap_err();
        assert!(err.close.is_empty());
        assert!(err.to_string().contains("nn2py tasks"), "{err}");
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
    }

    #[test]
    fn domain_text_is_one_inclusive_range_per_feature() {
        let xor = tasks::by_name("Bitwise_Xor").unwrap();
        assert_eq!(xor.domain_text(), "0..=1,0..=1");
        let meta = export_meta(xor);
        assert_eq!(meta.task, None);
        assert_eq!(meta.length, xor.length);
    }

    #[test]
    fn the_listing_has_every_task_in_order() {
        let listing = task_listing();
        assert_eq!(listing.tasks.len(), 62);
        assert_eq!(listing.tasks[0].name, tasks::all()[0].name);
        let table = tasks_table();
        assert_eq!(table.lines().count(), 64);
        assert!(table.lines().any(|l| l.starts_with("Sum_All ")));
    }

    #[test]
    fn run_ordered_keeps_item_order() {
        let items: Vec<u64> = (0..40).collect();
        let out = run_ordered(&items, 4, |i, &v| {
            // Later items finish first.
            std::thread::sleep(std::time::Duration::from_micros(400 - 10 * v));
            (i, v * v)
        });
        let expected: Vec<(usize, u64)> = (0..40).map(|v| (v as usize, v * v)).collect();
        assert_eq!(out, expected);
        assert!(run_ordered(&[] as &[u8], 3, |_, &v| v).is_empty());
        assert_eq!(run_ordered(&[7u8], 0, |_, &v| v + 1), vec![8]);
    }
}
