//! How to use nn2py from a Rust test: compile a model with `driver::compile` and pin its program
//! with an insta snapshot. Any change to what nn2py writes for the model (a new rewrite rule, a
//! different lifting) then shows up as a snapshot diff to review (`cargo insta review`), in the
//! same way `nn2py --check` does for a build system.

use nn2py::driver::{self, Emit, Options, Readout};
use nn2py::program::text;
use nn2py::verify::domain::parse_ranges;

#[test]
fn the_bundled_rnn_lifts_to_a_pinned_program() {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pytorch/pt_sum_last2_unrolled.onnx"
    );
    let bytes = std::fs::read(model).unwrap();
    let options = Options {
        domain: Some(parse_ranges("0..100").unwrap()),
        readout: Some(Readout::Round),
        emit: Emit::Program,
        ..Options::default()
    };
    let compilation = driver::compile(&bytes, &options).unwrap();
    assert!(compilation.report.verified());
    let program = text::print(compilation.program.as_ref().unwrap());
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("example_pt_sum_last2_unrolled.program", program);
    });
}
