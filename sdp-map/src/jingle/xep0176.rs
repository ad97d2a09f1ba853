//! XEP-0176: Jingle ICE-UDP Transport Method — `<transport ufrag pwd>` with
//! `<candidate/>`s, plus XEP-0371's `<gathering-complete/>` for
//! `a=end-of-candidates` (as StanzaJS does). The DTLS `<fingerprint>` (XEP-0320)
//! and `<sctpmap>` (XEP-0343) live inside the transport too.
//!
//! Quirks: `ip` may hold an mDNS host name (`<uuid>.local`); `network`,
//! `generation` and `id` are optional on input and written only when known.
//! `network-cost` and `ufrag` (SDP candidate extensions) are written as extra
//! attributes so that trickled candidates survive a round trip.

use super::{
    opt_num, opt_token, req_num, req_token, xep0320, xep0343, Element, JingleError, Writer,
    NS_DTLS, NS_DTLS_SCTP, NS_ICE_UDP,
};
use crate::model::{Candidate, Content, SdpType};

/// Writes the transport; `full` adds the fingerprints and `<sctpmap>`.
pub fn write(w: &mut Writer, c: &Content, full: bool) {
    w.start("transport", NS_ICE_UDP);
    if let Some(u) = &c.ice.ufrag {
        w.attr("ufrag", u);
    }
    if let Some(p) = &c.ice.pwd {
        w.attr("pwd", p);
    }
    if full {
        for f in &c.dtls.fingerprints {
            xep0320::write(w, f, c.dtls.setup.as_deref());
        }
        xep0343::write(w, c);
    }
    for cand in &c.ice.candidates {
        write_candidate(w, cand);
    }
    if c.ice.end_of_candidates {
        w.empty("gathering-complete", NS_ICE_UDP);
    }
    w.end();
}

/// Writes the transport of a rejected content: no ICE credentials, fingerprints or
/// candidates (a rejected m-line has no transport), only the data channel's `<sctpmap>`.
pub fn write_rejected(w: &mut Writer, c: &Content) {
    w.start("transport", NS_ICE_UDP);
    xep0343::write(w, c);
    w.end();
}

/// Writes one `<candidate/>`.
pub fn write_candidate(w: &mut Writer, c: &Candidate) {
    w.start("candidate", NS_ICE_UDP);
    w.attr_num("component", c.component);
    w.attr("foundation", &c.foundation);
    if let Some(g) = c.generation {
        w.attr_num("generation", g);
    }
    if let Some(id) = &c.id {
        w.attr("id", id);
    }
    w.attr("ip", &c.ip);
    if let Some(n) = c.network {
        w.attr_num("network", n);
    }
    w.attr_num("port", c.port);
    w.attr_num("priority", c.priority);
    w.attr("protocol", &c.protocol);
    if let Some(a) = &c.rel_addr {
        w.attr("rel-addr", a);
    }
    if let Some(p) = c.rel_port {
        w.attr_num("rel-port", p);
    }
    if let Some(t) = &c.tcptype {
        w.attr("tcptype", t);
    }
    w.attr("type", &c.kind);
    if let Some(n) = c.network_cost {
        w.attr_num("network-cost", n);
    }
    if let Some(u) = &c.ufrag {
        w.attr("ufrag", u);
    }
    w.end();
}

/// Reads one `<candidate/>`.
pub fn read_candidate(e: &Element<'_>) -> Result<Candidate, JingleError> {
    const E: &str = "candidate";
    Ok(Candidate {
        foundation: req_token(e, E, "foundation")?.to_string(),
        component: req_num(e, E, "component")?,
        protocol: req_token(e, E, "protocol")?.to_string(),
        priority: req_num(e, E, "priority")?,
        ip: req_token(e, E, "ip")?.to_string(),
        port: req_num(e, E, "port")?,
        kind: req_token(e, E, "type")?.to_string(),
        rel_addr: opt_token(e, E, "rel-addr")?.map(str::to_string),
        rel_port: opt_num(e, E, "rel-port")?,
        tcptype: opt_token(e, E, "tcptype")?.map(str::to_string),
        generation: opt_num(e, E, "generation")?,
        network: opt_num(e, E, "network")?,
        network_cost: opt_num(e, E, "network-cost")?,
        ufrag: opt_token(e, E, "ufrag")?.map(str::to_string),
        id: opt_token(e, E, "id")?.map(str::to_string),
    })
}

/// Reads a `<transport>` into `c`. A fingerprint without `setup` gets the
/// default for `sdp_type` (`actpass` in offers, `active` in answers).
pub fn read(t: &Element<'_>, c: &mut Content, sdp_type: SdpType) -> Result<(), JingleError> {
    c.ice.ufrag = opt_token(t, "transport", "ufrag")?.map(str::to_string);
    c.ice.pwd = opt_token(t, "transport", "pwd")?.map(str::to_string);
    for child in t.children() {
        if child.is("candidate", NS_ICE_UDP) {
            c.ice.candidates.push(read_candidate(&child)?);
        } else if child.is("gathering-complete", NS_ICE_UDP) {
            c.ice.end_of_candidates = true;
        } else if child.is("fingerprint", NS_DTLS) {
            let (f, setup) = xep0320::read(&child)?;
            c.dtls.fingerprints.push(f);
            if setup.is_some() {
                c.dtls.setup = setup;
            }
        } else if child.is("sctpmap", NS_DTLS_SCTP) {
            xep0343::read(&child, c)?;
        }
    }
    if !c.dtls.fingerprints.is_empty() && c.dtls.setup.is_none() {
        c.dtls.setup = Some(
            match sdp_type {
                SdpType::Offer => "actpass",
                SdpType::Answer => "active",
            }
            .to_string(),
        );
    }
    Ok(())
}
