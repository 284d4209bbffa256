//! The MIPS-62 generators checked against independent restatements of the reference
//! definitions (`shared/reference/mips62.md`), plus hand-worked start-of-sequence conventions.
//!
//! The oracle below is deliberately written differently from `src/tasks`: brute force over
//! prefixes, closed forms and whole-number arithmetic instead of running state.

use std::collections::BTreeSet;

use nn2py::tasks::{self, Dataset, Task, TaskError};

/// `x_i` of a one-feature sequence, 0 before the start.
fn at(xs: &[i64], i: i64) -> i64 {
    if i < 0 {
        0
    } else {
        xs[i as usize]
    }
}

/// The number that ends a task name (`Add_Mod_7` -> 7, `Prev3` -> 3), 0 if none.
fn trailing_number(name: &str) -> i64 {
    let digits: String = name
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap_or(0)
}

/// `a + b*i` times `c + d*i`, for the magnetic oracle.
fn complex_mul((a, b): (i64, i64), (c, d): (i64, i64)) -> (i64, i64) {
    (a * c - b * d, a * d + b * c)
}

/// The outputs of one sequence (`steps[t]` are the features of step `t`), straight from the
/// reference table, one output vector per step.
fn oracle(name: &str, steps: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let xs: Vec<i64> = steps.iter().map(|s| s[0]).collect();
    let ys: Vec<i64> = steps
        .iter()
        .map(|s| *s.last().expect("a feature"))
        .collect();
    let n = steps.len() as i64;
    let k = trailing_number(name);
    let scalar = |f: &dyn Fn(i64) -> i64| (0..n).map(|t| vec![f(t)]).collect();
    let prefix = |t: i64| &xs[..=t as usize];
    let count =
        |t: i64, pred: &dyn Fn(i64) -> bool| prefix(t).iter().filter(|&&x| pred(x)).count() as i64;
    match name {
        "Abs_Current" => scalar(&|t| xs[t as usize].abs()),
        "Abs_Diff" => scalar(&|t| (at(&xs, t) - at(&xs, t - 1)).abs()),
        _ if name.starts_with("Add_Mod_") => scalar(&|t| prefix(t).iter().sum::<i64>() % k),
        "Alternating_Last3" => scalar(&|t| {
            let w = [at(&xs, t - 2), at(&xs, t - 1), at(&xs, t)];
            i64::from(w == [0, 1, 0] || w == [1, 0, 1])
        }),
        "Alternating_Last4" => scalar(&|t| {
            let w = [at(&xs, t - 3), at(&xs, t - 2), at(&xs, t - 1), at(&xs, t)];
            i64::from(w == [0, 1, 0, 1] || w == [1, 0, 1, 0])
        }),
        "Balanced_Parenthesis" => scalar(&|t| {
            let depth = |j: i64| count(j, &|x| x == 0) - count(j, &|x| x == 1);
            i64::from(depth(t) == 0 && (0..=t).all(|j| depth(j) >= 0))
        }),
        _ if name.starts_with("Base_") || name == "Binary_Addition" => {
            let base: i128 = if name == "Binary_Addition" {
                2
            } else {
                name.split('_')
                    .nth(1)
                    .and_then(|d| d.parse().ok())
                    .expect("Base_<k>_")
            };
            let value = |t: i64, f: usize| -> i128 {
                (0..=t as usize)
                    .map(|i| steps[i][f] as i128 * base.pow(i as u32))
                    .sum()
            };
            scalar(&|t| {
                let sum = value(t, 0) + value(t, 1);
                ((sum / base.pow(t as u32)) % base) as i64
            })
        }
        "Bit_Dot_Prod_Mod2" => {
            scalar(&|t| (0..=t as usize).filter(|&i| steps[i] == [1, 1]).count() as i64 % 2)
        }
        "Bit_Palindrome" => {
            scalar(&|t| i64::from((0..=t).all(|j| xs[j as usize] == xs[(t - j) as usize])))
        }
        "Bit_Shift_Right" => scalar(&|t| at(&xs, t - 1)),
        "Bitwise_And" => scalar(&|t| xs[t as usize] * ys[t as usize]),
        "Bitwise_Not" => scalar(&|t| i64::from(xs[t as usize] == 0)),
        "Bitwise_Or" => scalar(&|t| {
            let (a, b) = (xs[t as usize], ys[t as usize]);
            a + b - a * b
        }),
        "Bitwise_Xor" => scalar(&|t| (xs[t as usize] + ys[t as usize]) % 2),
        "Current_Number" => scalar(&|t| xs[t as usize]),
        "Diff_Abs_Values" => scalar(&|t| at(&xs, t).abs() - at(&xs, t - 1).abs()),
        "Diff_Last2" => scalar(&|t| at(&xs, t) - at(&xs, t - 1)),
        "Dithering" => {
            let s = |t: i64| -> i64 {
                if t < 0 {
                    0
                } else {
                    prefix(t).iter().sum()
                }
            };
            scalar(&|t| s(t) / 15 - s(t - 1) / 15)
        }
        _ if name.starts_with("Div_") => scalar(&|t| {
            let number = prefix(t).iter().fold(0i128, |n, &bit| 2 * n + bit as i128);
            ((number / k as i128) % 2) as i64
        }),
        "Evens_Counter" => scalar(&|t| count(t, &|x| x % 2 == 0)),
        "Evens_Detector" => scalar(&|t| i64::from(xs[t as usize] % 2 == 0)),
        _ if name.starts_with("Majority_0_") => scalar(&|t| {
            (0..=k)
                .max_by_key(|&v| (count(t, &|x| x == v), -v))
                .expect("values 0..=k")
        }),
        "Max_Seen" => scalar(&|t| *prefix(t).iter().max().expect("non-empty")),
        "Min_Seen" => scalar(&|t| *prefix(t).iter().min().expect("non-empty")),
        // Closed form: the force at step i moves the position by (t - i + 1) at step t.
        "Newton_Freebody" => scalar(&|t| (0..=t).map(|i| (t - i + 1) * xs[i as usize]).sum()),
        "Newton_Gravity" => scalar(&|t| (0..=t).map(|i| (t - i + 1) * (xs[i as usize] - 1)).sum()),
        // Eliminating v: p_t = p_{t-1} - p_{t-2} + x_t with p_{-1} = p_{-2} = 0.
        "Newton_Spring" => {
            let mut p = vec![0i64, 0];
            for &x in &xs {
                let next = p[p.len() - 1] - p[p.len() - 2] + x;
                p.push(next);
            }
            p[2..].iter().map(|&v| vec![v]).collect()
        }
        // Velocity as a complex number: the magnetic term is i*v, so v' = (1 + i) v + F.
        "Newton_Magnetic" => {
            let (mut v, mut p) = ((0, 0), (0, 0));
            steps
                .iter()
                .map(|s| {
                    let turned = complex_mul((1, 1), v);
                    v = (turned.0 + s[0], turned.1 + s[1]);
                    p = (p.0 + v.0, p.1 + v.1);
                    vec![p.0, p.1]
                })
                .collect()
        }
        "Parity_All" => scalar(&|t| count(t, &|x| x == 1) % 2),
        "Parity_Bits_Mod2" => scalar(&|t| t % 2),
        _ if name.starts_with("Parity_Last") => {
            scalar(&|t| (0..k).map(|j| at(&xs, t - j)).sum::<i64>() % 2)
        }
        "Parity_Zeros" => scalar(&|t| count(t, &|x| x == 0) % 2),
        "Perfect_Square_Detector" => scalar(&|t| {
            let x = xs[t as usize];
            i64::from((0..=x).any(|r| r * r == x))
        }),
        _ if name.starts_with("Prev") && name != "Previous_Equals_Current" => {
            scalar(&|t| at(&xs, t - k))
        }
        "Previous_Equals_Current" => scalar(&|t| i64::from(at(&xs, t) == at(&xs, t - 1))),
        "Sum_All" => scalar(&|t| prefix(t).iter().sum()),
        _ if name.starts_with("Sum_Last") => scalar(&|t| (0..k).map(|j| at(&xs, t - j)).sum()),
        _ => panic!("no oracle for task {name}"),
    }
}

