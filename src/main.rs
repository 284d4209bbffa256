//! The `nn2py` command line: the only place that prints, writes output files or exits.
//!
//! `nn2py MODEL` converts a model; `nn2py tasks`, `nn2py train TASK` and `nn2py bench mips62`
//! list, train and benchmark the MIPS tasks (a model file named like a subcommand is passed as
//! `./tasks`).
//!
//! Exit codes: 0 success; 1 verification failed or `--check` found a difference (conversion), or
//! the trained network is not exact on its check set (`train`); 2 bad usage or bad input
//! (including a model nn2py cannot read, and an unknown task). `bench` exits 0 whenever the
//! harness ran: its verdicts are in the table and the JSON report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use nn2py::analyze::features::{self, FeatureOptions};
use nn2py::bench::cache::{self, TrainingRecord};
use nn2py::bench::mips62::{self, BenchEvent, BenchOptions, Phase};
use nn2py::bench::table;
use nn2py::bench::{export_meta, resolve_task, task_listing, tasks_table};
use nn2py::diag::render;
use nn2py::driver::{self, CompileError, Emit, KindChoice, Options, Readout};
use nn2py::export::{export_onnx, read_anchor_onnx, AnchorRnn};
use nn2py::front::onnx::Limits;
use nn2py::network::text as network_text;
use nn2py::program::text as program_text;
use nn2py::rewrite;
use nn2py::tasks::{self, Task};
use nn2py::train::model::Architecture;
use nn2py::train::search::SearchEvent;
use nn2py::train::{continue_training, train_task, TrainOptions};
use nn2py::verify::domain;
use nn2py::verify::VerifyOptions;

const EXIT_MISMATCH: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EmitArg {
    Network,
    Program,
    Python,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReadoutArg {
    Raw,
    Round,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Auto,
    Pointwise,
    Sequence,
}

/// Compile a trained network (ONNX) into a short, verified Python program.
///
/// `nn2py MODEL.onnx -o out.py` converts a model; the subcommands train networks for the MIPS
/// tasks and benchmark the converter on them.
#[derive(Debug, Parser)]
#[command(
    name = "nn2py",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    convert: ConvertArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the 62 MIPS benchmark tasks.
    Tasks(TasksArgs),
    /// Train a network for a MIPS task and write it as ONNX (with its training record beside it).
    Train(TrainArgs),
    /// Run a benchmark.
    Bench {
        #[command(subcommand)]
        bench: BenchCommand,
    },
    /// Train a pointwise MLP (l1-norm or mod-add) with an optional complexity penalty or sweep.
    #[command(name = "train-mlp")]
    TrainMlp(TrainMlpArgs),
    /// Analyse a network (reports; the network is never changed).
    Analyze {
        #[command(subcommand)]
        analysis: Analyze,
    },
}

#[derive(Debug, Subcommand)]
enum Analyze {
    /// Find circles, tori and other irreducible 2-D features in every layer; see the README.
    Features(FeaturesArgs),
    /// Description length, sparsity, weight tying, duplicated neurons, connection cost,
    /// modularity, and which simplifications still match the network.
    Complexity(ComplexityArgs),
}

/// `nn2py analyze complexity MODEL`.
#[derive(Debug, Args)]
struct ComplexityArgs {
    model: PathBuf,
    /// Write the JSON report here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Input domain (else the model's metadata); without one, simplifications are not checked.
    #[arg(long, allow_hyphen_values = true)]
    domain: Option<String>,
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    #[arg(long, default_value_t = VerifyOptions::default().seed)]
    seed: u64,
    /// Relative gap within which weights share one snapped value.
    #[arg(long, default_value_t = 0.02)]
    snap_tolerance: f64,
    /// Largest difference of unit incoming weight vectors for two neurons to be duplicates.
    #[arg(long, default_value_t = 1e-3)]
    duplicate_tolerance: f64,
}

/// `nn2py train-mlp TASK`.
#[derive(Debug, Args)]
struct TrainMlpArgs {
    /// `l1-norm` or `mod-add`.
    task: String,
    /// Inputs of l1-norm.
    #[arg(long)]
    n: Option<usize>,
    /// Modulus of mod-add.
    #[arg(long)]
    p: Option<usize>,
    /// Fraction of mod-add pairs trained on.
    #[arg(long, default_value_t = 0.5)]
    train_fraction: f64,
    /// `none`, `l1`, `group`, `bimt`, `dl` or `share`, with an optional `:STRENGTH`.
    #[arg(long)]
    penalty: Option<String>,
    /// Sweep the penalty strength over these values (comma-separated) and keep the simplest
    /// network that is exact on held-out data.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<f32>,
    /// Write the sweep as PREFIX.csv, PREFIX.json and PREFIX.svg.
    #[arg(long)]
    sweep_out: Option<PathBuf>,
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    #[arg(long)]
    embed: Option<usize>,
    #[arg(long)]
    steps: Option<usize>,
    #[arg(long)]
    lr: Option<f32>,
    /// Examples per step (0: full batch).
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    weight_decay: Option<f32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Do not snap the final network's parameters.
    #[arg(long)]
    no_hammer: bool,
    /// The ONNX model to write (its training record goes beside it, as .json).
    #[arg(short, long)]
    output: PathBuf,
}

