//! The feature report (JSON, `schema_version` 1) and its text summary.

use std::fmt::Write;

use serde::Serialize;

use super::activations;
use super::clock::ClockPizza;
use super::spectrum::Spectrum;

/// What kind of feature was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FeatureKind {
    /// A discrete variable on a circle (the probe's plane), decodable from the angle.
    #[serde(rename = "circle")]
    Circle,
    /// A 2-D feature with high separability and low mixture that is not a clean circle.
    #[serde(rename = "irreducible-2d")]
    Irreducible2d,
    /// Two circles of different variables in orthogonal planes of one layer.
    #[serde(rename = "torus")]
    Torus,
}

impl FeatureKind {
    /// The name used in reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            FeatureKind::Circle => "circle",
            FeatureKind::Irreducible2d => "irreducible-2d",
            FeatureKind::Torus => "torus",
        }
    }
}

/// One detected feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feature {
    /// The layer's value name (`h` for a sequence model's state).
    pub layer: String,
    /// The step, for a sequence model's state.
    pub step: Option<usize>,
    pub kind: FeatureKind,
    /// The variable it represents (`None` for an unsupervised feature no probe labels).
    pub variable: Option<String>,
    pub p: Option<usize>,
    pub k: Option<usize>,
    /// S in bits (min over rotations of the MI), and its shuffled baseline.
    pub separability: f64,
    pub separability_baseline: f64,
    /// M (eps = 0.1).
    pub mixture: f64,
    /// Share of the layer's variance the feature explains.
    pub variance_explained: f64,
    /// Share of the plane's variance the circle fit explains.
    pub plane_r2: Option<f64>,
    pub radius: Option<f64>,
    pub radius_cv: Option<f64>,
    /// RMS angle residual, radians.
    pub angle_error: Option<f64>,
    pub decode_accuracy: Option<f64>,
    /// Share of examples whose angle is within the decode tolerance of their value's (the
    /// detection criterion; see `probe::Circle::angle_accuracy`).
    pub angle_accuracy: Option<f64>,
    /// How often the output followed a patched circle (see `causal`).
    pub causal_success: Option<f64>,
    /// The same for whole-activation patching (upper bound).
    pub causal_whole_layer: Option<f64>,
    pub causal_trials: usize,
    /// How to read the value from the plane coordinates `(x, y) = basis . (activation - centre)`.
    pub decode: Option<String>,
    /// Angle of value 0: `theta = phase + 2 pi k v / p`.
    pub phase: Option<f64>,
    /// Orthonormal basis of the plane (two vectors in the layer's coordinates).
    pub basis: Vec<Vec<f64>>,
    /// The circle's centre in the layer's coordinates.
    pub centre: Vec<f64>,
    /// A torus's two circles, as `variable (k = K)`.
    pub parts: Vec<String>,
    /// The SVG file of the feature's plane, when written.
    pub picture: Option<String>,
    /// The points in the plane (for the picture).
    #[serde(skip)]
    pub points: Vec<[f64; 2]>,
    /// The variable's value of each point.
    #[serde(skip)]
    pub values: Vec<usize>,
}

impl Feature {
    /// `layer` or `layer@step`.
    pub fn layer_label(&self) -> String {
        activations::layer_label(&self.layer, self.step)
    }

    /// `layer kind of variable (p = P, k = K)`, with `?` for an unlabelled variable and
    /// `unknown` for a missing `p` or `k`.
    pub fn heading(&self, unknown: &str) -> String {
        format!(
            "{} {} of {} (p = {}, k = {})",
            self.layer_label(),
            self.kind.as_str(),
            self.variable.as_deref().unwrap_or("?"),
            self.p.map_or(unknown.to_string(), |p| p.to_string()),
            self.k.map_or(unknown.to_string(), |k| k.to_string()),
        )
    }
}

/// S and M of one pair of principal components.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairReport {
    /// Zero-based component indices.
    pub components: [usize; 2],
    pub separability: f64,
    pub separability_baseline: f64,
    pub mixture: f64,
    pub irreducible: bool,
}

/// The Fourier probe of one variable in one layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    pub variable: String,
    pub p: usize,
    pub best_k: Option<usize>,
    pub best_r2: f64,
    /// R^2 at `k = 1..=p/2`.
    pub r2_by_k: Vec<f64>,
}

/// What one layer holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerReport {
    pub layer: String,
    pub step: Option<usize>,
    pub op: String,
    pub dim: usize,
    pub spectrum: Option<Spectrum>,
    pub pairs: Vec<PairReport>,
    pub probes: Vec<ProbeReport>,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureReport {
    pub schema_version: u32,
    pub nn2py_version: &'static str,
    pub model_digest: String,
    /// `pointwise` or `sequence`.
    pub kind: &'static str,
    pub examples: usize,
    pub exhaustive: bool,
    pub layers: Vec<LayerReport>,
    pub features: Vec<Feature>,
    /// Clock-vs-Pizza metrics of a two-input modular adder.
    pub clock_pizza: Option<ClockPizza>,
    pub notes: Vec<String>,
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.2}"))
}

/// The text summary: the examples, one line per layer (spectrum, best probe), one per feature.
pub fn summary(report: &FeatureReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} network, {} examples ({})",
        report.kind,
        report.examples,
        if report.exhaustive {
            "the whole domain"
        } else {
            "sampled"
        }
    );
    let _ = writeln!(out, "layers:");
    for layer in &report.layers {
        let label = match layer.step {
            Some(t) => format!("{}@{t}", layer.layer),
            None => layer.layer.clone(),
        };
        let spectrum = layer.spectrum.as_ref().map_or("no PCA".to_string(), |s| {
            format!(
                "participation ratio {:.2}, {} PCs for 95%",
                s.participation_ratio, s.components_95
            )
        });
        let best = layer
            .probes
            .iter()
            .max_by(|a, b| a.best_r2.total_cmp(&b.best_r2))
            .map_or(String::new(), |p| {
                format!(
                    "; best probe {} k = {} R^2 {:.2}",
                    p.variable,
                    p.best_k.map_or("-".to_string(), |k| k.to_string()),
                    p.best_r2
                )
            });
        let _ = writeln!(
            out,
            "  {label} ({}, {} wide): {spectrum}{best}",
            layer.op, layer.dim
        );
    }
    if report.features.is_empty() {
        let _ = writeln!(out, "features: none");
    } else {
        let _ = writeln!(out, "features:");
    }
    for f in &report.features {
        let _ = writeln!(
            out,
            "  {}: S {:.2} bits (baseline {:.2}), M {:.2}, variance {:.2}, decode {} (near {}), causal {}",
            f.heading("-"),
            f.separability,
            f.separability_baseline,
            f.mixture,
            f.variance_explained,
            opt(f.decode_accuracy),
            opt(f.angle_accuracy),
            opt(f.causal_success),
        );
        if let Some(rule) = &f.decode {
            let _ = writeln!(out, "    decode: {rule}");
        }
    }
    if let Some(cp) = &report.clock_pizza {
        let _ = writeln!(
            out,
            "clock vs pizza (p = {}): distance irrelevance {:.2}, gradient symmetricity {}, circularity {}: {}",
            cp.p,
            cp.distance_irrelevance,
            opt(cp.gradient_symmetricity),
            opt(cp.circularity),
            cp.verdict
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
