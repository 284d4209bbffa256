//! Labels of the `Newton_*` tasks: a unit mass under a force, integrated by explicit steps.
//!
//! Each step computes the acceleration from the state before the step, then `v += a; p += v`
//! (velocity first, so the new velocity moves the position); `v` and `p` start at 0 and the
//! output is `p` after the step. Positions can grow fast (`Newton_Magnetic` grows like
//! `2^(t/2)`), so every operation is checked.

use super::{checked, Overflow};

/// `Newton_Freebody` (`offset` 0) and `Newton_Gravity` (`offset` -1): acceleration
/// `x_t + offset`.
pub(super) fn freebody(xs: &[i64], offset: i64) -> Result<Vec<i64>, Overflow> {
    integrate(xs, |force, _| force.checked_add(offset))
}

/// `Newton_Spring`: acceleration `x_t - p`.
pub(super) fn spring(xs: &[i64]) -> Result<Vec<i64>, Overflow> {
    integrate(xs, |force, p| force.checked_sub(p))
}

/// The positions of a 1-D motion whose acceleration at each step is
/// `acceleration(x_t, p)` (`None` when it overflows), `p` the position before the step.
fn integrate(
    xs: &[i64],
    acceleration: impl Fn(i64, i64) -> Option<i64>,
) -> Result<Vec<i64>, Overflow> {
    let (mut v, mut p) = (0i64, 0i64);
    xs.iter()
        .enumerate()
        .map(|(t, &force)| {
            let a = checked(acceleration(force, p), t)?;
            v = checked(v.checked_add(a), t)?;
            p = checked(p.checked_add(v), t)?;
            Ok(p)
        })
        .collect()
}

/// `Newton_Magnetic`: 2-D, acceleration `F_t + (-v_y, v_x)` (the row vector `v` times
/// `[[0, 1], [-1, 0]]`); outputs `p_x, p_y` per step.
pub(super) fn magnetic(forces: &[[i64; 2]]) -> Result<Vec<i64>, Overflow> {
    let (mut v, mut p) = ([0i64; 2], [0i64; 2]);
    let mut out = Vec::with_capacity(2 * forces.len());
    for (t, &[fx, fy]) in forces.iter().enumerate() {
        let a = [
            checked(fx.checked_sub(v[1]), t)?,
            checked(fy.checked_add(v[0]), t)?,
        ];
        for axis in 0..2 {
            v[axis] = checked(v[axis].checked_add(a[axis]), t)?;
            p[axis] = checked(p[axis].checked_add(v[axis]), t)?;
        }
        out.extend(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_trajectories() {
        // v: 1, 1, 3; p: 1, 2, 5.
        assert_eq!(freebody(&[1, 0, 2], 0), Ok(vec![1, 2, 5]));
        // a: 0, -1, -1; v: 0, -1, -2; p: 0, -1, -3.
        assert_eq!(freebody(&[1, 0, 0], -1), Ok(vec![0, -1, -3]));
        // a: 2, 2 - 2 = 0, 0 - 4 = -4; v: 2, 2, -2; p: 2, 4, 2.
        assert_eq!(spring(&[2, 2, 0]), Ok(vec![2, 4, 2]));
        // a: (1, 0); v: (1, 0); p: (1, 0). Then a: (0, 1); v: (1, 1); p: (2, 1).
        assert_eq!(magnetic(&[[1, 0], [0, 0]]), Ok(vec![1, 0, 2, 1]));
    }

    #[test]
    fn magnetic_growth_overflows_as_an_error() {
        let forces = vec![[10, 10]; 200];
        assert!(matches!(magnetic(&forces), Err(Overflow { step }) if step > 100));
    }
}
