//! `nn2py tasks`: the MIPS task table.

use clap::Args;

use nn2py::bench::{task_listing, tasks_table};

use super::output::{write_stdout, Failure};

/// `nn2py tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Write the table as JSON (schema_version 1) to standard output.
    #[arg(long)]
    pub json: bool,
}

/// Prints the task table, or its JSON form.
pub fn run(args: &TasksArgs) -> Result<u8, Failure> {
    let text = if args.json {
        let json = serde_json::to_string_pretty(&task_listing())
            .map_err(|e| Failure::bad_input(format!("error: cannot encode the table: {e}")))?;
        format!("{json}\n")
    } else {
        tasks_table()
    };
    write_stdout(&text).map(|_| 0)
}
