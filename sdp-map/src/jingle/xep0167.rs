//! XEP-0167: Jingle RTP Sessions — `<description>`, `<payload-type>`,
//! `<parameter>`, `<bandwidth>`, `<rtcp-mux/>` (and StanzaJS's `<rtcp-reduced-size/>`).

use minidom::Element;

use super::{
    el, opt_num, opt_text, req_num, req_token, set, text, xep0293, xep0294, xep0339, JingleError,
    NS_HDREXT, NS_MSID, NS_RTCP_FB, NS_RTP, NS_SSMA,
};
use crate::model::{Bandwidth, Codec, Content, Media, Role};

/// Writes the RTP `<description>` of a content.
pub fn write(c: &Content, from: Role) -> Element {
    let mut d = el("description", NS_RTP);
    set(
        &mut d,
        "media",
        c.media.as_ref().map(Media::as_str).unwrap_or("audio"),
    );
    for codec in &c.codecs {
        d.append_child(write_payload_type(codec));
    }
    for fb in &c.rtcp_fb_all {
        d.append_child(xep0293::write(fb));
    }
    for h in &c.hdrexts {
        d.append_child(xep0294::write(h, from));
    }
    if c.extmap_allow_mixed {
        d.append_child(el("extmap-allow-mixed", NS_HDREXT));
    }
    for s in &c.sources {
        d.append_child(xep0339::write_source(s));
    }
    for g in &c.ssrc_groups {
        d.append_child(xep0339::write_group(g));
    }
    for m in &c.msids {
        d.append_child(xep0339::write_msid(m));
    }
    if c.rtcp_mux {
        d.append_child(el("rtcp-mux", NS_RTP));
    }
    if c.rtcp_rsize {
        d.append_child(el("rtcp-reduced-size", NS_RTP));
    }
    for b in &c.bandwidths {
        let mut be = el("bandwidth", NS_RTP);
        set(&mut be, "type", b.kind.as_str());
        be.append_text(b.value.to_string());
        d.append_child(be);
    }
    d
}

fn write_payload_type(codec: &Codec) -> Element {
    let mut p = el("payload-type", NS_RTP);
    set(&mut p, "id", codec.pt.to_string());
    if codec.rtpmap {
        set(&mut p, "name", codec.name.as_str());
        set(&mut p, "clockrate", codec.clockrate.to_string());
        if let Some(ch) = codec.channels {
            set(&mut p, "channels", ch.to_string());
        }
    }
    for (k, v) in &codec.params {
        let mut pe = el("parameter", NS_RTP);
        set(&mut pe, "name", k.as_str());
        set(&mut pe, "value", v.as_str());
        p.append_child(pe);
    }
    for fb in &codec.rtcp_fb {
        p.append_child(xep0293::write(fb));
    }
    p
}

/// Reads an RTP `<description>` into `c`.
pub fn read(d: &Element, c: &mut Content, from: Role) -> Result<(), JingleError> {
    c.media = Some(Media::from_token(req_token(d, "description", "media")?));
    for child in d.children() {
        let ns = child.ns();
        match (child.name(), ns.as_str()) {
            ("payload-type", NS_RTP) => c.codecs.push(read_payload_type(child)?),
            ("rtcp-fb" | "rtcp-fb-trr-int", NS_RTCP_FB) => {
                c.rtcp_fb_all.push(xep0293::read(child)?)
            }
            ("rtp-hdrext", NS_HDREXT) => c.hdrexts.push(xep0294::read(child, from)?),
            ("extmap-allow-mixed", NS_HDREXT) => c.extmap_allow_mixed = true,
            ("source", NS_SSMA) => c.sources.push(xep0339::read_source(child)?),
            ("ssrc-group", NS_SSMA) => c.ssrc_groups.push(xep0339::read_group(child)?),
            ("stream", NS_MSID) => c.msids.push(xep0339::read_msid(child)?),
            ("rtcp-mux", NS_RTP) => c.rtcp_mux = true,
            ("rtcp-reduced-size", NS_RTP) => c.rtcp_rsize = true,
            ("bandwidth", NS_RTP) => {
                let kind = req_token(child, "bandwidth", "type")?.to_string();
                let t = text(child, "bandwidth")?;
                let value = t.parse().map_err(|_| super::bad("bandwidth", "text", &t))?;
                c.bandwidths.push(Bandwidth { kind, value });
            }
            _ => {}
        }
    }
    Ok(())
}

fn read_payload_type(p: &Element) -> Result<Codec, JingleError> {
    let mut codec = Codec {
        pt: req_num(p, "payload-type", "id")?,
        ..Codec::default()
    };
    if let Some(name) = p.attr("name").filter(|n| !n.is_empty()) {
        codec.name = super::req_token(p, "payload-type", "name")?.to_string();
        if codec.name.contains('/') {
            return Err(super::bad("payload-type", "name", name));
        }
        codec.rtpmap = true;
        codec.clockrate = opt_num(p, "payload-type", "clockrate")?.unwrap_or(0);
        codec.channels = opt_num(p, "payload-type", "channels")?;
    }
    for child in p.children() {
        if child.is("parameter", NS_RTP) {
            let k = opt_text(child, "parameter", "name")?.unwrap_or("");
            let v = opt_text(child, "parameter", "value")?.unwrap_or("");
            if k.contains([';', '=', ' ']) || v.contains(';') {
                return Err(super::bad("parameter", "name", k));
            }
            codec.params.push((k.to_string(), v.to_string()));
        } else if child.has_ns(NS_RTCP_FB) {
            codec.rtcp_fb.push(xep0293::read(child)?);
        }
    }
    Ok(codec)
}
