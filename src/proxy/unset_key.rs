//! Deployments whose `api_key` names an unset environment variable. As in LiteLLM, the
//! proxy starts and serves the others: such a deployment is left out of a model name that
//! other deployments serve, and a name only it serves answers a 401 naming the variable.

use std::future::{Ready, ready};
use std::sync::Arc;

use tower::util::BoxCloneSyncService;

use crate::error::{Error, ErrorKind};
use crate::provider::{ChatService, EmbeddingService};

/// The chat and embeddings services of a deployment without its key: every request is
/// answered with an authentication error naming `var`.
pub(crate) fn services(model_name: &str, var: &str) -> (ChatService, EmbeddingService) {
    let message: Arc<str> = message(model_name, var).into();
    (refusing(message.clone()), refusing(message))
}

/// Why a deployment without its key is unavailable (also shown in `/health`).
pub(crate) fn message(model_name: &str, var: &str) -> String {
    format!(
        "the deployment of {model_name:?} has no API key: environment variable `{var}` \
         (its litellm_params.api_key: os.environ/{var}) is not set where the proxy runs"
    )
}

fn refusing<R, T>(message: Arc<str>) -> BoxCloneSyncService<R, T, Error>
where
    R: 'static,
    T: Send + 'static,
{
    BoxCloneSyncService::new(tower::service_fn(move |_: R| -> Ready<Result<T, Error>> {
        ready(Err(Error::new(ErrorKind::Authentication, &*message)))
    }))
}

#[cfg(test)]
mod tests {
    use tower::ServiceExt;

    use super::*;
    use crate::openai::chat::ChatRequest;

    #[tokio::test]
    async fn every_request_is_a_401_naming_the_variable() {
        let (chat, _) = services("gpt-4o", "OPENAI_API_KEY");
        let request: ChatRequest = serde_json::from_value(serde_json::json!({
            "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]
        }))
        .expect("request");
        let error = chat.oneshot(request).await.expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Authentication);
        assert!(
            error.message().contains("`OPENAI_API_KEY`"),
            "{}",
            error.message()
        );
        assert!(
            error.message().contains("\"gpt-4o\""),
            "{}",
            error.message()
        );
    }
}
