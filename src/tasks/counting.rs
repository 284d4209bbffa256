//! Labels of the counting and comparison tasks: evens, majority, running extremes, detectors.

use std::collections::BTreeMap;

use super::running;

/// `Evens_Counter`: the number of even values so far.
pub(super) fn evens_counter(xs: &[i64]) -> Vec<i64> {
    running(xs, 0, |count, x| count + i64::from(x % 2 == 0))
}

/// `Evens_Detector`: 1 iff `x_t` is even.
pub(super) fn evens_detector(xs: &[i64]) -> Vec<i64> {
    xs.iter().map(|&x| i64::from(x % 2 == 0)).collect()
}

/// `Majority_0_<k>`: the most frequent value so far; a tie goes to the lowest tied value.
pub(super) fn majority(xs: &[i64]) -> Vec<i64> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    xs.iter()
        .map(|&x| {
            *counts.entry(x).or_default() += 1;
            // Ascending order and a strict comparison keep the lowest of the tied values.
            let mut best = (x, 0);
            for (&value, &count) in &counts {
                if count > best.1 {
                    best = (value, count);
                }
            }
            best.0
        })
        .collect()
}

/// `Max_Seen`: the running maximum.
pub(super) fn max_seen(xs: &[i64]) -> Vec<i64> {
    running(xs, i64::MIN, i64::max)
}

/// `Min_Seen`: the running minimum.
pub(super) fn min_seen(xs: &[i64]) -> Vec<i64> {
    running(xs, i64::MAX, i64::min)
}

/// `Perfect_Square_Detector`: 1 iff `x_t` is in `{0, 1, 4, 9, 16}` (the squares below 20).
pub(super) fn perfect_square(xs: &[i64]) -> Vec<i64> {
    xs.iter()
        .map(|x| i64::from([0, 1, 4, 9, 16].contains(x)))
        .collect()
}

/// `Previous_Equals_Current`: 1 iff `x_t == x_{t-1}`, with `x_{-1} = 0`.
pub(super) fn previous_equals_current(xs: &[i64]) -> Vec<i64> {
    std::iter::once(&0)
        .chain(xs)
        .zip(xs)
        .map(|(prev, x)| i64::from(prev == x))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_ties_go_low() {
        assert_eq!(majority(&[2, 1, 1, 2, 0, 0]), vec![2, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn detectors_and_extremes() {
        assert_eq!(previous_equals_current(&[0, 0, 3, 3]), vec![1, 1, 0, 1]);
        assert_eq!(evens_counter(&[2, 3, 0]), vec![1, 1, 2]);
        assert_eq!(max_seen(&[3, 1, 7]), vec![3, 3, 7]);
        assert_eq!(min_seen(&[3, 1, 7]), vec![3, 1, 1]);
        assert_eq!(perfect_square(&[16, 15, 0]), vec![1, 0, 1]);
    }
}
