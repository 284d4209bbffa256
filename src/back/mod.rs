//! Back ends: printing the program IR.

pub mod depfile;
pub mod python;
