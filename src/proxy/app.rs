//! The proxy as one tower service: routes, the master-key door, and the wiring from a
//! LiteLLM-style [`Config`] to a [`ModelRouter`] of deployments: `gemini/…` models to the Gemini
//! provider, `vertex_ai/…` models to the Vertex AI one, `openai/…` models to the
//! OpenAI-compatible one. Deployments of providers
//! llm-tower does not have are left out; requests for them answer 404 saying why.
//! Deployments whose key variable is unset are left out of names others serve; alone
//! under their name they answer 401 naming the variable.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `POST /v1/chat/completions`, `/chat/completions` | master key | chat, JSON or SSE |
//! | `POST /v1/completions`, `/completions` | master key | legacy text completions, JSON or SSE |
//! | `POST /v1/embeddings`, `/embeddings` | master key | embeddings |
//! | `POST /v1/responses`, `/responses` | master key | the Responses API, JSON or SSE |
//! | `GET`, `DELETE /v1/responses/{id}`; `GET /v1/responses/{id}/input_items` | master key | stored responses (of the master key that created them) |
//! | `POST /v1/messages`, `/v1/messages/count_tokens` | master key (`x-api-key` or `Authorization: Bearer`) | Anthropic's Messages API, JSON or SSE; errors in Anthropic's envelope |
//! | `GET /v1/models`, `/models` | master key | the configured model names, and the models a wildcard serves |
//! | `GET /v1/models/{id}`, `/models/{id}` | master key | one model (OpenAI's `models.retrieve`) |
//! | `GET /model/info`, `/v1/model/info` | master key | each deployment: its params (no keys), limits and prices |
//! | `GET /health` | master key | the configured deployments (no upstream call) |
//! | `GET /health/liveliness`, `/health/liveness`, `/health/readiness` | none | process checks for orchestrators |
//! | `GET /health/readiness?check=upstream` | master key | one `models.get` call per deployment |
//! | `* /gemini/v1beta/{…}` | master key (also as `x-goog-api-key` or `?key=`) | Gemini pass-through |
//! | `* /vertex_ai/{v1,v1beta1}/projects/{p}/locations/{l}/{…}` | master key, a virtual key for its models | Vertex AI pass-through to the `vertex_ai/` deployment of that project and location |
//! | `/key/…`, `/team/…`, `GET /user/info`, `GET /spend/logs` | master key | virtual keys, teams and spend ([`super::keys`]) |
//! | `/v1/files…`, `/v1/batches…` (and without `/v1`) | master key | files and batches of Gemini deployments (`proxy/files.rs`) |
//!
//! Where the table says "master key", a virtual key made with `/key/generate` is taken
//! too (not on `/health`; on the Vertex AI pass-through for the model paths it may call),
//! for the models it and its team may call.

use std::collections::HashSet;
use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body::Body;
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::auth::{self, MasterKey};
use super::config::{Config, LitellmParams, ModelEntry, is_provider_param, unserved};
use super::files::FileRoutes;
use super::keys::guard::{KeyCall, KeyGuard, KeyGuardLayer};
use super::keys::{KeyMetrics, Keys, KeysError, is_admin_route};
use super::metrics::Metrics;
use super::models::{Catalogue, check_model_info, deployment_price};
use super::observe::usage::RecordUsage;
use super::passthrough::{GEMINI_ROUTES, PREFIX, Passthrough, VERSION, google_error};
use super::passthrough_vertex::{VERTEX_ROUTES, VertexPassthrough, credentials};
use super::readiness::Readiness;
use super::response_cache::{ResponseCache, ResponseCacheLayer, SetupError};
use super::unset_key;
use crate::Deadline;
use crate::edge::{
    ChatEdge, ChatEdgeLayer, CompletionsEdge, CompletionsEdgeLayer, DEFAULT_BODY_LIMIT, EdgeBody,
    EmbeddingsEdge, EmbeddingsEdgeLayer, MessagesEdge, MessagesEdgeLayer, ResponsesEdge,
    ResponsesEdgeLayer, error_response, json_response, messages_error_response, read_body,
};
use crate::error::{Error, ErrorKind};
use crate::layers::completions::Completions;
use crate::layers::media::{FetchPolicy, MediaFetcher};
use crate::layers::messages::{Messages, MessagesLayer};
use crate::layers::responses::{DEFAULT_MAX_RECORD_BYTES, ItemsQuery};
use crate::layers::responses::{Responses, ResponsesLayer};
use crate::pricing::ModelPrice;
use crate::provider::{ChatService, EmbeddingService};
use crate::providers::gemini::{DEFAULT_API_BASE, DEFAULT_TIMEOUT, Gemini, api_key_from_env};
use crate::providers::openai_compatible::{
    API_KEY_VAR as OPENAI_KEY_VAR, DEFAULT_API_BASE as OPENAI_API_BASE, OpenAiCompatible,
};
use crate::providers::vertex::{Vertex, default_location, endpoint};
use crate::router::{Deployment, ModelRouter, RouteReport, RouterObserver};
use crate::store::{
    CacheStore, MemoryCacheStore, MemoryResponseStore, MemoryRouterStore, RedisCacheStore,
    ResponseStore, RouterStore,
};
use crate::upstream::{HttpTransport, InFlightLimitLayer, RetryPolicy, Secret};

