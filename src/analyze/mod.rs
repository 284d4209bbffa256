//! Analyses of a network: passes that read the network IR and return a report, never changing it.

pub mod complexity;
