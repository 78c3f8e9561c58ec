//! Legacy completions ⇄ chat, as pure functions: a [`CompletionRequest`] becomes one
//! [`ChatRequest`] per prompt (the prompt as the user message), and the chat replies become
//! one [`TextCompletion`].
//!
//! | completions | chat | notes |
//! |---|---|---|
//! | `prompt` (a string or up to [`MAX_PROMPTS`] strings) | one request per prompt, the prompt as its user message | choices numbered prompt by prompt, `n` each; more prompts is a 400 |
//! | `prompt` as token ids | — | 400 |
//! | `max_tokens`, `temperature`, `top_p`, `n`, `stop`, `seed`, penalties, `logit_bias`, `user`, `stream`, `stream_options` | same | |
//! | `logprobs: k` | `logprobs: true`, `top_logprobs: k` | mapped back to `tokens`, `token_logprobs`, `top_logprobs`, `text_offset` |
//! | `echo` | — | the prompt is put in front of each completion here |
//! | `suffix`, `best_of` > `n` | passed on | the provider refuses them by name (or drops them with `drop_params`) |
//! | anything else | a chat param of that name | `safety_settings`, `reasoning_effort`, `top_k`, … |

use serde_json::Value;

use crate::error::Error;
use crate::layers::chat_params::chat_template;
use crate::openai::chat::{Logprobs, Usage};
use crate::openai::{
    ChatCompletion, ChatRequest, CompletionRequest, Message, Prompt, Role, TextChoice,
    TextCompletion, TextLogprobs,
};

/// Most prompts in one completions request: each is one upstream chat call. OpenAI itself
/// documents no limit; 128 covers batch use while keeping one request's cost bounded.
pub const MAX_PROMPTS: usize = 128;

/// What a completions request becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One chat request per prompt, in prompt order.
    pub chats: Vec<ChatRequest>,
    /// The prompts, when `echo` puts them in front of the completions.
    pub echo: Option<Vec<String>>,
    /// Completions per prompt.
    pub n: u32,
}

/// Maps a completions request to chat requests.
///
/// ```ignore
/// // Internal: shown for how a request is split, tested in this module's tests.
/// use llm_tower::layers::completions::convert::plan;
/// use llm_tower::openai::CompletionRequest;
///
/// let mut request = CompletionRequest::new("gemini/gemini-2.5-flash", "Say hi");
/// request.max_tokens = Some(8);
/// let plan = plan(request)?;
/// assert_eq!(
///     serde_json::to_value(&plan.chats[0])?,
///     serde_json::json!({
///         "model": "gemini/gemini-2.5-flash",
///         "messages": [{"role": "user", "content": "Say hi"}],
///         "max_tokens": 8
///     })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(request: CompletionRequest) -> Result<Plan, Error> {
    let CompletionRequest {
        model,
        prompt,
        suffix,
        max_tokens,
        temperature,
        top_p,
        n,
        stream,
        stream_options,
        logprobs,
        echo,
        stop,
        presence_penalty,
        frequency_penalty,
        best_of,
        logit_bias,
        seed,
        user,
        extra,
        context,
    } = request;
    let prompts = prompts(prompt)?;
    let mut template = chat_template(model, extra)?;
    // Every prompt's chat carries the request's context.
    template.context = context;
    template.max_tokens = max_tokens;
    template.temperature = temperature;
    template.top_p = top_p;
    template.n = n;
    template.stream = stream;
    template.stream_options = stream_options;
    template.stop = stop;
    template.presence_penalty = presence_penalty;
    template.frequency_penalty = frequency_penalty;
    template.logit_bias = logit_bias;
    template.seed = seed;
    template.user = user;
    if let Some(top) = logprobs {
        template.logprobs = Some(true);
        template.top_logprobs = (top > 0).then_some(top);
    }
    if let Some(suffix) = suffix {
        template.extra.insert("suffix", Value::from(suffix).into());
    }
    if let Some(best_of) = best_of.filter(|best_of| *best_of > n.unwrap_or(1)) {
        template
            .extra
            .insert("best_of", Value::from(best_of).into());
    }
    let chats = prompts
        .iter()
        .map(|prompt| {
            let mut chat = template.clone();
            chat.messages = vec![Message::text(Role::User, prompt.clone())];
            chat
        })
        .collect();
    Ok(Plan {
        chats,
        echo: echo.unwrap_or(false).then_some(prompts),
        n: n.unwrap_or(1).max(1),
    })
}

