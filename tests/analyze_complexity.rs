//! `analyze complexity` on networks whose answer is known, and the pointwise rewrite that turns
//! a simplified L1-norm network into `abs(x0) + abs(x1)`.

use nn2py::analyze::complexity::{analyze_complexity, summary, ComplexityOptions};
use nn2py::driver::{self, Options};
use nn2py::export::{export_mlp, MlpExportMeta};
use nn2py::export::{InputKind, Mlp, MlpShape};

/// `|x0| + |x1|` with a duplicated neuron (`relu(0.5 x0)`, half of neuron 0's job) and a dead
/// one (no outgoing weight).
fn l1_with_duplicate_and_dead() -> Vec<u8> {
    let shape = MlpShape {
        input: InputKind::Real { features: 2 },
        hidden: vec![6],
        output: 1,
    };
    let mut params = vec![
        1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.5, 0.0, 0.3, 0.7, // fc.0.weight [6, 2]
    ];
    params.extend([0.0; 6]); // fc.0.bias
    params.extend([0.5, 1.0, 1.0, 1.0, 1.0, 0.0]); // fc.1.weight [1, 6]
    params.push(0.0); // fc.1.bias
    let model = Mlp { shape, params };
    export_mlp(
        &model,
        &MlpExportMeta {
            domain: "-1.0..1.0".to_string(),
            argmax: false,
            producer_version: "test".to_string(),
        },
    )
    .unwrap()
}

#[test]
fn known_network_measures() {
    let report =
        analyze_complexity(&l1_with_duplicate_and_dead(), &ComplexityOptions::default()).unwrap();
    let m = &report.measures;
    assert_eq!(m.weights, 25);
    assert_eq!(m.nonzero_weights, 12);
    assert_eq!(m.hidden_neurons, 6);
    assert_eq!(m.live_neurons, 5);
    assert_eq!(m.duplicate_groups.len(), 1);
    assert_eq!(m.duplicate_groups[0].neurons, vec![0, 4]);
    assert_eq!(m.duplicate_groups[0].scales, vec![1.0, 0.5]);
    // 0, 1, -1, 0.5, 0.3, 0.7: the snap tolerance (2%) merges none of them.
    assert_eq!(m.distinct_values, 6);
    assert_eq!(m.distinct_values_snapped, 6);
    // Two input modules {x0, neurons 0, 1, 4} and {x1, neurons 2, 3}, joined by the dead
    // neuron 5 (it reads both inputs): one component.
    assert_eq!(m.modules, 1);

    let steps: Vec<(&str, usize, bool)> = report
        .simplification
        .iter()
        .map(|s| (s.step, s.changed, s.matches))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("prune", 1, true),
            ("merge", 1, true),
            ("snap", 0, true),
            ("order", 0, true)
        ]
    );
    let s = report.simplified.as_ref().unwrap();
    assert_eq!(s.nonzero_weights, 8);
    assert_eq!(s.live_neurons, 4);
    assert_eq!(s.distinct_values, 3);
    assert!(s.duplicate_groups.is_empty());
    assert_eq!(s.modules, 2);
    assert!(s.description_bits < m.description_bits);
    assert!(s.connection_cost < m.connection_cost);
    assert!(summary(&report).contains("simplify merge: 1 changed; matches the original"));
}

#[test]
fn simplified_l1_network_converts_to_abs() {
    let compilation = driver::compile(&l1_with_duplicate_and_dead(), &Options::default()).unwrap();
    let python = compilation.python.unwrap();
    assert!(python.contains("return abs(x0) + abs(x1)"), "{python}");
    assert!(compilation.report.verification.unwrap().is_exact());
}

#[test]
fn snapping_that_changes_the_function_is_refused() {
    // Weights 1.01 and 0.99 are tied by a 5% tolerance, which changes the outputs by ~1%.
    let shape = MlpShape {
        input: InputKind::Real { features: 1 },
        hidden: vec![2],
        output: 1,
    };
    let params = vec![1.01, -0.99, 0.0, 0.0, 1.0, 1.0, 0.0];
    let bytes = export_mlp(
        &Mlp { shape, params },
        &MlpExportMeta {
            domain: "-1.0..1.0".to_string(),
            argmax: false,
            producer_version: "test".to_string(),
        },
    )
    .unwrap();
    let mut options = ComplexityOptions::default();
    options.tolerances.snap_tolerance = 0.05;
    let report = analyze_complexity(&bytes, &options).unwrap();
    let snap = report
        .simplification
        .iter()
        .find(|s| s.step == "snap")
        .unwrap();
    assert!(snap.changed > 0);
    assert!(!snap.matches);
    assert_eq!(report.measures.distinct_values_snapped, 3);
}
