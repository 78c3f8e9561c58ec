//! The proxy's `/v1/files` and `/v1/batches` (and the forms without `/v1`), over the
//! [`Files`] and [`Batches`] services of every Gemini deployment with a key and every
//! OpenAI-compatible one (wildcard names left out; see [`file_provider`]).
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/files` | multipart upload: `file`, `purpose` (`batch` or `user_data`), `target_model_names` or `model` (the deployment); over `general_settings.max_file_size_mb`: 413 |
//! | `GET /v1/files`, `/v1/files/{id}`, `/v1/files/{id}/content`; `DELETE /v1/files/{id}` | the caller's files; content of a batch's output and error files |
//! | `POST /v1/batches`; `GET /v1/batches`, `/v1/batches/{id}`; `POST /v1/batches/{id}/cancel` | the caller's batches |
//!
//! Ids are signed with a key derived from the master key and name the hash of the key
//! that made them: another key's id, like a forged one, is a 404. Records of files and
//! batches go to the Redis of `router_settings` when there is one (so replicas share
//! them), else to memory.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body::Body;

use super::auth;
use super::config::{Config, ModelEntry};
use super::keys::gate::Grant;
use crate::edge::multipart::{self, Part};
use crate::edge::{EdgeBody, error_response, json_response, read_body};
use crate::error::{Error, ErrorKind};
use crate::layers::batches::Batches;
use crate::layers::files::ids::IdSigner;
use crate::layers::files::{
    DEFAULT_MAX_FILE_BYTES, FileProvider, FileRegistry, Files, NewFile, Page,
};
use crate::layers::media::mime_from_extension;
use crate::openai::batches::CreateBatchRequest;
use crate::openai::files::FilePurpose;
use crate::providers::gemini::files::{GeminiFileProvider, GeminiFiles};
use crate::providers::gemini::translate::TranslateOptions;
use crate::providers::gemini::{DEFAULT_API_BASE, DEFAULT_TIMEOUT};
use crate::providers::openai_compatible::files::{OpenAiFileProvider, OpenAiFiles};
use crate::providers::openai_compatible::{
    API_KEY_VAR as OPENAI_KEY_VAR, DEFAULT_API_BASE as OPENAI_API_BASE,
};
use crate::router::chat_defaults;
use crate::store::{MemoryResponseStore, RedisCacheStore, ResponseStore};
use crate::upstream::{HttpTransport, Secret};

/// How long records of files and batches are kept: longer than Google keeps a file (48
/// hours) or lets a batch run.
const RECORD_TTL: Duration = Duration::from_secs(72 * 60 * 60);

/// The bytes of records kept in memory.
const MEMORY_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// The largest `POST /v1/batches` body.
const BATCH_BODY_LIMIT: usize = 64 * 1024;

/// Room in a multipart body beyond the file: the other fields and the boundaries.
const FORM_OVERHEAD: usize = 64 * 1024;

/// The files and batches routes.
#[derive(Clone, Debug)]
pub(crate) struct FileRoutes {
    files: Files,
    batches: Batches,
}

impl FileRoutes {
    /// The services of `config`'s Gemini deployments, sharing `transport` and `redis`.
    pub(crate) fn new(
        config: &Config,
        transport: &HttpTransport,
        redis: Option<&RedisCacheStore>,
    ) -> Self {
        let master = config.general_settings.master_key.as_ref();
        let store: Arc<dyn ResponseStore> = match redis {
            Some(redis) => Arc::new(redis.response_store().with_ttl(RECORD_TTL)),
            None => Arc::new(MemoryResponseStore::new(MEMORY_RECORD_BYTES, RECORD_TTL)),
        };
        let limit = config
            .general_settings
            .max_file_size_mb
            .map_or(DEFAULT_MAX_FILE_BYTES, |mb| {
                usize::try_from(mb * 1_000_000).unwrap_or(usize::MAX)
            });
        let mut registry = FileRegistry::new(
            IdSigner::new(master.map_or(&b""[..], |key| key.expose().as_bytes())),
            store,
        )
        .max_file_bytes(limit);
        let mut named = std::collections::HashSet::new();
        for entry in &config.model_list {
            if entry.model_name.contains('*') || entry.litellm_params.model.contains('*') {
                continue;
            }
            let Some(provider) = file_provider(entry, config, transport) else {
                continue;
            };
            if named.insert(entry.model_name.clone()) {
                registry = registry.provider(entry.model_name.clone(), provider);
            }
        }
        let registry = Arc::new(registry);
        Self {
            files: Files::new(registry.clone()),
            batches: Batches::new(registry),
        }
    }

    /// Whether `path` is one of these routes.
    pub(crate) fn serves(path: &str) -> bool {
        let path = path.strip_prefix("/v1").unwrap_or(path);
        ["/files", "/batches"].iter().any(|root| {
            path == *root
                || path
                    .strip_prefix(root)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Answers a request of these routes; `grant` is a virtual key's.
    pub(crate) async fn answer<B>(
        &self,
        request: http::Request<B>,
        grant: Option<&Grant>,
    ) -> http::Response<EdgeBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let owner =
            IdSigner::owner(&auth::presented(request.headers(), None, false).unwrap_or_default());
        self.route(request, &owner, grant)
            .await
            .unwrap_or_else(|error| error_response(&error))
    }

    async fn route<B>(
        &self,
        request: http::Request<B>,
        owner: &str,
        grant: Option<&Grant>,
    ) -> Result<http::Response<EdgeBody>, Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = request.uri().path().to_owned();
        let path = path.strip_prefix("/v1").unwrap_or(&path);
        let query = request.uri().query().map(str::to_owned);
        let method = request.method().clone();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (&method, segments.as_slice()) {
            (&Method::POST, ["files"]) => {
                let file = self.upload(request).await?;
                let deployment = self.files.deployment_of(&file)?;
                if let Some(grant) = grant {
                    grant.check_model(&deployment)?;
                }
                ok(&self.files.create(file, &deployment, owner).await?)
            }
            (&Method::GET, ["files"]) => {
                let query = query.as_deref();
                let purpose = match param(query, "purpose") {
                    Some(purpose) => Some(FilePurpose::parse(&purpose).ok_or_else(|| {
                        Error::invalid_request(format!("purpose `{purpose}` is not served"))
                            .with_param("purpose")
                    })?),
                    None => None,
                };
                ok(&self
                    .files
                    .list(owner, &page(query, 10_000, 10_000)?, purpose)
                    .await?)
            }
            (&Method::GET, ["files", id]) => ok(&self.files.retrieve(id, owner).await?),
            (&Method::DELETE, ["files", id]) => ok(&self.files.delete(id, owner).await?),
            (&Method::GET, ["files", id, "content"]) => Ok(crate::edge::bytes_response(
                StatusCode::OK,
                "application/octet-stream",
                self.files.content(id, owner).await?,
            )),
            (&Method::POST, ["batches"]) => {
                let body = read_body(request.into_body(), BATCH_BODY_LIMIT).await?;
                let create: CreateBatchRequest =
                    serde_json::from_slice(&body).map_err(|error| {
                        Error::invalid_request(format!("invalid request body: {error}"))
                    })?;
                ok(&self.batches.create(create, owner).await?)
            }
            (&Method::GET, ["batches"]) => ok(&self
                .batches
                .list(owner, &page(query.as_deref(), 20, 100)?)
                .await?),
            (&Method::GET, ["batches", id]) => ok(&self.batches.retrieve(id, owner).await?),
            (&Method::POST, ["batches", id, "cancel"]) => {
                ok(&self.batches.cancel(id, owner).await?)
            }
            _ => Err(Error::new(
                ErrorKind::NotFound,
                format!("no route for {method} {}", request_path(&segments)),
            )),
        }
    }

    /// Reads a multipart upload.
    async fn upload<B>(&self, request: http::Request<B>) -> Result<NewFile, Error>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let limit = self.files.registry().file_limit();
        let boundary = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(multipart::boundary)
            .ok_or_else(|| Error::invalid_request("send the file as multipart/form-data"))?;
        let body = read_body(request.into_body(), limit.saturating_add(FORM_OVERHEAD))
            .await
            .map_err(|error| match error.kind() {
                ErrorKind::PayloadTooLarge => Error::new(
                    ErrorKind::PayloadTooLarge,
                    format!("the file is larger than {limit} bytes"),
                ),
                _ => error,
            })?;
        let parts = multipart::parse(&boundary, &body)?;
        let text = |name: &str| {
            parts
                .iter()
                .find(|part| part.name == name)
                .map(|part| String::from_utf8_lossy(&part.data).trim().to_owned())
                .filter(|text| !text.is_empty())
        };
        let purpose = text("purpose").ok_or_else(|| {
            Error::invalid_request("the `purpose` field is missing").with_param("purpose")
        })?;
        let purpose = FilePurpose::parse(&purpose).ok_or_else(|| {
            Error::invalid_request(format!(
                "purpose `{purpose}` is not served; `batch` and `user_data` are"
            ))
            .with_param("purpose")
        })?;
        // LiteLLM's field may list several names; files live in one deployment.
        let deployment = text("target_model_names")
            .map(|names| {
                names
                    .split(',')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .or_else(|| text("model"));
        let Some(Part {
            filename,
            content_type,
            data,
            ..
        }) = parts.into_iter().find(|part| part.name == "file")
        else {
            return Err(Error::invalid_request("the `file` field is missing").with_param("file"));
        };
        let filename = filename.unwrap_or_else(|| "upload".to_owned());
        // The SDKs send most files as `application/octet-stream`: the name says more.
        let mime = content_type
            .filter(|mime| mime != "application/octet-stream")
            .or_else(|| mime_from_extension(&filename).map(str::to_owned))
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        Ok(NewFile {
            filename,
            mime,
            bytes: data,
            purpose,
            deployment,
        })
    }
}

/// The files and batches of `entry`, for a deployment that can hold them: a Gemini one
/// with its own key, an OpenAI-compatible one with a key (its own, or `OPENAI_API_KEY` for
/// OpenAI's endpoint). Vertex AI's batches read and write Cloud Storage, which the
/// proxy's configuration does not name: its deployments have none.
fn file_provider(
    entry: &ModelEntry,
    config: &Config,
    transport: &HttpTransport,
) -> Option<Arc<dyn FileProvider>> {
    let params = &entry.litellm_params;
    let transport = transport
        .clone()
        .with_timeout(params.timeout.unwrap_or(DEFAULT_TIMEOUT));
    let drop_params = config.litellm_settings.drop_params;
    let price = super::models::deployment_price(entry).ok().flatten();
    // The router refused the config already if the params do not parse.
    let defaults = chat_defaults(super::app::provider_params(entry))
        .ok()
        .flatten();
    match params.provider() {
        "gemini" => {
            let key = params.api_key.as_ref()?;
            let model = params.model.strip_prefix("gemini/")?;
            let api_base = params
                .api_base
                .clone()
                .or_else(|| {
                    std::env::var("GEMINI_API_BASE")
                        .ok()
                        .filter(|base| !base.is_empty())
                })
                .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
            let client = GeminiFiles::new(transport, &api_base, key.clone());
            let options = TranslateOptions {
                drop_params,
                ..TranslateOptions::default()
            };
            let mut provider = GeminiFileProvider::new(client, model, options);
            if let Some(price) = price {
                provider = provider.with_price(price);
            }
            if let Some(defaults) = defaults {
                provider = provider.with_defaults(defaults);
            }
            Some(Arc::new(provider))
        }
        "openai" => {
            let model = params.model.strip_prefix("openai/")?;
            let api_base = params.api_base.as_deref().unwrap_or(OPENAI_API_BASE);
            let official = api_base.trim_end_matches('/') == OPENAI_API_BASE;
            let key = params.api_key.clone().or_else(|| {
                std::env::var(OPENAI_KEY_VAR)
                    .ok()
                    .filter(|key| official && !key.is_empty() && params.api_key_unset.is_none())
                    .map(Secret::new)
            })?;
            let mut client = OpenAiFiles::new(transport, api_base, Some(key));
            if let Some(organization) = params
                .organization
                .as_deref()
                .and_then(|organization| http::HeaderValue::try_from(organization).ok())
            {
                client = client.organization(organization);
            }
            let mut provider = OpenAiFileProvider::new(client, model).drop_params(drop_params);
            if let Some(price) = price {
                provider = provider.with_price(price);
            }
            if let Some(defaults) = defaults {
                provider = provider.with_defaults(defaults);
            }
            Some(Arc::new(provider))
        }
        _ => None,
    }
}

/// The page a list's query asks for: `?limit=` (1 to `most`, else `default`: OpenAI's
/// 20 of at most 100 for batches, 10,000 for files) and `?after=`.
fn page(query: Option<&str>, default: usize, most: usize) -> Result<Page, Error> {
    let after = param(query, "after");
    let Some(value) = param(query, "limit") else {
        return Ok(Page {
            limit: default,
            after,
        });
    };
    let limit = value
        .parse::<usize>()
        .ok()
        .filter(|limit| (1..=most).contains(limit))
        .ok_or_else(|| {
            Error::invalid_request(format!("limit must be 1 to {most}")).with_param("limit")
        })?;
    Ok(Page { limit, after })
}

/// The query parameter `name`.
fn param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find_map(|(key, value)| (key == name).then(|| value.into_owned()))
}

fn request_path(segments: &[&str]) -> String {
    format!("/v1/{}", segments.join("/"))
}

fn ok<T: serde::Serialize>(value: &T) -> Result<http::Response<EdgeBody>, Error> {
    Ok(json_response(StatusCode::OK, value))
}
