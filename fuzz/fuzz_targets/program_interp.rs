//! Fuzz target: see `entry::program_interp`.
#![no_main]

// Each target uses one of the shared entry points.
#[allow(dead_code)]
#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::program_interp(data));
