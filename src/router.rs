//! Model routing: `provider/model` prefixes (`gemini/gemini-2.5-flash`), and named
//! deployments (a LiteLLM `model_name` with one or more upstream models, load-balanced
//! round robin), for chat and embeddings requests alike.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use serde_json::{Map, Value};
use tower::ServiceExt;
use tower::util::{BoxCloneSyncService, Oneshot};
use tower_service::Service;

use crate::error::{Error, ErrorKind};
use crate::openai::{ChatRequest, EmbeddingRequest, EmbeddingResponse};
use crate::provider::{ChatResponse, ChatService, EmbeddingService, Provider};

/// One upstream behind a model name: a provider's services, the provider's model id, and
/// params merged into every chat request (a LiteLLM `litellm_params` entry).
#[derive(Clone)]
pub struct Deployment {
    service: ChatService,
    embeddings: Option<EmbeddingService>,
    model: String,
    params: Option<Arc<ChatRequest>>,
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
struct Route<'a, S> {
    service: S,
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
    /// The next deployment in turn that has the service `service_of` looks for.
    fn pick<S>(&self, service_of: impl Fn(&Deployment) -> Option<S>) -> Option<(&Deployment, S)> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.deployments.len();
        (0..count).find_map(|offset| {
            let deployment = &self.deployments[(turn + offset) % count];
            service_of(deployment).map(|service| (deployment, service))
        })
    }
}

/// Routes chat and embeddings requests to providers and deployments.
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
    embedding_prefixes: Arc<HashMap<String, EmbeddingService>>,
    names: Arc<HashMap<String, Group>>,
    unavailable: Arc<HashMap<String, String>>,
}

/// Builds a [`Router`].
#[derive(Default)]
pub struct RouterBuilder {
    prefixes: HashMap<String, ChatService>,
    embedding_prefixes: HashMap<String, EmbeddingService>,
    names: HashMap<String, Vec<Deployment>>,
    unavailable: HashMap<String, String>,
}

impl RouterBuilder {
    /// Serves chat for `prefix/<model>` with `service` (which sees `<model>`).
    pub fn prefix(mut self, prefix: impl Into<String>, service: ChatService) -> Self {
        self.prefixes.insert(prefix.into(), service);
        self
    }

    /// Serves embeddings for `prefix/<model>` with `service` (which sees `<model>`).
    pub fn embedding_prefix(
        mut self,
        prefix: impl Into<String>,
        service: EmbeddingService,
    ) -> Self {
        self.embedding_prefixes.insert(prefix.into(), service);
        self
    }

    /// Serves `prefix/<model>` with a provider: chat, and embeddings if it has them.
    pub fn provider(self, prefix: impl Into<String>, provider: &dyn Provider) -> Self {
        let prefix = prefix.into();
        let builder = match provider.embedding_service() {
            Some(embeddings) => self.embedding_prefix(prefix.clone(), embeddings),
            None => self,
        };
        builder.prefix(prefix, provider.chat_service())
    }

    /// Adds a deployment for the model name clients send; several deployments of one
    /// name are used in turn.
    pub fn deployment(mut self, name: impl Into<String>, deployment: Deployment) -> Self {
        self.names.entry(name.into()).or_default().push(deployment);
        self
    }

    /// Answers requests for the model name `name` (or, for `prefix/*`, any `prefix/<model>`)
    /// with a 404 saying `why`, unless a deployment serves that name: a configured model whose
    /// provider is not available here.
    ///
    /// ```
    /// use llm_tower::{Router, ErrorKind};
    /// use llm_tower::openai::ChatRequest;
    /// use tower::ServiceExt;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let router = Router::builder().unavailable("claude", "provider \"anthropic\" is not available").build();
    /// let request: ChatRequest = serde_json::from_str(r#"{"model":"claude","messages":[]}"#).unwrap();
    /// let error = router.oneshot(request).await.unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::NotFound);
    /// assert!(error.message().contains("anthropic"));
    /// # });
    /// ```
    pub fn unavailable(mut self, name: impl Into<String>, why: impl Into<String>) -> Self {
        self.unavailable.insert(name.into(), why.into());
        self
    }

