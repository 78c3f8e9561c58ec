//! The key of a cached reply: a SHA-256 of the request as canonical JSON (object keys
//! sorted at every depth, no spaces) without the fields that do not change the answer,
//! after the endpoint's name; hex, after `{namespace}:` when there is one.

use serde::Serialize;
use serde_json::Value;

/// Top-level request fields left out of the key: how the reply is delivered, who asked,
/// and the proxy's own controls.
const IGNORED: [&str; 8] = [
    "stream",
    "stream_options",
    "user",
    "metadata",
    "cache",
    "timeout",
    "request_timeout",
    "num_retries",
];

/// The key of `request` to the `endpoint` (`chat`, `embeddings`), in `namespace`; `None`
/// for a request that cannot be written as JSON (it is not cached).
pub(super) fn of(
    endpoint: &str,
    namespace: Option<&str>,
    request: &impl Serialize,
) -> Option<String> {
    let mut value = serde_json::to_value(request).ok()?;
    if let Value::Object(map) = &mut value {
        for field in IGNORED {
            map.remove(field);
        }
    }
    let mut text = Vec::with_capacity(256);
    text.extend_from_slice(endpoint.as_bytes());
    text.push(0);
    canonical(&value, &mut text);
    let digest = ring::digest::digest(&ring::digest::SHA256, &text);
    let mut key = namespace.map_or_else(String::new, |namespace| format!("{namespace}:"));
    for byte in digest.as_ref() {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    Some(key)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `value` as JSON with the keys of every object sorted.
fn canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by_key(|(key, _)| *key);
            out.push(b'{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                // Writing a string or a number into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, key);
                out.push(b':');
                canonical(item, out);
            }
            out.push(b'}');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::of;

    #[test]
    fn delivery_and_caller_fields_and_key_order_do_not_change_the_key() {
        let one = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
            "response_format": {"type": "json_schema", "json_schema": {"a": 1, "b": 2}},
            "stream": true, "user": "u1", "metadata": {"k": "v"}});
        let two = json!({"messages": [{"content": "Hi", "role": "user"}], "model": "m",
            "response_format": {"json_schema": {"b": 2, "a": 1}, "type": "json_schema"}});
        assert_eq!(of("chat", None, &one), of("chat", None, &two));
        assert_eq!(of("chat", None, &one).unwrap().len(), 64);
    }

    #[test]
    fn what_changes_the_answer_changes_the_key() {
        let base = json!({"model": "m", "messages": [], "temperature": 0.2});
        let key = of("chat", None, &base);
        for other in [
            json!({"model": "m", "messages": [], "temperature": 0.3}),
            json!({"model": "n", "messages": [], "temperature": 0.2}),
            json!({"model": "m", "messages": [], "temperature": 0.2, "tools": []}),
        ] {
            assert_ne!(key, of("chat", None, &other), "{other}");
        }
        assert_ne!(key, of("embeddings", None, &base));
        let spaced = of("chat", Some("team-a"), &base).unwrap();
        assert_eq!(spaced.strip_prefix("team-a:"), key.as_deref());
    }
}
