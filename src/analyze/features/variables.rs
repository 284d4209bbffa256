//! Candidate discrete variables a layer may represent: each input feature, the sum and the
//! difference mod p of each pair of features with the same p, and the network's output; for a
//! sequence model at step t, each input at t and at t - 1, the running sum mod p of each input
//! feature, and the output at t.
//!
//! A variable takes the values `0..p` on every example (inputs are offset by their range's lower
//! bound). Variables with identical values on every example are merged (the first name is kept),
//! so `(a + b) mod p` and an exact adder's output are one candidate.

use super::activations::{Activations, Subject};

/// Smallest and largest `p` probed (a 2-point "circle" is a line; very large `p` cost `p^2`).
pub const MIN_P: usize = 3;
pub const MAX_P: usize = 512;

/// One candidate variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub p: usize,
    /// The value on each example, in `0..p`.
    pub values: Vec<usize>,
}

/// The candidates at `step` (`None` for a pointwise network).
pub fn candidates(subject: &Subject, acts: &Activations, step: Option<usize>) -> Vec<Variable> {
    let d = subject.ranges.len().max(1);
    let t = step.unwrap_or(0);
    let mut out: Vec<Variable> = Vec::new();
    let feature = |f: usize, at: usize| -> Option<Vec<usize>> {
        let lo = subject.ranges[f].0;
        acts.inputs
            .iter()
            .map(|x| x.get(at * d + f).map(|v| (v - lo) as usize))
            .collect()
    };
    for (f, name) in subject.feature_names.iter().enumerate() {
        let (lo, hi) = subject.ranges[f];
        let p = (hi - lo + 1) as usize;
        if !(MIN_P..=MAX_P).contains(&p) {
            continue;
        }
        if let Some(values) = feature(f, t) {
            out.push(Variable {
                name: name.clone(),
                p,
                values,
            });
        }
        if let (Some(t), true) = (step, step.is_some_and(|t| t > 0)) {
            if let Some(values) = feature(f, t - 1) {
                out.push(Variable {
                    name: format!("{name} at step {}", t - 1),
                    p,
                    values,
                });
            }
            let sums: Option<Vec<usize>> = acts
                .inputs
                .iter()
                .map(|x| {
                    (0..=t)
                        .map(|s| x.get(s * d + f).map(|v| (v - lo) as usize))
                        .sum::<Option<usize>>()
                        .map(|s| s % p)
                })
                .collect();
            if let Some(values) = sums {
                out.push(Variable {
                    name: format!("running sum of {name} mod {p}"),
                    p,
                    values,
                });
            }
        }
    }
    if step.is_none() {
        let singles: Vec<Variable> = out.clone();
        for (i, a) in singles.iter().enumerate() {
            for b in &singles[i + 1..] {
                if a.p != b.p {
                    continue;
                }
                let p = a.p;
                let sum = a.values.iter().zip(&b.values).map(|(x, y)| (x + y) % p);
                let diff = a.values.iter().zip(&b.values).map(|(x, y)| (x + p - y) % p);
                out.push(Variable {
                    name: format!("({} + {}) mod {p}", a.name, b.name),
                    p,
                    values: sum.collect(),
                });
                out.push(Variable {
                    name: format!("({} - {}) mod {p}", a.name, b.name),
                    p,
                    values: diff.collect(),
                });
            }
        }
    }
    if let Some(output) = output_variable(acts, t) {
        out.push(output);
    }
    let mut unique: Vec<Variable> = Vec::new();
    for v in out {
        if !unique.iter().any(|u| u.p == v.p && u.values == v.values) {
            unique.push(v);
        }
    }
    unique
}

/// The output read as an integer at step `t`, offset to start at 0, when it takes a number of
/// values in `MIN_P..=MAX_P` (`p` is its observed span).
fn output_variable(acts: &Activations, t: usize) -> Option<Variable> {
    let values: Vec<i64> = acts
        .predictions
        .iter()
        .map(|p| p.get(t).copied())
        .collect::<Option<_>>()?;
    let lo = *values.iter().min()?;
    let hi = *values.iter().max()?;
    let p = usize::try_from(hi.checked_sub(lo)?).ok()? + 1;
    if !(MIN_P..=MAX_P).contains(&p) {
        return None;
    }
    Some(Variable {
        name: "output".to_string(),
        p,
        values: values.iter().map(|v| (v - lo) as usize).collect(),
    })
}
