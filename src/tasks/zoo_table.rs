//! The zoo's own tasks: the seven Tomita grammars, two bracket languages, counters, windows, a
//! running maximum and a comparator, over short alphabets at length 12. Each row is a [`Task`]
//! like the 62 (the same families where one fits), so data, labels and scoring are shared.

use super::table::{task, BIT};
use super::{Family as F, Task};

/// The zoo's training length for its own tasks.
const LENGTH: usize = 12;

/// The rows, in the zoo's order.
pub(super) fn rows() -> Vec<Task> {
    let mut rows: Vec<Task> = (1..=7u8)
        .map(|n| {
            let name: &'static str = [
                "Tomita_1", "Tomita_2", "Tomita_3", "Tomita_4", "Tomita_5", "Tomita_6", "Tomita_7",
            ][usize::from(n - 1)];
            task(name, F::Tomita(n), &[BIT], LENGTH, false)
        })
        .collect();
    rows.extend([
        task(
            "Balanced_Parentheses",
            F::BalancedParenthesis,
            &[BIT],
            LENGTH,
            false,
        ),
        task("Dyck_2", F::Dyck2, &[(0, 3)], LENGTH, false),
        task("Count_Ones", F::SumAll, &[BIT], LENGTH, false),
        task("Count_Ones_Mod_3", F::AddMod(3), &[BIT], LENGTH, false),
        task("Count_Ones_Mod_5", F::AddMod(5), &[BIT], LENGTH, false),
        task("Count_Ones_Mod_7", F::AddMod(7), &[BIT], LENGTH, false),
        task("Parity", F::ParityAll, &[BIT], LENGTH, false),
        task("Window_Sum_3", F::SumLast(3), &[BIT], LENGTH, false),
        task("Window_Xor_3", F::ParityLast(3), &[BIT], LENGTH, false),
        task("Running_Max", F::MaxSeen, &[(0, 9)], LENGTH, false),
        task(
            "More_Ones_Than_Zeros",
            F::Majority(1),
            &[BIT],
            LENGTH,
            false,
        ),
    ]);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dyck_sampling_makes_balanced_and_nested_prefixes_common() {
        let dyck = rows().into_iter().find(|t| t.name == "Dyck_2").unwrap();
        let data = dyck.generate(2_000, LENGTH, 5).unwrap();
        assert!(data.inputs.iter().all(|v| (0..=3).contains(v)));
        // Sequences whose prefix of 8 or more steps is balanced (so nested or chained).
        let long_balanced = data
            .outputs
            .chunks(LENGTH)
            .filter(|labels| labels[7..].contains(&1))
            .count();
        assert!(long_balanced > 200, "{long_balanced} of 2000");
        // And broken prefixes still occur.
        let broken = data
            .outputs
            .chunks(LENGTH)
            .filter(|l| l[LENGTH - 1] == 0)
            .count();
        assert!(broken > 200, "{broken} of 2000");
    }
}
