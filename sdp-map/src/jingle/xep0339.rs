//! XEP-0339: Source-Specific Media Attributes — `<source>`, `<ssrc-group>`;
//! and `a=msid` as `<stream id track xmlns='urn:xmpp:jingle:apps:rtp:msid:0'/>` (StanzaJS).
//!
//! StanzaJS 12 names the retransmission (RTX) ssrc only inside
//! `<ssrc-group semantics='FID'>` and never describes it with a `<source>`; Chromium rejects
//! a group naming an undescribed ssrc. [`complete_fid_groups`] describes it the way StanzaJS's
//! own SDP export does: with the primary ssrc's `cname` (and `msid`), so NACK/RTX keeps working.

use super::{
    opt_text, opt_token, req_num, req_token, Element, JingleError, Writer, NS_MSID, NS_SSMA,
};
use crate::model::{Content, Msid, Source, SsrcGroup, MAX_GROUP_SSRCS};

/// Writes `<source ssrc><parameter name [value]/>...</source>`.
pub fn write_source(w: &mut Writer, s: &Source) {
    w.start("source", NS_SSMA);
    w.attr_num("ssrc", s.ssrc);
    for (n, v) in &s.params {
        w.start("parameter", NS_SSMA);
        w.attr("name", n);
        if let Some(v) = v {
            w.attr("value", v);
        }
        w.end();
    }
    w.end();
}

/// Reads `<source>`.
pub fn read_source(e: &Element<'_>) -> Result<Source, JingleError> {
    let mut s = Source {
        ssrc: req_num(e, "source", "ssrc")?,
        params: Vec::new(),
    };
    for p in e.children().filter(|c| c.is("parameter", NS_SSMA)) {
        let name = req_token(&p, "parameter", "name")?;
        if name.contains(':') {
            return Err(super::bad("parameter", "name", name));
        }
        s.params.push((
            name.to_string(),
            opt_text(&p, "parameter", "value")?.map(str::to_string),
        ));
    }
    Ok(s)
}

/// Writes `<ssrc-group semantics><source ssrc/>...</ssrc-group>`.
pub fn write_group(w: &mut Writer, g: &SsrcGroup) {
    w.start("ssrc-group", NS_SSMA);
    w.attr("semantics", &g.semantics);
    for s in &g.ssrcs {
        w.start("source", NS_SSMA);
        w.attr_num("ssrc", *s);
        w.end();
    }
    w.end();
}

/// Reads `<ssrc-group>` (any semantics, kept verbatim).
pub fn read_group(e: &Element<'_>) -> Result<SsrcGroup, JingleError> {
    let semantics = req_token(e, "ssrc-group", "semantics")?.to_string();
    let mut ssrcs = Vec::new();
    for c in e.children().filter(|c| c.is("source", NS_SSMA)) {
        super::room(ssrcs.len(), "ssrcs in an <ssrc-group/>", MAX_GROUP_SSRCS)?;
        ssrcs.push(req_num(&c, "source", "ssrc")?);
    }
    Ok(SsrcGroup { semantics, ssrcs })
}

/// Writes `<stream id [track]/>`.
pub fn write_msid(w: &mut Writer, m: &Msid) {
    w.start("stream", NS_MSID);
    w.attr("id", &m.stream);
    if let Some(t) = &m.track {
        w.attr("track", t);
    }
    w.end();
}

/// Reads `<stream id [track]/>`.
pub fn read_msid(e: &Element<'_>) -> Result<Msid, JingleError> {
    Ok(Msid {
        stream: req_token(e, "stream", "id")?.to_string(),
        track: opt_token(e, "stream", "track")?.map(str::to_string),
    })
}

/// Describes the undescribed retransmission ssrc of each FID group (primary, RTX) whose
/// primary ssrc is described: a `<source>` with the primary's `cname` and `msid`.
pub fn complete_fid_groups(c: &mut Content) {
    let mut added: Vec<Source> = Vec::new();
    for g in &c.ssrc_groups {
        let [primary, rtx] = g.ssrcs[..] else {
            continue;
        };
        let described = |ssrc| c.sources.iter().chain(&added).any(|s| s.ssrc == ssrc);
        if g.semantics != "FID" || described(rtx) {
            continue;
        }
        let Some(p) = c.sources.iter().find(|s| s.ssrc == primary) else {
            continue;
        };
        let params = p
            .params
            .iter()
            .filter(|(name, _)| name == "cname" || name == "msid")
            .cloned()
            .collect();
        added.push(Source { ssrc: rtx, params });
    }
    c.sources.extend(added);
}
