//! Versioned, authenticated and encrypted cluster datagrams (codec only, no I/O).
//!
//! Layout of a datagram (all integers big-endian):
//!
//! ```text
//! magic "PL" | version u8 | cluster tag u64 | sender u16 | incarnation u64 | sequence u64
//! | ciphertext (postcard payload) | Poly1305 tag (16)
//! ```
//!
//! The header travels in clear text so that a receiver can name an incompatible
//! sender and tell a cross-cluster packet from a forged one, but it is
//! authenticated as associated data. The nonce is derived from (sender,
//! incarnation, sequence), which is unique per key as long as a node never
//! reuses an incarnation, so no nonce travels on the wire.

pub mod channel;
mod codec;
mod keyring;
mod message;
mod replay;
mod version;

pub use channel::{Channel, ChannelCounters, ChannelError, ChannelLimits, Frame};
pub use codec::{
    ClusterKey, Decoded, Decoder, DropReason, Encoder, HEADER_LEN, Header, KeyError, MAX_KEY_LEN,
    MIN_COMPATIBLE_VERSION, PROTOCOL_VERSION, WireCounters, cluster_tag,
};
pub use keyring::{KeyChange, KeyRing, KeyStatus, key_id};
pub use message::{
    Echo, Heartbeat, LegacyHeartbeat, Message, NodeId, ViewSummary, decode_payload, encode_payload,
};
pub use replay::ReplayWindow;
pub use version::{VersionRange, negotiate};
