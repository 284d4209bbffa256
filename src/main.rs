//! The `nn2py` command line: the only place that prints, writes output files or exits.
//!
//! Exit codes: 0 success; 1 verification failed or `--check` found a difference; 2 bad usage or
//! bad input (including a model nn2py cannot read).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use nn2py::diag::render;
use nn2py::driver::{self, CompileError, Emit, KindChoice, Options};
use nn2py::front::onnx::Limits;
use nn2py::network::text as network_text;
use nn2py::program::text as program_text;
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
enum KindArg {
    Auto,
    Pointwise,
    Sequence,
}

/// Compile a trained network (ONNX) into a short, verified Python program.
#[derive(Debug, Parser)]
#[command(name = "nn2py", version, about)]
struct Cli {
    /// The ONNX model to convert.
    model: PathBuf,

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
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

fn run(cli: &Cli) -> Result<u8, Failure> {
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
        },
        verify: VerifyOptions {
            samples: cli.samples,
            seed: cli.seed,
            ..VerifyOptions::default()
        },
        python: cli.verify_python.then(|| cli.python.clone()),
        emit: match cli.emit {
            EmitArg::Network => Emit::Network,
            EmitArg::Program => Emit::Program,
            EmitArg::Python => Emit::Python,
        },
    };
    let bytes = read_model(&cli.model, options.limits.max_model_bytes)?;
    let compilation = driver::compile(&bytes, &options).map_err(|e| compile_failure(cli, &e))?;

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
    Ok(0)
}

fn compile_failure(cli: &Cli, error: &CompileError) -> Failure {
    let code = match error {
        CompileError::RollingChanged(_) => EXIT_MISMATCH,
        _ => EXIT_BAD_INPUT,
    };
    let mut message = render(error);
    message.push_str(&format!(
        "  = while converting {}\n",
        cli.model.display().to_string().escape_debug()
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

/// Writes a file so that readers see either the old content or the whole new content: the bytes
/// go to a temporary file in the same directory, which is then renamed over the target.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::bad_input(format!(
            "error: cannot write {}: {e}",
            path.display().to_string().escape_debug()
        ))
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let tmp = dir.join(format!(".{name}.nn2py-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}
