//! Model routing and failover, LiteLLM's router as one tower service.
//!
//! A request names a model: a provider prefix (`gemini/gemini-2.5-flash`) goes straight to
//! that provider; a configured name (a LiteLLM `model_name`) goes to a **model group** of
//! [`Deployment`]s. Within a group the router
//!
//! - chooses a deployment by a [`Strategy`] among those not cooling down and within their
//!   `rpm`/`tpm` for the minute, of the lowest `order`;
//! - retries a failed call on another deployment (or the same, after a wait, when none is
//!   left) as [`Retries`] allow for the failure's [`ErrorClass`], within one
//!   [`SendBudget`](crate::upstream::SendBudget) the HTTP-seam retry shares, so a request
//!   is sent at most `1 + num_retries` times in its group;
//! - takes a deployment out of rotation by the [`Cooldowns`] rule;
//! - and when the group gives up, tries its [`Fallbacks`], each group with retries of its
//!   own, up to `max_fallbacks` groups.
//!
//! A stream fails over only before its first chunk: the router waits for it, so an
//! upstream that fails or stalls before saying anything is a failed call like any other.
//!
//! State (cooldowns, per-minute counts, calls in flight, latencies) is kept per router; a
//! [`RouterStore`] shares cooldowns and counts between
//! replicas, bounded in time (a store that fails is passed over). A [`RouteReport`] in a
//! request's context learns where it went; a [`RouterObserver`] hears of retries,
//! fallbacks and cooldowns.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`ModelRouter`], [`ModelRouterBuilder`] and the service |
//! | `deployment.rs` | [`Deployment`] |
//! | `group.rs` | a model group and the choice of a deployment |
//! | `strategy.rs` | [`Strategy`] |
//! | `class.rs` | [`ErrorClass`], [`PerClass`] |
//! | `policy.rs` | [`Retries`], [`Cooldowns`] |
//! | `fallback.rs` | [`Fallbacks`] and a request's own routing params |
//! | `attempt.rs` | the failover loop of one request |
//! | `reply.rs` | what the router needs of chat and embeddings requests and replies |
//! | `state.rs` | what one router knows of each deployment |
//! | `shared.rs` | the shared store, bounded in time |
//! | `report.rs` | [`RouteReport`], [`RouterObserver`] |

mod attempt;
mod class;
mod deployment;
mod fallback;
mod group;
mod policy;
mod reply;
mod report;
mod shared;
mod state;
mod strategy;

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{BoxFuture, Either};
use tower::ServiceExt;
use tower::util::{BoxCloneSyncService, Oneshot};
use tower_service::Service;

pub use self::class::{ErrorClass, PerClass, UnknownClass};
pub use self::deployment::Deployment;
#[cfg(feature = "proxy")]
pub(crate) use self::deployment::chat_defaults;
pub use self::fallback::{DEFAULT_MAX_FALLBACKS, FallbackError, Fallbacks};
use self::group::Group;
pub use self::policy::{Cooldowns, DEFAULT_COOLDOWN_TIME, DEFAULT_NUM_RETRIES, Retries};
use self::reply::Routable;
pub use self::report::{Route, RouteReport, RouterObserver};
pub use self::shared::STORE_BUDGET;
use self::shared::SharedState;
pub use self::strategy::{LatencyArgs, Strategy, UnknownStrategy};
use crate::error::{Error, ErrorKind};
use crate::layers::refusable::{Refusable, Unchanged};
use crate::openai::{ChatRequest, EmbeddingRequest, EmbeddingResponse};
use crate::provider::{ChatResponse, ChatService, EmbeddingService, Provider};
use crate::store::RouterStore;

/// How a router treats every model group.
#[derive(Clone, Debug, Default)]
struct Settings {
    strategy: Strategy,
    retries: Retries,
    cooldowns: Cooldowns,
    fallbacks: Fallbacks,
}

/// What clones of a [`ModelRouter`] share.
#[derive(Default)]
pub(crate) struct Inner {
    prefixes: HashMap<String, ChatService>,
    embedding_prefixes: HashMap<String, EmbeddingService>,
    groups: HashMap<String, Arc<Group>>,
    unavailable: HashMap<String, String>,
    settings: Settings,
    shared: Option<Arc<SharedState>>,
    observer: Option<Arc<dyn RouterObserver>>,
}

