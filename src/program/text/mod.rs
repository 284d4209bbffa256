//! The text form of the program IR (grammar: `grammar/program.pest`).
//!
//! # Layout
//! ```text
//! program sequence forward (x, t)
//! input x: float
//! input t: int
//! state h: float
//! local a: float
//! table EMB: float[2 x 2] = [
//!   [0.5, 1.0],
//!   [-2.0, 3.0],
//! ]
//! init {
//!   h = 0.0
//! }
//! body {
//!   a = tanh(0.5 * h + x) if t >= 0 else EMB[t][1]
//!   h = a
//! }
//! output h + 1.0, a
//! ```
//! The header gives the [`Signature`](super::Signature): `program sequence forward|reverse
//! (step inputs)` or `program pointwise (arg: [features], ...)`. Then every variable is declared
//! in arena order (`input`, `state` or `local`, name, type) and every table in arena order. A
//! table's rows are printed one per line; `[R x C]` gives the row and column counts. `init { }`
//! is printed only when it holds statements; `body { }` always. `output` lists the output
//! expressions (`output ()` when there are none); `() = ()` is an assignment with no targets.
//!
//! # Names
//! A name that is a plain ASCII identifier (and not one of the expression keywords `and or not
//! if else true false inf nan`) is printed as is; any other name is a quoted string with escapes
//! (`\\`, `\"`, `\n`, `\t`, `\r`, `\u{..}` for everything outside printable ASCII), so text
//! from a model never reaches the output raw. When several variables (or several tables) share a
//! name, each is printed with its handle, `h@3`, `h@7`. A handle outside the arena (an invalid
//! program) is printed as `@12`, so that every program prints and parses back.
//!
//! # Expressions
//! Precedence follows Python, loosest first: `x if c else y`, `or`, `and`, `not`, comparisons
//! (`< <= > >= == !=`, not chained), `^` (xor), `+ -`, `* / // %`, unary `-`, then calls
//! (`tanh(x)`, `max(a, b, c)`), lookups (`EMB[i][2]`), names, literals and parentheses. Binary
//! operators associate to the left. The printer writes only the parentheses the structure needs.
//! `-1.5` is one negative literal; the negation of a literal is printed `-(1.5)`.
//!
//! # Literals
//! Floats use Rust's shortest round-trip form (`0.1`, `1e-7`, `-0.0`) plus `inf`, `-inf` and
//! `nan`; a float always has a `.` or an exponent, so `1` is an `Int` and `1.0` a `Float`.
//! Booleans are `true` and `false`. `#` starts a comment that runs to the end of the line.
//!
//! # Contract
//! For every program `p` (valid or not), `parse(&print(&p))` is equal to `p` (NaN payloads and
//! signs aside), and `print(&parse(s)?) == s` for any `s` that `print` produced.

mod parse;
mod print;

pub use parse::parse;
pub use print::print;
pub(crate) use print::{binary_symbol, func_name, name_text, type_name};

/// A syntax or semantic error in program text, with the byte span it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TextError {
    pub message: String,
    pub span: std::ops::Range<usize>,
}

impl TextError {
    /// The error located in `source` (named `source_name` in messages), ready for
    /// [`crate::diag::render`].
    pub fn located(&self, source_name: &str, source: &str) -> LocatedTextError {
        LocatedTextError {
            error: self.clone(),
            at: crate::diag::SourceSpan {
                source_name: source_name.to_string(),
                source: source.to_string(),
                span: self.span.clone(),
            },
        }
    }
}

/// A [`TextError`] together with the text it points into.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct LocatedTextError {
    pub error: TextError,
    /// The source and the span of the error in it.
    pub at: crate::diag::SourceSpan,
}

impl crate::diag::Diagnose for LocatedTextError {
    fn location(&self) -> crate::diag::Location {
        crate::diag::Location::Text(self.at.clone())
    }
}

/// Words that cannot be plain identifiers because expressions use them.
const KEYWORDS: [&str; 9] = [
    "and", "or", "not", "if", "else", "true", "false", "inf", "nan",
];

/// True when `name` can be printed without quotes.
fn is_plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !KEYWORDS.contains(&name)
}
