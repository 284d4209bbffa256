//! Feature detection in one layer: the spectrum, S and M on pairs of top principal components,
//! the Fourier probe of every candidate variable, and the decisions.
//!
//! - *circle*: a probe frequency explaining at least [`MIN_CIRCLE_SHARE`] of the layer, whose
//!   plane fit explains [`MIN_PLANE_R2`] of the plane, whose angle is within the decode tolerance
//!   ([`super::DECODE_ANGLE_TOLERANCE`]) of the value's on [`MIN_DECODE_ACCURACY`] of the examples, with radius variation at most [`MAX_RADIUS_CV`];
//!   a decodable plane with a larger radius variation is *irreducible-2d* when S and M say so.
//! - *torus*: two circles of different variables in planes overlapping at most
//!   [`MAX_TORUS_OVERLAP`]; its S is the smaller of its circles', M the larger, causal success
//!   the smaller.
//! - *irreducible-2d* (unsupervised): an irreducible pair of principal components whose plane
//!   no circle already covers (overlap below one half).

use super::activations::{Activations, Layer, Subject};
use super::causal;
use super::probe::{self, Circle};
use super::report::{Feature, FeatureKind, LayerReport, PairReport, ProbeReport};
use super::separability::{self, Irreducibility};
use super::spectrum;
use super::variables::{self, Variable};
use super::{MAX_RADIUS_CV, MAX_TORUS_OVERLAP, MIN_CIRCLE_SHARE, MIN_DECODE_ACCURACY};
use super::{MIN_PLANE_R2, TOP_COMPONENTS};
use crate::network::interp::InterpError;

/// One layer's report and features.
pub struct AnalysedLayer {
    pub layer: LayerReport,
    pub features: Vec<Feature>,
}

/// `|U1^T U2|_F^2 / 2` for two orthonormal 2-frames: 1 for the same plane, 0 for orthogonal ones.
pub fn plane_overlap(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let mut total = 0.0;
    for u in a {
        for v in b {
            let dot: f64 = u.iter().zip(v).map(|(x, y)| x * y).sum();
            total += dot * dot;
        }
    }
    total / 2.0
}

/// The decode rule in words.
fn decode_rule(var: &Variable, circle: &Circle) -> String {
    let p = var.p;
    match circle.k_inverse {
        Some(1) => format!(
            "{} = round((atan2(y, x) - {:.4}) * {p} / (2 pi)) mod {p}",
            var.name, circle.phase
        ),
        Some(inv) => format!(
            "{} = {inv} * round((atan2(y, x) - {:.4}) * {p} / (2 pi)) mod {p}",
            var.name, circle.phase
        ),
        None => format!(
            "{} * {} mod {p} = round((atan2(y, x) - {:.4}) * {p} / (2 pi)) mod {p} (k is not invertible mod {p})",
            var.name, circle.k, circle.phase
        ),
    }
}

