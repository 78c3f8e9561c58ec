//! Sans-IO incremental decoder for `text/event-stream` (Server-Sent Events).
//!
//! Gemini's `models/{model}:streamGenerateContent?alt=sse` answers with an
//! event stream in which every event is a `data: <JSON object>` line followed
//! by a blank line. [`SseDecoder`] turns the raw response bytes, in chunks cut
//! at arbitrary places by the network, into complete [`SseEvent`]s. It does no
//! I/O itself: the caller [`push`](SseDecoder::push)es bytes and pulls events
//! with [`next_event`](SseDecoder::next_event), then calls
//! [`finish`](SseDecoder::finish) at end of input.
//!
//! Lines are parsed following the WHATWG HTML "event stream interpretation"
//! rules:
//!
//! - a line ends with `\r\n`, `\n` or `\r`; a `\r\n` pair split across two
//!   chunks is still one line ending;
//! - one leading UTF-8 byte order mark at the very start of the stream is
//!   skipped;
//! - a line starting with `:` is a comment and is ignored;
//! - `name: value` sets a field; one space after the colon is stripped from
//!   the value; a line without a colon is a field named by the whole line with
//!   an empty value;
//! - `data` lines append to the event's data, several joined with `\n`;
//!   `event` sets the event type (an empty value means the default type and
//!   is reported as `None`); `id` sets the event id (ignored if the value
//!   contains NUL); every other field, `retry` included, is ignored;
//! - an empty line dispatches the event, unless it had no `data` line, in
//!   which case the fields gathered so far are dropped.
//!
//! Deviations from a browser's `EventSource`, deliberate for a decoder:
//! [`SseEvent::id`] is the `id` given in that event, not the persistent "last
//! event ID"; and at end of input a partial last line counts as complete and
//! a last event without its terminating blank line is still dispatched
//! (Gemini sometimes ends a stream that way).
//!
//! Lines are decoded as UTF-8 only once complete, so a character split across
//! chunks is fine; invalid UTF-8 in a complete line is
//! [`SseError::InvalidUtf8`]. Memory is bounded: an event whose retained bytes
//! (data, type, id and the line being read) exceed the configured maximum is
//! [`SseError::EventTooLarge`]. Errors are terminal: the decoder drops what it
//! holds and reports the same error from then on.

use std::mem;

/// Default maximum size of one event, in bytes (16 MiB).
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// The UTF-8 byte order mark, skipped once at the start of the stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Consumed bytes are only moved out of the buffer once there are at least
/// this many of them and they are at least half of the buffer, so compaction
/// is rare and its copying cost is amortised over the consumed bytes.
const COMPACT_THRESHOLD: usize = 8 * 1024;

/// One dispatched event.
///
/// ```rust
/// use llm_tower::sse::{SseDecoder, SseEvent};
///
/// let mut decoder = SseDecoder::new();
/// decoder.push(b"event: update\nid: 7\ndata: {\"a\":1}\n\n");
/// assert_eq!(
///     decoder.next_event()?,
///     Some(SseEvent {
///         event: Some("update".to_owned()),
///         data: "{\"a\":1}".to_owned(),
///         id: Some("7".to_owned()),
///     })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event` field (event type), if a non-empty one was given.
    pub event: Option<String>,
    /// The `data` lines, joined with `\n`.
    pub data: String,
    /// The `id` field, if this event carried one.
    pub id: Option<String>,
}

/// Why an event stream could not be decoded.
///
/// ```rust
/// use llm_tower::sse::SseDecoder;
///
/// let mut decoder = SseDecoder::with_max_event_size(8);
/// decoder.push(b"data: far more than eight bytes");
/// let err = decoder.next_event().unwrap_err();
/// assert_eq!(err.to_string(), "server-sent event larger than the 8-byte limit");
/// ```
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SseError {
    /// A complete line was not valid UTF-8.
    #[error("invalid UTF-8 in event stream at byte offset {offset}")]
    InvalidUtf8 {
        /// Offset of the first invalid byte, counted from the start of the
        /// stream.
        offset: u64,
    },
    /// An event grew beyond the configured maximum size.
    #[error("server-sent event larger than the {limit}-byte limit")]
    EventTooLarge {
        /// The configured maximum event size, in bytes.
        limit: usize,
    },
}

