//! The model cache of the benchmark: per task, `DIR/<Task>.onnx` (the network, exactly as the
//! converter reads it) and `DIR/<Task>.json` (a [`TrainingRecord`]: how it was trained).
//!
//! The ONNX file is the cache: the harness never reads weights back, it only converts the file.
//! The record exists because training facts (time, steps, the search's verdict) are not in the
//! ONNX. A model without a record is still used; its training facts are then unknown.
//!
//! Files are written atomically ([`write_atomically`]), so an interrupted run leaves either the
//! old file or the new one, never a truncated one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::driver::VERSION;
use crate::tasks::Task;
use crate::train::model::Architecture;
use crate::train::{TrainOptions, Trained};

/// Version of the [`TrainingRecord`] layout; bumped on any incompatible change.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// Exact-match counts on the trainer's final check set (a copy of
/// [`crate::train::fit::Accuracy`] that can be read back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckAccuracy {
    pub values_correct: usize,
    pub values: usize,
    pub sequences_correct: usize,
    pub sequences: usize,
}

impl CheckAccuracy {
    /// Fraction of sequences entirely right (0 for an empty check set).
    pub fn sequence_rate(&self) -> f64 {
        crate::verify::fraction(self.sequences_correct, self.sequences)
    }

    /// True when every value of a non-empty check set was right.
    pub fn is_exact(&self) -> bool {
        self.values > 0 && self.values_correct == self.values
    }
}

/// How a cached network was trained (the sidecar `DIR/<Task>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    pub schema_version: u32,
    pub task: String,
    pub architecture: Architecture,
    /// `architecture` in the trainer's notation, e.g. `h=2 f=[8] g=[]`.
    pub architecture_text: String,
    pub parameters: usize,
    pub nonzero: usize,
    pub steps: usize,
    /// Of `steps`, those spent polishing (absent in records written before polishing existed).
    #[serde(default)]
    pub polish_steps: usize,
    /// Wall time of the whole training run.
    pub seconds: f64,
    pub check: CheckAccuracy,
    /// The run's seed (`--seed`).
    pub seed: u64,
    /// The nn2py version that trained it.
    pub nn2py_version: String,
    /// The trainer's settings of the run ([`crate::train::TrainOptions`] as it serialises: the
    /// search, polishing, simplification and data sizes). Absent in records written before it
    /// was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
    /// The model file the run continued (`nn2py train --from`); absent for a run that searched.
    /// `steps` and `seconds` are then this run's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continued_from: Option<String>,
}

impl TrainingRecord {
    /// The record of `trained`, a network for `task` trained with `options`.
    pub fn of(task: &Task, trained: &Trained, options: &TrainOptions) -> TrainingRecord {
        TrainingRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            task: task.name.to_string(),
            architecture: trained.architecture.clone(),
            architecture_text: trained.architecture.to_string(),
            parameters: trained.parameters,
            nonzero: trained.nonzero,
            steps: trained.steps,
            polish_steps: trained.polish_steps,
            seconds: trained.seconds,
            check: CheckAccuracy {
                values_correct: trained.check.values_correct,
                values: trained.check.values,
                sequences_correct: trained.check.sequences_correct,
                sequences: trained.check.sequences,
            },
            seed: options.seed,
            nn2py_version: VERSION.to_string(),
            options: serde_json::to_value(options).ok(),
            continued_from: None,
        }
    }

    /// The record as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        // A record holds only numbers and strings, so encoding cannot fail; fall back to an
        // empty object rather than panic.
        let text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string());
        format!("{text}\n")
    }
}

/// A cache file that could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", .path.display().to_string().escape_debug())]
pub struct CacheError {
    pub path: PathBuf,
    pub message: String,
}

impl CacheError {
    fn new(path: &Path, message: impl ToString) -> Self {
        CacheError {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

/// `DIR/<Task>.onnx`.
pub fn model_path(dir: &Path, task: &Task) -> PathBuf {
    dir.join(format!("{}.onnx", task.name))
}

/// The record beside a model file: the same path with the extension `json`.
pub fn record_path(model: &Path) -> PathBuf {
    model.with_extension("json")
}

/// A cached network: the ONNX bytes, and its training record when there is a readable one.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub onnx: Vec<u8>,
    pub record: Option<TrainingRecord>,
    /// Why the record is missing or was ignored (absent, unreadable, for another task).
    pub record_note: Option<String>,
}

/// The cached network of `task` in `dir`, `None` when `DIR/<Task>.onnx` does not exist.
///
/// Errors: the model file exists but cannot be read. A missing, unreadable or mismatched
/// record is not an error (see [`Cached::record_note`]).
pub fn load(dir: &Path, task: &Task) -> Result<Option<Cached>, CacheError> {
    let model = model_path(dir, task);
    let onnx = match std::fs::read(&model) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CacheError::new(&model, e)),
    };
    let path = record_path(&model);
    let (record, record_note) = match std::fs::read(&path) {
        Err(e) => (None, Some(format!("no training record: {e}"))),
        Ok(bytes) => match serde_json::from_slice::<TrainingRecord>(&bytes) {
            Err(e) => (None, Some(format!("unreadable training record: {e}"))),
            Ok(r) if r.task != task.name => (
                None,
                Some(format!(
                    "the training record is for task {}",
                    r.task.escape_debug()
                )),
            ),
            Ok(r) => (Some(r), None),
        },
    };
    Ok(Some(Cached {
        onnx,
        record,
        record_note,
    }))
}

