//! Ring identities, offsets, and floor division and modulo: integer arithmetic.
//!
//! Some rules are exact for IEEE doubles too: addition and multiplication commute, `a - b` is
//! defined as `a + (-b)`, negation only flips the sign bit (so `-(-a) = a` and
//! `(-a) * b = -(a * b)`, rounding being symmetric), and `a * 1`, `a - 0`, `a * -1` are exact
//! (`-0.0 - 0` is `-0.0`). The laws that move a negation hold only when the negated operand is
//! itself a float in a float expression: an `Int` zero has no sign, so `-0.0 - 0` is `-0.0`
//! but `-0.0 + (-0)` is `0.0` (guard [`type_of_root`]). Everything else holds only for `Int`
//! and is guarded by [`root_int`].

use egg::rewrite as rw;

use super::{int_const, negative_const, root_int, type_of_root, Rewrite};

fn nonzero(v: i64) -> bool {
    v != 0
}

fn positive(v: i64) -> bool {
    v > 0
}

/// The integer arithmetic rules.
pub fn rules() -> Vec<Rewrite> {
    vec![
        // a + b = b + a (exact for floats)
        rw!("add-comm"; "(+ ?a ?b)" => "(+ ?b ?a)"),
        // a * b = b * a (exact for floats)
        rw!("mul-comm"; "(* ?a ?b)" => "(* ?b ?a)"),
        // (a + b) + c = a + (b + c)
        rw!("add-assoc"; "(+ (+ ?a ?b) ?c)" => "(+ ?a (+ ?b ?c))" if root_int()),
        // a + (b + c) = (a + b) + c
        rw!("add-assoc-rev"; "(+ ?a (+ ?b ?c))" => "(+ (+ ?a ?b) ?c)" if root_int()),
        // (a * b) * c = a * (b * c)
        rw!("mul-assoc"; "(* (* ?a ?b) ?c)" => "(* ?a (* ?b ?c))" if root_int()),
        // a * (b * c) = (a * b) * c
        rw!("mul-assoc-rev"; "(* ?a (* ?b ?c))" => "(* (* ?a ?b) ?c)" if root_int()),
        // a - b = a + (-b) (exact for floats: IEEE subtraction is addition of the negation)
        rw!("sub-to-add-neg"; "(- ?a ?b)" => "(+ ?a (neg ?b))" if type_of_root("?b")),
        // a + (-b) = a - b (exact for floats)
        rw!("add-neg-to-sub"; "(+ ?a (neg ?b))" => "(- ?a ?b)" if type_of_root("?b")),
        // a - (-b) = a + b (exact for floats)
        rw!("sub-neg"; "(- ?a (neg ?b))" => "(+ ?a ?b)" if type_of_root("?b")),
        // -(-a) = a (exact for floats)
        rw!("neg-neg"; "(neg (neg ?a))" => "?a"),
        // -(a + b) = (-a) + (-b)
        rw!("neg-add"; "(neg (+ ?a ?b))" => "(+ (neg ?a) (neg ?b))" if root_int()),
        // (-a) + (-b) = -(a + b)
        rw!("neg-add-rev"; "(+ (neg ?a) (neg ?b))" => "(neg (+ ?a ?b))" if root_int()),
        // -(a - b) = b - a
        rw!("neg-sub"; "(neg (- ?a ?b))" => "(- ?b ?a)" if root_int()),
        // (-a) * b = -(a * b) (exact for floats: rounding is symmetric)
        rw!("mul-neg"; "(* (neg ?a) ?b)" => "(neg (* ?a ?b))" if type_of_root("?a")),
        // -(a * b) = (-a) * b (exact for floats)
        rw!("neg-mul"; "(neg (* ?a ?b))" => "(* (neg ?a) ?b)" if type_of_root("?a")),
        // a + 0 = a (not for floats: -0.0 + 0 is 0.0)
        rw!("add-zero"; "(+ ?a 0)" => "?a" if root_int()),
        // a + c = a - (-c), for a negative constant c (exact for floats)
        rw!("add-negative"; "(+ ?a ?c)" => "(- ?a (neg ?c))" if negative_const("?c") if type_of_root("?c")),
        // a - 0 = a (exact for floats: -0.0 - 0 is -0.0)
        rw!("sub-zero"; "(- ?a 0)" => "?a"),
        // 0 - a = -a (not for floats: 0 - 0.0 is 0.0)
        rw!("zero-sub"; "(- 0 ?a)" => "(neg ?a)" if root_int()),
        // a - a = 0
        rw!("sub-self"; "(- ?a ?a)" => "0" if root_int()),
        // a * 1 = a (exact for floats)
        rw!("mul-one"; "(* ?a 1)" => "?a"),
        // a * -1 = -a (exact for floats)
        rw!("mul-minus-one"; "(* ?a -1)" => "(neg ?a)"),
        // a * 0 = 0
        rw!("mul-zero"; "(* ?a 0)" => "0" if root_int()),
        // a + a = 2 * a
        rw!("add-self"; "(+ ?a ?a)" => "(* 2 ?a)" if root_int()),
        // a * b + a * c = a * (b + c)
        rw!("factor"; "(+ (* ?a ?b) (* ?a ?c))" => "(* ?a (+ ?b ?c))" if root_int()),
        // a * b + a = a * (b + 1)
        rw!("factor-one"; "(+ (* ?a ?b) ?a)" => "(* ?a (+ ?b 1))" if root_int()),
        // k * (a + b) = k * a + k * b, for a constant k
        rw!("distribute-const"; "(* ?k (+ ?a ?b))" => "(+ (* ?k ?a) (* ?k ?b))"
            if root_int() if int_const("?k", |_| true)),
        // c - (c - x) = x
        rw!("sub-sub-cancel"; "(- ?c (- ?c ?x))" => "?x" if root_int()),
        // (a + b) - b = a
        rw!("add-sub-cancel"; "(- (+ ?a ?b) ?b)" => "?a" if root_int()),
        // (a - b) + b = a
        rw!("sub-add-cancel"; "(+ (- ?a ?b) ?b)" => "?a" if root_int()),
        // (a - b) - c = a - (b + c)
        rw!("sub-sub"; "(- (- ?a ?b) ?c)" => "(- ?a (+ ?b ?c))" if root_int()),
        // a - (b + c) = (a - b) - c
        rw!("sub-add"; "(- ?a (+ ?b ?c))" => "(- (- ?a ?b) ?c)" if root_int()),
        // (a + b) - c = a + (b - c)
        rw!("add-sub-assoc"; "(- (+ ?a ?b) ?c)" => "(+ ?a (- ?b ?c))" if root_int()),
        // a + (b - c) = (a + b) - c
        rw!("add-sub-assoc-rev"; "(+ ?a (- ?b ?c))" => "(- (+ ?a ?b) ?c)" if root_int()),
        // (x % m) % m = x % m
        rw!("mod-mod"; "(mod (mod ?x ?m) ?m)" => "(mod ?x ?m)" if root_int()),
        // (x + m) % m = x % m
        rw!("mod-add-modulus"; "(mod (+ ?x ?m) ?m)" => "(mod ?x ?m)" if root_int()),
        // (x % m) // m = 0, for a constant m != 0 (x % m lies between 0 and m, m excluded)
        rw!("mod-floordiv"; "(// (mod ?x ?m) ?m)" => "0" if root_int() if int_const("?m", nonzero)),
        // x % 1 = 0
        rw!("mod-one"; "(mod ?x 1)" => "0" if root_int()),
        // x % -1 = 0
        rw!("mod-minus-one"; "(mod ?x -1)" => "0" if root_int()),
        // x // 1 = x
        rw!("floordiv-one"; "(// ?x 1)" => "?x" if root_int()),
        // x // -1 = -x
        rw!("floordiv-minus-one"; "(// ?x -1)" => "(neg ?x)" if root_int()),
        // (x * m) % m = 0, for a constant m != 0
        rw!("mod-multiple"; "(mod (* ?x ?m) ?m)" => "0" if root_int() if int_const("?m", nonzero)),
        // (x * m) // m = x, for a constant m != 0
        rw!("floordiv-multiple"; "(// (* ?x ?m) ?m)" => "?x"
            if root_int() if int_const("?m", nonzero)),
        // (x // a) // b = x // (a * b), for constants a, b > 0
        rw!("floordiv-floordiv"; "(// (// ?x ?a) ?b)" => "(// ?x (* ?a ?b))"
            if root_int() if int_const("?a", positive) if int_const("?b", positive)),
        // m * (x // m) + x % m = x, for a constant m != 0
        rw!("divmod-identity"; "(+ (* ?m (// ?x ?m)) (mod ?x ?m))" => "?x"
            if root_int() if int_const("?m", nonzero)),
        // x - x % m = m * (x // m), for a constant m != 0
        rw!("sub-mod"; "(- ?x (mod ?x ?m))" => "(* ?m (// ?x ?m))"
            if root_int() if int_const("?m", nonzero)),
    ]
}

