//! `jingle-focus`: the Jingle conference focus, an XEP-0114 component for existing XMPP
//! servers.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use jingle_focus::config::{Config, Overrides};
use jingle_focus::runtime;

/// Exit code when the server refuses the component (wrong secret, unknown domain).
const EXIT_REFUSED: u8 = 3;
/// Exit code for an unusable configuration.
const EXIT_CONFIG: u8 = 2;
/// Exit code when the media port cannot be opened.
const EXIT_MEDIA: u8 = 4;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Jingle conference focus: an XEP-0114 component for XMPP servers",
    after_help = "Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 2 configuration error, \
3 the server refused the component (wrong secret or domain), 4 the media port cannot be opened."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Attach to the XMPP server and serve until SIGINT or SIGTERM.
    ///
    /// A lost connection is retried with backoff; a refused secret or domain ends the
    /// process with exit code 3.
    Serve(Serve),
}

#[derive(clap::Args, Debug)]
struct Serve {
    /// TOML configuration file (see jingle-focus.example.toml); flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's component listener (XEP-0114), e.g. 127.0.0.1:5347.
    #[arg(long, value_name = "HOST:PORT")]
    xmpp_server: Option<String>,
    /// The component's domain, as configured on the server, e.g. focus.example.org.
    #[arg(long, value_name = "DOMAIN")]
    domain: Option<String>,
    /// The component's shared secret. Prefer the environment variable, which `ps` does not
    /// show.
    #[arg(
        long,
        env = "JINGLE_FOCUS_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    secret: Option<String>,
    /// The server domain pinged to keep the connection alive [default: DOMAIN without its
    /// first label].
    #[arg(long, value_name = "DOMAIN")]
    server_domain: Option<String>,
    /// Log filter in tracing syntax, e.g. `info` or `jingle_focus=debug` [default: info].
    #[arg(long, value_name = "FILTER")]
    log: Option<String>,
    /// The MUC service whose rooms have group calls: ROOM@DOMAIN is the call of
    /// ROOM@MUC_SERVICE [default: conference.SERVER_DOMAIN].
    #[arg(long, value_name = "MUC_SERVICE")]
    muc_service: Option<String>,
    /// The media bridge's one UDP port [default: 0.0.0.0:10000].
    #[arg(long, value_name = "IP:PORT")]
    media_bind: Option<std::net::SocketAddr>,
    /// The address participants reach the media port at, put in ICE candidates (the public
    /// address behind 1:1 NAT); required when --media-bind is a wildcard.
    #[arg(long, value_name = "IP")]
    media_address: Option<std::net::IpAddr>,
}

fn main() -> ExitCode {
    let Command::Serve(serve) = Cli::parse().command;
    let config = match Config::load(Overrides {
        config: serve.config,
        xmpp_server: serve.xmpp_server,
        domain: serve.domain,
        secret: serve.secret,
        server_domain: serve.server_domain,
        log: serve.log,
        muc_service: serve.muc_service,
        media_bind: serve.media_bind,
        media_address: serve.media_address,
    }) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("jingle-focus: configuration error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Err(e) = init_logging(&config.log) {
        eprintln!(
            "jingle-focus: configuration error: bad log filter `{}`: {e}",
            config.log
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("jingle-focus: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (bridge, events) = match bridge::BridgeHandle::spawn(config.bridge()) {
        Ok(bridge) => bridge,
        Err(e) => {
            eprintln!(
                "jingle-focus: cannot open the media port {}: {e}",
                config.media_bind
            );
            return ExitCode::from(EXIT_MEDIA);
        }
    };
    match runtime.block_on(runtime::run(&config, &bridge, events, shutdown_signal())) {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jingle-focus: error: {e}");
            ExitCode::from(EXIT_REFUSED)
        }
    }
}

fn init_logging(filter: &str) -> Result<(), tracing_subscriber::filter::ParseError> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)?;
    let color = std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .init();
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; use SIGINT");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
    }
}
