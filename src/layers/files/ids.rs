//! Signed ids of files and batches: each names the deployment, the provider's own name
//! of the object and its owner (a hash of the key that made it, never the key), and
//! carries an HMAC over them, so any replica that shares the signing key reads any id
//! without a database, and an id that was forged, altered or made by another key is not
//! found.
//!
//! Form: `file-{payload}.{tag}` or `batch_{payload}.{tag}`, where `payload` is the
//! base64url of `{kind}\n{deployment}\n{provider name}\n{owner}` and `tag` the first 16
//! bytes of HMAC-SHA256 over it, base64url.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// An uploaded file.
    File,
    /// A batch.
    Batch,
    /// A batch's output file (the provider name is the batch's).
    Output,
    /// A batch's error file (the provider name is the batch's).
    Errors,
}

impl IdKind {
    fn letter(self) -> char {
        match self {
            Self::File => 'f',
            Self::Batch => 'b',
            Self::Output => 'o',
            Self::Errors => 'e',
        }
    }

    fn of(letter: &str) -> Option<Self> {
        Some(match letter {
            "f" => Self::File,
            "b" => Self::Batch,
            "o" => Self::Output,
            "e" => Self::Errors,
            _ => return None,
        })
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Batch => "batch_",
            _ => "file-",
        }
    }
}

/// What an id says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdParts {
    /// What it names.
    pub kind: IdKind,
    /// The deployment (its `model_name`) that holds it.
    pub deployment: String,
    /// The provider's name of it (`files/…`, `batches/…`).
    pub upstream: String,
    /// The owner's hash.
    pub owner: String,
}

/// Signs and reads ids with one key.
///
/// ```
/// use llm_tower::layers::files::ids::{IdKind, IdParts, IdSigner};
///
/// let signer = IdSigner::new(b"master key");
/// let parts = IdParts {
///     kind: IdKind::File,
///     deployment: "gemini-flash".into(),
///     upstream: "files/abc".into(),
///     owner: IdSigner::owner("sk-1"),
/// };
/// let id = signer.sign(&parts);
/// assert!(id.starts_with("file-"));
/// assert_eq!(signer.read(&id), Some(parts));
/// assert_eq!(IdSigner::new(b"another key").read(&id), None);
/// ```
#[derive(Clone)]
pub struct IdSigner {
    key: hmac::Key,
}

impl std::fmt::Debug for IdSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdSigner(..)")
    }
}

/// How many bytes of the HMAC an id carries.
const TAG_BYTES: usize = 16;

impl IdSigner {
    /// A signer whose key is derived from `secret` (the master key), so that every
    /// replica with the same master key reads the others' ids.
    pub fn new(secret: &[u8]) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derived = hmac::sign(&root, b"llm-tower file and batch ids v1");
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// The owner hash of the key `presented` (empty for a caller without one).
    pub fn owner(presented: &str) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, presented.as_bytes());
        digest.as_ref()[..12]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The id of `parts`.
    pub fn sign(&self, parts: &IdParts) -> String {
        let payload = format!(
            "{}\n{}\n{}\n{}",
            parts.kind.letter(),
            parts.deployment,
            parts.upstream,
            parts.owner
        );
        let tag = hmac::sign(&self.key, payload.as_bytes());
        format!(
            "{}{}.{}",
            parts.kind.prefix(),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(&tag.as_ref()[..TAG_BYTES])
        )
    }

    /// What `id` says, if this key signed it; `None` for anything else.
    pub fn read(&self, id: &str) -> Option<IdParts> {
        let body = id
            .strip_prefix("file-")
            .or_else(|| id.strip_prefix("batch_"))?;
        let (payload, tag) = body.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != TAG_BYTES {
            return None;
        }
        // Compared in constant time: every byte is looked at whatever differs.
        let expected = hmac::sign(&self.key, &payload);
        let differs = expected.as_ref()[..TAG_BYTES]
            .iter()
            .zip(&tag)
            .fold(0u8, |acc, (left, right)| acc | (left ^ right));
        if differs != 0 {
            return None;
        }
        let payload = String::from_utf8(payload).ok()?;
        let mut fields = payload.splitn(4, '\n');
        let kind = IdKind::of(fields.next()?)?;
        if !id.starts_with(kind.prefix()) {
            return None;
        }
        Some(IdParts {
            kind,
            deployment: fields.next()?.to_owned(),
            upstream: fields.next()?.to_owned(),
            owner: fields.next()?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(kind: IdKind) -> IdParts {
        IdParts {
            kind,
            deployment: "d".into(),
            upstream: "batches/x".into(),
            owner: IdSigner::owner("k"),
        }
    }

    #[test]
    fn an_altered_id_is_not_read() {
        let signer = IdSigner::new(b"k");
        let id = signer.sign(&parts(IdKind::Batch));
        assert!(id.starts_with("batch_"));
        let (payload, tag) = id.split_once('.').unwrap();
        let other = signer.sign(&IdParts {
            owner: IdSigner::owner("other"),
            ..parts(IdKind::Batch)
        });
        let (_, other_tag) = other.split_once('.').unwrap();
        assert_eq!(signer.read(&format!("{payload}.{other_tag}")), None);
        assert_eq!(signer.read(&format!("{payload}x.{tag}")), None);
        assert_eq!(signer.read(&id.replacen("batch_", "file-", 1)), None);
        assert_eq!(signer.read("file-abc"), None);
    }

    #[test]
    fn output_and_error_ids_are_file_ids() {
        let signer = IdSigner::new(b"k");
        for kind in [IdKind::Output, IdKind::Errors] {
            let id = signer.sign(&parts(kind));
            assert!(id.starts_with("file-"));
            assert_eq!(signer.read(&id).map(|read| read.kind), Some(kind));
        }
    }
}