/// Most upstream calls one deployment has in flight at once (streams count until they
/// end) unless its `max_parallel_requests` or `router_settings.default_max_parallel_requests`
/// says otherwise. LiteLLM sets no bound by default; this one is above what most keys'
/// quotas keep in flight (2,000 requests a minute of one-minute streams is 2,000 at once),
/// yet keeps a flood of requests (or of slow streams) from opening sockets and holding
/// memory without end: about 2,048 upstream sockets and, at tens of KiB per open stream,
/// under 100 MiB. A call past the bound waits in line up to
/// [`DEFAULT_QUEUE_WAIT`](crate::upstream::in_flight::DEFAULT_QUEUE_WAIT), then answers
/// 429 with `Retry-After: 1`.
pub const DEFAULT_MAX_PARALLEL_REQUESTS: usize = 2048;

/// The largest stored response kept in Redis (a conversation and its reply, as JSON).
const REDIS_MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;

/// How long opening a connection to Gemini may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the proxy could not be built from a config.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A provider could not be built.
    #[error("model_list[{index}]: {source}")]
    Provider {
        /// Position in `model_list`.
        index: usize,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A deployment param does not fit a chat request (`temperature: hot`).
    #[error("model_list[{index}].litellm_params: {message}")]
    Params {
        /// Position in `model_list`.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// The image fetch policy is invalid.
    #[error("litellm_settings.user_url_allowed_hosts: {0}")]
    FetchPolicy(#[from] crate::layers::media::FetchError),
    /// The HTTP transport could not be created.
    #[error("{source}")]
    Transport {
        /// Why.
        source: crate::upstream::BuildError,
    },
    /// `router_settings` names a Redis URL its client does not accept.
    #[error("router_settings: {0}")]
    Redis(crate::store::StoreError),
    /// The response cache cannot be set up.
    #[error("{0}")]
    Cache(#[from] SetupError),
}

/// The response headers of LiteLLM's router: which group and deployment answered, after
/// how many retries and fallbacks.
const X_LITELLM_MODEL_GROUP: http::HeaderName =
    http::HeaderName::from_static("x-litellm-model-group");
const X_LITELLM_MODEL_ID: http::HeaderName = http::HeaderName::from_static("x-litellm-model-id");
const X_LITELLM_ATTEMPTED_RETRIES: http::HeaderName =
    http::HeaderName::from_static("x-litellm-attempted-retries");
const X_LITELLM_ATTEMPTED_FALLBACKS: http::HeaderName =
    http::HeaderName::from_static("x-litellm-attempted-fallbacks");

/// The router behind every route: a virtual key's model check and spend, the response
/// cache (on chat and embeddings when configured; elsewhere it only takes the `cache`
/// field out), then usage recording.
type Routed = KeyGuard<ResponseCache<RecordUsage<ModelRouter>>>;

/// The largest body of a key or team route.
const ADMIN_BODY_LIMIT: usize = 1024 * 1024;

/// Everything a request needs, shared by clones of [`Proxy`].
struct Shared {
    chat: ChatEdge<Routed>,
    completions: CompletionsEdge<Completions<Routed>>,
    embeddings: EmbeddingsEdge<Routed>,
    responses: ResponsesEdge<Responses<Routed>>,
    messages: MessagesEdge<Messages<Routed>>,
    door: MasterKey,
    /// Virtual keys: with a master key only.
    keys: Option<Arc<Keys>>,
    models: Catalogue,
    health: Value,
    passthrough: Passthrough,
    files: FileRoutes,
    vertex_passthrough: VertexPassthrough,
    readiness: Readiness,
    router: ModelRouter,
    request_timeout: Option<Duration>,
    body_limit: usize,
}

/// The proxy service: `http::Request` in, `http::Response` out, errors as responses.
///
/// ```
/// use llm_tower::proxy::{app::Proxy, config::Config};
///
/// let proxy = Proxy::from_config(&Config::default_gemini())?;
/// # let _ = proxy;
/// # Ok::<(), llm_tower::proxy::app::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Shared>,
}

impl Proxy {
    /// Builds the router and routes from a config.
    pub fn from_config(config: &Config) -> Result<Self, BuildError> {
        Self::build(config, None, None)
    }

    /// As [`from_config`](Self::from_config), with the router's retries, fallbacks and
    /// cooldowns, and virtual keys' requests and spend, counted in `metrics`.
    pub fn from_config_observed(config: &Config, metrics: &Metrics) -> Result<Self, BuildError> {
        Self::build(config, Some(metrics.router()), Some(metrics.keys()))
    }

    fn build(
        config: &Config,
        observer: Option<Arc<dyn RouterObserver>>,
        key_metrics: Option<Arc<KeyMetrics>>,
    ) -> Result<Self, BuildError> {
        let settings = &config.litellm_settings;
        let fetcher = MediaFetcher::new(FetchPolicy::allowing(
            settings.user_url_allowed_hosts.iter().cloned(),
        ))?;
        // One pool for every deployment and the pass-through; a deployment's `timeout`
        // is its own silence limit over the shared pool.
        let transport = HttpTransport::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|source| BuildError::Transport { source })?;
        let Stores {
            caches,
            stored,
            max_record_bytes,
            router_store,
            redis,
        } = stores(config)?;
        let cache = ResponseCacheLayer::new(settings.cache.as_ref(), redis.as_ref())?;
        let common = Common {
            transport: &transport,
            fetcher: &fetcher,
            caches: &caches,
        };
        let routing = &config.router_settings.routing;
        let mut router = ModelRouter::builder()
            .strategy(routing.strategy)
            .retries(routing.retries())
            .cooldowns(routing.cooldowns())
            .fallbacks(routing.fallbacks.clone());
        // Virtual keys' rate limits count where the router's do.
        let counters = router_store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryRouterStore::default()));
        if let Some(store) = router_store {
            router = router.store(store);
        }
        if let Some(observer) = observer {
            router = router.observer(observer);
        }
        let mut prices = Vec::with_capacity(config.model_list.len());
        // Names some deployment with its key serves: one without its key is left out there.
        let keyed: HashSet<&str> = config
            .model_list
            .iter()
            .filter(|entry| becomes_deployment(entry))
            .map(|entry| entry.model_name.as_str())
            .collect();
        for (index, entry) in config.model_list.iter().enumerate() {
            // Reported as a config warning; requests for it answer 404 saying why.
            if let Some(why) = unserved(&entry.litellm_params.model) {
                router = router.unavailable(entry.model_name.clone(), why);
                prices.push(None);
                continue;
            }
            // Reported as a config warning; alone under its name, it answers 401 naming
            // the variable.
            if let Some(var) = &entry.litellm_params.api_key_unset {
                prices.push(None);
                if !keyed.contains(entry.model_name.as_str()) {
                    let (chat, embeddings) = unset_key::services(&entry.model_name, var);
                    let deployment = Deployment::new(chat, entry.litellm_params.model_id())
                        .with_embeddings(embeddings);
                    router = router.deployment(entry.model_name.clone(), deployment);
                }
                continue;
            }
            check_model_info(entry).map_err(|message| BuildError::Provider {
                index,
                source: message.into(),
            })?;
            let price =
                deployment_price(entry).map_err(|message| BuildError::Params { index, message })?;
            let (chat, embeddings) = deployment_services(index, entry, config, &common, price)?;
            prices.push(price);
            let deployment = Deployment::new(chat, entry.litellm_params.model_id())
                .with_embeddings(embeddings)
                .with_params(provider_params(entry))
                .map_err(|error| BuildError::Params {
                    index,
                    message: error.message().to_owned(),
                })?;
            let deployment = routed(deployment, index, entry, price);
            router = router.deployment(entry.model_name.clone(), deployment);
        }
        for (alias, group) in &routing.model_group_alias {
            router = router.alias(alias.clone(), group.clone());
        }
        let router = router.build();
        let body_limit = config
            .general_settings
            .max_request_size_mb
            .map_or(DEFAULT_BODY_LIMIT, |mb| {
                usize::try_from(mb * 1024 * 1024).unwrap_or(usize::MAX)
            });
        let routed = RecordUsage::new(router.clone());
        let uncached = KeyGuardLayer.layer(ResponseCacheLayer::off().layer(routed.clone()));
        let chat = ChatEdgeLayer::new()
            .body_limit(body_limit)
            .layer(KeyGuardLayer.layer(cache.layer(routed.clone())));
        let completions = CompletionsEdgeLayer::new()
            .body_limit(body_limit)
            .layer(Completions::new(uncached.clone()));
        let embeddings = EmbeddingsEdgeLayer::new()
            .body_limit(body_limit)
            .layer(KeyGuardLayer.layer(cache.layer(routed)));
        // Stored responses are kept under a hash of the master key that created them.
        let owner = config.general_settings.master_key.as_ref();
        let responses = ResponsesEdgeLayer::new().body_limit(body_limit).layer(
            ResponsesLayer::new()
                .store(stored)
                .max_record_bytes(max_record_bytes)
                .owner(owner.map_or("", |key| key.expose()))
                .drop_params(settings.drop_params)
                .layer(uncached.clone()),
        );
        let messages = MessagesEdgeLayer::new().body_limit(body_limit).layer(
            MessagesLayer::new()
                .drop_params(settings.drop_params)
                .layer(uncached),
        );
        Ok(Self {
            shared: Arc::new(Shared {
                chat,
                completions,
                embeddings,
                responses,
                messages,
                door: MasterKey::new(config.general_settings.master_key.clone()),
                keys: Keys::from_config(config, counters, redis.clone(), key_metrics),
                models: Catalogue::new(&config.model_list, &prices, router.clone()),
                health: health_report(config),
                readiness: Readiness::new(config, transport.clone()),
                router: router.clone(),
                vertex_passthrough: VertexPassthrough::new(config, &transport),
                files: FileRoutes::new(config, &transport, redis.as_ref()),
                passthrough: passthrough(config, transport),
                request_timeout: settings.request_timeout,
                body_limit,
            }),
        })
    }

    /// Whether requests need the master key.
    pub fn requires_key(&self) -> bool {
        self.shared.door.is_set()
    }

    /// Opens the database of virtual keys (running its migrations) and starts writing
    /// their spend; call it at startup, so that a database that cannot be reached stops
    /// the proxy with a clear error. Without a master key, or with the default SQLite file
    /// not made yet, there is nothing to open.
    ///
    /// ```
    /// use llm_tower::proxy::{app::Proxy, config::Config};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let proxy = Proxy::from_config(&Config::default_gemini())?;
    /// proxy.open_keys().await?;
    /// # Ok(()) }
    /// ```
    pub async fn open_keys(&self) -> Result<(), KeysError> {
        match &self.shared.keys {
            Some(keys) => keys.open().await,
            None => Ok(()),
        }
    }

    /// Where virtual keys are kept (for the startup log), when they are on.
    pub fn keys_database(&self) -> Option<String> {
        self.shared.keys.as_ref().map(|keys| keys.describe())
    }

    /// Writes the spend of virtual keys not written yet (at shutdown).
    pub async fn flush_spend(&self) {
        if let Some(keys) = &self.shared.keys {
            keys.flush().await;
        }
    }
}

