//! The floor: a plain TCP relay with tokio's `copy_bidirectional`, run as its own process
//! (`meridian-bench relay`) so that its CPU time and memory are measured like the proxy's.
//!
//! Two more relays (`--framing`) measure what knowing packet boundaries costs by itself, with
//! no routing and no session: `compare --relays` runs them beside the plain one, so the gap
//! between the plain relay and the proxy splits into framing and the rest. Both forward every
//! frame, only following the login's `set_compression` to read compressed frames.

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicI32, Ordering},
    },
    task::Poll,
    time::Duration,
};

use futures_util::{SinkExt, Stream};
use meridian_wire::{
    FrameCodec,
    conn::{FrameReader, FrameWriter},
    frame::MAX_FRAME_LEN,
    varint::{VarIntError, read_varint},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
};

/// How a relay treats the bytes it forwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Framing {
    /// As bytes: tokio's `copy_bidirectional` (the floor).
    #[default]
    None,
    /// As frames, by meridian-wire's reader and writer (what the proxy reads and writes with):
    /// each frame decoded, its packet id read (a compressed packet's head inflated), and
    /// queued on the other side's writer; a task per direction.
    Frames,
    /// Each frame found in the read buffer and its packet id read, then the buffer's whole
    /// frames written out as they were read: the least a proxy that routes by packet id can
    /// do per packet. A task per direction.
    Scan,
}

impl Framing {
    /// The value of `relay --framing` that asks for it.
    pub fn arg(self) -> &'static str {
        match self {
            Framing::None => "none",
            Framing::Frames => "frames",
            Framing::Scan => "scan",
        }
    }

    /// The relay's name in a report: `relay`, `relay-frames`, `relay-scan`.
    pub fn path_name(self) -> &'static str {
        match self {
            Framing::None => "relay",
            Framing::Frames => "relay-frames",
            Framing::Scan => "relay-scan",
        }
    }
}

/// The runtime a relay runs on. The plain relay: tokio's default (multi-threaded, one worker
/// per allowed CPU), as the issue defines the floor. The framing relays stand for the proxy
/// without its session, so they run on `meridian run`'s ([`meridian::runtime`]). Otherwise the
/// split of the proxy's cost would charge framing with the difference between the runtimes
/// (1–4 % in docs/performance.md item 8).
pub fn runtime(framing: Framing, cpus: usize) -> std::io::Result<tokio::runtime::Runtime> {
    match framing {
        Framing::None => tokio::runtime::Runtime::new(),
        Framing::Frames | Framing::Scan => meridian::runtime(cpus),
    }
}

/// Login packet ids (clientbound) a framing relay watches for until the login ends.
const LOGIN_FINISHED: i32 = 0x02;
const SET_COMPRESSION: i32 = 0x03;