/// `nn2py analyze features MODEL`.
#[derive(Debug, Args)]
struct FeaturesArgs {
    /// The ONNX model (integer inputs).
    model: PathBuf,
    /// Input domain, as for converting (default: the model's metadata).
    #[arg(long, allow_hyphen_values = true)]
    domain: Option<String>,
    /// Sequence length to bind where the model's time axis is not fixed.
    #[arg(long)]
    length: Option<usize>,
    /// Only this layer: a value name, or `h@STEP` for a sequence model's state.
    #[arg(long)]
    layer: Option<String>,
    /// Write one SVG scatter per feature into this directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write the JSON report (schema_version 1) to this path.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Sampled inputs when the domain is too large to enumerate.
    #[arg(long, default_value_t = VerifyOptions::default().samples)]
    samples: usize,
    /// Seed of the sampler and of the analysis' random choices.
    #[arg(long, default_value_t = FeatureOptions::default().seed)]
    seed: u64,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Train (or reuse), convert and score every MIPS task; see the README.
    #[command(name = "mips62")]
    Mips62(Mips62Args),
}

/// Converting a model (the command without a subcommand).
#[derive(Debug, Args)]
struct ConvertArgs {
    /// The ONNX model to convert.
    #[arg(required = true)]
    model: Option<PathBuf>,

    /// Where to write the result; `-` (the default) writes to standard output.
    #[arg(short, long, default_value = "-")]
    output: String,

    /// Input domain: comma-separated ranges `lo..hi` (half-open) or `lo..=hi` (inclusive), one
    /// for all features, one per model input, or one per feature. Real bounds (`-1.0..1.0`) give
    /// a continuous range.
    #[arg(long, allow_hyphen_values = true)]
    domain: Option<String>,

    /// Sequence length to bind where the model's time axis is not fixed.
    #[arg(long)]
    length: Option<usize>,

    /// Treat the model as pointwise or as a sequence model (default: decide from the graph).
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    kind: KindArg,

    /// How the network's outputs are read: `round` means the network computes integers (read by
    /// rounding), so nn2py may lift it to the program it implements (default: the model's
    /// `nn2py.readout` metadata, else raw).
    #[arg(long, value_enum)]
    readout: Option<ReadoutArg>,

    /// Do not lift and do not normalise the weights: write the network's arithmetic as it is.
    #[arg(long)]
    faithful: bool,

    /// What to write: the network IR, the program IR, or the Python module.
    #[arg(long, value_enum, default_value_t = EmitArg::Python)]
    emit: EmitArg,

    /// Write a machine-readable JSON report (schema_version 1) to this path.
    #[arg(long)]
    report: Option<PathBuf>,

    /// Do not write: exit 1 if the output file would change (for build systems).
    #[arg(long)]
    check: bool,

    /// Also run the written module with python3 and compare it with the network.
    #[arg(long)]
    verify_python: bool,

    /// The Python interpreter for --verify-python.
    #[arg(long, default_value = "python3")]
    python: String,

    /// Number of sampled inputs when the domain is too large to enumerate.
    #[arg(long, default_value_t = VerifyOptions::default().samples)]
    samples: usize,

    /// Seed of the input sampler.
    #[arg(long, default_value_t = VerifyOptions::default().seed)]
    seed: u64,

    /// Largest accepted model file, in bytes.
    #[arg(long, default_value_t = Limits::default().max_model_bytes)]
    max_model_bytes: usize,

    /// Largest accepted tensor, in elements.
    #[arg(long, default_value_t = Limits::default().max_tensor_elements)]
    max_tensor_elements: usize,

    /// Largest accepted graph, in nodes.
    #[arg(long, default_value_t = Limits::default().max_nodes)]
    max_nodes: usize,

    /// Longest accepted chain of dependent nodes.
    #[arg(long, default_value_t = Limits::default().max_graph_depth)]
    max_graph_depth: usize,

    /// Longest accepted sequence (time axis).
    #[arg(long, default_value_t = Limits::default().max_sequence_length)]
    max_sequence_length: usize,

    /// Largest input domain checked exhaustively; a larger one is sampled (--samples).
    #[arg(long, default_value_t = VerifyOptions::default().exhaustive_limit)]
    max_enumeration: u128,

    /// Most rule-application rounds of the readability rewrite, per expression.
    #[arg(long, default_value_t = rewrite::Options::default().iter_limit)]
    rewrite_iterations: usize,

    /// Most e-nodes of the readability rewrite's e-graph, per expression.
    #[arg(long, default_value_t = rewrite::Options::default().node_limit)]
    rewrite_nodes: usize,

