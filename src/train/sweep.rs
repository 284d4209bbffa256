//! The MLP recipe and the penalty-strength sweep: train, snap ("hammer"), judge, and keep the
//! simplest network that is still exact on held-out data; its table as CSV and an SVG plot.
//!
//! Snapping rounds every parameter (weights and biases) to the codebook of
//! [`codebook::snap_values`] and is kept only when the held-out accuracy does not drop: an L1
//! network trained with a penalty then has weights exactly `1`, `-1` and `0`. Bits are the
//! description length of the parameters under [`codebook::description_bits`] (the prior of
//! `nn2py analyze complexity`).
//!
//! [`balance`] is the trainer's own rescaling, on the `f32` parameter vector between training
//! and snapping: unlike the normal form's [`crate::normal::canonical::rescale`] (`f64`, bias
//! included in the largest entry), it divides by the largest incoming weight alone, in `f32`.

use std::fmt::Write as _;

use crate::export::Mlp;
use crate::normal::codebook;
use crate::train::mlp_data::{MlpData, MlpTask};
use crate::train::mlp_fit::{score, train_on, MlpRun, MlpTrainOptions};

/// Relative tolerance of the final snap.
pub const HAMMER_TOLERANCE: f64 = 0.05;

/// Rescales every hidden neuron so that its largest incoming weight has magnitude 1, moving the
/// scale to its outgoing weights (`relu(c z) / c = relu(z)` for `c > 0`: the function is kept up
/// to rounding). Neurons without incoming weights are left alone.
pub fn balance(model: &mut Mlp) {
    let layers = model.shape.layers();
    for pair in layers.windows(2) {
        let (this, next) = (&pair[0], &pair[1]);
        for i in 0..this.out {
            let row = this.weight.start + i * this.inp..this.weight.start + (i + 1) * this.inp;
            let c = model.params[row.clone()]
                .iter()
                .fold(0.0f32, |m, w| m.max(w.abs()));
            if c == 0.0 || !c.is_finite() {
                continue;
            }
            model.params[row].iter_mut().for_each(|w| *w /= c);
            model.params[this.bias.start + i] /= c;
            for m in 0..next.out {
                model.params[next.weight.start + m * next.inp + i] *= c;
            }
        }
    }
}

/// Balances ([`balance`]) then snaps every parameter of `run`'s model when the held-out accuracy does not drop; returns
/// whether it did.
pub fn hammer(run: &mut MlpRun, held_out: &MlpData) -> bool {
    let loss = run.task.loss();
    let mut balanced = run.model.clone();
    balance(&mut balanced);
    let values: Vec<f64> = balanced.params.iter().map(|&p| f64::from(p)).collect();
    let snapped: Vec<f32> = codebook::snap_values(&values, HAMMER_TOLERANCE)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let candidate = Mlp {
        shape: run.model.shape.clone(),
        params: snapped,
    };
    let after = score(&candidate, held_out, loss, run.options.tolerance);
    if after.accuracy >= run.held_out.accuracy {
        run.model = candidate;
        run.held_out = after;
        run.snapped = true;
        let mask = run.model.shape.weight_mask();
        run.nonzero_weights = run
            .model
            .params
            .iter()
            .zip(&mask)
            .filter(|(w, &m)| m && **w != 0.0)
            .count();
        true
    } else {
        false
    }
}

/// Description length of a network's parameters in bits.
pub fn bits(model: &Mlp) -> f64 {
    let values: Vec<f64> = model.params.iter().map(|&p| f64::from(p)).collect();
    codebook::description_bits(&values)
}

/// One strength of a sweep.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SweepRow {
    pub strength: f32,
    /// Largest held-out error (regression) or held-out error rate (classification).
    pub error: f64,
    pub accuracy: f64,
    pub bits: f64,
    pub nonzero_weights: usize,
    /// 100% of held-out examples within the tolerance (or classified correctly).
    pub exact: bool,
    pub snapped: bool,
}

/// A sweep's table and the index of the simplest exact network.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sweep {
    pub task: MlpTask,
    pub rows: Vec<SweepRow>,
    /// Row of the exact network with the fewest bits (ties: the larger strength).
    pub chosen: Option<usize>,
    #[serde(skip)]
    pub best: Option<MlpRun>,
}