/// Sequence `index` of a data set as steps of features.
fn steps_of(data: &Dataset, index: usize) -> Vec<Vec<i64>> {
    let inputs = data.sequence_inputs(index).expect("sequence exists");
    inputs.chunks(data.input_dim).map(<[i64]>::to_vec).collect()
}

fn task(name: &str) -> &'static Task {
    tasks::by_name(name).unwrap_or_else(|| panic!("task {name} exists"))
}

fn label(name: &str, inputs: &[i64]) -> Vec<i64> {
    task(name).label(inputs).expect("in-domain inputs label")
}

#[test]
fn sixty_two_unique_names_in_reference_order() {
    let all = tasks::all();
    assert_eq!(all.len(), 62);
    let names: BTreeSet<&str> = all.iter().map(|t| t.name).collect();
    assert_eq!(names.len(), 62, "names are unique");
    let spot_checks = [
        (0, "Abs_Current"),
        (2, "Add_Mod_3"),
        (10, "Balanced_Parenthesis"),
        (11, "Base_3_Addition"),
        (16, "Binary_Addition"),
        (27, "Dithering"),
        (30, "Div_7"),
        (35, "Majority_0_3"),
        (40, "Newton_Magnetic"),
        (48, "Perfect_Square_Detector"),
        (53, "Prev5"),
        (54, "Previous_Equals_Current"),
        (61, "Sum_Last7"),
    ];
    for (index, name) in spot_checks {
        assert_eq!(all[index].name, name, "row {}", index + 1);
    }
    for t in all {
        assert_eq!(tasks::by_name(t.name).map(|found| found.name), Some(t.name));
    }
    assert!(tasks::by_name("Sum_Last8").is_none());
}

