//! `nn2py train-zoo` (train the zoo's networks as users train them, write them in PyTorch's
//! export form) and `nn2py bench zoo` (convert and score them).

use std::path::PathBuf;

use clap::Args;

use nn2py::bench::table::render_zoo;
use nn2py::bench::zoo::{self, ZooOptions};
use nn2py::train::zoo::{entries, entry_by_name, ZooEntry};

use super::output::{check_report_folder, jobs, progress_bar, write_report, write_stdout, Failure};

/// `nn2py train-zoo`.
#[derive(Debug, Args)]
pub struct TrainZooArgs {
    /// Networks to train, comma-separated, by name (`Tomita_3-gru32`) or task (default: all).
    #[arg(long, value_delimiter = ',')]
    pub networks: Option<Vec<String>>,

    /// Where to write `NAME.onnx` and `NAME.json`.
    #[arg(long, value_name = "DIR", default_value = "models/zoo")]
    pub models: PathBuf,

    /// Networks trained in parallel (default: the available cores).
    #[arg(long)]
    pub jobs: Option<usize>,

    /// List the zoo's networks and exit.
    #[arg(long)]
    pub list: bool,
}

/// `nn2py bench zoo`.
#[derive(Debug, Args)]
pub struct BenchZooArgs {
    /// The directory of zoo networks (`NAME.onnx` with its record `NAME.json`).
    #[arg(long, value_name = "DIR", default_value = "models/zoo")]
    pub models: PathBuf,

    /// Networks to run, comma-separated, by name or task (default: all in the directory).
    #[arg(long, value_delimiter = ',')]
    pub networks: Option<Vec<String>>,

    /// Networks run in parallel (default: the available cores).
    #[arg(long)]
    pub jobs: Option<usize>,

    /// Write every row and the totals as JSON (schema_version 1) to this path.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// The Python interpreter that runs the generated modules.
    #[arg(long, default_value = "python3")]
    pub python: String,
}

/// Runs the zoo benchmark, prints its table, writes the JSON report. Exits 0 whenever the
/// harness ran (the verdicts are in the table and the report).
pub fn bench(args: &BenchZooArgs) -> Result<u8, Failure> {
    check_report_folder(args.json.as_deref())?;
    let options = ZooOptions {
        only: args.networks.clone().unwrap_or_default(),
        jobs: jobs(args.jobs)?,
        python: args.python.clone(),
        ..ZooOptions::new(args.models.clone())
    };
    let count = zoo::records(&options.models, &options.only)
        .map_err(|e| Failure::bad_input(format!("error: --models: {e}")))?
        .len();
    let bar = progress_bar(count as u64);
    let report = zoo::run(&options, &|record, result| {
        bar.inc(1);
        let verdict = match result {
            Ok(row) if row.lifted => "lifted".to_string(),
            Ok(_) => "not lifted".to_string(),
            Err(e) => format!("error: {e}"),
        };
        bar.println(format!("{:<28} {verdict}", record.name));
    })
    .map_err(|e| Failure::bad_input(format!("error: --models: {e}")))?;
    bar.finish_and_clear();
    write_report(args.json.as_deref(), || report.to_json())?;
    write_stdout(&render_zoo(&report))?;
    Ok(0)
}

/// The entries `names` picks (all when `None`). Errors: a name that is no entry.
fn chosen(names: &Option<Vec<String>>) -> Result<Vec<ZooEntry>, Failure> {
    match names {
        None => Ok(entries()),
        Some(names) => names
            .iter()
            .map(|name| {
                entry_by_name(name.trim()).ok_or_else(|| {
                    Failure::bad_input(format!(
                        "error: --networks: no zoo network \"{}\"; `nn2py train-zoo --list` lists them",
                        name.escape_debug()
                    ))
                })
            })
            .collect(),
    }
}

/// Trains the chosen entries and writes each as ONNX with its record. Exits 1 when a network
/// did not become exact (it is still written, so that it can be looked at).
pub fn train(args: &TrainZooArgs) -> Result<u8, Failure> {
    let picked = chosen(&args.networks)?;
    if args.list {
        let mut text = String::new();
        for e in &picked {
            text.push_str(&format!(
                "{:<32} {:<22} {:<5} {:>3}  {}\n",
                e.name(),
                e.task,
                e.cell.name(),
                e.width,
                e.head.name()
            ));
        }
        return write_stdout(&text).map(|()| 0);
    }
    train_entries(&picked, args)
}

#[cfg(feature = "burn")]
fn train_entries(picked: &[ZooEntry], args: &TrainZooArgs) -> Result<u8, Failure> {
    use nn2py::bench::{export_meta, run_ordered};
    use nn2py::export::export_torch_form;
    use nn2py::train::zoo::train_entry;

    use super::output::write_atomically;

    if !args.models.is_dir() {
        return Err(Failure::bad_input(format!(
            "error: --models {}: no such directory",
            args.models.display().to_string().escape_debug()
        )));
    }
    let bar = progress_bar(picked.len() as u64);
    let results = run_ordered(picked, jobs(args.jobs)?, |_, entry| {
        let name = entry.name();
        let trained = train_entry(entry, &mut |p| {
            bar.set_message(format!(
                "{name}: step {} loss {:.4} check {}",
                p.step, p.loss, p.check_exact
            ));
        })?;
        let task = entry.task()?;
        let meta = export_meta(task);
        let onnx = export_torch_form(&trained.net, &meta).map_err(|e| e.to_string())?;
        // Written as each finishes, so that a long run keeps what it has done.
        let write = |extension: &str, bytes: &[u8]| {
            write_atomically(&args.models.join(format!("{name}.{extension}")), bytes)
                .map_err(|f| f.message)
        };
        write("onnx", &onnx)?;
        write("json", trained.record.to_json().as_bytes())?;
        let check = trained.record.check;
        bar.println(format!(
            "{name:<32} {} steps, {:.1} s, exact on {} of {} fresh sequences",
            trained.record.steps,
            trained.record.training_seconds,
            check.exact_sequences,
            check.sequences
        ));
        bar.inc(1);
        Ok::<_, String>(check.is_exact())
    });
    bar.finish_and_clear();
    let mut failures = String::new();
    let mut all_exact = true;
    for (entry, result) in picked.iter().zip(results) {
        match result {
            Ok(exact) => all_exact &= exact,
            Err(e) => failures.push_str(&format!("error: {}: {e}\n", entry.name())),
        }
    }
    if !failures.is_empty() {
        return Err(Failure::error(failures));
    }
    Ok(if all_exact {
        0
    } else {
        super::output::EXIT_MISMATCH
    })
}

#[cfg(not(feature = "burn"))]
fn train_entries(_: &[ZooEntry], _: &TrainZooArgs) -> Result<u8, Failure> {
    Err(Failure::bad_input(
        "error: training the zoo needs burn's autodiff: build nn2py with `--features burn`",
    ))
}
