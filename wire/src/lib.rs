//! The Minecraft wire layer of Meridian, shared by the proxy, the reference backend and the test
//! client.
//!
//! # Layout
//! - [`varint`]: the VarInt encoding.
//! - [`frame`]: the frame codec (length prefix, limits, compression that stays compressed when
//!   forwarded).
//! - [`io`]: the halves of a connection as a stream and a sink of frames, with buffers sized
//!   by the traffic.
//! - [`conn`]: connections whose protocol state is part of their type, over the frame codec.
//! - [`ids`]: the ids of the packets Meridian inspects, checked against azalea-protocol.
//! - [`forwarding`]: Velocity modern forwarding, signed and verified.
//!
//! Encryption (online mode) will be a stream adapter below the codec, so nothing above changes.

pub mod conn;
pub mod forwarding;
pub mod frame;
pub mod ids;
pub mod io;
pub mod varint;

pub use azalea_protocol;
pub use conn::{Conn, ConnError};
pub use frame::{FrameCodec, FrameError, RawFrame};

/// The protocol version Meridian speaks (Minecraft 26.1).
pub const PROTOCOL_VERSION: i32 = azalea_protocol::packets::PROTOCOL_VERSION;
/// The game version Meridian speaks.
pub const VERSION_NAME: &str = azalea_protocol::packets::VERSION_NAME;