#[test]
fn dims_lengths_and_domains_follow_the_reference() {
    let two_inputs: BTreeSet<&str> = tasks::all()
        .iter()
        .filter(|t| t.input_dim == 2)
        .map(|t| t.name)
        .collect();
    let expected: BTreeSet<&str> = [
        "Base_3_Addition",
        "Base_4_Addition",
        "Base_5_Addition",
        "Base_6_Addition",
        "Base_7_Addition",
        "Binary_Addition",
        "Bit_Dot_Prod_Mod2",
        "Bitwise_And",
        "Bitwise_Or",
        "Bitwise_Xor",
        "Newton_Magnetic",
    ]
    .into_iter()
    .collect();
    assert_eq!(two_inputs, expected);
    for t in tasks::all() {
        assert_eq!(t.domain.len(), t.input_dim, "{}", t.name);
        let wide = t.name == "Newton_Magnetic";
        assert_eq!(t.output_dim, if wide { 2 } else { 1 }, "{}", t.name);
        let long = ["Prev5", "Sum_Last5", "Sum_Last6", "Sum_Last7"].contains(&t.name);
        assert_eq!(t.length, if long { 20 } else { 10 }, "{}", t.name);
    }
    assert_eq!(task("Abs_Current").domain, vec![(-100, 99)]);
    assert_eq!(task("Dithering").domain, vec![(0, 15)]);
    assert_eq!(task("Majority_0_2").domain, vec![(0, 2)]);
    assert_eq!(task("Newton_Magnetic").domain, vec![(-10, 10), (-10, 10)]);
    assert_eq!(task("Base_5_Addition").domain, vec![(0, 4), (0, 4)]);
    assert_eq!(task("Perfect_Square_Detector").domain, vec![(0, 19)]);
    assert_eq!(task("Min_Seen").domain, vec![(0, 9)]);
    assert_eq!(task("Div_3").train_percent, 80);
    assert_eq!(task("Sum_All").train_percent, 90);
    assert_eq!(tasks::all().iter().filter(|t| t.mips_solved).count(), 32);
}

#[test]
fn every_task_matches_the_independent_oracle_at_both_lengths() {
    for t in tasks::all() {
        for (count, length, seed) in [(300, t.length, 11), (100, 2 * t.length, 12), (20, 3, 13)] {
            let data = t.generate(count, length, seed).expect("generates");
            assert_eq!(data.inputs.len(), count * length * t.input_dim);
            assert_eq!(data.outputs.len(), count * length * t.output_dim);
            for index in 0..count {
                let steps = steps_of(&data, index);
                let expected: Vec<i64> = oracle(t.name, &steps).concat();
                let got = data.sequence_outputs(index).expect("sequence exists");
                assert_eq!(got, expected.as_slice(), "{} on {steps:?}", t.name);
                let inputs = data.sequence_inputs(index).expect("sequence exists");
                assert_eq!(t.label(inputs).as_deref(), Ok(got), "{}", t.name);
            }
        }
    }
}

#[test]
fn generation_is_deterministic_and_seeded() {
    for t in tasks::all() {
        let a = t.generate(50, t.length, 7).expect("generates");
        assert_eq!(
            a,
            t.generate(50, t.length, 7).expect("generates"),
            "{}",
            t.name
        );
        let b = t.generate(50, t.length, 8).expect("generates");
        assert_ne!(a.inputs, b.inputs, "{}: seeds 7 and 8 differ", t.name);
        // Sequences are drawn one after another, so fewer sequences are a prefix of more.
        let fewer = t.generate(20, t.length, 7).expect("generates");
        assert_eq!(
            fewer.inputs[..],
            a.inputs[..fewer.inputs.len()],
            "{}",
            t.name
        );
    }
    // Pinned values guard against any change of generator or sampling order.
    let data = task("Add_Mod_3").generate(1, 10, 0).expect("generates");
    // Cross-checked with an independent Python SplitMix64 with the same rejection sampling.
    assert_eq!(data.inputs, vec![1, 0, 1, 1, 1, 0, 2, 2, 2, 2]);
    assert_eq!(data.outputs, vec![1, 1, 2, 0, 1, 1, 0, 2, 1, 0]);
}

