//! `llm-tower`: the proxy command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use llm_tower::proxy::server::{ServerOptions, serve, shutdown_signal};
use tracing_subscriber::EnvFilter;

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
///         model: gemini/gemini-2.5-flash      # or gemini/* to serve any Gemini model
///         api_key: os.environ/GEMINI_API_KEY
///         api_base: https://…/v1beta          # optional
///         timeout: 30                         # seconds without a byte from Gemini
///         max_retries: 2                      # on 429/5xx
///         safety_settings: […]                # any other key: a default request param
///   litellm_settings:
///     drop_params: true                       # drop unsupported params instead of 400
///     num_retries: 2
///     request_timeout: 600                    # seconds until the reply starts
///     user_url_allowed_hosts: [images.internal]
///   general_settings:
///     master_key: os.environ/LITELLM_MASTER_KEY
///
/// Keys llm-tower does not use (router_settings, callbacks, database settings) are
/// reported once at startup and ignored. Without --config, any gemini/<model> is served
/// with GEMINI_API_KEY.
///
/// ROUTES: POST /v1/chat/completions, /v1/completions, /v1/embeddings, GET /v1/models,
/// GET /health, /health/liveliness, /health/readiness, and /gemini/v1beta/… (pass-through
/// for Google's SDKs). Messages marked with cache_control are cached with Gemini's
/// cachedContents. HTTPS_PROXY / NO_PROXY apply to the calls to Gemini. Logs go to stderr;
/// set RUST_LOG (e.g. RUST_LOG=llm_tower=debug) for more.
#[derive(Debug, Parser)]
#[command(name = "llm-tower", version, verbatim_doc_comment)]
struct Args {
    /// Path of the LiteLLM-style config.yaml.
    #[arg(long, short, env = "LLM_TOWER_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "LLM_TOWER_HOST", default_value = "0.0.0.0")]
    host: std::net::IpAddr,
    /// Port to listen on (LiteLLM's default).
    #[arg(long, short, env = "LLM_TOWER_PORT", default_value_t = 4000)]
    port: u16,
    /// Worker threads (default: one per core).
    #[arg(long = "num_workers", alias = "num-workers", env = "LLM_TOWER_WORKERS")]
    num_workers: Option<usize>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
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

async fn run(args: Args) -> Result<(), String> {
    let config = match &args.config {
        Some(path) => {
            let (config, warnings) = Config::load(path).map_err(|error| error.to_string())?;
            for warning in warnings {
                tracing::warn!("{}: {warning}", path.display());
            }
            config
        }
        None => {
            tracing::info!("no --config: serving gemini/* with GEMINI_API_KEY");
            Config::default_gemini()
        }
    };
    if config.model_list.is_empty() {
        tracing::warn!("model_list is empty: every chat request will answer 404");
    }
    let proxy = Proxy::from_config(&config).map_err(|error| error.to_string())?;
    if !proxy.requires_key() {
        tracing::warn!(
            "no general_settings.master_key: the proxy is open to anyone who can reach it"
        );
    }
    let address = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| format!("cannot listen on {address}: {error}"))?;
    let bound = listener.local_addr().map_err(|error| error.to_string())?;
    tracing::info!(
        models = config.model_list.len(),
        "llm-tower listening on http://{bound}"
    );
    serve(listener, proxy, shutdown_signal(), ServerOptions::default()).await;
    Ok(())
}
