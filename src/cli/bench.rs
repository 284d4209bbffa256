//! `nn2py bench mips62`: trains (or reuses), converts and scores the MIPS tasks.

use std::path::PathBuf;

use clap::Args;

use nn2py::bench::mips62::{self, BenchEvent, BenchOptions, Phase};
use nn2py::bench::{resolve_task, table};
use nn2py::tasks::{self, Task};
use nn2py::train::flags::{train_options, TrainFlags};
use nn2py::train::TrainOptions;

use super::output::{check_report_folder, jobs, progress_bar, write_report, write_stdout, Failure};

/// `nn2py bench mips62`.
#[derive(Debug, Args)]
pub struct Mips62Args {
    /// Tasks to run, comma-separated (default: all 62).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Option<Vec<String>>,

    /// Model cache: reuse `DIR/<Task>.onnx`, else train and write it (with `DIR/<Task>.json`).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,

    /// Tasks run in parallel (default: the available cores).
    #[arg(long)]
    pub jobs: Option<usize>,

    /// Write every row and the totals as JSON (schema_version 1) to this path.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Train every task even when the cache has a model, and overwrite the cache.
    #[arg(long)]
    pub retrain: bool,

    /// Seed of the training runs.
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,

    /// Architecture search budget per task and phase (ladder, escalation), in optimiser steps.
    #[arg(long, value_name = "STEPS")]
    pub step_budget: Option<usize>,

    /// The Python interpreter that runs the generated modules.
    #[arg(long, default_value = "python3")]
    pub python: String,
}

/// Runs the harness, prints the table, writes the JSON report. Exits 0 whenever the harness ran
/// (the verdicts are in the table and the report).
pub fn run(args: &Mips62Args) -> Result<u8, Failure> {
    let mut chosen: Vec<&'static Task> = Vec::new();
    match &args.tasks {
        None => chosen.extend(tasks::all()),
        Some(names) => {
            for name in names {
                let task = resolve_task(name.trim())
                    .map_err(|e| Failure::bad_input(format!("error: --tasks: {e}")))?;
                if !chosen.contains(&task) {
                    chosen.push(task);
                }
            }
        }
    }
    if chosen.is_empty() {
        return Err(Failure::bad_input("error: --tasks names no task"));
    }
    let jobs = jobs(args.jobs)?;
    check_report_folder(args.json.as_deref())?;
    let options = BenchOptions {
        tasks: chosen,
        models: args.models.clone(),
        jobs,
        retrain: args.retrain,
        train: train_options(&TrainFlags {
            seed: args.seed,
            step_budget: args.step_budget,
            ..TrainFlags::default()
        })
        .map_err(Failure::error)?,
        python: args.python.clone(),
        ..BenchOptions::default()
    };
    let bar = progress_bar(options.tasks.len() as u64);
    let report = mips62::run(&options, &|event| match event {
        BenchEvent::Phase { task, phase } => {
            let doing = match phase {
                Phase::Training => "training",
                Phase::Converting => "converting",
                Phase::Scoring => "scoring the Python",
            };
            bar.set_message(format!("{task}: {doing}"));
        }
        BenchEvent::Attempt {
            task,
            index,
            total,
            architecture,
        } => bar.set_message(format!("{task}: training {architecture} ({index}/{total})")),
        BenchEvent::Finished { row } => {
            bar.inc(1);
            let verdict = match (&row.error, row.solved) {
                (Some(e), _) => format!("error: {e}"),
                (None, true) => "solved".to_string(),
                (None, false) => "not solved".to_string(),
            };
            bar.println(format!("{:<28} {verdict} ({:.1} s)", row.task, row.seconds));
        }
    });
    bar.finish_and_clear();
    write_report(args.json.as_deref(), || report.to_json())?;
    write_stdout(&table::render(&report))?;
    Ok(0)
}
