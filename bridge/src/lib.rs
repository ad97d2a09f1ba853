//! The media bridge (SFU) of group calls.
//!
//! Under XEP-0521 every Jingle session is its own peer connection: each participant has one
//! *publishing* endpoint (it offers its audio and video, the bridge answers recvonly) and one
//! *subscribing* endpoint per other participant (the bridge offers that publisher's media,
//! sendonly). The conference focus decides who gets what and drives the bridge with
//! [`Command`]s; the bridge reports [`Event`]s back.
//!
//! The core, [`Bridge`], is sans-IO in the style of str0m: datagrams and time go in
//! ([`Bridge::handle_command`], [`Bridge::handle_datagram`], [`Bridge::handle_timeout`]),
//! datagrams, events and the next deadline come out ([`Bridge::poll_transmit`],
//! [`Bridge::poll_event`], [`Bridge::poll_timeout`]). Each endpoint is a webrtc-rs `rtc`
//! peer connection (ICE-lite, DTLS-SRTP, the NACK/TWCC/report interceptors); the bridge adds
//! what an SFU needs on top: one UDP port demultiplexed by ICE ufrag and remote address, RTP
//! forwarding with SSRC/sequence/timestamp rewriting, keyframe-request relay, simulcast layer
//! choice (by tile size and by each subscriber's bandwidth estimate) and the dominant speaker. [`BridgeHandle`] runs the core on its own OS thread with
//! one UDP socket.

mod api;
mod bwe;
mod core;
mod demux;
mod driver;
mod endpoint;
mod forward;
mod media;
mod speaker;
mod tap;

pub use api::{
    BridgeStats, CloseReason, Command, EndpointId, Event, Limits, ParticipantId, RefuseError,
    RoomId,
};
pub use core::{Bridge, BridgeSetup, Transmit};
pub use driver::{BridgeConfig, BridgeHandle};

pub use speaker::{SpeakerConfig, SpeakerDetector};
pub use tap::{KEYFRAME_REQUEST_SLOT, KeyframeRequests};
