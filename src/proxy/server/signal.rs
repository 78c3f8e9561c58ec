//! [`shutdown_signal`]: SIGTERM or SIGINT starts a graceful shutdown; a second one while it
//! runs ends the process at once, as operators expect of Ctrl-C pressed twice.

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C), and arranges for a second one to exit
/// the process at once with status 130.
///
/// ```no_run
/// # async fn run() {
/// llm_tower::proxy::server::shutdown_signal().await;
/// // drain connections here; a second signal exits.
/// # }
/// ```
pub async fn shutdown_signal() {
    signal().await;
    tracing::info!("shutdown signal received; a second one exits at once");
    tokio::spawn(async {
        signal().await;
        tracing::warn!("second shutdown signal: exiting now");
        std::process::exit(130);
    });
}

/// One SIGTERM or SIGINT.
async fn signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
