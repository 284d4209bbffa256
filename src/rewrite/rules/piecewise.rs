//! Piecewise-linear forms: `max`, `min`, `abs`, relu (`max(0, x)`), clamps and the conditionals
//! that spell them.
//!
//! `max(a, b)` is Python's: `b` replaces `a` only when `b > a`, so `max(a, b)` is exactly
//! `b if a < b else a` and `min(a, b)` is `b if b < a else a`, for floats too (NaN and signed
//! zeros included); the absorption laws `max(a, max(a, b)) = max(a, b)` follow from that
//! definition for any doubles. Commutativity, associativity, translation and the relu laws fail
//! for floats (signed zeros, NaN, rounding of `x - y + y`) and are guarded to `Int`.

use egg::rewrite as rw;

use super::{const_le, root_int, Rewrite};

/// The piecewise-linear rules.
pub fn rules() -> Vec<Rewrite> {
    vec![
        // max(a, a) = a (exact for floats)
        rw!("max-self"; "(max ?a ?a)" => "?a"),
        // min(a, a) = a (exact for floats)
        rw!("min-self"; "(min ?a ?a)" => "?a"),
        // max(a, b) = max(b, a)
        rw!("max-comm"; "(max ?a ?b)" => "(max ?b ?a)" if root_int()),
        // min(a, b) = min(b, a)
        rw!("min-comm"; "(min ?a ?b)" => "(min ?b ?a)" if root_int()),
        // max(max(a, b), c) = max(a, max(b, c))
        rw!("max-assoc"; "(max (max ?a ?b) ?c)" => "(max ?a (max ?b ?c))" if root_int()),
        // max(a, max(b, c)) = max(max(a, b), c)
        rw!("max-assoc-rev"; "(max ?a (max ?b ?c))" => "(max (max ?a ?b) ?c)" if root_int()),
        // min(min(a, b), c) = min(a, min(b, c))
        rw!("min-assoc"; "(min (min ?a ?b) ?c)" => "(min ?a (min ?b ?c))" if root_int()),
        // min(a, min(b, c)) = min(min(a, b), c)
        rw!("min-assoc-rev"; "(min ?a (min ?b ?c))" => "(min (min ?a ?b) ?c)" if root_int()),
        // max(a, max(a, b)) = max(a, b) (exact for floats)
        rw!("max-absorb-left"; "(max ?a (max ?a ?b))" => "(max ?a ?b)"),
        // max(max(a, b), b) = max(a, b) (exact for floats)
        rw!("max-absorb-right"; "(max (max ?a ?b) ?b)" => "(max ?a ?b)"),
        // min(a, min(a, b)) = min(a, b) (exact for floats)
        rw!("min-absorb-left"; "(min ?a (min ?a ?b))" => "(min ?a ?b)"),
        // min(min(a, b), b) = min(a, b) (exact for floats)
        rw!("min-absorb-right"; "(min (min ?a ?b) ?b)" => "(min ?a ?b)"),
        // max(a, min(a, b)) = a
        rw!("max-min-absorb"; "(max ?a (min ?a ?b))" => "?a" if root_int()),
        // min(a, max(a, b)) = a
        rw!("min-max-absorb"; "(min ?a (max ?a ?b))" => "?a" if root_int()),
        // max(a, b) + c = max(a + c, b + c)
        rw!("add-max"; "(+ (max ?a ?b) ?c)" => "(max (+ ?a ?c) (+ ?b ?c))" if root_int()),
        // max(a + c, b + c) = max(a, b) + c
        rw!("max-add"; "(max (+ ?a ?c) (+ ?b ?c))" => "(+ (max ?a ?b) ?c)" if root_int()),
        // min(a, b) + c = min(a + c, b + c)
        rw!("add-min"; "(+ (min ?a ?b) ?c)" => "(min (+ ?a ?c) (+ ?b ?c))" if root_int()),
        // min(a + c, b + c) = min(a, b) + c
        rw!("min-add"; "(min (+ ?a ?c) (+ ?b ?c))" => "(+ (min ?a ?b) ?c)" if root_int()),
        // max(a, b) - c = max(a - c, b - c)
        rw!("sub-max"; "(- (max ?a ?b) ?c)" => "(max (- ?a ?c) (- ?b ?c))" if root_int()),
        // min(a, b) - c = min(a - c, b - c)
        rw!("sub-min"; "(- (min ?a ?b) ?c)" => "(min (- ?a ?c) (- ?b ?c))" if root_int()),
        // -max(a, b) = min(-a, -b)
        rw!("neg-max"; "(neg (max ?a ?b))" => "(min (neg ?a) (neg ?b))" if root_int()),
        // -min(a, b) = max(-a, -b)
        rw!("neg-min"; "(neg (min ?a ?b))" => "(max (neg ?a) (neg ?b))" if root_int()),
        // max(a, b) + min(a, b) = a + b
        rw!("max-plus-min"; "(+ (max ?a ?b) (min ?a ?b))" => "(+ ?a ?b)" if root_int()),
        // relu(x) + relu(-x) = abs(x), with relu(x) = max(0, x)
        rw!("relu-sum-abs"; "(+ (max 0 ?x) (max 0 (neg ?x)))" => "(abs ?x)" if root_int()),
        // relu(x) - relu(-x) = x
        rw!("relu-diff"; "(- (max 0 ?x) (max 0 (neg ?x)))" => "?x" if root_int()),
        // relu(x - y) + y = max(x, y)
        rw!("relu-offset"; "(+ (max 0 (- ?x ?y)) ?y)" => "(max ?x ?y)" if root_int()),
        // relu(abs(a)) = abs(a)
        rw!("relu-abs"; "(max 0 (abs ?a))" => "(abs ?a)" if root_int()),
        // max(a, -a) = abs(a)
        rw!("max-neg-abs"; "(max ?a (neg ?a))" => "(abs ?a)" if root_int()),
        // abs(-a) = abs(a) (exact for floats)
        rw!("abs-neg"; "(abs (neg ?a))" => "(abs ?a)"),
        // abs(abs(a)) = abs(a) (exact for floats)
        rw!("abs-abs"; "(abs (abs ?a))" => "(abs ?a)"),
        // abs(a - b) = abs(b - a)
        rw!("abs-sub-comm"; "(abs (- ?a ?b))" => "(abs (- ?b ?a))" if root_int()),
        // min(max(x, lo), hi) = max(min(x, hi), lo), for constants lo <= hi (one clamp)
        rw!("clamp-swap"; "(min (max ?x ?lo) ?hi)" => "(max (min ?x ?hi) ?lo)"
            if root_int() if const_le("?lo", "?hi")),
        // max(min(x, hi), lo) = min(max(x, lo), hi), for constants lo <= hi
        rw!("clamp-swap-rev"; "(max (min ?x ?hi) ?lo)" => "(min (max ?x ?lo) ?hi)"
            if root_int() if const_le("?lo", "?hi")),
        // max(min(x, lo), hi) = hi, for constants lo <= hi (min(x, lo) <= hi)
        rw!("clamp-empty-max"; "(max (min ?x ?lo) ?hi)" => "?hi"
            if root_int() if const_le("?lo", "?hi")),
        // min(max(x, hi), lo) = lo, for constants lo <= hi
        rw!("clamp-empty-min"; "(min (max ?x ?hi) ?lo)" => "?lo"
            if root_int() if const_le("?lo", "?hi")),
        // b if a < b else a = max(a, b) (Python's definition of max: exact for floats)
        rw!("select-max"; "(if (< ?a ?b) ?b ?a)" => "(max ?a ?b)"),
        // b if b < a else a = min(a, b) (Python's definition of min: exact for floats)
        rw!("select-min"; "(if (< ?b ?a) ?b ?a)" => "(min ?a ?b)"),
        // -a if a < 0 else a = abs(a)
        rw!("select-abs"; "(if (< ?a 0) (neg ?a) ?a)" => "(abs ?a)" if root_int()),
    ]
}

