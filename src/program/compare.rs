//! Comparisons as Python evaluates them: the six comparison operators of [`BinaryOp`], whether
//! one holds for an ordering of its operands, and the exact order of two numeric literals
//! (an integer and a float compare exactly, never through a rounded conversion).

use std::cmp::Ordering;

use super::{BinaryOp, Literal};

/// A comparison operator: the part of [`BinaryOp`] that orders its operands and gives `Bool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
}

impl Comparison {
    /// Whether the comparison holds for operands in `ordering` (`None`: unordered, as with
    /// NaN, where only `!=` holds).
    pub fn holds(self, ordering: Option<Ordering>) -> bool {
        match self {
            Comparison::Less => ordering == Some(Ordering::Less),
            Comparison::LessOrEqual => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
            Comparison::Greater => ordering == Some(Ordering::Greater),
            Comparison::GreaterOrEqual => {
                matches!(ordering, Some(Ordering::Greater | Ordering::Equal))
            }
            Comparison::Equal => ordering == Some(Ordering::Equal),
            Comparison::NotEqual => ordering != Some(Ordering::Equal),
        }
    }

    /// The comparison with its operands swapped: `a < b` is `b > a`.
    pub fn mirror(self) -> Comparison {
        match self {
            Comparison::Less => Comparison::Greater,
            Comparison::LessOrEqual => Comparison::GreaterOrEqual,
            Comparison::Greater => Comparison::Less,
            Comparison::GreaterOrEqual => Comparison::LessOrEqual,
            Comparison::Equal => Comparison::Equal,
            Comparison::NotEqual => Comparison::NotEqual,
        }
    }
}

impl BinaryOp {
    /// The comparison this operator is, or `None` for arithmetic and Boolean operators
    /// (`^` of Booleans is not a comparison here, though Python prints it as `!=`).
    pub fn comparison(self) -> Option<Comparison> {
        match self {
            BinaryOp::Lt => Some(Comparison::Less),
            BinaryOp::Le => Some(Comparison::LessOrEqual),
            BinaryOp::Gt => Some(Comparison::Greater),
            BinaryOp::Ge => Some(Comparison::GreaterOrEqual),
            BinaryOp::Eq => Some(Comparison::Equal),
            BinaryOp::Ne => Some(Comparison::NotEqual),
            BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::FloorDiv
            | BinaryOp::Mod
            | BinaryOp::And
            | BinaryOp::Or
            | BinaryOp::Xor => None,
        }
    }

    /// Whether the operator is arithmetic (`+ - * / // %`): neither a comparison nor a Boolean
    /// operator.
    pub fn is_arithmetic(self) -> bool {
        self.comparison().is_none() && !matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor)
    }
}

/// The order of two numeric literals as Python compares them; `None` when they are unordered
/// (a NaN) or when either is a Boolean.
pub fn literal_order(a: Literal, b: Literal) -> Option<Ordering> {
    match (a, b) {
        (Literal::Int(x), Literal::Int(y)) => Some(x.cmp(&y)),
        (Literal::Float(x), Literal::Float(y)) => x.partial_cmp(&y),
        (Literal::Int(x), Literal::Float(y)) => int_float_order(x, y),
        (Literal::Float(x), Literal::Int(y)) => int_float_order(y, x).map(Ordering::reverse),
        (Literal::Bool(_), _) | (_, Literal::Bool(_)) => None,
    }
}

/// The exact order of an int and a float, as Python compares them (no rounding of the int);
/// `None` when the float is NaN.
#[inline]
pub fn int_float_order(int: i64, float: f64) -> Option<Ordering> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if float.is_nan() {
        return None;
    }
    if float >= TWO_63 {
        return Some(Ordering::Less);
    }
    if float < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let whole = float.trunc();
    // In range, so the conversion is exact.
    match int.cmp(&(whole as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(float - whole)),
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_floats_compare_exactly() {
        let big = 9007199254740993;
        assert_eq!(
            int_float_order(big, 9007199254740992.0),
            Some(Ordering::Greater)
        );
        assert_eq!(int_float_order(i64::MIN, -9.3e18), Some(Ordering::Greater));
        assert_eq!(int_float_order(i64::MAX, 9.3e18), Some(Ordering::Less));
        assert_eq!(int_float_order(1, 1.5), Some(Ordering::Less));
        assert_eq!(int_float_order(0, -0.0), Some(Ordering::Equal));
        assert_eq!(int_float_order(0, f64::NAN), None);
    }

    #[test]
    fn only_not_equal_holds_when_unordered() {
        assert!(Comparison::NotEqual.holds(None));
        assert!(!Comparison::Equal.holds(None));
        assert!(!Comparison::LessOrEqual.holds(None));
        assert!(Comparison::LessOrEqual.holds(Some(Ordering::Equal)));
        let greater = BinaryOp::Gt.comparison();
        assert_eq!(greater.map(Comparison::mirror), Some(Comparison::Less));
        assert_eq!(BinaryOp::Xor.comparison(), None);
    }
}
