//! `nn2py MODEL`: converts a model to the network IR, the program IR or a Python module, with
//! its report, `--check` and depfile.

use std::path::{Path, PathBuf};

use clap::Args;

use nn2py::back::depfile::depfile;
use nn2py::driver::{self, CompileError, Emit, Options};
use nn2py::network::text as network_text;
use nn2py::program::text as program_text;
use nn2py::verify::VerifyOptions;

use super::args::{self, EmitArg, KindArg, LimitArgs, ReadoutArg, RewriteArgs};
use super::output::{
    diagnosed, read_model, write_atomically, write_report, write_stdout, Failure, EXIT_BAD_INPUT,
    EXIT_MISMATCH,
};

/// Converting a model (the command without a subcommand).
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The ONNX model to convert.
    #[arg(required = true)]
    pub model: Option<PathBuf>,

    /// Where to write the result; `-` (the default) writes to standard output.
    #[arg(short, long, default_value = "-")]
    pub output: String,

    /// Input domain: comma-separated ranges `lo..hi` (half-open) or `lo..=hi` (inclusive), one
    /// for all features, one per model input, or one per feature. Real bounds (`-1.0..1.0`) give
    /// a continuous range.
    #[arg(long, allow_hyphen_values = true)]
    pub domain: Option<String>,

    /// Sequence length to bind where the model's time axis is not fixed.
    #[arg(long)]
    pub length: Option<usize>,

    /// Treat the model as pointwise or as a sequence model (default: decide from the graph).
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    pub kind: KindArg,

    /// How the network's outputs are read: `round` means the network computes integers (read by
    /// rounding), so nn2py may lift it to the program it implements (default: the model's
    /// `nn2py.readout` metadata, else raw).
    #[arg(long, value_enum)]
    pub readout: Option<ReadoutArg>,

    /// Do not lift and do not normalise the weights: write the network's arithmetic as it is.
    #[arg(long)]
    pub faithful: bool,

    /// What to write: the network IR, the program IR, or the Python module.
    #[arg(long, value_enum, default_value_t = EmitArg::Python)]
    pub emit: EmitArg,

    /// Write a machine-readable JSON report (schema_version 1) to this path.
    #[arg(long)]
    pub report: Option<PathBuf>,

    /// Do not write: exit 1 if the output file would change (for build systems).
    #[arg(long)]
    pub check: bool,

    /// Also run the written module with python3 and compare it with the network.
    #[arg(long)]
    pub verify_python: bool,

    /// The Python interpreter for --verify-python.
    #[arg(long, default_value = "python3")]
    pub python: String,

    /// Number of sampled inputs when the domain is too large to enumerate.
    #[arg(long, default_value_t = VerifyOptions::default().samples)]
    pub samples: usize,

    /// Seed of the input sampler.
    #[arg(long, default_value_t = VerifyOptions::default().seed)]
    pub seed: u64,

    #[command(flatten)]
    pub limits: LimitArgs,

    /// Largest input domain checked exhaustively; a larger one is sampled (--samples).
    #[arg(long, default_value_t = VerifyOptions::default().exhaustive_limit)]
    pub max_enumeration: u128,

    #[command(flatten)]
    pub rewrite: RewriteArgs,

    /// Also write a make/ninja depfile (`OUTPUT: MODEL`) to this path; needs -o PATH.
    #[arg(long, value_name = "PATH")]
    pub depfile: Option<PathBuf>,
}

/// Converts, verifies and writes (or, with `--check`, compares). Exits 1 when verification
/// fails, the rolled network differs, or `--check` finds a difference.
pub fn run(cli: &ConvertArgs) -> Result<u8, Failure> {
    let Some(model) = &cli.model else {
        return Err(Failure::bad_input("error: no model given (see --help)"));
    };
    let domain = args::domain(cli.domain.as_deref())?;
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
        kind: cli.kind.into(),
        limits: cli.limits.limits(),
        verify: VerifyOptions {
            exhaustive_limit: cli.max_enumeration,
            ..args::sampling(cli.samples, cli.seed)
        },
        rewrite: cli.rewrite.options(),
        python: cli.verify_python.then(|| cli.python.clone()),
        emit: cli.emit.into(),
        readout: cli.readout.map(Into::into),
        lift: !cli.faithful,
        normalise: !cli.faithful,
        ..Options::default()
    };
    let bytes = read_model(model, options.limits.max_model_bytes)?;
    let compilation = driver::compile(&bytes, &options).map_err(|e| compile_failure(model, &e))?;

    write_report(cli.report.as_deref(), || {
        serde_json::to_string_pretty(&compilation.report).map(|json| format!("{json}\n"))
    })?;
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
        write_stdout(&text)?;
    } else {
        write_atomically(Path::new(&cli.output), text.as_bytes())?;
    }
    if let Some(path) = &cli.depfile {
        let rule = depfile(&cli.output, model)
            .map_err(|e| Failure::bad_input(format!("error: --depfile: {e}")))?;
        write_atomically(path, rule.as_bytes())?;
    }
    Ok(0)
}

/// A compilation error about `model`: exit 1 when the rolled network differs from the model,
/// else bad input.
pub fn compile_failure(model: &Path, error: &CompileError) -> Failure {
    let code = match error {
        CompileError::RollingChanged(_) => EXIT_MISMATCH,
        _ => EXIT_BAD_INPUT,
    };
    Failure {
        message: diagnosed(error, "converting", model),
        code,
    }
}
