//! The text form of the program IR (grammar: `grammar/program.pest`).

use super::Program;

/// A syntax or semantic error in program text, with the byte span it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TextError {
    pub message: String,
    pub span: std::ops::Range<usize>,
}

/// Prints a program in its text form; [`parse`] reads it back to an equal program.
pub fn print(_program: &Program) -> String {
    unimplemented!("program text: stub")
}

/// Parses the text form.
pub fn parse(_source: &str) -> Result<Program, TextError> {
    unimplemented!("program text: stub")
}
