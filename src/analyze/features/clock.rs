//! Clock vs Pizza (Zhong et al. 2023) for two-input modular-addition networks.
//!
//! Applies when a pointwise network takes two integer features `a`, `b` with the same `p`, its
//! output has `p` elements (logits), and its argmax is `(a + b) mod p` on at least 90% of the
//! examples. Three numbers:
//! - *distance irrelevance*: the mean over `d = (a - b) mod p` of the standard deviation of the
//!   correct logit among pairs at distance `d`, over its standard deviation among all pairs. A
//!   Clock's correct logit ignores `a - b` (about 1); a Pizza's depends on it (low). A constant
//!   correct logit (standard deviation below `1e-6` of its size) counts as 1.
//! - *gradient symmetricity*: the mean cosine similarity between the gradients of a logit with
//!   respect to the embedding vectors of `a` and of `b` (central finite differences inside the
//!   interpreter; 32 seeded triples `(a, b, c)`); needs an embedding (a `Gather` on each input)
//!   of equal width. Pizza about 0.99.
//! - *circularity*: for each input's embedding, the mean over its top (at most 4, nonzero)
//!   principal components of the largest share of the component's Fourier power (over `v`,
//!   without the constant term) at one frequency; averaged over the two inputs. 1 for clean
//!   circles.
//!
//! The verdict is `clock` when distance irrelevance is at least 0.5, else `pizza`.

use serde::Serialize;

use super::activations::{Activations, Patch, Site, Subject};
use super::spectrum;
use crate::network::interp::InterpError;
use crate::network::{Network, Op, ValueDef, ValueId};
use crate::rng::SplitMix64;

/// Clock-vs-Pizza metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockPizza {
    pub p: usize,
    pub distance_irrelevance: f64,
    pub gradient_symmetricity: Option<f64>,
    pub circularity: Option<f64>,
    /// `clock` or `pizza`.
    pub verdict: &'static str,
}

/// The metrics, or `None` when the network is not a two-input modular adder.
///
/// Errors: the interpreter's (a perturbed run failing).
pub fn measure(
    subject: &Subject,
    acts: &Activations,
    seed: u64,
) -> Result<Option<ClockPizza>, InterpError> {
    let Network::Pointwise(graph) = &subject.network else {
        return Ok(None);
    };
    let &[(lo_a, hi_a), (lo_b, hi_b)] = subject.ranges.as_slice() else {
        return Ok(None);
    };
    let p = (hi_a - lo_a + 1) as usize;
    if (hi_b - lo_b + 1) as usize != p || p < 3 {
        return Ok(None);
    }
    let n = acts.inputs.len();
    let target = |x: &[i64]| ((x[0] - lo_a + x[1] - lo_b) as usize) % p;
    let adds = acts
        .inputs
        .iter()
        .zip(&acts.predictions)
        .filter(|(x, pred)| pred.first() == Some(&(target(x) as i64)))
        .count();
    if n == 0 || acts.outputs.iter().any(|o| o.len() != p) || (adds as f64) < 0.9 * n as f64 {
        return Ok(None);
    }
    let distance_irrelevance = distance_irrelevance(acts, p, lo_a, lo_b);
    let embeddings: Vec<Option<ValueId>> = (0..2)
        .map(|i| {
            graph.nodes.iter().find_map(|node| {
                let (Op::Gather { .. }, Some(Some(table)), Some(Some(index))) =
                    (&node.op, node.inputs.first(), node.inputs.get(1))
                else {
                    return None;
                };
                let is_table = graph.constant(*table).is_some();
                (is_table && traces_to_input(graph, *index, i)).then(|| node.outputs[0])
            })
        })
        .collect();
    let (gradient_symmetricity, circularity) = match (embeddings[0], embeddings[1]) {
        (Some(ea), Some(eb)) => (
            gradient_symmetricity(subject, acts, [ea, eb], p, seed)?,
            Some(circularity(subject, [ea, eb], p)?),
        ),
        _ => (None, None),
    };
    Ok(Some(ClockPizza {
        p,
        distance_irrelevance,
        gradient_symmetricity,
        circularity,
        verdict: if distance_irrelevance >= 0.5 {
            "clock"
        } else {
            "pizza"
        },
    }))
}

/// True when `value` is graph input `input`, possibly through shape-only ops and casts.
fn traces_to_input(graph: &crate::network::Graph, value: ValueId, input: usize) -> bool {
    let mut current = value;
    for _ in 0..16 {
        match &graph.value(current).def {
            ValueDef::Input(i) => return *i == input,
            ValueDef::Const(_) => return false,
            ValueDef::Node(node, _) => {
                let node = graph.node(*node);
                match (&node.op, node.inputs.first()) {
                    (
                        Op::Reshape { .. }
                        | Op::Squeeze { .. }
                        | Op::Unsqueeze { .. }
                        | Op::Cast { .. }
                        | Op::Identity,
                        Some(Some(next)),
                    ) => current = *next,
                    _ => return false,
                }
            }
        }
    }
    false
}

fn std_dev(values: &[f64]) -> f64 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

