//! `onegrid apikey`: keys for Open311 clients. A key is shown once, when it is created; the database
//! keeps only its SHA-256 (the same hash the server checks).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ApikeyCommand {
    /// Create a key; the key itself is the last line of the output (it cannot be shown again).
    Create {
        #[arg(long)]
        db: PathBuf,
        /// Who the key is for, e.g. 「街道App」.
        #[arg(long)]
        name: String,
    },
    /// List the keys (ids, names, when created and revoked; never the keys).
    List {
        #[arg(long)]
        db: PathBuf,
    },
    /// Revoke a key: requests made with it are refused from now on.
    Revoke {
        #[arg(long)]
        db: PathBuf,
        id: u64,
    },
}

pub async fn run(command: ApikeyCommand) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    match command {
        ApikeyCommand::Create { db, name } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 80 {
                anyhow::bail!(
                    "--name: give a name of 1 to 80 characters saying who the key is for"
                );
            }
            let store = crate::open_existing(&db)?;
            let (secret, hash) = onegrid_server::auth::new_secret();
            let key = store
                .create_api_key(name, hash, now)
                .await
                .context("creating the API key")?;
            out!(
                "created API key {} ({}); keep it secret, it is shown only once:",
                key.id,
                key.name
            )?;
            out!("{secret}")?;
        }
        ApikeyCommand::List { db } => {
            let store = crate::open_existing(&db)?;
            let keys = store.api_keys().await?;
            if keys.is_empty() {
                out!(
                    "no API keys; create one with `onegrid apikey create --db {} --name NAME`",
                    db.display()
                )?;
            }
            for key in keys {
                let state = match key.revoked_at {
                    Some(at) => format!("revoked {}", at.to_rfc3339()),
                    None => "active".to_string(),
                };
                out!(
                    "{}\t{}\tcreated {}\t{}",
                    key.id,
                    key.name,
                    key.created_at.to_rfc3339(),
                    state
                )?;
            }
        }
        ApikeyCommand::Revoke { db, id } => {
            let store = crate::open_existing(&db)?;
            let key = store
                .revoke_api_key(id, now)
                .await
                .with_context(|| format!("revoking API key {id}"))?;
            out!("revoked API key {} ({})", key.id, key.name)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
