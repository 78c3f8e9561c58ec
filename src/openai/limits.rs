//! [`RequestLimits`]: how much one request may ask the process to hold. A JSON body
//! becomes typed structs many times its size (a 32-byte message is a 2 KiB `Message`), so
//! the body limit alone does not bound memory: a 32 MB body of a million tiny messages
//! would take gigabytes to parse. The edge therefore bounds what a body contains:
//!
//! - bodies larger than [`RequestLimits::scan_above`] are counted first, by a pass that
//!   allocates nothing (serde's `IgnoredAny` over the bytes), and refused before they are
//!   parsed if they hold too many JSON values, messages, content parts or tools;
//! - every request is checked again once parsed (cheap: lengths of vectors), so a small
//!   body gets the same answer.
//!
//! A request over a limit is a 400 whose `param` names the field and whose message names
//! the limit. The limits are the OpenAI level's (the Responses layer checks a stored
//! conversation with them too); the edge re-exports them as
//! [`edge::RequestLimits`](crate::edge::RequestLimits).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::Error;
use crate::openai::responses::{CreateResponse, Input, InputContent};
use crate::openai::{ChatRequest, CompletionRequest, Content, EmbeddingRequest};

/// What one request may contain. The defaults leave room for long agent conversations
/// and large tool sets while keeping a parsed request within tens of megabytes.
///
/// ```
/// use llm_tower::edge::RequestLimits;
///
/// let mut limits = RequestLimits::default();
/// limits.max_messages = 2_000;
/// assert_eq!(limits.max_tools, 512);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestLimits {
    /// Messages in a chat request. Default 10,000.
    pub max_messages: usize,
    /// Content parts over all messages. Default 20,000.
    pub max_content_parts: usize,
    /// Tools in a request. Default 512.
    pub max_tools: usize,
    /// JSON values (objects, arrays, strings, numbers…) in a body. Default 2,000,000.
    pub max_json_values: usize,
    /// Bodies larger than this many bytes are counted before they are parsed. Default
    /// 256 KiB: smaller bodies cannot hold enough to matter.
    pub scan_above: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_messages: 10_000,
            max_content_parts: 20_000,
            max_tools: 512,
            max_json_values: 2_000_000,
            scan_above: 256 * 1024,
        }
    }
}

/// What a request holds, as far as [`RequestLimits`] cares.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Entries of `messages`.
    pub messages: usize,
    /// Content parts over all messages.
    pub content_parts: usize,
    /// Entries of `tools`.
    pub tools: usize,
}

impl RequestLimits {
    /// Refuses `counts` of a chat request past a limit, naming the field and the limit.
    pub fn check(&self, counts: Counts) -> Result<(), Error> {
        self.check_turns(counts, ChatRequest::TURNS)
    }

    /// Refuses a parsed `request` that holds more than the limits allow.
    pub(crate) fn check_request<T: Bounded>(&self, request: &T) -> Result<(), Error> {
        self.check_turns(request.counts(), T::TURNS)
    }

    /// [`check`](Self::check), naming the list of turns `turns`.
    fn check_turns(&self, counts: Counts, turns: &'static str) -> Result<(), Error> {
        match self.exceeded(counts) {
            None => Ok(()),
            Some((field, count, limit, what)) => {
                let field = field.unwrap_or(turns);
                Err(Error::invalid_param(
                    field,
                    format!(
                        "`{field}` holds {count} {what}, more than the limit of {limit} per request"
                    ),
                ))
            }
        }
    }

    /// Refuses a chat request made of a stored conversation (`previous_response_id` on
    /// `/v1/responses`) and a request's input when together they pass a limit; the 400
    /// names `previous_response_id`, since the request alone was within the limits.
    pub(crate) fn check_continued(&self, chat: &ChatRequest) -> Result<(), Error> {
        match self.exceeded(chat.counts()) {
            None => Ok(()),
            Some((_, count, limit, what)) => Err(Error::invalid_param(
                "previous_response_id",
                format!(
                    "the conversation of `previous_response_id` and this request's input hold \
                     {count} {what}, more than the limit of {limit} per request; start a new \
                     conversation"
                ),
            )),
        }
    }

    /// The first limit `counts` passes: the field if it is not the turns, the count, the
    /// limit, and what is counted.
    fn exceeded(
        &self,
        counts: Counts,
    ) -> Option<(Option<&'static str>, usize, usize, &'static str)> {
        if counts.messages > self.max_messages {
            return Some((None, counts.messages, self.max_messages, "entries"));
        }
        if counts.content_parts > self.max_content_parts {
            return Some((
                None,
                counts.content_parts,
                self.max_content_parts,
                "content parts",
            ));
        }
        if counts.tools > self.max_tools {
            return Some((Some("tools"), counts.tools, self.max_tools, "tools"));
        }
        None
    }

