//! Locations of errors and their rendering with codespan-reporting.
//!
//! Every stage's error type implements [`Diagnose`], which says where the problem is: an ONNX node
//! (its name and op type), a value, or a span of a text-IR source. [`render`] turns such an error
//! into the text the CLI prints. Names from a model are shown escaped (`escape_debug`), so a hostile
//! name cannot forge terminal output.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};

/// A node of an ONNX graph, as named in diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    /// The node's `name` field (possibly empty).
    pub name: String,
    /// The node's `op_type`.
    pub op_type: String,
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node \"{}\" ({})",
            self.name.escape_debug(),
            self.op_type.escape_debug()
        )
    }
}

/// A source text and a byte range in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpan {
    /// What to call the source in the message (a file name, or `<input>`).
    pub source_name: String,
    pub source: String,
    pub span: Range<usize>,
}

/// Where an error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Nowhere in particular (a whole-file problem).
    Unknown,
    /// A node of the model.
    Node(NodeRef),
    /// A named value (tensor) of the model.
    Value(String),
    /// A span of a text source.
    Text(SourceSpan),
}

/// An error that knows where it is.
pub trait Diagnose: std::error::Error {
    /// Where the error is; [`Location::Unknown`] when it concerns the whole input.
    fn location(&self) -> Location;
}

/// Renders an error as plain text (no colour), located as precisely as the error allows.
pub fn render(error: &dyn Diagnose) -> String {
    let message = error.to_string();
    let mut notes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        notes.push(format!("caused by: {cause}"));
        source = cause.source();
    }
    let config = Config::default();
    match error.location() {
        Location::Text(span) => {
            let file = SimpleFile::new(span.source_name.clone(), span.source.clone());
            let end = span.span.end.min(span.source.len());
            let start = span.span.start.min(end);
            let diagnostic = Diagnostic::error()
                .with_message(message)
                .with_labels(vec![Label::primary((), start..end)])
                .with_notes(notes);
            // Rendering into memory cannot fail for a span clamped to the source; fall back to
            // the bare message all the same.
            term::emit_into_string(&config, &file, &diagnostic)
                .unwrap_or_else(|_| error.to_string())
        }
        other => {
            match other {
                Location::Node(node) => notes.insert(0, format!("in {node}")),
                Location::Value(name) => {
                    notes.insert(0, format!("in value \"{}\"", name.escape_debug()))
                }
                Location::Unknown | Location::Text(_) => {}
            }
            let file = SimpleFile::new("", "");
            let diagnostic = Diagnostic::error().with_message(message).with_notes(notes);
            term::emit_into_string(&config, &file, &diagnostic)
                .unwrap_or_else(|_| error.to_string())
        }
    }
}