    /// Most milliseconds of the readability rewrite, per expression.
    #[arg(long, default_value_t = rewrite::Options::default().time_limit.as_millis() as u64)]
    rewrite_time_ms: u64,

    /// Also write a make/ninja depfile (`OUTPUT: MODEL`) to this path; needs -o PATH.
    #[arg(long, value_name = "PATH")]
    depfile: Option<PathBuf>,
}

/// `nn2py tasks`.
#[derive(Debug, Args)]
struct TasksArgs {
    /// Write the table as JSON (schema_version 1) to standard output.
    #[arg(long)]
    json: bool,
}

/// `nn2py train TASK`.
#[derive(Debug, Args)]
struct TrainArgs {
    /// The task's name as `nn2py tasks` lists it (case is ignored).
    task: String,

    /// Where to write the ONNX model (default `<Task>.onnx`); the training record goes beside
    /// it with the extension `.json`.
    #[arg(short, long)]
    output: Option<PathBuf>,

    /// Seed of the training run (data, initialisation, batch order).
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    seed: u64,

    /// Hidden sizes the architecture search tries, comma-separated (default: the trainer's).
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,

    /// Hidden-layer widths of `f` and `g` the architecture search tries, comma-separated
    /// (default: the trainer's).
    #[arg(long, value_delimiter = ',')]
    widths: Option<Vec<usize>>,

    /// Training runs (initialisations) per candidate network (default: the trainer's).
    #[arg(long, value_name = "N")]
    seeds: Option<usize>,

    /// Most optimiser steps of one training run of the search (default: the trainer's); a run
    /// also ends early once it is exact or stops improving.
    #[arg(long, value_name = "STEPS")]
    attempt_steps: Option<usize>,

    /// A run of the search ends once its held-out accuracy has not improved for this many steps
    /// (0: never; default: the trainer's).
    #[arg(long, value_name = "STEPS")]
    patience: Option<usize>,

    /// Optimiser steps for each phase of the architecture search, the ladder and the escalation
    /// (the run in progress finishes). A step budget keeps the result independent of the
    /// machine's speed.
    #[arg(long, value_name = "STEPS")]
    step_budget: Option<usize>,

    /// Skip simplicity retraining (L1, pruning, snapping).
    #[arg(long)]
    no_simplify: bool,

    /// Skip polishing (continued training, with mined hard examples, of a network that the
    /// search found but that is not exact on the larger judge set).
    #[arg(long)]
    no_polish: bool,

    /// Polishing mines, and counts against the network, every pool sequence with a value at least
    /// this far from its target (in (0, 0.5]), not only those that round wrong: a network kept
    /// inside a narrower margin drifts less on unseen sequences.
    #[arg(long, value_name = "M", conflicts_with = "no_polish")]
    polish_margin: Option<f32>,

    /// Rounds of polishing (each 2,500 steps at most; default 8).
    #[arg(long, value_name = "R", conflicts_with = "no_polish")]
    polish_rounds: Option<usize>,

    /// Polishing's learning rate at its first step, in (0, 0.1] (default 0.002); it decays by
    /// cosine to a hundredth of that. A lower one refines a network that `--from` continues
    /// without first knocking it out of its basin.
    #[arg(long, value_name = "LR", conflicts_with = "no_polish")]
    polish_lr: Option<f32>,

    /// Length of polishing's pool sequences, from the task's length up to 200 (default: the
    /// task's): a network held steady on longer sequences keeps margin at the task's length.
    #[arg(long, value_name = "L", conflicts_with = "no_polish")]
    polish_length: Option<usize>,

    /// Sequences in polishing's pool, from 1,000 to 1,000,000 (default 100,000): a larger pool
    /// holds more of the rare sequences a network still gets wrong. A task whose whole domain
    /// has at most 2^20 sequences gets the whole domain whatever this says.
    #[arg(long, value_name = "N", conflicts_with = "no_polish")]
    polish_pool: Option<usize>,

    /// Draw polishing's pool afresh before every round (same size and length) instead of mining
    /// one pool throughout: the network meets new rare sequences each round. No effect where the
    /// pool is the task's whole domain.
    #[arg(long, conflicts_with = "no_polish")]
    polish_redraw: bool,

    /// Write the network even when it is not exact on the check set (the exit code is still 1).
    #[arg(long)]
    keep_inexact: bool,

    /// Continue training this network, an ONNX file `nn2py train` wrote for the same task,
    /// instead of searching: polishing and simplicity retraining only. A `--seed` other than the
    /// first run's gives polishing fresh data.
    #[arg(
        long,
        value_name = "MODEL.onnx",
        conflicts_with_all = ["hidden", "widths", "seeds", "attempt_steps", "patience", "step_budget"]
    )]
    from: Option<PathBuf>,
}