    /// Counts a body that is about to be parsed and refuses it if it holds too much. A body
    /// that is not JSON passes: the parser reports it properly.
    pub(crate) fn scan(&self, body: &[u8]) -> Result<(), Error> {
        if body.len() <= self.scan_above {
            return Ok(());
        }
        let mut scan = Scan {
            limits: self,
            counts: Counts::default(),
            values: 0,
            over: None,
        };
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let scanned = TopLevel(&mut scan).deserialize(&mut deserializer);
        if let Some(error) = scan.over {
            return Err(error);
        }
        if scanned.is_ok() {
            self.check(scan.counts)?;
        }
        Ok(())
    }
}

/// Requests whose contents [`RequestLimits`] bounds once they are parsed.
pub trait Bounded {
    /// The field of the request's turns, named when there are too many: `messages`, or
    /// `input` in the Responses API.
    const TURNS: &'static str = "messages";

    /// What the request holds.
    fn counts(&self) -> Counts {
        Counts::default()
    }
}

impl Bounded for ChatRequest {
    fn counts(&self) -> Counts {
        Counts {
            messages: self.messages.len(),
            content_parts: self
                .messages
                .iter()
                .map(|message| match &message.content {
                    Some(Content::Parts(parts)) => parts.len(),
                    _ => 0,
                })
                .sum(),
            tools: self.tools.as_ref().map_or(0, Vec::len),
        }
    }
}

impl Bounded for CompletionRequest {}

/// Input items count as messages, their parts (and those of function outputs) as content
/// parts.
impl Bounded for CreateResponse {
    const TURNS: &'static str = "input";

    fn counts(&self) -> Counts {
        let parts = |content: &Option<InputContent>| match content {
            Some(InputContent::Parts(parts)) => parts.len(),
            _ => 0,
        };
        let items = match &self.input {
            Some(Input::Items(items)) => items.as_slice(),
            _ => &[],
        };
        Counts {
            messages: items.len(),
            content_parts: items
                .iter()
                .map(|item| parts(&item.content) + parts(&item.output))
                .sum(),
            tools: self.tools.as_ref().map_or(0, Vec::len),
        }
    }
}

impl Bounded for EmbeddingRequest {}

/// The state of one counting pass.
struct Scan<'a> {
    limits: &'a RequestLimits,
    counts: Counts,
    values: usize,
    /// The first limit passed; the pass stops there.
    over: Option<Error>,
}

/// The error that stops a pass early; the real one is in [`Scan::over`].
const STOP: &str = "over a request limit";

impl Scan<'_> {
    /// Counts one value; past the limit, records why and stops the pass.
    fn value<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.values += 1;
        if self.values > self.limits.max_json_values {
            return self.stop(Error::invalid_request(format!(
                "the body holds more than {} JSON values, the limit per request",
                self.limits.max_json_values
            )));
        }
        Ok(())
    }

    fn stop<E: serde::de::Error>(&mut self, error: Error) -> Result<(), E> {
        self.over = Some(error);
        Err(E::custom(STOP))
    }

    /// Counts against a limit checked as the pass goes, so a huge array stops it early.
    fn add<E: serde::de::Error>(&mut self, field: Field) -> Result<(), E> {
        let counts = &mut self.counts;
        match field {
            Field::Messages => counts.messages += 1,
            Field::ContentParts => counts.content_parts += 1,
            Field::Tools => counts.tools += 1,
        }
        match self.limits.check(self.counts) {
            Ok(()) => Ok(()),
            Err(error) => self.stop(error),
        }
    }
}

/// The arrays whose entries are counted.
#[derive(Clone, Copy)]
enum Field {
    Messages,
    ContentParts,
    Tools,
}

/// Any value: counted, with its children.
struct Any<'s, 'a>(&'s mut Scan<'a>);

/// The body: a map whose `messages` and `tools` are counted.
struct TopLevel<'s, 'a>(&'s mut Scan<'a>);

/// An array whose entries are counted as `field`; with `messages`, each entry's `content`
/// parts are counted too.
struct Entries<'s, 'a>(&'s mut Scan<'a>, Field);

/// A message: a map whose `content` array is counted.
struct MessageValue<'s, 'a>(&'s mut Scan<'a>);

/// Each counting visitor is its own seed.
macro_rules! seed {
    ($($name:ident),*) => {$(
        impl<'de> DeserializeSeed<'de> for $name<'_, '_> {
            type Value = ();

            fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
                deserializer.deserialize_any(self)
            }
        }
    )*};
}