fn distance_irrelevance(acts: &Activations, p: usize, lo_a: i64, lo_b: i64) -> f64 {
    let mut by_distance: Vec<Vec<f64>> = vec![Vec::new(); p];
    let mut all = Vec::with_capacity(acts.inputs.len());
    for (x, out) in acts.inputs.iter().zip(&acts.outputs) {
        let (a, b) = ((x[0] - lo_a) as usize, (x[1] - lo_b) as usize);
        let logit = out[(a + b) % p];
        by_distance[(a + p - b) % p].push(logit);
        all.push(logit);
    }
    let overall = std_dev(&all);
    let scale = all.iter().map(|v| v.abs()).sum::<f64>() / all.len().max(1) as f64;
    if overall <= 1e-6 * scale.max(f64::MIN_POSITIVE) {
        return 1.0;
    }
    let groups: Vec<f64> = by_distance
        .iter()
        .filter(|g| !g.is_empty())
        .map(|g| std_dev(g))
        .collect();
    groups.iter().sum::<f64>() / groups.len().max(1) as f64 / overall
}

/// Logit `c` of the example `(a, b)` with one embedding coordinate moved by `delta`.
fn logit(
    subject: &Subject,
    example: &[i64],
    site: ValueId,
    coordinate: usize,
    delta: f64,
    c: usize,
) -> Result<f64, InterpError> {
    let edit = |x: &mut [f64]| {
        if let Some(v) = x.get_mut(coordinate) {
            *v += delta;
        }
    };
    let patch = Patch {
        site: Site::Value(site),
        edit: &edit,
    };
    let run = subject.run(example, Some(&patch), &mut |_, _| {})?;
    Ok(run.outputs.get(c).copied().unwrap_or(0.0))
}

fn gradient_symmetricity(
    subject: &Subject,
    acts: &Activations,
    sites: [ValueId; 2],
    p: usize,
    seed: u64,
) -> Result<Option<f64>, InterpError> {
    let mut widths = [0usize; 2];
    if let Some(first) = acts.inputs.first() {
        subject.run(first, None, &mut |site, values| {
            for (w, s) in widths.iter_mut().zip(sites) {
                if site == Site::Value(s) {
                    *w = values.len();
                }
            }
        })?;
    }
    if widths[0] != widths[1] || widths[0] == 0 || widths[0] > 256 {
        return Ok(None);
    }
    let mut rng = SplitMix64::new(seed);
    let h = 1e-2;
    let mut total = 0.0;
    let triples = 32;
    for _ in 0..triples {
        let e = rng.int_in(0, acts.inputs.len() as i64 - 1) as usize;
        let c = rng.int_in(0, p as i64 - 1) as usize;
        let example = &acts.inputs[e];
        let mut grads = [vec![0.0; widths[0]], vec![0.0; widths[0]]];
        for (g, &site) in grads.iter_mut().zip(&sites) {
            for (j, gj) in g.iter_mut().enumerate() {
                let up = logit(subject, example, site, j, h, c)?;
                let down = logit(subject, example, site, j, -h, c)?;
                *gj = (up - down) / (2.0 * h);
            }
        }
        let dot: f64 = grads[0].iter().zip(&grads[1]).map(|(x, y)| x * y).sum();
        let norms = grads[0].iter().map(|x| x * x).sum::<f64>().sqrt()
            * grads[1].iter().map(|x| x * x).sum::<f64>().sqrt();
        total += if norms > 0.0 { dot / norms } else { 0.0 };
    }
    Ok(Some(total / triples as f64))
}

fn circularity(subject: &Subject, sites: [ValueId; 2], p: usize) -> Result<f64, InterpError> {
    let mut per_input = Vec::new();
    for (i, &site) in sites.iter().enumerate() {
        let mut rows = Vec::new();
        for v in 0..p as i64 {
            let mut example = vec![subject.ranges[0].0, subject.ranges[1].0];
            example[i] += v;
            subject.run(&example, None, &mut |s, values| {
                if s == Site::Value(site) {
                    rows.extend_from_slice(values);
                }
            })?;
        }
        let d = rows.len() / p;
        let Some(pca) = spectrum::pca(&rows, d) else {
            continue;
        };
        let top = pca.eigen.values.first().copied().unwrap_or(0.0);
        let mut shares = Vec::new();
        for (value, vector) in pca.eigen.values.iter().zip(&pca.eigen.vectors).take(4) {
            if *value <= 1e-9 * top || top <= 0.0 {
                break;
            }
            let series: Vec<f64> = rows
                .chunks_exact(d)
                .map(|r| r.iter().zip(vector).map(|(x, u)| x * u).sum())
                .collect();
            let power: Vec<f64> = (1..=p / 2)
                .map(|k| {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (v, s) in series.iter().enumerate() {
                        let t = std::f64::consts::TAU * ((k * v) % p) as f64 / p as f64;
                        re += s * t.cos();
                        im -= s * t.sin();
                    }
                    re * re + im * im
                })
                .collect();
            let sum: f64 = power.iter().sum();
            if sum > 0.0 {
                shares.push(power.iter().fold(0.0f64, |m, &x| m.max(x)) / sum);
            }
        }
        if !shares.is_empty() {
            per_input.push(shares.iter().sum::<f64>() / shares.len() as f64);
        }
    }
    Ok(per_input.iter().sum::<f64>() / per_input.len().max(1) as f64)
}
