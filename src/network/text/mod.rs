//! The text form of the network IR (grammar: `grammar/network.pest`).
//!
//! [`print`] writes a [`Network`] as text and [`parse`] reads it back, so that test fixtures can be
//! written by hand and `nn2py --emit network` can show what the importer built. A pointwise network:
//!
//! ```text
//! network pointwise graph {
//!   input %x: f32[1, 3]
//!   const %W: f32[2, 3] = [[0.5, -1.0, 2.0], [0.0, 1.0, 1e-7]]
//!   %y: f32[1, 2] = Gemm(%x, %W, _) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} @/fc/Gemm
//!   output %y
//! }
//! ```
//!
//! A sequence model puts its header in braces, then one `init` line per state (in state order),
//! then the step graph, whose inputs are `[x_t, states..]` and outputs `[y_t, states'..]`:
//!
//! ```text
//! network sequence {length = 10, direction = forward, input_dim = 1, input_dtype = f32, output_dim = 1, output_dtype = f32}
//! init f32[1, 2] = [[0.0, 0.0]]
//! cell {
//!   input %x_t: f32[1, 1]
//!   input %h: f32[1, 2]
//!   ...
//!   output %y, %h_next
//! }
//! ```
//!
//! # Format
//! - One item per line: `input`, `const` (with its data), or a node
//!   `%a: T, %b: T = Op(%x, _, %y) {attr = value, ..} @node_name` (a node without results starts
//!   with `=`). Items appear in value-arena order and values are numbered in order of definition,
//!   the k-th `input` line being graph input k. So a graph round-trips exactly when each node's
//!   results follow the earlier nodes' in the arena (as [`Graph::add_node`](super::Graph::add_node)
//!   makes them) and its inputs were added in input order; inputs and constants may sit anywhere.
//! - Ops use their ONNX names; `_` is an absent optional operand; attributes are the IR fields, all
//!   printed (`clip = none` for an absent clip); a `Scan` body is `body = graph { .. }`.
//! - Types are `f32[1, 3]`, `i64[]`, `bool[2]`. Data is nested brackets in row-major order; blocks of
//!   more than eight elements are wrapped one row (or eight numbers) per line. `f32` elements use
//!   Rust's shortest round-trip form plus `inf`, `-inf` and `nan` (a NaN's sign and payload are not
//!   kept).
//! - Names are untrusted text: a name made only of ASCII letters, digits, `_`, `.` and `/` prints
//!   bare (`%h0`, `@/fc/Gemm`), any other name is quoted with escapes (`%"a \"b\"\n"`); control and
//!   other invisible characters are always written `\u{..}`. When several values of one graph share a
//!   name, the k-th one after the first is written `%name~k`; the suffix is not part of the name.
//! - `#` starts a comment that runs to the end of the line.
//!
//! # Errors
//! Syntax errors and semantic errors (an undefined or twice-defined value, an unknown op, element
//! type or attribute, a missing attribute or one of the wrong kind, data that does not match its
//! declared shape) are a [`TextError`] with the byte span of the offending text. The parser checks
//! only what it needs to build the IR; run [`validate_network`](super::validate::validate_network) for
//! the structural invariants.

mod attrs;
mod grammar;
mod literal;
mod parse;
mod print;

pub use parse::parse;
pub use print::print;
pub(crate) use print::{dtype_name, type_text};

/// A syntax or semantic error in network text, with the byte span it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TextError {
    pub message: String,
    pub span: std::ops::Range<usize>,
}

/// True when `name` can be written without quotes: non-empty, only ASCII letters, digits, `_`,
/// `.` and `/` (the characters of the grammar's `bare` rule).
pub(crate) fn is_bare(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/'))
}

/// Writes a name as the text form does after a sigil: bare when [`is_bare`], else quoted with
/// `\"`, `\\`, `\n`, `\r`, `\t` and `\u{..}` escapes for every character that is not printable.
pub(crate) fn quote_name(name: &str) -> String {
    if is_bare(name) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\'' => out.push('\''),
            // `escape_debug` escapes exactly the characters that do not print as themselves
            // (controls, format characters such as bidi overrides, lone combining marks).
            c if c.escape_debug().next() == Some('\\') => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value name as diagnostics show it: `%` and the name as the text form writes it.
pub(crate) fn value_label(name: &str) -> String {
    format!("%{}", quote_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_bare_and_others_are_quoted() {
        assert_eq!(quote_name("h0"), "h0");
        assert_eq!(quote_name("/fc/Gemm_output_0"), "/fc/Gemm_output_0");
        assert_eq!(quote_name(""), "\"\"");
        assert_eq!(quote_name("onnx::Gemm_5"), "\"onnx::Gemm_5\"");
        assert_eq!(quote_name("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
        assert_eq!(quote_name("x\u{202e}y"), "\"x\\u{202e}y\"");
        assert_eq!(quote_name("héllo"), "\"héllo\"");
        assert_eq!(quote_name("it's\\"), "\"it's\\\\\"");
    }
}
