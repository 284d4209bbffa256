//! `nn2py train TASK` (a recurrent network for a MIPS task) and `nn2py train-mlp TASK` (a
//! pointwise MLP, optionally with a penalty sweep).

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::ProgressStyle;

use nn2py::bench::cache::TrainingRecord;
use nn2py::bench::table::{self, mlp_summary, training_summary};
use nn2py::bench::{export_meta, resolve_task};
use nn2py::driver;
use nn2py::export::{export_onnx, read_start};
use nn2py::front::onnx::Limits;
use nn2py::train::flags::{
    check_polish_length, train_options, PolishFlags, SearchFlags, TrainFlags,
};
use nn2py::train::mlp_data::MlpTask;
use nn2py::train::mlp_fit::MlpTrainOptions;
use nn2py::train::model::Architecture;
use nn2py::train::penalty::Penalty;
use nn2py::train::search::SearchEvent;
use nn2py::train::sweep::{self, MlpRecipe};
use nn2py::train::{continue_training, train_task, TrainOptions};

use super::output::{
    progress_bar, read_model, record_path, write_atomically, write_stdout, Failure, EXIT_MISMATCH,
};

/// `nn2py train TASK`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The task's name as `nn2py tasks` lists it (case is ignored).
    pub task: String,

    /// Where to write the ONNX model (default `<Task>.onnx`); the training record goes beside
    /// it with the extension `.json`.
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Seed of the training run (data, initialisation, batch order).
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,

    #[command(flatten)]
    pub search: SearchArgs,

    /// Optimiser steps for each phase of the architecture search, the ladder and the escalation
    /// (the run in progress finishes). A step budget keeps the result independent of the
    /// machine's speed.
    #[arg(long, value_name = "STEPS")]
    pub step_budget: Option<usize>,

    /// Skip simplicity retraining (L1, pruning, snapping).
    #[arg(long)]
    pub no_simplify: bool,

    /// Skip polishing (continued training, with mined hard examples, of a network that the
    /// search found but that is not exact on the larger judge set).
    #[arg(long)]
    pub no_polish: bool,

    #[command(flatten)]
    pub polish: PolishArgs,

    /// Write the network even when it is not exact on the check set (the exit code is still 1).
    #[arg(long)]
    pub keep_inexact: bool,

    /// Continue training this network, an ONNX file `nn2py train` wrote for the same task,
    /// instead of searching: polishing and simplicity retraining only. A `--seed` other than the
    /// first run's gives polishing fresh data.
    #[arg(
        long,
        value_name = "MODEL.onnx",
        conflicts_with_all = ["hidden", "widths", "seeds", "attempt_steps", "patience", "step_budget"]
    )]
    pub from: Option<PathBuf>,
}

/// The architecture search's flags of `nn2py train` ([`SearchFlags`]).
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Hidden sizes the architecture search tries, comma-separated (default: the trainer's).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,

    /// Hidden-layer widths of `f` and `g` the architecture search tries, comma-separated
    /// (default: the trainer's).
    #[arg(long, value_delimiter = ',')]
    pub widths: Option<Vec<usize>>,

    /// Training runs (initialisations) per candidate network (default: the trainer's).
    #[arg(long, value_name = "N")]
    pub seeds: Option<usize>,

    /// Most optimiser steps of one training run of the search (default: the trainer's); a run
    /// also ends early once it is exact or stops improving.
    #[arg(long, value_name = "STEPS")]
    pub attempt_steps: Option<usize>,

    /// A run of the search ends once its held-out accuracy has not improved for this many steps
    /// (0: never; default: the trainer's).
    #[arg(long, value_name = "STEPS")]
    pub patience: Option<usize>,
}

impl SearchArgs {
    pub fn flags(&self) -> SearchFlags<'_> {
        SearchFlags {
            hidden: self.hidden.as_deref(),
            widths: self.widths.as_deref(),
            seeds: self.seeds,
            attempt_steps: self.attempt_steps,
            patience: self.patience,
        }
    }
}

/// Polishing's flags of `nn2py train` ([`PolishFlags`]).
#[derive(Debug, Args)]
pub struct PolishArgs {
    /// Polishing mines, and counts against the network, every pool sequence with a value at least
    /// this far from its target (in (0, 0.5]), not only those that round wrong: a network kept
    /// inside a narrower margin drifts less on unseen sequences.
    #[arg(long, value_name = "M", conflicts_with = "no_polish")]
    pub polish_margin: Option<f32>,

    /// Rounds of polishing (each 2,500 steps at most; default 8).
    #[arg(long, value_name = "R", conflicts_with = "no_polish")]
    pub polish_rounds: Option<usize>,