/// The params of an entry that go into its requests: not the router's, not its prices.
pub(crate) fn provider_params(entry: &ModelEntry) -> serde_json::Map<String, Value> {
    entry
        .litellm_params
        .extra
        .iter()
        .filter(|(key, _)| is_provider_param(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// A deployment with the router's params of `model_list[index]`: its id (`model_info.id`,
/// else a hash of its name, model, base URL and position, never of its key: the same on
/// every replica reading the same file), limits, weight, order, cooldown and price.
fn routed(
    deployment: Deployment,
    index: usize,
    entry: &ModelEntry,
    price: Option<ModelPrice>,
) -> Deployment {
    let params = &entry.litellm_params;
    let routing = &params.routing;
    let id = routing.id.clone().unwrap_or_else(|| {
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [
            entry.model_name.as_str(),
            params.model.as_str(),
            params.api_base.as_deref().unwrap_or_default(),
            &index.to_string(),
        ] {
            digest.update(part.as_bytes());
            digest.update(&[0]);
        }
        digest.finish().as_ref()[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    });
    let mut deployment = deployment.with_id(id).with_provider(params.provider());
    if let Some(rpm) = routing.rpm {
        deployment = deployment.with_rpm(rpm);
    }
    if let Some(tpm) = routing.tpm {
        deployment = deployment.with_tpm(tpm);
    }
    if let Some(weight) = routing.weight {
        deployment = deployment.with_weight(weight);
    }
    if let Some(order) = routing.order {
        deployment = deployment.with_order(order);
    }
    if let Some(time) = routing.cooldown_time {
        deployment = deployment.with_cooldown_time(time);
    }
    if let Some(price) = price {
        deployment = deployment
            .with_cost_per_token((price.input_cost_per_token + price.output_cost_per_token) / 2.0);
    }
    deployment
}

/// The state the proxy keeps between requests.
struct Stores {
    caches: Arc<dyn CacheStore>,
    stored: Arc<dyn ResponseStore>,
    max_record_bytes: usize,
    router_store: Option<Arc<dyn RouterStore>>,
    /// The Redis of `router_settings`, for a response cache of `type: redis`.
    redis: Option<RedisCacheStore>,
}

/// One registry of context caches, one of stored responses and the router's shared state,
/// over one Redis connection when the config names a Redis (in memory otherwise, where
/// the router keeps its own state). Entries of different keys and endpoints are kept
/// apart by their hash, responses by the hash of the master key that made them. A record
/// sent to Redis shares the connection with the context-cache lookups, whose budget is a
/// few hundred milliseconds: it is kept smaller there.
fn stores(config: &Config) -> Result<Stores, BuildError> {
    Ok(match &config.router_settings.redis_url {
        Some(url) => {
            let redis = RedisCacheStore::open(url.expose()).map_err(BuildError::Redis)?;
            Stores {
                stored: Arc::new(redis.response_store()),
                router_store: Some(Arc::new(redis.router_store())),
                caches: Arc::new(redis.clone()),
                redis: Some(redis),
                max_record_bytes: REDIS_MAX_RECORD_BYTES,
            }
        }
        None => Stores {
            caches: Arc::new(MemoryCacheStore::default()),
            stored: Arc::new(MemoryResponseStore::default()),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            router_store: None,
            redis: None,
        },
    })
}

/// What every deployment shares.
struct Common<'a> {
    transport: &'a HttpTransport,
    fetcher: &'a MediaFetcher,
    caches: &'a Arc<dyn CacheStore>,
}

/// The chat and embeddings services of one `model_list` entry, with its retries and its
/// bound on calls in flight (shared by its chat and embeddings calls).
fn deployment_services(
    index: usize,
    entry: &ModelEntry,
    config: &Config,
    common: &Common<'_>,
    price: Option<ModelPrice>,
) -> Result<(ChatService, EmbeddingService), BuildError> {
    let params = &entry.litellm_params;
    let limit = params
        .max_parallel_requests
        .or(config.router_settings.default_max_parallel_requests)
        .map_or(DEFAULT_MAX_PARALLEL_REQUESTS, NonZeroUsize::get);
    let setup = Setup {
        params,
        config,
        common,
        price,
        limit: InFlightLimitLayer::new(limit),
        retry: retry_policy(params, config, alone(entry, config)),
        timeout: params.timeout.or(config.router_settings.routing.timeout),
    };
    // `unserved` lets only the providers of `SERVED_PROVIDERS` through.
    let built = match params.provider() {
        "openai" => openai_services(setup),
        "vertex_ai" => vertex_services(setup),
        _ => gemini_services(setup),
    };
    built.map_err(|source| BuildError::Provider { index, source })
}

/// What a provider's services are built from: the entry's params, what every deployment
/// shares, and the settings worked out once for every provider.
struct Setup<'a> {
    params: &'a LitellmParams,
    config: &'a Config,
    common: &'a Common<'a>,
    price: Option<ModelPrice>,
    limit: InFlightLimitLayer,
    retry: RetryPolicy,
    /// The deployment's `timeout`, else `router_settings.timeout`.
    timeout: Option<Duration>,
}

/// A provider's chat and embeddings services, or why it could not be built.
type Services = Result<(ChatService, EmbeddingService), Box<dyn std::error::Error + Send + Sync>>;

fn gemini_services(setup: Setup<'_>) -> Services {
    let Setup {
        params,
        config,
        common,
        ..
    } = setup;
    let mut builder = Gemini::builder()
        .drop_params(config.litellm_settings.drop_params)
        .client_credentials(config.general_settings.allow_client_side_credentials)
        .media_fetcher(common.fetcher.clone())
        .transport(common.transport.clone())
        .cache_store(common.caches.clone());
    if let Some(timeout) = setup.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(price) = setup.price {
        builder = builder.price(price);
    }
    if let Some(key) = &params.api_key {
        builder = builder.api_key(Secret::new(key.expose()));
    }
    if let Some(base) = &params.api_base {
        builder = builder.api_base(base.clone());
    }
    let gemini = builder.retry(setup.retry).http_layer(setup.limit).build()?;
    Ok((gemini.chat_service(), gemini.embedding_service()))
}

/// A `vertex_ai/…` deployment: the Gemini stack with Google Cloud credentials; startup
/// refuses a key file it cannot read or use, naming the key (never its content).
fn vertex_services(setup: Setup<'_>) -> Services {
    let Setup {
        params,
        config,
        common,
        ..
    } = setup;
    let vertex = &params.vertex;
    let credentials = credentials(vertex.credentials.as_ref()).map_err(|error| {
        let key = match vertex.credentials {
            Some(_) => "vertex_credentials",
            None => "GOOGLE_APPLICATION_CREDENTIALS",
        };
        format!("{key}: {error}")
    })?;
    let mut builder = Vertex::builder()
        .credentials(credentials)
        .drop_params(config.litellm_settings.drop_params)
        .media_fetcher(common.fetcher.clone())
        .transport(common.transport.clone())
        .cache_store(common.caches.clone())
        .retry(setup.retry);
    if let Some(project) = &vertex.project {
        builder = builder.project(project);
    }
    if let Some(location) = &vertex.location {
        builder = builder.location(location);
    }
    if let Some(timeout) = setup.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(price) = setup.price {
        builder = builder.price(price);
    }
    if let Some(base) = &params.api_base {
        builder = builder.api_base(base);
    }
    let vertex = builder.http_layer(setup.limit).build()?;
    Ok((vertex.chat_service(), vertex.embedding_service()))
}

fn openai_services(setup: Setup<'_>) -> Services {
    let Setup {
        params,
        config,
        common,
        ..
    } = setup;
    let mut builder = OpenAiCompatible::builder()
        .drop_params(config.litellm_settings.drop_params)
        .client_credentials(config.general_settings.allow_client_side_credentials)
        .transport(common.transport.clone())
        .retry(setup.retry);
    if let Some(timeout) = setup.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(key) = &params.api_key {
        builder = builder.api_key(key.clone());
    }
    if let Some(base) = &params.api_base {
        builder = builder.api_base(base.clone());
    }
    if let Some(price) = setup.price {
        builder = builder.price(price);
    }
    if let Some(organization) = &params.organization {
        let value = http::HeaderValue::try_from(organization.as_str())
            .map_err(|_| "litellm_params.organization is not a valid HTTP header value")?;
        builder = builder.organization(value);
    }
    let openai = builder.http_layer(setup.limit).build()?;
    Ok((openai.chat_service(), openai.embedding_service()))
}

/// The retries of one deployment at the HTTP seam, where a retried call resends its bytes
/// and never waits past the request's deadline (`request_timeout`): its `max_retries`;
/// else, for a deployment alone in its group, the router's `num_retries` when it is set
/// (the router leaves a lone deployment's retries to this level); else none, and the
/// router retries on another deployment. Both levels take from the request's one
/// [`SendBudget`](crate::upstream::SendBudget), so a request is sent at most
/// `1 + num_retries` times in its group whatever `max_retries` says.
fn retry_policy(params: &LitellmParams, config: &Config, lone: bool) -> RetryPolicy {
    let routing = &config.router_settings.routing;
    let retries = params
        .max_retries
        .or(routing.num_retries.filter(|_| lone))
        .unwrap_or(0);
    RetryPolicy::new(retries)
}

/// Whether `entry` is the only deployment of its model name.
fn alone(entry: &ModelEntry, config: &Config) -> bool {
    config
        .model_list
        .iter()
        .filter(|other| other.model_name == entry.model_name && becomes_deployment(other))
        .count()
        == 1
}

/// Whether an entry becomes a deployment of its group: its provider is served here and
/// its key variable is set.
fn becomes_deployment(entry: &ModelEntry) -> bool {
    entry.litellm_params.api_key_unset.is_none() && unserved(&entry.litellm_params.model).is_none()
}

/// LiteLLM's `/health` shape from the configuration alone: a deployment is unhealthy when
/// its provider is not available here, or when it has no key to call with (none configured,
/// and none in the provider's variable; an OpenAI-compatible server of your own may need
/// none).
/// Base URLs are shown without credentials, query or fragment.
fn health_report(config: &Config) -> Value {
    let gemini_env_key = api_key_from_env().is_some();
    let openai_env_key = std::env::var(OPENAI_KEY_VAR).is_ok_and(|key| !key.is_empty());
    let mut healthy = Vec::new();
    let mut unhealthy = Vec::new();
    for entry in &config.model_list {
        let params = &entry.litellm_params;
        // An OpenAI-compatible server of your own may take no key (a local vLLM, Ollama);
        // OpenAI's endpoint, and Gemini, need one.
        let vertex_base;
        let (api_base, key_needed, env_key) = match params.provider() {
            "openai" => {
                let base = params.api_base.as_deref().unwrap_or(OPENAI_API_BASE);
                let official = base.trim_end_matches('/') == OPENAI_API_BASE;
                (base, official, official && openai_env_key)
            }
            // Its credentials were read and checked at startup; its host is its
            // location's (or its `api_base`).
            "vertex_ai" => {
                let location = params.vertex.location.clone();
                vertex_base = endpoint(
                    params.api_base.as_deref(),
                    &location.unwrap_or_else(default_location),
                );
                (vertex_base.as_str(), false, false)
            }
            _ => (
                params.api_base.as_deref().unwrap_or(DEFAULT_API_BASE),
                true,
                gemini_env_key,
            ),
        };
        let has_key = params.api_key.is_some() || (env_key && params.api_key_unset.is_none());
        let mut report = json!({
            "model": params.model,
            "model_name": entry.model_name,
            "api_base": crate::upstream::redact_url(api_base),
            "has_api_key": has_key,
        });
        let problem = match (unserved(&params.model), &params.api_key_unset) {
            (Some(why), _) => Some(why),
            (None, Some(var)) => Some(unset_key::message(&entry.model_name, var)),
            (None, None) if key_needed && !has_key => {
                Some("no API key: set api_key or the provider's key variable".to_owned())
            }
            (None, None) => None,
        };
        match problem {
            Some(why) => {
                report["error"] = Value::String(why);
                unhealthy.push(report);
            }
            None => healthy.push(report),
        }
    }
    json!({
        "healthy_count": healthy.len(),
        "unhealthy_count": unhealthy.len(),
        "healthy_endpoints": healthy,
        "unhealthy_endpoints": unhealthy,
        "note": "configuration check; no upstream call is made",
    })
}

/// The pass-through uses the first Gemini deployment with a key (and its `timeout` as the
/// silence limit), else the environment and the default limit.
fn passthrough(config: &Config, transport: HttpTransport) -> Passthrough {
    let entry = config.model_list.iter().find(|entry| {
        entry.litellm_params.provider() == "gemini" && entry.litellm_params.api_key.is_some()
    });
    let key = entry
        .and_then(|entry| entry.litellm_params.api_key.as_ref())
        .map(|key| Secret::new(key.expose()))
        .or_else(api_key_from_env);
    let api_base = entry
        .and_then(|entry| entry.litellm_params.api_base.clone())
        .or_else(|| {
            std::env::var("GEMINI_API_BASE")
                .ok()
                .filter(|base| !base.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
    let timeout = entry
        .and_then(|entry| entry.litellm_params.timeout)
        .unwrap_or(DEFAULT_TIMEOUT);
    Passthrough::new(transport.with_timeout(timeout), api_base, key)
}

impl<B> Service<http::Request<B>> for Proxy
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<EdgeBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        if let Some(limit) = shared.request_timeout {
            // What the stack must not wait past (the upstream retry reads it).
            request.extensions_mut().insert(Deadline::after(limit));
        }
        // Where the router sent the request, for the answer's headers.
        let report = RouteReport::default();
        request.extensions_mut().insert(report.clone());
        Box::pin(async move {
            // Method, path and status only: headers (and the keys in them) are never
            // logged. Nothing is copied for the log unless it is on.
            let access = tracing::enabled!(tracing::Level::DEBUG).then(|| {
                let (method, path) = (request.method().clone(), request.uri().path().to_owned());
                (method, path, std::time::Instant::now())
            });
            let render = if request.uri().path().starts_with(GEMINI_ROUTES) {
                google_error
            } else {
                error_response
            };
            // `route` is made where it is awaited: a future kept in a local first would
            // take its room twice in this one.
            let response = match shared.request_timeout {
                Some(limit) => tokio::time::timeout(limit, route(&shared, request))
                    .await
                    .unwrap_or_else(|_| {
                        render(&Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "no reply within the request timeout of {} s",
                                limit.as_secs_f64()
                            ),
                        ))
                    }),
                None => route(&shared, request).await,
            };
            if let Some((method, path, started)) = access {
                tracing::debug!(%method, %path, status = response.status().as_u16(), elapsed = ?started.elapsed(), "request");
            }
            Ok(with_route_headers(response, &report))
        })
    }
}

/// LiteLLM's router headers, when the router routed the request.
fn with_route_headers(
    mut response: http::Response<EdgeBody>,
    report: &RouteReport,
) -> http::Response<EdgeBody> {
    let route = report.route();
    let Some(group) = route.model_group else {
        return response;
    };
    let headers = response.headers_mut();
    let text = |value: &str| http::HeaderValue::from_str(value).ok();
    if let Some(group) = text(&group) {
        headers.insert(X_LITELLM_MODEL_GROUP, group);
    }
    if let Some(id) = route.model_id.as_deref().and_then(text) {
        headers.insert(X_LITELLM_MODEL_ID, id);
    }
    headers.insert(X_LITELLM_ATTEMPTED_RETRIES, route.retries.into());
    headers.insert(X_LITELLM_ATTEMPTED_FALLBACKS, route.fallbacks.into());
    response
}

async fn route<B>(shared: &Shared, mut request: http::Request<B>) -> http::Response<EdgeBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if let Some(rest) = path.strip_prefix(VERTEX_ROUTES) {
        // Vertex AI's SDKs send the proxy key (or a virtual key) as their access token; a
        // virtual key calls the models it may, read from the path. Held until the reply.
        let _caller = match Box::pin(caller(shared, request.headers(), None, false)).await {
            Ok(Caller::Key(call)) => match call.grant.check_vertex(rest) {
                Ok(()) => Caller::Key(call),
                Err(error) => return google_error(&error),
            },
            Ok(caller) => caller,
            Err(error) => return google_error(&error),
        };
        let query = request.uri().query().map(str::to_owned);
        let (parts, body) = request.into_parts();
        // Boxed, as every route but the OpenAI ones: an inline future would make every
        // request's future as large as the largest route's.
        let forwarded = Box::pin(async {
            let body = read_body(body, shared.body_limit).await?;
            shared
                .vertex_passthrough
                .forward(method, rest, query.as_deref(), &parts.headers, body)
                .await
        });
        return forwarded.await.unwrap_or_else(|error| google_error(&error));
    }
    if let Some(rest) = path.strip_prefix(GEMINI_ROUTES) {
        let query = request.uri().query().map(str::to_owned);
        let caller = match Box::pin(caller(shared, request.headers(), query.as_deref(), true)).await
        {
            Ok(caller) => caller,
            Err(error) => return google_error(&error),
        };
        if let Caller::Key(call) = &caller
            && let Err(error) = call.grant.check_passthrough(rest)
        {
            return google_error(&error);
        }
        let Some(rest) = rest.strip_prefix(VERSION) else {
            return google_error(&Error::new(
                ErrorKind::NotFound,
                format!("no route for {method} {path}: the pass-through serves {PREFIX}…"),
            ));
        };
        let (parts, body) = request.into_parts();
        let forwarded = Box::pin(async {
            let body = read_body(body, shared.body_limit).await?;
            let query = query.as_deref();
            shared
                .passthrough
                .forward(method, rest, query, &parts.headers, body)
                .await
        });
        return forwarded.await.unwrap_or_else(|error| google_error(&error));
    }
    match (&method, path.as_str()) {
        (_, "/health/liveliness" | "/health/liveness") => {
            return json_response(StatusCode::OK, "I'm alive!");
        }
        (_, "/health/readiness") => {
            // Checking the upstreams spends calls: only for the master key.
            let check = request.uri().query().is_some_and(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .any(|(name, value)| name == "check" && value == "upstream")
            });
            if check && !shared.door.admits(request.headers(), None, false) {
                return unauthorized();
            }
            return Box::pin(shared.readiness.answer(check)).await;
        }
        _ => {}
    }
    if matches!(path.as_str(), "/v1/messages" | "/v1/messages/count_tokens") {
        match Box::pin(caller(shared, request.headers(), None, false)).await {
            Ok(caller) => caller.enter(&mut request),
            Err(error) => return messages_error_response(&error),
        }
        return shared
            .messages
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
    }
    // The master key is checked here, so its requests never hold the (boxed) future of
    // a virtual key's lookup.
    let caller = if shared.door.admits(request.headers(), None, false) {
        Ok(Caller::Master)
    } else {
        Box::pin(caller(shared, request.headers(), None, false)).await
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(error) => return error_response(&error),
    };
    if is_admin_route(&path) {
        return Box::pin(admin(shared, &caller, request)).await;
    }
    if matches!(caller, Caller::Key(_)) && path == "/health" {
        return error_response(&master_only());
    }
    if FileRoutes::serves(&path) {
        let grant = match &caller {
            Caller::Key(call) => Some(call.grant.as_ref()),
            Caller::Master => None,
        };
        return Box::pin(shared.files.answer(request, grant)).await;
    }
    caller.enter(&mut request);
    match (method, path.as_str()) {
        (_, "/v1/chat/completions" | "/chat/completions") => shared
            .chat
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {}),
        (_, "/v1/embeddings" | "/embeddings") => shared
            .embeddings
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {}),
        (_, "/v1/completions" | "/completions") => shared
            .completions
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {}),
        (_, "/v1/responses" | "/responses") => shared
            .responses
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {}),
        (method, path) if path.starts_with("/v1/responses/") || path.starts_with("/responses/") => {
            let query = request.uri().query();
            Box::pin(stored_response(
                shared.responses.get_ref(),
                &method,
                path,
                query,
            ))
            .await
            .unwrap_or_else(|error| error_response(&error))
        }
        // A virtual key sees the models it (and its team) may call, as in LiteLLM.
        (Method::GET, "/v1/models" | "/models") => match request.extensions().get::<KeyCall>() {
            Some(call) => json_response(
                StatusCode::OK,
                &shared.models.list_for(|id| call.grant.may_call(id)),
            ),
            None => json_response(StatusCode::OK, shared.models.list()),
        },
        (Method::GET, "/model/info" | "/v1/model/info") => {
            json_response(StatusCode::OK, shared.models.info())
        }
        (Method::GET, path) if path.starts_with("/v1/models/") || path.starts_with("/models/") => {
            let id = path.split_once("models/").map_or("", |(_, id)| id);
            match shared.models.model(id) {
                Some(model) => json_response(StatusCode::OK, &model),
                None => error_response(&Error::new(
                    ErrorKind::NotFound,
                    format!("The model `{id}` does not exist"),
                )),
            }
        }
        (Method::GET, "/health") => {
            let mut health = shared.health.clone();
            let cooling: Vec<Value> = Box::pin(shared.router.cooling_down())
                .await
                .into_iter()
                .map(|cooling| json!({"model_name": cooling.model_group, "model_id": cooling.model_id}))
                .collect();
            health["cooling_down"] = Value::Array(cooling);
            json_response(StatusCode::OK, &health)
        }
        (method, _) => error_response(&Error::new(
            ErrorKind::NotFound,
            format!("no route for {method} {path}"),
        )),
    }
}

