//! The two halves of a connection as a stream of frames and a sink of frames, with buffers that
//! follow the traffic.
//!
//! A proxy's cost is mostly system calls: forwarding chunk data in 8 KiB reads and writes (what
//! a plain relay does) costs about as much again as the copies themselves. Knowing where frames
//! end, the proxy can move bulk traffic in larger pieces: [`FrameReader`] reads into a 128 KiB
//! buffer, asking for all the room it has, and [`FrameWriter`] queues up to [`WRITE_BOUNDARY`]
//! bytes before it must write. Game traffic between bursts is small, and a player idles most of
//! the time, so neither half keeps a buffer between uses at all: an empty buffer goes back to a
//! small pool of the thread's (see `pool` below), and the next reader or writer to need one
//! takes the one used last.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::{Buf, BytesMut};
use futures_util::{Sink, Stream};
use tokio::{
    io::AsyncWrite,
    net::tcp::{OwnedReadHalf, OwnedWriteHalf},
};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{FrameCodec, FrameError, RawFrame};

/// The least room a reader makes before it reads, when a frame's start is left at the end of
/// its buffer.
pub const MIN_READ: usize = 8 * 1024;
/// The most room a reader makes that way, reached after reads that filled all the room there
/// was (a frame larger than the buffer, a flood).
pub const MAX_READ: usize = 64 * 1024;
/// How much a writer queues before a new frame must wait for a write.
pub const WRITE_BOUNDARY: usize = 64 * 1024;
/// The size of every pooled buffer: the largest read, or a whole write-out (up to
/// [`WRITE_BOUNDARY`] and the frame that crossed it), fits without growing it. Bulk traffic
/// (chunk bursts) then never reallocates, and a read takes in as much as has arrived.
const POOLED: usize = 2 * MAX_READ;

/// Moves an empty buffer's start back to the start of its allocation, where it allocates
/// nothing.
///
/// Consuming a buffer moves its start forward, and `BytesMut` reuses the space behind it only
/// once the space ahead runs short: a buffer carrying one small packet per read or write would
/// otherwise walk through its whole allocation, touching a cold cache line every few packets,
/// where a relay reuses the first lines of its buffer every time. With a thousand sessions
/// those misses are a good part of the cost of a packet.
fn rewind(buf: &mut BytesMut) {
    debug_assert!(buf.is_empty());
    // Asking for one byte more than is left ahead succeeds only by reclaiming the space
    // behind; if there is none, nothing happens.
    let _ = buf.try_reclaim(buf.capacity() + 1);
}

/// Buffers between uses, shared by the readers and writers of one thread.
///
/// A connection's own buffer is cold by the time its next packet comes: a thousand other
/// sessions ran since, so the kernel's copy into it and the decoder's reads from it miss the
/// cache line by line, and so do the writer's encoding and the kernel's copy out of it. A
/// session reads, routes and writes a batch within one poll, so its buffers are empty again
/// before the next session runs: taken from here and given back, the buffer used last (still in
/// the cache) serves every session in turn. Idle connections hold no buffer at all.
mod pool {
    use std::cell::RefCell;

    use bytes::BytesMut;

    use super::{POOLED, rewind};

    /// Buffers kept: a session's batch needs one to read and one per peer it writes to.
    const KEPT: usize = 8;

    thread_local! {
        static FREE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty buffer of [`POOLED`] bytes: the one given back last, or a new one.
    pub(super) fn take() -> BytesMut {
        FREE.try_with(|free| free.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| BytesMut::with_capacity(POOLED))
    }

    #[cfg(test)]
    pub(super) fn len() -> usize {
        FREE.with_borrow(Vec::len)
    }

    /// Keeps `buf` for the next [`take`] if it is empty and, once rewound, as large as a
    /// pooled buffer is; frees it otherwise (grown for a frame larger than that, or still
    /// sharing its allocation with frames split off it).
    pub(super) fn give(mut buf: BytesMut) {
        if !buf.is_empty() || buf.capacity() > POOLED {
            return;
        }
        rewind(&mut buf);
        if buf.capacity() < POOLED {
            return;
        }
        // The thread's storage is gone while it exits: the buffer is freed then.
        let _ = FREE.try_with(|free| {
            let mut free = free.borrow_mut();
            if free.len() < KEPT {
                free.push(buf);
            }
        });
    }
}

/// The read half of a connection: raw frames.
#[derive(Debug)]
pub struct FrameReader {
    io: OwnedReadHalf,
    codec: FrameCodec,
    buf: BytesMut,
    /// How much room to make before a read when the buffer's room runs short (a frame's start
    /// left at its end), between [`MIN_READ`] and [`MAX_READ`]; a read asks for all the room
    /// there is.
    read_size: usize,
    /// The peer closed its side; what is buffered is decoded with `decode_eof`.
    eof: bool,
    /// An error or the end was returned: the stream is over.
    done: bool,
    /// Bytes arrived since the last [`FrameReader::take_heard`].
    heard: bool,
}

impl FrameReader {
    /// Reads frames from `io` with `codec`.
    pub fn new(io: OwnedReadHalf, codec: FrameCodec) -> Self {
        Self {
            io,
            codec,
            buf: BytesMut::new(),
            read_size: MIN_READ,
            eof: false,
            done: false,
            heard: false,
        }
    }

