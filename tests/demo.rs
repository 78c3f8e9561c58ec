//! The proxy in demo mode, in process: `demo::start` points every deployment (a `gemini/`
//! one and an `openai/` one whose key variable is unset) at the stand-in answering from the
//! request, and OpenAI requests come back answered from what they asked: the message
//! echoed, the tool called with arguments valid for the schema the client sent, structured
//! output valid for its schema, a stream in several chunks.
#![cfg(feature = "proxy")]

mod common;
#[path = "common/proxy.rs"]
mod proxy_app;

use bytes::Bytes;
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use llm_tower::proxy::demo;
use serde_json::{Value, json};

const MASTER: &str = "sk-demo-test";
/// A Gemini 3 deployment (its schemas go out in Gemini's OpenAPI subset) and an OpenAI one.
const MODELS: [&str; 2] = ["gemini-flash", "gpt-4o-mini"];

async fn demo_proxy() -> Proxy {
    let yaml = format!(
        "model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-3-flash-preview
      api_key: os.environ/GEMINI_API_KEY
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
general_settings:
  master_key: {MASTER}
"
    );
    let (mut config, _) =
        Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).expect("valid config");
    demo::start(&mut config).await.expect("the stand-in starts");
    Proxy::from_config(&config).expect("proxy builds")
}

async fn post(proxy: &Proxy, uri: &str, body: Value) -> (u16, Bytes) {
    proxy_app::send_for_bytes(proxy, "POST", uri, MASTER, Some(body)).await
}

async fn chat(proxy: &Proxy, body: Value) -> Value {
    let (status, bytes) = post(proxy, "/v1/chat/completions", body).await;
    let reply: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("JSON: {}", String::from_utf8_lossy(&bytes)));
    assert_eq!(status, 200, "{reply}");
    reply
}

fn valid(schema: &Value, value: &Value) -> bool {
    jsonschema::validator_for(schema)
        .expect("a valid schema")
        .is_valid(value)
}

#[tokio::test]
async fn chat_echoes_the_last_user_message() {
    let proxy = demo_proxy().await;
    for model in MODELS {
        let reply = chat(
            &proxy,
            json!({"model": model, "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "An earlier question"},
                {"role": "assistant", "content": "An earlier answer"},
                {"role": "user", "content": "Hello from the demo"}
            ]}),
        )
        .await;
        let choice = &reply["choices"][0];
        assert_eq!(
            choice["message"]["content"], "Hello from the demo",
            "{model}"
        );
        assert_eq!(choice["finish_reason"], "stop");
        // Thinking tokens are reported the way a Gemini 3 model reports them.
        assert!(reply["usage"]["completion_tokens_details"]["reasoning_tokens"].as_u64() > Some(0));
    }
}

#[tokio::test]
async fn a_tool_is_called_with_arguments_valid_for_its_schema_and_its_result_answered() {
    let proxy = demo_proxy().await;
    let parameters = json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 2},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "hourly": {"type": "boolean"}
        },
        "required": ["city", "unit", "days"],
        "additionalProperties": false
    });
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": parameters}},
        {"type": "function", "function": {"name": "get_time",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string"}},
                "required": ["zone"]}}}
    ]);
    for model in MODELS {
        let ask = json!({"role": "user", "content": "Weather in Oslo?"});
        let reply = chat(
            &proxy,
            json!({"model": model, "messages": [ask], "tools": tools}),
        )
        .await;
        let choice = &reply["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls", "{model}: {reply}");
        let call = &choice["message"]["tool_calls"][0];
        assert_eq!(call["function"]["name"], "get_weather");
        let arguments: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().expect("arguments"))
                .expect("JSON arguments");
        assert!(valid(&parameters, &arguments), "{model}: {arguments}");
        assert_eq!(arguments["unit"], "celsius");

        // The tool's result goes back; the stand-in answers from it.
        let second = chat(
            &proxy,
            json!({"model": model, "tools": tools, "messages": [
                ask,
                choice["message"],
                {"role": "tool", "tool_call_id": call["id"], "content": "{\"celsius\": 3}"}
            ]}),
        )
        .await;
        let content = second["choices"][0]["message"]["content"]
            .as_str()
            .expect("text");
        assert!(
            content.contains("get_weather answered"),
            "{model}: {content}"
        );
        assert!(content.contains('3'), "{model}: {content}");

        // tool_choice names the other function: that one is called.
        let forced = chat(
            &proxy,
            json!({"model": model, "messages": [ask], "tools": tools,
                "tool_choice": {"type": "function", "function": {"name": "get_time"}}}),
        )
        .await;
        let call = &forced["choices"][0]["message"]["tool_calls"][0]["function"];
        assert_eq!(call["name"], "get_time", "{model}: {forced}");
        let arguments: Value =
            serde_json::from_str(call["arguments"].as_str().expect("arguments")).expect("JSON");
        assert!(arguments["zone"].is_string(), "{arguments}");
    }
}

#[tokio::test]
async fn structured_output_is_valid_for_the_requested_schema() {
    let proxy = demo_proxy().await;
    let schema = json!({
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "year": {"type": "integer", "minimum": 1900},
            "rating": {"type": "number", "minimum": 0, "maximum": 1},
            "genres": {"type": "array", "items": {"type": "string", "enum": ["drama", "comedy"]},
                "minItems": 1},
            "director": {"anyOf": [{"type": "null"}, {"type": "object",
                "properties": {"name": {"type": "string"}}, "required": ["name"],
                "additionalProperties": false}]}
        },
        "required": ["title", "year", "rating", "genres", "director"],
        "additionalProperties": false
    });
    for model in MODELS {
        let reply = chat(
            &proxy,
            json!({"model": model,
                "messages": [{"role": "user", "content": "A film, please"}],
                "response_format": {"type": "json_schema",
                    "json_schema": {"name": "film", "strict": true, "schema": schema}}}),
        )
        .await;
        let content = reply["choices"][0]["message"]["content"]
            .as_str()
            .expect("text");
        let film: Value = serde_json::from_str(content).expect("JSON content");
        assert!(valid(&schema, &film), "{model}: {film}");
        assert_eq!(film["year"], 1900);
    }
}

#[tokio::test]
async fn a_stream_comes_in_several_chunks() {
    let proxy = demo_proxy().await;
    let text = "Streams arrive in pieces, one event after another, until the last one.";
    for model in MODELS {
        let (status, bytes) = post(
            &proxy,
            "/v1/chat/completions",
            json!({"model": model, "stream": true, "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": text}]}),
        )
        .await;
        assert_eq!(status, 200);
        let body = std::str::from_utf8(&bytes).expect("UTF-8");
        let chunks: Vec<Value> = body
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .filter(|data| *data != "[DONE]")
            .map(|data| serde_json::from_str(data).expect("a JSON chunk"))
            .collect();
        let deltas: Vec<&str> = chunks
            .iter()
            .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
            .filter(|delta| !delta.is_empty())
            .collect();
        assert!(deltas.len() >= 4, "{model}: {deltas:?}");
        assert_eq!(deltas.concat(), text);
        assert!(body.trim_end().ends_with("data: [DONE]"));
        let finish: Vec<&Value> = chunks
            .iter()
            .map(|chunk| &chunk["choices"][0]["finish_reason"])
            .filter(|reason| !reason.is_null())
            .collect();
        assert_eq!(finish, [&json!("stop")]);
    }
}
