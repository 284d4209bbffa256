//! Training-speed benchmark: steps per second of one full training step of the anchor RNN
//! (`engine.loss_and_gradients` then `AdamW::step`) for each gradient engine, next to JAX on CPU
//! (`benchmarks/jax_rnn.py`: `jax.jit`, `jax.lax.scan`, `jax.value_and_grad`, hand-written
//! AdamW) measured in the same run, as a ratio (goal: at least 1, faster than JAX).
//!
//! Every configuration trains on one fixed synthetic batch (random integers 0..99, running-sum
//! targets) from nn2py's own seeded initialisation; both are handed to the JAX script in a JSON
//! file, so both sides run the same model on the same data, and the losses of the first steps
//! are compared (column `loss diff`: the largest relative difference over the first six steps,
//! which also checks that the two AdamW updates agree).
//!
//! Run with `cargo bench --bench train_steps --profile dev [-- OPTIONS]`:
//! - `--engines fused,serial,burn` which engines (default: all this build has; `serial` is the
//!   fused engine with one tile and one thread; `burn` needs `--features burn`);
//! - `--configs NAME,...` a subset of the configurations (default: all);
//! - `--seconds S` target duration of each timed run (default 2.5);
//! - `--no-jax` skip JAX; `--jax-single-thread` restrict XLA to one thread (as `serial`; `fused`
//!   splits layer calls of 2^21 multiply-adds or more over the machine's threads);
//! - `--python PATH` the interpreter that runs `jax_rnn.py` (default `python3`).
//!
//! If JAX is not importable the Rust rows are printed and JAX is reported as skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use nn2py::export::{Affine, AnchorRnn};
use nn2py::rng::SplitMix64;
use nn2py::train::adamw::{AdamW, AdamWConfig};
use nn2py::train::batch::Batch;
use nn2py::train::fit::{engine, Engine};
use nn2py::train::fused::{Plan, Workspace};
use nn2py::train::gradient::GradientEngine;
use nn2py::train::model::{initialise, zeros_like, Architecture};

/// Learning rate of every step (constant, as in `jax_rnn.py`).
const LR: f32 = 1e-3;
/// Steps after which losses are compared with JAX (`jax_rnn.py` reports its compile step plus
/// `--warmup 5`).
const COMPARED_STEPS: usize = 6;

/// One benchmark configuration of the anchor RNN (input and output size 1).
struct Config {
    name: &'static str,
    arch: Architecture,
    batch: usize,
    length: usize,
}

fn configs() -> Vec<Config> {
    let arch = |hidden, f: &[usize], g: &[usize]| Architecture {
        hidden,
        f_widths: f.to_vec(),
        g_widths: g.to_vec(),
    };
    vec![
        Config {
            name: "h4-linear-b256-t16",
            arch: arch(4, &[], &[]),
            batch: 256,
            length: 16,
        },
        Config {
            name: "h64-linear-b4096-t16",
            arch: arch(64, &[], &[]),
            batch: 4096,
            length: 16,
        },
        Config {
            name: "h8-f32-g16-b256-t10",
            arch: arch(8, &[32], &[16]),
            batch: 256,
            length: 10,
        },
    ]
}

/// What computes the gradients in one row: a trainer engine, or the fused engine with its
/// kernels held to one tile and one thread (`serial`, the baseline for tiling and threads).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Engine(Engine),
    Serial,
}

fn engine_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Engine(Engine::Fused) => "fused",
        #[cfg(feature = "burn")]
        Kind::Engine(Engine::Burn) => "burn",
        Kind::Serial => "serial",
    }
}

/// Every engine this build has: burn's only with the `burn` feature.
const ALL_ENGINES: &[Kind] = &[
    Kind::Engine(Engine::Fused),
    Kind::Serial,
    #[cfg(feature = "burn")]
    Kind::Engine(Engine::Burn),
];