/// Analyses one layer. Errors: the interpreter's, from a causal patch.
pub fn analyse_layer(
    subject: &Subject,
    acts: &Activations,
    layer: &Layer,
    seed: u64,
) -> Result<AnalysedLayer, InterpError> {
    let d = layer.dim;
    let pca = spectrum::pca(&layer.rows, d);
    let mut pairs = Vec::new();
    let mut pair_planes = Vec::new();
    if let Some(pca) = &pca {
        let top = pca.eigen.values.first().copied().unwrap_or(0.0);
        let live = pca
            .eigen
            .values
            .iter()
            .take(TOP_COMPONENTS)
            .take_while(|&&l| top > 0.0 && l > 1e-9 * top)
            .count();
        for i in 0..live {
            for j in i + 1..live {
                let (u, v) = (&pca.eigen.vectors[i], &pca.eigen.vectors[j]);
                let points: Vec<[f64; 2]> = layer
                    .rows
                    .chunks_exact(d)
                    .map(|row| {
                        let (mut x, mut y) = (0.0, 0.0);
                        for k in 0..d {
                            let c = row[k] - pca.mean[k];
                            x += u[k] * c;
                            y += v[k] * c;
                        }
                        [x, y]
                    })
                    .collect();
                let irr = separability::measure(&points, seed.wrapping_add((i * 16 + j) as u64));
                let total = pca.spectrum.total_variance.max(f64::MIN_POSITIVE);
                pairs.push(PairReport {
                    components: [i, j],
                    separability: irr.separability,
                    separability_baseline: irr.separability_baseline,
                    mixture: irr.mixture,
                    irreducible: irr.is_irreducible(),
                });
                pair_planes.push((
                    vec![u.clone(), v.clone()],
                    irr,
                    (pca.eigen.values[i] + pca.eigen.values[j]) / total,
                    points,
                ));
            }
        }
    }

    let mut probes = Vec::new();
    let mut circles: Vec<Feature> = Vec::new();
    for var in variables::candidates(subject, acts, layer.step) {
        let cs = probe::class_sums(&layer.rows, d, &var);
        let r2 = probe::r2_by_k(&cs);
        let best = r2
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(i, &r)| (i + 1, r));
        probes.push(ProbeReport {
            variable: var.name.clone(),
            p: var.p,
            best_k: best.map(|b| b.0),
            best_r2: best.map_or(0.0, |b| b.1),
            r2_by_k: r2.clone(),
        });
        for (i, &share) in r2.iter().enumerate() {
            if share < MIN_CIRCLE_SHARE {
                continue;
            }
            let Some(circle) = probe::fit_circle(&layer.rows, &var, &cs, i + 1) else {
                continue;
            };
            if circle.plane_r2 < MIN_PLANE_R2 || circle.angle_accuracy < MIN_DECODE_ACCURACY {
                continue;
            }
            let feature_seed = seed.wrapping_add(circles.len() as u64 * 7 + 1);
            let irr = separability::measure(&circle.points, feature_seed);
            let kind = if circle.radius_cv <= MAX_RADIUS_CV {
                FeatureKind::Circle
            } else if irr.is_irreducible() {
                FeatureKind::Irreducible2d
            } else {
                continue;
            };
            let causal = causal::check(subject, acts, layer, &var, &circle, feature_seed)?;
            circles.push(feature_of(layer, kind, Some(&var), &circle, irr, causal));
        }
    }

    let mut features = circles.clone();
    for (i, a) in circles.iter().enumerate() {
        for b in &circles[i + 1..] {
            if a.kind != FeatureKind::Circle
                || b.kind != FeatureKind::Circle
                || a.variable == b.variable
                || plane_overlap(&a.basis, &b.basis) > MAX_TORUS_OVERLAP
            {
                continue;
            }
            let part = |f: &Feature| {
                format!(
                    "{} (k = {})",
                    f.variable.as_deref().unwrap_or("?"),
                    f.k.unwrap_or(0)
                )
            };
            features.push(Feature {
                variable: Some(format!(
                    "{} x {}",
                    a.variable.as_deref().unwrap_or("?"),
                    b.variable.as_deref().unwrap_or("?")
                )),
                p: a.p,
                k: a.k,
                separability: a.separability.min(b.separability),
                separability_baseline: a.separability_baseline.max(b.separability_baseline),
                mixture: a.mixture.max(b.mixture),
                variance_explained: a.variance_explained + b.variance_explained,
                causal_success: match (a.causal_success, b.causal_success) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                },
                causal_trials: a.causal_trials + b.causal_trials,
                basis: [a.basis.clone(), b.basis.clone()].concat(),
                parts: vec![part(a), part(b)],
                ..unmeasured(layer, FeatureKind::Torus)
            });
        }
    }
    for (plane, irr, share, points) in pair_planes {
        let covered = circles
            .iter()
            .any(|c| plane_overlap(&c.basis, &plane) >= 0.5);
        if !irr.is_irreducible() || covered {
            continue;
        }
        features.push(Feature {
            separability: irr.separability,
            separability_baseline: irr.separability_baseline,
            mixture: irr.mixture,
            variance_explained: share,
            basis: plane,
            values: vec![0; points.len()],
            points,
            ..unmeasured(layer, FeatureKind::Irreducible2d)
        });
    }
    Ok(AnalysedLayer {
        layer: LayerReport {
            layer: layer.name.clone(),
            step: layer.step,
            op: layer.op.clone(),
            dim: d,
            spectrum: pca.map(|p| p.spectrum),
            pairs,
            probes,
        },
        features,
    })
}

/// A feature of `kind` in `layer` with no variable and every measurement empty (zero or
/// `None`), for the caller to fill in what it measured.
fn unmeasured(layer: &Layer, kind: FeatureKind) -> Feature {
    Feature {
        layer: layer.name.clone(),
        step: layer.step,
        kind,
        variable: None,
        p: None,
        k: None,
        separability: 0.0,
        separability_baseline: 0.0,
        mixture: 0.0,
        variance_explained: 0.0,
        plane_r2: None,
        radius: None,
        radius_cv: None,
        angle_error: None,
        decode_accuracy: None,
        angle_accuracy: None,
        causal_success: None,
        causal_whole_layer: None,
        causal_trials: 0,
        decode: None,
        phase: None,
        basis: Vec::new(),
        centre: Vec::new(),
        parts: Vec::new(),
        picture: None,
        points: Vec::new(),
        values: Vec::new(),
    }
}

fn feature_of(
    layer: &Layer,
    kind: FeatureKind,
    var: Option<&Variable>,
    circle: &Circle,
    irr: Irreducibility,
    causal: causal::Causal,
) -> Feature {
    Feature {
        variable: var.map(|v| v.name.clone()),
        p: var.map(|v| v.p),
        k: Some(circle.k),
        separability: irr.separability,
        separability_baseline: irr.separability_baseline,
        mixture: irr.mixture,
        variance_explained: circle.variance_explained,
        plane_r2: Some(circle.plane_r2),
        radius: Some(circle.radius),
        radius_cv: Some(circle.radius_cv),
        angle_error: Some(circle.angle_error),
        decode_accuracy: Some(circle.decode_accuracy),
        angle_accuracy: Some(circle.angle_accuracy),
        causal_success: causal.success,
        causal_whole_layer: causal.whole_layer,
        causal_trials: causal.trials,
        decode: var.map(|v| decode_rule(v, circle)),
        phase: Some(circle.phase),
        basis: circle.basis.to_vec(),
        centre: circle.centre.clone(),
        points: circle.points.clone(),
        values: var.map(|v| v.values.clone()).unwrap_or_default(),
        ..unmeasured(layer, kind)
    }
}
