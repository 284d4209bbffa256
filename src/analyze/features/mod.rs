//! Multidimensional feature detection (`nn2py analyze features`): which layers hold circles,
//! tori or other irreducible 2-D features, of which discrete variable, and whether the network
//! uses them.
//!
//! [`analyze_features`] is the ordered list of passes, one per file:
//! `activations` (import as the driver does, run the domain, record every layer) -> per layer:
//! `spectrum` (PCA) -> `separability` (S and M on pairs of principal components) -> `variables`
//! (candidate discrete variables) -> `probe` (Fourier probe at every frequency, circle quality)
//! -> `causal` (patch the circle inside the interpreter) -> per network: `clock` (Clock vs Pizza)
//! -> `svg` (one scatter per feature). It never changes the network. Definitions and the
//! calibration of every threshold are in the files' docs and in `tests/analyze_features.rs`.

pub mod activations;
pub mod causal;
pub mod clock;
pub mod detect;
pub mod probe;
pub mod separability;
pub mod spectrum;
pub mod svg;
pub mod variables;

mod report;

use std::collections::BTreeMap;

use crate::diag::{Diagnose, Location};
use crate::driver::{self, CompileError};
use crate::network::interp::InterpError;
use crate::network::Network;

pub use report::{
    summary, Feature, FeatureKind, FeatureReport, LayerReport, PairReport, ProbeReport,
};

/// Version of the JSON report's layout.
pub const SCHEMA_VERSION: u32 = 1;

/// Smallest share of a layer's variance the probe must explain before a circle is fitted.
pub const MIN_CIRCLE_SHARE: f64 = 0.01;
/// Smallest share of the plane's variance the circle fit must explain.
pub const MIN_PLANE_R2: f64 = 0.8;
/// Smallest share of examples whose angle lies within the decode tolerance of their value's
/// (`probe::Circle::angle_accuracy`).
pub const MIN_DECODE_ACCURACY: f64 = 0.9;
/// Angle tolerance (radians) of a circle's code when `p > 20` (below, half a step, `pi / p`, is
/// larger: exact decoding). Calibrated on the trained `models/mod_add` (p = 59): its embeddings'
/// four frequency circles have radius variation 0.04-0.06 and RMS angle residuals 0.047-0.066
/// (half a step is 0.053), so only 49-80% of values decode exactly from one circle alone (the
/// network reads all four together), while all lie within 9 degrees. A random plane of p points
/// lands within it with probability `2 * tolerance / 2 pi = 5%` per point.
pub const DECODE_ANGLE_TOLERANCE: f64 = std::f64::consts::TAU / 40.0;
/// Largest radius variation (sd / mean) of a circle; a good angle code with a larger one (a
/// "pizza" filling the disc) is an irreducible 2-D feature, not a circle.
pub const MAX_RADIUS_CV: f64 = 0.35;
/// Largest plane overlap (`|U1^T U2|_F^2 / 2`) of two circles that form a torus.
pub const MAX_TORUS_OVERLAP: f64 = 0.1;
/// Principal components whose pairs are scored for S and M.
pub const TOP_COMPONENTS: usize = 6;

/// What to analyse and how.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureOptions {
    /// Import and domain options, as for compiling (`emit` is ignored). `verify` decides whether
    /// the domain is enumerated or sampled.
    pub driver: driver::Options,
    /// Only this layer (`name`, or `name@step` for a sequence model's state).
    pub layer: Option<String>,
    /// Seed of every random choice (shuffles, subsamples, causal trials).
    pub seed: u64,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            driver: driver::Options::default(),
            layer: None,
            seed: 5,
        }
    }
}

/// Why the analysis stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error("feature analysis needs an integer domain; {0} is a real range")]
    RealDomain(String),
    #[error("the network fails on input {input:?}: {cause}")]
    Run { input: Vec<i64>, cause: InterpError },
    #[error("no layer named \"{0}\" with at least two f32 elements (names are value names, or h@STEP for a sequence state)")]
    NoSuchLayer(String),
}

impl Diagnose for FeatureError {
    fn location(&self) -> Location {
        match self {
            FeatureError::Compile(e) => e.location(),
            FeatureError::Run { cause, .. } => cause.location(),
            FeatureError::RealDomain(_) | FeatureError::NoSuchLayer(_) => Location::Unknown,
        }
    }
}

/// The report and one SVG per pictured feature (file name to contents).
pub struct FeatureAnalysis {
    pub report: FeatureReport,
    pub pictures: BTreeMap<String, String>,
}

/// Analyses the model in `bytes` (ONNX, or the network IR's text form) over its integer domain.
///
/// Errors: the driver's import and domain errors, a real domain, an interpreter failure on a
/// domain input, or a `layer` that names nothing.
pub fn analyze_features(
    bytes: &[u8],
    options: &FeatureOptions,
) -> Result<FeatureAnalysis, FeatureError> {
    let subject = activations::load(bytes, &options.driver)?;
    let acts = activations::collect(&subject, &options.driver.verify, options.layer.as_deref())?;
    let mut layers = Vec::new();
    let mut features = Vec::new();
    let mut notes = Vec::new();
    for (index, layer) in acts.layers.iter().enumerate() {
        let seed = options.seed.wrapping_add(1000 * index as u64);
        let analysed = detect::analyse_layer(&subject, &acts, layer, seed).map_err(|cause| {
            FeatureError::Run {
                input: Vec::new(),
                cause,
            }
        })?;
        if analysed.layer.spectrum.is_none() {
            notes.push(format!(
                "{}: {} wide, over the PCA limit of {}; no spectrum or PC pairs",
                layer.label(),
                layer.dim,
                spectrum::MAX_PCA_DIM
            ));
        }
        layers.push(analysed.layer);
        features.extend(analysed.features);
    }
    let clock_pizza =
        clock::measure(&subject, &acts, options.seed).map_err(|cause| FeatureError::Run {
            input: Vec::new(),
            cause,
        })?;
    let mut pictures = BTreeMap::new();
    for (i, feature) in features.iter_mut().enumerate() {
        if feature.points.is_empty() {
            continue;
        }
        let name = format!(
            "feature_{i:02}_{}_{}.svg",
            file_safe(&feature.layer_label()),
            file_safe(feature.variable.as_deref().unwrap_or("unlabelled"))
        );
        let title = feature.heading("?");
        let colour_p = feature.p.unwrap_or(1);
        pictures.insert(
            name.clone(),
            svg::scatter(&title, &feature.points, &feature.values, colour_p),
        );
        feature.picture = Some(name);
    }
    let report = FeatureReport {
        schema_version: SCHEMA_VERSION,
        nn2py_version: driver::VERSION,
        model_digest: subject.model_digest.clone(),
        kind: match subject.network {
            Network::Pointwise(_) => "pointwise",
            Network::Sequence(_) => "sequence",
        },
        examples: acts.inputs.len(),
        exhaustive: acts.exhaustive,
        layers,
        features,
        clock_pizza,
        notes,
    };
    Ok(FeatureAnalysis { report, pictures })
}

/// ASCII letters, digits and `_` only (model names never reach a path unescaped).
fn file_safe(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}
