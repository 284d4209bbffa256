//! The Python back end: a program IR to a plain CPython 3 module.
//!
//! The module runs on CPython 3.8+ with no third-party imports (`import math` only when used)
//! and exposes `predict`: `predict(seq)` for sequence programs (a list of steps in, the list
//! of per-step outputs out), `predict(a, b, ...)` for pointwise programs. Its text is exactly
//! what `ruff format` would make of it and passes `ruff check` with the default rules.
//!
//! Passes, one per file: [`names`] allocates every identifier, [`tidy`] rewrites expressions
//! into the exact equivalents a reader (and `ruff check`) expects, [`precedence`] turns program
//! expressions into Python expressions with the parentheses precedence needs, [`writer`]
//! assembles the module's statements, [`layout`] breaks them across lines as ruff does, using
//! the document printer in [`doc`]; [`literal`] prints numbers and docstring text.
//!
//! **Invariant:** text from the model (variable, table and argument name hints, header fields)
//! reaches the output only through the name allocator or docstring escaping.

mod doc;
mod layout;
mod literal;
mod names;
mod precedence;
mod syntax;
mod tidy;
mod writer;

use crate::diag::{Diagnose, Location};
use crate::program::Program;

/// What the module's header docstring says.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// `sha256:` digest of the source model file.
    pub model_digest: String,
    /// The nn2py version that wrote the module.
    pub nn2py_version: String,
    /// One or more lines summarising the verification result.
    pub verification: String,
}

/// Why a program could not be printed: a handle out of range, a variable read but never
/// assigned, a call with the wrong number of arguments, a malformed table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PythonError {
    pub message: String,
    /// The variable or table concerned, when there is one.
    pub location: Location,
}

impl PythonError {
    fn new(message: impl Into<String>, location: Location) -> Self {
        PythonError {
            message: message.into(),
            location,
        }
    }
}

impl Diagnose for PythonError {
    fn location(&self) -> Location {
        self.location.clone()
    }
}

/// Writes the program as a Python module exposing `predict`.
///
/// The same program and header always give the same bytes. Errors (never panics) on programs
/// whose handles are out of range, that read a variable nothing assigns, call a function with
/// the wrong number of arguments, assign a different number of values than targets, or hold
/// a table whose data does not fill its rows.
pub fn write_module(program: &Program, header: &Header) -> Result<String, PythonError> {
    // Expressions from large models nest deeply (sums of thousands of terms) and the passes
    // recurse over them, so they run on a thread with a stack sized for that.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("nn2py-python".to_string())
            .stack_size(WRITER_STACK_BYTES)
            .spawn_scoped(scope, || writer::write(program, header))
            .map_err(|error| {
                PythonError::new(
                    format!("cannot start the Python writer: {error}"),
                    Location::Unknown,
                )
            })?
            .join()
            .map_err(|_| PythonError::new("the Python writer failed", Location::Unknown))?
    })
}

/// Stack for the writer thread: room for expression trees tens of thousands deep.
const WRITER_STACK_BYTES: usize = 512 * 1024 * 1024;
