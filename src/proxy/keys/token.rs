//! Virtual keys as LiteLLM makes and keeps them: `sk-` and 128 random bits (URL-safe
//! base64), stored only as the SHA-256 hex of the whole key (LiteLLM's `token`), shown
//! afterwards only by its abbreviation (`key_name`, `sk-...abcd`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

/// The prefix of every virtual key.
pub(crate) const PREFIX: &str = "sk-";

/// A new virtual key, or `None` when the system's random source fails.
pub(crate) fn generate() -> Option<String> {
    let mut bytes = [0_u8; 16];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The stored form of `key`: the SHA-256 of its bytes in lowercase hex, as LiteLLM's
/// `hash_token`.
pub(crate) fn hash(key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The key's display name: `sk-...` and its last four characters.
pub(crate) fn abbreviate(key: &str) -> String {
    let tail = key.len().saturating_sub(4);
    format!("sk-...{}", key.get(tail..).unwrap_or_default())
}

/// Whether `presented` is a stored hash rather than a key (LiteLLM's admin routes take
/// either).
pub(crate) fn is_hash(presented: &str) -> bool {
    presented.len() == 64 && presented.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The stored form of what an admin route names: a hash as it is, a key hashed.
pub(crate) fn stored_form(presented: &str) -> String {
    if is_hash(presented) {
        presented.to_ascii_lowercase()
    } else {
        hash(presented)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_hashed_as_litellm_does() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("sk-") && a.len() == 3 + 22, "{a}");
        // sha256("sk-1234"), as Python's hashlib gives it.
        assert_eq!(
            hash("sk-1234"),
            "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
        );
        assert!(is_hash(&hash(&a)));
        assert_eq!(stored_form(&a), hash(&a));
        assert_eq!(stored_form(&hash(&a).to_uppercase()), hash(&a));
        assert_eq!(abbreviate("sk-abcdefgh"), "sk-...efgh");
    }
}
