//! Structured logs with tracing: `--log-format text|json`, `--log-level`, and upstream's
//! stream routing (`--log-info-stdout`: INFO and below to stdout, WARN and ERROR to stderr;
//! otherwise everything to stderr). `RUST_LOG` may refine per-module levels for debugging.

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt as _;

/// Log output format (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `time=… level=… msg=…` lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Lowest level logged.
    pub level: tracing::Level,
    /// Output format.
    pub format: LogFormat,
    /// INFO and below to stdout, WARN and above to stderr.
    pub info_to_stdout: bool,
}

/// Installs the global subscriber. Safe to call once; later calls are ignored.
pub fn init(config: &LogConfig) {
    let level = config.level;
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy()
        // The HTTP and TLS stacks are chatty at debug level; the Kubernetes client logs whole
        // API answers at debug level (a refused Secret's Status can quote the unsealed value).
        .add_directive("hyper=info".parse().unwrap_or_else(|_| level.into()))
        .add_directive("rustls=info".parse().unwrap_or_else(|_| level.into()))
        .add_directive("kube_client=info".parse().unwrap_or_else(|_| level.into()));
    let stdout_info = config.info_to_stdout;
    let writer = std::io::stderr
        .with_max_level(Level::WARN)
        .and(
            std::io::stdout
                .with_min_level(Level::INFO)
                .with_filter(move |_| stdout_info),
        )
        .and(
            std::io::stderr
                .with_min_level(Level::INFO)
                .with_filter(move |_| !stdout_info),
        );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    drop(result);
}