/// `nn2py bench mips62`.
#[derive(Debug, Args)]
struct Mips62Args {
    /// Tasks to run, comma-separated (default: all 62).
    #[arg(long, value_delimiter = ',')]
    tasks: Option<Vec<String>>,

    /// Model cache: reuse `DIR/<Task>.onnx`, else train and write it (with `DIR/<Task>.json`).
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,

    /// Tasks run in parallel (default: the available cores).
    #[arg(long)]
    jobs: Option<usize>,

    /// Write every row and the totals as JSON (schema_version 1) to this path.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,

    /// Train every task even when the cache has a model, and overwrite the cache.
    #[arg(long)]
    retrain: bool,

    /// Seed of the training runs.
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    seed: u64,

    /// Architecture search budget per task and phase (ladder, escalation), in optimiser steps.
    #[arg(long, value_name = "STEPS")]
    step_budget: Option<usize>,

    /// The Python interpreter that runs the generated modules.
    #[arg(long, default_value = "python3")]
    python: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => convert(&cli.convert),
        Some(Command::Tasks(args)) => tasks_command(args),
        Some(Command::Train(args)) => train_command(args),
        Some(Command::Bench {
            bench: BenchCommand::Mips62(args),
        }) => bench_command(args),
        Some(Command::TrainMlp(args)) => train_mlp_command(args),
        Some(Command::Analyze {
            analysis: Analyze::Complexity(args),
        }) => complexity_command(args),
        Some(Command::Analyze {
            analysis: Analyze::Features(args),
        }) => features_command(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure { message, code }) => {
            eprint!("{message}");
            if !message.ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(code)
        }
    }
}

/// A failure already rendered for people, with its exit code.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn bad_input(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: EXIT_BAD_INPUT,
        }
    }
}

fn convert(cli: &ConvertArgs) -> Result<u8, Failure> {
    let Some(model) = &cli.model else {
        return Err(Failure::bad_input("error: no model given (see --help)"));
    };
    let domain = match &cli.domain {
        Some(text) => Some(
            domain::parse_ranges(text).map_err(|e| Failure::bad_input(format!("error: {e}")))?,
        ),
        None => None,
    };
    if cli.check && cli.output == "-" {
        return Err(Failure::bad_input(
            "error: --check needs the output file: pass -o PATH",
        ));
    }
    if cli.depfile.is_some() && cli.output == "-" {
        return Err(Failure::bad_input(
            "error: --depfile needs the output file: pass -o PATH",
        ));
    }
    let options = Options {
        domain,
        length: cli.length,
        kind: match cli.kind {
            KindArg::Auto => KindChoice::Auto,
            KindArg::Pointwise => KindChoice::Pointwise,
            KindArg::Sequence => KindChoice::Sequence,
        },
        limits: Limits {
            max_model_bytes: cli.max_model_bytes,
            max_tensor_elements: cli.max_tensor_elements,
            max_nodes: cli.max_nodes,
            max_graph_depth: cli.max_graph_depth,
            max_sequence_length: cli.max_sequence_length,
        },
        verify: VerifyOptions {
            samples: cli.samples,
            seed: cli.seed,
            exhaustive_limit: cli.max_enumeration,
            ..VerifyOptions::default()
        },
        rewrite: rewrite::Options {
            iter_limit: cli.rewrite_iterations,
            node_limit: cli.rewrite_nodes,
            time_limit: Duration::from_millis(cli.rewrite_time_ms),
        },
        python: cli.verify_python.then(|| cli.python.clone()),
        emit: match cli.emit {
            EmitArg::Network => Emit::Network,
            EmitArg::Program => Emit::Program,
            EmitArg::Python => Emit::Python,
        },
        readout: cli.readout.map(|r| match r {
            ReadoutArg::Raw => Readout::Raw,
            ReadoutArg::Round => Readout::Round,
        }),
        lift: !cli.faithful,
        normalise: !cli.faithful,
        ..Options::default()
    };
    let bytes = read_model(model, options.limits.max_model_bytes)?;
    let compilation = driver::compile(&bytes, &options).map_err(|e| compile_failure(model, &e))?;

    if let Some(path) = &cli.report {
        let json = serde_json::to_string_pretty(&compilation.report)
            .map_err(|e| Failure::bad_input(format!("error: cannot encode the report: {e}")))?;
        write_atomically(path, format!("{json}\n").as_bytes())?;
    }
    let report = &compilation.report;
    for (name, check) in [
        ("program", &report.verification),
        ("python3", &report.python_verification),
    ] {
        if let Some(agreement) = check.as_ref().filter(|a| !a.is_exact()) {
            let mut message = format!(
                "error: verification failed ({name}): {}\n",
                agreement.summary()
            );
            if let Some(m) = &agreement.first_mismatch {
                message.push_str(&format!(
                    "  first mismatch: input {:?}: network {:?}, {name} {:?}\n",
                    m.input, m.expected, m.actual
                ));
            }
            message.push_str("  nothing was written\n");
            return Err(Failure {
                message,
                code: EXIT_MISMATCH,
            });
        }
    }

    let text = match options.emit {
        Emit::Network => network_text::print(&compilation.network),
        Emit::Program => compilation
            .program
            .as_ref()
            .map(program_text::print)
            .unwrap_or_default(),
        Emit::Python => compilation.python.clone().unwrap_or_default(),
    };
    if cli.check {
        let current = std::fs::read(&cli.output).ok();
        if current.as_deref() == Some(text.as_bytes()) {
            return Ok(0);
        }
        eprintln!(
            "{} would change (run without --check to update it)",
            cli.output.escape_debug()
        );
        return Ok(EXIT_MISMATCH);
    }
    if cli.output == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())
            .map_err(|e| Failure::bad_input(format!("error: cannot write to stdout: {e}")))?;
    } else {
        write_atomically(Path::new(&cli.output), text.as_bytes())?;
    }
    if let Some(path) = &cli.depfile {
        write_atomically(path, depfile(&cli.output, model)?.as_bytes())?;
    }
    Ok(0)
}