/// The prompts: at least one and at most [`MAX_PROMPTS`], as text.
fn prompts(prompt: Prompt) -> Result<Vec<String>, Error> {
    let prompts = match prompt {
        Prompt::Text(text) => vec![text],
        Prompt::Texts(texts) => texts,
        Prompt::Tokens(_) | Prompt::TokenLists(_) => {
            return Err(Error::invalid_param(
                "prompt",
                "prompt as token ids is not supported: send a string or a list of strings",
            ));
        }
    };
    if prompts.is_empty() {
        return Err(Error::invalid_param("prompt", "prompt has no text"));
    }
    if prompts.len() > MAX_PROMPTS {
        return Err(Error::invalid_param(
            "prompt",
            format!(
                "prompt has {} prompts; at most {MAX_PROMPTS} are allowed in one request",
                prompts.len()
            ),
        ));
    }
    Ok(prompts)
}

/// Joins the chat replies of a plan's requests (in order) into one `text_completion`.
pub fn text_completion(
    chats: Vec<ChatCompletion>,
    echo: Option<&[String]>,
    n: u32,
) -> TextCompletion {
    let (id, created, model) = chats
        .first()
        .map(|chat| (chat.id.clone(), chat.created, chat.model.clone()))
        .unwrap_or_default();
    let usage = total_usage(chats.iter().filter_map(|chat| chat.usage.clone()));
    let mut choices = Vec::new();
    for (prompt_index, chat) in (0u32..).zip(chats) {
        let prefix = echo
            .and_then(|prompts| prompts.get(prompt_index as usize))
            .map_or("", String::as_str);
        for choice in chat.choices {
            let content = choice.message.content.unwrap_or_default();
            let logprobs = choice
                .logprobs
                .map(|logprobs| text_logprobs(logprobs, prefix.chars().count()));
            choices.push(TextChoice {
                text: format!("{prefix}{content}"),
                index: prompt_index * n + choice.index,
                logprobs,
                finish_reason: choice.finish_reason,
            });
        }
    }
    TextCompletion {
        id,
        object: "text_completion".to_owned(),
        created,
        model,
        choices,
        usage,
    }
}

/// One prompt's usage as it is; several prompts' counts (details and cost too) added up.
pub(super) fn total_usage(usages: impl Iterator<Item = Usage>) -> Option<Usage> {
    usages.reduce(|mut total, usage| {
        total += usage;
        total
    })
}