    /// Polishing's learning rate at its first step, in (0, 0.1] (default 0.002); it decays by
    /// cosine to a hundredth of that. A lower one refines a network that `--from` continues
    /// without first knocking it out of its basin.
    #[arg(long, value_name = "LR", conflicts_with = "no_polish")]
    pub polish_lr: Option<f32>,

    /// Length of polishing's pool sequences, from the task's length up to 200 (default: the
    /// task's): a network held steady on longer sequences keeps margin at the task's length.
    #[arg(long, value_name = "L", conflicts_with = "no_polish")]
    pub polish_length: Option<usize>,

    /// Sequences in polishing's pool, from 1,000 to 1,000,000 (default 100,000): a larger pool
    /// holds more of the rare sequences a network still gets wrong. A task whose whole domain
    /// has at most 2^20 sequences gets the whole domain whatever this says.
    #[arg(long, value_name = "N", conflicts_with = "no_polish")]
    pub polish_pool: Option<usize>,

    /// Draw polishing's pool afresh before every round (same size and length) instead of mining
    /// one pool throughout: the network meets new rare sequences each round. No effect where the
    /// pool is the task's whole domain.
    #[arg(long, conflicts_with = "no_polish")]
    pub polish_redraw: bool,
}

impl PolishArgs {
    pub fn flags(&self) -> PolishFlags {
        PolishFlags {
            margin: self.polish_margin,
            rounds: self.polish_rounds,
            lr: self.polish_lr,
            length: self.polish_length,
            pool: self.polish_pool,
            redraw: self.polish_redraw,
        }
    }
}

/// Trains (or, with `--from`, continues), prints a summary, and writes the model and its record
/// when exact (or with `--keep-inexact`). Exits 1 when the network is not exact.
pub fn run(args: &TrainArgs) -> Result<u8, Failure> {
    let task = resolve_task(&args.task).map_err(Failure::error)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.onnx", task.name)));
    let record_path = record_path(&output)?;
    // A missing folder would otherwise be found only after the whole training run.
    let folder = match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(Failure::bad_input(format!(
            "error: cannot write {}: {} is not a folder",
            output.display(),
            folder.display()
        )));
    }
    if let Some(length) = args.polish.polish_length {
        check_polish_length(task, length).map_err(Failure::error)?;
    }
    let options = train_options(&TrainFlags {
        seed: args.seed,
        step_budget: args.step_budget,
        search: args.search.flags(),
        simplify: !args.no_simplify,
        polish: (!args.no_polish).then(|| args.polish.flags()),
    })
    .map_err(Failure::error)?;
    let start = match &args.from {
        Some(path) => {
            let bytes = read_model(path, Limits::default().max_model_bytes)?;
            let model = read_start(&bytes, task.name, &export_meta(task)).map_err(|e| {
                let shown = path.display().to_string();
                Failure::bad_input(format!("error: --from {}: {e}", shown.escape_debug()))
            })?;
            Some(model)
        }
        None => None,
    };
    let bar = progress_bar(0);
    bar.set_message(format!("training {}", task.name));
    let mut current = String::new();
    let trained = match start {
        Some(model) => {
            // No search, so no count of candidates: a spinner and the time only.
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}") {
                bar.set_style(style);
            }
            bar.set_message(format!("polishing {}", Architecture::of(&model)));
            continue_training(task, &options, model)
        }
        None => train_task(task, &options, &mut |event| match event {
            SearchEvent::Started {
                architecture,
                index,
                total,
                ..
            } => {
                bar.set_length(total as u64);
                bar.set_position(index.saturating_sub(1) as u64);
                current = architecture.to_string();
                bar.set_message(current.clone());
            }
            SearchEvent::Progress(p) => bar.set_message(format!(
                "{current}  step {}  loss {:.4}  held-out {}",
                p.step,
                p.loss,
                table::percent(p.accuracy.rate())
            )),
            SearchEvent::Finished(attempt) => {
                bar.inc(1);
                if attempt.exact && options.simplify.is_some() {
                    bar.set_message(format!("{current} is exact; simplifying"));
                }
            }
        }),
    };
    bar.finish_and_clear();
    let trained =
        trained.map_err(|e| Failure::bad_input(format!("error: training {}: {e}", task.name)))?;

    let exact = trained.is_exact();
    let written = exact || args.keep_inexact;
    if written {
        let onnx = export_onnx(&trained.model, &export_meta(task)).map_err(|e| {
            Failure::bad_input(format!("error: cannot export the network as ONNX: {e}"))
        })?;
        let mut record = TrainingRecord::of(task, &trained, &options);
        record.continued_from = args.from.as_ref().map(|path| path.display().to_string());
        write_atomically(&output, &onnx)?;
        write_atomically(&record_path, record.to_json().as_bytes())?;
    }
    let paths = written.then_some((output.as_path(), record_path.as_path()));
    write_stdout(&training_summary(task, &trained, paths))?;
    if exact {
        return Ok(0);
    }
    let written = if args.keep_inexact {
        "written anyway (--keep-inexact)"
    } else {
        "nothing was written (--keep-inexact writes it)"
    };
    eprintln!(
        "error: the network is not exact on the held-out check set; {written}\n  \
         hint: a larger --step-budget or other --hidden sizes give the search more candidates"
    );
    Ok(EXIT_MISMATCH)
}

