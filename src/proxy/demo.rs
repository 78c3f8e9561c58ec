//! `llm-tower --demo`: the proxy with the [`StandIn`] as the upstream of every deployment,
//! so it can be tried (with `curl` or any OpenAI SDK) without a key or a network: nothing
//! leaves the machine. The stand-in answers from the request, shaped like a Gemini 3.x
//! Flash model (see [`StandIn::answering_from_request`]).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use super::config::{Config, ConfigError, unserved};
use super::stand_in::StandIn;
use crate::upstream::secret::Secret;

/// The key the demo's stand-in accepts (it is no secret: the stand-in is local).
const DEMO_KEY: &str = "demo-stand-in-key";

/// Loads a config for the demo: [`Config::load`]; deployments whose key variable is unset
/// are served by the stand-in like the others (see [`start`]).
pub fn load(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let (config, warnings) = Config::load(path)?;
    let warnings = warnings
        .into_iter()
        .filter(|warning| !warning.contains(".api_key: environment variable"))
        .collect();
    Ok((config, warnings))
}

/// Starts the stand-in on a free port of 127.0.0.1 (a task of the current runtime) and
/// points every deployment of `config` it can serve at it: `gemini/…` and `openai/…`
/// deployments alike become Gemini deployments of the same model id, with the stand-in's
/// key, so no request leaves the machine. Deployments of providers llm-tower does not have
/// stay unavailable. Returns the stand-in's address.
///
/// ```
/// use llm_tower::proxy::{config::Config, demo};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let mut config = Config::default_gemini();
/// let address = demo::start(&mut config).await?;
/// let api_base = config.model_list[0].litellm_params.api_base.as_deref();
/// assert_eq!(api_base, Some(format!("http://{address}/v1beta").as_str()));
/// # Ok(()) }
/// ```
pub async fn start(config: &mut Config) -> io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(
        StandIn::new(DEMO_KEY)
            .answering_from_request()
            .serve(listener),
    );
    let api_base = format!("http://{address}/v1beta");
    for entry in &mut config.model_list {
        let params = &mut entry.litellm_params;
        if unserved(&params.model).is_some() {
            continue;
        }
        params.model = format!("gemini/{}", params.model_id());
        params.api_base = Some(api_base.clone());
        params.api_key = Some(Secret::new(DEMO_KEY));
        params.api_key_unset = None;
    }
    Ok(address)
}
