//! [`RandomRequestId`]: the `x-request-id` of a request that came without one, a random
//! UUID (version 4) drawn from a per-thread generator, so that naming a request costs no
//! system call (tower-http's `MakeRequestUuid` asks the kernel for randomness on every
//! request). Request ids name requests in logs and traces; they are not secrets.

use http::HeaderValue;
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes a random version-4 UUID for each request, for tower-http's `SetRequestIdLayer`.
///
/// ```
/// use llm_tower::proxy::observe::RandomRequestId;
/// use tower_http::request_id::MakeRequestId;
///
/// let request = http::Request::new(());
/// let id = RandomRequestId.make_request_id(&request).expect("an id");
/// let text = id.header_value().to_str().unwrap();
/// assert_eq!(text.len(), 36);
/// assert_eq!(&text[14..15], "4");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &http::Request<B>) -> Option<RequestId> {
        let text = uuid_v4(fastrand::u128(..));
        HeaderValue::from_str(&text).ok().map(RequestId::new)
    }
}

/// `bits` as a version-4, RFC 4122 variant UUID in its hyphenated form.
fn uuid_v4(bits: u128) -> String {
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::uuid_v4;

    #[test]
    fn ids_are_version_4_uuids() {
        assert_eq!(uuid_v4(0), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4(u128::MAX), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_ne!(uuid_v4(fastrand::u128(..)), uuid_v4(fastrand::u128(..)));
    }
}