seed!(Any, TopLevel, Entries, MessageValue);

impl<'de> Visitor<'de> for Any<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.0.value()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.0.value()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.0.value()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.0.value()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.0.value()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.value()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.value()?;
        while seq.next_element_seed(Any(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.value()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Any(self.0))?;
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.value()?;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "messages" => map.next_value_seed(Entries(self.0, Field::Messages))?,
                "tools" => map.next_value_seed(Entries(self.0, Field::Tools))?,
                _ => map.next_value_seed(Any(self.0))?,
            }
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Entries<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Entries(scan, field) = self;
        scan.value()?;
        loop {
            let more = match field {
                Field::Messages => seq.next_element_seed(MessageValue(scan))?,
                _ => seq.next_element_seed(Any(scan))?,
            };
            if more.is_none() {
                return Ok(());
            }
            scan.add(field)?;
        }
    }

    // Not an array: the parser will say so; count it as any value.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Any(self.0).visit_map(map)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.0.value()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.value()
    }
}

impl<'de> Visitor<'de> for MessageValue<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.value()?;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "content" {
                map.next_value_seed(Entries(self.0, Field::ContentParts))?;
            } else {
                map.next_value_seed(Any(self.0))?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Any(self.0).visit_seq(seq)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.0.value()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_limits() -> RequestLimits {
        RequestLimits {
            max_messages: 3,
            max_content_parts: 4,
            max_tools: 2,
            max_json_values: 100,
            scan_above: 0,
        }
    }

    fn messages(count: usize) -> String {
        let one = r#"{"role":"user","content":"hi"}"#;
        format!(
            r#"{{"model":"m","messages":[{}]}}"#,
            vec![one; count].join(",")
        )
    }

    #[test]
    fn the_scan_refuses_what_the_parsed_check_refuses() {
        let limits = small_limits();
        let cases = [
            (messages(3), None),
            (messages(4), Some("messages")),
            (
                r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"},{"type":"text","text":"c"},{"type":"text","text":"d"},{"type":"text","text":"e"}]}]}"#.to_owned(),
                Some("messages"),
            ),
            (
                r#"{"model":"m","messages":[],"tools":[{"type":"function"},{"type":"function"},{"type":"function"}]}"#.to_owned(),
                Some("tools"),
            ),
        ];
        for (body, refused) in cases {
            let scanned = limits.scan(body.as_bytes());
            assert_eq!(
                scanned.as_ref().err().and_then(Error::param),
                refused,
                "{body}"
            );
            let parsed: ChatRequest = serde_json::from_str(&body).unwrap();
            let checked = limits.check(parsed.counts());
            assert_eq!(
                checked.as_ref().err().and_then(Error::param),
                refused,
                "{body}"
            );
        }
    }

    #[test]
    fn responses_requests_name_their_input() {
        let limits = small_limits();
        let item = r#"{"role":"user","content":"hi"}"#;
        let body = format!(r#"{{"model":"m","input":[{}]}}"#, [item; 4].join(","));
        let parsed: CreateResponse = serde_json::from_str(&body).unwrap();
        let error = limits.check_request(&parsed).unwrap_err();
        assert_eq!(error.param(), Some("input"));
        assert!(
            error.message().contains("`input` holds 4 entries"),
            "{}",
            error.message()
        );
        assert!(limits.check_request(&ChatRequest::default()).is_ok());
    }

    #[test]
    fn too_many_values_anywhere_are_refused_before_parsing() {
        let limits = small_limits();
        let body = format!(
            r#"{{"model":"m","messages":[],"metadata":[{}]}}"#,
            "0,".repeat(200) + "0"
        );
        let error = limits.scan(body.as_bytes()).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(
            error.message().contains("100 JSON values"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn a_huge_body_stops_at_the_first_message_past_the_limit() {
        let limits = RequestLimits::default();
        let body = messages(200_000);
        let started = std::time::Instant::now();
        let error = limits.scan(body.as_bytes()).unwrap_err();
        assert_eq!(error.param(), Some("messages"));
        assert!(error.message().contains("10000"), "{}", error.message());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn small_bodies_and_broken_json_are_left_to_the_parser() {
        let limits = RequestLimits::default();
        assert!(limits.scan(messages(20_000).as_bytes()).is_err());
        assert!(limits.scan(b"{not json").is_ok());
        let tiny = RequestLimits {
            scan_above: usize::MAX,
            ..RequestLimits::default()
        };
        assert!(tiny.scan(messages(20_000).as_bytes()).is_ok());
    }
}
