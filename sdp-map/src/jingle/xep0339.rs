//! XEP-0339: Source-Specific Media Attributes — `<source>`, `<ssrc-group>`;
//! and `a=msid` as `<stream id track xmlns='urn:xmpp:jingle:apps:rtp:msid:0'/>` (StanzaJS).

use minidom::Element;

use super::{el, opt_text, opt_token, req_num, req_token, set, JingleError, NS_MSID, NS_SSMA};
use crate::model::{Msid, Source, SsrcGroup};

/// Writes `<source ssrc><parameter name [value]/>...</source>`.
pub fn write_source(s: &Source) -> Element {
    let mut e = el("source", NS_SSMA);
    set(&mut e, "ssrc", s.ssrc.to_string());
    for (n, v) in &s.params {
        let mut p = el("parameter", NS_SSMA);
        set(&mut p, "name", n.as_str());
        if let Some(v) = v {
            set(&mut p, "value", v.as_str());
        }
        e.append_child(p);
    }
    e
}

/// Reads `<source>`.
pub fn read_source(e: &Element) -> Result<Source, JingleError> {
    let mut s = Source {
        ssrc: req_num(e, "source", "ssrc")?,
        params: Vec::new(),
    };
    for p in e.children().filter(|c| c.is("parameter", NS_SSMA)) {
        let name = req_token(p, "parameter", "name")?;
        if name.contains(':') {
            return Err(super::bad("parameter", "name", name));
        }
        s.params.push((
            name.to_string(),
            opt_text(p, "parameter", "value")?.map(str::to_string),
        ));
    }
    Ok(s)
}

/// Writes `<ssrc-group semantics><source ssrc/>...</ssrc-group>`.
pub fn write_group(g: &SsrcGroup) -> Element {
    let mut e = el("ssrc-group", NS_SSMA);
    set(&mut e, "semantics", g.semantics.as_str());
    for s in &g.ssrcs {
        let mut se = el("source", NS_SSMA);
        set(&mut se, "ssrc", s.to_string());
        e.append_child(se);
    }
    e
}

/// Reads `<ssrc-group>` (any semantics, kept verbatim).
pub fn read_group(e: &Element) -> Result<SsrcGroup, JingleError> {
    let semantics = req_token(e, "ssrc-group", "semantics")?.to_string();
    let ssrcs = e
        .children()
        .filter(|c| c.is("source", NS_SSMA))
        .map(|c| req_num(c, "source", "ssrc"))
        .collect::<Result<_, _>>()?;
    Ok(SsrcGroup { semantics, ssrcs })
}

/// Writes `<stream id [track]/>`.
pub fn write_msid(m: &Msid) -> Element {
    let mut e = el("stream", NS_MSID);
    set(&mut e, "id", m.stream.as_str());
    if let Some(t) = &m.track {
        set(&mut e, "track", t.as_str());
    }
    e
}

/// Reads `<stream id [track]/>`.
pub fn read_msid(e: &Element) -> Result<Msid, JingleError> {
    Ok(Msid {
        stream: req_token(e, "stream", "id")?.to_string(),
        track: opt_token(e, "stream", "track")?.map(str::to_string),
    })
}
