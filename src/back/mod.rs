//! Back ends: printing the program IR.

pub mod python;
