//! XEP-0294: Jingle RTP Header Extensions Negotiation — `<rtp-hdrext/>` and
//! `<extmap-allow-mixed/>` (written by xep0167). `senders` is relative to the initiator.

use super::{opt_text, req_num, req_token, Element, JingleError, Writer, NS_HDREXT};
use crate::model::{HeaderExtension, Role, Senders};

/// Writes `<rtp-hdrext id uri [senders]>` with the attributes as one `<parameter>`.
pub fn write(w: &mut Writer, h: &HeaderExtension, from: Role) {
    w.start("rtp-hdrext", NS_HDREXT);
    w.attr_num("id", h.id);
    w.attr("uri", &h.uri);
    if let Some(d) = h.direction {
        w.attr("senders", Senders::from_direction(d, from).as_str());
    }
    if let Some(a) = &h.attributes {
        w.start("parameter", NS_HDREXT);
        w.attr("name", a);
        w.end();
    }
    w.end();
}

/// Reads `<rtp-hdrext/>`.
pub fn read(e: &Element<'_>, from: Role) -> Result<HeaderExtension, JingleError> {
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
        attributes = opt_text(&p, "parameter", "name")?.map(str::to_string);
    }
    Ok(HeaderExtension {
        id: req_num(e, "rtp-hdrext", "id")?,
        direction,
        uri: req_token(e, "rtp-hdrext", "uri")?.to_string(),
        attributes,
    })
}
