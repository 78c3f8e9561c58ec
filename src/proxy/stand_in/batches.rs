//! The stand-in's Files API and Batch Mode, kept in its memory, in the shapes of Google's
//! references (<https://ai.google.dev/api/files>, <https://ai.google.dev/api/batch-mode>):
//!
//! | request | reply |
//! |---|---|
//! | `POST /upload/v1beta/files`, `X-Goog-Upload-Command: start` | `X-Goog-Upload-URL` naming a session |
//! | `POST` to that URL, `upload, finalize` | `{"file": File}`, the bytes kept as `files/sf-{n}` |
//! | `GET /download/v1beta/{file}:download?alt=media` | the file's bytes |
//! | `GET`, `DELETE /v1beta/files/{id}` | the `File`; `{}` |
//! | `POST /v1beta/models/{m}:batchGenerateContent` | the batch, `BATCH_STATE_RUNNING`; each line of its input answered as `generateContent` would be, into its results file |
//! | `GET /v1beta/batches/{id}` | the batch; a running one is `SUCCEEDED` from then on, with its `responsesFile` |
//! | `POST /v1beta/batches/{id}:cancel` | `{}`; a running batch is `CANCELLED` |

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

/// Files and batches the stand-in was given.
#[derive(Default)]
pub(super) struct Store {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: u64,
    /// Upload sessions: their display names.
    sessions: HashMap<String, String>,
    /// Files by name (`files/…`): their `File` and bytes.
    files: HashMap<String, (Value, Bytes)>,
    /// Batches by name (`batches/…`): the operation and the results file it will name.
    batches: HashMap<String, (Value, String)>,
}

/// A reply: status, content type, body, and the upload URL header of a started upload.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) content_type: &'static str,
    pub(super) body: Bytes,
    pub(super) upload_url: Option<String>,
}

fn json_answer(status: StatusCode, value: &Value) -> Answer {
    Answer {
        status,
        content_type: super::JSON,
        body: super::bytes(value),
        upload_url: None,
    }
}

fn not_found(what: &str) -> Answer {
    json_answer(
        StatusCode::NOT_FOUND,
        &json!({"error": {"code": 404, "status": "NOT_FOUND", "message": format!("{what} not found")}}),
    )
}

/// Whether the stand-in's batch routes answer `path`.
pub(super) fn serves(path: &str) -> bool {
    path.starts_with("/upload/v1beta/files")
        || path.starts_with("/download/v1beta/")
        || path.starts_with("/v1beta/files")
        || path.starts_with("/v1beta/batches/")
        || (path.starts_with("/v1beta/models/") && path.ends_with(":batchGenerateContent"))
}

