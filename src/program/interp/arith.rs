//! Python's numeric semantics on `i64` and `f64`: floor division and modulo, correctly rounded
//! integer true division, conversions to int (exact mixed comparisons are in
//! [`crate::program::compare`]).

pub(super) fn overflow(what: &str) -> String {
    format!("integer overflow in `{what}`")
}

/// Python's `//` on ints (floor).
pub(super) fn int_floordiv(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        return Err("integer division by zero (ZeroDivisionError)".to_string());
    }
    let q = a.checked_div(b).ok_or_else(|| overflow("//"))?;
    let r = a.wrapping_rem(b);
    Ok(if r != 0 && ((r < 0) != (b < 0)) {
        q - 1
    } else {
        q
    })
}

/// Python's `%` on ints (sign of the divisor).
pub(super) fn int_mod(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        return Err("integer modulo by zero (ZeroDivisionError)".to_string());
    }
    let r = a.wrapping_rem(b);
    Ok(if r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    })
}

/// Python's `int / int`: the quotient correctly rounded to the nearest double.
pub(super) fn int_true_div(a: i64, b: i64) -> Result<f64, String> {
    if b == 0 {
        return Err("division by zero (ZeroDivisionError)".to_string());
    }
    let negative = (a < 0) != (b < 0);
    let (n, d) = (u128::from(a.unsigned_abs()), u128::from(b.unsigned_abs()));
    let magnitude = if n == 0 {
        0.0
    } else {
        // Scale the numerator to 127 bits: the integer quotient then has at least 63
        // significant bits, and a sticky low bit for a non-zero remainder makes the single
        // rounding of `u128 as f64` the correct rounding of the exact quotient.
        let shift = n.leading_zeros() - 1;
        let scaled = n << shift;
        let (q, r) = (scaled / d, scaled % d);
        let q = if r != 0 { q | 1 } else { q };
        (q as f64) * 2f64.powi(-(shift as i32))
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// CPython's float `divmod`: (floor quotient, remainder with the sign of the divisor).
pub(super) fn float_divmod(a: f64, b: f64) -> Result<(f64, f64), String> {
    if b == 0.0 {
        return Err("float division by zero (ZeroDivisionError)".to_string());
    }
    let mut rem = a % b;
    let mut div = (a - rem) / b;
    if rem != 0.0 {
        if (b < 0.0) != (rem < 0.0) {
            rem += b;
            div -= 1.0;
        }
    } else {
        rem = 0.0f64.copysign(b);
    }
    let floor = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(a / b)
    };
    Ok((floor, rem))
}

/// Converts a float to an int as Python's `int()` does on an already integral value.
pub(super) fn integral_to_int(f: f64, name: &str) -> Result<i64, String> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return Err(format!("`{name}` of NaN (ValueError)"));
    }
    if f.is_infinite() {
        return Err(format!("`{name}` of an infinity (OverflowError)"));
    }
    if !(-TWO_63..TWO_63).contains(&f) {
        return Err(overflow(name));
    }
    Ok(f as i64)
}

pub(super) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}
