//! [`Deployment`]: one upstream behind a model name, with what the router needs to choose
//! it (its id, weight, order, per-minute limits, price) besides its services.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::openai::ChatRequest;
use crate::provider::{ChatService, EmbeddingService};

/// One upstream behind a model name: a provider's services, the provider's model id, and
/// params merged into every chat request (a LiteLLM `litellm_params` entry).
///
/// ```
/// use llm_tower::{ChatResponse, ChatService, Error};
/// use llm_tower::openai::ChatRequest;
/// use llm_tower::router::Deployment;
/// use tower::service_fn;
///
/// let service = ChatService::new(service_fn(|_: ChatRequest| async {
///     Err::<ChatResponse, _>(Error::invalid_request("stand-in"))
/// }));
/// let deployment = Deployment::new(service, "gemini-2.5-flash")
///     .with_id("flash-eu")
///     .with_rpm(600)
///     .with_weight(2.0);
/// assert_eq!(deployment.id(), Some("flash-eu"));
/// ```
#[derive(Clone)]
pub struct Deployment {
    pub(crate) service: ChatService,
    pub(crate) embeddings: Option<EmbeddingService>,
    pub(crate) model: String,
    pub(crate) params: Option<Arc<ChatRequest>>,
    pub(crate) id: Option<Arc<str>>,
    pub(crate) provider: Option<Arc<str>>,
    pub(crate) rpm: Option<u64>,
    pub(crate) tpm: Option<u64>,
    pub(crate) weight: Option<f64>,
    pub(crate) order: Option<u32>,
    pub(crate) cooldown_time: Option<Duration>,
    pub(crate) cost: Option<f64>,
}

impl Deployment {
    /// `model` is the provider's own id (`gemini-2.5-flash`), or `*` to pass the
    /// requested model through (a `gemini/*` wildcard).
    pub fn new(service: ChatService, model: impl Into<String>) -> Self {
        Self {
            service,
            embeddings: None,
            model: model.into(),
            params: None,
            id: None,
            provider: None,
            rpm: None,
            tpm: None,
            weight: None,
            order: None,
            cooldown_time: None,
            cost: None,
        }
    }

    /// Serves embeddings requests for this model name too.
    pub fn with_embeddings(mut self, service: EmbeddingService) -> Self {
        self.embeddings = Some(service);
        self
    }

    /// Params set on every chat request unless the request sets them itself. They are
    /// checked here, once: a param of the wrong type is an error naming it.
    pub fn with_params(mut self, params: Map<String, Value>) -> Result<Self, Error> {
        self.params = chat_defaults(params)?.map(Arc::new);
        Ok(self)
    }

    /// The id clients see in `x-litellm-model-id` and stores key its state by (LiteLLM's
    /// `model_info.id`); without one the router names the deployment
    /// `{model name}/{position}`.
    pub fn with_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The id set with [`with_id`](Self::with_id).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The provider family (`gemini`, `openai`), for logs and metrics.
    pub fn with_provider(mut self, provider: impl Into<Arc<str>>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Most requests a minute: at the limit the deployment is passed over until the
    /// next minute (shared by replicas through a [`RouterStore`](crate::store::RouterStore)).
    pub fn with_rpm(mut self, rpm: u64) -> Self {
        self.rpm = Some(rpm);
        self
    }

    /// Most tokens a minute (counted from replies' usage once they end).
    pub fn with_tpm(mut self, tpm: u64) -> Self {
        self.tpm = Some(tpm);
        self
    }

    /// The share of requests `simple-shuffle` gives it (LiteLLM's `weight`).
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Its rank (LiteLLM's `order`): deployments of a higher order serve only while
    /// every deployment of a lower one is cooling down or at its limits.
    pub fn with_order(mut self, order: u32) -> Self {
        self.order = Some(order);
        self
    }

    /// Its own cooldown length, over the router's (zero: it never cools down).
    pub fn with_cooldown_time(mut self, time: Duration) -> Self {
        self.cooldown_time = Some(time);
        self
    }

    /// What a token costs in US dollars (input and output averaged), for
    /// `cost-based-routing`.
    pub fn with_cost_per_token(mut self, cost: f64) -> Self {
        self.cost = Some(cost);
        self
    }
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment")
            .field("model", &self.model)
            .field("id", &self.id)
            .field("rpm", &self.rpm)
            .field("tpm", &self.tpm)
            .field("weight", &self.weight)
            .field("order", &self.order)
            .finish_non_exhaustive()
    }
}

/// A deployment's params as the chat request whose fields are its defaults (see
/// [`ChatRequest::fill_defaults`]); `None` when there are none. A param of the wrong type
/// is an error naming it.
pub(crate) fn chat_defaults(params: Map<String, Value>) -> Result<Option<ChatRequest>, Error> {
    if params.is_empty() {
        return Ok(None);
    }
    let mut object = params;
    object.insert("model".to_owned(), Value::String(String::new()));
    object.insert("messages".to_owned(), Value::Array(Vec::new()));
    serde_path_to_error::deserialize(Value::Object(object))
        .map(Some)
        .map_err(|error| {
            let path = error.path().to_string();
            Error::invalid_param(
                path.clone(),
                format!("deployment param `{path}`: {}", error.into_inner()),
            )
        })
}
