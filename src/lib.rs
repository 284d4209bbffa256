//! nn2py: compile trained neural networks (ONNX) into readable, verified Python.
//!
//! See `ARCHITECTURE.md` for the bird's-eye view and the code map. The pipeline is
//! [`driver::compile`].

pub mod analyze;
pub mod back;
pub mod bench;
pub mod diag;
pub mod driver;
pub mod export;
pub mod front;
pub mod lift;
pub mod lower;
pub mod network;
pub mod normal;
pub mod onnx_write;
pub mod program;
pub mod rewrite;
pub mod rng;
pub mod synth;
pub mod tasks;
pub mod train;
pub mod verify;
