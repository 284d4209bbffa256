//! Labels of the bit tasks: gates, parities, alternation, balance and palindromes.
//!
//! Inputs are bits (0 or 1), so XOR, AND and OR of values are the Boolean operations.

/// `Bitwise_And`, `Bitwise_Or`, `Bitwise_Xor`: `gate(a_t, b_t)`.
pub(super) fn bitwise(pairs: &[[i64; 2]], gate: fn(i64, i64) -> i64) -> Vec<i64> {
    pairs.iter().map(|&[a, b]| gate(a, b)).collect()
}

/// `Bitwise_Not`: `1 - x_t`.
pub(super) fn not(xs: &[i64]) -> Vec<i64> {
    xs.iter().map(|x| 1 - x).collect()
}

/// `Bit_Dot_Prod_Mod2`: the running sum of `a_i * b_i`, mod 2.
pub(super) fn dot_prod_mod2(pairs: &[[i64; 2]]) -> Vec<i64> {
    let mut parity = 0;
    pairs
        .iter()
        .map(|&[a, b]| {
            parity ^= a & b;
            parity
        })
        .collect()
}

/// `Parity_All`: the XOR of all bits so far.
pub(super) fn parity_all(xs: &[i64]) -> Vec<i64> {
    let mut parity = 0;
    xs.iter()
        .map(|&x| {
            parity ^= x;
            parity
        })
        .collect()
}

/// `Parity_Last<k>`: the XOR of the last `k` bits, 0 before the start.
pub(super) fn parity_last(xs: &[i64], k: usize) -> Vec<i64> {
    (0..xs.len())
        .map(|t| {
            xs[(t + 1).saturating_sub(k)..=t]
                .iter()
                .fold(0, |p, x| p ^ x)
        })
        .collect()
}

/// `Parity_Zeros`: the number of zeros so far, mod 2.
pub(super) fn parity_zeros(xs: &[i64]) -> Vec<i64> {
    let mut parity = 0;
    xs.iter()
        .map(|&x| {
            parity ^= i64::from(x == 0);
            parity
        })
        .collect()
}

/// `Parity_Bits_Mod2`: `t mod 2`, ignoring the input.
pub(super) fn parity_bits_mod2(xs: &[i64]) -> Vec<i64> {
    (0..xs.len()).map(|t| (t % 2) as i64).collect()
}

/// `Alternating_Last<k>`: 1 iff the last `k` bits (positions before the start reading 0)
/// alternate, i.e. each differs from the one before it.
pub(super) fn alternating_last(xs: &[i64], k: usize) -> Vec<i64> {
    let at = |i: isize| if i < 0 { 0 } else { xs[i as usize] };
    (0..xs.len() as isize)
        .map(|t| {
            let first = t + 1 - k as isize;
            i64::from((first + 1..=t).all(|i| at(i) != at(i - 1)))
        })
        .collect()
}

/// `Balanced_Parenthesis`: 1 iff the prefix has depth 0 (0 opens, 1 closes); once the depth has
/// gone below 0 every later output is 0.
pub(super) fn balanced_parenthesis(xs: &[i64]) -> Vec<i64> {
    let mut depth = 0i64;
    let mut broken = false;
    xs.iter()
        .map(|&x| {
            depth += if x == 0 { 1 } else { -1 };
            broken |= depth < 0;
            i64::from(!broken && depth == 0)
        })
        .collect()
}

/// `Bit_Palindrome`: 1 iff `x_0 ..= x_t` reads the same backwards.
pub(super) fn palindrome(xs: &[i64]) -> Vec<i64> {
    (0..xs.len())
        .map(|t| {
            let prefix = &xs[..=t];
            i64::from(prefix.iter().eq(prefix.iter().rev()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternation_pads_with_zeros() {
        // (0,0,1) (0,1,0) (1,0,1) (0,1,1)
        assert_eq!(alternating_last(&[1, 0, 1, 1], 3), vec![0, 1, 1, 0]);
        // (0,0,0,1) (0,0,1,0) (0,1,0,1) (1,0,1,0)
        assert_eq!(alternating_last(&[1, 0, 1, 0], 4), vec![0, 0, 1, 1]);
    }

    #[test]
    fn balance_breaks_forever_below_zero() {
        assert_eq!(balanced_parenthesis(&[0, 1, 0, 1]), vec![0, 1, 0, 1]);
        assert_eq!(balanced_parenthesis(&[1, 0, 0, 1]), vec![0, 0, 0, 0]);
    }

    #[test]
    fn parities_and_palindromes() {
        assert_eq!(parity_last(&[1, 1, 0, 1], 3), vec![1, 0, 0, 0]);
        assert_eq!(parity_zeros(&[0, 1, 0, 0]), vec![1, 1, 0, 1]);
        assert_eq!(parity_bits_mod2(&[1, 1, 1]), vec![0, 1, 0]);
        assert_eq!(palindrome(&[1, 0, 1, 1]), vec![1, 0, 1, 0]);
        assert_eq!(dot_prod_mod2(&[[1, 1], [0, 1], [1, 1]]), vec![1, 1, 0]);
    }
}
