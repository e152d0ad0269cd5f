//! `onegrid bench grid` (being written).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct GridBenchArgs {}

pub fn run(_args: GridBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("bench grid is not written yet")
}
