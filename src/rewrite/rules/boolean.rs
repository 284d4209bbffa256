//! Booleans, comparisons and conversions: `not`, `and`, `or`, `^`, comparisons with constants,
//! `int(b)`/`float(b)` of a boolean, and conditionals with boolean or constant branches.
//!
//! `and`/`or` short-circuit, so no rule swaps their operands (the right one may fail where the
//! left one decides); De Morgan keeps the evaluation order. Swapping the operands of a
//! comparison (`a > b` is `b < a`) and negating `==`/`!=` are exact for floats (NaN included);
//! negating an ordering comparison (`not a < b` is `b <= a`) is not (NaN), and is guarded to
//! `Int` operands, as are the rules that move constants across a comparison.

use egg::rewrite as rw;

use super::{has_type, int, int_const, type_of_root, Rewrite};
use crate::program::Type;

fn bool_(var: &str) -> impl Fn(&mut super::EGraph, egg::Id, &egg::Subst) -> bool {
    has_type(var, Type::Bool)
}

fn any(_: i64) -> bool {
    true
}

/// The boolean, comparison and conversion rules.
pub fn rules() -> Vec<Rewrite> {
    vec![
        // not not a = a
        rw!("not-not"; "(not (not ?a))" => "?a"),
        // not (a and b) = not a or not b (De Morgan)
        rw!("not-and"; "(not (and ?a ?b))" => "(or (not ?a) (not ?b))"),
        // not a or not b = not (a and b)
        rw!("or-not-not"; "(or (not ?a) (not ?b))" => "(not (and ?a ?b))"),
        // not (a or b) = not a and not b (De Morgan)
        rw!("not-or"; "(not (or ?a ?b))" => "(and (not ?a) (not ?b))"),
        // not a and not b = not (a or b)
        rw!("and-not-not"; "(and (not ?a) (not ?b))" => "(not (or ?a ?b))"),
        // a and a = a
        rw!("and-self"; "(and ?a ?a)" => "?a"),
        // a or a = a
        rw!("or-self"; "(or ?a ?a)" => "?a"),
        // a and true = a
        rw!("and-true"; "(and ?a true)" => "?a"),
        // true and a = a
        rw!("true-and"; "(and true ?a)" => "?a"),
        // a and false = false
        rw!("and-false"; "(and ?a false)" => "false"),
        // false and a = false
        rw!("false-and"; "(and false ?a)" => "false"),
        // a or false = a
        rw!("or-false"; "(or ?a false)" => "?a"),
        // false or a = a
        rw!("false-or"; "(or false ?a)" => "?a"),
        // a or true = true
        rw!("or-true"; "(or ?a true)" => "true"),
        // true or a = true
        rw!("true-or"; "(or true ?a)" => "true"),
        // a and not a = false
        rw!("and-not-self"; "(and ?a (not ?a))" => "false"),
        // a or not a = true
        rw!("or-not-self"; "(or ?a (not ?a))" => "true"),
        // a ^ b = b ^ a (both operands are always evaluated)
        rw!("xor-comm"; "(xor ?a ?b)" => "(xor ?b ?a)"),
        // a ^ false = a
        rw!("xor-false"; "(xor ?a false)" => "?a"),
        // a ^ true = not a
        rw!("xor-true"; "(xor ?a true)" => "(not ?a)"),
        // a ^ a = false
        rw!("xor-self"; "(xor ?a ?a)" => "false"),
        // not (a ^ b) = (a == b) on booleans
        rw!("not-xor"; "(not (xor ?a ?b))" => "(== ?a ?b)"),
        // not (a == b) = a != b (exact for floats: NaN != NaN)
        rw!("not-eq"; "(not (== ?a ?b))" => "(!= ?a ?b)"),
        // not (a != b) = a == b (exact for floats)
        rw!("not-ne"; "(not (!= ?a ?b))" => "(== ?a ?b)"),
        // a == b = b == a (exact for floats)
        rw!("eq-comm"; "(== ?a ?b)" => "(== ?b ?a)"),
        // a != b = b != a (exact for floats)
        rw!("ne-comm"; "(!= ?a ?b)" => "(!= ?b ?a)"),
        // a == true = a
        rw!("eq-true"; "(== ?a true)" => "?a"),
        // a == false = not a
        rw!("eq-false"; "(== ?a false)" => "(not ?a)"),
        // a != false = a
        rw!("ne-false"; "(!= ?a false)" => "?a"),
        // a != true = not a
        rw!("ne-true"; "(!= ?a true)" => "(not ?a)"),
        // a > b = b < a (exact for floats)
        rw!("gt-to-lt"; "(> ?a ?b)" => "(< ?b ?a)"),
        // b < a = a > b (exact for floats)
        rw!("lt-to-gt"; "(< ?b ?a)" => "(> ?a ?b)"),
        // a >= b = b <= a (exact for floats)
        rw!("ge-to-le"; "(>= ?a ?b)" => "(<= ?b ?a)"),
        // b <= a = a >= b (exact for floats)
        rw!("le-to-ge"; "(<= ?b ?a)" => "(>= ?a ?b)"),
        // not (a < b) = b <= a
        rw!("not-lt"; "(not (< ?a ?b))" => "(<= ?b ?a)" if int("?a") if int("?b")),
        // b <= a = not (a < b)
        rw!("le-to-not-lt"; "(<= ?b ?a)" => "(not (< ?a ?b))" if int("?a") if int("?b")),
        // not (a <= b) = b < a
        rw!("not-le"; "(not (<= ?a ?b))" => "(< ?b ?a)" if int("?a") if int("?b")),
        // -a < -b = b < a (exact for floats)
        rw!("lt-neg"; "(< (neg ?a) (neg ?b))" => "(< ?b ?a)"),
        // a < a = false
        rw!("lt-self"; "(< ?a ?a)" => "false" if int("?a")),
        // a <= a = true
        rw!("le-self"; "(<= ?a ?a)" => "true" if int("?a")),
        // a == a = true
        rw!("eq-self"; "(== ?a ?a)" => "true" if int("?a")),
        // a == a = true on booleans
        rw!("eq-self-bool"; "(== ?a ?a)" => "true" if bool_("?a")),
        // a != a = false
        rw!("ne-self"; "(!= ?a ?a)" => "false" if int("?a")),
        // a != a = false on booleans
        rw!("ne-self-bool"; "(!= ?a ?a)" => "false" if bool_("?a")),
        // a < c = a <= c - 1, for a constant c
        rw!("lt-to-le"; "(< ?a ?c)" => "(<= ?a (- ?c 1))" if int("?a") if int_const("?c", any)),
        // a <= c = a < c + 1, for a constant c
        rw!("le-to-lt"; "(<= ?a ?c)" => "(< ?a (+ ?c 1))" if int("?a") if int_const("?c", any)),
        // c < a = c + 1 <= a, for a constant c
        rw!("const-lt-to-le"; "(< ?c ?a)" => "(<= (+ ?c 1) ?a)"
            if int("?a") if int_const("?c", any)),
        // c <= a = c - 1 < a, for a constant c
        rw!("const-le-to-lt"; "(<= ?c ?a)" => "(< (- ?c 1) ?a)"
            if int("?a") if int_const("?c", any)),
        // a + k < c = a < c - k, for constants k, c
        rw!("lt-offset"; "(< (+ ?a ?k) ?c)" => "(< ?a (- ?c ?k))"
            if int("?a") if int_const("?k", any) if int_const("?c", any)),
        // c < a + k = c - k < a, for constants k, c
        rw!("offset-lt"; "(< ?c (+ ?a ?k))" => "(< (- ?c ?k) ?a)"
            if int("?a") if int_const("?k", any) if int_const("?c", any)),
        // a + k == c = a == c - k, for constants k, c
        rw!("eq-offset"; "(== (+ ?a ?k) ?c)" => "(== ?a (- ?c ?k))"
            if int("?a") if int_const("?k", any) if int_const("?c", any)),
        // a - b < 0 = a < b
        rw!("sub-lt-zero"; "(< (- ?a ?b) 0)" => "(< ?a ?b)" if int("?a") if int("?b")),
        // 0 < a - b = b < a
        rw!("zero-lt-sub"; "(< 0 (- ?a ?b))" => "(< ?b ?a)" if int("?a") if int("?b")),
        // a - b == 0 = a == b
        rw!("sub-eq-zero"; "(== (- ?a ?b) 0)" => "(== ?a ?b)" if int("?a") if int("?b")),
        // int(b) == 1 = b
        rw!("int-bool-eq-one"; "(== (int ?b) 1)" => "?b" if bool_("?b")),
        // int(b) == 0 = not b
        rw!("int-bool-eq-zero"; "(== (int ?b) 0)" => "(not ?b)" if bool_("?b")),
        // int(b) != 0 = b
        rw!("int-bool-ne-zero"; "(!= (int ?b) 0)" => "?b" if bool_("?b")),
        // int(b) != 1 = not b
        rw!("int-bool-ne-one"; "(!= (int ?b) 1)" => "(not ?b)" if bool_("?b")),
        // 0 < int(b) = b
        rw!("int-bool-positive"; "(< 0 (int ?b))" => "?b" if bool_("?b")),
        // int(b) < 1 = not b
        rw!("int-bool-lt-one"; "(< (int ?b) 1)" => "(not ?b)" if bool_("?b")),
        // float(b) == 1.0 = b
        rw!("float-bool-eq-one"; "(== (float ?b) 1.0)" => "?b" if bool_("?b")),
        // float(b) == 0.0 = not b
        rw!("float-bool-eq-zero"; "(== (float ?b) 0.0)" => "(not ?b)" if bool_("?b")),
        // int(a) = a, for an int a
        rw!("int-of-int"; "(int ?a)" => "?a" if int("?a")),
        // round(a) = a, for an int a
        rw!("round-of-int"; "(round ?a)" => "?a" if int("?a")),
        // floor(a) = a, for an int a
        rw!("floor-of-int"; "(floor ?a)" => "?a" if int("?a")),
        // float(a) = a, for a float a
        rw!("float-of-float"; "(float ?a)" => "?a" if has_type("?a", Type::Float)),
        // int(not b) = 1 - int(b)
        rw!("int-not"; "(int (not ?b))" => "(- 1 (int ?b))"),
        // 1 - int(b) = int(not b)
        rw!("one-minus-int"; "(- 1 (int ?b))" => "(int (not ?b))" if bool_("?b")),
        // c if true else false = c
        rw!("select-true-false"; "(if ?c true false)" => "?c"),
        // c if false else true = not c
        rw!("select-false-true"; "(if ?c false true)" => "(not ?c)"),
        // a if c else false = c and a
        rw!("select-and"; "(if ?c ?a false)" => "(and ?c ?a)"),
        // true if c else a = c or a
        rw!("select-or"; "(if ?c true ?a)" => "(or ?c ?a)"),
        // 1 if c else 0 = int(c)
        rw!("select-int"; "(if ?c 1 0)" => "(int ?c)"),
        // 0 if c else 1 = int(not c)
        rw!("select-int-not"; "(if ?c 0 1)" => "(int (not ?c))"),
        // 1.0 if c else 0.0 = float(c)
        rw!("select-float"; "(if ?c 1.0 0.0)" => "(float ?c)"),
        // b if not c else a = a if c else b
        rw!("select-not"; "(if (not ?c) ?b ?a)" => "(if ?c ?a ?b)"),
        // a if c else a = a
        rw!("select-same"; "(if ?c ?a ?a)" => "?a"),
        // a if true else b = a, when a has the conditional's type
        rw!("select-true"; "(if true ?a ?b)" => "?a" if type_of_root("?a")),
        // a if false else b = b, when b has the conditional's type
        rw!("select-false"; "(if false ?a ?b)" => "?b" if type_of_root("?b")),
    ]
}

