//! Laws of relu pairs that hold for every double except NaN, applied only by
//! [`crate::rewrite::simplify_program_finite`], whose callers keep the result only after it
//! agrees with the network on the checked inputs.
//!
//! `max(0.0, x)` and `max(0.0, -x)` (Python's `max`) are never both nonzero, and the one that
//! is zero is `+0.0`; adding `+0.0` is exact (a `-0.0` sum becomes `+0.0` on both sides). So
//! `relu(x) + relu(-x)` is `abs(x)`, also after an accumulator, for every double but NaN (where
//! the relus give 0 and `abs` gives NaN, as the network's own `Relu` and `Abs` do).

use egg::rewrite as rw;

use super::Rewrite;

/// The relu-pair laws on floats.
pub fn rules() -> Vec<Rewrite> {
    vec![
        // relu(x) + relu(-x) = abs(x) (not NaN)
        rw!("relu-pair-abs"; "(+ (max 0.0 ?x) (max 0.0 (neg ?x)))" => "(abs ?x)"),
        // relu(-x) + relu(x) = abs(x) (not NaN)
        rw!("relu-pair-abs-rev"; "(+ (max 0.0 (neg ?x)) (max 0.0 ?x))" => "(abs ?x)"),
        // (a + relu(x)) + relu(-x) = a + abs(x) (not NaN: one relu is +0.0)
        rw!("relu-pair-abs-acc"; "(+ (+ ?a (max 0.0 ?x)) (max 0.0 (neg ?x)))" => "(+ ?a (abs ?x))"),
        // (a + relu(-x)) + relu(x) = a + abs(x) (not NaN: one relu is +0.0)
        rw!("relu-pair-abs-acc-rev"; "(+ (+ ?a (max 0.0 (neg ?x))) (max 0.0 ?x))" => "(+ ?a (abs ?x))"),
    ]
}