#[test]
fn inputs_stay_in_the_domain_and_reach_its_ends() {
    for t in tasks::all() {
        let data = t.generate(1000, t.length, 3).expect("generates");
        for (feature, &(lo, hi)) in t.domain.iter().enumerate() {
            let values: Vec<i64> = data
                .inputs
                .iter()
                .skip(feature)
                .step_by(t.input_dim)
                .copied()
                .collect();
            assert_eq!(
                values.iter().min(),
                Some(&lo),
                "{} feature {feature}",
                t.name
            );
            assert_eq!(
                values.iter().max(),
                Some(&hi),
                "{} feature {feature}",
                t.name
            );
        }
    }
}

#[test]
fn bit_palindrome_sequences_start_with_a_palindrome() {
    let t = task("Bit_Palindrome");
    for length in [10, 20] {
        let data = t.generate(2000, length, 5).expect("generates");
        let mut longest_seen = 0;
        for index in 0..data.count {
            let ys = data.sequence_outputs(index).expect("sequence exists");
            // A palindromic prefix of length 2..=10 ends at some position 1..=9.
            let last = (1..10).rev().find(|&t| ys[t] == 1);
            assert!(last.is_some(), "sequence {index} has no palindromic prefix");
            longest_seen = longest_seen.max(last.unwrap_or(0) + 1);
        }
        assert_eq!(longest_seen, 10, "the full-length palindrome is drawn");
    }
    // Too short for the prefix: plain random bits, still labelled.
    let short = t.generate(10, 1, 5).expect("generates");
    assert_eq!(short.outputs, vec![1; 10]);
}

#[test]
fn look_backs_read_zero_before_the_start() {
    assert_eq!(label("Abs_Diff", &[-5, 3, 3]), vec![5, 8, 0]);
    assert_eq!(label("Diff_Last2", &[-5, 3]), vec![-5, 8]);
    assert_eq!(label("Diff_Abs_Values", &[-5, 3]), vec![5, -2]);
    assert_eq!(label("Bit_Shift_Right", &[1, 1, 0]), vec![0, 1, 1]);
    assert_eq!(label("Prev3", &[9, 8, 7, 6, 5]), vec![0, 0, 0, 9, 8]);
    assert_eq!(label("Previous_Equals_Current", &[0, 0, 5]), vec![1, 1, 0]);
    assert_eq!(label("Previous_Equals_Current", &[3, 3]), vec![0, 1]);
    assert_eq!(label("Alternating_Last3", &[1, 0]), vec![0, 1]);
    assert_eq!(label("Alternating_Last4", &[1, 0, 1]), vec![0, 0, 1]);
    assert_eq!(label("Alternating_Last4", &[0, 1, 0]), vec![0, 0, 0]);
    assert_eq!(label("Parity_Last4", &[1, 1, 1]), vec![1, 0, 1]);
}

#[test]
fn windows_are_truncated_at_the_start() {
    assert_eq!(label("Sum_Last3", &[10, 20, 30, 40]), vec![10, 30, 60, 90]);
    assert_eq!(label("Sum_Last7", &[1, 2]), vec![1, 3]);
}

#[test]
fn balanced_parenthesis_stays_zero_after_going_negative() {
    assert_eq!(
        label("Balanced_Parenthesis", &[0, 1, 1, 0, 0, 1]),
        vec![0, 1, 0, 0, 0, 0]
    );
    assert_eq!(
        label("Balanced_Parenthesis", &[0, 0, 1, 1]),
        vec![0, 0, 0, 1]
    );
}

#[test]
fn majority_ties_go_to_the_lower_value() {
    assert_eq!(
        label("Majority_0_3", &[3, 1, 3, 1, 0, 0]),
        vec![3, 1, 3, 1, 1, 0]
    );
    assert_eq!(label("Majority_0_1", &[1, 0, 1, 0]), vec![1, 0, 1, 0]);
}

