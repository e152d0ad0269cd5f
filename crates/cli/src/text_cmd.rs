//! `onegrid text` (being written).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum TextCommand {}

pub fn run(command: TextCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
