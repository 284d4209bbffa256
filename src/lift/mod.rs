//! Lifting: from the behaviour of a trained network to the short program it implements.
//!
//! [`regress`] finds the smallest formula that reproduces a table of observed values exactly.

pub mod regress;