/// Relays every connection on `listen` to `to` until `max` has passed, then returns: the relay
/// stops by itself even if the bench that started it died.
pub async fn run(
    listen: SocketAddr,
    to: SocketAddr,
    max: Duration,
    framing: Framing,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let serve = async {
        loop {
            let (client, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of descriptors, most likely: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            tokio::spawn(async move {
                let Ok(backend) = TcpStream::connect(to).await else {
                    return;
                };
                // The proxy sets TCP_NODELAY on both sides; so does the floor.
                let _ = client.set_nodelay(true);
                let _ = backend.set_nodelay(true);
                relay(client, backend, framing).await;
            });
        }
    };
    tokio::select! {
        () = serve => Ok(()),
        () = tokio::time::sleep(max) => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

async fn relay(mut client: TcpStream, mut backend: TcpStream, framing: Framing) {
    if framing == Framing::None {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
        return;
    }
    let (client_rx, client_tx) = client.into_split();
    let (backend_rx, backend_tx) = backend.into_split();
    let compression = Arc::new(Compression::default());
    let up = compression.clone();
    if framing == Framing::Frames {
        tokio::spawn(frames(client_rx, backend_tx, up, Side::Up));
        frames(backend_rx, client_tx, compression, Side::Down).await;
    } else {
        tokio::spawn(scan(client_rx, backend_tx, up, Side::Up));
        scan(backend_rx, client_tx, compression, Side::Down).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Client to backend: compresses once the backend said so.
    Up,
    /// Backend to client: reads the login to learn the threshold.
    Down,
}

/// The login's compression threshold, as the backend→client task saw it; −1 until then.
///
/// The client compresses only after it has read `set_compression`, which the down task
/// forwards only after storing the threshold here, so the up task finds it set before the
/// first compressed frame arrives.
#[derive(Debug)]
struct Compression(AtomicI32);

impl Default for Compression {
    fn default() -> Self {
        Self(AtomicI32::new(-1))
    }
}

impl Compression {
    fn set(&self, threshold: i32) {
        self.0.store(threshold, Ordering::Release);
    }

    fn get(&self) -> Option<u32> {
        u32::try_from(self.0.load(Ordering::Acquire)).ok()
    }
}

/// What a down task learns from a login frame: `Some(threshold)` at `set_compression`. Either
/// that or `login_finished` ends the watch (`login`): nothing after them changes compression.
fn login_frame(id: i32, packet: &[u8], login: &mut bool) -> Option<i32> {
    match id {
        SET_COMPRESSION => {
            let (threshold, _) = read_varint(packet.get(1..)?).ok()?;
            *login = false;
            Some(threshold)
        }
        LOGIN_FINISHED => {
            *login = false;
            None
        }
        _ => None,
    }
}

/// `Framing::Frames`: frames through meridian-wire's reader and writer, written out once
/// everything that had arrived is queued.
async fn frames(rx: OwnedReadHalf, tx: OwnedWriteHalf, compression: Arc<Compression>, side: Side) {
    let mut rx = FrameReader::new(rx, FrameCodec::new());
    let mut tx = FrameWriter::new(tx, FrameCodec::new());
    let mut login = side == Side::Down;
    loop {
        let queued = std::future::poll_fn(|cx| {
            let mut queued = false;
            loop {
                if side == Side::Up
                    && rx.decoder().compression().is_none()
                    && let Some(threshold) = compression.get()
                {
                    rx.decoder_mut().set_compression(Some(threshold));
                    tx.encoder_mut().set_compression(Some(threshold));
                }
                let frame = match Pin::new(&mut rx).poll_next(cx) {
                    Poll::Ready(Some(Ok(frame))) => frame,
                    Poll::Ready(_) => return Poll::Ready(None),
                    Poll::Pending if queued => return Poll::Ready(Some(())),
                    Poll::Pending => return Poll::Pending,
                };
                let threshold = if login {
                    match frame.packet() {
                        Ok(packet) => login_frame(frame.id(), &packet, &mut login),
                        Err(_) => return Poll::Ready(None),
                    }
                } else {
                    None
                };
                if tx.queue(frame).is_err() {
                    return Poll::Ready(None);
                }
                queued = true;
                if let Some(threshold) = threshold {
                    // The frame itself went out uncompressed; everything after it is not.
                    let threshold_now = u32::try_from(threshold).ok();
                    rx.decoder_mut().set_compression(threshold_now);
                    tx.encoder_mut().set_compression(threshold_now);
                    compression.set(threshold);
                }
                if tx.is_full() {
                    return Poll::Ready(Some(()));
                }
            }
        })
        .await;
        if queued.is_none() || SinkExt::<&[u8]>::flush(&mut tx).await.is_err() {
            return;
        }
    }
}

/// `Framing::Scan`: reads into a buffer of the connection's own (as `copy_bidirectional`
/// does), finds each whole frame and its packet id, and writes the whole frames out from
/// that buffer.
async fn scan(
    mut rx: OwnedReadHalf,
    mut tx: OwnedWriteHalf,
    compression: Arc<Compression>,
    side: Side,
) {
    let mut codec = FrameCodec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut filled = 0;
    let mut login = side == Side::Down;
    loop {
        let n = match rx.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        if side == Side::Up && codec.compression().is_none() {
            codec.set_compression(compression.get());
        }
        let mut end = 0;
        while end < filled {
            let (len, prefix) = match read_varint(&buf[end..filled]) {
                Ok(length) => length,
                Err(VarIntError::Incomplete) => break,
                Err(_) => return,
            };
            // A frame the proxy would refuse ends the connection here too, before the buffer
            // grows for it.
            let Some(len) = usize::try_from(len).ok().filter(|&l| l <= MAX_FRAME_LEN) else {
                return;
            };
            let stop = end + prefix + len;
            if stop > filled {
                break;
            }
            let frame = &buf[end + prefix..stop];
            let Ok(id) = codec.packet_id(frame) else {
                return;
            };
            if login && let Some(threshold) = login_frame(id, frame, &mut login) {
                // Written out before the codec reads what follows as compressed.
                if tx.write_all(&buf[..stop]).await.is_err() {
                    return;
                }
                buf.copy_within(stop..filled, 0);
                filled -= stop;
                end = 0;
                codec.set_compression(u32::try_from(threshold).ok());
                compression.set(threshold);
                continue;
            }
            end = stop;
        }
        if end > 0 {
            if tx.write_all(&buf[..end]).await.is_err() {
                return;
            }
            buf.copy_within(end..filled, 0);
            filled -= end;
        }
        if filled == buf.len() {
            // A frame larger than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn framing_relays_run_on_the_proxys_runtime() {
        use tokio::runtime::RuntimeFlavor::{CurrentThread, MultiThread};
        let flavor = |framing, cpus| {
            runtime(framing, cpus)
                .expect("a runtime")
                .handle()
                .runtime_flavor()
        };
        assert_eq!(flavor(Framing::None, 1), MultiThread);
        assert_eq!(flavor(Framing::Frames, 1), CurrentThread);
        assert_eq!(flavor(Framing::Scan, 1), CurrentThread);
        assert_eq!(flavor(Framing::Scan, 2), MultiThread);
    }

    #[test]
    fn framing_args_are_the_ones_clap_parses() {
        for framing in Framing::value_variants() {
            let value = framing.to_possible_value().expect("no variant is hidden");
            assert_eq!(value.get_name(), framing.arg());
        }
    }

    #[test]
    fn login_frames_give_the_threshold_and_the_end() {
        let mut login = true;
        // set_compression 256: id, then the threshold as a VarInt.
        assert_eq!(
            login_frame(SET_COMPRESSION, &[0x03, 0x80, 0x02], &mut login),
            Some(256)
        );
        assert!(!login, "compression is set once");
        login = true;
        assert_eq!(
            login_frame(SET_COMPRESSION, &[0x03], &mut login),
            None,
            "truncated"
        );
        assert_eq!(login_frame(0x04, &[0x04, 1], &mut login), None);
        assert!(login);
        assert_eq!(login_frame(LOGIN_FINISHED, &[0x02], &mut login), None);
        assert!(!login, "the login ends at login_finished");
    }
}
