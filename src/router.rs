//! Model routing: `provider/model` prefixes (`gemini/gemini-2.5-flash`), and named
//! deployments (a LiteLLM `model_name` with one or more upstream models, load-balanced
//! round robin).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use serde_json::{Map, Value};
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_service::Service;

use crate::error::{Error, ErrorKind};
use crate::openai::ChatRequest;
use crate::provider::{ChatResponse, ChatService, Provider};

/// One upstream behind a model name: a provider's service, the provider's model id, and
/// params merged into every request (a LiteLLM `litellm_params` entry).
#[derive(Clone)]
pub struct Deployment {
    service: ChatService,
    model: String,
    params: Option<Arc<ChatRequest>>,
}

impl Deployment {
    /// `model` is the provider's own id (`gemini-2.5-flash`), or `*` to pass the
    /// requested model through (a `gemini/*` wildcard).
    pub fn new(service: ChatService, model: impl Into<String>) -> Self {
        Self {
            service,
            model: model.into(),
            params: None,
        }
    }

    /// Params set on every request unless the request sets them itself. They are checked
    /// here, once: a param of the wrong type is an error naming it.
    pub fn with_params(mut self, params: Map<String, Value>) -> Result<Self, Error> {
        if params.is_empty() {
            return Ok(self);
        }
        let mut object = params;
        object.insert("model".to_owned(), Value::String(String::new()));
        object.insert("messages".to_owned(), Value::Array(Vec::new()));
        let defaults: ChatRequest = serde_path_to_error::deserialize(Value::Object(object))
            .map_err(|error| {
                let path = error.path().to_string();
                Error::invalid_param(
                    path.clone(),
                    format!("deployment param `{path}`: {}", error.into_inner()),
                )
            })?;
        self.params = Some(Arc::new(defaults));
        Ok(self)
    }
}

/// Where a request goes.
struct Route<'a> {
    service: ChatService,
    /// The provider's model id, or `*` to keep the requested one.
    model: String,
    params: Option<&'a ChatRequest>,
}

#[derive(Clone)]
struct Group {
    deployments: Arc<[Deployment]>,
    next: Arc<AtomicUsize>,
}

impl Group {
    fn pick(&self) -> &Deployment {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        &self.deployments[turn % self.deployments.len()]
    }
}

/// Routes chat requests to providers and deployments.
///
/// ```
/// use llm_tower::{Router, ChatService, ChatResponse, Error};
/// use llm_tower::openai::ChatRequest;
/// use tower::service_fn;
///
/// let echo = ChatService::new(service_fn(|request: ChatRequest| async move {
///     Err::<ChatResponse, _>(Error::invalid_request(request.model))
/// }));
/// let router = Router::builder().prefix("echo", echo).build();
/// assert!(router.resolves("echo/anything"));
/// assert!(!router.resolves("other/model"));
/// ```
#[derive(Clone, Default)]
pub struct Router {
    prefixes: Arc<HashMap<String, ChatService>>,
    names: Arc<HashMap<String, Group>>,
}

/// Builds a [`Router`].
#[derive(Default)]
pub struct RouterBuilder {
    prefixes: HashMap<String, ChatService>,
    names: HashMap<String, Vec<Deployment>>,
}

impl RouterBuilder {
    /// Serves `prefix/<model>` with `service` (which sees `<model>`).
    pub fn prefix(mut self, prefix: impl Into<String>, service: ChatService) -> Self {
        self.prefixes.insert(prefix.into(), service);
        self
    }

    /// Serves `prefix/<model>` with a provider.
    pub fn provider(self, prefix: impl Into<String>, provider: &dyn Provider) -> Self {
        self.prefix(prefix, provider.chat_service())
    }

    /// Adds a deployment for the model name clients send; several deployments of one
    /// name are used in turn.
    pub fn deployment(mut self, name: impl Into<String>, deployment: Deployment) -> Self {
        self.names.entry(name.into()).or_default().push(deployment);
        self
    }

    /// The router.
    pub fn build(self) -> Router {
        Router {
            prefixes: Arc::new(self.prefixes),
            names: Arc::new(
                self.names
                    .into_iter()
                    .map(|(name, deployments)| {
                        let group = Group {
                            deployments: deployments.into(),
                            next: Arc::new(AtomicUsize::new(0)),
                        };
                        (name, group)
                    })
                    .collect(),
            ),
        }
    }
}

impl Router {
    /// A builder.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    /// Whether a model name would be routed.
    pub fn resolves(&self, model: &str) -> bool {
        self.route(model).is_some()
    }

    /// The model names with deployments, sorted.
    pub fn model_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.names.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Resolves `model` to a service, the provider's model id and deployment params.
    fn route(&self, model: &str) -> Option<Route<'_>> {
        if let Some(group) = self.names.get(model) {
            let deployment = group.pick();
            return Some(Route {
                service: deployment.service.clone(),
                model: deployment.model.clone(),
                params: deployment.params.as_deref(),
            });
        }
        let (prefix, rest) = model.split_once('/')?;
        if let Some(group) = self.names.get(&format!("{prefix}/*")) {
            let deployment = group.pick();
            return Some(Route {
                service: deployment.service.clone(),
                model: rest.to_owned(),
                params: deployment.params.as_deref(),
            });
        }
        let service = self.prefixes.get(prefix)?;
        Some(Route {
            service: service.clone(),
            model: rest.to_owned(),
            params: None,
        })
    }
}

impl Service<ChatRequest> for Router {
    type Response = ChatResponse;
    type Error = Error;
    type Future = RouterFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: ChatRequest) -> Self::Future {
        let Some(Route {
            service,
            model,
            params,
        }) = self.route(&request.model)
        else {
            let error = Error::new(
                ErrorKind::NotFound,
                format!(
                    "model {:?} is not served here: use a configured model name or a provider prefix such as gemini/<model>",
                    request.model
                ),
            )
            .with_param("model");
            return RouterFuture::Failed { error: Some(error) };
        };
        if model != "*" {
            request.model = model;
        }
        if let Some(defaults) = params {
            request.fill_defaults(defaults);
        }
        RouterFuture::Routed {
            inner: service.oneshot(request),
        }
    }
}

pin_project! {
    /// Future of [`Router`].
    #[project = RouterFutureProj]
    pub enum RouterFuture {
        /// Sent to a provider.
        Routed { #[pin] inner: Oneshot<ChatService, ChatRequest> },
        /// No route.
        Failed { error: Option<Error> },
    }
}

impl Future for RouterFuture {
    type Output = Result<ChatResponse, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RouterFutureProj::Routed { inner } => inner.poll(cx),
            RouterFutureProj::Failed { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::new(crate::ErrorKind::Api, "polled after completion")))),
        }
    }
}
