//! The rounding readout on the program side: what the network's outputs become when they are
//! read to the nearest integer.

use crate::program::{Expr, Func, Literal, Program};

/// Wraps every output in `round(...)` (half to even, as Python's `round`), so the program returns
/// what the network's rounded readout gives.
pub fn round_outputs(program: &mut Program) {
    for output in &mut program.outputs {
        let value = std::mem::replace(output, Expr::Lit(Literal::Int(0)));
        *output = Expr::Call(Func::Round, vec![value]);
    }
}
