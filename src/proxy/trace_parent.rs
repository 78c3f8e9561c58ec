//! [`TraceParent`]: the W3C trace context (`traceparent: 00-<trace id>-<parent id>-<flags>`)
//! of a request, read from the client or started here, and the child context the proxy
//! sends upstream: the same trace id, the proxy's own span id as the parent.

use std::fmt::{self, Write as _};

use http::HeaderValue;

/// A version-00 W3C `traceparent`.
///
/// ```
/// use llm_tower::proxy::observe::TraceParent;
///
/// let client = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// let upstream = client.child();
/// assert_eq!(upstream.trace_id(), client.trace_id());
/// assert_ne!(upstream.to_string(), client.to_string());
/// assert!(TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: u128,
    parent_id: u64,
    flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value; `None` for anything but a valid version-00 value
    /// (all-zero ids are invalid), as the W3C recommendation says to restart the trace then.
    pub fn parse(value: &str) -> Option<Self> {
        let mut fields = value.trim().split('-');
        let (version, trace_id, parent_id, flags) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        let lower_hex = |text: &str, len: usize| {
            text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if fields.next().is_some()
            || version != "00"
            || !lower_hex(trace_id, 32)
            || !lower_hex(parent_id, 16)
            || !lower_hex(flags, 2)
        {
            return None;
        }
        let parsed = Self {
            trace_id: u128::from_str_radix(trace_id, 16).ok()?,
            parent_id: u64::from_str_radix(parent_id, 16).ok()?,
            flags: u8::from_str_radix(flags, 16).ok()?,
        };
        (parsed.trace_id != 0 && parsed.parent_id != 0).then_some(parsed)
    }

    /// A new trace (sampled), for a request that came without one.
    pub fn random() -> Self {
        Self {
            trace_id: fastrand::u128(1..),
            parent_id: fastrand::u64(1..),
            flags: 1,
        }
    }

    /// The same trace with a new parent id: what the proxy sends upstream.
    pub fn child(&self) -> Self {
        Self {
            parent_id: fastrand::u64(1..),
            ..*self
        }
    }

    /// The trace id, parent id and flags.
    #[cfg(feature = "otel")]
    pub(crate) fn parts(&self) -> (u128, u64, u8) {
        (self.trace_id, self.parent_id, self.flags)
    }

    /// A trace context from its parts.
    #[cfg(feature = "otel")]
    pub(crate) fn from_parts(trace_id: u128, parent_id: u64, flags: u8) -> Self {
        Self {
            trace_id,
            parent_id,
            flags,
        }
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        let mut text = String::with_capacity(32);
        let _ = write!(text, "{:032x}", self.trace_id);
        text
    }

    /// The trace id as a log field: 32 lowercase hex digits, written where it is logged.
    pub(crate) fn trace_id_field(&self) -> impl fmt::Display + use<> {
        TraceId(self.trace_id)
    }

    /// The header value.
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::try_from(self.to_string()).expect("hex digits and dashes are a header value")
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.parent_id, self.flags
        )
    }
}

/// A trace id as it is logged.
struct TraceId(u128);

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TraceParent;

    #[test]
    fn only_valid_version_00_values_parse() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = TraceParent::parse(good).expect("valid");
        assert_eq!(parsed.to_string(), good);
        assert_eq!(parsed.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parsed.trace_id_field().to_string(), parsed.trace_id());
        for bad in [
            "",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn new_traces_and_children_are_valid_values() {
        let root = TraceParent::random();
        let child = root.child();
        assert_eq!(TraceParent::parse(&root.to_string()), Some(root));
        assert_eq!(TraceParent::parse(&child.to_string()), Some(child));
        assert_eq!(child.trace_id(), root.trace_id());
        assert_eq!(
            child.header_value().to_str().ok(),
            Some(child.to_string().as_str())
        );
    }
}