/// `nn2py train-mlp TASK`.
#[derive(Debug, Args)]
pub struct TrainMlpArgs {
    /// `l1-norm` or `mod-add`.
    pub task: String,
    /// Inputs of l1-norm.
    #[arg(long)]
    pub n: Option<usize>,
    /// Modulus of mod-add.
    #[arg(long)]
    pub p: Option<usize>,
    /// Fraction of mod-add pairs trained on.
    #[arg(long, default_value_t = 0.5)]
    pub train_fraction: f64,
    /// `none`, `l1`, `group`, `bimt`, `dl` or `share`, with an optional `:STRENGTH`.
    #[arg(long)]
    pub penalty: Option<String>,
    /// Sweep the penalty strength over these values (comma-separated) and keep the simplest
    /// network that is exact on held-out data.
    #[arg(long, value_delimiter = ',')]
    pub sweep: Vec<f32>,
    /// Write the sweep as PREFIX.csv, PREFIX.json and PREFIX.svg.
    #[arg(long)]
    pub sweep_out: Option<PathBuf>,
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    #[arg(long)]
    pub embed: Option<usize>,
    #[arg(long)]
    pub steps: Option<usize>,
    #[arg(long)]
    pub lr: Option<f32>,
    /// Examples per step (0: full batch).
    #[arg(long)]
    pub batch: Option<usize>,
    #[arg(long)]
    pub weight_decay: Option<f32>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Do not snap the final network's parameters.
    #[arg(long)]
    pub no_hammer: bool,
    /// The ONNX model to write (its training record goes beside it, as .json).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Trains (or sweeps), writes the model, its record and the sweep's files, prints a summary.
/// Exits 1 when the network is not exact on its held-out data.
pub fn run_mlp(args: &TrainMlpArgs) -> Result<u8, Failure> {
    let task =
        MlpTask::parse(&args.task, args.n.or(args.p), args.train_fraction).ok_or_else(|| {
            Failure::bad_input(format!(
                "error: unknown task {:?}; expected l1-norm or mod-add",
                args.task
            ))
        })?;
    let defaults = MlpTrainOptions::for_task(&task);
    let penalty = match &args.penalty {
        Some(text) => Penalty::parse(text).map_err(Failure::error)?,
        None => defaults.penalty,
    };
    let options = MlpTrainOptions {
        hidden: args.hidden.clone().unwrap_or(defaults.hidden.clone()),
        embed: args.embed.unwrap_or(defaults.embed),
        steps: args.steps.unwrap_or(defaults.steps),
        lr: args.lr.unwrap_or(defaults.lr),
        batch: args.batch.unwrap_or(defaults.batch),
        weight_decay: args.weight_decay.unwrap_or(defaults.weight_decay),
        penalty,
        seed: args.seed,
        ..defaults
    };
    let recipe = MlpRecipe {
        task,
        options,
        strengths: args.sweep.clone(),
        hammer: !args.no_hammer,
    };
    let outcome = sweep::run_recipe(&recipe, driver::VERSION).map_err(Failure::error)?;
    let record_path = record_path(&args.output)?;
    write_atomically(&args.output, &outcome.onnx)?;
    write_atomically(&record_path, outcome.record.as_bytes())?;
    if let (Some(prefix), Some(result)) = (&args.sweep_out, &outcome.sweep) {
        let json = serde_json::to_string_pretty(result).map_err(Failure::error)?;
        write_atomically(&prefix.with_extension("csv"), sweep::csv(result).as_bytes())?;
        write_atomically(&prefix.with_extension("json"), (json + "\n").as_bytes())?;
        write_atomically(&prefix.with_extension("svg"), sweep::svg(result).as_bytes())?;
    }
    write_stdout(&mlp_summary(&outcome))?;
    Ok(if outcome.run.held_out.accuracy >= 1.0 {
        0
    } else {
        EXIT_MISMATCH
    })
}