/// `count` strengths spaced evenly in log scale from `lo` to `hi` (both > 0).
pub fn log_strengths(lo: f32, hi: f32, count: usize) -> Vec<f32> {
    let (a, b) = (f64::from(lo.max(1e-12)).ln(), f64::from(hi.max(1e-12)).ln());
    (0..count)
        .map(|i| {
            let t = if count > 1 {
                i as f64 / (count - 1) as f64
            } else {
                0.0
            };
            (a + (b - a) * t).exp() as f32
        })
        .collect()
}

/// Trains `task` at every strength of `options.penalty` in `strengths` (same data and seed),
/// hammers each, and keeps the simplest exact one.
pub fn sweep(task: &MlpTask, options: &MlpTrainOptions, strengths: &[f32]) -> Sweep {
    let (train, held_out) = task.data(options.seed ^ 0x6D6C_7064_6174_6131);
    let mut rows = Vec::new();
    let mut best: Option<(f64, usize, MlpRun)> = None;
    for &s in strengths {
        let run_options = MlpTrainOptions {
            penalty: options.penalty.with_strength(s),
            ..options.clone()
        };
        let mut run = train_on(task, &run_options, &train, &held_out);
        hammer(&mut run, &held_out);
        let exact = run.held_out.accuracy >= 1.0;
        let b = bits(&run.model);
        rows.push(SweepRow {
            strength: s,
            error: run.held_out.max_error,
            accuracy: run.held_out.accuracy,
            bits: b,
            nonzero_weights: run.nonzero_weights,
            exact,
            snapped: run.snapped,
        });
        if exact && best.as_ref().is_none_or(|(bb, _, _)| b <= *bb) {
            best = Some((b, rows.len() - 1, run));
        }
    }
    let (chosen, best) = match best {
        Some((_, i, run)) => (Some(i), Some(run)),
        None => (None, None),
    };
    Sweep {
        task: *task,
        rows,
        chosen,
        best,
    }
}

/// The sweep as CSV: `strength,error,accuracy,bits,nonzero_weights,exact,snapped`.
pub fn csv(sweep: &Sweep) -> String {
    let mut out = String::from("strength,error,accuracy,bits,nonzero_weights,exact,snapped\n");
    for r in &sweep.rows {
        let _ = writeln!(
            out,
            "{:e},{:e},{},{:.3},{},{},{}",
            r.strength, r.error, r.accuracy, r.bits, r.nonzero_weights, r.exact, r.snapped
        );
    }
    out
}

