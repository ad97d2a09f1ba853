//! An interceptor that lets keyframe requests through to the application, and copies the
//! congestion controller's estimate out.
//!
//! `rtc`'s interceptor chain ends in a terminus that drops inbound RTCP unless an interceptor
//! marked it [`Attribute::DeliverToApplication`]; nothing in the default chain marks PLI or
//! FIR, so an SFU never sees a subscriber's keyframe request. This interceptor, placed
//! application-most, marks exactly those. On a subscribing endpoint it also reads GCC's
//! target off the feedback that changed it (see [`crate::bwe`]): one interceptor, not two,
//! because every packet sent passes through each one's queue.

use crate::bwe::Estimate;
use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use std::collections::VecDeque;
use std::time::Instant;

/// Its slot: after every built-in interceptor, before the terminus.
pub const KEYFRAME_REQUEST_SLOT: usize = 20_000;

/// Delivers inbound PLI and FIR to the application (see the module documentation).
#[derive(Default)]
pub struct KeyframeRequests {
    estimate: Option<Estimate>,
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl KeyframeRequests {
    /// Also writes GCC's target into `estimate`.
    pub(crate) fn reporting(estimate: Estimate) -> Self {
        Self {
            estimate: Some(estimate),
            ..Self::default()
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            if let Some(estimate) = &self.estimate {
                for attribute in &msg.message.attributes {
                    if let Attribute::TargetBitrateChanged { bits_per_second } = attribute {
                        estimate.set(*bits_per_second);
                    }
                }
            }
            if packets.iter().any(|p| {
                let any = p.as_any();
                any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
            }) {
                msg.message.attributes.push(Attribute::DeliverToApplication);
            }
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}
