//! This crate's own namespace ([`super::NS_SDP`]) for SDP items that no XEP carries.

use super::{flag, opt_text, req_token, text, Element, JingleError, Writer, NS_SDP};
use crate::model::{Content, Media, Rid, Session};

fn default_protocol(c: &Content) -> (&'static str, &'static [&'static str]) {
    match c.media {
        Some(Media::Application) => (c.default_protocol(), &["webrtc-datachannel"]),
        _ => (c.default_protocol(), &[]),
    }
}

/// Writes `<media xmlns='urn:xmpp:jingle-focus:sdp:0'>` when the content has
/// anything that the XEPs do not carry; nothing otherwise.
pub fn write_media(w: &mut Writer, c: &Content) {
    let (proto, formats) = default_protocol(c);
    let proto_differs = c.protocol != proto;
    let formats_differ = c
        .formats
        .iter()
        .map(String::as_str)
        .ne(formats.iter().copied());
    let flags = [
        (c.extmap_allow_mixed && !c.is_rtp(), "extmap-allow-mixed"),
        (c.rejected, "rejected"),
        (c.bundle_only, "bundle-only"),
        (c.rtcp_mux_only, "rtcp-mux-only"),
    ];
    let any = proto_differs
        || formats_differ
        || flags.iter().any(|(on, _)| *on)
        || !c.ice.options.is_empty()
        || c.simulcast.is_some()
        || !c.rids.is_empty()
        || !c.extra.is_empty();
    if !any {
        return;
    }
    w.start("media", NS_SDP);
    if proto_differs {
        w.attr("protocol", &c.protocol);
    }
    if formats_differ {
        w.attr("formats", &c.formats.join(" "));
    }
    for (on, name) in flags {
        if on {
            w.attr(name, "true");
        }
    }
    if !c.ice.options.is_empty() {
        w.attr("ice-options", &c.ice.options.join(" "));
    }
    if let Some(s) = &c.simulcast {
        w.attr("simulcast", s);
    }
    for r in &c.rids {
        w.start("rid", NS_SDP);
        w.attr("id", &r.id);
        w.attr("direction", &r.direction);
        if let Some(x) = &r.restrictions {
            w.attr("restrictions", x);
        }
        w.end();
    }
    for x in &c.extra {
        w.start("attribute", NS_SDP);
        w.text(x);
        w.end();
    }
    w.end();
}

/// Reads `<media>` into `c`.
pub fn read_media(e: &Element<'_>, c: &mut Content) -> Result<(), JingleError> {
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
                id: req_token(&child, "rid", "id")?.to_string(),
                direction: req_token(&child, "rid", "direction")?.to_string(),
                restrictions: opt_text(&child, "rid", "restrictions")?.map(str::to_string),
            });
        } else if child.is("attribute", NS_SDP) {
            c.extra.push(text(&child, "attribute")?);
        }
    }
    Ok(())
}

/// Writes `<session xmlns='urn:xmpp:jingle-focus:sdp:0' msid-semantic=...>` with
/// unknown session-level attributes; `None` when there is nothing to carry.
pub fn write_session(w: &mut Writer, s: &Session) {
    if s.msid_semantic.is_none() && s.extra.is_empty() {
        return;
    }
    w.start("session", NS_SDP);
    if let Some(m) = &s.msid_semantic {
        w.attr("msid-semantic", m);
    }
    for x in &s.extra {
        w.start("attribute", NS_SDP);
        w.text(x);
        w.end();
    }
    w.end();
}

/// Reads `<session>` into `s`.
pub fn read_session(e: &Element<'_>, s: &mut Session) -> Result<(), JingleError> {
    s.msid_semantic = opt_text(e, "session", "msid-semantic")?.map(str::to_string);
    for child in e.children().filter(|c| c.is("attribute", NS_SDP)) {
        s.extra.push(text(&child, "attribute")?);
    }
    Ok(())
}
