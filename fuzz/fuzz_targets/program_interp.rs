//! Fuzz target: see `entry::program_interp`.
#![no_main]

#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::program_interp(data));
