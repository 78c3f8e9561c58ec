//! [`BoundedReplies`]: the byte stream under a Redis connection, with what Redis sends
//! checked as it arrives. The client library waits for a whole value before it hands it
//! over, buffering what a reply declares; a Redis that is not ours (or a man in the middle
//! of a plain `redis://` connection) could declare a gigabyte. Here every reply is read
//! by a small RESP scanner that allocates nothing: a string longer than the limit, an
//! aggregate of more than [`MAX_ELEMENTS`], a reply larger in all than its limit (an
//! aggregate of many strings each within theirs) or nested deeper than [`MAX_DEPTH`], or
//! bytes that are not RESP fail the read, and the connection with it, before the library
//! buffers them.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most elements one aggregate (array, map, set, push) may declare. The stores read
/// strings and integers only.
pub(super) const MAX_ELEMENTS: u64 = 1024;

/// Most aggregates one reply may hold inside each other.
pub(super) const MAX_DEPTH: usize = 8;

/// What a length line declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    /// A string's bytes (`$`, `!`, `=`).
    String,
    /// An aggregate's elements (`*`, `~`, `>`).
    Elements,
    /// A map's key-value pairs (`%`).
    Pairs,
    /// An attribute's key-value pairs, and then the value they describe (`|`).
    Attribute,
}

/// Where the scanner is within the reply stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the type byte of the next value.
    Type,
    /// Inside a line value (`+`, `-`, `:`, …), `usize` bytes into it.
    Line(u64),
    /// Reading the length of a string or aggregate.
    Length {
        declared: Declared,
        value: u64,
        negative: bool,
    },
    /// After the length's `\r`.
    LengthEnd {
        declared: Declared,
        value: u64,
        negative: bool,
    },
    /// Inside a string's bytes and its closing `\r\n`: how many are left.
    Skip(u64),
}

/// The RESP scanner; see the module docs.
#[derive(Debug)]
pub(super) struct Scanner {
    state: State,
    max_bytes: u64,
    max_reply_bytes: u64,
    /// The bytes of the reply under way so far.
    reply_bytes: u64,
    /// The elements still to come in each aggregate the scanner is inside, outermost
    /// first; `depth` of them are in use.
    open: [u64; MAX_DEPTH],
    depth: usize,
}

impl Scanner {
    /// Strings of at most `max_bytes`, replies (a value and all it holds) of at most
    /// `max_reply_bytes`.
    pub(super) fn new(max_bytes: u64, max_reply_bytes: u64) -> Self {
        Self {
            state: State::Type,
            max_bytes,
            max_reply_bytes,
            reply_bytes: 0,
            open: [0; MAX_DEPTH],
            depth: 0,
        }
    }

    /// Counts `bytes` more of the reply under way.
    fn count(&mut self, bytes: u64) -> Result<(), &'static str> {
        self.reply_bytes += bytes;
        if self.reply_bytes > self.max_reply_bytes {
            return Err("a reply over the size limit");
        }
        Ok(())
    }

    /// A value has ended: it counts toward the aggregates it is in, and when it ends the
    /// outermost, the reply is whole.
    fn completed(&mut self) -> State {
        while let Some(left) = self.depth.checked_sub(1).map(|at| &mut self.open[at]) {
            *left -= 1;
            if *left > 0 {
                return State::Type;
            }
            self.depth -= 1;
        }
        self.reply_bytes = 0;
        State::Type
    }

    /// An aggregate of `elements` (at least one) begins.
    fn open(&mut self, elements: u64) -> Result<State, &'static str> {
        let slot = self
            .open
            .get_mut(self.depth)
            .ok_or("a reply nested too deep")?;
        *slot = elements;
        self.depth += 1;
        Ok(State::Type)
    }

    /// Scans the next bytes of the stream.
    pub(super) fn scan(&mut self, mut bytes: &[u8]) -> Result<(), &'static str> {
        while let Some((&byte, rest)) = bytes.split_first() {
            if let State::Skip(left) = self.state {
                let taken = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                bytes = &bytes[taken..];
                self.count(taken as u64)?;
                let left = left - taken as u64;
                self.state = if left == 0 {
                    self.completed()
                } else {
                    State::Skip(left)
                };
                continue;
            }
            bytes = rest;
            self.count(1)?;
            self.state = match self.state {
                State::Type => {
                    let declared = match byte {
                        b'$' | b'!' | b'=' => Some(Declared::String),
                        b'*' | b'~' | b'>' => Some(Declared::Elements),
                        b'%' => Some(Declared::Pairs),
                        b'|' => Some(Declared::Attribute),
                        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => None,
                        _ => return Err("a reply that is not RESP"),
                    };
                    match declared {
                        Some(declared) => State::Length {
                            declared,
                            value: 0,
                            negative: false,
                        },
                        None => State::Line(0),
                    }
                }
                State::Line(_) if byte == b'\n' => self.completed(),
                State::Line(length) if length >= self.max_bytes => {
                    return Err("a reply line over the size limit");
                }
                State::Line(length) => State::Line(length + 1),
                State::Length {
                    declared,
                    value,
                    negative,
                } => match byte {
                    b'0'..=b'9' => {
                        let value = value * 10 + u64::from(byte - b'0');
                        let string = declared == Declared::String;
                        let limit = if string { self.max_bytes } else { MAX_ELEMENTS };
                        if value > limit && !negative {
                            return Err(if string {
                                "a value over the size limit"
                            } else {
                                "an aggregate over the element limit"
                            });
                        }
                        State::Length {
                            declared,
                            value: value.min(limit + 1),
                            negative,
                        }
                    }
                    b'-' if value == 0 && !negative => State::Length {
                        declared,
                        value,
                        negative: true,
                    },
                    b'\r' => State::LengthEnd {
                        declared,
                        value,
                        negative,
                    },
                    _ => return Err("a reply length that is not a number"),
                },
                State::LengthEnd {
                    declared,
                    value,
                    negative,
                } => {
                    if byte != b'\n' {
                        return Err("a reply length without its line end");
                    }
                    let elements = match declared {
                        _ if negative => 0,
                        Declared::String => {
                            // Refused before its bytes arrive, as a long string is.
                            if self.reply_bytes + value + 2 > self.max_reply_bytes {
                                return Err("a reply over the size limit");
                            }
                            self.state = State::Skip(value + 2);
                            continue;
                        }
                        Declared::Elements => value,
                        Declared::Pairs => 2 * value,
                        Declared::Attribute => 2 * value + 1,
                    };
                    if elements == 0 {
                        self.completed()
                    } else {
                        self.open(elements)?
                    }
                }
                // Strings are skipped above, a slice at a time.
                skip @ State::Skip(_) => skip,
            };
        }
        Ok(())
    }
}