    /// Whether any bytes arrived since the last call: how a liveness check learns the peer
    /// spoke, without a store per batch in the reader's caller (the reader's own fields are
    /// written by every read anyway).
    pub fn take_heard(&mut self) -> bool {
        std::mem::take(&mut self.heard)
    }

    /// The codec.
    pub fn decoder(&self) -> &FrameCodec {
        &self.codec
    }

    /// The codec, to change its limits or compression between frames.
    pub fn decoder_mut(&mut self) -> &mut FrameCodec {
        &mut self.codec
    }

    /// The socket, e.g. to drain it before closing.
    pub fn get_mut(&mut self) -> &mut OwnedReadHalf {
        &mut self.io
    }

    /// Bytes read but not yet decoded (e.g. to hand them to another decoder).
    pub fn read_buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The socket, dropping anything buffered.
    pub fn into_inner(self) -> OwnedReadHalf {
        self.io
    }

    /// Makes room for the next read: a pooled buffer when nothing is left over from the last.
    fn prepare_read(&mut self) {
        if self.buf.capacity() == 0 {
            self.buf = pool::take();
        }
        if self.buf.capacity() - self.buf.len() < self.read_size / 2 {
            self.buf.reserve(self.read_size);
        }
    }

    /// Gives the buffer back to the pool while it holds nothing: between reads a connection
    /// needs none.
    fn release(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > 0 {
            pool::give(std::mem::take(&mut self.buf));
        }
    }

    /// Adapts the room to make to how much the last read found.
    fn after_read(&mut self, asked: usize, got: usize) {
        self.heard = true;
        if got == asked {
            self.read_size = (self.read_size * 2).min(MAX_READ);
        } else if got < self.read_size / 8 {
            self.read_size = (self.read_size / 2).max(MIN_READ);
        }
    }
}

impl Stream for FrameReader {
    type Item = Result<RawFrame, FrameError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let decoded = if this.eof {
                this.codec.decode_eof(&mut this.buf)
            } else {
                this.codec.decode(&mut this.buf)
            };
            match decoded {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) if this.eof => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            this.prepare_read();
            let asked = this.buf.capacity() - this.buf.len();
            let read = tokio_util::io::poll_read_buf(Pin::new(&mut this.io), cx, &mut this.buf);
            match read {
                Poll::Pending => {
                    this.release();
                    return Poll::Pending;
                }
                Poll::Ready(Ok(0)) => {
                    this.eof = true;
                    this.release();
                }
                Poll::Ready(Ok(n)) => this.after_read(asked, n),
                Poll::Ready(Err(e)) => {
                    this.done = true;
                    this.release();
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }
}

/// The write half of a connection: raw frames or packet bytes, queued until flushed.
#[derive(Debug)]
pub struct FrameWriter {
    io: OwnedWriteHalf,
    codec: FrameCodec,
    /// What is queued; a pooled buffer while there is any, none once it is written out.
    buf: BytesMut,
}

impl FrameWriter {
    /// Writes frames to `io` with `codec`.
    pub fn new(io: OwnedWriteHalf, codec: FrameCodec) -> Self {
        Self {
            io,
            codec,
            buf: BytesMut::new(),
        }
    }

    /// The codec, to change its compression between frames.
    pub fn encoder_mut(&mut self) -> &mut FrameCodec {
        &mut self.codec
    }

    /// Queues a frame or packet bytes without waiting, where an `.await` per frame would cost
    /// more than the frame: the caller writes the queue out (`flush`) once [`Self::is_full`]
    /// says so, before it queues more, which bounds the queue as `feed` does.
    pub fn queue<I>(&mut self, item: I) -> Result<(), FrameError>
    where
        FrameCodec: Encoder<I, Error = FrameError>,
    {
        if self.buf.capacity() == 0 {
            self.buf = pool::take();
        }
        self.codec.encode(item, &mut self.buf)
    }

    /// Whether the queue has reached the write boundary and must be written out before more
    /// is queued.
    pub fn is_full(&self) -> bool {
        self.buf.len() >= WRITE_BOUNDARY
    }

    /// The socket, e.g. to shut it down.
    pub fn get_mut(&mut self) -> &mut OwnedWriteHalf {
        &mut self.io
    }

