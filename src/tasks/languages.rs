//! Formal languages as per-prefix recognisers: the seven Tomita grammars over `{0, 1}` and the
//! two-bracket Dyck language. Each output answers for the prefix so far (1 accepted, 0 not),
//! as a sequence model labels every step.

/// Tomita grammar `n` (1..=7) on every prefix, by the minimal machine of each language:
/// 1 `1*`; 2 `(10)*`; 3 no odd-length run of 1s immediately followed by an odd-length run of
/// 0s; 4 no `000`; 5 even numbers of 0s and of 1s; 6 (#0 - #1) divisible by 3; 7 `0*1*0*1*`.
pub(super) fn tomita(xs: &[i64], n: u8) -> Vec<i64> {
    let mut state = 0u8;
    xs.iter()
        .map(|&x| {
            let one = x != 0;
            let (next, accept) = match n {
                1 => {
                    // 0: only 1s so far; 1: dead.
                    let s = if state == 0 && one { 0 } else { 1 };
                    (s, s == 0)
                }
                2 => {
                    // 0: (10)^k; 1: (10)^k 1; 2: dead.
                    let s = match (state, one) {
                        (0, true) => 1,
                        (1, false) => 0,
                        _ => 2,
                    };
                    (s, s == 0)
                }
                3 => {
                    // 0: clear; 1: in an odd run of 1s; 2: even run of 1s; 3: odd run of 1s
                    // then an odd run of 0s; 4: ... then an even run of 0s; 5: dead.
                    let s = match (state, one) {
                        (0 | 2 | 4, true) => 1,
                        (0 | 2, false) => 0,
                        (1, true) => 2,
                        (1, false) | (4, false) => 3,
                        (3, false) => 4,
                        _ => 5,
                    };
                    (s, s != 3 && s != 5)
                }
                4 => {
                    // Trailing zeros (0, 1, 2), or 3: dead.
                    let s = match (state, one) {
                        (3, _) => 3,
                        (_, true) => 0,
                        (z, false) => z + 1,
                    };
                    (s, s != 3)
                }
                5 => {
                    // Bit 0: odd number of 0s; bit 1: odd number of 1s.
                    let s = state ^ if one { 2 } else { 1 };
                    (s, s == 0)
                }
                6 => {
                    let s = if one {
                        (state + 2) % 3
                    } else {
                        (state + 1) % 3
                    };
                    (s, s == 0)
                }
                _ => {
                    // The phase of 0*1*0*1* (0..=3), or 4: dead.
                    let s = match (state, one) {
                        (4, _) => 4,
                        (p, true) if p % 2 == 0 => p + 1,
                        (p, false) if p % 2 == 1 => p + 1,
                        (p, _) => p,
                    };
                    (s, s != 4)
                }
            };
            state = next;
            i64::from(accept)
        })
        .collect()
}

/// The Dyck language of two bracket kinds, symbols `0 (`, `1 )`, `2 [`, `3 ]`: 1 iff the prefix
/// is balanced; 0 from the first closing bracket that matches nothing on.
pub(super) fn dyck2(xs: &[i64]) -> Vec<i64> {
    let mut stack = Vec::new();
    let mut broken = false;
    xs.iter()
        .map(|&x| {
            if !broken {
                match x {
                    0 | 2 => stack.push(x),
                    _ => broken = stack.pop() != Some(x - 1),
                }
            }
            i64::from(!broken && stack.is_empty())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(text: &str) -> Vec<i64> {
        text.bytes().map(|b| i64::from(b - b'0')).collect()
    }

    /// Whole-string membership, written from each language's definition.
    fn member(n: u8, w: &[i64]) -> bool {
        let text: String = w.iter().map(|b| b.to_string()).collect();
        let zeros = w.iter().filter(|&&b| b == 0).count() as i64;
        let ones = w.len() as i64 - zeros;
        match n {
            1 => !text.contains('0'),
            2 => text.len().is_multiple_of(2) && text.as_bytes().chunks(2).all(|c| c == b"10"),
            3 => {
                // Maximal runs, in order.
                let mut runs: Vec<(u8, usize)> = Vec::new();
                for b in text.bytes() {
                    match runs.last_mut() {
                        Some((c, len)) if *c == b => *len += 1,
                        _ => runs.push((b, 1)),
                    }
                }
                !runs
                    .windows(2)
                    .any(|p| p[0].0 == b'1' && p[0].1 % 2 == 1 && p[1].1 % 2 == 1)
            }
            4 => !text.contains("000"),
            5 => zeros % 2 == 0 && ones % 2 == 0,
            6 => (zeros - ones).rem_euclid(3) == 0,
            _ => {
                let mut phase = 0;
                for &b in w {
                    if (b == 1) != (phase % 2 == 1) {
                        phase += 1;
                    }
                }
                phase <= 3
            }
        }
    }

    #[test]
    fn every_grammar_matches_its_definition_on_every_string_up_to_length_10() {
        for n in 1..=7u8 {
            for len in 1..=10usize {
                for code in 0..(1u32 << len) {
                    let w: Vec<i64> = (0..len).map(|i| i64::from((code >> i) & 1)).collect();
                    let labels = tomita(&w, n);
                    for t in 0..len {
                        assert_eq!(
                            labels[t] == 1,
                            member(n, &w[..=t]),
                            "Tomita {n} on {:?}",
                            &w[..=t]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn known_strings() {
        assert_eq!(tomita(&bits("1101"), 1), vec![1, 1, 0, 0]);
        assert_eq!(tomita(&bits("1010"), 2), vec![0, 1, 0, 1]);
        assert_eq!(tomita(&bits("1100"), 3), vec![1, 1, 1, 1]);
        assert_eq!(tomita(&bits("10001"), 3), vec![1, 0, 1, 0, 0]);
        assert_eq!(tomita(&bits("10001"), 4), vec![1, 1, 1, 0, 0]);
        assert_eq!(tomita(&bits("0110"), 7), vec![1, 1, 1, 1]);
        assert_eq!(tomita(&bits("01010"), 7), vec![1, 1, 1, 1, 0]);
    }

    #[test]
    fn dyck2_needs_matching_kinds() {
        assert_eq!(dyck2(&[0, 2, 3, 1]), vec![0, 0, 0, 1]);
        assert_eq!(dyck2(&[0, 3, 0, 1]), vec![0, 0, 0, 0]);
        assert_eq!(dyck2(&[1, 0, 1]), vec![0, 0, 0]);
        assert_eq!(dyck2(&[2, 3, 0, 1]), vec![0, 1, 0, 1]);
    }
}
