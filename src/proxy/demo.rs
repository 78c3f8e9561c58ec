//! `llm-tower --demo`: the proxy with the [`StandIn`] as its Gemini upstream, so it can be
//! tried (with `curl` or any OpenAI SDK) without a Gemini key or a network. Every answer is
//! a canned reply recorded from Gemini, whatever was asked.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use super::config::{Config, ConfigError};
use super::stand_in::StandIn;
use crate::upstream::secret::Secret;

/// The key the demo's stand-in accepts (it is no secret: the stand-in is local and canned).
const DEMO_KEY: &str = "demo-stand-in-key";

/// Loads a config for the demo: as [`Config::load`], except that a deployment `api_key`
/// naming an unset variable is accepted (the stand-in needs no key; [`start`] gives every
/// Gemini deployment the stand-in's). Every other error stays an error, an unset
/// `master_key` variable included.
pub fn load(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let mut stand_ins: Vec<String> = Vec::new();
    loop {
        let env = |name: &str| {
            std::env::var(name).ok().or_else(|| {
                stand_ins
                    .iter()
                    .any(|known| known == name)
                    .then(|| DEMO_KEY.to_owned())
            })
        };
        match Config::load_with(path, &env) {
            Err(ConfigError::MissingEnv { field, var })
                if field.ends_with(".api_key") && !stand_ins.contains(&var) =>
            {
                stand_ins.push(var);
            }
            loaded => return loaded,
        }
    }
}

/// Starts the stand-in on a free port of 127.0.0.1 (a task of the current runtime) and
/// points every Gemini deployment of `config` at it. Returns its address.
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
    tokio::spawn(StandIn::new(DEMO_KEY).serve(listener));
    let api_base = format!("http://{address}/v1beta");
    for entry in &mut config.model_list {
        let params = &mut entry.litellm_params;
        if params.provider() == "gemini" {
            params.api_base = Some(api_base.clone());
            params.api_key = Some(Secret::new(DEMO_KEY));
        }
    }
    Ok(address)
}
