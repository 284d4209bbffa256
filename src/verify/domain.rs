//! Input domains: what values a model's input features take, and how to draw inputs from them.
//!
//! A domain is one range per input feature. On the command line it is written as a comma-separated
//! list of ranges (`0..100`, `-10..=10`, `-1.0..1.0`), either one for all features, one per model
//! input (shared by that input's features) or one per feature.

use std::fmt;

use serde::Serialize;

/// The values one input feature takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Range {
    /// The integers `lo..=hi` (never empty: `lo <= hi`).
    Integers { lo: i64, hi: i64 },
    /// The reals in `[lo, hi)`, sampled uniformly (`lo < hi`).
    Reals { lo: f64, hi: f64 },
}

impl Range {
    /// Number of distinct values, or `None` for a continuous range.
    pub fn count(&self) -> Option<u128> {
        match *self {
            Range::Integers { lo, hi } => Some((hi as i128 - lo as i128 + 1) as u128),
            Range::Reals { .. } => None,
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Range::Integers { lo, hi } => write!(f, "{lo}..={hi}"),
            Range::Reals { lo, hi } => write!(f, "{lo:?}..{hi:?}"),
        }
    }
}

/// A bad domain specification.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid domain \"{text}\": {reason}")]
pub struct DomainError {
    pub text: String,
    pub reason: String,
}

/// Parses one range: `lo..hi` (half-open), `lo..=hi` (inclusive); integers, or reals (with a `.`
/// or exponent in a bound) for a continuous half-open interval.
pub fn parse_range(text: &str) -> Result<Range, DomainError> {
    let fail = |reason: &str| DomainError {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = text.trim();
    let (lo_text, hi_text, inclusive) = if let Some((lo, hi)) = trimmed.split_once("..=") {
        (lo, hi, true)
    } else if let Some((lo, hi)) = trimmed.split_once("..") {
        (lo, hi, false)
    } else {
        return Err(fail("expected lo..hi or lo..=hi"));
    };
    let is_real = |s: &str| s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("nan");
    if is_real(lo_text) || is_real(hi_text) {
        if inclusive {
            return Err(fail("a real range is half-open: write lo..hi"));
        }
        let (lo, hi): (f64, f64) = parse_bounds(lo_text, hi_text).map_err(fail)?;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(fail("need finite bounds with lo < hi"));
        }
        return Ok(Range::Reals { lo, hi });
    }
    let (lo, hi): (i64, i64) = parse_bounds(lo_text, hi_text).map_err(fail)?;
    let hi = if inclusive {
        hi
    } else {
        hi.checked_sub(1).ok_or_else(|| fail("bad upper bound"))?
    };
    if lo > hi {
        return Err(fail("the range is empty"));
    }
    // Examples hold feature values as f64: keep every integer exactly representable.
    const EXACT: i64 = 1 << 53;
    if lo < -EXACT || hi > EXACT {
        return Err(fail("integer bounds must lie within +-2^53"));
    }
    Ok(Range::Integers { lo, hi })
}

/// The two bounds of a range, trimmed and parsed; the reason when one does not parse.
fn parse_bounds<T: std::str::FromStr>(lo: &str, hi: &str) -> Result<(T, T), &'static str> {
    let lo = lo.trim().parse().map_err(|_| "bad lower bound")?;
    let hi = hi.trim().parse().map_err(|_| "bad upper bound")?;
    Ok((lo, hi))
}

/// Parses a comma-separated list of ranges.
pub fn parse_ranges(text: &str) -> Result<Vec<Range>, DomainError> {
    text.split(',').map(parse_range).collect()
}

/// Expands a list of ranges to one range per feature, given each input's feature count.
///
/// One range applies to every feature; `counts.len()` ranges apply per input; the total feature
/// count of ranges applies per feature. Anything else is an error.
pub fn per_feature(ranges: &[Range], counts: &[usize]) -> Result<Vec<Range>, DomainError> {
    let total: usize = counts.iter().sum();
    let text = ranges
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(",");
    if ranges.len() == 1 {
        Ok(vec![ranges[0]; total])
    } else if ranges.len() == total {
        Ok(ranges.to_vec())
    } else if ranges.len() == counts.len() {
        Ok(ranges
            .iter()
            .zip(counts)
            .flat_map(|(r, &n)| std::iter::repeat_n(*r, n))
            .collect())
    } else {
        Err(DomainError {
            text,
            reason: format!(
                "{} ranges given; expected 1, one per input ({}), or one per feature ({total})",
                ranges.len(),
                counts.len()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_half_open_inclusive_negative_and_real_ranges() {
        assert_eq!(
            parse_range("0..100").unwrap(),
            Range::Integers { lo: 0, hi: 99 }
        );
        assert_eq!(
            parse_range("-10..=10").unwrap(),
            Range::Integers { lo: -10, hi: 10 }
        );
        assert_eq!(
            parse_range("-1.5..2.0").unwrap(),
            Range::Reals { lo: -1.5, hi: 2.0 }
        );
        assert_eq!(parse_range("0..2").unwrap().count(), Some(2));
    }

    #[test]
    fn rejects_empty_and_malformed_ranges() {
        assert!(parse_range("5..5").is_err());
        assert!(parse_range("3..=1").is_err());
        assert!(parse_range("abc").is_err());
        assert!(parse_range("1..x").is_err());
        assert!(parse_range("0.0..=1.0").is_err());
        assert!(parse_range(&format!("0..{}", i64::MIN)).is_err());
        assert!(
            parse_range("0..=9007199254740993").is_err(),
            "beyond exact f64"
        );
    }

    #[test]
    fn expands_ranges_per_input_and_per_feature() {
        let a = Range::Integers { lo: 0, hi: 1 };
        let b = Range::Integers { lo: 0, hi: 9 };
        assert_eq!(per_feature(&[a], &[2, 1]).unwrap(), vec![a, a, a]);
        assert_eq!(per_feature(&[a, b], &[2, 1]).unwrap(), vec![a, a, b]);
        assert_eq!(per_feature(&[a, b, a], &[2, 1]).unwrap(), vec![a, b, a]);
        let err = per_feature(&[a, b, a, b], &[2, 1]).unwrap_err();
        assert!(err.reason.contains("expected 1"), "{}", err.reason);
    }
}