/// Routes chat and embeddings requests to providers and model groups, with LiteLLM's
/// failover; see the [module](self).
///
/// ```
/// use llm_tower::{ChatResponse, ChatService, Error};
/// use llm_tower::openai::ChatRequest;
/// use llm_tower::router::ModelRouter;
/// use tower::service_fn;
///
/// let echo = ChatService::new(service_fn(|request: ChatRequest| async move {
///     Err::<ChatResponse, _>(Error::invalid_request(request.model))
/// }));
/// let router = ModelRouter::builder().prefix("echo", echo).build();
/// assert!(router.resolves("echo/anything"));
/// assert!(!router.resolves("other/model"));
/// ```
#[derive(Clone, Default)]
pub struct ModelRouter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ModelRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRouter")
            .field("model_names", &self.model_names())
            .field("strategy", &self.inner.settings.strategy)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ModelRouter`].
#[derive(Default)]
pub struct ModelRouterBuilder {
    inner: Inner,
    names: Vec<(String, Vec<Deployment>)>,
    aliases: Vec<(String, String)>,
    store: Option<Arc<dyn RouterStore>>,
}

impl ModelRouterBuilder {
    /// Serves chat for `prefix/<model>` with `service` (which sees `<model>`).
    pub fn prefix(mut self, prefix: impl Into<String>, service: ChatService) -> Self {
        self.inner.prefixes.insert(prefix.into(), service);
        self
    }

    /// Serves embeddings for `prefix/<model>` with `service` (which sees `<model>`).
    pub fn embedding_prefix(
        mut self,
        prefix: impl Into<String>,
        service: EmbeddingService,
    ) -> Self {
        self.inner.embedding_prefixes.insert(prefix.into(), service);
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

    /// Adds a deployment to the model group clients name `name`.
    pub fn deployment(mut self, name: impl Into<String>, deployment: Deployment) -> Self {
        let name = name.into();
        match self.names.iter_mut().find(|(known, _)| *known == name) {
            Some((_, deployments)) => deployments.push(deployment),
            None => self.names.push((name, vec![deployment])),
        }
        self
    }

    /// Serves the model name `alias` with the group `group` (its deployments and their
    /// state: LiteLLM's `model_group_alias`). An alias of a name without deployments is
    /// left out.
    pub fn alias(mut self, alias: impl Into<String>, group: impl Into<String>) -> Self {
        self.aliases.push((alias.into(), group.into()));
        self
    }

    /// Answers requests for the model name `name` (or, for `prefix/*`, any `prefix/<model>`)
    /// with a 404 saying `why`, unless a deployment serves that name: a configured model whose
    /// provider is not available here.
    ///
    /// ```
    /// use llm_tower::ErrorKind;
    /// use llm_tower::openai::ChatRequest;
    /// use llm_tower::router::ModelRouter;
    /// use tower::ServiceExt;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let router = ModelRouter::builder().unavailable("claude", "provider \"anthropic\" is not available").build();
    /// let request: ChatRequest = serde_json::from_str(r#"{"model":"claude","messages":[]}"#).unwrap();
    /// let error = router.oneshot(request).await.unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::NotFound);
    /// assert!(error.message().contains("anthropic"));
    /// # });
    /// ```
    pub fn unavailable(mut self, name: impl Into<String>, why: impl Into<String>) -> Self {
        self.inner.unavailable.insert(name.into(), why.into());
        self
    }

    /// How a deployment is chosen in each group (default `simple-shuffle`).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.inner.settings.strategy = strategy;
        self
    }

    /// Retries across the deployments of a group (default: LiteLLM's two).
    pub fn retries(mut self, retries: Retries) -> Self {
        self.inner.settings.retries = retries;
        self
    }

    /// When deployments leave the rotation (default: LiteLLM's rule).
    pub fn cooldowns(mut self, cooldowns: Cooldowns) -> Self {
        self.inner.settings.cooldowns = cooldowns;
        self
    }

    /// Where a request goes when its group gives up. Names that are not model groups are
    /// skipped ([`Fallbacks::check`] finds them beforehand).
    pub fn fallbacks(mut self, fallbacks: Fallbacks) -> Self {
        self.inner.settings.fallbacks = fallbacks;
        self
    }

    /// Shares cooldowns and per-minute counts through `store` (with other routers of this
    /// process, or through Redis with other replicas).
    pub fn store(mut self, store: Arc<dyn RouterStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Tells `observer` of retries, fallbacks, cooldowns and store failures.
    pub fn observer(mut self, observer: Arc<dyn RouterObserver>) -> Self {
        self.inner.observer = Some(observer);
        self
    }

    /// The router.
    pub fn build(self) -> ModelRouter {
        let mut inner = self.inner;
        inner.groups = self
            .names
            .into_iter()
            .map(|(name, deployments)| {
                let group = Arc::new(Group::new(&name, deployments, &inner.settings.fallbacks));
                (name, group)
            })
            .collect();
        for (alias, group) in self.aliases {
            if let Some(group) = inner.groups.get(&group).cloned() {
                inner.groups.entry(alias).or_insert(group);
            }
        }
        inner.shared = self
            .store
            .map(|store| Arc::new(SharedState::new(store, inner.observer.clone())));
        ModelRouter {
            inner: Arc::new(inner),
        }
    }
}

/// A deployment out of rotation, as [`ModelRouter::cooling_down`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cooling {
    /// Its model group.
    pub model_group: String,
    /// Its id.
    pub model_id: String,
}

impl ModelRouter {
    /// A builder.
    pub fn builder() -> ModelRouterBuilder {
        ModelRouterBuilder::default()
    }

    /// Whether a model name would be routed for chat (without taking a turn of its
    /// deployments).
    pub fn resolves(&self, model: &str) -> bool {
        let inner = &self.inner;
        inner.groups.contains_key(model)
            || model.split_once('/').is_some_and(|(prefix, _)| {
                inner.groups.contains_key(&format!("{prefix}/*"))
                    || inner.prefixes.contains_key(prefix)
            })
    }

    /// The model names with deployments, sorted.
    pub fn model_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.inner.groups.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The deployments cooling down now, as this router knows them and as the shared
    /// store says (sorted by group and id).
    pub async fn cooling_down(&self) -> Vec<Cooling> {
        let now = tokio::time::Instant::now();
        let minute = crate::store::minute_of(std::time::SystemTime::now());
        let mut cooling = Vec::new();
        // Aliases name the same groups: each group once, under its own name.
        for (name, group) in self
            .inner
            .groups
            .iter()
            .filter(|(name, group)| **name == *group.name)
        {
            let shared = match &self.inner.shared {
                Some(shared) => shared.load(&group.ids, minute).await,
                None => None,
            };
            for (position, id) in group.ids.iter().enumerate() {
                let local = group.states[position]
                    .view(minute, Default::default(), now)
                    .cooling_until
                    .is_some();
                let remote = shared
                    .as_ref()
                    .is_some_and(|loads| loads[position].cooling_down);
                if local || remote {
                    cooling.push(Cooling {
                        model_group: name.clone(),
                        model_id: id.to_string(),
                    });
                }
            }
        }
        cooling.sort_by(|a, b| (&a.model_group, &a.model_id).cmp(&(&b.model_group, &b.model_id)));
        cooling
    }

    /// The group of `model` (and, for a wildcard group, the provider's model), or a
    /// provider prefix's service, or why there is none.
    fn route<R: Routable>(
        &self,
        model: &str,
        prefixes: &HashMap<String, BoxCloneSyncService<R, R::Reply, Error>>,
    ) -> Result<Target<R>, Error> {
        let inner = &self.inner;
        if let Some(group) = inner.groups.get(model) {
            return Ok(Target::Group(group.clone(), None));
        }
        if let Some((prefix, rest)) = model.split_once('/')
            && let Some(group) = inner.groups.get(&format!("{prefix}/*"))
        {
            return Ok(Target::Group(group.clone(), Some(rest.to_owned())));
        }
        let unavailable = inner.unavailable.get(model).or_else(|| {
            let (prefix, _) = model.split_once('/')?;
            inner.unavailable.get(&format!("{prefix}/*"))
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
            Some(service) => Ok(Target::Prefix(service.clone(), rest.to_owned())),
            None if inner.prefixes.contains_key(prefix) => Err(Error::invalid_param(
                "model",
                format!("model {model:?} does not serve {} requests", R::WHAT),
            )),
            None => Err(not_found()),
        }
    }

    fn dispatch<R: Routable>(
        &self,
        mut request: R,
        prefixes: &HashMap<String, BoxCloneSyncService<R, R::Reply, Error>>,
    ) -> RouterFuture<R, R::Reply> {
        let (group, rest) = match self.route(request.model(), prefixes) {
            Ok(Target::Prefix(service, model)) => {
                request.set_model(model);
                return Refusable::called(Either::Left(service.oneshot(request)), Unchanged);
            }
            Ok(Target::Group(group, rest)) => (group, rest),
            Err(error) => return Refusable::refused(error),
        };
        if let Some(service) = self.direct(&group, &mut request, rest.as_deref()) {
            return Refusable::called(Either::Left(service.oneshot(request)), Unchanged);
        }
        let failover = attempt::serve(self.inner.clone(), group, rest, request);
        Refusable::called(Either::Right(Box::pin(failover)), Unchanged)
    }

    /// The service of a group with nothing to fail over to (one deployment without
    /// limits, no fallbacks, no routing params in the request), with the request made
    /// ready for it: such a request needs no state, no clone and no box.
    fn direct<R: Routable>(
        &self,
        group: &Group,
        request: &mut R,
        rest: Option<&str>,
    ) -> Option<BoxCloneSyncService<R, R::Reply, Error>> {
        let [deployment] = &*group.deployments else {
            return None;
        };
        let extra = request.extra_mut();
        if group.limited
            || group.can_fall_back
            || (!extra.is_empty() && fallback::names_routing(extra))
        {
            return None;
        }
        let service = R::service(deployment)?.clone();
        group.prepare(request, 0, rest);
        group.report(request.context_mut().get::<RouteReport>(), 0, 0);
        Some(service)
    }
}

/// Where a request goes.
enum Target<R: Routable> {
    Group(Arc<Group>, Option<String>),
    Prefix(BoxCloneSyncService<R, R::Reply, Error>, String),
}

impl Service<ChatRequest> for ModelRouter {
    type Response = ChatResponse;
    type Error = Error;
    type Future = RouterFuture<ChatRequest, ChatResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ChatRequest) -> Self::Future {
        self.dispatch(request, &self.inner.prefixes)
    }
}

impl Service<EmbeddingRequest> for ModelRouter {
    type Response = EmbeddingResponse;
    type Error = Error;
    type Future = RouterFuture<EmbeddingRequest, EmbeddingResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: EmbeddingRequest) -> Self::Future {
        self.dispatch(request, &self.inner.embedding_prefixes)
    }
}

/// Future of [`ModelRouter`], for requests of type `Req` answered with `Res`: refused
/// when no model group or provider serves the request; else the call of a provider or of
/// the one deployment of a group with no failover (left), or the failover loop (right).
pub type RouterFuture<Req, Res> = Refusable<
    Either<
        Oneshot<BoxCloneSyncService<Req, Res, Error>, Req>,
        BoxFuture<'static, Result<Res, Error>>,
    >,
>;

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

    async fn answer(router: &ModelRouter, model: &str) -> String {
        let request = ChatRequest::new(model, Vec::new());
        let error = router
            .clone()
            .oneshot(request)
            .await
            .expect_err("named error");
        error.message().to_owned()
    }

    #[tokio::test]
    async fn every_deployment_of_a_group_serves_and_resolving_calls_none() {
        let router = ModelRouter::builder()
            .deployment("pair", named("a"))
            .deployment("pair", named("b"))
            .retries(Retries::new(0))
            .build();
        assert!(router.resolves("pair"));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..64 {
            seen.insert(answer(&router, "pair").await);
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[tokio::test]
    async fn embeddings_skip_the_deployments_that_have_none() {
        let embeddings = EmbeddingService::new(tower::service_fn(|_: EmbeddingRequest| async {
            Err::<EmbeddingResponse, _>(Error::invalid_request("embedded"))
        }));
        let router = ModelRouter::builder()
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
