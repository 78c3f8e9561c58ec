//! [`UpstreamBody`]: the body of an upstream HTTP reply, whatever produced it (the pooled
//! transport, a user's layer that wraps bodies, a test double).

use std::any::Any;

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use tower::BoxError;

use super::retry::RetryBody;

/// Body of an upstream HTTP reply.
pub type UpstreamBody = UnsyncBoxBody<Bytes, BoxError>;

/// `body` as an [`UpstreamBody`], boxed at most once: a body that already is one (the
/// transport's), or a [`RetryBody`] that handed one on untouched, is not boxed again.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Full};
/// use llm_tower::upstream::body::into_upstream_body;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let body = into_upstream_body(Full::new(Bytes::from("{}")));
/// assert_eq!(body.collect().await.unwrap().to_bytes(), "{}");
/// # }
/// ```
pub fn into_upstream_body<B>(body: B) -> UpstreamBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let body = match downcast::<UpstreamBody, B>(body) {
        Ok(boxed) => return boxed,
        Err(body) => body,
    };
    let body = match downcast::<RetryBody<UpstreamBody>, B>(body) {
        Ok(retried) => {
            return retried
                .into_passed()
                .unwrap_or_else(|buffered| buffered.boxed_unsync());
        }
        Err(body) => body,
    };
    body.map_err(Into::into).boxed_unsync()
}

/// `value` as a `T` if it is one (moved, not copied), else `value` back.
fn downcast<T: 'static, V: 'static>(value: V) -> Result<T, V> {
    let mut slot = Some(value);
    let taken = (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<T>>()
        .and_then(Option::take);
    match (taken, slot) {
        (Some(same), _) => Ok(same),
        (None, Some(value)) => Err(value),
        (None, None) => unreachable!("the slot is emptied only when the downcast succeeds"),
    }
}