/// The sweep as an SVG line plot: strength (log scale) against held-out error (red, left axis,
/// log scale) and bits (blue, right axis); the chosen network is ringed.
pub fn svg(sweep: &Sweep) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 360.0, 70.0, 570.0, 30.0, 300.0);
    let xs: Vec<f64> = sweep
        .rows
        .iter()
        .map(|r| f64::from(r.strength).log10())
        .collect();
    let errs: Vec<f64> = sweep
        .rows
        .iter()
        .map(|r| r.error.max(1e-9).log10())
        .collect();
    let bits: Vec<f64> = sweep.rows.iter().map(|r| r.bits).collect();
    let span = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            (0.0, 1.0)
        } else if hi - lo < 1e-9 {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo, hi)
        }
    };
    let ((x0, x1), (e0, e1), (b0, b1)) = (span(&xs), span(&errs), span(&bits));
    let px = |x: f64| left + (x - x0) / (x1 - x0) * (right - left);
    let py = |v: f64, lo: f64, hi: f64| bottom - (v - lo) / (hi - lo) * (bottom - top);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="18" text-anchor="middle">{}: penalty strength against held-out error and bits</text>"#,
        w / 2.0,
        sweep.task.name()
    );
    let _ = writeln!(
        out,
        r#"<path d="M{left} {top} V{bottom} H{right} V{top}" fill="none" stroke="black"/>"#
    );
    for (label, value, x) in [("log10 strength", x0, left), ("", x1, right)] {
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{value:.2}</text>"#,
            bottom + 16.0
        );
        if !label.is_empty() {
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                (left + right) / 2.0,
                bottom + 34.0
            );
        }
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" fill="#c0392b" text-anchor="end">log10 error {e1:.2}</text>"##,
        left - 4.0,
        top + 4.0
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" fill="#c0392b" text-anchor="end">{e0:.2}</text>"##,
        left - 4.0,
        bottom
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" fill="#2471a3">bits {b1:.0}</text>"##,
        right + 4.0,
        top + 4.0
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" fill="#2471a3">{b0:.0}</text>"##,
        right + 4.0,
        bottom
    );
    for (values, lo, hi, colour) in [(&errs, e0, e1, "#c0392b"), (&bits, b0, b1, "#2471a3")] {
        let points: Vec<String> = xs
            .iter()
            .zip(values.iter())
            .map(|(&x, &v)| format!("{:.1},{:.1}", px(x), py(v, lo, hi)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            points.join(" ")
        );
        for p in &points {
            if let Some((x, y)) = p.split_once(',') {
                let _ = writeln!(out, r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#);
            }
        }
    }
    if let Some(i) = sweep.chosen {
        let _ = writeln!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="8" fill="none" stroke="black"/>"#,
            px(xs[i]),
            py(bits[i], b0, b1)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strengths_are_log_spaced() {
        let s = log_strengths(1e-4, 1e-2, 3);
        assert!((s[1] - 1e-3).abs() < 1e-9);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn svg_and_csv_are_deterministic_and_mark_the_choice() {
        let row = |s: f32, e: f64, b: f64, exact: bool| SweepRow {
            strength: s,
            error: e,
            accuracy: if exact { 1.0 } else { 0.5 },
            bits: b,
            nonzero_weights: 4,
            exact,
            snapped: exact,
        };
        let sweep = Sweep {
            task: MlpTask::L1Norm { n: 2 },
            rows: vec![row(1e-4, 1e-3, 400.0, true), row(1e-2, 0.5, 50.0, false)],
            chosen: Some(0),
            best: None,
        };
        let picture = svg(&sweep);
        assert_eq!(picture, svg(&sweep));
        assert_eq!(picture.matches("<circle").count(), 5);
        assert!(csv(&sweep)
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("1e-4,1e-3,1,400.000")));
    }
}

/// One invocation of `nn2py train-mlp`: a task, its options, an optional sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpRecipe {
    pub task: MlpTask,
    pub options: MlpTrainOptions,
    /// Strengths to sweep `options.penalty` over; empty trains once at its own strength.
    pub strengths: Vec<f32>,
    /// Snap the final network's parameters when that keeps it as accurate.
    pub hammer: bool,
}

/// What [`run_recipe`] produced.
#[derive(Debug, Clone)]
pub struct MlpOutcome {
    /// The network written (the sweep's chosen one, else the last row's, else the single run).
    pub run: MlpRun,
    pub sweep: Option<Sweep>,
    /// The ONNX model.
    pub onnx: Vec<u8>,
    /// The training record (JSON): the run's facts and its bits.
    pub record: String,
}

/// Trains (or sweeps) and exports. Errors: the task's sizes (as [`MlpTask::validate`]) or the
/// export's.
pub fn run_recipe(
    recipe: &MlpRecipe,
    producer_version: &str,
) -> Result<MlpOutcome, crate::export::ExportError> {
    let fail = |message: String| crate::export::ExportError {
        message,
        location: crate::diag::Location::Unknown,
    };
    recipe.task.validate().map_err(fail)?;
    recipe
        .task
        .shape(&recipe.options.hidden, recipe.options.embed.max(1))
        .validate()
        .map_err(fail)?;
    let (run, sweep) = if recipe.strengths.is_empty() {
        let (train, held_out) = recipe
            .task
            .data(recipe.options.seed ^ 0x6D6C_7064_6174_6131);
        let mut run = train_on(&recipe.task, &recipe.options, &train, &held_out);
        if recipe.hammer {
            hammer(&mut run, &held_out);
        }
        (run, None)
    } else {
        let mut result = sweep(&recipe.task, &recipe.options, &recipe.strengths);
        let run = match result.best.take() {
            Some(run) => run,
            None => {
                // Nothing exact: keep the weakest penalty's network, retrained (same seed).
                let options = MlpTrainOptions {
                    penalty: recipe.options.penalty.with_strength(recipe.strengths[0]),
                    ..recipe.options.clone()
                };
                crate::train::mlp_fit::train_mlp(&recipe.task, &options)
            }
        };
        (run, Some(result))
    };
    let onnx = crate::export::export_mlp(
        &run.model,
        &crate::export::MlpExportMeta {
            domain: recipe.task.domain(),
            argmax: run.task.loss() == crate::train::mlp_data::Loss::CrossEntropy,
            producer_version: producer_version.to_string(),
        },
    )?;
    let record = serde_json::json!({
        "run": &run,
        "bits": bits(&run.model),
        "shape": &run.model.shape,
    });
    let record = serde_json::to_string_pretty(&record).map_err(|e| fail(e.to_string()))? + "\n";
    Ok(MlpOutcome {
        run,
        sweep,
        onnx,
        record,
    })
}