    /// The router.
    pub fn build(self) -> Router {
        Router {
            unavailable: Arc::new(self.unavailable),
            prefixes: Arc::new(self.prefixes),
            embedding_prefixes: Arc::new(self.embedding_prefixes),
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

    /// Whether a model name would be routed for chat (without taking a turn of its
    /// deployments).
    pub fn resolves(&self, model: &str) -> bool {
        self.names.contains_key(model)
            || model.split_once('/').is_some_and(|(prefix, _)| {
                self.names.contains_key(&format!("{prefix}/*"))
                    || self.prefixes.contains_key(prefix)
            })
    }

    /// The model names with deployments, sorted.
    pub fn model_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.names.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Resolves `model` to a service (`service_of` a deployment, or a provider prefix's),
    /// the provider's model id and deployment params; `what` names the kind of request in
    /// errors.
    fn route<S: Clone>(
        &self,
        model: &str,
        service_of: impl Fn(&Deployment) -> Option<S>,
        prefixes: &HashMap<String, S>,
        what: &str,
    ) -> Result<Route<'_, S>, Error> {
        let not_served = || {
            Error::invalid_param(
                "model",
                format!("model {model:?} does not serve {what} requests"),
            )
        };
        let group = match self.names.get(model) {
            Some(group) => Some((group, None)),
            None => model.split_once('/').and_then(|(prefix, rest)| {
                Some((self.names.get(&format!("{prefix}/*"))?, Some(rest)))
            }),
        };
        if let Some((group, rest)) = group {
            let (deployment, service) = group.pick(service_of).ok_or_else(not_served)?;
            return Ok(Route {
                service,
                model: rest.map_or_else(|| deployment.model.clone(), str::to_owned),
                params: deployment.params.as_deref(),
            });
        }
        let unavailable = self.unavailable.get(model).or_else(|| {
            let (prefix, _) = model.split_once('/')?;
            self.unavailable.get(&format!("{prefix}/*"))
        });
        let not_found = || {
            let message = match unavailable {
                Some(why) => format!("model {model:?} is not served here: {why}"),
                None => format!(
                    "model {model:?} is not served here: use a configured model name or a provider prefix such as gemini/<model>"
                ),
            };
            Error::new(ErrorKind::NotFound, message).with_param("model")
        };
        let (prefix, rest) = model.split_once('/').ok_or_else(not_found)?;
        match prefixes.get(prefix) {
            Some(service) => Ok(Route {
                service: service.clone(),
                model: rest.to_owned(),
                params: None,
            }),
            None if self.prefixes.contains_key(prefix) => Err(not_served()),
            None => Err(not_found()),
        }
    }
}

impl Service<ChatRequest> for Router {
    type Response = ChatResponse;
    type Error = Error;
    type Future = RouterFuture<ChatRequest, ChatResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: ChatRequest) -> Self::Future {
        let route = self.route(
            &request.model,
            |deployment| Some(deployment.service.clone()),
            &self.prefixes,
            "chat",
        );
        let Route {
            service,
            model,
            params,
        } = match route {
            Ok(route) => route,
            Err(error) => return RouterFuture::Failed { error: Some(error) },
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

impl Service<EmbeddingRequest> for Router {
    type Response = EmbeddingResponse;
    type Error = Error;
    type Future = RouterFuture<EmbeddingRequest, EmbeddingResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: EmbeddingRequest) -> Self::Future {
        let route = self.route(
            &request.model,
            |deployment| deployment.embeddings.clone(),
            &self.embedding_prefixes,
            "embeddings",
        );
        let service = match route {
            Ok(Route { service, model, .. }) => {
                if model != "*" {
                    request.model = model;
                }
                service
            }
            Err(error) => return RouterFuture::Failed { error: Some(error) },
        };
        RouterFuture::Routed {
            inner: service.oneshot(request),
        }
    }
}

pin_project! {
    /// Future of [`Router`], for requests of type `Req` answered with `Res`.
    #[project = RouterFutureProj]
    pub enum RouterFuture<Req, Res> {
        /// Sent to a provider.
        Routed { #[pin] inner: Oneshot<BoxCloneSyncService<Req, Res, Error>, Req> },
        /// No route.
        Failed { error: Option<Error> },
    }
}

impl<Req, Res> Future for RouterFuture<Req, Res> {
    type Output = Result<Res, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RouterFutureProj::Routed { inner } => inner.poll(cx),
            RouterFutureProj::Failed { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::new(crate::ErrorKind::Api, "polled after completion")))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::EmbeddingResponse;
    use crate::provider::EmbeddingService;

    /// A chat deployment that fails with its own name, so the test sees which one answered.
    fn named(name: &'static str) -> Deployment {
        let service = ChatService::new(tower::service_fn(move |_: ChatRequest| async move {
            Err::<ChatResponse, _>(Error::invalid_request(name))
        }));
        Deployment::new(service, "m")
    }

    async fn answer(router: &Router, model: &str) -> String {
        let request = ChatRequest::new(model, Vec::new());
        let error = router
            .clone()
            .oneshot(request)
            .await
            .expect_err("named error");
        error.message().to_owned()
    }

    #[tokio::test]
    async fn asking_whether_a_name_resolves_takes_no_turn() {
        let router = Router::builder()
            .deployment("pair", named("a"))
            .deployment("pair", named("b"))
            .build();
        for _ in 0..3 {
            assert!(router.resolves("pair"));
        }
        assert_eq!(answer(&router, "pair").await, "a");
        assert_eq!(answer(&router, "pair").await, "b");
        assert_eq!(answer(&router, "pair").await, "a");
    }

    #[tokio::test]
    async fn embeddings_skip_the_deployments_that_have_none() {
        let embeddings = EmbeddingService::new(tower::service_fn(|_: EmbeddingRequest| async {
            Err::<EmbeddingResponse, _>(Error::invalid_request("embedded"))
        }));
        let router = Router::builder()
            .deployment("mixed", named("chat only"))
            .deployment("mixed", named("both").with_embeddings(embeddings))
            .build();
        for _ in 0..3 {
            let error = router
                .clone()
                .oneshot(EmbeddingRequest::new("mixed", "a"))
                .await
                .expect_err("named error");
            assert_eq!(error.message(), "embedded");
        }
    }
}