/// A make/ninja depfile: one rule saying the output depends on the model. Spaces, `#`, `$` and
/// backslashes before them are escaped as GNU make and ninja read them; a path with a line break
/// cannot be written in a rule and is a usage error.
fn depfile(output: &str, model: &Path) -> Result<String, Failure> {
    let model = model.to_string_lossy();
    for path in [output, &model] {
        if path.contains(['\n', '\r']) {
            return Err(Failure::bad_input(format!(
                "error: --depfile: the path {} has a line break, which a make rule cannot hold",
                path.escape_debug()
            )));
        }
    }
    Ok(format!(
        "{}: {}\n",
        make_escape(output),
        make_escape(&model)
    ))
}

/// Escapes a path for a make rule: `$` as `$$`, `#` as `\#`, a space or tab as `\ ` (with the
/// backslashes that precede it doubled, as gcc's `-MD` writes them), other characters as they
/// are.
fn make_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut backslashes = 0;
    for c in path.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                out.push(c);
                continue;
            }
            ' ' | '\t' | '#' => {
                out.extend(std::iter::repeat_n('\\', backslashes + 1));
                out.push(c);
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
        backslashes = 0;
    }
    out
}

fn compile_failure(model: &Path, error: &CompileError) -> Failure {
    let code = match error {
        CompileError::RollingChanged(_) => EXIT_MISMATCH,
        _ => EXIT_BAD_INPUT,
    };
    let mut message = render(error);
    message.push_str(&format!(
        "  = while converting {}\n",
        model.display().to_string().escape_debug()
    ));
    Failure { message, code }
}

/// Reads the model, refusing files larger than the limit before reading them.
fn read_model(path: &Path, max_bytes: usize) -> Result<Vec<u8>, Failure> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::bad_input(format!("error: cannot read {}: {e}", shown.escape_debug()))
    })?;
    if meta.len() > max_bytes as u64 {
        return Err(Failure::bad_input(format!(
            "error: {} is {} bytes, over the limit of {max_bytes} (raise it with --max-model-bytes)",
            shown.escape_debug(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| {
        Failure::bad_input(format!("error: cannot read {}: {e}", shown.escape_debug()))
    })
}

/// Writes a file atomically (see [`cache::write_atomically`]); a failure is bad input.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    cache::write_atomically(path, bytes).map_err(|e| {
        Failure::bad_input(format!(
            "error: cannot write {}: {e}",
            path.display().to_string().escape_debug()
        ))
    })
}

/// Writes text to standard output; a closed pipe is an error, not a panic.
fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(|e| Failure::bad_input(format!("error: cannot write to stdout: {e}")))
}

/// A progress bar on standard error, drawn only when standard error is a terminal.
fn progress_bar(len: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:24} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Largest hidden size or layer width `--hidden` and `--widths` take (the search's parameter cap
/// rules out far smaller ones; this keeps its arithmetic in range).
const MAX_LAYER_SIZE: usize = 4096;

/// The architecture search's flags of `nn2py train` (`None`: the trainer's default).
#[derive(Debug, Default)]
struct SearchFlags<'a> {
    hidden: Option<&'a [usize]>,
    widths: Option<&'a [usize]>,
    seeds: Option<usize>,
    attempt_steps: Option<usize>,
    patience: Option<usize>,
}

