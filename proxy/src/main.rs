//! The `meridian` command: parse arguments, set up logging, load config, call the library.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use meridian::{Config, Proxy};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// sysexits' EX_USAGE: the configuration is wrong.
const EXIT_CONFIG: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "meridian",
    version,
    about = "A seamless multi-backend proxy for Minecraft Java Edition 26.1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the proxy.
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file and exit (64 when it is invalid).
    CheckConfig { file: PathBuf },
    /// Run two built-in backends, `west` and `east`, behind the proxy.
    #[cfg(feature = "demo")]
    Demo {
        #[arg(long, default_value = "127.0.0.1:25565")]
        bind: std::net::SocketAddr,
        #[arg(long, default_value = "127.0.0.1:25580")]
        admin: std::net::SocketAddr,
        /// Keep zone ownership in this PostgreSQL database (`postgres://user@host/db`),
        /// shared with any other proxy pointed at it; seeded with the demo's map.
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = match meridian::runtime(cpus) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::CheckConfig { file } => match Config::load(&file) {
                Ok(_) => {
                    println!("{}: ok", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(EXIT_CONFIG)
                }
            },
            Command::Run { config } => {
                let proxy = match Config::load(&config)
                    .map_err(meridian::ProxyError::from)
                    .and_then(Proxy::new)
                {
                    Ok(proxy) => proxy,
                    Err(e) => {
                        eprintln!("{e}");
                        return ExitCode::from(EXIT_CONFIG);
                    }
                };
                let config = &proxy.state().config;
                let (bind, admin_bind) = (config.bind, config.admin.bind);
                let result = async {
                    let listener = TcpListener::bind(bind).await?;
                    let admin = match admin_bind {
                        Some(addr) => Some(TcpListener::bind(addr).await?),
                        None => None,
                    };
                    proxy.run(listener, admin, shutdown_on_signal()).await
                }
                .await;
                report(result)
            }
            #[cfg(feature = "demo")]
            Command::Demo {
                bind,
                admin,
                database,
            } => {
                let result = async {
                    let listener = TcpListener::bind(bind).await?;
                    let admin = TcpListener::bind(admin).await?;
                    meridian::demo::run(listener, admin, database.as_deref(), shutdown_on_signal())
                        .await
                }
                .await;
                report(result)
            }
        }
    })
}

fn report(result: Result<(), meridian::ProxyError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meridian: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        trigger.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    token
}