/// Incremental, sans-IO decoder of a `text/event-stream` body.
///
/// Push bytes as they arrive, drain events after each push, and call
/// [`finish`](Self::finish) at end of input:
///
/// ```rust
/// use llm_tower::sse::{SseDecoder, SseEvent};
///
/// let mut decoder = SseDecoder::new();
/// let mut events = Vec::new();
/// for chunk in [&b"data: {\"n\":1}\r"[..], b"\n\r\ndata: {\"n\"", b":2}"] {
///     decoder.push(chunk);
///     while let Some(event) = decoder.next_event()? {
///         events.push(event.data);
///     }
/// }
/// while let Some(event) = decoder.finish()? {
///     events.push(event.data);
/// }
/// assert_eq!(events, ["{\"n\":1}", "{\"n\":2}"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SseDecoder {
    /// Received bytes; `buf[..start]` is consumed.
    buf: Vec<u8>,
    /// First unconsumed byte of `buf`.
    start: usize,
    /// `buf[start..scan]` is known to hold no line terminator.
    scan: usize,
    /// Offset in the stream of `buf[0]`.
    base: u64,
    /// The last line ended with a `\r` at the end of the buffer: a `\n`
    /// arriving next belongs to that line ending.
    pending_cr: bool,
    /// Whether the start of the stream has been checked for a byte order mark.
    bom_checked: bool,
    /// Fields gathered for the event being read.
    pending: Pending,
    max_event_size: usize,
    /// Set by the first error, which every later call reports again.
    failed: Option<SseError>,
}

/// Fields of the event being read.
#[derive(Debug, Default)]
struct Pending {
    data: String,
    has_data: bool,
    event: Option<String>,
    id: Option<String>,
}

impl Pending {
    /// Bytes retained for this event.
    fn size(&self) -> usize {
        self.data.len()
            + self.event.as_ref().map_or(0, String::len)
            + self.id.as_ref().map_or(0, String::len)
    }