    /// The socket, dropping anything queued.
    pub fn into_inner(self) -> OwnedWriteHalf {
        self.io
    }

    fn poll_write_all(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.buf.is_empty() {
            // One contiguous buffer: a plain `send`, which costs the kernel less than `writev`.
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.buf.advance(n);
        }
        if self.buf.capacity() > 0 {
            pool::give(std::mem::take(&mut self.buf));
        }
        Poll::Ready(Ok(()))
    }
}

impl<I> Sink<I> for FrameWriter
where
    FrameCodec: Encoder<I, Error = FrameError>,
{
    type Error = FrameError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), FrameError>> {
        let this = self.get_mut();
        if this.buf.len() >= WRITE_BOUNDARY {
            ready!(this.poll_write_all(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: I) -> Result<(), FrameError> {
        self.get_mut().queue(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), FrameError>> {
        let this = self.get_mut();
        ready!(this.poll_write_all(cx))?;
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), FrameError>> {
        let this = self.get_mut();
        ready!(this.poll_write_all(cx))?;
        ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{FutureExt, SinkExt, StreamExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    async fn pair() -> (FrameReader, FrameWriter) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, accepted) =
            tokio::join!(TcpStream::connect(listener.local_addr().unwrap()), async {
                listener.accept().await.unwrap().0
            });
        let (read, _) = accepted.into_split();
        let (_, write) = client.unwrap().into_split();
        (
            FrameReader::new(read, FrameCodec::new()),
            FrameWriter::new(write, FrameCodec::new()),
        )
    }

    /// Runs a test, failing it after 10 s rather than hanging.
    async fn within(test: impl std::future::Future<Output = ()>) {
        tokio::time::timeout(std::time::Duration::from_secs(10), test)
            .await
            .expect("the test took more than 10 s");
    }

    fn packet(i: usize, len: usize) -> Vec<u8> {
        let mut p = vec![(i % 100) as u8; len];
        p[0] = 0x10;
        p
    }

    /// A write-out of bulk traffic fits the pooled buffer it was queued in: the buffer never
    /// grows by reallocation, and it goes back to the pool, whole, for the next batch.
    #[tokio::test]
    async fn bulk_write_outs_never_grow_their_buffer() {
        within(async {
            // The reader stays open (unread: the 65 KB fit in the sockets' buffers).
            let (_reader, mut writer) = pair().await;
            writer.queue(&packet(0, 1000)[..]).unwrap();
            let start = writer.buf.as_ptr();
            for i in 1..WRITE_BOUNDARY.div_ceil(1000) {
                writer.queue(&packet(i, 1000)[..]).unwrap();
            }
            assert!(writer.is_full());
            assert_eq!(writer.buf.capacity(), POOLED);
            assert_eq!(writer.buf.as_ptr(), start, "the buffer was reallocated");
            SinkExt::<&[u8]>::flush(&mut writer).await.unwrap();
            assert_eq!(writer.buf.capacity(), 0, "the write-out gives it back");
            writer.queue(&packet(0, 1000)[..]).unwrap();
            assert_eq!(
                writer.buf.as_ptr(),
                start,
                "the next batch starts in the same buffer"
            );
        })
        .await;
    }

    /// Whether `reader` has nothing to read now (polled once, as a session does before it
    /// sleeps).
    fn nothing_to_read(reader: &mut FrameReader) -> bool {
        reader.next().now_or_never().is_none()
    }

    /// A burst far larger than any buffer arrives whole and in order, the read size grows for
    /// it and shrinks again with small traffic, and neither half holds a buffer once idle.
    #[tokio::test]
    async fn a_burst_grows_the_buffers_and_idle_halves_hold_none() {
        within(async {
            let (mut reader, mut writer) = pair().await;
            let sizes: Vec<usize> = (0..400).map(|i| 1 + (i * 7919) % 9000).collect();
            let sending = sizes.clone();
            let send = tokio::spawn(async move {
                let mut largest = 0;
                for (i, &len) in sending.iter().enumerate() {
                    writer.feed(&packet(i, len)[..]).await.unwrap();
                    largest = largest.max(writer.buf.capacity());
                }
                assert!(
                    largest >= WRITE_BOUNDARY,
                    "the burst was queued in large writes"
                );
                SinkExt::<&[u8]>::flush(&mut writer).await.unwrap();
                writer.send(&packet(0, 10)[..]).await.unwrap();
                assert_eq!(
                    writer.buf.capacity(),
                    0,
                    "after a small write-out the writer holds no buffer"
                );
                writer
            });
            let mut grew = false;
            for (i, &len) in sizes.iter().enumerate() {
                let frame = reader.next().await.unwrap().unwrap();
                assert_eq!(frame.into_packet().unwrap().to_vec(), packet(i, len));
                grew |= reader.read_size > MIN_READ;
            }
            assert!(grew, "reads that fill the buffer make the next ones larger");
            let mut writer = send.await.unwrap();
            reader.next().await.unwrap().unwrap();
            for _ in 0..8 {
                writer.send(&packet(1, 10)[..]).await.unwrap();
                reader.next().await.unwrap().unwrap();
            }
            assert_eq!(reader.read_size, MIN_READ);
            assert!(nothing_to_read(&mut reader));
            assert_eq!(reader.buf.capacity(), 0, "an idle reader holds no buffer");
        })
        .await;
    }

    /// One small packet at a time, from connection to connection, reads and writes go through
    /// the same few pooled buffers, from their start, rather than through fresh memory.
    #[tokio::test]
    async fn small_traffic_reuses_the_start_of_the_pooled_buffers() {
        within(async {
            let mut pairs = Vec::new();
            for _ in 0..3 {
                pairs.push(pair().await);
            }
            let mut used = Vec::new();
            for i in 0..300 {
                let (reader, writer) = &mut pairs[i % 3];
                writer.queue(&packet(i, 30)[..]).unwrap();
                used.push(writer.buf.as_ptr() as usize);
                SinkExt::<&[u8]>::flush(writer).await.unwrap();
                reader.next().await.unwrap().unwrap();
                // Where the frame (a length byte and 30 bytes) began.
                used.push(reader.buf.as_ptr() as usize - 31);
                assert!(nothing_to_read(reader));
            }
            used.sort_unstable();
            used.dedup();
            assert_eq!(
                used.len(),
                1,
                "reads and writes moved through memory: {used:x?}"
            );
        })
        .await;
    }

    /// The pool hands out the buffer it got last, from its start and whole.
    #[test]
    fn the_pool_hands_out_the_buffer_given_back_last() {
        let mut buf = pool::take();
        let start = buf.as_ptr();
        buf.extend_from_slice(&[1; 100]);
        buf.advance(100);
        pool::give(buf);
        let again = pool::take();
        assert_eq!(again.as_ptr(), start);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), POOLED);
        // Grown, still shared with a frame split off it, or not empty: not pooled.
        let pooled = pool::len();
        pool::give(BytesMut::with_capacity(POOLED + 1));
        let mut shared = pool::take();
        shared.extend_from_slice(&[2; 100]);
        let frame = shared.split_to(100).freeze();
        pool::give(shared);
        let mut full = BytesMut::with_capacity(POOLED);
        full.extend_from_slice(b"left");
        pool::give(full);
        assert_eq!(pool::len(), pooled);
        drop(frame);
    }

    /// `queue` takes frames without waiting and says when the boundary is reached; a flush
    /// then writes everything, in order, and the queue is empty again.
    #[tokio::test]
    async fn queued_frames_wait_for_the_flush() {
        within(async {
            let (mut reader, mut writer) = pair().await;
            let len = 1000;
            let mut queued = 0;
            while !writer.is_full() {
                writer.queue(&packet(queued, len)[..]).unwrap();
                queued += 1;
            }
            assert_eq!(queued, WRITE_BOUNDARY.div_ceil(len + 2));
            SinkExt::<&[u8]>::flush(&mut writer).await.unwrap();
            assert!(!writer.is_full());
            for i in 0..queued {
                let frame = reader.next().await.unwrap().unwrap();
                assert_eq!(frame.into_packet().unwrap().to_vec(), packet(i, len));
            }
        })
        .await;
    }

    /// `take_heard` says whether bytes arrived since it was last asked, once.
    #[tokio::test]
    async fn heard_says_whether_bytes_arrived_since_last_asked() {
        within(async {
            let (mut reader, mut writer) = pair().await;
            assert!(!reader.take_heard(), "nothing arrived yet");
            writer.send(&packet(0, 5)[..]).await.unwrap();
            reader.next().await.unwrap().unwrap();
            assert!(reader.take_heard());
            assert!(!reader.take_heard(), "asked twice for one read");
        })
        .await;
    }

    /// The peer closing ends the stream; closing in the middle of a frame is an error, once.
    #[tokio::test]
    async fn the_end_of_the_stream() {
        within(async {
            let (mut reader, mut writer) = pair().await;
            writer.send(&packet(0, 5)[..]).await.unwrap();
            drop(writer);
            assert!(reader.next().await.unwrap().is_ok());
            assert!(reader.next().await.is_none());
            assert!(reader.next().await.is_none());

            let (mut reader, mut writer) = pair().await;
            use tokio::io::AsyncWriteExt;
            writer.get_mut().write_all(&[10, 0x10, 1]).await.unwrap();
            drop(writer);
            assert!(matches!(reader.next().await, Some(Err(FrameError::Closed))));
            assert!(reader.next().await.is_none());
        })
        .await;
    }
}
