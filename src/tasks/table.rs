//! The 62 rows of the reference table (`shared/reference/mips62.md`) as [`Task`] values.
//!
//! Domains are written as in the reference: `below(lo, hi)` is its half-open `[lo, hi)`, pairs
//! like `(0, 2)` its closed `[0, 2]`.

use super::{Family, Sampling, Task};

/// The inclusive range of the reference's half-open `[lo, hi)`.
const fn below(lo: i64, hi: i64) -> (i64, i64) {
    (lo, hi - 1)
}

pub(super) const BIT: (i64, i64) = (0, 1);
const FORCE: (i64, i64) = (-10, 10);

/// One table row; `input_dim` is the domain's length, the rest follows from the family.
pub(super) fn task(
    name: &'static str,
    family: Family,
    domain: &[(i64, i64)],
    length: usize,
    mips: bool,
) -> Task {
    // The reference splits these families 80/20 and every other task 90/10.
    let (output_dim, train_percent) = match family {
        Family::NewtonMagnetic => (2, 80),
        Family::AddMod(_)
        | Family::Dithering
        | Family::Div(_)
        | Family::NewtonFreebody
        | Family::NewtonGravity
        | Family::NewtonSpring => (1, 80),
        Family::AbsCurrent
        | Family::AbsDiff
        | Family::AlternatingLast(_)
        | Family::BalancedParenthesis
        | Family::BaseAddition(_)
        | Family::BitDotProdMod2
        | Family::BitPalindrome
        | Family::BitShiftRight
        | Family::BitwiseAnd
        | Family::BitwiseNot
        | Family::BitwiseOr
        | Family::BitwiseXor
        | Family::CurrentNumber
        | Family::DiffAbsValues
        | Family::DiffLast2
        | Family::EvensCounter
        | Family::EvensDetector
        | Family::Majority(_)
        | Family::MaxSeen
        | Family::MinSeen
        | Family::ParityAll
        | Family::ParityBitsMod2
        | Family::ParityLast(_)
        | Family::ParityZeros
        | Family::PerfectSquareDetector
        | Family::Prev(_)
        | Family::PreviousEqualsCurrent
        | Family::SumAll
        | Family::SumLast(_)
        | Family::Tomita(_)
        | Family::Dyck2 => (1, 90),
    };
    let sampling = if family == Family::BitPalindrome {
        Sampling::PalindromePrefix {
            min_len: 2,
            max_len: 10,
        }
    } else if family == Family::Dyck2 {
        Sampling::Brackets
    } else {
        Sampling::Uniform
    };
    Task {
        name,
        family,
        input_dim: domain.len(),
        output_dim,
        length,
        domain: domain.to_vec(),
        sampling,
        train_percent,
        mips_solved: mips,
    }
}

