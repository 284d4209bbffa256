//! What the commands read and write: the model file, files written atomically, standard output,
//! progress bars, and the [`Failure`] a command ends with.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use nn2py::bench::cache;
use nn2py::diag::{render, Diagnose};

/// Exit code of a failed verification, a `--check` that found a difference, or a network that is
/// not exact.
pub const EXIT_MISMATCH: u8 = 1;

/// Exit code of bad usage or bad input.
pub const EXIT_BAD_INPUT: u8 = 2;

/// A failure already rendered for people, with its exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    /// Bad usage or bad input, with the message as it is printed.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: EXIT_BAD_INPUT,
        }
    }

    /// Bad usage or bad input: `error: ` and the error's text.
    pub fn error(error: impl std::fmt::Display) -> Self {
        Failure::bad_input(format!("error: {error}"))
    }
}

/// A located error rendered with the model it concerns: `doing` is what nn2py was doing
/// (`converting`, `analysing`).
pub fn diagnosed(error: &dyn Diagnose, doing: &str, model: &Path) -> String {
    let mut message = render(error);
    message.push_str(&format!(
        "  = while {doing} {}\n",
        model.display().to_string().escape_debug()
    ));
    message
}

/// Reads the model, refusing files larger than the limit before reading them.
pub fn read_model(path: &Path, max_bytes: usize) -> Result<Vec<u8>, Failure> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::bad_input(format!("error: cannot read {}: {e}", shown.escape_debug()))
    })?;
    if meta.len() > max_bytes as u64 {
        return Err(Failure::bad_input(format!(
            "error: {} is {} bytes, over the limit of {max_bytes} (raise it with --max-model-bytes)",
            shown.escape_debug(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| {
        Failure::bad_input(format!("error: cannot read {}: {e}", shown.escape_debug()))
    })
}

/// The training record's path beside a model that a command writes; a model named `*.json`
/// would be overwritten by its record and is bad usage.
pub fn record_path(model: &Path) -> Result<PathBuf, Failure> {
    let record = cache::record_path(model);
    if record == model {
        return Err(Failure::bad_input(
            "error: the model's file name must not end in .json (its training record goes there)",
        ));
    }
    Ok(record)
}

/// Writes a file atomically (see [`cache::write_atomically`]); a failure is bad input.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    cache::write_atomically(path, bytes).map_err(|e| {
        Failure::bad_input(format!(
            "error: cannot write {}: {e}",
            path.display().to_string().escape_debug()
        ))
    })
}

/// Checks, before a long run, that the folder of a `--json` report exists.
pub fn check_report_folder(json: Option<&Path>) -> Result<(), Failure> {
    let Some(path) = json else {
        return Ok(());
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if dir.is_some_and(|d| !d.is_dir()) {
        return Err(Failure::bad_input(format!(
            "error: --json {}: no such directory",
            path.display().to_string().escape_debug()
        )));
    }
    Ok(())
}

/// Writes a `--json` report, when one was asked for.
pub fn write_report(
    path: Option<&Path>,
    json: impl FnOnce() -> Result<String, serde_json::Error>,
) -> Result<(), Failure> {
    let Some(path) = path else {
        return Ok(());
    };
    let json =
        json().map_err(|e| Failure::bad_input(format!("error: cannot encode the report: {e}")))?;
    write_atomically(path, json.as_bytes())
}

/// `--jobs`: at least one; the available cores when not given.
pub fn jobs(requested: Option<usize>) -> Result<usize, Failure> {
    match requested {
        Some(0) => Err(Failure::bad_input("error: --jobs must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Writes text to standard output; a closed pipe is an error, not a panic.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(|e| Failure::bad_input(format!("error: cannot write to stdout: {e}")))
}

/// A progress bar on standard error, drawn only when standard error is a terminal.
pub fn progress_bar(len: u64) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:24} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