/// The trainer's settings from the command line's; bad values are usage errors.
fn train_options(
    seed: u64,
    step_budget: Option<usize>,
    search: &SearchFlags,
    no_simplify: bool,
    polishing: Polishing,
) -> Result<TrainOptions, Failure> {
    let mut options = TrainOptions {
        seed,
        ..TrainOptions::default()
    };
    if let Some(steps) = step_budget {
        options.search.step_budget = steps;
        options.search.escalation_budget = steps;
    }
    let sizes_in_range = |sizes: &[usize]| {
        !sizes.is_empty() && sizes.iter().all(|&s| (1..=MAX_LAYER_SIZE).contains(&s))
    };
    if let Some(sizes) = search.hidden {
        if !sizes_in_range(sizes) {
            return Err(Failure::bad_input(format!(
                "error: --hidden takes sizes from 1 to {MAX_LAYER_SIZE}, for example --hidden 1,2,4"
            )));
        }
        options.search.hidden_sizes = sizes.to_vec();
    }
    if let Some(widths) = search.widths {
        if !sizes_in_range(widths) {
            return Err(Failure::bad_input(format!(
                "error: --widths takes widths from 1 to {MAX_LAYER_SIZE}, for example --widths 4,8"
            )));
        }
        options.search.widths = widths.to_vec();
    }
    for (flag, value) in [
        ("--seeds", search.seeds),
        ("--attempt-steps", search.attempt_steps),
    ] {
        if value == Some(0) {
            return Err(Failure::bad_input(format!(
                "error: {flag} takes a positive count"
            )));
        }
    }
    if let Some(seeds) = search.seeds {
        options.search.seeds = seeds;
    }
    if let Some(steps) = search.attempt_steps {
        options.search.fit.steps = steps;
    }
    if let Some(patience) = search.patience {
        options.search.fit.patience = patience;
    }
    if no_simplify {
        options.simplify = None;
    }
    match polishing {
        Polishing::Off => options.polish = None,
        Polishing::On {
            margin,
            rounds,
            lr,
            length,
            pool,
            redraw,
        } => {
            let polish = options.polish.get_or_insert_with(Default::default);
            if let Some(margin) = margin {
                if !(margin > 0.0 && margin <= 0.5) {
                    return Err(Failure::bad_input(
                        "error: --polish-margin takes a value in (0, 0.5], for example 0.25",
                    ));
                }
                polish.margin = Some(margin);
            }
            if let Some(rounds) = rounds {
                if rounds == 0 {
                    return Err(Failure::bad_input(
                        "error: --polish-rounds takes a positive count (--no-polish turns it off)",
                    ));
                }
                polish.rounds = rounds;
            }
            if let Some(lr) = lr {
                if !(lr > 0.0 && lr <= 0.1) {
                    return Err(Failure::bad_input(
                        "error: --polish-lr takes a value in (0, 0.1], for example 0.0005",
                    ));
                }
                polish.lr = lr;
            }
            polish.redraw_pool = redraw;
            options.polish_pool_length = length;
            if let Some(pool) = pool {
                if !(MIN_POLISH_POOL..=MAX_POLISH_POOL).contains(&pool) {
                    return Err(Failure::bad_input(format!(
                        "error: --polish-pool takes a count from {MIN_POLISH_POOL} to \
                         {MAX_POLISH_POOL}, for example 1000000"
                    )));
                }
                options.polish_pool_sequences = pool;
            }
        }
    }
    Ok(options)
}

/// Longest pool sequence `--polish-length` takes (a 100,000-sequence pool of them is tens of MB).
const MAX_POLISH_LENGTH: usize = 200;

/// Smallest and largest pool `--polish-pool` takes (the largest, at `MAX_POLISH_LENGTH` and two
/// inputs, holds 1.6 GB of inputs).
const MIN_POLISH_POOL: usize = 1_000;
const MAX_POLISH_POOL: usize = 1_000_000;

/// Polishing as the command line sets it.
#[derive(Debug, Clone, Copy)]
enum Polishing {
    Off,
    /// The defaults, or the margin, the rounds, the pool's sequence length and size given.
    On {
        margin: Option<f32>,
        rounds: Option<usize>,
        lr: Option<f32>,
        length: Option<usize>,
        pool: Option<usize>,
        redraw: bool,
    },
}

impl Polishing {
    /// The trainer's default polishing.
    const DEFAULT: Polishing = Polishing::On {
        margin: None,
        rounds: None,
        lr: None,
        length: None,
        pool: None,
        redraw: false,
    };
}

/// `nn2py tasks`: the task table, or its JSON form.
fn tasks_command(args: &TasksArgs) -> Result<u8, Failure> {
    let text = if args.json {
        let json = serde_json::to_string_pretty(&task_listing())
            .map_err(|e| Failure::bad_input(format!("error: cannot encode the table: {e}")))?;
        format!("{json}\n")
    } else {
        tasks_table()
    };
    write_stdout(&text).map(|_| 0)
}

