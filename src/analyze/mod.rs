//! Analyses of a network: they read the network IR (run by the reference interpreter) and
//! return reports; they never change an IR.

pub mod complexity;
pub mod features;
