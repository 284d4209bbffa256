//! What `compile` is asked to do: [`Options`] and the choices they hold.

use serde::Serialize;

use crate::front::onnx::Limits;
use crate::lift::LiftOptions;
use crate::rewrite;
use crate::verify::domain::Range;
use crate::verify::VerifyOptions;

/// How the network's outputs are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// As the real numbers the network computes.
    Raw,
    /// Rounded to the nearest integer (half to even): the network computes an integer function.
    /// Programs return integers and are checked exactly against the rounded outputs.
    Round,
}

impl Readout {
    /// Parses `raw` or `round`.
    pub fn parse(text: &str) -> Option<Readout> {
        match text.trim() {
            "raw" => Some(Readout::Raw),
            "round" => Some(Readout::Round),
            _ => None,
        }
    }
}

/// How far the pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Network,
    Program,
    Python,
}

/// Whether the model is a sequence model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindChoice {
    /// Sequence when the model has recurrent ops, or maps `[N, T, d]` to `[N, T, o]` and re-rolls.
    Auto,
    Pointwise,
    Sequence,
}

/// Everything `compile` needs besides the model bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Input domain ranges as given by the user; `None` falls back to the model's metadata.
    pub domain: Option<Vec<Range>>,
    /// Sequence length to bind.
    pub length: Option<usize>,
    pub kind: KindChoice,
    pub limits: Limits,
    pub verify: VerifyOptions,
    /// The `python3` executable for running the written module; `None` skips that check.
    pub python: Option<String>,
    pub emit: Emit,
    /// How outputs are read; `None` falls back to the model's metadata, then to raw.
    pub readout: Option<Readout>,
    /// Whether to try lifting the network to the program it implements (else the faithful
    /// lowering alone).
    pub lift: bool,
    pub lift_options: LiftOptions,
    /// Whether to bring the network's weights to normal form (`normal`) before the faithful
    /// lowering, when it is the program written.
    pub normalise: bool,
    /// Limits of the readability rewrite (equality saturation) run on lifted programs.
    pub rewrite: rewrite::Options,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            domain: None,
            length: None,
            kind: KindChoice::Auto,
            limits: Limits::default(),
            verify: VerifyOptions::default(),
            python: None,
            emit: Emit::Python,
            readout: None,
            lift: true,
            lift_options: LiftOptions::default(),
            normalise: true,
            rewrite: rewrite::Options::default(),
        }
    }
}