/// `nn2py train TASK`: trains, prints a summary, writes the model and its record when exact.
fn train_command(args: &TrainArgs) -> Result<u8, Failure> {
    let task = resolve_task(&args.task).map_err(|e| Failure::bad_input(format!("error: {e}")))?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.onnx", task.name)));
    let record_path = cache::record_path(&output);
    if record_path == output {
        return Err(Failure::bad_input(
            "error: the model's file name must not end in .json (its training record goes there)",
        ));
    }
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
    if let Some(length) = args.polish_length {
        if !(task.length..=MAX_POLISH_LENGTH).contains(&length) {
            return Err(Failure::bad_input(format!(
                "error: --polish-length takes a length from {}, {}'s own, to {MAX_POLISH_LENGTH}",
                task.length, task.name
            )));
        }
    }
    let options = train_options(
        args.seed,
        args.step_budget,
        &SearchFlags {
            hidden: args.hidden.as_deref(),
            widths: args.widths.as_deref(),
            seeds: args.seeds,
            attempt_steps: args.attempt_steps,
            patience: args.patience,
        },
        args.no_simplify,
        if args.no_polish {
            Polishing::Off
        } else {
            Polishing::On {
                margin: args.polish_margin,
                rounds: args.polish_rounds,
                lr: args.polish_lr,
                length: args.polish_length,
                pool: args.polish_pool,
                redraw: args.polish_redraw,
            }
        },
    )?;
    let start = match &args.from {
        Some(path) => Some(read_start(path, task)?),
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
            table::percent(check.rate())
        ),
    );
    line("time", format!("{:.1} s", trained.seconds));

    let exact = trained.is_exact();
    if exact || args.keep_inexact {
        let onnx = export_onnx(&trained.model, &export_meta(task)).map_err(|e| {
            Failure::bad_input(format!("error: cannot export the network as ONNX: {e}"))
        })?;
        let mut record = TrainingRecord::of(task, &trained, &options);
        record.continued_from = args.from.as_ref().map(|path| path.display().to_string());
        write_atomically(&output, &onnx)?;
        write_atomically(&record_path, record.to_json().as_bytes())?;
        line(
            "wrote",
            format!(
                "{} (record: {})",
                output.display().to_string().escape_debug(),
                record_path.display().to_string().escape_debug()
            ),
        );
    }
    write_stdout(&summary)?;
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

/// The network `nn2py train --from` continues: an ONNX file nn2py's trainer wrote for `task`.
fn read_start(path: &Path, task: &Task) -> Result<AnchorRnn, Failure> {
    let shown = path.display().to_string();
    let shown = shown.escape_debug();
    let bytes = read_model(path, Limits::default().max_model_bytes)?;
    let (model, meta) = read_anchor_onnx(&bytes)
        .map_err(|e| Failure::bad_input(format!("error: --from {shown}: {e}")))?;
    if let Some(trained_for) = meta.task.filter(|name| name != task.name) {
        return Err(Failure::bad_input(format!(
            "error: --from {shown}: the network was trained for {}, not {}",
            trained_for.escape_debug(),
            task.name
        )));
    }
    // nn2py's models do not name their task (the converter must not see it), so a network of
    // another task with the same shapes, length and domain is a valid start.
    let expected = export_meta(task);
    if (meta.length, &meta.domain) != (expected.length, &expected.domain) {
        return Err(Failure::bad_input(format!(
            "error: --from {shown}: the network was trained on sequences of length {} over {}, \
             but {}'s have length {} over {}",
            meta.length,
            meta.domain.escape_debug(),
            task.name,
            expected.length,
            expected.domain
        )));
    }
    // Its input and output sizes are checked by `continue_training`.
    Ok(model)
}

/// `nn2py bench mips62`: runs the harness, prints the table, writes the JSON report. Exits 0
/// whenever the harness ran (the verdicts are in the table and the report).
fn bench_command(args: &Mips62Args) -> Result<u8, Failure> {
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
    let jobs = match args.jobs {
        Some(0) => return Err(Failure::bad_input("error: --jobs must be at least 1")),
        Some(n) => n,
        None => BenchOptions::default().jobs,
    };
    if let Some(path) = &args.json {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) {
            return Err(Failure::bad_input(format!(
                "error: --json {}: no such directory",
                path.display().to_string().escape_debug()
            )));
        }
    }
    let options = BenchOptions {
        tasks: chosen,
        models: args.models.clone(),
        jobs,
        retrain: args.retrain,
        train: train_options(
            args.seed,
            args.step_budget,
            &SearchFlags::default(),
            false,
            Polishing::DEFAULT,
        )?,
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
    if let Some(path) = &args.json {
        let json = report
            .to_json()
            .map_err(|e| Failure::bad_input(format!("error: cannot encode the report: {e}")))?;
        write_atomically(path, json.as_bytes())?;
    }
    write_stdout(&table::render(&report))?;
    Ok(0)
}