/// Chat log probabilities in the legacy shape; `offset` is where the first token starts in
/// the choice's text (in characters).
pub(super) fn text_logprobs(logprobs: Logprobs, offset: usize) -> TextLogprobs {
    let mut legacy = TextLogprobs::default();
    let mut position = offset;
    for token in logprobs.content {
        legacy.text_offset.push(position);
        position += token.token.chars().count();
        legacy.token_logprobs.push(token.logprob);
        legacy.top_logprobs.push(
            token
                .top_logprobs
                .into_iter()
                .map(|top| (top.token, Value::from(top.logprob)))
                .collect(),
        );
        legacy.tokens.push(token.token);
    }
    legacy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::chat::{
        Choice, CompletionTokensDetails, ResponseMessage, TokenLogprob, TopLogprob,
    };

    fn chat_reply(id: &str, texts: &[&str]) -> ChatCompletion {
        ChatCompletion {
            id: id.to_owned(),
            object: "chat.completion".to_owned(),
            created: 7,
            model: "m".to_owned(),
            choices: (0u32..)
                .zip(texts)
                .map(|(index, text)| Choice {
                    index,
                    message: ResponseMessage {
                        role: "assistant".to_owned(),
                        content: Some((*text).to_owned()),
                        ..ResponseMessage::default()
                    },
                    finish_reason: Some("stop".to_owned()),
                    logprobs: None,
                    provider_specific_fields: None,
                })
                .collect(),
            usage: Some(Usage {
                prompt_tokens: 2,
                completion_tokens: 3,
                total_tokens: 5,
                completion_tokens_details: Some(CompletionTokensDetails {
                    reasoning_tokens: Some(1),
                    text_tokens: Some(2),
                    ..CompletionTokensDetails::default()
                }),
                cost: Some(0.25),
                ..Usage::default()
            }),
            vertex_ai_grounding_metadata: None,
            vertex_ai_url_context_metadata: None,
            vertex_ai_safety_results: None,
            vertex_ai_citation_metadata: None,
        }
    }

    #[test]
    fn several_prompts_number_their_choices_prompt_by_prompt() {
        let chats = vec![
            chat_reply("a", &["x0", "x1"]),
            chat_reply("b", &["y0", "y1"]),
        ];
        let prompts = ["P: ".to_owned(), "Q: ".to_owned()];
        let completion = text_completion(chats, Some(&prompts), 2);
        let texts: Vec<(u32, &str)> = completion
            .choices
            .iter()
            .map(|choice| (choice.index, choice.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [(0, "P: x0"), (1, "P: x1"), (2, "Q: y0"), (3, "Q: y1")]
        );
        assert_eq!(completion.id, "a");
        let usage = completion.usage.expect("usage");
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (4, 6, 10)
        );
        assert_eq!(
            usage.completion_tokens_details,
            Some(CompletionTokensDetails {
                reasoning_tokens: Some(2),
                text_tokens: Some(4),
                ..CompletionTokensDetails::default()
            })
        );
        assert_eq!(usage.cost(), Some(0.5));
    }

    #[test]
    fn chat_params_among_the_other_keys_are_typed_and_checked() {
        let request: CompletionRequest = serde_json::from_value(serde_json::json!({
            "model": "m", "prompt": ["a", "b"], "reasoning_effort": "low", "top_k": 3,
            "logprobs": 2, "suffix": "end", "best_of": 1
        }))
        .expect("request");
        let plan = plan(request).expect("plan");
        assert_eq!(plan.chats.len(), 2);
        let chat = serde_json::to_value(&plan.chats[1]).expect("json");
        assert_eq!(chat["reasoning_effort"], "low");
        assert_eq!(chat["top_k"], 3);
        assert_eq!(chat["logprobs"], true);
        assert_eq!(chat["top_logprobs"], 2);
        assert_eq!(chat["suffix"], "end");
        assert!(chat.get("best_of").is_none());
        assert_eq!(chat["messages"][0]["content"], "b");

        let wrong: CompletionRequest = serde_json::from_value(serde_json::json!({
            "model": "m", "prompt": "a", "reasoning_effort": 5
        }))
        .expect("request");
        let error = super::plan(wrong).expect_err("a bad chat param");
        assert_eq!(error.param(), Some("reasoning_effort"), "{error}");
    }

    #[test]
    fn token_prompts_are_refused() {
        let mut request = CompletionRequest::new("m", "a");
        request.prompt = Prompt::Tokens(vec![1, 2]);
        assert_eq!(plan(request).expect_err("refused").param(), Some("prompt"));
    }

    #[test]
    fn logprobs_become_parallel_lists_with_offsets() {
        let logprobs = Logprobs {
            content: vec![
                TokenLogprob {
                    token: "Hé".to_owned(),
                    logprob: -0.5,
                    bytes: None,
                    top_logprobs: vec![TopLogprob {
                        token: "Hé".to_owned(),
                        logprob: -0.5,
                        bytes: None,
                    }],
                },
                TokenLogprob {
                    token: "llo".to_owned(),
                    logprob: -1.0,
                    bytes: None,
                    top_logprobs: Vec::new(),
                },
            ],
        };
        let legacy = text_logprobs(logprobs, 3);
        assert_eq!(legacy.tokens, ["Hé", "llo"]);
        assert_eq!(legacy.token_logprobs, [-0.5, -1.0]);
        assert_eq!(legacy.text_offset, [3, 5]);
        assert_eq!(legacy.top_logprobs[0]["Hé"], -0.5);
    }
}
