//! nn2py: compile trained neural networks (ONNX) into readable, verified Python.
//!
//! See `ARCHITECTURE.md` for the bird's-eye view and the code map.

pub mod back;
pub mod diag;
pub mod front;
pub mod lower;
pub mod network;
pub mod program;
