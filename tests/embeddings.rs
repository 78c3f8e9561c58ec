//! Embeddings through the real stack (edge → embed map → HTTP → transport) against the
//! wiremock stand-in: the exact `batchEmbedContents` bodies, recorded and synthetic replies,
//! batching past a hundred inputs, base64 vectors, and the errors a client can cause or
//! meet.

mod common;

use base64::Engine;
use bytes::Bytes;
use common::{StandIn, TEST_KEY, exchange, fixture_file, post_json};
use http_body_util::Full;
use llm_tower::edge::EmbeddingsEdge;
use llm_tower::openai::{EmbeddingInput, EmbeddingRequest, EmbeddingVector, EncodingFormat};
use llm_tower::{ChatResponse, ChatService, Error, ModelRouter};
use serde_json::{Value, json};
use tower::ServiceExt;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

const MODEL: &str = "gemini-embedding-001";

/// Answers `batchEmbedContents` of `model` when the body is exactly `body`.
async fn expect_batch(stand_in: &StandIn, model: &str, body: &Value, status: u16, reply: &Value) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{model}:batchEmbedContents")))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(status).set_body_json(reply))
        .expect(1)
        .mount(&stand_in.server)
        .await;
}

/// A POST of `body` through the embeddings edge: status and JSON reply.
async fn post(stand_in: &StandIn, body: &Value) -> (u16, Value) {
    let edge = EmbeddingsEdge::new(stand_in.gemini.embedding_service());
    let (status, _, bytes) = post_json(edge, "/v1/embeddings", body).await;
    (status, serde_json::from_slice(&bytes).expect("JSON reply"))
}

#[tokio::test]
async fn two_strings_with_dimensions_make_the_documented_batch() {
    let stand_in = StandIn::start().await;
    let (sent, received) = exchange(&fixture_file("77"), 0);
    expect_batch(&stand_in, MODEL, &sent["body"], 200, &received["body"]).await;
    let (status, reply) = post(
        &stand_in,
        &json!({"model": MODEL, "input": ["hello", "world"], "dimensions": 4}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply,
        json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.0123, -0.0456, 0.0789, -0.0012]},
                {"object": "embedding", "index": 1, "embedding": [-0.0321, 0.0654, -0.0987, 0.0021]}
            ],
            "model": MODEL,
            // Gemini sends no counts: the cl100k_base estimate, one token per word here.
            "usage": {"prompt_tokens": 2, "total_tokens": 2}
        })
    );
}

