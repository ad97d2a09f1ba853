//! This crate's own namespace ([`super::NS_SDP`]) for SDP items that no XEP carries:
//! `<media>` (per content), `<session>` (per session), and simulcast (RFC 8851 rids and
//! RFC 8853 `a=simulcast`) as named elements inside the RTP `<description>`:
//!
//! ```xml
//! <rid xmlns='urn:xmpp:jingle-focus:sdp:0' id='m' direction='send' pt='96,97'>
//!   <parameter name='max-width' value='640'/>
//!   <parameter name='max-height' value='360'/>
//! </rid>
//! <simulcast xmlns='urn:xmpp:jingle-focus:sdp:0' send='h;~m;l' recv='r'/>
//! ```
//! `direction` is the writer's, like `a=rid`'s; `send`/`recv` hold RFC 8853 stream lists
//! (`;` between streams, `,` between alternatives, `~` for paused). Still read: the older form
//! of the same items inside `<media>` (`simulcast='send h;m;l'`, `<rid restrictions='...'/>`,
//! `<attribute>rid:...</attribute>`).

use super::{bad, flag, opt_text, req_token, text, Element, JingleError, Writer, NS_SDP};
use crate::model::{Content, Media, Rid, RidDirection, Session, Simulcast};
use crate::simulcast;

fn default_protocol(c: &Content) -> (&'static str, &'static [&'static str]) {
    match c.media {
        Some(Media::Application) => (c.default_protocol(), &["webrtc-datachannel"]),
        _ => (c.default_protocol(), &[]),
    }
}

/// Writes `<media xmlns='urn:xmpp:jingle-focus:sdp:0'>` when the content has
/// anything that the XEPs do not carry; nothing otherwise.
pub fn write_media(w: &mut Writer, c: &Content) {
    // simulcast goes into the RTP <description>; a content without one keeps it here
    let simulcast_here = c.media == Some(Media::Application);
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
        || (!c.ice.options.is_empty() && !c.rejected)
        || (simulcast_here && (c.simulcast.is_some() || !c.rids.is_empty()))
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
    if !c.ice.options.is_empty() && !c.rejected {
        w.attr("ice-options", &c.ice.options.join(" "));
    }
    if simulcast_here {
        write_simulcast(w, c);
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
    // the older form: a=simulcast's value as an attribute
    if let Some(v) = opt_text(e, E, "simulcast")? {
        c.simulcast = Some(simulcast::parse_simulcast(v).map_err(|_| bad(E, "simulcast", v))?);
    }
    for child in e.children() {
        if child.is("rid", NS_SDP) {
            c.rids.push(read_rid(&child)?);
        } else if child.is("simulcast", NS_SDP) {
            c.simulcast = Some(read_simulcast(&child)?);
        } else if child.is("attribute", NS_SDP) {
            let line = text(&child, "attribute")?;
            // the older form: raw a=rid / a=simulcast lines
            if let Some(v) = line.strip_prefix("rid:") {
                c.rids
                    .push(simulcast::parse_rid(v).map_err(|_| bad("attribute", "rid", v))?);
            } else if let Some(v) = line.strip_prefix("simulcast:") {
                let sim =
                    simulcast::parse_simulcast(v).map_err(|_| bad("attribute", "simulcast", v))?;
                c.simulcast = Some(sim);
            } else {
                c.extra.push(line);
            }
        }
    }
    Ok(())
}

/// Writes the content's `<rid>`s and `<simulcast>` (inside the element being written).
pub fn write_simulcast(w: &mut Writer, c: &Content) {
    for r in &c.rids {
        w.start("rid", NS_SDP);
        w.attr("id", &r.id);
        w.attr("direction", r.direction.as_str());
        if !r.payload_types.is_empty() {
            let pts: Vec<String> = r.payload_types.iter().map(u8::to_string).collect();
            w.attr("pt", &pts.join(","));
        }
        for (name, value) in &r.restrictions {
            w.start("parameter", NS_SDP);
            w.attr("name", name);
            if let Some(v) = value {
                w.attr("value", v);
            }
            w.end();
        }
        w.end();
    }
    if let Some(s) = &c.simulcast {
        w.start("simulcast", NS_SDP);
        let mut list = String::new();
        if !s.send.is_empty() {
            simulcast::write_streams(&mut list, &s.send);
            w.attr("send", &list);
        }
        if !s.recv.is_empty() {
            list.clear();
            simulcast::write_streams(&mut list, &s.recv);
            w.attr("recv", &list);
        }
        w.end();
    }
}

/// Reads a `<rid>` (the `restrictions` attribute is the older form of its `<parameter>`s).
pub fn read_rid(e: &Element<'_>) -> Result<Rid, JingleError> {
    const E: &str = "rid";
    // the grammar of a=rid, so that what is read is what an SDP can say
    let id = req_token(e, E, "id")?;
    let direction = req_token(e, E, "direction")?;
    let mut rid = Rid {
        id: simulcast::rid_id(id)
            .map_err(|_| bad(E, "id", id))?
            .to_string(),
        direction: RidDirection::from_token(direction)
            .ok_or_else(|| bad(E, "direction", direction))?,
        payload_types: Vec::new(),
        restrictions: Vec::new(),
    };
    if let Some(pt) = opt_text(e, E, "pt")? {
        simulcast::push_param(&mut rid, "pt", Some(pt)).map_err(|_| bad(E, "pt", pt))?;
    }
    if let Some(r) = opt_text(e, E, "restrictions")? {
        simulcast::parse_params(&mut rid, r).map_err(|_| bad(E, "restrictions", r))?;
    }
    for p in e.children().filter(|p| p.is("parameter", NS_SDP)) {
        let name = req_token(&p, "parameter", "name")?;
        let value = opt_text(&p, "parameter", "value")?;
        simulcast::push_param(&mut rid, name, value)
            .map_err(|_| bad("parameter", "value", value.unwrap_or(name)))?;
    }
    Ok(rid)
}

/// Reads a `<simulcast send recv/>`.
pub fn read_simulcast(e: &Element<'_>) -> Result<Simulcast, JingleError> {
    const E: &str = "simulcast";
    let mut sim = Simulcast::default();
    let send = opt_text(e, E, "send")?;
    let recv = opt_text(e, E, "recv")?;
    if send.is_none() && recv.is_none() {
        return Err(JingleError::MissingAttribute {
            element: E,
            attribute: "send",
        });
    }
    if let Some(v) = send {
        sim.send = simulcast::parse_streams(v).map_err(|_| bad(E, "send", v))?;
    }
    if let Some(v) = recv {
        sim.recv = simulcast::parse_streams(v).map_err(|_| bad(E, "recv", v))?;
    }
    Ok(sim)
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