#[cfg(test)]
mod tests {
    use crate::rewrite::tests::{assert_kept, assert_normal_forms, FLOAT_VARS, INT_VARS};

    #[test]
    fn ring_identities_and_offsets() {
        let cases = [
            ("(- 99 (- 99 v0))", "v0"),
            ("(+ (+ v0 3) 4)", "(+ v0 7)"),
            ("(- (+ v0 5) 5)", "v0"),
            ("(+ (- v0 v1) v1)", "v0"),
            ("(* v0 1)", "v0"),
            ("(* (+ v0 v1) 0)", "0"),
            ("(neg (neg v0))", "v0"),
            ("(- v0 v0)", "0"),
            ("(+ v0 (neg v1))", "(- v0 v1)"),
            ("(+ (* 3 v0) (* 4 v0))", "(* 7 v0)"),
            ("(+ (+ v0 v0) v0)", "(* 3 v0)"),
            ("(+ v0 -1)", "(- v0 1)"),
            ("(- (- v0 2) 3)", "(- v0 5)"),
            ("(+ 0 (* 1 v1))", "v1"),
            ("(- 0 v0)", "(neg v0)"),
        ];
        assert_normal_forms(&INT_VARS, &cases);
    }

    #[test]
    fn floor_division_and_modulo_identities() {
        let cases = [
            ("(mod (mod v0 5) 5)", "(mod v0 5)"),
            ("(// v0 1)", "v0"),
            ("(mod v0 1)", "0"),
            ("(// (* v0 4) 4)", "v0"),
            ("(mod (* v0 4) 4)", "0"),
            ("(// (// v0 2) 3)", "(// v0 6)"),
            ("(+ (* 3 (// v0 3)) (mod v0 3))", "v0"),
            ("(mod (+ v0 7) 7)", "(mod v0 7)"),
            ("(// 7 0)", "(// 7 0)"),
        ];
        assert_normal_forms(&INT_VARS, &cases);
    }

    #[test]
    fn float_arithmetic_keeps_inexact_forms() {
        let kept = [
            "(+ v0 0.0)",
            "(+ (+ v0 v1) v2)",
            "(- v0 v0)",
            "(* 0.0 v0)",
            "(+ (+ v0 0.5) 0.25)",
            "(neg (- v0 v1))",
        ];
        assert_kept(&FLOAT_VARS, &kept);
        let exact = [
            ("(+ v0 (neg v1))", "(- v0 v1)"),
            ("(- v0 0)", "v0"),
            ("(* v0 1)", "v0"),
            ("(neg (neg v0))", "v0"),
            ("(- v0 (neg v1))", "(+ v0 v1)"),
            ("(+ v0 -1.5)", "(- v0 1.5)"),
            ("(* v0 2.0)", "(* 2.0 v0)"),
        ];
        assert_normal_forms(&FLOAT_VARS, &exact);
    }
}