struct Args {
    engines: Vec<Kind>,
    configs: Vec<String>,
    seconds: f64,
    jax: bool,
    jax_single_thread: bool,
    python: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        engines: ALL_ENGINES.to_vec(),
        configs: configs().iter().map(|c| c.name.to_string()).collect(),
        seconds: 2.5,
        jax: true,
        jax_single_thread: false,
        python: "python3".to_string(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--engines" => {
                args.engines = value("--engines")?
                    .split(',')
                    .map(|name| {
                        ALL_ENGINES
                            .iter()
                            .copied()
                            .find(|&e| engine_name(e) == name.trim())
                            .ok_or(format!(
                                "unknown engine {name:?} ({})",
                                ALL_ENGINES
                                    .iter()
                                    .map(|&e| engine_name(e))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--configs" => {
                let known: Vec<&str> = configs().iter().map(|c| c.name).collect();
                args.configs = value("--configs")?
                    .split(',')
                    .map(|name| {
                        known
                            .iter()
                            .find(|&&k| k == name.trim())
                            .map(|k| k.to_string())
                            .ok_or(format!("unknown config {name:?} ({})", known.join(", ")))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--seconds" => {
                let text = value("--seconds")?;
                args.seconds = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0)
                    .ok_or(format!("--seconds: not a positive number: {text:?}"))?;
            }
            "--no-jax" => args.jax = false,
            "--jax-single-thread" => args.jax_single_thread = true,
            "--python" => args.python = value("--python")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// `n` sequences of `length` random integers in 0..=99 with their running sums as targets, in
/// the trainer's layout (time-major, feature-major).
fn synthetic_batch(n: usize, length: usize, seed: u64) -> Batch {
    let mut rng = SplitMix64::new(seed);
    let mut inputs = vec![0.0f32; n * length];
    let mut targets = vec![0.0f32; n * length];
    for i in 0..n {
        let mut total = 0.0f32;
        for t in 0..length {
            let x = rng.int_in(0, 99) as f32;
            total += x;
            inputs[t * n + i] = x;
            targets[t * n + i] = total;
        }
    }
    Batch {
        n,
        length,
        input_dim: 1,
        output_dim: 1,
        inputs,
        targets,
    }
}

/// The model and batch as `jax_rnn.py --init` reads them.
fn init_json(model: &AnchorRnn, batch: &Batch) -> serde_json::Value {
    let layers = |layers: &[Affine]| {
        layers
            .iter()
            .map(|l| {
                serde_json::json!({
                    "out": l.out, "inp": l.inp, "weight": l.weight, "bias": l.bias,
                })
            })
            .collect::<Vec<_>>()
    };
    serde_json::json!({
        "hidden": model.hidden,
        "input_dim": model.input_dim,
        "output_dim": model.output_dim,
        "n": batch.n,
        "length": batch.length,
        "f": layers(&model.f),
        "g": layers(&model.g),
        "inputs": batch.inputs,
        "targets": batch.targets,
    })
}

/// One timed run.
struct Measurement {
    steps: usize,
    steps_per_second: f64,
    /// Loss at each of the first [`COMPARED_STEPS`] steps, before that step's update.
    first_losses: Vec<f64>,
    final_loss: f64,
}

/// Trains a copy of `model` on `batch` with engine `kind`: the first steps (losses recorded),
/// a calibration run of about 0.3 s, then a timed run of about `seconds`.
fn measure(kind: Kind, model: &AnchorRnn, batch: &Batch, seconds: f64) -> Measurement {
    let mut model = model.clone();
    let mut engine: Box<dyn GradientEngine> = match kind {
        Kind::Engine(kind) => engine(kind),
        Kind::Serial => Box::new(Workspace::with_plan(Plan::SERIAL)),
    };
    let mut grads = zeros_like(&model);
    let mut opt = AdamW::new(&model, AdamWConfig::default());
    let mut step = |model: &mut AnchorRnn| {
        let loss = engine.loss_and_gradients(black_box(model), black_box(batch), &mut grads);
        opt.step(model, &grads, LR);
        loss
    };
    let first_losses: Vec<f64> = (0..COMPARED_STEPS).map(|_| step(&mut model)).collect();
    let (mut probe, start) = (0usize, Instant::now());
    while start.elapsed().as_secs_f64() < 0.3 {
        step(&mut model);
        probe += 1;
    }
    let rate = probe as f64 / start.elapsed().as_secs_f64();
    let steps = ((rate * seconds) as usize).max(10);
    let start = Instant::now();
    let mut final_loss = f64::NAN;
    for _ in 0..steps {
        final_loss = step(&mut model);
    }
    let elapsed = start.elapsed().as_secs_f64();
    Measurement {
        steps,
        steps_per_second: steps as f64 / elapsed,
        first_losses,
        final_loss,
    }
}

/// Whether `python` can import jax (and which version).
fn jax_version(python: &str) -> Result<String, String> {
    let out = Command::new(python)
        .args(["-c", "import jax; print(jax.__version__)"])
        .env("JAX_PLATFORMS", "cpu")
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().last().unwrap_or("import failed").to_string())
    }
}

/// Runs `jax_rnn.py` on `config` from the model and batch in `init`.
fn run_jax(
    script: &Path,
    config: &Config,
    init: &Path,
    args: &Args,
) -> Result<Measurement, String> {
    let widths = |w: &[usize]| {
        w.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut cmd = Command::new(&args.python);
    cmd.arg(script)
        .args(["--hidden", &config.arch.hidden.to_string()])
        .args(["--f-widths", &widths(&config.arch.f_widths)])
        .args(["--g-widths", &widths(&config.arch.g_widths)])
        .args(["--batch", &config.batch.to_string()])
        .args(["--length", &config.length.to_string()])
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--warmup", &(COMPARED_STEPS - 1).to_string()])
        .args(["--lr", &LR.to_string()])
        .arg("--init")
        .arg(init);
    if args.jax_single_thread {
        cmd.arg("--single-thread");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run jax_rnn.py: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("bad JSON from jax_rnn.py: {e}"))?;
    let number = |key: &str| {
        value[key]
            .as_f64()
            .ok_or(format!("jax_rnn.py: no {key} in its output"))
    };
    Ok(Measurement {
        steps: number("steps")? as usize,
        steps_per_second: number("steps_per_second")?,
        first_losses: value["first_losses"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
            .unwrap_or_default(),
        final_loss: number("final_loss")?,
    })
}

/// Largest relative difference between two loss curves (over their common prefix).
fn loss_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-12))
        .fold(0.0, f64::max)
}

fn print_row(config: &str, engine: &str, m: &Measurement, ratio: &str, check: &str) {
    println!(
        "{config:<22} {engine:<6} {:>7} {:>10.1} {ratio:>8} {check:>10} {:>10.4}",
        m.steps, m.steps_per_second, m.final_loss
    );
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("train_steps: {message}");
            eprintln!(
                "usage: cargo bench --bench train_steps --profile dev -- [--engines fused,serial,burn] \
                 [--configs NAME,...] [--seconds S] [--no-jax] [--jax-single-thread] \
                 [--python PATH]"
            );
            std::process::exit(2);
        }
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benchmarks/jax_rnn.py");
    let jax = if args.jax {
        jax_version(&args.python)
    } else {
        Err("--no-jax".to_string())
    };
    match &jax {
        Ok(version) => println!(
            "JAX {version} on CPU ({}), measured in the same run",
            if args.jax_single_thread {
                "one thread"
            } else {
                "default threads"
            }
        ),
        Err(why) => println!("JAX skipped: {why}"),
    }
    println!(
        "{:<22} {:<6} {:>7} {:>10} {:>8} {:>10} {:>10}",
        "config", "engine", "steps", "steps/s", "vs JAX", "loss diff", "final loss"
    );
    for config in configs() {
        if !args.configs.iter().any(|c| c == config.name) {
            continue;
        }
        let model = initialise(&config.arch, 1, 1, 1);
        let batch = synthetic_batch(config.batch, config.length, 2);
        let reference = match &jax {
            Ok(_) => {
                let result = tempfile::NamedTempFile::new()
                    .map_err(|e| format!("temporary file: {e}"))
                    .and_then(|mut file| {
                        let json = init_json(&model, &batch).to_string();
                        file.write_all(json.as_bytes())
                            .map_err(|e| format!("temporary file: {e}"))?;
                        run_jax(&script, &config, file.path(), &args)
                    });
                match result {
                    Ok(m) => {
                        print_row(config.name, "jax", &m, "1.00", "");
                        Some(m)
                    }
                    Err(why) => {
                        println!("{:<22} jax    failed: {why}", config.name);
                        None
                    }
                }
            }
            Err(_) => None,
        };
        for &kind in &args.engines {
            let m = measure(kind, &model, &batch, args.seconds);
            let (ratio, check) = match &reference {
                Some(r) => (
                    format!("{:.2}", m.steps_per_second / r.steps_per_second),
                    format!("{:.1e}", loss_difference(&m.first_losses, &r.first_losses)),
                ),
                None => ("-".to_string(), "-".to_string()),
            };
            print_row(config.name, engine_name(kind), &m, &ratio, &check);
        }
    }
}
