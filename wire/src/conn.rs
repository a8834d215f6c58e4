//! Connections whose protocol state is part of their type.
//!
//! `Conn<R, W>` reads packets of enum `R` and writes packets of enum `W`; the state changes
//! (`login()`, `config()`, `game()`, …) consume the connection, so code cannot read a login packet
//! from a connection that has moved on to the configuration phase. Both halves use
//! [`FrameCodec`], so limits and compression are the same everywhere. Once in play, a proxy
//! takes the two raw halves with [`Conn::into_split`] and forwards frames without decoding them.

use std::{fmt, io::Cursor, marker::PhantomData, net::SocketAddr};

use azalea_protocol::{
    packets::{
        Packet, ProtocolPacket,
        config::{ClientboundConfigPacket, ServerboundConfigPacket},
        game::{ClientboundGamePacket, ServerboundGamePacket},
        handshake::{ClientboundHandshakePacket, ServerboundHandshakePacket},
        login::{ClientboundLoginPacket, ServerboundLoginPacket},
        status::{ClientboundStatusPacket, ServerboundStatusPacket},
    },
    read::{ReadPacketError, deserialize_packet},
    write::serialize_packet,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;

use crate::frame::{FrameCodec, FrameError, RawFrame};
pub use crate::io::{FrameReader, FrameWriter};

/// Why a packet could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("undecodable packet: {0}")]
    Decode(#[source] Box<ReadPacketError>),
    #[error("unencodable packet: {0}")]
    Encode(String),
    #[error("connection closed")]
    Closed,
}

impl ConnError {
    /// Whether the peer simply went away (as opposed to sending something wrong).
    pub fn is_closed(&self) -> bool {
        match self {
            ConnError::Closed | ConnError::Frame(FrameError::Closed) => true,
            ConnError::Frame(FrameError::Io(e)) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

/// Serializes a typed packet into packet bytes (id then fields).
pub fn encode_packet<P: ProtocolPacket + fmt::Debug>(packet: &P) -> Result<Box<[u8]>, ConnError> {
    serialize_packet(packet).map_err(|e| ConnError::Encode(e.to_string()))
}

/// Deserializes packet bytes (id then fields) as one packet of enum `P`.
pub fn decode_packet<P: ProtocolPacket + fmt::Debug>(packet: &[u8]) -> Result<P, ConnError> {
    deserialize_packet(&mut Cursor::new(packet)).map_err(ConnError::Decode)
}

/// Reads the next raw frame, mapping the end of the stream to [`ConnError::Closed`].
pub async fn next_frame(reader: &mut FrameReader) -> Result<RawFrame, ConnError> {
    match reader.next().await {
        Some(Ok(frame)) => Ok(frame),
        Some(Err(e)) => Err(e.into()),
        None => Err(ConnError::Closed),
    }
}

/// Closes a connection so that what was written last (a disconnect message) reaches the peer.
///
/// Dropping a socket whose receive buffer still holds unread bytes makes the kernel send a reset,
/// and a reset can destroy data the peer has not read yet: the peer would see "connection reset"
/// instead of our kick message. So: flush, send FIN, then read and discard until the peer closes
/// too, or `linger` runs out.
pub async fn close_gracefully(
    reader: &mut FrameReader,
    writer: &mut FrameWriter,
    linger: std::time::Duration,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tokio::time::timeout(linger, async {
        let _ = SinkExt::<&[u8]>::flush(writer).await;
        let _ = writer.get_mut().shutdown().await;
        let mut sink = [0u8; 4096];
        while let Ok(n) = reader.get_mut().read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// A connection that reads `R` packets and writes `W` packets.
pub struct Conn<R, W> {
    reader: FrameReader,
    writer: FrameWriter,
    peer: SocketAddr,
    _state: PhantomData<fn() -> (R, W)>,
}

impl<R, W> fmt::Debug for Conn<R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.peer)
            .field("state", &std::any::type_name::<R>())
            .finish()
    }
}

impl<R: ProtocolPacket + fmt::Debug, W: ProtocolPacket + fmt::Debug> Conn<R, W> {
    /// Reads one packet.
    pub async fn read(&mut self) -> Result<R, ConnError> {
        let frame = next_frame(&mut self.reader).await?;
        decode_packet(&frame.into_packet()?)
    }

    /// Reads one raw frame, for packets the typed enum cannot or need not decode.
    pub async fn read_raw(&mut self) -> Result<RawFrame, ConnError> {
        next_frame(&mut self.reader).await
    }

    /// Writes one packet and flushes.
    pub async fn write(&mut self, packet: impl Packet<W>) -> Result<(), ConnError> {
        let bytes = encode_packet(&packet.into_variant())?;
        self.writer.send(&bytes[..]).await?;
        Ok(())
    }

    /// Queues one packet without flushing; [`Conn::flush`] sends what is queued.
    pub async fn feed(&mut self, packet: impl Packet<W>) -> Result<(), ConnError> {
        let bytes = encode_packet(&packet.into_variant())?;
        self.writer.feed(&bytes[..]).await?;
        Ok(())
    }

    /// Writes packet bytes (id then fields) and flushes.
    pub async fn write_raw(&mut self, packet: &[u8]) -> Result<(), ConnError> {
        self.writer.send(packet).await?;
        Ok(())
    }

    /// Queues packet bytes without flushing.
    pub async fn feed_raw(&mut self, packet: &[u8]) -> Result<(), ConnError> {
        self.writer.feed(packet).await?;
        Ok(())
    }

    /// Sends everything queued.
    pub async fn flush(&mut self) -> Result<(), ConnError> {
        SinkExt::<&[u8]>::flush(&mut self.writer).await?;
        Ok(())
    }
}

impl<R, W> Conn<R, W> {
    /// Wraps a TCP stream in the handshake state (or any state, via the type parameters).
    pub fn wrap(stream: TcpStream) -> std::io::Result<Self> {
        let peer = stream.peer_addr()?;
        // Game traffic is many small packets; Nagle would add up to 40 ms per exchange.
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        Ok(Self {
            reader: FrameReader::new(read, FrameCodec::new()),
            writer: FrameWriter::new(write, FrameCodec::new()),
            peer,
            _state: PhantomData,
        })
    }

    /// The remote address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Enables compression in both directions (after a `login_compression` packet).
    pub fn set_compression(&mut self, threshold: Option<u32>) {
        self.reader.decoder_mut().set_compression(threshold);
        self.writer.encoder_mut().set_compression(threshold);
    }

    /// Sets the largest frame accepted from the peer.
    pub fn set_max_frame_len(&mut self, max: usize) {
        self.reader.decoder_mut().set_max_frame_len(max);
    }

    /// Closes gracefully; see [`close_gracefully`].
    pub async fn close(self, linger: std::time::Duration) {
        let (mut reader, mut writer) = self.into_split();
        close_gracefully(&mut reader, &mut writer, linger).await;
    }

    /// The two raw halves, for forwarding frames in play.
    pub fn into_split(self) -> (FrameReader, FrameWriter) {
        (self.reader, self.writer)
    }

    fn transition<R2, W2>(self) -> Conn<R2, W2> {
        Conn {
            reader: self.reader,
            writer: self.writer,
            peer: self.peer,
            _state: PhantomData,
        }
    }
}

/// The server's view of a new connection.
pub type ServerHandshake = Conn<ServerboundHandshakePacket, ClientboundHandshakePacket>;
/// The server's view of a status exchange.
pub type ServerStatus = Conn<ServerboundStatusPacket, ClientboundStatusPacket>;
/// The server's view of a login.
pub type ServerLogin = Conn<ServerboundLoginPacket, ClientboundLoginPacket>;
/// The server's view of the configuration phase.
pub type ServerConfig = Conn<ServerboundConfigPacket, ClientboundConfigPacket>;
/// The server's view of play.
pub type ServerGame = Conn<ServerboundGamePacket, ClientboundGamePacket>;
/// The client's view of a new connection.
pub type ClientHandshake = Conn<ClientboundHandshakePacket, ServerboundHandshakePacket>;
/// The client's view of a status exchange.
pub type ClientStatus = Conn<ClientboundStatusPacket, ServerboundStatusPacket>;
/// The client's view of a login.
pub type ClientLogin = Conn<ClientboundLoginPacket, ServerboundLoginPacket>;
/// The client's view of the configuration phase.
pub type ClientConfig = Conn<ClientboundConfigPacket, ServerboundConfigPacket>;
/// The client's view of play.
pub type ClientGame = Conn<ClientboundGamePacket, ServerboundGamePacket>;

impl ServerHandshake {
    /// The client asked for status.
    pub fn status(self) -> ServerStatus {
        self.transition()
    }
    /// The client asked to log in.
    pub fn login(self) -> ServerLogin {
        self.transition()
    }
}

impl ServerLogin {
    /// The client acknowledged the login.
    pub fn config(self) -> ServerConfig {
        self.transition()
    }
}

impl ServerConfig {
    /// The client finished configuration.
    pub fn game(self) -> ServerGame {
        self.transition()
    }
}

impl ServerGame {
    /// The client acknowledged a `start_configuration`.
    pub fn config(self) -> ServerConfig {
        self.transition()
    }
}

impl ClientHandshake {
    /// Connects to `addr` in the handshake state.
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        Self::wrap(TcpStream::connect(addr).await?)
    }
    /// After sending an intention of status.
    pub fn status(self) -> ClientStatus {
        self.transition()
    }
    /// After sending an intention of login.
    pub fn login(self) -> ClientLogin {
        self.transition()
    }
}

impl ClientLogin {
    /// After sending `login_acknowledged`.
    pub fn config(self) -> ClientConfig {
        self.transition()
    }
}

impl ClientConfig {
    /// After acknowledging `finish_configuration`.
    pub fn game(self) -> ClientGame {
        self.transition()
    }
}

impl ClientGame {
    /// After acknowledging `start_configuration`.
    pub fn config(self) -> ClientConfig {
        self.transition()
    }
}