/// `GET`/`DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`.
async fn stored_response(
    responses: &Responses<Routed>,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Result<http::Response<EdgeBody>, Error> {
    let rest = path
        .trim_start_matches("/v1")
        .trim_start_matches("/responses/");
    let (id, items) = match rest.split_once('/') {
        Some((id, "input_items")) => (id, true),
        Some(_) => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no route for {method} {path}"),
            ));
        }
        None => (rest, false),
    };
    Ok(match (method, items) {
        (&Method::GET, false) => json_response(StatusCode::OK, &responses.retrieve(id).await?),
        (&Method::DELETE, false) => json_response(StatusCode::OK, &responses.delete(id).await?),
        (&Method::GET, true) => {
            let query = ItemsQuery::parse(query)?;
            json_response(StatusCode::OK, &responses.input_items(id, &query).await?)
        }
        _ => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no route for {method} {path}"),
            ));
        }
    })
}

/// Who calls: the master key (or anyone, without one), or a virtual key.
enum Caller {
    Master,
    Key(KeyCall),
}

impl Caller {
    /// Marks a virtual key's request, for the checks at the OpenAI level.
    fn enter<B>(self, request: &mut http::Request<B>) {
        if let Self::Key(call) = self {
            request.extensions_mut().insert(call);
        }
    }
}

