//! The keys nn2py reads from and writes to an ONNX model's `metadata_props`.
//!
//! Every key is optional when reading: the command line can give the same facts, and a model
//! without them is compiled from its graph alone. The writers in `export` store all that apply.

/// The model's input domain, in the syntax of `--domain` (for example `0..100`, one range per
/// input or per feature).
pub const DOMAIN_METADATA_KEY: &str = "nn2py.domain";

/// How the model's outputs are read: `round` (to the nearest integer) or `raw`.
pub const READOUT_METADATA_KEY: &str = "nn2py.readout";

/// The sequence length the model was trained on (a positive integer); it binds a symbolic time
/// axis when no length is given.
pub const LENGTH_METADATA_KEY: &str = "nn2py.length";

/// The name of the task the model was trained for.
pub const TASK_METADATA_KEY: &str = "nn2py.task";
