//! Shape arithmetic shared by type inference, the interpreter, the front ends and lowering.

/// Two shapes that do not broadcast, with the first pair of dimensions (from the left of the
/// broadcast result) that differ and neither of which is 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shapes {left:?} and {right:?} do not broadcast ({left_dim} vs {right_dim})")]
pub struct BroadcastError {
    pub left: Vec<usize>,
    pub right: Vec<usize>,
    pub left_dim: usize,
    pub right_dim: usize,
}

/// The numpy broadcast of two shapes: aligned at the right, a missing leading axis counts as 1,
/// and a dimension of 1 stretches to the other's. Errors when two aligned dimensions differ and
/// neither is 1.
pub fn broadcast(left: &[usize], right: &[usize]) -> Result<Vec<usize>, BroadcastError> {
    let rank = left.len().max(right.len());
    let mut out = vec![0; rank];
    for (i, slot) in out.iter_mut().enumerate() {
        let left_dim = dim_from_end(left, rank - i);
        let right_dim = dim_from_end(right, rank - i);
        *slot = match (left_dim, right_dim) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (left_dim, right_dim) => {
                return Err(BroadcastError {
                    left: left.to_vec(),
                    right: right.to_vec(),
                    left_dim,
                    right_dim,
                })
            }
        };
    }
    Ok(out)
}

/// Dimension `k` counted from the end (`k = 1` is the last axis); 1 past the leading axis.
pub(crate) fn dim_from_end(shape: &[usize], k: usize) -> usize {
    if k <= shape.len() {
        shape[shape.len() - k]
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_like_numpy() {
        assert_eq!(broadcast(&[3, 1, 5], &[4, 1]).unwrap(), vec![3, 4, 5]);
        assert_eq!(broadcast(&[], &[2]).unwrap(), vec![2]);
        assert_eq!(broadcast(&[2, 1], &[]).unwrap(), vec![2, 1]);
    }

    #[test]
    fn names_the_first_mismatch_from_the_left() {
        let e = broadcast(&[2, 3], &[4, 5]).unwrap_err();
        assert_eq!((e.left_dim, e.right_dim), (2, 4));
        assert_eq!(
            e.to_string(),
            "shapes [2, 3] and [4, 5] do not broadcast (2 vs 4)"
        );
    }
}
