//! The Python back end: a program IR to a plain CPython 3 module.

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

/// Why a program could not be printed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PythonError {
    pub message: String,
}

/// Writes the program as a Python module exposing `predict`.
pub fn write_module(_program: &Program, _header: &Header) -> Result<String, PythonError> {
    unimplemented!("python backend: stub")
}
