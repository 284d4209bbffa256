//! `nn2py analyze features` and `nn2py analyze complexity`: reports on a network, which is never
//! changed.

use std::path::{Path, PathBuf};

use clap::Args;

use nn2py::analyze::complexity::{self, ComplexityOptions, ComplexityTolerances};
use nn2py::analyze::features::{self, FeatureOptions};
use nn2py::driver::Options;
use nn2py::front::onnx::Limits;
use nn2py::verify::VerifyOptions;

use super::args;
use super::convert::compile_failure;
use super::output::{diagnosed, read_model, write_atomically, write_report, write_stdout, Failure};

/// `nn2py analyze features MODEL`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// The ONNX model (integer inputs).
    pub model: PathBuf,
    /// Input domain, as for converting (default: the model's metadata).
    #[arg(long, allow_hyphen_values = true)]
    pub domain: Option<String>,
    /// Sequence length to bind where the model's time axis is not fixed.
    #[arg(long)]
    pub length: Option<usize>,
    /// Only this layer: a value name, or `h@STEP` for a sequence model's state.
    #[arg(long)]
    pub layer: Option<String>,
    /// Write one SVG scatter per feature into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write the JSON report (schema_version 1) to this path.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Sampled inputs when the domain is too large to enumerate.
    #[arg(long, default_value_t = VerifyOptions::default().samples)]
    pub samples: usize,
    /// Seed of the sampler and of the analysis' random choices.
    #[arg(long, default_value_t = FeatureOptions::default().seed)]
    pub seed: u64,
}

/// `nn2py analyze complexity MODEL`.
#[derive(Debug, Args)]
pub struct ComplexityArgs {
    pub model: PathBuf,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Input domain (else the model's metadata); without one, simplifications are not checked.
    #[arg(long, allow_hyphen_values = true)]
    pub domain: Option<String>,
    /// Sequence length to bind where the model's time axis is not fixed.
    #[arg(long)]
    pub length: Option<usize>,
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
    #[arg(long, default_value_t = VerifyOptions::default().seed)]
    pub seed: u64,
    /// Relative gap within which weights share one snapped value.
    #[arg(long, default_value_t = 0.02)]
    pub snap_tolerance: f64,
    /// Largest difference of unit incoming weight vectors for two neurons to be duplicates.
    #[arg(long, default_value_t = 1e-3)]
    pub duplicate_tolerance: f64,
}

/// Prints the text summary and writes the JSON report and the pictures.
pub fn features(args: &FeaturesArgs) -> Result<u8, Failure> {
    let (bytes, driver) = read_for_analysis(
        &args.model,
        args.domain.as_deref(),
        args.length,
        args.samples,
        args.seed,
    )?;
    let options = FeatureOptions {
        driver,
        layer: args.layer.clone(),
        seed: args.seed,
    };
    let analysis = features::analyze_features(&bytes, &options)
        .map_err(|e| Failure::bad_input(diagnosed(&e, "analysing", &args.model)))?;
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
    write_report(args.json.as_deref(), || {
        serde_json::to_string_pretty(&analysis.report).map(|json| format!("{json}\n"))
    })?;
    write_stdout(&features::summary(&analysis.report))?;
    Ok(0)
}

/// Prints the text summary and writes the JSON report.
pub fn complexity(args: &ComplexityArgs) -> Result<u8, Failure> {
    let (bytes, compile) = read_for_analysis(
        &args.model,
        args.domain.as_deref(),
        args.length,
        args.samples,
        args.seed,
    )?;
    let options = ComplexityOptions {
        compile,
        tolerances: ComplexityTolerances {
            snap_tolerance: args.snap_tolerance,
            duplicate_tolerance: args.duplicate_tolerance,
        },
    };
    let report = complexity::analyze_complexity(&bytes, &options)
        .map_err(|e| compile_failure(&args.model, &e))?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).map_err(Failure::error)?;
        write_atomically(path, (json + "\n").as_bytes())?;
    }
    write_stdout(&complexity::summary(&report))?;
    Ok(0)
}

/// The model's bytes and the compile options an analysis imports it with: the domain (`--domain`,
/// parsed before the model is read), the length, and the sampling of large domains.
fn read_for_analysis(
    model: &Path,
    domain: Option<&str>,
    length: Option<usize>,
    samples: usize,
    seed: u64,
) -> Result<(Vec<u8>, Options), Failure> {
    let domain = args::domain(domain)?;
    let bytes = read_model(model, Limits::default().max_model_bytes)?;
    let options = Options {
        domain,
        length,
        verify: args::sampling(samples, seed),
        ..Options::default()
    };
    Ok((bytes, options))
}
