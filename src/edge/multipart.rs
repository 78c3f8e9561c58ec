//! `multipart/form-data` bodies (RFC 7578), read whole: the form the OpenAI SDKs'
//! `files.create` sends. Only what an upload needs: each part's name, file name, media
//! type and bytes; the body is already bounded by the caller's size limit.

use bytes::Bytes;
use memchr::memmem;

use crate::error::Error;

/// The most parts a form may have.
const MAX_PARTS: usize = 32;

/// One part of a form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    /// The field's name.
    pub(crate) name: String,
    /// The file's name, for a file field.
    pub(crate) filename: Option<String>,
    /// The part's `Content-Type`.
    pub(crate) content_type: Option<String>,
    /// Its bytes.
    pub(crate) data: Bytes,
}

/// The boundary of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|value| !value.is_empty() && value.len() <= 70)
    })
}

/// The parts of `body`, a form delimited by `boundary`.
pub(crate) fn parse(boundary: &str, body: &Bytes) -> Result<Vec<Part>, Error> {
    let malformed =
        |what: &str| Error::invalid_request(format!("malformed multipart body: {what}"));
    let opening = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let start = memmem::find(body, opening.as_bytes()).ok_or_else(|| malformed("no boundary"))?;
    let mut at = start + opening.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(malformed("a boundary not followed by a line end"));
        }
        at += 2;
        let head_end = memmem::find(&body[at..], b"\r\n\r\n")
            .ok_or_else(|| malformed("a part without the end of its headers"))?;
        let head = std::str::from_utf8(&body[at..at + head_end])
            .map_err(|_| malformed("headers that are not UTF-8"))?;
        let data_start = at + head_end + 4;
        let data_len = memmem::find(&body[data_start..], delimiter.as_bytes())
            .ok_or_else(|| malformed("a part without a closing boundary"))?;
        if parts.len() == MAX_PARTS {
            return Err(malformed("too many parts"));
        }
        parts.push(part(head, body.slice(data_start..data_start + data_len))?);
        at = data_start + data_len + delimiter.len();
    }
}

fn part(head: &str, data: Bytes) -> Result<Part, Error> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let Some((header, value)) = line.split_once(':') else {
            continue;
        };
        if header.trim().eq_ignore_ascii_case("content-disposition") {
            for param in value.split(';').skip(1) {
                let Some((key, text)) = param.split_once('=') else {
                    continue;
                };
                let text = text.trim().trim_matches('"').to_owned();
                match key.trim() {
                    "name" => name = Some(text),
                    "filename" => filename = Some(text),
                    _ => {}
                }
            }
        } else if header.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    Ok(Part {
        name: name.ok_or_else(|| {
            Error::invalid_request("malformed multipart body: a part without a name")
        })?,
        filename,
        content_type,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_is_read() {
        let body = Bytes::from_static(
            b"--xyz\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n{\"a\":1}\r\n\r\n--xyz--\r\n",
        );
        let boundary = boundary("multipart/form-data; boundary=xyz").unwrap();
        let parts = parse(&boundary, &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), &parts[0].data[..]),
            ("purpose", &b"batch"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("in.jsonl"));
        assert_eq!(parts[1].content_type.as_deref(), Some("application/jsonl"));
        assert_eq!(&parts[1].data[..], b"{\"a\":1}\r\n");
    }

    #[test]
    fn a_form_of_more_parts_than_the_bound_is_refused() {
        let part = "--xyz\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
        let at_bound = format!("{}--xyz--\r\n", part.repeat(MAX_PARTS));
        assert_eq!(
            parse("xyz", &Bytes::from(at_bound)).unwrap().len(),
            MAX_PARTS
        );
        let over = format!("{}--xyz--\r\n", part.repeat(MAX_PARTS + 1));
        let error = parse("xyz", &Bytes::from(over)).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(error.message().contains("too many parts"), "{error}");
    }

    #[test]
    fn a_cut_form_is_refused() {
        let body = Bytes::from_static(
            b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhalf",
        );
        assert_eq!(parse("xyz", &body).unwrap_err().status(), 400);
        assert_eq!(boundary("application/json"), None);
    }
}
