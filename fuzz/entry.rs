//! The fuzzed entry points, shared by the fuzz targets (`fuzz_targets/`) and the regression test
//! (`tests/fuzz_regressions.rs`, which includes this file), so a kept crash input replays through
//! exactly the code that found it.
//!
//! Each entry point must return normally for every input: a panic, an abort, a hang or a runaway
//! allocation is a bug in nn2py. Malformed input must come back as an error value. The checks
//! below that do `assert!` state contracts of the library (text forms round-trip).

use nn2py::driver::{self, Emit, Options};
use nn2py::front::onnx::Limits;
use nn2py::network::text as network_text;
use nn2py::network::validate::validate_network;
use nn2py::program::interp::{Interpreter, Scalar};
use nn2py::program::text as program_text;
use nn2py::program::{Program, Signature, Type};
use nn2py::verify::VerifyOptions;

/// Limits small enough that one fuzz input runs in milliseconds.
pub fn small_limits() -> Limits {
    Limits {
        max_model_bytes: 1 << 20,
        max_tensor_elements: 1 << 12,
        max_nodes: 256,
        ..Limits::default()
    }
}

/// ONNX bytes (or network text) through the whole driver with small limits: import, rolling,
/// lowering, verification on a few inputs, the Python writer. Lifting is off (it is a search
/// with its own budgets and would dominate the time per input).
pub fn onnx_import(bytes: &[u8]) {
    let options = Options {
        limits: small_limits(),
        verify: VerifyOptions {
            samples: 8,
            exhaustive_limit: 64,
            ..VerifyOptions::default()
        },
        emit: Emit::Python,
        lift: false,
        ..Options::default()
    };
    let _ = driver::compile(bytes, &options);
}

/// Network IR text: parse; a parsed network verifies or not, and prints to text that parses back
/// to the same print.
pub fn network_text(bytes: &[u8]) {
    let Ok(source) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(network) = network_text::parse(source) else {
        return;
    };
    let _ = validate_network(&network);
    let printed = network_text::print(&network);
    match network_text::parse(&printed) {
        Ok(again) => assert_eq!(network_text::print(&again), printed, "print is not stable"),
        Err(e) => panic!("printed network does not parse back: {e}\n{printed}"),
    }
}

/// Program IR text: parse; a parsed program verifies or not, and prints to text that parses back
/// to the same print.
pub fn program_text(bytes: &[u8]) {
    let Ok(source) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(program) = program_text::parse(source) else {
        return;
    };
    let _ = nn2py::program::validate::validate(&program);
    let printed = program_text::print(&program);
    match program_text::parse(&printed) {
        Ok(again) => assert_eq!(program_text::print(&again), printed, "print is not stable"),
        Err(e) => panic!("printed program does not parse back: {e}\n{printed}"),
    }
}

/// Most steps one fuzzed sequence runs for: the program interpreter has no loops of its own, so
/// this bounds the work of one input.
const MAX_STEPS: usize = 32;

/// Program text, a NUL byte, then the input values: parse, compile, run on inputs drawn from the
/// bytes after the NUL (one byte per feature, per step for sequence programs).
pub fn program_interp(bytes: &[u8]) {
    let split = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let (text, rest) = bytes.split_at(split);
    let data = rest.get(1..).unwrap_or_default();
    let Ok(source) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(program) = program_text::parse(source) else {
        return;
    };
    let Ok(interpreter) = Interpreter::new(&program) else {
        return;
    };
    let mut values = Values { data, at: 0 };
    match &program.signature {
        Signature::Pointwise { arguments } => {
            let args: Vec<Vec<Scalar>> = arguments
                .iter()
                .map(|a| {
                    a.features
                        .iter()
                        .map(|&v| values.next(&program, v))
                        .collect()
                })
                .collect();
            let _ = interpreter.run_pointwise(&args);
        }
        Signature::Sequence { step_inputs, .. } => {
            let per_step = step_inputs.len().max(1);
            let steps = (data.len() / per_step).min(MAX_STEPS);
            let seq: Vec<Vec<Scalar>> = (0..steps)
                .map(|_| {
                    step_inputs
                        .iter()
                        .map(|&v| values.next(&program, v))
                        .collect()
                })
                .collect();
            let _ = interpreter.run_sequence(&seq);
        }
    }
}

/// Input values drawn from fuzz bytes, cycling when they run out.
struct Values<'a> {
    data: &'a [u8],
    at: usize,
}

impl Values<'_> {
    /// A value of the variable's type: small and extreme integers, special floats, booleans.
    fn next(&mut self, program: &Program, var: nn2py::program::VarId) -> Scalar {
        let byte = match self.data.len() {
            0 => 0,
            n => self.data[self.at % n],
        };
        self.at += 1;
        let ty = program.vars.get(var.0 as usize).map(|v| v.ty);
        match ty {
            Some(Type::Int) | None => Scalar::Int(match byte {
                255 => i64::MAX,
                254 => i64::MIN,
                b => i64::from(b) - 128,
            }),
            Some(Type::Float) => Scalar::Float(match byte {
                255 => f64::NAN,
                254 => f64::INFINITY,
                253 => f64::NEG_INFINITY,
                252 => f64::MAX,
                251 => -0.0,
                b => (f64::from(b) - 125.0) / 4.0,
            }),
            Some(Type::Bool) => Scalar::Bool(byte & 1 == 1),
        }
    }
}
