//! `llm-tower`: the proxy command line.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use llm_tower::proxy::cors::cors_layer;
use llm_tower::proxy::demo;
use llm_tower::proxy::metrics::Metrics;
use llm_tower::proxy::observe::{AccessLog, SpanResults};
use llm_tower::proxy::scrape::{MetricsRoute, NotFound};
use llm_tower::proxy::server::{ServerOptions, StallHook, serve, shutdown_signal};
use llm_tower::proxy::stack::{StackOptions, metrics_door, served};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// The target of the startup lines (warnings about the config, where the proxy listens):
/// shown at `info` whatever `RUST_LOG` narrows the rest to, unless it names this target.
const STARTUP: &str = "llm_tower::startup";
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// mimalloc: the proxy allocates many short-lived buffers per request (bodies, JSON
/// strings); measured with `benches/load.sh`, it cuts the proxy's CPU per request against
/// glibc malloc. The library leaves the allocator to its users.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An OpenAI-compatible gateway for Google Gemini, configured like LiteLLM.
///
/// CONFIG (LiteLLM's config.yaml shape):
///
///   model_list:
///     - model_name: gemini-flash              # the name clients send
///       litellm_params:
///         model: gemini/gemini-3-flash-preview # or gemini/* to serve any Gemini model
///         api_key: os.environ/GEMINI_API_KEY
///         api_base: https://…/v1beta          # optional
///         timeout: 30                         # seconds without a byte from Gemini
///         max_retries: 2                      # on 429/5xx
///         max_parallel_requests: 64           # calls in flight (default 2048); then 1 s
///                                             # in line, then 429 with Retry-After
///         safety_settings: […]                # any other key: a default request param
///   litellm_settings:
///     drop_params: true                       # drop unsupported params instead of 400
///     num_retries: 2
///     request_timeout: 600                    # seconds until the reply starts (a
///                                             # stream's first event); not the body after
///     user_url_allowed_hosts: [images.internal]
///   general_settings:
///     master_key: os.environ/LITELLM_MASTER_KEY
///
/// router_settings.redis_url (or redis_host, redis_port, redis_password) shares context
/// caches between replicas through Redis; router_settings.default_max_parallel_requests
/// bounds every deployment without its own max_parallel_requests. Keys llm-tower does not use (other
/// router_settings, callbacks, database settings) are reported once at startup and ignored. Without --config, any gemini/<model> is served
/// with GEMINI_API_KEY. --check-config FILE reports what a config would serve, and exits.
/// --demo answers from a built-in stand-in for Gemini (no key, no network).
///
/// ROUTES: POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses
/// (also without /v1); GET and DELETE /v1/responses/{id}, GET
/// /v1/responses/{id}/input_items; GET /v1/models, /v1/models/{id}, /model/info;
/// GET /health, /health/liveliness, /health/readiness (?check=upstream: one call per
/// deployment, master key), /metrics (Prometheus; master key unless --metrics-public),
/// and /gemini/v1beta/… (pass-through for Google's SDKs). The master key is read from
/// Authorization (Bearer or bare), x-api-key, api-key or x-litellm-api-key. Messages marked with
/// cache_control are cached with Gemini's cachedContents (found again in Redis when
/// configured, else in memory). HTTPS_PROXY / NO_PROXY apply to
/// the calls to Gemini.
///
/// OBSERVING: every answer carries x-request-id (the client's, or a new UUID) and
/// x-litellm-call-id; a client's W3C traceparent is carried on to Gemini. Logs go to
/// stderr (coloured only on a terminal); RUST_LOG tunes them (e.g.
/// RUST_LOG=llm_tower=debug), and the startup lines (target llm_tower::startup) stay at
/// info unless RUST_LOG names that target; --log-format json writes one JSON object a
/// line, with one access-log line per request.
#[derive(Debug, Parser)]
#[command(name = "llm-tower", version, verbatim_doc_comment)]
struct Args {
    /// Path of the LiteLLM-style config.yaml.
    #[arg(long, short, env = "LLM_TOWER_CONFIG")]
    config: Option<PathBuf>,
    /// Check this config file (parse, resolve os.environ/ values, build every deployment),
    /// print its warnings and the models it would serve, and exit (1 on an error).
    #[arg(long, value_name = "CONFIG", conflicts_with_all = ["config", "demo"])]
    check_config: Option<PathBuf>,
    /// Answer every model from a built-in stand-in for Gemini (it echoes the request, calls
    /// its first tool, fills its JSON schema): no key, no network.
    #[arg(long)]
    demo: bool,
    /// Address to listen on (default 0.0.0.0; with --demo, 127.0.0.1: the demo has no key).
    #[arg(long, env = "LLM_TOWER_HOST")]
    host: Option<std::net::IpAddr>,
    /// Port to listen on (LiteLLM's default).
    #[arg(long, short, env = "LLM_TOWER_PORT", default_value_t = 4000)]
    port: u16,
    /// Worker threads (default: one per core).
    #[arg(long = "num_workers", alias = "num-workers", env = "LLM_TOWER_WORKERS")]
    num_workers: Option<usize>,
    /// Log format on stderr: text, or json (one object a line, an access line per request).
    #[arg(long, env = "LLM_TOWER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Serve /metrics without the master key.
    #[arg(long, env = "LLM_TOWER_METRICS_PUBLIC")]
    metrics_public: bool,
    /// Serve /metrics on this port (same host) instead of the proxy's.
    #[arg(long, env = "LLM_TOWER_METRICS_PORT")]
    metrics_port: Option<u16>,
    /// Origins browsers may call from, comma-separated (`*` for any); default none (no CORS).
    #[arg(long, env = "LLM_TOWER_CORS_ORIGINS", default_value = "")]
    cors_origins: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Kept to the end of `main`: dropping it writes the lines still queued.
    let _logs = init_logs(args.log_format);
    if let Some(path) = &args.check_config {
        return check_config(path);
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if let Some(workers) = args.num_workers.filter(|&workers| workers > cores * 4) {
        eprintln!(
            "llm-tower: --num_workers {workers} is more than four per core ({cores} cores); \
             one per core is the fastest setting"
        );
        return ExitCode::FAILURE;
    }
    // One worker: a current-thread runtime, without the work-stealing machinery a
    // single worker cannot use.
    let mut runtime = match args.num_workers {
        Some(0 | 1) => tokio::runtime::Builder::new_current_thread(),
        Some(workers) => {
            let mut runtime = tokio::runtime::Builder::new_multi_thread();
            runtime.worker_threads(workers);
            runtime
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("llm-tower: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("llm-tower: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs on stderr, text or JSON, filtered by `RUST_LOG` (default `info`), written by a
/// thread of their own (a full queue makes the logging thread wait rather than lose a
/// line); with the `otel` feature, spans exported with OTLP when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set. The guard writes what is queued when dropped.
/// The bytes of log lines the writing thread gathers before it writes them out.
const LOG_BUFFER_BYTES: usize = 64 * 1024;

fn init_logs(format: LogFormat) -> WorkerGuard {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if directives.contains(STARTUP) => EnvFilter::new(directives),
        Ok(directives) if !directives.is_empty() => {
            EnvFilter::new(format!("{directives},{STARTUP}=info"))
        }
        _ => EnvFilter::new("info"),
    };
    // Colour only for a person at a terminal, never in a file or a log collector.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // The writing thread takes every line waiting and then flushes: buffered, a burst of
    // lines is one write, not one system call (and one wake-up of this core) a line.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            LOG_BUFFER_BYTES,
            std::io::stderr(),
        ));
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer.clone())
    });
    let json = (format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
    });
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json);
    #[cfg(feature = "otel")]
    let registry = registry.with(llm_tower::proxy::otel::layer());
    registry.init();
    guard
}

