//! XEP-0176: Jingle ICE-UDP Transport Method — `<transport ufrag pwd>` with
//! `<candidate/>`s, plus XEP-0371's `<gathering-complete/>` for
//! `a=end-of-candidates` (as StanzaJS does). The DTLS `<fingerprint>` (XEP-0320)
//! and `<sctpmap>` (XEP-0343) live inside the transport too.
//!
//! Quirks: `ip` may hold an mDNS host name (`<uuid>.local`); `network`,
//! `generation` and `id` are optional on input and written only when known.
//! `network-cost` and `ufrag` (SDP candidate extensions) are written as extra
//! attributes so that trickled candidates survive a round trip.

use minidom::Element;

use super::{
    el, opt_num, opt_token, req_num, req_token, set, xep0320, xep0343, JingleError, NS_DTLS,
    NS_DTLS_SCTP, NS_ICE_UDP,
};
use crate::model::{Candidate, Content, SdpType};

/// Writes the transport; `full` adds the fingerprints and `<sctpmap>`.
pub fn write(c: &Content, full: bool) -> Element {
    let mut t = el("transport", NS_ICE_UDP);
    if let Some(u) = &c.ice.ufrag {
        set(&mut t, "ufrag", u.as_str());
    }
    if let Some(p) = &c.ice.pwd {
        set(&mut t, "pwd", p.as_str());
    }
    if full {
        for f in &c.dtls.fingerprints {
            t.append_child(xep0320::write(f, c.dtls.setup.as_deref()));
        }
        if let Some(s) = xep0343::write(c) {
            t.append_child(s);
        }
    }
    for cand in &c.ice.candidates {
        t.append_child(write_candidate(cand));
    }
    if c.ice.end_of_candidates {
        t.append_child(el("gathering-complete", NS_ICE_UDP));
    }
    t
}

/// Writes one `<candidate/>`.
pub fn write_candidate(c: &Candidate) -> Element {
    let mut e = el("candidate", NS_ICE_UDP);
    set(&mut e, "component", c.component.to_string());
    set(&mut e, "foundation", c.foundation.as_str());
    if let Some(g) = c.generation {
        set(&mut e, "generation", g.to_string());
    }
    if let Some(id) = &c.id {
        set(&mut e, "id", id.as_str());
    }
    set(&mut e, "ip", c.ip.as_str());
    if let Some(n) = c.network {
        set(&mut e, "network", n.to_string());
    }
    set(&mut e, "port", c.port.to_string());
    set(&mut e, "priority", c.priority.to_string());
    set(&mut e, "protocol", c.protocol.as_str());
    if let Some(a) = &c.rel_addr {
        set(&mut e, "rel-addr", a.as_str());
    }
    if let Some(p) = c.rel_port {
        set(&mut e, "rel-port", p.to_string());
    }
    if let Some(t) = &c.tcptype {
        set(&mut e, "tcptype", t.as_str());
    }
    set(&mut e, "type", c.kind.as_str());
    if let Some(n) = c.network_cost {
        set(&mut e, "network-cost", n.to_string());
    }
    if let Some(u) = &c.ufrag {
        set(&mut e, "ufrag", u.as_str());
    }
    e
}

/// Reads one `<candidate/>`.
pub fn read_candidate(e: &Element) -> Result<Candidate, JingleError> {
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
pub fn read(t: &Element, c: &mut Content, sdp_type: SdpType) -> Result<(), JingleError> {
    c.ice.ufrag = opt_token(t, "transport", "ufrag")?.map(str::to_string);
    c.ice.pwd = opt_token(t, "transport", "pwd")?.map(str::to_string);
    for child in t.children() {
        if child.is("candidate", NS_ICE_UDP) {
            c.ice.candidates.push(read_candidate(child)?);
        } else if child.is("gathering-complete", NS_ICE_UDP) {
            c.ice.end_of_candidates = true;
        } else if child.is("fingerprint", NS_DTLS) {
            let (f, setup) = xep0320::read(child)?;
            c.dtls.fingerprints.push(f);
            if setup.is_some() {
                c.dtls.setup = setup;
            }
        } else if child.is("sctpmap", NS_DTLS_SCTP) {
            xep0343::read(child, c)?;
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