#[cfg(test)]
mod tests {
    use crate::rewrite::tests::{
        assert_kept, assert_normal_form_among, assert_normal_forms, MIXED_VARS,
    };

    /// `v0 v1` are ints, `v2 v3` bools, `v4 v5` floats.
    #[test]
    fn boolean_laws_reach_their_normal_form() {
        let cases = [
            ("(not (not v2))", &["v2"][..]),
            ("(or (not v2) (not v3))", &["(not (and v2 v3))"]),
            ("(xor v2 true)", &["(not v2)"]),
            ("(xor false v2)", &["v2"]),
            ("(== (int v2) 1)", &["v2"]),
            ("(== 0 (int v2))", &["(not v2)"]),
            ("(> (int v2) 0)", &["v2"]),
            ("(>= (int v2) 1)", &["v2"]),
            ("(not (< v0 v1))", &["(>= v0 v1)", "(<= v1 v0)"]),
            ("(not (<= v0 v1))", &["(> v0 v1)", "(< v1 v0)"]),
            ("(< (+ v0 3) 10)", &["(< v0 7)"]),
            ("(<= v0 4)", &["(< v0 5)"]),
            ("(<= v0 99)", &["(<= v0 99)"]),
            ("(> 5 (- v0 2))", &["(< v0 7)"]),
            ("(if v2 true false)", &["v2"]),
            ("(if (not v2) v0 v1)", &["(if v2 v1 v0)"]),
            ("(if v2 1 0)", &["(int v2)"]),
            ("(== v3 true)", &["v3"]),
            ("(and v2 (not v2))", &["false"]),
            ("(< (- v0 v1) 0)", &["(< v0 v1)"]),
            ("(int v0)", &["v0"]),
            ("(float v4)", &["v4"]),
        ];
        assert_normal_form_among(&MIXED_VARS, &cases);
    }

    #[test]
    fn float_comparisons_are_not_negated() {
        let kept = ["(not (< v4 v5))", "(< v4 v4)", "(== v4 v4)", "(> v4 v5)"];
        assert_kept(&MIXED_VARS, &kept);
        assert_normal_forms(&MIXED_VARS, &[("(not (== v4 v5))", "(!= v4 v5)")]);
    }
}