fn train_mlp_command(args: &TrainMlpArgs) -> Result<u8, Failure> {
    use nn2py::train::mlp_data::MlpTask;
    use nn2py::train::mlp_fit::MlpTrainOptions;
    use nn2py::train::penalty::Penalty;
    use nn2py::train::sweep::{self, MlpRecipe};
    let task =
        MlpTask::parse(&args.task, args.n.or(args.p), args.train_fraction).ok_or_else(|| {
            Failure::bad_input(format!(
                "error: unknown task {:?}; expected l1-norm or mod-add",
                args.task
            ))
        })?;
    let defaults = MlpTrainOptions::for_task(&task);
    let penalty = match &args.penalty {
        Some(text) => {
            Penalty::parse(text).map_err(|e| Failure::bad_input(format!("error: {e}")))?
        }
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
    let outcome = sweep::run_recipe(&recipe, driver::VERSION)
        .map_err(|e| Failure::bad_input(format!("error: {e}")))?;
    let record_path = cache::record_path(&args.output);
    if record_path == args.output {
        return Err(Failure::bad_input(
            "error: the model's file name must not end in .json (its training record goes there)",
        ));
    }
    write_atomically(&args.output, &outcome.onnx)?;
    write_atomically(&record_path, outcome.record.as_bytes())?;
    if let (Some(prefix), Some(result)) = (&args.sweep_out, &outcome.sweep) {
        let json = serde_json::to_string_pretty(result)
            .map_err(|e| Failure::bad_input(format!("error: {e}")))?;
        write_atomically(&prefix.with_extension("csv"), sweep::csv(result).as_bytes())?;
        write_atomically(&prefix.with_extension("json"), (json + "\n").as_bytes())?;
        write_atomically(&prefix.with_extension("svg"), sweep::svg(result).as_bytes())?;
    }
    let run = &outcome.run;
    let mut text = String::new();
    if let Some(result) = &outcome.sweep {
        text.push_str(&sweep::csv(result));
    }
    text.push_str(&format!(
        "task {}; {} parameters ({} nonzero weights); held-out accuracy {}, max error {:.3e}; \
         {:.1} bits; snapped: {}\n",
        task.name(),
        run.parameters,
        run.nonzero_weights,
        table::percent(run.held_out.accuracy),
        run.held_out.max_error,
        sweep::bits(&run.model),
        run.snapped
    ));
    write_stdout(&text)?;
    Ok(if run.held_out.accuracy >= 1.0 {
        0
    } else {
        EXIT_MISMATCH
    })
}

fn complexity_command(args: &ComplexityArgs) -> Result<u8, Failure> {
    use nn2py::analyze::complexity::{self, ComplexityOptions, ComplexityTolerances};
    let domain = match &args.domain {
        Some(text) => Some(
            domain::parse_ranges(text).map_err(|e| Failure::bad_input(format!("error: {e}")))?,
        ),
        None => None,
    };
    let limits = Limits::default();
    let bytes = read_model(&args.model, limits.max_model_bytes)?;
    let options = ComplexityOptions {
        compile: Options {
            domain,
            verify: VerifyOptions {
                samples: args.samples,
                seed: args.seed,
                ..VerifyOptions::default()
            },
            ..Options::default()
        },
        tolerances: ComplexityTolerances {
            snap_tolerance: args.snap_tolerance,
            duplicate_tolerance: args.duplicate_tolerance,
        },
    };
    let report = complexity::analyze_complexity(&bytes, &options)
        .map_err(|e| compile_failure(&args.model, &e))?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::bad_input(format!("error: {e}")))?;
        write_atomically(path, (json + "\n").as_bytes())?;
    }
    write_stdout(&complexity::summary(&report))?;
    Ok(0)
}

/// `nn2py analyze features`: the text summary on stdout, the JSON report and the pictures.
fn features_command(args: &FeaturesArgs) -> Result<u8, Failure> {
    let domain = match &args.domain {
        Some(text) => Some(
            domain::parse_ranges(text).map_err(|e| Failure::bad_input(format!("error: {e}")))?,
        ),
        None => None,
    };
    let bytes = read_model(&args.model, Limits::default().max_model_bytes)?;
    let options = FeatureOptions {
        driver: Options {
            domain,
            length: args.length,
            verify: VerifyOptions {
                samples: args.samples,
                seed: args.seed,
                ..VerifyOptions::default()
            },
            ..Options::default()
        },
        layer: args.layer.clone(),
        seed: args.seed,
    };
    let analysis = features::analyze_features(&bytes, &options).map_err(|e| {
        let mut message = render(&e);
        message.push_str(&format!(
            "  = while analysing {}\n",
            args.model.display().to_string().escape_debug()
        ));
        Failure::bad_input(message)
    })?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::bad_input(format!(
                "error: cannot create {}: {e}",
                dir.display().to_string().escape_debug()
            ))
        })?;
        for (name, svg) in &analysis.pictures {
            write_atomically(&dir.join(name), svg.as_bytes())?;
        }
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&analysis.report)
            .map_err(|e| Failure::bad_input(format!("error: cannot encode the report: {e}")))?;
        write_atomically(path, format!("{json}\n").as_bytes())?;
    }
    write_stdout(&features::summary(&analysis.report))?;
    Ok(0)
}