/// Whether the request spans leave the process (the `otel` feature, with an endpoint).
fn spans_exported() -> bool {
    #[cfg(feature = "otel")]
    return llm_tower::proxy::otel::exporting();
    #[cfg(not(feature = "otel"))]
    false
}

/// `--check-config`: what the file would serve, or why it cannot.
fn check_config(path: &Path) -> ExitCode {
    let (config, warnings) = match Config::load(path) {
        Ok(loaded) => loaded,
        Err(error) => {
            println!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    for warning in &warnings {
        println!("warning: {}: {warning}", path.display());
    }
    // The proxy would start and serve the others; a check names what would not work.
    let mut errors = 0;
    for (field, var) in config.unset_keys() {
        println!(
            "error: {}: {field}: environment variable `{var}` is not set (referenced as \
             os.environ/{var}); the proxy would serve this deployment as unavailable",
            path.display()
        );
        errors += 1;
    }
    if let Err(error) = Proxy::from_config(&config) {
        println!("error: {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    if config.model_list.is_empty() {
        println!("warning: {}: model_list is empty", path.display());
    }
    let verdict = if errors == 0 {
        "ok".to_owned()
    } else {
        format!("{errors} error(s)")
    };
    println!(
        "{}: {verdict}, {} deployment(s), {} warning(s)",
        path.display(),
        config.model_list.len(),
        warnings.len()
    );
    for entry in &config.model_list {
        let params = &entry.litellm_params;
        let key = match (&params.api_key, &params.api_key_unset) {
            (Some(_), _) => "key set".to_owned(),
            (None, Some(var)) => format!("unavailable: {var} is not set"),
            (None, None) => "no key".to_owned(),
        };
        println!("  {} -> {} ({key})", entry.model_name, params.model);
    }
    if config.general_settings.master_key.is_none() {
        println!("note: no general_settings.master_key: the proxy would be open");
    }
    if errors > 0 {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--host`, else every address, or only this machine for `--demo` (it answers without a
/// key).
fn listen_host(args: &Args) -> IpAddr {
    args.host.unwrap_or(if args.demo {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    })
}

async fn run(args: Args) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => {
            let loaded = if args.demo {
                demo::load(path)
            } else {
                Config::load(path)
            };
            let (config, warnings) = loaded.map_err(|error| error.to_string())?;
            for warning in warnings {
                tracing::warn!(target: STARTUP, "{}: {warning}", path.display());
            }
            config
        }
        None if args.demo => Config::default_gemini(),
        None => {
            if std::env::var_os("GEMINI_API_KEY").is_none_or(|key| key.is_empty()) {
                tracing::warn!(
                    target: STARTUP,
                    "no --config and no GEMINI_API_KEY: requests will fail with an \
                     authentication error; set GEMINI_API_KEY, or try --demo for a stand-in's answers"
                );
            } else {
                tracing::info!(target: STARTUP, "no --config: serving gemini/* with GEMINI_API_KEY");
            }
            Config::default_gemini()
        }
    };
    if args.demo {
        let stand_in = demo::start(&mut config)
            .await
            .map_err(|error| format!("cannot start the demo stand-in: {error}"))?;
        tracing::warn!(
            target: STARTUP,
            "DEMO MODE: every deployment is answered by a built-in stand-in for Gemini \
             (http://{stand_in}), not a model; nothing leaves this machine"
        );
    }
    if config.model_list.is_empty() {
        tracing::warn!(target: STARTUP, "model_list is empty: every chat request will answer 404");
    }
    match &config.router_settings.redis_url {
        Some(url) => tracing::info!(
            target: STARTUP,
            "Redis {}: context caches and stored responses, shared with every replica using it",
            llm_tower::upstream::redact_url(url.expose())
        ),
        None => tracing::info!(
            target: STARTUP,
            "no Redis: context caches and stored responses are kept in this process's memory"
        ),
    }
    let metrics = Arc::new(Metrics::new(&config));
    let proxy =
        Proxy::from_config_observed(&config, &metrics).map_err(|error| error.to_string())?;
    if !proxy.requires_key() {
        tracing::warn!(
            target: STARTUP,
            "no general_settings.master_key: the proxy is open to anyone who can reach it"
        );
    }
    // A key database that cannot be reached stops the proxy here, not at the first key.
    proxy.open_keys().await.map_err(|error| error.to_string())?;
    if let Some(database) = proxy.keys_database() {
        tracing::info!(target: STARTUP, "virtual keys, teams and spend in {database}");
    }
    let spend = proxy.clone();
    let options = StackOptions {
        metrics_public: args.metrics_public,
        metrics_elsewhere: args.metrics_port.is_some(),
        cors: cors_layer(&args.cors_origins).map_err(|error| error.to_string())?,
        access_log: match args.log_format {
            LogFormat::Json => AccessLog::Info,
            LogFormat::Text => AccessLog::Debug,
        },
        span_results: if spans_exported() {
            SpanResults::Recorded
        } else {
            SpanResults::Skipped
        },
    };
    if let Some(port) = args.metrics_port {
        let address = SocketAddr::new(listen_host(&args), port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|error| format!("cannot listen on {address} for metrics: {error}"))?;
        let door = metrics_door(&config, args.metrics_public);
        let route = MetricsRoute::new(NotFound, metrics.clone(), door);
        tracing::info!(target: STARTUP, "metrics on http://{address}/metrics");
        tokio::spawn(serve(
            listener,
            route,
            shutdown_signal(),
            ServerOptions::side_listener(),
        ));
    }
    let mut server_options = ServerOptions::default();
    server_options.on_send_stall = StallHook::new({
        let metrics = Arc::clone(&metrics);
        move || metrics.send_stalled()
    });
    let service = served(&config, proxy, metrics, &options);
    let address = SocketAddr::new(listen_host(&args), args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| format!("cannot listen on {address}: {error}"))?;
    let bound = listener.local_addr().map_err(|error| error.to_string())?;
    tracing::info!(
        target: STARTUP,
        models = config.model_list.len(),
        "llm-tower listening on http://{bound}"
    );
    serve(listener, service, shutdown_signal(), server_options).await;
    // What the last requests of virtual keys spent.
    spend.flush_spend().await;
    #[cfg(feature = "otel")]
    llm_tower::proxy::otel::shutdown();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_listens_on_this_machine_only_unless_told_otherwise() {
        let host = |args: &[&str]| listen_host(&Args::parse_from(args));
        assert_eq!(host(&["llm-tower"]), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(
            host(&["llm-tower", "--demo"]),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            host(&["llm-tower", "--demo", "--host", "0.0.0.0"]),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        );
    }
}
