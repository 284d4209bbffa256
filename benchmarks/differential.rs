//! Differential testing at scale: thousands of random networks (`nn2py::synth`), each converted
//! by nn2py and checked three ways (the module run by `python3`, nn2py's interpreter,
//! onnxruntime), as `tests/differential.rs` does for a few hundred.
//!
//! ```sh
//! cargo bench --bench differential --profile dev                 # seeds 0..2000
//! cargo bench --bench differential --profile dev -- 5000 20000   # seeds 5000..20000
//! ```
//!
//! It prints the models run, the disagreements (each with its seed and what differs), the
//! counts per style, and throughput: models per second through nn2py (compile, with its own
//! verification, plus the interpreter) against onnxruntime's models per second on the same
//! models and inputs in the same run (session creation and runs, one process), the baseline.
//! Seeds are checked in chunks of 250 (one `python3` and one onnxruntime process each).
//! Exits 1 when any model fails.
#![allow(clippy::print_stdout)]

#[path = "../tests/differential.rs"]
mod differential;

use std::collections::BTreeMap;

use differential::{check_models, generated, Tally};
use nn2py::synth::differential::DiffOptions;

const CHUNK: u64 = 250;

fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (first, end) = match numbers[..] {
        [a, b, ..] if a < b => (a, b),
        [n] => (0, n),
        _ => (0, 2000),
    };
    let options = DiffOptions::default();
    let mut total = Tally::default();
    let mut per_style: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    let mut start = first;
    while start < end {
        let stop = (start + CHUNK).min(end);
        let tally = check_models(&generated(start..stop), &options);
        println!(
            "seeds {start}..{stop}: {} of {} agree ({:.1} s nn2py, {:.1} s python3, {:.1} s onnxruntime)",
            tally.agreeing, tally.models, tally.nn2py_s, tally.python_s, tally.oracle_s
        );
        for failure in &tally.failures {
            println!("DISAGREEMENT {failure}");
        }
        total.models += tally.models;
        total.agreeing += tally.agreeing;
        total.nn2py_s += tally.nn2py_s;
        total.python_s += tally.python_s;
        total.oracle_s += tally.oracle_s;
        total.failures.extend(tally.failures);
        for (style, (n, ok)) in tally.per_style {
            let entry = per_style.entry(style).or_default();
            entry.0 += n;
            entry.1 += ok;
        }
        start = stop;
    }
    println!();
    println!("models run      {}", total.models);
    println!("agreeing        {}", total.agreeing);
    println!("failures        {}", total.failures.len());
    for (style, (n, ok)) in &per_style {
        println!("  {style:<11} {ok} of {n} agree");
    }
    let rate = |seconds: f64| total.models as f64 / seconds.max(1e-9);
    println!(
        "nn2py           {:.1} models/s ({:.1} s: compile with verification, interpreter)",
        rate(total.nn2py_s),
        total.nn2py_s
    );
    println!(
        "python3         {:.1} models/s ({:.1} s: the written modules)",
        rate(total.python_s),
        total.python_s
    );
    println!(
        "onnxruntime     {:.1} models/s ({:.1} s: baseline, same models and inputs)",
        rate(total.oracle_s),
        total.oracle_s
    );
    println!(
        "nn2py / onnxruntime time: {:.2}x",
        total.nn2py_s / total.oracle_s.max(1e-9)
    );
    if !total.failures.is_empty() {
        std::process::exit(1);
    }
}