    /// Applies one complete, non-empty line.
    fn apply(&mut self, line: &str) {
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            // A comment: the line starts with a colon.
            "" => {}
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = (!value.is_empty()).then(|| value.to_owned()),
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {}
        }
    }

    /// Ends the event: returns it if it had data, and resets the fields.
    fn dispatch(&mut self) -> Option<SseEvent> {
        let Pending {
            data,
            has_data,
            event,
            id,
        } = mem::take(self);
        has_data.then_some(SseEvent { event, data, id })
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default maximum event size,
    /// [`DEFAULT_MAX_EVENT_SIZE`] (16 MiB).
    ///
    /// ```rust
    /// use llm_tower::sse::SseDecoder;
    ///
    /// let decoder = SseDecoder::new();
    /// assert_eq!(decoder.buffered_len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that fails with [`SseError::EventTooLarge`] once an event's
    /// retained bytes (data, type, id and the line being read) exceed `limit`.
    ///
    /// ```rust
    /// use llm_tower::sse::SseDecoder;
    ///
    /// let mut decoder = SseDecoder::with_max_event_size(1024);
    /// decoder.push(b"data: small\n\n");
    /// assert_eq!(decoder.next_event()?.map(|e| e.data).as_deref(), Some("small"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_max_event_size(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            scan: 0,
            base: 0,
            pending_cr: false,
            bom_checked: false,
            pending: Pending::default(),
            max_event_size: limit,
            failed: None,
        }
    }

    /// Appends bytes received from the network. Nothing is parsed here; call
    /// [`next_event`](Self::next_event) afterwards, which also enforces the
    /// size limit. Bytes pushed after an error are dropped.
    ///
    /// ```rust
    /// use llm_tower::sse::SseDecoder;
    ///
    /// let mut decoder = SseDecoder::new();
    /// decoder.push(b"data: 1");
    /// assert_eq!(decoder.buffered_len(), 7);
    /// ```
    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed.is_some() || chunk.is_empty() {
            return;
        }
        self.compact();
        self.buf.extend_from_slice(chunk);
    }

    /// Returns the next complete event, or `None` if more bytes are needed.
    ///
    /// Call it until it returns `None` after every [`push`](Self::push).
    ///
    /// ```rust
    /// use llm_tower::sse::SseDecoder;
    ///
    /// let mut decoder = SseDecoder::new();
    /// decoder.push(b"data: a\n\ndata: b\n");
    /// assert_eq!(decoder.next_event()?.map(|e| e.data).as_deref(), Some("a"));
    /// assert_eq!(decoder.next_event()?, None); // "b" awaits its blank line
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SseError::InvalidUtf8`] for a complete line that is not UTF-8, and
    /// [`SseError::EventTooLarge`] as soon as the event being read exceeds
    /// the maximum size. After an error every call returns the same error.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        self.advance(false)
    }

    /// Signals end of input and returns the next remaining event: a partial
    /// last line counts as complete, and an event left without its blank
    /// line is dispatched. Call it until it returns `None`.
    ///
    /// ```rust
    /// use llm_tower::sse::SseDecoder;
    ///
    /// let mut decoder = SseDecoder::new();
    /// decoder.push(b"data: last");
    /// assert_eq!(decoder.next_event()?, None);
    /// assert_eq!(decoder.finish()?.map(|e| e.data).as_deref(), Some("last"));
    /// assert_eq!(decoder.finish()?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`next_event`](Self::next_event).
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        self.advance(true)
    }

    /// Bytes held: unparsed input plus the fields of the event being read.
    ///
    /// ```rust
    /// use llm_tower::sse::SseDecoder;
    ///
    /// let mut decoder = SseDecoder::new();
    /// decoder.push(b"data: x\n\n");
    /// decoder.next_event()?;
    /// assert_eq!(decoder.buffered_len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.buf.len() - self.start + self.pending.size()
    }

    fn advance(&mut self, eof: bool) -> Result<Option<SseEvent>, SseError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.parse(eof);
        if let Err(err) = &result {
            // Terminal: release the memory and remember the error.
            self.buf = Vec::new();
            self.start = 0;
            self.scan = 0;
            self.pending = Pending::default();
            self.failed = Some(err.clone());
        }
        result
    }

    fn parse(&mut self, eof: bool) -> Result<Option<SseEvent>, SseError> {
        if !self.bom_checked {
            let rest = &self.buf[self.start..];
            if !eof && rest.len() < BOM.len() && BOM.starts_with(rest) {
                return Ok(None);
            }
            if rest.starts_with(BOM) {
                self.start += BOM.len();
                self.scan = self.start;
            }
            self.bom_checked = true;
        }
        loop {
            if self.pending_cr && self.start < self.buf.len() {
                self.pending_cr = false;
                if self.buf[self.start] == b'\n' {
                    self.start += 1;
                    self.scan = self.start;
                }
            }
            let found = self.buf[self.scan..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r');
            let (line_end, next_start) = match found {
                Some(i) => {
                    let end = self.scan + i;
                    match (self.buf[end], self.buf.get(end + 1)) {
                        (b'\r', Some(b'\n')) => (end, end + 2),
                        (b'\r', None) => {
                            self.pending_cr = true;
                            (end, end + 1)
                        }
                        _ => (end, end + 1),
                    }
                }
                None => {
                    self.scan = self.buf.len();
                    let partial = self.buf.len() - self.start;
                    self.check_size(partial)?;
                    if !eof {
                        return Ok(None);
                    }
                    if partial == 0 {
                        return Ok(self.pending.dispatch());
                    }
                    (self.buf.len(), self.buf.len())
                }
            };
            let line_start = self.start;
            self.check_size(line_end - line_start)?;
            let line = std::str::from_utf8(&self.buf[line_start..line_end]).map_err(|e| {
                SseError::InvalidUtf8 {
                    offset: self.base + (line_start + e.valid_up_to()) as u64,
                }
            })?;
            self.start = next_start;
            self.scan = next_start;
            if line.is_empty() {
                if let Some(event) = self.pending.dispatch() {
                    return Ok(Some(event));
                }
            } else {
                self.pending.apply(line);
            }
        }
    }

    /// Fails if the event being read plus a line of `line_len` bytes exceeds
    /// the maximum event size.
    fn check_size(&self, line_len: usize) -> Result<(), SseError> {
        if self.pending.size().saturating_add(line_len) > self.max_event_size {
            Err(SseError::EventTooLarge {
                limit: self.max_event_size,
            })
        } else {
            Ok(())
        }
    }

    /// Drops consumed bytes from the front of the buffer: always when all of
    /// it is consumed (no copy), otherwise only when the consumed part is
    /// large and at least half of the buffer.
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start == self.buf.len() {
            self.buf.clear();
        } else if self.start >= COMPACT_THRESHOLD && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
        } else {
            return;
        }
        self.base += self.start as u64;
        self.scan -= self.start;
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMOKE: &str = include_str!("../../tests/fixtures/sse/streaming-smoke.sse");

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            data: data.to_owned(),
            ..SseEvent::default()
        }
    }

    /// Feeds `chunks`, draining after every push and at the end; stops at the
    /// first error.
    fn decode_with<'a>(
        mut decoder: SseDecoder,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<SseEvent>, (Vec<SseEvent>, SseError)> {
        let mut events = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            loop {
                match decoder.next_event() {
                    Ok(Some(event)) => events.push(event),
                    Ok(None) => break,
                    Err(err) => return Err((events, err)),
                }
            }
        }
        loop {
            match decoder.finish() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => return Ok(events),
                Err(err) => return Err((events, err)),
            }
        }
    }

    fn decode_chunks<'a>(
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<SseEvent>, (Vec<SseEvent>, SseError)> {
        decode_with(SseDecoder::new(), chunks)
    }

    fn decode(input: &[u8]) -> Vec<SseEvent> {
        decode_chunks([input]).expect("valid stream")
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(
            decode(b"data: a\r\n\r\ndata: b\r\n\r\n"),
            [ev("a"), ev("b")]
        );
    }

    #[test]
    fn lf_line_endings() {
        assert_eq!(decode(b"data: a\n\ndata: b\n\n"), [ev("a"), ev("b")]);
    }

    #[test]
    fn cr_line_endings() {
        assert_eq!(decode(b"data: a\r\rdata: b\r\r"), [ev("a"), ev("b")]);
    }

    #[test]
    fn mixed_line_endings() {
        assert_eq!(
            decode(b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r"),
            [ev("a\nb\nc"), ev("d")]
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_ending() {
        let mut decoder = SseDecoder::new();
        decoder.push(b"data: a\r");
        assert_eq!(decoder.next_event(), Ok(None));
        decoder.push(b"\ndata: b\r");
        assert_eq!(decoder.next_event(), Ok(None));
        decoder.push(b"\n\r");
        assert_eq!(decoder.next_event(), Ok(Some(ev("a\nb"))));
        decoder.push(b"\n");
        assert_eq!(decoder.next_event(), Ok(None));
        assert_eq!(decoder.finish(), Ok(None));
    }

    #[test]
    fn cr_at_chunk_end_followed_by_cr_is_two_line_endings() {
        let events = decode_chunks([&b"data: a\r"[..], b"\rdata: b\r", b"\r"]);
        assert_eq!(events, Ok(vec![ev("a"), ev("b")]));
    }

    #[test]
    fn multi_line_data_joins_with_lf() {
        assert_eq!(
            decode(b"data: {\ndata:  \"a\": 1\ndata: }\n\n"),
            [ev("{\n \"a\": 1\n}")]
        );
    }

    #[test]
    fn comments_are_ignored() {
        assert_eq!(
            decode(b": keep-alive\n\n:\ndata: a\n: inside\ndata: b\n\n"),
            [ev("a\nb")]
        );
    }

    #[test]
    fn event_and_id_fields_are_recorded() {
        let events = decode(b"event: delta\nid: 42\ndata: x\n\ndata: y\n\n");
        assert_eq!(
            events,
            [
                SseEvent {
                    event: Some("delta".to_owned()),
                    data: "x".to_owned(),
                    id: Some("42".to_owned()),
                },
                ev("y"),
            ]
        );
    }

    #[test]
    fn empty_event_type_is_none_and_empty_id_is_kept() {
        let events = decode(b"event:\nid:\ndata: x\n\n");
        assert_eq!(
            events,
            [SseEvent {
                event: None,
                data: "x".to_owned(),
                id: Some(String::new()),
            }]
        );
    }

    #[test]
    fn id_with_nul_is_ignored() {
        assert_eq!(
            decode(b"id: 1\nid: a\0b\ndata: x\n\n")[0].id.as_deref(),
            Some("1")
        );
    }

    #[test]
    fn unknown_fields_and_retry_are_ignored() {
        assert_eq!(
            decode(b"retry: 1000\nfoo: bar\nDATA: no\ndata : no\ndata: yes\n\n"),
            [ev("yes")]
        );
    }

    #[test]
    fn only_one_space_after_colon_is_stripped() {
        assert_eq!(
            decode(b"data:a\n\ndata: b\n\ndata:  c\n\ndata:d: e\n\n"),
            [ev("a"), ev("b"), ev(" c"), ev("d: e")]
        );
    }

    #[test]
    fn line_without_colon_is_field_with_empty_value() {
        assert_eq!(decode(b"data\n\ndata\ndata\n\n"), [ev(""), ev("\n")]);
    }

    #[test]
    fn empty_data_event_is_dispatched() {
        assert_eq!(decode(b"data:\n\ndata: \n\n"), [ev(""), ev("")]);
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        assert_eq!(decode(b"event: ping\nid: 1\n\ndata: x\n\n"), [ev("x")]);
    }

    #[test]
    fn blank_lines_alone_dispatch_nothing() {
        assert_eq!(decode(b"\n\r\n\r\n\n"), []);
    }

    #[test]
    fn last_event_without_blank_line_is_flushed_by_finish() {
        let mut decoder = SseDecoder::new();
        decoder.push(b"data: a\r\n\r\ndata: b\r\n");
        assert_eq!(decoder.next_event(), Ok(Some(ev("a"))));
        assert_eq!(decoder.next_event(), Ok(None));
        assert_eq!(decoder.finish(), Ok(Some(ev("b"))));
        assert_eq!(decoder.finish(), Ok(None));
    }

    #[test]
    fn partial_line_at_eof_is_a_line() {
        assert_eq!(decode(b"data: a\n\ndata: b"), [ev("a"), ev("b")]);
        assert_eq!(decode(b"data: a\n\nevent: x"), [ev("a")]);
    }

    #[test]
    fn finish_drains_every_undrained_event() {
        let mut decoder = SseDecoder::new();
        decoder.push(b"data: a\n\ndata: b\n\ndata: c");
        assert_eq!(decoder.finish(), Ok(Some(ev("a"))));
        assert_eq!(decoder.finish(), Ok(Some(ev("b"))));
        assert_eq!(decoder.finish(), Ok(Some(ev("c"))));
        assert_eq!(decoder.finish(), Ok(None));
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn leading_bom_is_skipped_once() {
        assert_eq!(decode(b"\xEF\xBB\xBFdata: a\n\n"), [ev("a")]);
        let split = decode_chunks([&b"\xEF"[..], b"\xBB", b"\xBFdata: a\n\n"]);
        assert_eq!(split, Ok(vec![ev("a")]));
        // A second BOM is part of the field name, so the line is unknown.
        assert_eq!(decode(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"), []);
    }

    #[test]
    fn utf8_split_at_every_byte_position() {
        for ch in ["é", "€", "😀"] {
            let input = format!("data: {ch}x{ch}\n\n");
            let bytes = input.as_bytes();
            for split in 0..=bytes.len() {
                let (a, b) = bytes.split_at(split);
                let events = decode_chunks([a, b]);
                assert_eq!(
                    events,
                    Ok(vec![ev(&format!("{ch}x{ch}"))]),
                    "{ch} at {split}"
                );
            }
            let one_by_one = decode_chunks(bytes.chunks(1));
            assert_eq!(one_by_one, Ok(vec![ev(&format!("{ch}x{ch}"))]));
        }
    }

    #[test]
    fn invalid_utf8_is_an_error_with_stream_offset() {
        let mut decoder = SseDecoder::new();
        decoder.push(b"data: ok\n\ndata: \xFF\n\n");
        assert_eq!(decoder.next_event(), Ok(Some(ev("ok"))));
        assert_eq!(
            decoder.next_event(),
            Err(SseError::InvalidUtf8 { offset: 16 })
        );
        // Terminal: the same error again, and nothing held.
        decoder.push(b"data: more\n\n");
        assert_eq!(
            decoder.next_event(),
            Err(SseError::InvalidUtf8 { offset: 16 })
        );
        assert_eq!(decoder.finish(), Err(SseError::InvalidUtf8 { offset: 16 }));
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn truncated_utf8_at_eof_is_an_error() {
        let mut decoder = SseDecoder::new();
        decoder.push(
            "data: €"
                .as_bytes()
                .split_last()
                .map_or(&[][..], |(_, rest)| rest),
        );
        assert_eq!(decoder.next_event(), Ok(None));
        assert_eq!(decoder.finish(), Err(SseError::InvalidUtf8 { offset: 6 }));
    }

    #[test]
    fn invalid_utf8_offset_survives_compaction() {
        let event = b"data: 0123456789abcdef\n\n";
        let mut decoder = SseDecoder::new();
        let count = 2 * COMPACT_THRESHOLD / event.len() + 3;
        for _ in 0..count {
            decoder.push(event);
            assert!(decoder.next_event().is_ok_and(|e| e.is_some()));
        }
        decoder.push(b"data: \xC3(\n");
        let offset = (count * event.len() + 6) as u64;
        assert_eq!(decoder.next_event(), Err(SseError::InvalidUtf8 { offset }));
    }

    #[test]
    fn event_at_the_limit_is_accepted() {
        // "data: 0123" is 10 bytes; then 4 retained + "data:4" is 10 again.
        let input = &b"data: 0123\ndata:4\n\n"[..];
        let events = decode_with(SseDecoder::with_max_event_size(10), [input]);
        assert_eq!(events, Ok(vec![ev("0123\n4")]));
        let events = decode_with(SseDecoder::with_max_event_size(9), [input]);
        assert_eq!(events, Err((vec![], SseError::EventTooLarge { limit: 9 })));
    }

    #[test]
    fn oversize_complete_line_is_an_error() {
        let decoder = SseDecoder::with_max_event_size(10);
        let events = decode_with(decoder, [&b"data: a\n\ndata: 0123456789\n\n"[..]]);
        assert_eq!(
            events,
            Err((vec![ev("a")], SseError::EventTooLarge { limit: 10 }))
        );
    }

    #[test]
    fn oversize_across_many_data_lines_is_an_error() {
        let decoder = SseDecoder::with_max_event_size(100);
        let input = "data: 0123456789\n".repeat(20);
        let events = decode_with(decoder, [input.as_bytes()]);
        assert_eq!(
            events,
            Err((vec![], SseError::EventTooLarge { limit: 100 }))
        );
    }

    #[test]
    fn oversize_is_detected_before_the_line_ends_and_memory_stays_bounded() {
        const LIMIT: usize = 1024;
        const CHUNK: usize = 100;
        let mut decoder = SseDecoder::with_max_event_size(LIMIT);
        decoder.push(b"data: ");
        let chunk = [b'x'; CHUNK];
        let mut pushed = 0;
        let err = loop {
            decoder.push(&chunk);
            pushed += CHUNK;
            assert!(decoder.buffered_len() <= LIMIT + CHUNK);
            match decoder.next_event() {
                Ok(None) => {}
                Ok(Some(event)) => panic!("unexpected event {event:?}"),
                Err(err) => break err,
            }
            assert!(pushed < 10 * LIMIT, "no error after {pushed} bytes");
        };
        assert_eq!(err, SseError::EventTooLarge { limit: LIMIT });
        assert!(pushed <= LIMIT + CHUNK);
        assert_eq!(decoder.buffered_len(), 0);
        decoder.push(&chunk);
        assert_eq!(decoder.buffered_len(), 0);
        assert_eq!(
            decoder.finish(),
            Err(SseError::EventTooLarge { limit: LIMIT })
        );
    }

    #[test]
    fn buffered_len_stays_bounded_over_a_long_stream() {
        let mut decoder = SseDecoder::new();
        let event = b"data: {\"candidates\":[{\"content\":{}}]}\r\n\r\n";
        for i in 0..10_000 {
            let (a, b) = event.split_at(i % event.len());
            for part in [a, b] {
                decoder.push(part);
                while decoder.next_event().is_ok_and(|e| e.is_some()) {}
                assert!(decoder.buffered_len() < event.len());
            }
            assert!(decoder.buf.len() <= COMPACT_THRESHOLD * 2 + event.len());
        }
        assert_eq!(decoder.finish(), Ok(None));
    }

    #[test]
    fn default_matches_new() {
        let decoder = SseDecoder::default();
        assert_eq!(decoder.max_event_size, DEFAULT_MAX_EVENT_SIZE);
        assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            SseError::InvalidUtf8 { offset: 3 }.to_string(),
            "invalid UTF-8 in event stream at byte offset 3"
        );
        assert_eq!(
            SseError::EventTooLarge { limit: 8 }.to_string(),
            "server-sent event larger than the 8-byte limit"
        );
    }

    #[test]
    fn recorded_gemini_stream() {
        let bytes = SMOKE.as_bytes();
        let whole = decode(bytes);
        assert_eq!(whole.len(), 6);
        for event in &whole {
            assert_eq!((&event.event, &event.id), (&None, &None));
            let json: serde_json::Value =
                serde_json::from_str(&event.data).expect("event data is JSON");
            assert!(json.get("candidates").is_some(), "{json}");
        }
        assert_eq!(decode_chunks(bytes.chunks(1)), Ok(whole.clone()));
        assert_eq!(decode_chunks(bytes.chunks(7)), Ok(whole.clone()));
        // The same stream without its final blank line.
        let trimmed = SMOKE
            .strip_suffix("\r\n\r\n")
            .expect("ends with a blank line");
        assert_eq!(decode(trimmed.as_bytes()), whole);
    }

    /// One event to encode: optional type and id, and one or more data lines.
    fn arb_event() -> impl Strategy<Value = SseEvent> {
        let text = "[a-zA-Z0-9 {}\\[\\]\":,.\\\\é€😀ßü\u{FEFF}-]{0,24}";
        (
            proptest::option::of("[a-z][a-z_.é]{0,8}"),
            proptest::option::of("[0-9a-z€]{0,8}"),
            proptest::collection::vec(text, 1..4),
        )
            .prop_map(|(event, id, lines)| SseEvent {
                event,
                id,
                data: lines.join("\n"),
            })
    }

    /// Encodes events; `seps[i]` picks the line ending of event `i`, and
    /// whether a comment precedes it.
    fn encode(events: &[SseEvent], seps: &[(u8, bool)], final_blank: bool) -> Vec<u8> {
        let mut out = String::new();
        for (i, event) in events.iter().enumerate() {
            let (sep, comment) = seps[i % seps.len()];
            let eol = ["\r\n", "\n", "\r"][usize::from(sep % 3)];
            if comment {
                out.push_str(": keep-alive");
                out.push_str(eol);
            }
            if let Some(name) = &event.event {
                out.push_str(&format!("event: {name}{eol}"));
            }
            if let Some(id) = &event.id {
                out.push_str(&format!("id:{id}{eol}"));
            }
            for line in event.data.split('\n') {
                out.push_str(&format!("data: {line}{eol}"));
            }
            if final_blank || i + 1 < events.len() {
                out.push_str(eol);
            }
        }
        out.into_bytes()
    }

    /// Splits `bytes` at the given positions (taken modulo its length).
    fn split_at_points(bytes: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
        let mut cuts: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        cuts.windows(2)
            .map(|w| bytes[w[0]..w[1]].to_vec())
            .collect()
    }

    proptest! {
        #[test]
        fn random_events_roundtrip_under_any_chunking(
            events in proptest::collection::vec(arb_event(), 0..8),
            seps in proptest::collection::vec((0u8..3, any::<bool>()), 1..4),
            final_blank in any::<bool>(),
            points in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let bytes = encode(&events, &seps, final_blank);
            let whole = decode_chunks([bytes.as_slice()]);
            prop_assert_eq!(&whole, &Ok(events.clone()));
            prop_assert_eq!(&decode_chunks(bytes.chunks(1)), &whole);
            let chunks = split_at_points(&bytes, &points);
            prop_assert_eq!(&decode_chunks(chunks.iter().map(Vec::as_slice)), &whole);
        }

        #[test]
        fn arbitrary_bytes_decode_the_same_under_any_chunking(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"data: \r\n:xe\xC3\xA9\xFF\xEF\xBB\xBF".to_vec()),
                0..200,
            ),
            points in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let limit = 32;
            let whole = decode_with(SseDecoder::with_max_event_size(limit), [bytes.as_slice()]);
            let bytewise = decode_with(SseDecoder::with_max_event_size(limit), bytes.chunks(1));
            prop_assert_eq!(&bytewise, &whole);
            let chunks = split_at_points(&bytes, &points);
            let split = decode_with(
                SseDecoder::with_max_event_size(limit),
                chunks.iter().map(Vec::as_slice),
            );
            prop_assert_eq!(&split, &whole);
        }
    }
}
