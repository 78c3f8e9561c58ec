//! Gemini 3's parallel function calls (fixture 79, the shapes Google documents): the thought
//! signature rides on the first call only, and goes back on that call part only; the
//! results of parallel calls go back as one user turn; a streamed reply gives each call
//! its own `index`.

mod common;

use common::{StandIn, chat, exchange, fixture_file, recorded};
use futures_util::StreamExt;
use serde_json::{Value, json};

const FIXTURE: &str = "79";
const MODEL: &str = "gemini-3-flash-preview";

/// The OpenAI request of the fixture's first exchange, streamed or not.
fn weather_request(stream: bool) -> Value {
    json!({
        "model": MODEL,
        "stream": stream,
        "messages": [{"role": "user", "content": "What is the weather in Paris and in London?"}],
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }}]
    })
}

/// The signature Gemini put on the first call.
fn first_signature() -> Value {
    let (_, reply) = exchange(&fixture_file(FIXTURE), 0);
    reply["body"]["candidates"][0]["content"]["parts"][0]["thoughtSignature"].clone()
}

#[tokio::test]
async fn parallel_calls_replay_with_the_signature_on_the_first_call_and_one_result_turn() {
    let (first_request, first_reply) = exchange(&fixture_file(FIXTURE), 0);
    let (second_request, second_reply) = exchange(&fixture_file(FIXTURE), 1);
    let stand_in = StandIn::start().await;
    stand_in.reply_json(MODEL, 200, &first_reply["body"]).await;
    let completion = stand_in
        .client()
        .chat(chat(weather_request(false)))
        .await
        .expect("answered");
    assert_eq!(stand_in.received_body().await, first_request["body"]);
    let message = serde_json::to_value(&completion.choices[0].message).expect("JSON");
    let calls = message["tool_calls"].as_array().expect("two calls");
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    assert_eq!(
        calls[0]["provider_specific_fields"]["thought_signature"],
        first_signature()
    );
    assert!(
        calls[1].get("provider_specific_fields").is_none(),
        "{}",
        calls[1]
    );

    // The client sends the assistant message back as it came, with both results.
    let mut follow_up = weather_request(false);
    let messages = follow_up["messages"].as_array_mut().expect("messages");
    messages.push(message.clone());
    for (call, temperature) in calls.iter().zip(["15C", "12C"]) {
        messages.push(json!({
            "role": "tool",
            "tool_call_id": call["id"],
            "content": json!({"temperature": temperature}).to_string()
        }));
    }
    let stand_in = StandIn::start().await;
    stand_in.reply_json(MODEL, 200, &second_reply["body"]).await;
    let answer = stand_in
        .client()
        .chat(chat(follow_up))
        .await
        .expect("answered");
    // Exactly the turns Google documents: the signature on the first call part only,
    // both responses in one user turn.
    assert_eq!(stand_in.received_body().await, second_request["body"]);
    assert_eq!(
        answer.choices[0].message.content.as_deref(),
        Some("Paris is at 15C and London at 12C.")
    );
}

#[tokio::test]
async fn streamed_parallel_calls_keep_distinct_indexes() {
    let (model, sse) = recorded(FIXTURE, 2);
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(&model, &sse).await;
    let chunks: Vec<Value> = stand_in
        .client()
        .chat_stream(chat(weather_request(true)))
        .await
        .expect("a stream")
        .map(|chunk| serde_json::to_value(chunk.expect("a chunk")).expect("JSON"))
        .collect()
        .await;
    let deltas: Vec<&Value> = chunks
        .iter()
        .flat_map(|chunk| chunk["choices"][0]["delta"]["tool_calls"].as_array())
        .flatten()
        .collect();
    let indexes: Vec<&Value> = deltas.iter().map(|call| &call["index"]).collect();
    assert_eq!(indexes, [&json!(0), &json!(1)], "{chunks:?}");
    let cities: Vec<Value> = deltas
        .iter()
        .map(|call| {
            let arguments = call["function"]["arguments"].as_str().expect("arguments");
            serde_json::from_str::<Value>(arguments).expect("JSON")["city"].clone()
        })
        .collect();
    assert_eq!(cities, [json!("Paris"), json!("London")]);
    assert_eq!(
        deltas[0]["provider_specific_fields"]["thought_signature"],
        first_signature()
    );
    assert!(deltas[1].get("provider_specific_fields").is_none());
    assert_eq!(
        stand_in.received_body().await["contents"][0]["role"],
        "user"
    );
}