#[tokio::test]
async fn token_id_input_is_embedded_as_the_text_it_encodes() {
    // LangChain's OpenAIEmbeddings sends cl100k_base token ids: "hello world" and "hello".
    let stand_in = StandIn::start().await;
    let (sent, received) = exchange(&fixture_file("77"), 0);
    let mut body = sent["body"].clone();
    body["requests"][0]["content"]["parts"][0]["text"] = json!("hello world");
    body["requests"][1]["content"]["parts"][0]["text"] = json!("hello");
    expect_batch(&stand_in, MODEL, &body, 200, &received["body"]).await;
    let (status, reply) = post(
        &stand_in,
        &json!({"model": MODEL, "input": [[15339, 1917], [15339]], "dimensions": 4}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"][1]["index"], 1);
    assert_eq!(
        reply["usage"],
        json!({"prompt_tokens": 3, "total_tokens": 3})
    );
    // One list of ids is one input.
    let stand_in = StandIn::start().await;
    let mut body = sent["body"].clone();
    body["requests"]
        .as_array_mut()
        .expect("requests")
        .truncate(1);
    body["requests"][0]["content"]["parts"][0]["text"] = json!("hello world");
    let mut reply = received["body"].clone();
    reply["embeddings"]
        .as_array_mut()
        .expect("embeddings")
        .truncate(1);
    expect_batch(&stand_in, MODEL, &body, 200, &reply).await;
    let (status, reply) = post(
        &stand_in,
        &json!({"model": MODEL, "input": [15339, 1917], "dimensions": 4}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["usage"],
        json!({"prompt_tokens": 2, "total_tokens": 2})
    );
}

#[tokio::test]
async fn a_recorded_reply_keeps_every_vector_in_input_order() {
    let stand_in = StandIn::start().await;
    let (sent, received) = exchange(&fixture_file("47"), 0);
    // The recording spells the field output_dimensionality; llm-tower sends camelCase,
    // which Google takes as the same field.
    let mut body = sent["body"].clone();
    for request in body["requests"].as_array_mut().expect("requests") {
        let object = request.as_object_mut().expect("request");
        let dimensions = object.remove("output_dimensionality").expect("dimensions");
        object.insert("outputDimensionality".to_owned(), dimensions);
    }
    let texts: Vec<Value> = body["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|request| request["content"]["parts"][0]["text"].clone())
        .collect();
    expect_batch(&stand_in, MODEL, &body, 200, &received["body"]).await;
    let (status, reply) = post(
        &stand_in,
        &json!({"model": MODEL, "input": texts, "dimensions": 256}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let data = reply["data"].as_array().expect("data");
    assert_eq!(data.len(), 3);
    for (index, item) in data.iter().enumerate() {
        assert_eq!(item["index"], index);
        assert_eq!(
            item["embedding"],
            received["body"]["embeddings"][index]["values"]
        );
    }
}

#[tokio::test]
async fn base64_vectors_are_little_endian_floats() {
    let stand_in = StandIn::start().await;
    let (sent, received) = exchange(&fixture_file("77"), 0);
    expect_batch(&stand_in, MODEL, &sent["body"], 200, &received["body"]).await;
    let mut request = EmbeddingRequest::new(MODEL, vec!["hello".to_owned(), "world".to_owned()]);
    request.dimensions = Some(4);
    request.encoding_format = Some(EncodingFormat::Base64);
    let reply = stand_in.client().embed(request).await.expect("embedded");
    let EmbeddingVector::Base64(encoded) = &reply.data[1].embedding else {
        panic!("a base64 vector: {:?}", reply.data[1]);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().expect("four bytes")))
        .collect();
    assert_eq!(floats, [-0.0321, 0.0654, -0.0987, 0.0021]);
}

/// Answers each `batchEmbedContents` with one vector per request: `[the text as a number]`.
struct EchoNumbers;

impl Respond for EchoNumbers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        let embeddings: Vec<Value> = body["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .map(|request| {
                let text = request["content"]["parts"][0]["text"]
                    .as_str()
                    .expect("text");
                json!({"values": [text.parse::<f32>().expect("a number")]})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"embeddings": embeddings}))
    }
}

#[tokio::test]
async fn more_than_a_hundred_inputs_go_in_several_calls_joined_in_order() {
    let stand_in = StandIn::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{MODEL}:batchEmbedContents")))
        .respond_with(EchoNumbers)
        .expect(2)
        .mount(&stand_in.server)
        .await;
    let texts: Vec<String> = (0..150).map(|number| number.to_string()).collect();
    let reply = stand_in
        .client()
        .embed(EmbeddingRequest::new(MODEL, texts))
        .await
        .expect("embedded");
    assert_eq!(reply.data.len(), 150);
    for (index, item) in reply.data.iter().enumerate() {
        assert_eq!(item.index, index);
        assert_eq!(item.embedding, EmbeddingVector::Float(vec![index as f32]));
    }
    let mut sizes: Vec<usize> = stand_in
        .received_bodies()
        .await
        .iter()
        .map(|body| body["requests"].as_array().expect("requests").len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [50, 100]);
}

#[tokio::test]
async fn an_unknown_model_is_googles_404_in_the_openai_envelope() {
    let stand_in = StandIn::start().await;
    let (sent, received) = exchange(&fixture_file("48"), 0);
    let model = "no-such-embedding-model";
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{model}:batchEmbedContents")))
        .respond_with(ResponseTemplate::new(404).set_body_json(&received["body"]))
        .mount(&stand_in.server)
        .await;
    let texts: Vec<Value> = sent["body"]["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|request| request["content"]["parts"][0]["text"].clone())
        .collect();
    let (status, reply) = post(&stand_in, &json!({"model": model, "input": texts})).await;
    assert_eq!(status, 404);
    assert_eq!(
        reply,
        json!({"error": {
            "message": format!("Gemini: {}", received["body"]["error"]["message"].as_str().expect("message")),
            "type": "not_found_error",
            "param": null,
            "code": "NOT_FOUND"
        }})
    );
    assert!(!reply.to_string().contains(TEST_KEY));
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_call() {
    let stand_in = StandIn::start().await;
    let cases = [
        (json!({"model": MODEL, "input": [[15339], []]}), "input"),
        (
            json!({"model": MODEL, "input": [4_000_000_000_u32]}),
            "input",
        ),
        (json!({"model": MODEL, "input": []}), "input"),
        (json!({"model": MODEL, "input": ["a", ""]}), "input"),
        (
            json!({"model": MODEL, "input": "a", "dimensions": 0}),
            "dimensions",
        ),
        (
            json!({"model": MODEL, "input": "a", "truncate": "END"}),
            "truncate",
        ),
        (json!({"model": "../files", "input": "a"}), "model"),
        (
            json!({"model": MODEL, "input": "a", "api_base": "http://evil"}),
            "api_base",
        ),
    ];
    for (body, param) in cases {
        let (status, reply) = post(&stand_in, &body).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert_eq!(reply["error"]["param"], param, "{body}: {reply}");
    }
    let (status, reply) = post(&stand_in, &json!({"model": MODEL})).await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .expect("message")
            .contains("input"),
        "{reply}"
    );
    assert!(stand_in.received_bodies().await.is_empty());
}

#[tokio::test]
async fn task_type_title_and_dropped_params() {
    let stand_in = StandIn::start().await;
    let body = json!({"requests": [{
        "model": format!("models/{MODEL}"),
        "content": {"parts": [{"text": "Rust"}]},
        "taskType": "RETRIEVAL_DOCUMENT",
        "title": "Languages"
    }]});
    expect_batch(
        &stand_in,
        MODEL,
        &body,
        200,
        &json!({"embeddings": [{"values": [1.0]}]}),
    )
    .await;
    let (status, reply) = post(
        &stand_in,
        &json!({
            "model": MODEL, "input": "Rust", "input_type": "RETRIEVAL_DOCUMENT",
            "title": "Languages", "user": "u-1", "truncate": "END", "drop_params": true
        }),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"][0]["embedding"], json!([1.0]));
}

#[tokio::test]
async fn a_reply_with_too_few_vectors_is_a_502() {
    let stand_in = StandIn::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{MODEL}:batchEmbedContents")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"embeddings": [{"values": [1.0]}]})),
        )
        .mount(&stand_in.server)
        .await;
    let (status, reply) = post(&stand_in, &json!({"model": MODEL, "input": ["a", "b"]})).await;
    assert_eq!(status, 502, "{reply}");
    assert_eq!(
        reply["error"]["message"],
        "malformed Gemini reply: 1 embeddings for 2 inputs"
    );
}

#[tokio::test]
async fn the_edge_takes_post_only() {
    let stand_in = StandIn::start().await;
    let edge = EmbeddingsEdge::new(stand_in.gemini.embedding_service());
    let request = http::Request::get("/v1/embeddings")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = edge
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn the_router_routes_embeddings_and_names_models_that_have_none() {
    let stand_in = StandIn::start().await;
    let (sent, received) = exchange(&fixture_file("77"), 0);
    expect_batch(&stand_in, MODEL, &sent["body"], 200, &received["body"]).await;
    let chat_only = ChatService::new(tower::service_fn(|_| async {
        Err::<ChatResponse, _>(Error::invalid_request("chat only"))
    }));
    let router = ModelRouter::builder()
        .provider("gemini", &stand_in.gemini)
        .prefix("echo", chat_only)
        .build();

    let mut request = EmbeddingRequest::new(
        format!("gemini/{MODEL}"),
        EmbeddingInput::Texts(vec!["hello".to_owned(), "world".to_owned()]),
    );
    request.dimensions = Some(4);
    let reply = router.clone().oneshot(request).await.expect("routed");
    assert_eq!(reply.model, MODEL);
    assert_eq!(reply.data.len(), 2);

    let error = router
        .clone()
        .oneshot(EmbeddingRequest::new("echo/model", "a"))
        .await
        .expect_err("no embeddings");
    assert_eq!(error.status(), 400);
    assert_eq!(error.param(), Some("model"));
    assert_eq!(
        error.message(),
        "model \"echo/model\" does not serve embeddings requests"
    );
    let error = router
        .oneshot(EmbeddingRequest::new("other/model", "a"))
        .await
        .expect_err("no route");
    assert_eq!(error.status(), 404);
}