/// A stream whose incoming bytes pass the [`Scanner`]; a failed scan is an
/// [`io::ErrorKind::InvalidData`] read error.
pub(super) struct BoundedReplies<T> {
    inner: T,
    scanner: Scanner,
}

impl<T> BoundedReplies<T> {
    /// `inner`, with strings of at most `max_bytes` and replies of at most
    /// `max_reply_bytes`.
    pub(super) fn new(inner: T, max_bytes: u64, max_reply_bytes: u64) -> Self {
        Self {
            inner,
            scanner: Scanner::new(max_bytes, max_reply_bytes),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for BoundedReplies<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let arrived = &buf.filled()[before..];
                match this.scanner.scan(arrived) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(why) => {
                        tracing::warn!(
                            target: "llm_tower::store",
                            "Redis sent {why}; the connection is closed"
                        );
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, why)))
                    }
                }
            }
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for BoundedReplies<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]], max: u64) -> Result<(), &'static str> {
        scan_replies(chunks, max, 64 * max)
    }

    fn scan_replies(chunks: &[&[u8]], max: u64, max_reply: u64) -> Result<(), &'static str> {
        let mut scanner = Scanner::new(max, max_reply);
        for chunk in chunks {
            scanner.scan(chunk)?;
        }
        Ok(())
    }

    #[test]
    fn replies_within_the_limits_pass_in_any_split() {
        let stream: &[u8] =
            b"+OK\r\n$5\r\nhello\r\n$-1\r\n:42\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n_\r\n-ERR no\r\n\
              %1\r\n+k\r\n*0\r\n|1\r\n+a\r\n:1\r\n*-1\r\n*2\r\n*1\r\n:1\r\n$-1\r\n";
        assert_eq!(scan(&[stream], 16), Ok(()));
        for split in 0..stream.len() {
            let (a, b) = stream.split_at(split);
            assert_eq!(scan(&[a, b], 16), Ok(()), "split at {split}");
        }
    }

    #[test]
    fn a_declared_value_over_the_limit_fails_before_its_bytes() {
        assert_eq!(
            scan(&[b"$1073741824\r\n"], 1024),
            Err("a value over the size limit")
        );
        assert_eq!(
            scan(&[b"$99999999999999999999999999"], 1024),
            Err("a value over the size limit"),
            "no overflow"
        );
        assert_eq!(
            scan(&[b"$1025\r"], 1024),
            Err("a value over the size limit")
        );
        assert_eq!(scan(&[b"$1024\r\n"], 1024), Ok(()));
        assert_eq!(
            scan(&[b"*100000\r\n"], 1024),
            Err("an aggregate over the element limit")
        );
        assert_eq!(
            scan(&[b"+", &[b'x'; 2000]], 1024),
            Err("a reply line over the size limit")
        );
        assert_eq!(
            scan(&[b"HTTP/1.1 200 OK\r\n"], 1024),
            Err("a reply that is not RESP")
        );
    }

    #[test]
    fn a_reply_is_bounded_in_all_and_in_depth() {
        // Each string is within its limit, the array of them is not.
        let mut wide = b"*1024\r\n".to_vec();
        for _ in 0..1024 {
            wide.extend_from_slice(b"$1000\r\n");
            wide.extend(std::iter::repeat_n(b'x', 1000));
            wide.extend_from_slice(b"\r\n");
        }
        assert_eq!(
            scan_replies(&[&wide], 1024, 64 * 1024),
            Err("a reply over the size limit")
        );
        // Refused at the declaration that crosses the limit, before its bytes.
        assert_eq!(
            scan_replies(
                &[b"*3\r\n$1000\r\n", &[b'x'; 1000], b"\r\n$1000\r\n"],
                1024,
                1500
            ),
            Err("a reply over the size limit")
        );
        // The limit is per reply: many replies together may pass it.
        let mut many = Vec::new();
        for _ in 0..100 {
            many.extend_from_slice(b"*2\r\n$1000\r\n");
            many.extend(std::iter::repeat_n(b'x', 1000));
            many.extend_from_slice(b"\r\n:1\r\n");
        }
        assert_eq!(scan_replies(&[&many], 1024, 1100), Ok(()));
        let deep = b"*1\r\n".repeat(MAX_DEPTH);
        assert_eq!(scan(&[&deep, b":1\r\n"], 1024), Ok(()));
        let deeper = b"*1\r\n".repeat(MAX_DEPTH + 1);
        assert_eq!(scan(&[&deeper], 1024), Err("a reply nested too deep"));
        // Nesting that closed leaves room for more.
        assert_eq!(scan(&[&deep, b":1\r\n", &deep, b":1\r\n"], 1024), Ok(()));
    }
}
