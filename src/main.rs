//! The `nn2py` command line: parses the arguments, runs the command, prints its failure and
//! exits. This file and the commands in [`cli`] are the only places that print, write output
//! files or exit.
//!
//! `nn2py MODEL` converts a model; `nn2py tasks`, `nn2py train TASK` and `nn2py bench mips62`
//! list, train and benchmark the MIPS tasks; `nn2py train-zoo` and `nn2py bench zoo` train and
//! benchmark the zoo (a model file named like a subcommand is passed as
//! `./tasks`).
//!
//! Exit codes: 0 success; 1 verification failed or `--check` found a difference (conversion), or
//! the trained network is not exact on its check set (`train`); 2 bad usage or bad input
//! (including a model nn2py cannot read, and an unknown task). `bench` exits 0 whenever the
//! harness ran: its verdicts are in the table and the JSON report.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::analyze::{ComplexityArgs, FeaturesArgs};
use cli::bench::Mips62Args;
use cli::convert::ConvertArgs;
use cli::output::Failure;
use cli::tasks::TasksArgs;
use cli::train::{TrainArgs, TrainMlpArgs};
use cli::zoo::{BenchZooArgs, TrainZooArgs};

/// Compile a trained network (ONNX) into a short, verified Python program.
///
/// `nn2py MODEL.onnx -o out.py` converts a model; the subcommands train networks for the MIPS
/// tasks and benchmark the converter on them.
#[derive(Debug, Parser)]
#[command(
    name = "nn2py",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    convert: ConvertArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the 62 MIPS benchmark tasks.
    Tasks(TasksArgs),
    /// Train a network for a MIPS task and write it as ONNX (with its training record beside it).
    Train(TrainArgs),
    /// Run a benchmark.
    Bench {
        #[command(subcommand)]
        bench: BenchCommand,
    },
    /// Train the zoo's GRU, LSTM and RNN networks as users train them (needs the `burn`
    /// feature) and write them as PyTorch exports them.
    #[command(name = "train-zoo")]
    TrainZoo(TrainZooArgs),
    /// Train a pointwise MLP (l1-norm or mod-add) with an optional complexity penalty or sweep.
    #[command(name = "train-mlp")]
    TrainMlp(TrainMlpArgs),
    /// Analyse a network (reports; the network is never changed).
    Analyze {
        #[command(subcommand)]
        analysis: Analyze,
    },
}

#[derive(Debug, Subcommand)]
enum Analyze {
    /// Find circles, tori and other irreducible 2-D features in every layer; see the README.
    Features(FeaturesArgs),
    /// Description length, sparsity, weight tying, duplicated neurons, connection cost,
    /// modularity, and which simplifications still match the network.
    Complexity(ComplexityArgs),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Train (or reuse), convert and score every MIPS task; see the README.
    #[command(name = "mips62")]
    Mips62(Mips62Args),
    /// Convert and score the zoo's networks (trained as users train them); see the README.
    Zoo(BenchZooArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => cli::convert::run(&cli.convert),
        Some(Command::Tasks(args)) => cli::tasks::run(args),
        Some(Command::Train(args)) => cli::train::run(args),
        Some(Command::Bench {
            bench: BenchCommand::Mips62(args),
        }) => cli::bench::run(args),
        Some(Command::Bench {
            bench: BenchCommand::Zoo(args),
        }) => cli::zoo::bench(args),
        Some(Command::TrainZoo(args)) => cli::zoo::train(args),
        Some(Command::TrainMlp(args)) => cli::train::run_mlp(args),
        Some(Command::Analyze {
            analysis: Analyze::Complexity(args),
        }) => cli::analyze::complexity(args),
        Some(Command::Analyze {
            analysis: Analyze::Features(args),
        }) => cli::analyze::features(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure { message, code }) => {
            eprint!("{message}");
            if !message.ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(code)
        }
    }
}
