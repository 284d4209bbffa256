//! Lifting a pointwise network with integer inputs and integer outputs: each output as one exact
//! formula over the inputs, found by symbolic regression on the whole (enumerated) domain.
//!
//! A classifier of two residues that outputs `argmax` over `p` classes becomes
//! `(a + b) % p` when that is what it computes. The table is the network's own outputs on every
//! input of the domain (the driver's reference, never a task's labels); a formula is returned only
//! when it reproduces every row, and the driver verifies the program again before using it.

use super::regress::{self, Column, Outcome, Table};
use crate::program::{Argument, Expr, Program, Signature, Type, VarId, VarKind};

/// Why a pointwise network was not lifted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PointwiseUnlifted {
    #[error("the domain is not enumerated or not all integers")]
    NotEnumerated,
    #[error("output {0} takes non-integer values")]
    NotInteger(usize),
    #[error("no formula for output {output}: {reason}")]
    NoFormula {
        output: usize,
        reason: regress::Reason,
    },
}

/// Lifts a pointwise program's function from its table of values.
///
/// `faithful` gives the signature (argument names and feature counts); `inputs[r]` are the
/// feature values of example `r` (all integers) and `outputs[r]` the network's integer outputs
/// on it. Returns a program with integer parameters whose outputs are the formulas found.
pub fn lift_pointwise(
    faithful: &Program,
    inputs: &[Vec<f64>],
    outputs: &[Vec<f64>],
    options: &regress::Options,
) -> Result<(Program, usize), PointwiseUnlifted> {
    let Signature::Pointwise { arguments } = &faithful.signature else {
        return Err(PointwiseUnlifted::NotEnumerated);
    };
    let features: usize = arguments.iter().map(|a| a.features.len()).sum();
    let integral = |v: &f64| v.fract() == 0.0 && v.abs() < (1i64 << 52) as f64;
    if inputs
        .iter()
        .any(|row| row.len() != features || !row.iter().all(integral))
    {
        return Err(PointwiseUnlifted::NotEnumerated);
    }
    let mut program = Program::new(Signature::Pointwise {
        arguments: Vec::new(),
    });
    let mut new_arguments = Vec::new();
    let mut columns: Vec<(VarId, Type)> = Vec::new();
    for argument in arguments {
        let mut vars = Vec::new();
        for &feature in &argument.features {
            let name = faithful.var(feature).name.clone();
            let var = program.add_var(name, Type::Int, VarKind::Input);
            vars.push(var);
            columns.push((var, Type::Int));
        }
        new_arguments.push(Argument {
            name: argument.name.clone(),
            features: vars,
        });
    }
    program.signature = Signature::Pointwise {
        arguments: new_arguments,
    };
    let table_columns: Vec<Column> = (0..features)
        .map(|i| Column {
            name: format!("x{i}"),
            ty: Type::Int,
            values: inputs.iter().map(|row| row[i] as i64).collect(),
        })
        .collect();
    let output_count = outputs.first().map_or(0, Vec::len);
    let mut nodes = 0;
    for output in 0..output_count {
        let values: Vec<f64> = outputs
            .iter()
            .map(|row| row.get(output).copied().unwrap_or(f64::NAN))
            .collect();
        if !values.iter().all(integral) {
            return Err(PointwiseUnlifted::NotInteger(output));
        }
        let table = Table {
            columns: table_columns.clone(),
            target: values.iter().map(|&v| v as i64).collect(),
            target_ty: Type::Int,
        };
        let formula = match regress::regress(&table, options) {
            Outcome::Found(formula) => formula,
            Outcome::NotFound { reason } => {
                return Err(PointwiseUnlifted::NoFormula { output, reason })
            }
        };
        let expr: Expr = formula.to_expr(&columns);
        nodes += expr.node_count();
        program.outputs.push(expr);
    }
    Ok((program, nodes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_argument_program() -> Program {
        let mut program = Program::new(Signature::Pointwise {
            arguments: Vec::new(),
        });
        let a = program.add_var("a", Type::Float, VarKind::Input);
        let b = program.add_var("b", Type::Float, VarKind::Input);
        program.signature = Signature::Pointwise {
            arguments: vec![
                Argument {
                    name: "a".into(),
                    features: vec![a],
                },
                Argument {
                    name: "b".into(),
                    features: vec![b],
                },
            ],
        };
        program
    }

    fn modular_table(p: i64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for a in 0..p {
            for b in 0..p {
                inputs.push(vec![a as f64, b as f64]);
                outputs.push(vec![((a + b) % p) as f64]);
            }
        }
        (inputs, outputs)
    }

    #[test]
    fn a_modular_sum_table_becomes_one_formula() {
        let (inputs, outputs) = modular_table(13);
        let (program, _) = lift_pointwise(
            &two_argument_program(),
            &inputs,
            &outputs,
            &regress::Options::default(),
        )
        .unwrap();
        assert_eq!(program.outputs.len(), 1);
        assert!(program.vars.iter().all(|v| v.ty == Type::Int));
        let formula_text = format!("{:?}", program.outputs[0]);
        assert!(formula_text.contains("Mod"), "{formula_text}");
    }

    #[test]
    fn real_outputs_and_fractional_inputs_are_refused() {
        let program = two_argument_program();
        let inputs = vec![vec![0.0, 1.0], vec![1.0, 1.0]];
        let err = lift_pointwise(
            &program,
            &inputs,
            &[vec![0.5], vec![1.0]],
            &regress::Options::default(),
        )
        .unwrap_err();
        assert_eq!(err, PointwiseUnlifted::NotInteger(0));
        let err = lift_pointwise(
            &program,
            &[vec![0.5, 1.0]],
            &[vec![1.0]],
            &regress::Options::default(),
        )
        .unwrap_err();
        assert_eq!(err, PointwiseUnlifted::NotEnumerated);
    }
}
