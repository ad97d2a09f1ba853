//! XEP-0294: Jingle RTP Header Extensions Negotiation — `<rtp-hdrext/>` and
//! `<extmap-allow-mixed/>` (written by xep0167). `senders` is relative to the initiator.

use minidom::Element;

use super::{el, opt_text, req_num, req_token, set, JingleError, NS_HDREXT};
use crate::model::{HeaderExtension, Role, Senders};

/// Writes `<rtp-hdrext id uri [senders]>` with the attributes as one `<parameter>`.
pub fn write(h: &HeaderExtension, from: Role) -> Element {
    let mut e = el("rtp-hdrext", NS_HDREXT);
    set(&mut e, "id", h.id.to_string());
    set(&mut e, "uri", h.uri.as_str());
    if let Some(d) = h.direction {
        set(&mut e, "senders", Senders::from_direction(d, from).as_str());
    }
    if let Some(a) = &h.attributes {
        let mut p = el("parameter", NS_HDREXT);
        set(&mut p, "name", a.as_str());
        e.append_child(p);
    }
    e
}

/// Reads `<rtp-hdrext/>`.
pub fn read(e: &Element, from: Role) -> Result<HeaderExtension, JingleError> {
    let direction = match e.attr("senders") {
        Some(s) => Some(
            Senders::from_token(s)
                .ok_or_else(|| super::bad("rtp-hdrext", "senders", s))?
                .to_direction(from),
        ),
        None => None,
    };
    let mut attributes = None;
    for p in e.children().filter(|c| c.is("parameter", NS_HDREXT)) {
        attributes = opt_text(p, "parameter", "name")?.map(str::to_string);
    }
    Ok(HeaderExtension {
        id: req_num(e, "rtp-hdrext", "id")?,
        direction,
        uri: req_token(e, "rtp-hdrext", "uri")?.to_string(),
        attributes,
    })
}
