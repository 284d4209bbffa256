//! Why compilation stopped: [`CompileError`], located where its stage can say where.

use crate::back::python::PythonError;
use crate::diag::{Diagnose, Location, SourceSpan};
use crate::front::metadata::DOMAIN_METADATA_KEY;
use crate::front::onnx::ImportError;
use crate::front::sequence::RollError;
use crate::lower::faithful::LowerError;
use crate::network::text::TextError;
use crate::network::validate::ValidateError as NetworkValidateError;
use crate::program::validate::ValidateError as ProgramValidateError;
use crate::verify::domain::DomainError;
use crate::verify::python::PythonRunError;
use crate::verify::{Agreement, ReferenceError};

/// Why compilation stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Roll(#[from] RollError),
    #[error(transparent)]
    Network(#[from] NetworkValidateError),
    #[error("{error}")]
    NetworkText { error: TextError, text: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Reference(#[from] ReferenceError),
    #[error(
        "the rolled cell does not reproduce the whole model: {}",
        .0.summary()
    )]
    RollingChanged(Box<Agreement>),
    #[error(transparent)]
    Lower(#[from] LowerError),
    #[error(transparent)]
    Program(#[from] ProgramValidateError),
    #[error(transparent)]
    Python(#[from] PythonError),
    #[error(transparent)]
    PythonRun(#[from] PythonRunError),
    #[error(
        "no input domain: pass --domain (for example --domain 0..100, one range per input or per \
         feature), or store it in the model's metadata under \"{DOMAIN_METADATA_KEY}\""
    )]
    NoDomain,
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the generated module for python3: {0}")]
    Scratch(String),
    /// The network is over one of the import [`Limits`](crate::front::onnx::Limits) (the
    /// message names it and the flag that raises it).
    #[error("{0}")]
    Limit(String),
}

impl Diagnose for CompileError {
    fn location(&self) -> Location {
        match self {
            CompileError::Import(e) => e.location(),
            CompileError::Roll(e) => e.location(),
            CompileError::NetworkText { error, text } => Location::Text(SourceSpan {
                source_name: "<network text>".to_string(),
                source: text.clone(),
                span: error.span.clone(),
            }),
            CompileError::Network(_)
            | CompileError::Domain(_)
            | CompileError::Reference(_)
            | CompileError::RollingChanged(_)
            | CompileError::Lower(_)
            | CompileError::Program(_)
            | CompileError::Python(_)
            | CompileError::PythonRun(_)
            | CompileError::NoDomain
            | CompileError::Usage(_)
            | CompileError::Scratch(_)
            | CompileError::Limit(_) => Location::Unknown,
        }
    }
}
