//! The text form of the network IR (grammar: `grammar/network.pest`).

use super::Network;

/// A syntax or semantic error in network text, with the byte span it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TextError {
    pub message: String,
    pub span: std::ops::Range<usize>,
}

/// Prints a network in its text form; [`parse`] reads it back to an equal network.
pub fn print(_network: &Network) -> String {
    unimplemented!("network text: stub")
}

/// Parses the text form.
pub fn parse(_source: &str) -> Result<Network, TextError> {
    unimplemented!("network text: stub")
}
