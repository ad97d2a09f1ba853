//! This crate's own namespace ([`super::NS_SDP`]) for SDP items that no XEP carries.

use minidom::Element;

use super::{el, flag, opt_text, req_token, set, text, JingleError, NS_SDP};
use crate::model::{Content, Media, Rid, Session};

fn default_protocol(c: &Content) -> (&'static str, &'static [&'static str]) {
    match c.media {
        Some(Media::Application) => ("UDP/DTLS/SCTP", &["webrtc-datachannel"]),
        _ => ("UDP/TLS/RTP/SAVPF", &[]),
    }
}

/// Writes `<media xmlns='urn:xmpp:jingle-focus:sdp:0'>` when the content has
/// anything that the XEPs do not carry; `None` otherwise.
pub fn write_media(c: &Content) -> Option<Element> {
    let mut e = el("media", NS_SDP);
    let mut any = false;
    let (proto, formats) = default_protocol(c);
    if c.protocol != proto {
        set(&mut e, "protocol", c.protocol.as_str());
        any = true;
    }
    if c.formats
        .iter()
        .map(String::as_str)
        .ne(formats.iter().copied())
    {
        set(&mut e, "formats", c.formats.join(" "));
        any = true;
    }
    for (on, name) in [
        (c.extmap_allow_mixed && !c.is_rtp(), "extmap-allow-mixed"),
        (c.rejected, "rejected"),
        (c.bundle_only, "bundle-only"),
        (c.rtcp_mux_only, "rtcp-mux-only"),
    ] {
        if on {
            set(&mut e, name, "true");
            any = true;
        }
    }
    if !c.ice.options.is_empty() {
        set(&mut e, "ice-options", c.ice.options.join(" "));
        any = true;
    }
    if let Some(s) = &c.simulcast {
        set(&mut e, "simulcast", s.as_str());
        any = true;
    }
    for r in &c.rids {
        let mut re = el("rid", NS_SDP);
        set(&mut re, "id", r.id.as_str());
        set(&mut re, "direction", r.direction.as_str());
        if let Some(x) = &r.restrictions {
            set(&mut re, "restrictions", x.as_str());
        }
        e.append_child(re);
        any = true;
    }
    for x in &c.extra {
        let mut a = el("attribute", NS_SDP);
        a.append_text(x.as_str());
        e.append_child(a);
        any = true;
    }
    any.then_some(e)
}

/// Reads `<media>` into `c`.
pub fn read_media(e: &Element, c: &mut Content) -> Result<(), JingleError> {
    const E: &str = "media";
    if let Some(p) = e.attr("protocol") {
        c.protocol = req_token(e, E, "protocol")?.to_string();
        let _ = p;
    }
    if let Some(f) = opt_text(e, E, "formats")? {
        c.formats = f.split_ascii_whitespace().map(str::to_string).collect();
    }
    c.rejected = flag(e, "rejected");
    if flag(e, "extmap-allow-mixed") {
        c.extmap_allow_mixed = true;
    }
    c.bundle_only = flag(e, "bundle-only");
    c.rtcp_mux_only = flag(e, "rtcp-mux-only");
    if let Some(o) = opt_text(e, E, "ice-options")? {
        c.ice.options = o.split_ascii_whitespace().map(str::to_string).collect();
    }
    c.simulcast = opt_text(e, E, "simulcast")?.map(|s| s.trim().to_string());
    for child in e.children() {
        if child.is("rid", NS_SDP) {
            c.rids.push(Rid {
                id: req_token(child, "rid", "id")?.to_string(),
                direction: req_token(child, "rid", "direction")?.to_string(),
                restrictions: opt_text(child, "rid", "restrictions")?.map(str::to_string),
            });
        } else if child.is("attribute", NS_SDP) {
            c.extra.push(text(child, "attribute")?);
        }
    }
    Ok(())
}

/// Writes `<session xmlns='urn:xmpp:jingle-focus:sdp:0' msid-semantic=...>` with
/// unknown session-level attributes; `None` when there is nothing to carry.
pub fn write_session(s: &Session) -> Option<Element> {
    if s.msid_semantic.is_none() && s.extra.is_empty() {
        return None;
    }
    let mut e = el("session", NS_SDP);
    if let Some(m) = &s.msid_semantic {
        set(&mut e, "msid-semantic", m.as_str());
    }
    for x in &s.extra {
        let mut a = el("attribute", NS_SDP);
        a.append_text(x.as_str());
        e.append_child(a);
    }
    Some(e)
}

/// Reads `<session>` into `s`.
pub fn read_session(e: &Element, s: &mut Session) -> Result<(), JingleError> {
    s.msid_semantic = opt_text(e, "session", "msid-semantic")?.map(str::to_string);
    for child in e.children().filter(|c| c.is("attribute", NS_SDP)) {
        s.extra.push(text(child, "attribute")?);
    }
    Ok(())
}
