//! `onegrid report`: government work reports (政府工作报告) — extract their quantified targets and results
//! (crate onegrid-text, module `workreport`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use onegrid_text::workreport::{read_report, Item, WorkReportError, DEFAULT_MAX_BYTES};

#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Clean a work report (plain text, UTF-8 or GBK/GB18030) and print every quantified item.
    ///
    /// Standard output is only the items: a JSON array of objects with the fields indicator, value, unit,
    /// cmp, period, kind, section, start, end, quote (start/end are character offsets into the original
    /// text, and quote is exactly the text between them), or TSV with a header line. Each cleaning step
    /// (page header, continuation mark, running title, column break, repeated passage, traditional form…)
    /// goes to standard error with its position, then a summary line. A report without any quantity gives
    /// an empty array and exit code 0; a file that cannot be read as a report gives a sentence on standard
    /// error and exit code 1.
    Extract {
        /// The report (`-` reads standard input).
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Do not print the cleaning steps and the summary on standard error.
        #[arg(long, short)]
        quiet: bool,
        /// Also write the cleaned text to this file (the text the items were extracted from).
        #[arg(long)]
        cleaned: Option<PathBuf>,
        /// Refuse files larger than this many bytes (a long report is about 100 KB).
        #[arg(long, default_value_t = DEFAULT_MAX_BYTES)]
        max_bytes: u64,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Json,
    Tsv,
}

pub async fn run(command: ReportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ReportCommand::Extract {
            file,
            format,
            quiet,
            cleaned,
            max_bytes,
        } => extract(&file, format, quiet, cleaned.as_deref(), max_bytes),
    }
}

/// Reads at most `max_bytes + 1` bytes, so that oversized input (from a pipe) is refused without reading all of it.
fn read_limited(file: &Path, max_bytes: u64) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = max_bytes.saturating_add(1);
    if file == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
    } else {
        let handle =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        if let Ok(metadata) = handle.metadata() {
            if metadata.is_dir() {
                anyhow::bail!("{} is a folder, not a report file", file.display());
            }
        }
        handle
            .take(limit)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", file.display()))?;
    }
    Ok(bytes)
}

fn extract(
    file: &Path,
    format: Format,
    quiet: bool,
    cleaned_out: Option<&Path>,
    max_bytes: u64,
) -> anyhow::Result<ExitCode> {
    if file != Path::new("-") {
        // An oversized file is refused before it is read.
        if let Ok(metadata) = std::fs::metadata(file) {
            if metadata.is_file() && metadata.len() > max_bytes {
                let error = WorkReportError::TooLarge {
                    bytes: metadata.len(),
                    limit: max_bytes,
                };
                anyhow::bail!("{}: {error} (--max-bytes)", file.display());
            }
        }
    }
    let bytes = read_limited(file, max_bytes)?;
    if bytes.len() as u64 > max_bytes {
        anyhow::bail!(
            "{}: more than {max_bytes} bytes, the limit (a long work report is about 100 KB of text); if it really is one report, raise the limit (--max-bytes)",
            file.display()
        );
    }
    let (decoded, extraction) =
        read_report(&bytes, max_bytes).with_context(|| format!("{}", file.display()))?;
    drop(bytes);
    if let Some(path) = cleaned_out {
        std::fs::write(path, &extraction.cleaned)
            .with_context(|| format!("cannot write the cleaned text to {}", path.display()))?;
    }
    if !quiet {
        let stderr = std::io::stderr();
        let mut stderr = stderr.lock();
        for step in &extraction.steps {
            writeln!(stderr, "cleaning: {step}")?;
        }
        writeln!(
            stderr,
            "{}: {} cleaning steps; {} quantified items, {} of them this year's targets{}{}",
            file.display(),
            extraction.steps.len(),
            extraction.items.len(),
            extraction.year_targets(),
            extraction
                .report_year
                .map(|year| format!(" (the report plans for {year})"))
                .unwrap_or_default(),
            if decoded.converted() {
                format!("; read as {} and converted to UTF-8", decoded.encoding)
            } else {
                String::new()
            },
        )?;
        if extraction.items.is_empty() {
            writeln!(
                stderr,
                "{}: no quantified item (a number with a unit such as 家, 亿元, %) was found",
                file.display()
            )?;
        }
    }
    let stdout = std::io::stdout();
    let mut stdout = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut stdout, &extraction.items)?;
            writeln!(stdout)?;
        }
        Format::Tsv => {
            writeln!(stdout, "{}", Item::TSV_HEADER)?;
            for item in &extraction.items {
                writeln!(stdout, "{}", item.tsv_row())?;
            }
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