#[test]
fn long_division_and_digit_serial_addition() {
    // 13 = 1101 divided by 3 is 4 = 0100.
    assert_eq!(label("Div_3", &[1, 1, 0, 1]), vec![0, 1, 0, 0]);
    // 1023 = 1111111111 divided by 5 is 204 = 0011001100.
    assert_eq!(label("Div_5", &[1; 10]), vec![0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    // 26 + 26 = 52 = 1221 in base 3; the top digit is dropped.
    assert_eq!(label("Base_3_Addition", &[2, 2, 2, 2, 2, 2]), vec![1, 2, 2]);
    // 3 + 1 = 4 = 100 in binary, least significant bit first.
    assert_eq!(label("Binary_Addition", &[1, 1, 1, 0, 0, 0]), vec![0, 0, 1]);
}

#[test]
fn dithering_starts_from_an_empty_sum() {
    // S = 15, 15, 22, 30, 44, 45; floor(S / 15) = 1, 1, 1, 2, 2, 3.
    assert_eq!(
        label("Dithering", &[15, 0, 7, 8, 14, 1]),
        vec![1, 0, 0, 1, 0, 1]
    );
}

#[test]
fn newton_tasks_update_velocity_then_position() {
    assert_eq!(label("Newton_Freebody", &[1, 0, 2]), vec![1, 2, 5]);
    assert_eq!(label("Newton_Gravity", &[0, 0, 0]), vec![-1, -3, -6]);
    assert_eq!(label("Newton_Spring", &[2, 2, 0]), vec![2, 4, 2]);
    // v: (1, 0), (1, 1), (0, 2); p: (1, 0), (2, 1), (2, 3).
    assert_eq!(
        label("Newton_Magnetic", &[1, 0, 0, 0, 0, 0]),
        vec![1, 0, 2, 1, 2, 3]
    );
}

#[test]
fn parity_bits_mod2_ignores_its_input() {
    assert_eq!(label("Parity_Bits_Mod2", &[1, 1, 1, 1]), vec![0, 1, 0, 1]);
    assert_eq!(label("Parity_Bits_Mod2", &[0, 0, 0, 0]), vec![0, 1, 0, 1]);
}

#[test]
fn any_length_including_empty() {
    for t in tasks::all() {
        let empty = t.generate(3, 0, 1).expect("generates");
        assert!(
            empty.inputs.is_empty() && empty.outputs.is_empty(),
            "{}",
            t.name
        );
        assert_eq!(empty.sequence_inputs(2), Some(&[][..]));
        let one = t.generate(3, 1, 1).expect("generates");
        assert_eq!(one.outputs.len(), 3 * t.output_dim, "{}", t.name);
        assert!(one.sequence_inputs(3).is_none());
    }
}

#[test]
fn bad_requests_are_typed_errors() {
    assert!(matches!(
        task("Binary_Addition").label(&[1, 0, 1]),
        Err(TaskError::Ragged {
            len: 3,
            input_dim: 2,
            ..
        })
    ));
    assert_eq!(
        task("Bitwise_Not").label(&[0, 2]),
        Err(TaskError::OutOfDomain {
            task: "Bitwise_Not",
            step: 1,
            feature: 0,
            value: 2,
            lo: 0,
            hi: 1,
        })
    );
    assert!(matches!(
        task("Newton_Magnetic").generate(1, 1000, 0),
        Err(TaskError::Overflow {
            task: "Newton_Magnetic",
            ..
        })
    ));
    assert!(matches!(
        task("Sum_All").generate(usize::MAX, 2, 0),
        Err(TaskError::TooLarge { .. })
    ));
}

#[test]
fn enumerate_lists_the_whole_domain_once_with_oracle_labels() {
    // Majority_0_2 at length 4: 3^4 sequences; Binary_Addition (two features) at length 3: 4^3.
    for (name, length, expected) in [("Majority_0_2", 4, 81), ("Binary_Addition", 3, 64)] {
        let t = task(name);
        let data = t
            .enumerate(length, expected)
            .expect("labels")
            .expect("within the limit");
        assert_eq!(data.count, expected);
        let mut seen = BTreeSet::new();
        for index in 0..data.count {
            let steps = steps_of(&data, index);
            for (step, &(lo, hi)) in steps.iter().flatten().zip(t.domain.iter().cycle()) {
                assert!((lo..=hi).contains(step), "{name}: {steps:?}");
            }
            let expected_labels: Vec<i64> = oracle(name, &steps).concat();
            assert_eq!(
                data.sequence_outputs(index),
                Some(expected_labels.as_slice())
            );
            assert!(seen.insert(steps), "{name}: sequence listed twice");
        }
        assert_eq!(t.enumerate(length, expected - 1).expect("no labels"), None);
    }
}