impl Store {
    /// Answers one request of [`serves`]' paths; `generate` answers one
    /// `generateContent` body.
    pub(super) fn answer(
        &self,
        parts: &hyper::http::request::Parts,
        body: &Bytes,
        generate: &dyn Fn(&[u8]) -> Result<Bytes, Bytes>,
    ) -> Answer {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
        };
        let (method, path) = (&parts.method, parts.uri.path());
        let (query, host) = (parts.uri.query().unwrap_or_default(), header("host"));
        let command = header("x-goog-upload-command");
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.next += 1;
        let n = state.next;
        if path == "/upload/v1beta/files" && command == "start" {
            let request: Value = serde_json::from_slice(body).unwrap_or_default();
            let name = request["file"]["display_name"]
                .as_str()
                .unwrap_or("upload")
                .to_owned();
            state.sessions.insert(n.to_string(), name);
            let mut answer = json_answer(StatusCode::OK, &json!({}));
            answer.upload_url = Some(format!("http://{host}/upload/v1beta/files?upload_id={n}"));
            return answer;
        }
        if path == "/upload/v1beta/files" {
            let session = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("upload_id="));
            let Some(display) = session.and_then(|session| state.sessions.remove(session)) else {
                return not_found("upload session");
            };
            let name = format!("files/sf-{n}");
            let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(48 * 3600);
            let file = json!({
                "name": name, "displayName": display, "mimeType": "application/jsonl",
                "sizeBytes": body.len().to_string(), "state": "ACTIVE", "source": "UPLOADED",
                "expirationTime": humantime::format_rfc3339_millis(expires).to_string(),
                "uri": format!("http://{host}/v1beta/{name}"),
            });
            state.files.insert(name, (file.clone(), body.clone()));
            return json_answer(StatusCode::OK, &json!({"file": file}));
        }
        if let Some(name) = path
            .strip_prefix("/download/v1beta/")
            .and_then(|rest| rest.strip_suffix(":download"))
        {
            return match state.files.get(name) {
                Some((_, bytes)) => Answer {
                    status: StatusCode::OK,
                    content_type: "application/octet-stream",
                    body: bytes.clone(),
                    upload_url: None,
                },
                None => not_found(name),
            };
        }
        let rest = path.trim_start_matches("/v1beta/");
        if rest.starts_with("files/") {
            let found = if *method == Method::DELETE {
                state.files.remove(rest).map(|_| json!({}))
            } else {
                state.files.get(rest).map(|(file, _)| file.clone())
            };
            return found.map_or_else(
                || not_found(rest),
                |value| json_answer(StatusCode::OK, &value),
            );
        }
        if let Some(model) = rest
            .strip_prefix("models/")
            .and_then(|rest| rest.strip_suffix(":batchGenerateContent"))
        {
            let request: Value = serde_json::from_slice(body).unwrap_or_default();
            let input = request["batch"]["inputConfig"]["fileName"]
                .as_str()
                .unwrap_or_default();
            let Some((_, lines)) = state.files.get(input).cloned() else {
                return not_found(input);
            };
            let (results, count) = run(&lines, generate);
            let results_name = format!("files/batch-{n}-out");
            state.files.insert(
                results_name.clone(),
                (
                    json!({"name": results_name, "source": "GENERATED"}),
                    results,
                ),
            );
            let name = format!("batches/{n}");
            let operation = json!({
                "name": name,
                "metadata": {
                    "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
                    "name": name, "model": format!("models/{model}"), "state": "BATCH_STATE_RUNNING",
                    "batchStats": {"requestCount": count.to_string(), "pendingRequestCount": count.to_string()},
                },
            });
            state
                .batches
                .insert(name, (operation.clone(), results_name));
            return json_answer(StatusCode::OK, &operation);
        }
        let (name, cancel) = match rest.strip_suffix(":cancel") {
            Some(name) => (name, true),
            None => (rest, false),
        };
        let Some((operation, results)) = state.batches.get_mut(name) else {
            return not_found(name);
        };
        if operation["metadata"]["state"] == "BATCH_STATE_RUNNING" {
            let count = operation["metadata"]["batchStats"]["requestCount"].clone();
            operation["done"] = json!(true);
            operation["metadata"]["endTime"] =
                json!(humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string());
            if cancel {
                operation["metadata"]["state"] = json!("BATCH_STATE_CANCELLED");
            } else {
                operation["metadata"]["state"] = json!("BATCH_STATE_SUCCEEDED");
                operation["metadata"]["batchStats"] =
                    json!({"requestCount": count, "successfulRequestCount": count});
                operation["response"] = json!({
                    "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
                    "responsesFile": results,
                });
            }
        }
        if cancel {
            return json_answer(StatusCode::OK, &json!({}));
        }
        json_answer(StatusCode::OK, operation)
    }
}

/// Each `{"key", "request"}` line answered as `generateContent` would be: the results
/// file and the number of lines.
fn run(lines: &Bytes, generate: &dyn Fn(&[u8]) -> Result<Bytes, Bytes>) -> (Bytes, usize) {
    let mut out = Vec::new();
    let mut count = 0;
    for line in lines
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
    {
        count += 1;
        let line: Value = serde_json::from_slice(line).unwrap_or_default();
        let request = serde_json::to_vec(&line["request"]).unwrap_or_default();
        let result = match generate(&request) {
            Ok(reply) => {
                json!({"key": line["key"], "response": serde_json::from_slice::<Value>(&reply).unwrap_or_default()})
            }
            Err(error) => {
                let error: Value = serde_json::from_slice(&error).unwrap_or_default();
                json!({"key": line["key"], "error": {"code": 3, "message": error["error"]["message"]}})
            }
        };
        out.extend_from_slice(result.to_string().as_bytes());
        out.push(b'\n');
    }
    (Bytes::from(out), count)
}
