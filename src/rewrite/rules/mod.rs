//! The rewrite rules, grouped by family, and the guards they share.
//!
//! # Rules for writing rules
//! - Every rule is an equality of the program IR under Python semantics (unbounded `Int`) that
//!   holds for every input meeting its guard; its comment states the law. A rule may drop a
//!   subexpression that could fail at run time (`x * 0 = 0`): the simplified program then fails
//!   on fewer inputs, never on more, because extraction prefers fewer nodes.
//! - `Float` is IEEE: a rule that is not exact for every double (signed zeros, NaN, rounding) is
//!   guarded to `Int` classes (see [`root_int`] and [`int`]); unguarded rules carry a comment
//!   saying why they are exact for floats.
//! - Rules are directional unless both directions help to reach a smaller form; the cost
//!   function alone decides which spelling is extracted.
//! - Commutativity and associativity blow up the e-graph: the runner's limits bound them, and
//!   the rules that need a normalised operand order are written for one order only.

mod boolean;
mod finite;
mod integer;
mod piecewise;

use egg::{Id, Subst, Var};

use super::analysis::TypeAnalysis;
use super::lang::{Lit, Node};
use crate::program::Type;

/// The e-graph of the pass.
pub type EGraph = egg::EGraph<Node, TypeAnalysis>;
/// A rewrite rule of the pass.
pub type Rewrite = egg::Rewrite<Node, TypeAnalysis>;

/// Every rule of every family: integer arithmetic, piecewise-linear forms, booleans and
/// comparisons.
pub fn all() -> Vec<Rewrite> {
    let mut rules = integer::rules();
    rules.extend(piecewise::rules());
    rules.extend(boolean::rules());
    rules
}

/// [`all`] and the relu-pair laws of `finite`, exact for every double but NaN (see
/// [`crate::rewrite::simplify_program_finite`]).
pub fn with_finite() -> Vec<Rewrite> {
    let mut rules = all();
    rules.extend(finite::rules());
    rules
}

/// The class bound to `var` in `subst` (`None` for a variable the pattern does not bind).
fn bound(egraph: &EGraph, subst: &Subst, var: Option<Var>) -> Option<Id> {
    var.and_then(|v| subst.get(v).copied())
        .map(|id| egraph.find(id))
}

fn parse_var(name: &str) -> Option<Var> {
    name.parse().ok()
}

/// Guard: the matched expression is an `Int`; then so are the operands of every arithmetic
/// operator, `max`/`min` and conditional in it (mixed operands would make it a `Float`).
pub fn root_int() -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    |egraph, id, _| egraph[id].data.ty == Type::Int
}

/// Guard: the class bound to `var` has type `ty`.
pub fn has_type(var: &str, ty: Type) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let var = parse_var(var);
    move |egraph, _, subst| bound(egraph, subst, var).is_some_and(|id| egraph[id].data.ty == ty)
}

/// Guard: the class bound to `var` is an `Int`.
pub fn int(var: &str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    has_type(var, Type::Int)
}

/// Guard: the class bound to `var` has the type of the matched expression.
pub fn type_of_root(var: &str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let var = parse_var(var);
    move |egraph, id, subst| {
        let ty = egraph[id].data.ty;
        bound(egraph, subst, var).is_some_and(|v| egraph[v].data.ty == ty)
    }
}

/// The `Int` constant of the class bound to `var`.
fn int_constant(egraph: &EGraph, subst: &Subst, var: Option<Var>) -> Option<i64> {
    match egraph[bound(egraph, subst, var)?].data.constant {
        Some(Lit::Int(v)) => Some(v),
        Some(Lit::Float(_) | Lit::Bool(_)) | None => None,
    }
}

/// Guard: the class bound to `var` is an `Int` constant for which `test` holds.
pub fn int_const(var: &str, test: fn(i64) -> bool) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let var = parse_var(var);
    move |egraph, _, subst| int_constant(egraph, subst, var).is_some_and(test)
}

/// Guard: the class bound to `var` is a negative constant: an `Int` below zero, or a `Float`
/// with its sign bit set (`-0.0` included, NaN excluded).
pub fn negative_const(var: &str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let var = parse_var(var);
    move |egraph, _, subst| {
        let Some(id) = bound(egraph, subst, var) else {
            return false;
        };
        match egraph[id].data.constant {
            Some(Lit::Int(v)) => v < 0,
            Some(Lit::Float(bits)) => {
                let v = f64::from_bits(bits);
                v.is_sign_negative() && !v.is_nan()
            }
            Some(Lit::Bool(_)) | None => false,
        }
    }
}

/// Guard: the classes bound to `lo` and `hi` are `Int` constants with `lo <= hi`.
pub fn const_le(lo: &str, hi: &str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let (lo, hi) = (parse_var(lo), parse_var(hi));
    move |egraph, _, subst| match (
        int_constant(egraph, subst, lo),
        int_constant(egraph, subst, hi),
    ) {
        (Some(lo), Some(hi)) => lo <= hi,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn rule_names_are_unique_and_every_pattern_parses() {
        // Building the rules parses every pattern (`rw!` fails loudly on a bad one), and
        // checks that every variable of a right-hand side is bound by its left-hand side.
        let rules = all();
        let mut names = BTreeSet::new();
        for rule in &rules {
            assert!(
                names.insert(rule.name.to_string()),
                "duplicate rule name {}",
                rule.name
            );
        }
        assert!(rules.len() > 80, "only {} rules", rules.len());
        for family in [integer::rules(), piecewise::rules(), boolean::rules()] {
            assert!(!family.is_empty());
        }
    }

    #[test]
    fn every_rule_is_named_in_kebab_case() {
        for rule in all() {
            let name = rule.name.as_str();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
        }
    }
}
