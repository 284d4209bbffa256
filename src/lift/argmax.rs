//! Readout by the largest coordinate: an output that names which state coordinate is largest
//! ("the most frequent value so far" over a vector of counts).
//!
//! Symbolic regression places a conditional only at the root, so it cannot reach a chain of them
//! such as `0 if c0 >= max(c1, c2) else 1 if c1 >= c2 else 2`. This family is fitted directly: for
//! each way of breaking ties (the first largest coordinate wins, or the last), every row's winning
//! coordinate must always come with the same output, its label; the chain of conditionals is then
//! written with those labels. The fit is exact on every row or not returned.

use crate::program::Type;

use super::regress::{BinOp, Formula};

/// Most coordinates a chain is written for (a longer chain would not read as a program).
pub const MAX_COORDINATES: usize = 8;

/// The chain `label[order[0]] if c[order[0]] >= max(rest) else ...` that equals `target` on every
/// row of `rows` (all columns are state coordinates), ties going to the coordinate earlier in the
/// order; the first-largest order is tried before the last-largest one. `None` when neither fits,
/// when some coordinate never wins (the chain would hold a label nothing supports), or when there
/// are fewer than two or more than [`MAX_COORDINATES`] columns.
pub fn fit_argmax(rows: &[Vec<i64>], target: &[i64]) -> Option<Formula> {
    let width = rows.first()?.len();
    if !(2..=MAX_COORDINATES).contains(&width) || rows.len() != target.len() {
        return None;
    }
    let first: Vec<usize> = (0..width).collect();
    let last: Vec<usize> = (0..width).rev().collect();
    [first, last].into_iter().find_map(|order| {
        let labels = labels_in_order(rows, target, &order)?;
        let formula = chain(&order, &labels);
        // The construction is exact; evaluating it again keeps the invariant local.
        rows.iter()
            .zip(target)
            .all(|(row, &y)| formula.eval(row) == Some(y))
            .then_some(formula)
    })
}

/// The label of each coordinate (in `order`) when every row's winner, the coordinate earliest in
/// `order` among the largest, always has the same target and every coordinate wins somewhere.
fn labels_in_order(rows: &[Vec<i64>], target: &[i64], order: &[usize]) -> Option<Vec<i64>> {
    let mut labels: Vec<Option<i64>> = vec![None; order.len()];
    for (row, &y) in rows.iter().zip(target) {
        let mut winner = 0;
        for (slot, &column) in order.iter().enumerate() {
            if row[column] > row[order[winner]] {
                winner = slot;
            }
        }
        match labels[winner] {
            None => labels[winner] = Some(y),
            Some(seen) if seen != y => return None,
            Some(_) => {}
        }
    }
    labels.into_iter().collect()
}

/// `labels[0] if c[order[0]] >= max(c[order[1..]]) else labels[1] if ... else labels[last]`.
fn chain(order: &[usize], labels: &[i64]) -> Formula {
    let column = |index: usize| Formula::Column {
        index,
        ty: Type::Int,
    };
    let mut formula = Formula::Int(labels[order.len() - 1]);
    for slot in (0..order.len() - 1).rev() {
        let rest = order[slot + 1..]
            .iter()
            .map(|&c| column(c))
            .reduce(|a, b| Formula::Binary(BinOp::Max, Box::new(a), Box::new(b)))
            .unwrap_or(Formula::Int(0));
        formula = Formula::If {
            cond: Box::new(Formula::Binary(
                BinOp::Ge,
                Box::new(column(order[slot])),
                Box::new(rest),
            )),
            then: Box::new(Formula::Int(labels[slot])),
            otherwise: Box::new(formula),
        };
    }
    formula
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every count vector of `width` values summing to at most `total`.
    fn count_vectors(width: usize, total: i64) -> Vec<Vec<i64>> {
        let mut all = vec![Vec::new()];
        for _ in 0..width {
            all = all
                .into_iter()
                .flat_map(|v: Vec<i64>| {
                    let used: i64 = v.iter().sum();
                    (0..=total - used).map(move |c| {
                        let mut next = v.clone();
                        next.push(c);
                        next
                    })
                })
                .collect();
        }
        all
    }

    /// The argmax formula of `label` on `rows`, checked on every row.
    fn fitted(rows: &[Vec<i64>], label: impl Fn(&[i64]) -> i64) -> Formula {
        let target: Vec<i64> = rows.iter().map(|c| label(c)).collect();
        let formula = fit_argmax(rows, &target).expect("a chain");
        for (row, y) in rows.iter().zip(&target) {
            assert_eq!(formula.eval(row), Some(*y));
        }
        formula
    }

    #[test]
    fn most_frequent_value_with_ties_to_the_lower() {
        let formula = fitted(&count_vectors(3, 6), |c| {
            let best = *c.iter().max().unwrap();
            c.iter().position(|&v| v == best).unwrap() as i64
        });
        // Three labels, two comparisons: 1 + (1 + 1 + 3) + 1 + (1 + 3 + 1 + 1).
        assert_eq!(formula.size(), 13);
    }

    #[test]
    fn ties_to_the_higher_use_the_reversed_chain_with_labels() {
        // Labels 10, 20, 30, 40; ties go to the later coordinate.
        fitted(&count_vectors(4, 5), |c| {
            let best = *c.iter().max().unwrap();
            10 * (c.iter().rposition(|&v| v == best).unwrap() as i64 + 1)
        });
    }

    #[test]
    fn outputs_that_are_not_a_largest_coordinate_are_refused() {
        let rows = count_vectors(3, 4);
        // The second largest: no labelling of winners gives it.
        let target: Vec<i64> = rows
            .iter()
            .map(|c| {
                let mut order: Vec<usize> = (0..3).collect();
                order.sort_by_key(|&i| (-c[i], i));
                order[1] as i64
            })
            .collect();
        assert_eq!(fit_argmax(&rows, &target), None);
        // A single column, or a coordinate that never wins, is no chain either.
        assert_eq!(fit_argmax(&[vec![1], vec![2]], &[0, 0]), None);
        assert_eq!(fit_argmax(&[vec![2, 0], vec![3, 1]], &[0, 0]), None);
    }
}