/// The reference table, row by row, in its order.
pub(super) fn rows() -> Vec<Task> {
    use Family as F;
    let int100 = below(-100, 100);
    let nat100 = below(0, 100);
    vec![
        task("Abs_Current", F::AbsCurrent, &[int100], 10, true),
        task("Abs_Diff", F::AbsDiff, &[int100], 10, true),
        task("Add_Mod_3", F::AddMod(3), &[below(0, 3)], 10, true),
        task("Add_Mod_4", F::AddMod(4), &[below(0, 4)], 10, false),
        task("Add_Mod_5", F::AddMod(5), &[below(0, 5)], 10, false),
        task("Add_Mod_6", F::AddMod(6), &[below(0, 6)], 10, false),
        task("Add_Mod_7", F::AddMod(7), &[below(0, 7)], 10, false),
        task("Add_Mod_8", F::AddMod(8), &[below(0, 8)], 10, false),
        task(
            "Alternating_Last3",
            F::AlternatingLast(3),
            &[BIT],
            10,
            false,
        ),
        task(
            "Alternating_Last4",
            F::AlternatingLast(4),
            &[BIT],
            10,
            false,
        ),
        task(
            "Balanced_Parenthesis",
            F::BalancedParenthesis,
            &[BIT],
            10,
            false,
        ),
        task(
            "Base_3_Addition",
            F::BaseAddition(3),
            &[below(0, 3); 2],
            10,
            false,
        ),
        task(
            "Base_4_Addition",
            F::BaseAddition(4),
            &[below(0, 4); 2],
            10,
            false,
        ),
        task(
            "Base_5_Addition",
            F::BaseAddition(5),
            &[below(0, 5); 2],
            10,
            false,
        ),
        task(
            "Base_6_Addition",
            F::BaseAddition(6),
            &[below(0, 6); 2],
            10,
            false,
        ),
        task(
            "Base_7_Addition",
            F::BaseAddition(7),
            &[below(0, 7); 2],
            10,
            false,
        ),
        task("Binary_Addition", F::BaseAddition(2), &[BIT, BIT], 10, true),
        task(
            "Bit_Dot_Prod_Mod2",
            F::BitDotProdMod2,
            &[BIT, BIT],
            10,
            true,
        ),
        task("Bit_Palindrome", F::BitPalindrome, &[BIT], 10, false),
        task("Bit_Shift_Right", F::BitShiftRight, &[BIT], 10, true),
        task("Bitwise_And", F::BitwiseAnd, &[BIT, BIT], 10, true),
        task("Bitwise_Not", F::BitwiseNot, &[BIT], 10, true),
        task("Bitwise_Or", F::BitwiseOr, &[BIT, BIT], 10, true),
        task("Bitwise_Xor", F::BitwiseXor, &[BIT, BIT], 10, true),
        task("Current_Number", F::CurrentNumber, &[nat100], 10, true),
        task("Diff_Abs_Values", F::DiffAbsValues, &[int100], 10, false),
        task("Diff_Last2", F::DiffLast2, &[int100], 10, true),
        task("Dithering", F::Dithering, &[below(0, 16)], 10, false),
        task("Div_3", F::Div(3), &[BIT], 10, false),
        task("Div_5", F::Div(5), &[BIT], 10, false),
        task("Div_7", F::Div(7), &[BIT], 10, false),
        task("Evens_Counter", F::EvensCounter, &[below(0, 10)], 10, false),
        task(
            "Evens_Detector",
            F::EvensDetector,
            &[below(0, 10)],
            10,
            false,
        ),
        task("Majority_0_1", F::Majority(1), &[(0, 1)], 10, false),
        task("Majority_0_2", F::Majority(2), &[(0, 2)], 10, false),
        task("Majority_0_3", F::Majority(3), &[(0, 3)], 10, false),
        task("Max_Seen", F::MaxSeen, &[nat100], 10, false),
        task("Min_Seen", F::MinSeen, &[below(0, 10)], 10, false),
        task("Newton_Freebody", F::NewtonFreebody, &[FORCE], 10, true),
        task("Newton_Gravity", F::NewtonGravity, &[FORCE], 10, true),
        task(
            "Newton_Magnetic",
            F::NewtonMagnetic,
            &[FORCE, FORCE],
            10,
            false,
        ),
        task("Newton_Spring", F::NewtonSpring, &[FORCE], 10, true),
        task("Parity_All", F::ParityAll, &[BIT], 10, true),
        task("Parity_Bits_Mod2", F::ParityBitsMod2, &[BIT], 10, false),
        task("Parity_Last2", F::ParityLast(2), &[BIT], 10, true),
        task("Parity_Last3", F::ParityLast(3), &[BIT], 10, true),
        task("Parity_Last4", F::ParityLast(4), &[BIT], 10, false),
        task("Parity_Zeros", F::ParityZeros, &[BIT], 10, true),
        task(
            "Perfect_Square_Detector",
            F::PerfectSquareDetector,
            &[below(0, 20)],
            10,
            false,
        ),
        task("Prev1", F::Prev(1), &[nat100], 10, true),
        task("Prev2", F::Prev(2), &[nat100], 10, true),
        task("Prev3", F::Prev(3), &[nat100], 10, true),
        task("Prev4", F::Prev(4), &[nat100], 10, true),
        task("Prev5", F::Prev(5), &[nat100], 20, true),
        task(
            "Previous_Equals_Current",
            F::PreviousEqualsCurrent,
            &[below(0, 8)],
            10,
            true,
        ),
        task("Sum_All", F::SumAll, &[nat100], 10, true),
        task("Sum_Last2", F::SumLast(2), &[nat100], 10, true),
        task("Sum_Last3", F::SumLast(3), &[nat100], 10, true),
        task("Sum_Last4", F::SumLast(4), &[nat100], 10, true),
        task("Sum_Last5", F::SumLast(5), &[nat100], 20, true),
        task("Sum_Last6", F::SumLast(6), &[nat100], 20, true),
        task("Sum_Last7", F::SumLast(7), &[nat100], 20, true),
    ]
}
