//! Fuzz target: see `entry::onnx_import`.
#![no_main]

// Each target uses one of the shared entry points.
#[allow(dead_code)]
#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::onnx_import(data));
