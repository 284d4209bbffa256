//! Labels of the integer tasks: differences, look-backs, running and windowed sums, modular
//! counters, dithering, digit-serial addition and long division.
//!
//! Inputs are in the task's domain (small integers), so only the sums that grow with the
//! sequence length are checked for overflow.

use super::{checked, running, Overflow};

/// `x_{t-1}` with `x_{-1} = 0`, paired with `x_t`.
fn with_previous(xs: &[i64]) -> impl Iterator<Item = (i64, i64)> + '_ {
    std::iter::once(0)
        .chain(xs.iter().copied())
        .zip(xs.iter().copied())
}

/// `Abs_Current`: `abs(x_t)`.
pub(super) fn abs_current(xs: &[i64]) -> Vec<i64> {
    xs.iter().map(|x| x.abs()).collect()
}

/// `Abs_Diff`: `abs(x_t - x_{t-1})`.
pub(super) fn abs_diff(xs: &[i64]) -> Vec<i64> {
    with_previous(xs)
        .map(|(prev, x)| (x - prev).abs())
        .collect()
}

/// `Diff_Abs_Values`: `abs(x_t) - abs(x_{t-1})`.
pub(super) fn diff_abs_values(xs: &[i64]) -> Vec<i64> {
    with_previous(xs)
        .map(|(prev, x)| x.abs() - prev.abs())
        .collect()
}

/// `Diff_Last2`: `x_t - x_{t-1}`.
pub(super) fn diff_last2(xs: &[i64]) -> Vec<i64> {
    with_previous(xs).map(|(prev, x)| x - prev).collect()
}

/// `Prev<k>` and `Bit_Shift_Right`: `x_{t-k}`, 0 before the start.
pub(super) fn prev(xs: &[i64], k: usize) -> Vec<i64> {
    (0..xs.len())
        .map(|t| t.checked_sub(k).map_or(0, |source| xs[source]))
        .collect()
}

/// `Sum_All`: the running sum.
pub(super) fn sum_all(xs: &[i64]) -> Result<Vec<i64>, Overflow> {
    let mut sum = 0i64;
    xs.iter()
        .enumerate()
        .map(|(t, &x)| {
            sum = checked(sum.checked_add(x), t)?;
            Ok(sum)
        })
        .collect()
}

/// `Sum_Last<k>`: the sum of `x_{t-k+1} ..= x_t`, the window truncated at the start.
pub(super) fn sum_last(xs: &[i64], k: usize) -> Result<Vec<i64>, Overflow> {
    (0..xs.len())
        .map(|t| {
            let window = &xs[(t + 1).saturating_sub(k)..=t];
            window
                .iter()
                .try_fold(0i64, |sum, &x| checked(sum.checked_add(x), t))
        })
        .collect()
}

/// `Add_Mod_<k>`: the running sum mod `k`.
pub(super) fn add_mod(xs: &[i64], k: i64) -> Vec<i64> {
    running(xs, 0, |sum, x| (sum + x).rem_euclid(k))
}

/// `Dithering`: `floor(S_t / 15) - floor(S_{t-1} / 15)`, `S` the running sum, `S_{-1} = 0`.
pub(super) fn dithering(xs: &[i64]) -> Result<Vec<i64>, Overflow> {
    let sums = sum_all(xs)?;
    Ok(with_previous(&sums)
        .map(|(before, sum)| sum.div_euclid(15) - before.div_euclid(15))
        .collect())
}

/// `Base_<k>_Addition` and `Binary_Addition`: digit `t` of `a + b`, both given least
/// significant digit first; the carry out of the last digit is dropped.
pub(super) fn base_addition(pairs: &[[i64; 2]], k: i64) -> Vec<i64> {
    let mut carry = 0;
    pairs
        .iter()
        .map(|&[a, b]| {
            let sum = a + b + carry;
            carry = sum.div_euclid(k);
            sum.rem_euclid(k)
        })
        .collect()
}

/// `Div_<d>`: the quotient bits of long division by `d` of a binary number given most
/// significant bit first: `r = 2r + x_t; y_t = floor(r / d); r = r mod d`.
pub(super) fn div(xs: &[i64], d: i64) -> Vec<i64> {
    let mut remainder = 0;
    xs.iter()
        .map(|&x| {
            let dividend = 2 * remainder + x;
            remainder = dividend.rem_euclid(d);
            dividend.div_euclid(d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_backs_read_zero_before_the_start() {
        assert_eq!(abs_diff(&[-5, 3, 3]), vec![5, 8, 0]);
        assert_eq!(diff_abs_values(&[-5, 3, -7]), vec![5, -2, 4]);
        assert_eq!(diff_last2(&[-5, 3, -7]), vec![-5, 8, -10]);
        assert_eq!(prev(&[7, 8, 9, 10], 2), vec![0, 0, 7, 8]);
        assert_eq!(prev(&[7, 8], 5), vec![0, 0]);
    }

    #[test]
    fn sums_and_windows() {
        assert_eq!(sum_all(&[1, 2, 3]), Ok(vec![1, 3, 6]));
        assert_eq!(sum_last(&[1, 2, 3, 4], 2), Ok(vec![1, 3, 5, 7]));
        assert_eq!(sum_all(&[i64::MAX, 1]), Err(Overflow { step: 1 }));
    }

    #[test]
    fn modular_and_digit_serial() {
        assert_eq!(add_mod(&[2, 2, 2, 0], 3), vec![2, 1, 0, 0]);
        assert_eq!(dithering(&[10, 10, 10, 0]), Ok(vec![0, 1, 1, 0]));
        // 1 + 8 = 9 = 100 in base 3: two digits 0, the carry into the third dropped.
        assert_eq!(base_addition(&[[1, 2], [0, 2]], 3), vec![0, 0]);
        // 1101 (13) divided by 3 is 0100 (4).
        assert_eq!(div(&[1, 1, 0, 1], 3), vec![0, 1, 0, 0]);
    }
}
