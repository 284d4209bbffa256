//! The commands of the `nn2py` command line, one file each: [`convert`] (the command without a
//! subcommand), [`tasks`], [`train`] (`train` and `train-mlp`), [`bench`] and [`analyze`]
//! (`features` and `complexity`), [`zoo`] (`train-zoo` and `bench zoo`). Each holds its flags and a function that runs it and returns
//! its exit code or a [`output::Failure`].
//!
//! [`args`] holds the flag groups that map to one of the library's options structs and the
//! parsing several commands share; [`output`] reads the model and writes files, standard output
//! and progress bars.

pub mod analyze;
pub mod args;
pub mod bench;
pub mod convert;
pub mod output;
pub mod tasks;
pub mod train;
pub mod zoo;