/// The caller of a request presenting `headers` (and `query` on the pass-through), or
/// why it may not call: no key, an unknown, expired or over-budget key, or a key
/// database that does not answer (503; the master key still works).
async fn caller(
    shared: &Shared,
    headers: &http::HeaderMap,
    query: Option<&str>,
    google_forms: bool,
) -> Result<Caller, Error> {
    if shared.door.admits(headers, query, google_forms) {
        return Ok(Caller::Master);
    }
    let Some(keys) = &shared.keys else {
        return Err(unauthenticated());
    };
    // Every virtual key starts with `sk-`: anything else is not looked up.
    let Some(presented) =
        auth::presented(headers, query, google_forms).filter(|key| key.starts_with("sk-"))
    else {
        return Err(unauthenticated());
    };
    Ok(Caller::Key(keys.enter(&presented).await?))
}

/// The routes of keys, teams and spend: the master key's alone.
async fn admin<B>(
    shared: &Shared,
    caller: &Caller,
    request: http::Request<B>,
) -> http::Response<EdgeBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Some(keys) = &shared.keys else {
        return error_response(&Error::new(
            ErrorKind::NotFound,
            "virtual keys need general_settings.master_key",
        ));
    };
    if !matches!(caller, Caller::Master) {
        return error_response(&master_only());
    }
    let (parts, body) = request.into_parts();
    let answered = async {
        let body = read_body(body, ADMIN_BODY_LIMIT).await?;
        keys.admin(&parts.method, parts.uri.path(), parts.uri.query(), body)
            .await
    };
    answered
        .await
        .unwrap_or_else(|error| error_response(&error))
}

fn master_only() -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        "only the master key may call this route",
    )
}

fn unauthorized() -> http::Response<EdgeBody> {
    error_response(&unauthenticated())
}

fn unauthenticated() -> Error {
    Error::new(
        ErrorKind::Authentication,
        "Authentication Error: missing or invalid key; send Authorization: Bearer <master_key>",
    )
}