/// Writes `DIR/<Task>.onnx` and `DIR/<Task>.json` (creating `dir` if needed), each atomically;
/// the model first, so a record never describes a model that is not there.
pub fn store(
    dir: &Path,
    task: &Task,
    onnx: &[u8],
    record: &TrainingRecord,
) -> Result<(), CacheError> {
    std::fs::create_dir_all(dir).map_err(|e| CacheError::new(dir, e))?;
    let model = model_path(dir, task);
    write_atomically(&model, onnx).map_err(|e| CacheError::new(&model, e))?;
    let path = record_path(&model);
    write_atomically(&path, record.to_json().as_bytes()).map_err(|e| CacheError::new(&path, e))
}

/// Writes a file so that readers see either the old content or the whole new content: the bytes
/// go to a temporary file in the same directory, which is then renamed over the target. The
/// temporary file is removed on failure.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Several threads of one process may write in the same directory at once.
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let tmp = dir.join(format!(
        ".{name}.nn2py-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the error that matters is the write's, not the clean-up's.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks;

    fn record(task: &str) -> TrainingRecord {
        let architecture = Architecture {
            hidden: 2,
            f_widths: vec![8],
            g_widths: vec![],
        };
        TrainingRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            task: task.to_string(),
            architecture_text: architecture.to_string(),
            architecture,
            parameters: 45,
            nonzero: 30,
            steps: 1200,
            polish_steps: 0,
            seconds: 1.5,
            check: CheckAccuracy {
                values_correct: 100,
                values: 100,
                sequences_correct: 10,
                sequences: 10,
            },
            seed: 7,
            nn2py_version: VERSION.to_string(),
            options: None,
            continued_from: None,
        }
    }

    #[test]
    fn store_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let task = tasks::by_name("Sum_All").unwrap();
        assert_eq!(load(dir.path(), task).unwrap(), None);
        let nested = dir.path().join("models");
        store(&nested, task, b"onnx bytes", &record("Sum_All")).unwrap();
        let cached = load(&nested, task).unwrap().unwrap();
        assert_eq!(cached.onnx, b"onnx bytes");
        assert_eq!(cached.record, Some(record("Sum_All")));
        assert_eq!(cached.record_note, None);
        let mut names: Vec<String> = std::fs::read_dir(&nested)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec!["Sum_All.json", "Sum_All.onnx"],
            "no temporaries"
        );
    }

    #[test]
    fn bad_or_foreign_records_are_notes_not_errors() {
        let dir = tempfile::tempdir().unwrap();
        let task = tasks::by_name("Sum_All").unwrap();
        store(dir.path(), task, b"x", &record("Max_Seen")).unwrap();
        let cached = load(dir.path(), task).unwrap().unwrap();
        assert_eq!(cached.record, None);
        assert!(cached.record_note.unwrap().contains("Max_Seen"));
        std::fs::write(dir.path().join("Sum_All.json"), "{not json").unwrap();
        let cached = load(dir.path(), task).unwrap().unwrap();
        assert!(cached.record_note.unwrap().contains("unreadable"));
        std::fs::remove_file(dir.path().join("Sum_All.json")).unwrap();
        let cached = load(dir.path(), task).unwrap().unwrap();
        assert!(cached.record_note.unwrap().contains("no training record"));
    }

    #[test]
    fn write_atomically_replaces_and_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let missing = dir.path().join("no").join("such").join("dir.txt");
        assert!(write_atomically(&missing, b"x").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn check_accuracy_rates() {
        let check = record("Sum_All").check;
        assert!(check.is_exact());
        assert_eq!(check.sequence_rate(), 1.0);
        let empty = CheckAccuracy {
            values_correct: 0,
            values: 0,
            sequences_correct: 0,
            sequences: 0,
        };
        assert!(!empty.is_exact());
        assert_eq!(empty.sequence_rate(), 0.0);
    }
}
