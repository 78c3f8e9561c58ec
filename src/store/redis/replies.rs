//! [`BoundedReplies`]: the byte stream under a Redis connection, with what Redis sends
//! checked as it arrives. The client library waits for a whole value before it hands it
//! over, buffering what a reply declares; a Redis that is not ours (or a man in the middle
//! of a plain `redis://` connection) could declare a gigabyte. Here every reply is read
//! by a small RESP scanner that allocates nothing: a string longer than the limit, an
//! aggregate of more than [`MAX_ELEMENTS`], or bytes that are not RESP fail the read, and
//! the connection with it, before the library buffers them.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most elements one aggregate (array, map, set, push) may declare. The stores read
/// strings and integers only.
pub(super) const MAX_ELEMENTS: u64 = 1024;

/// Where the scanner is within the reply stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the type byte of the next value.
    Type,
    /// Inside a line value (`+`, `-`, `:`, …), `usize` bytes into it.
    Line(u64),
    /// Reading the length of a string (`$`, `!`, `=`) or aggregate.
    Length {
        string: bool,
        value: u64,
        negative: bool,
    },
    /// After the length's `\r`.
    LengthEnd {
        string: bool,
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
}

impl Scanner {
    pub(super) fn new(max_bytes: u64) -> Self {
        Self {
            state: State::Type,
            max_bytes,
        }
    }

    /// Scans the next bytes of the stream.
    pub(super) fn scan(&mut self, mut bytes: &[u8]) -> Result<(), &'static str> {
        while let Some((&byte, rest)) = bytes.split_first() {
            if let State::Skip(left) = self.state {
                let taken = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                bytes = &bytes[taken..];
                let left = left - taken as u64;
                self.state = if left == 0 {
                    State::Type
                } else {
                    State::Skip(left)
                };
                continue;
            }
            bytes = rest;
            self.state = match self.state {
                State::Type => match byte {
                    b'$' | b'!' | b'=' => State::Length {
                        string: true,
                        value: 0,
                        negative: false,
                    },
                    b'*' | b'%' | b'~' | b'>' | b'|' => State::Length {
                        string: false,
                        value: 0,
                        negative: false,
                    },
                    b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => State::Line(0),
                    _ => return Err("a reply that is not RESP"),
                },
                State::Line(_) if byte == b'\n' => State::Type,
                State::Line(length) if length >= self.max_bytes => {
                    return Err("a reply line over the size limit");
                }
                State::Line(length) => State::Line(length + 1),
                State::Length {
                    string,
                    value,
                    negative,
                } => match byte {
                    b'0'..=b'9' => {
                        let value = value * 10 + u64::from(byte - b'0');
                        let limit = if string { self.max_bytes } else { MAX_ELEMENTS };
                        if value > limit && !negative {
                            return Err(if string {
                                "a value over the size limit"
                            } else {
                                "an aggregate over the element limit"
                            });
                        }
                        State::Length {
                            string,
                            value: value.min(limit + 1),
                            negative,
                        }
                    }
                    b'-' if value == 0 && !negative => State::Length {
                        string,
                        value,
                        negative: true,
                    },
                    b'\r' => State::LengthEnd {
                        string,
                        value,
                        negative,
                    },
                    _ => return Err("a reply length that is not a number"),
                },
                State::LengthEnd {
                    string,
                    value,
                    negative,
                } => {
                    if byte != b'\n' {
                        return Err("a reply length without its line end");
                    }
                    if string && !negative {
                        State::Skip(value + 2)
                    } else {
                        State::Type
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
    /// `inner`, with strings of at most `max_bytes`.
    pub(super) fn new(inner: T, max_bytes: u64) -> Self {
        Self {
            inner,
            scanner: Scanner::new(max_bytes),
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
        let mut scanner = Scanner::new(max);
        for chunk in chunks {
            scanner.scan(chunk)?;
        }
        Ok(())
    }

    #[test]
    fn replies_within_the_limits_pass_in_any_split() {
        let stream: &[u8] =
            b"+OK\r\n$5\r\nhello\r\n$-1\r\n:42\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n_\r\n-ERR no\r\n";
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
}