#[cfg(test)]
mod tests {
    use crate::rewrite::tests::{
        assert_kept, assert_normal_form_among, assert_normal_forms, FLOAT_VARS, INT_VARS,
    };

    #[test]
    fn relu_laws_give_max_and_abs() {
        let cases = [
            (
                "(+ (max 0 (- v0 v1)) v1)",
                &["(max v0 v1)", "(max v1 v0)"][..],
            ),
            ("(+ (max 0 v0) (max 0 (neg v0)))", &["(abs v0)"]),
            ("(- (max 0 v0) (max 0 (neg v0)))", &["v0"]),
            ("(+ (max 0 (neg v0)) (max 0 v0))", &["(abs v0)"]),
            ("(max v0 v0)", &["v0"]),
            ("(max 0 (max 0 v0))", &["(max 0 v0)"]),
            ("(max v0 (neg v0))", &["(abs v0)"]),
            ("(abs (neg (abs v0)))", &["(abs v0)"]),
            ("(if (< v0 0) (neg v0) v0)", &["(abs v0)"]),
            ("(if (> v0 v1) v0 v1)", &["(max v0 v1)", "(max v1 v0)"]),
            ("(min v0 (max v0 v1))", &["v0"]),
            ("(+ (max v0 v1) (min v0 v1))", &["(+ v0 v1)", "(+ v1 v0)"]),
        ];
        assert_normal_form_among(&INT_VARS, &cases);
    }

    #[test]
    fn clamps_normalise_and_collapse() {
        let cases = [
            ("(min (max v0 0) 9)", &["(max 0 (min 9 v0))"][..]),
            ("(max (min v0 3) 5)", &["5"]),
            ("(min (max v0 8) 2)", &["2"]),
            ("(max 2 (max 5 v0))", &["(max 5 v0)"]),
        ];
        assert_normal_form_among(&INT_VARS, &cases);
    }

    #[test]
    fn float_relu_keeps_inexact_forms_and_takes_exact_ones() {
        let kept = [
            "(+ (max 0.0 (- v0 v1)) v1)",
            "(+ (max 0.0 v0) (max 0.0 (neg v0)))",
            "(max 0.0 v0)",
            "(max v0 0.0)",
        ];
        assert_kept(&FLOAT_VARS, &kept);
        let exact = [
            ("(max 0.0 (max 0.0 v0))", "(max 0.0 v0)"),
            ("(if (> v0 0.0) v0 0.0)", "(max 0.0 v0)"),
            ("(if (< v1 v0) v1 v0)", "(min v0 v1)"),
            ("(abs (neg v0))", "(abs v0)"),
        ];
        assert_normal_forms(&FLOAT_VARS, &exact);
    }
}
