//! Flag groups that map to one of the library's options structs, and the parsing of flags that
//! several commands take.
//!
//! `--domain`, `--samples` and `--seed` are parsed here for every command that takes them; each
//! command declares them itself, since their help and defaults differ from command to command.

use std::time::Duration;

use clap::{Args, ValueEnum};

use nn2py::driver::{Emit, KindChoice, Readout};
use nn2py::front::onnx::Limits;
use nn2py::rewrite;
use nn2py::verify::domain::{self, Range};
use nn2py::verify::VerifyOptions;

use super::output::Failure;

/// `--emit`: what a conversion writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    Network,
    Program,
    Python,
}

impl From<EmitArg> for Emit {
    fn from(emit: EmitArg) -> Emit {
        match emit {
            EmitArg::Network => Emit::Network,
            EmitArg::Program => Emit::Program,
            EmitArg::Python => Emit::Python,
        }
    }
}

/// `--readout`: how the network's outputs are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadoutArg {
    Raw,
    Round,
}

impl From<ReadoutArg> for Readout {
    fn from(readout: ReadoutArg) -> Readout {
        match readout {
            ReadoutArg::Raw => Readout::Raw,
            ReadoutArg::Round => Readout::Round,
        }
    }
}

/// `--kind`: pointwise, sequence, or decided from the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Auto,
    Pointwise,
    Sequence,
}

impl From<KindArg> for KindChoice {
    fn from(kind: KindArg) -> KindChoice {
        match kind {
            KindArg::Auto => KindChoice::Auto,
            KindArg::Pointwise => KindChoice::Pointwise,
            KindArg::Sequence => KindChoice::Sequence,
        }
    }
}

/// The input limits ([`Limits`]).
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Largest accepted model file, in bytes.
    #[arg(long, default_value_t = Limits::default().max_model_bytes)]
    pub max_model_bytes: usize,

    /// Largest accepted tensor, in elements.
    #[arg(long, default_value_t = Limits::default().max_tensor_elements)]
    pub max_tensor_elements: usize,

    /// Largest accepted graph, in nodes.
    #[arg(long, default_value_t = Limits::default().max_nodes)]
    pub max_nodes: usize,

    /// Longest accepted chain of dependent nodes.
    #[arg(long, default_value_t = Limits::default().max_graph_depth)]
    pub max_graph_depth: usize,

    /// Longest accepted sequence (time axis).
    #[arg(long, default_value_t = Limits::default().max_sequence_length)]
    pub max_sequence_length: usize,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_model_bytes: self.max_model_bytes,
            max_tensor_elements: self.max_tensor_elements,
            max_nodes: self.max_nodes,
            max_graph_depth: self.max_graph_depth,
            max_sequence_length: self.max_sequence_length,
        }
    }
}

/// The readability rewrite's budget ([`rewrite::Options`]).
#[derive(Debug, Args)]
pub struct RewriteArgs {
    /// Most rule-application rounds of the readability rewrite, per expression.
    #[arg(long, default_value_t = rewrite::Options::default().iter_limit)]
    pub rewrite_iterations: usize,

    /// Most e-nodes of the readability rewrite's e-graph, per expression.
    #[arg(long, default_value_t = rewrite::Options::default().node_limit)]
    pub rewrite_nodes: usize,

    /// Most milliseconds of the readability rewrite, per expression.
    #[arg(long, default_value_t = rewrite::Options::default().time_limit.as_millis() as u64)]
    pub rewrite_time_ms: u64,
}

impl RewriteArgs {
    pub fn options(&self) -> rewrite::Options {
        rewrite::Options {
            iter_limit: self.rewrite_iterations,
            node_limit: self.rewrite_nodes,
            time_limit: Duration::from_millis(self.rewrite_time_ms),
        }
    }
}

/// `--domain`, when given: its ranges; a bad one is bad usage.
pub fn domain(text: Option<&str>) -> Result<Option<Vec<Range>>, Failure> {
    text.map(domain::parse_ranges)
        .transpose()
        .map_err(Failure::error)
}

/// Verification by `samples` inputs drawn with `seed` where the domain is too large to enumerate
/// (`--samples`, `--seed`), otherwise the defaults.
pub fn sampling(samples: usize, seed: u64) -> VerifyOptions {
    VerifyOptions {
        samples,
        seed,
        ..VerifyOptions::default()
    }
}
