//! Literal text: numbers as Python reads them back exactly, and escaped docstring text.

/// Python's `repr` of a finite, non-negative double (as `ruff format` writes it: no `+` in
/// the exponent): the shortest digits that read back as the same double, in fixed notation
/// for exponents -4..16 and scientific otherwise, always with a `.` or an exponent so that it
/// stays a float.
///
/// Infinite, NaN and negative values are the caller's (they print as `math.inf`, `math.nan`
/// and a unary minus); given one, this prints the absolute value's digits or `inf`/`nan`.
pub(crate) fn float_repr(value: f64) -> String {
    let value = value.abs();
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return "inf".to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `d.ddde<exp>`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // The decimal point sits after `point` digits: value = 0.digits * 10^point.
    let point = exponent + 1;
    if value == 0.0 {
        return "0.0".to_string();
    }
    if point <= -4 || point > 16 {
        let (head, tail) = digits.split_at(1);
        // Python's repr writes `e+16`; `ruff format` normalizes it to `e16`, same value.
        let sign = if exponent < 0 { "-" } else { "" };
        let magnitude = exponent.unsigned_abs();
        if tail.is_empty() {
            format!("{head}e{sign}{magnitude:02}")
        } else {
            format!("{head}.{tail}e{sign}{magnitude:02}")
        }
    } else if point <= 0 {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        format!("0.{zeros}{digits}")
    } else {
        let point = point as usize;
        if digits.len() <= point {
            let zeros = "0".repeat(point - digits.len());
            format!("{digits}{zeros}.0")
        } else {
            let (whole, fraction) = digits.split_at(point);
            format!("{whole}.{fraction}")
        }
    }
}

/// Escapes one line of docstring text so that it reads back as itself and cannot end the
/// docstring: backslashes and quotes are escaped, control and non-ASCII characters become
/// `\x`/`\u`/`\U` escapes, and trailing spaces are kept visible as `\x20`.
pub(crate) fn escape_docstring_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_ascii() => out.push(c),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    // `ruff format` strips trailing whitespace in docstrings, and a leading space on the
    // first line; escaping them keeps the text exact and the output stable.
    let trimmed_end = out.trim_end_matches(' ').len();
    let trailing = out.len() - trimmed_end;
    out.truncate(trimmed_end);
    out.push_str(&"\\x20".repeat(trailing));
    let leading = out.len() - out.trim_start_matches(' ').len();
    format!("{}{}", "\\x20".repeat(leading), &out[leading..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_repr() {
        let cases = [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000012345, "1.2345e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e16"),
            (1.2345e16, "1.2345e16"),
            (123456789.125, "123456789.125"),
            (1e-300, "1e-300"),
            (f64::MAX, "1.7976931348623157e308"),
            (5e-324, "5e-324"),
            (0.30000000000000004, "0.30000000000000004"),
            (9007199254740993.0, "9007199254740992.0"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(value), expected, "{value:e}");
        }
    }

    #[test]
    fn docstring_lines_cannot_close_the_docstring() {
        assert_eq!(escape_docstring_line(r#"a"""b"#), r#"a\"\"\"b"#);
        assert_eq!(escape_docstring_line("back\\slash"), "back\\\\slash");
        assert_eq!(escape_docstring_line("bell\u{7}"), "bell\\x07");
        assert_eq!(
            escape_docstring_line("caf\u{e9} \u{1f600}"),
            "caf\\u00e9 \\U0001f600"
        );
        assert_eq!(escape_docstring_line(" pad "), "\\x20pad\\x20");
    }
}
