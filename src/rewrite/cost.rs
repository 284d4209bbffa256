//! The readability cost: the one definition of the normal form the rewrite pass extracts.
//!
//! The cost of an expression is the sum of its nodes' costs, in tenths of a node:
//! - every operator, call, variable and literal costs 10, so fewer nodes win: `x - y` (3 nodes)
//!   beats `x + (-y)` (4), and `max(x, y)` beats `max(0, x - y) + y`;
//! - a literal costs 1 more per character of its text beyond the first, so small literals win
//!   (`x - 1` beats `x + -1`, `x + 7` beats `(x + 3) + 4`);
//! - `<=` and `>=` cost 1 more than `<` and `>`: at equal literal length the strict comparison
//!   wins (`x < 5` beats `x <= 4`), and `x <= 9` ties with `x < 10` (a tie keeps what was
//!   written);
//! - a conditional costs 20: `abs(x)` and `max(a, b)` beat any `if`/`else` spelling of them;
//! - a table column leaf (the first child of a lookup) costs nothing: it is printed as part of
//!   the lookup;
//! - among spellings of equal size, the conventional operand order costs 1 less: a literal on
//!   the right of `+`, `-`, comparisons and `==`, on the left of `*` and of `max`/`min`
//!   (`x + 1`, `2 * x`, `max(0, x)`, `x < 3`), and `max`/`min` chains nested to the left (they
//!   print as one n-ary call).
//!
//! The cost of a node also records its head ([`Head`]), so that a parent can see whether its
//! operands are literals or chains. Ties between equal costs are broken by the extractor's
//! e-class order, and the pass keeps an expression as written unless its normal form costs
//! strictly less.

use egg::{CostFunction, Id, Language};

use super::lang::{Lit, Node};

/// What kind of node a cost belongs to, as far as a parent's cost cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Head {
    Lit,
    Max,
    Min,
    Other,
}

/// The cost of an expression: its score (see the module doc) and the kind of its root.
/// Costs compare by score, then by head (an arbitrary but fixed tie-break).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cost {
    pub score: u64,
    pub head: Head,
}

/// The readability cost function (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct Readability;

const NODE: u64 = 10;

/// The length in characters of a literal's printed text.
fn literal_len(lit: Lit) -> u64 {
    let text = match lit {
        Lit::Int(v) => v.to_string(),
        Lit::Float(bits) => {
            let v = f64::from_bits(bits);
            if v.is_nan() {
                "nan".to_string()
            } else if v.is_infinite() {
                if v < 0.0 { "-inf" } else { "inf" }.to_string()
            } else {
                format!("{v:?}")
            }
        }
        Lit::Bool(v) => v.to_string(),
    };
    text.chars().count() as u64
}

impl CostFunction<Node> for Readability {
    type Cost = Cost;

    fn cost<C>(&mut self, enode: &Node, mut costs: C) -> Cost
    where
        C: FnMut(Id) -> Cost,
    {
        let heads: Vec<Head> = enode.children().iter().map(|&id| costs(id).head).collect();
        let order = |literal_left: bool| order_penalty(&heads, literal_left);
        let right_is = |head: Head| u64::from(heads.get(1) == Some(&head));
        let (own, head) = match enode {
            Node::Lit(lit) => (NODE + literal_len(*lit).saturating_sub(1), Head::Lit),
            Node::Column(_) => (0, Head::Other),
            Node::Select(_) => (2 * NODE, Head::Other),
            Node::Add(_) | Node::Sub(_) | Node::Lt(_) | Node::Gt(_) | Node::Eq(_) | Node::Ne(_) => {
                (NODE + order(false), Head::Other)
            }
            Node::Le(_) | Node::Ge(_) => (NODE + 1 + order(false), Head::Other),
            Node::Mul(_) => (NODE + order(true), Head::Other),
            Node::Max(_) => (NODE + order(true) + right_is(Head::Max), Head::Max),
            Node::Min(_) => (NODE + order(true) + right_is(Head::Min), Head::Min),
            Node::Var(_)
            | Node::Neg(_)
            | Node::Not(_)
            | Node::Div(_)
            | Node::FloorDiv(_)
            | Node::Mod(_)
            | Node::And(_)
            | Node::Or(_)
            | Node::Xor(_)
            | Node::Abs(_)
            | Node::Lookup(_)
            | Node::Tanh(_)
            | Node::Sigmoid(_)
            | Node::Exp(_)
            | Node::Float(_)
            | Node::Int(_)
            | Node::Round(_)
            | Node::Floor(_) => (NODE, Head::Other),
        };
        let score = enode.fold(own, |sum, id| sum.saturating_add(costs(id).score));
        Cost { score, head }
    }
}

/// 1 when a binary node's literal operand sits on the unconventional side: `literal_left` says
/// which side is conventional.
fn order_penalty(heads: &[Head], literal_left: bool) -> u64 {
    let [left, right] = heads else {
        return 0;
    };
    let (want, other) = if literal_left {
        (left, right)
    } else {
        (right, left)
    };
    u64::from(*other == Head::Lit && *want != Head::Lit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use egg::RecExpr;

    fn score(source: &str) -> u64 {
        let rec: RecExpr<Node> = source.parse().unwrap();
        Readability.cost_rec(&rec).score
    }

    #[test]
    fn fewer_nodes_and_smaller_literals_cost_less() {
        assert!(score("(- v0 v1)") < score("(+ v0 (neg v1))"));
        assert!(score("(- v0 1)") < score("(+ v0 -1)"));
        assert!(score("(< v0 5)") < score("(<= v0 4)"));
        assert_eq!(score("(< v0 10)"), score("(<= v0 9)"));
        assert!(score("(max v0 v1)") < score("(+ (max 0 (- v0 v1)) v1)"));
        assert!(score("(abs v0)") < score("(if (< v0 0) (neg v0) v0)"));
        assert_eq!(score("v0"), 10);
        assert_eq!(score("-12"), 12);
        assert_eq!(score("(lookup t0.1 v0)"), 20);
    }

    #[test]
    fn conventional_operand_order_breaks_ties() {
        assert!(score("(+ v0 1)") < score("(+ 1 v0)"));
        assert!(score("(* 2 v0)") < score("(* v0 2)"));
        assert!(score("(max 0 v0)") < score("(max v0 0)"));
        assert!(score("(< v0 3)") < score("(> 3 v0)"));
        assert!(score("(max (max v0 v1) v2)") < score("(max v0 (max v1 v2))"));
        assert_eq!(score("(+ v0 v1)"), score("(+ v1 v0)"));
    }
}
