//! `reference-backend`: runs one Meridian reference backend until Ctrl-C.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::Parser;
use meridian_examples::{BackendConfig, ReferenceBackend, Secret};
use tokio_util::sync::CancellationToken;

/// Exit status for a configuration error (EX_USAGE from sysexits.h).
const EXIT_CONFIG: u8 = 64;
/// The environment variable that holds the forwarding secret, overriding the file's.
const SECRET_ENV: &str = "MERIDIAN_FORWARDING_SECRET";

#[derive(Debug, Parser)]
#[command(
    version,
    about = "A small Minecraft 26.1 server behind the Meridian proxy"
)]
struct Args {
    /// TOML configuration (see reference-backend.example.toml).
    #[arg(long)]
    config: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:25566")]
    bind: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut config = match BackendConfig::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("reference-backend: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Ok(secret) = std::env::var(SECRET_ENV)
        && !secret.is_empty()
    {
        config.forwarding_secret = Secret::new(secret);
    }
    if let Err(e) = config.validate() {
        eprintln!("reference-backend: {}: {e}", args.config.display());
        return ExitCode::from(EXIT_CONFIG);
    }
    let listener = match tokio::net::TcpListener::bind(args.bind).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("reference-backend: cannot listen on {}: {e}", args.bind);
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: shutting down");
        }
        on_signal.cancel();
    });
    match ReferenceBackend::new(config).run(listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference-backend: {e}");
            ExitCode::FAILURE
        }
    }
}
