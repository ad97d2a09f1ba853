//! XEP-0167: Jingle RTP Sessions — `<description>`, `<payload-type>`,
//! `<parameter>`, `<bandwidth>`, `<rtcp-mux/>` (and StanzaJS's `<rtcp-reduced-size/>`);
//! simulcast rides inside it in this crate's namespace ([`super::ext`]).

use super::{
    ext, opt_num, opt_text, req_num, req_token, text, xep0293, xep0294, xep0339, Element,
    JingleError, Writer, NS_HDREXT, NS_MSID, NS_RTCP_FB, NS_RTP, NS_SDP, NS_SSMA,
};
use crate::model::{
    static_payload_rate, Bandwidth, Codec, Content, Media, Role, MAX_CODECS, MAX_SOURCES,
};

/// Writes the RTP `<description>` of a content.
pub fn write(w: &mut Writer, c: &Content, from: Role) {
    w.start("description", NS_RTP);
    w.attr(
        "media",
        c.media.as_ref().map(Media::as_str).unwrap_or("audio"),
    );
    for codec in &c.codecs {
        write_payload_type(w, codec);
    }
    for fb in &c.rtcp_fb_all {
        xep0293::write(w, fb);
    }
    for h in &c.hdrexts {
        xep0294::write(w, h, from);
    }
    if c.extmap_allow_mixed {
        w.empty("extmap-allow-mixed", NS_HDREXT);
    }
    for s in &c.sources {
        xep0339::write_source(w, s);
    }
    for g in &c.ssrc_groups {
        xep0339::write_group(w, g);
    }
    for m in &c.msids {
        xep0339::write_msid(w, m);
    }
    if c.rtcp_mux {
        w.empty("rtcp-mux", NS_RTP);
    }
    if c.rtcp_rsize {
        w.empty("rtcp-reduced-size", NS_RTP);
    }
    for b in &c.bandwidths {
        w.start("bandwidth", NS_RTP);
        w.attr("type", &b.kind);
        w.text_num(b.value);
        w.end();
    }
    ext::write_simulcast(w, c);
    w.end();
}

fn write_payload_type(w: &mut Writer, codec: &Codec) {
    w.start("payload-type", NS_RTP);
    w.attr_num("id", codec.pt);
    if codec.rtpmap {
        w.attr("name", &codec.name);
        w.attr_num("clockrate", codec.clockrate);
        if let Some(ch) = codec.channels {
            w.attr_num("channels", ch);
        }
    }
    for (k, v) in &codec.params {
        w.start("parameter", NS_RTP);
        if k.is_empty() {
            // a key-less fmtp item (RED's `111/111`, telephone-event's `0-15`):
            // a value without a name, as Conversations and Jitsi read it
            // (Conversations rejects a <parameter/> without value)
            w.attr("value", v);
        } else {
            w.attr("name", k);
            w.attr("value", v);
        }
        w.end();
    }
    for fb in &codec.rtcp_fb {
        xep0293::write(w, fb);
    }
    w.end();
}

/// Reads an RTP `<description>` into `c`.
pub fn read(d: &Element<'_>, c: &mut Content, from: Role) -> Result<(), JingleError> {
    let media = Media::from_token(req_token(d, "description", "media")?);
    for child in d.children() {
        let child = &child;
        match (child.name(), child.ns()) {
            ("payload-type", NS_RTP) => {
                super::room(c.codecs.len(), "<payload-type/> elements", MAX_CODECS)?;
                c.codecs.push(read_payload_type(child, &media)?)
            }
            ("rtcp-fb" | "rtcp-fb-trr-int", NS_RTCP_FB) => {
                c.rtcp_fb_all.push(xep0293::read(child)?)
            }
            ("rtp-hdrext", NS_HDREXT) => c.hdrexts.push(xep0294::read(child, from)?),
            ("extmap-allow-mixed", NS_HDREXT) => c.extmap_allow_mixed = true,
            ("source", NS_SSMA) => {
                super::room(c.sources.len(), "<source/> elements", MAX_SOURCES)?;
                c.sources.push(xep0339::read_source(child)?)
            }
            ("ssrc-group", NS_SSMA) => {
                super::room(c.ssrc_groups.len(), "<ssrc-group/> elements", MAX_SOURCES)?;
                c.ssrc_groups.push(xep0339::read_group(child)?)
            }
            ("stream", NS_MSID) => c.msids.push(xep0339::read_msid(child)?),
            ("rid", NS_SDP) => c.rids.push(ext::read_rid(child)?),
            ("simulcast", NS_SDP) => c.simulcast = Some(ext::read_simulcast(child)?),
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
    c.media = Some(media);
    xep0339::complete_fid_groups(c);
    Ok(())
}

fn read_payload_type(p: &Element<'_>, media: &Media) -> Result<Codec, JingleError> {
    let mut codec = Codec {
        pt: req_num(p, "payload-type", "id")?,
        ..Codec::default()
    };
    let named = p.attr("name").is_some_and(|n| !n.is_empty());
    if !named && static_payload_rate(codec.pt).is_none() {
        // a dynamic payload type means nothing without its encoding name
        return Err(JingleError::MissingAttribute {
            element: "payload-type",
            attribute: "name",
        });
    }
    if let Some(name) = p.attr("name").filter(|n| !n.is_empty()) {
        codec.name = super::req_token(p, "payload-type", "name")?.to_string();
        if codec.name.contains('/') {
            return Err(super::bad("payload-type", "name", name));
        }
        codec.rtpmap = true;
        codec.channels = opt_num(p, "payload-type", "channels")?;
        codec.clockrate = match opt_num(p, "payload-type", "clockrate")? {
            Some(r) => r,
            // XEP-0167's examples omit it for static types (G729): RFC 3551 rates
            None => match static_payload_rate(codec.pt) {
                Some((rate, ch)) => {
                    codec.channels = codec.channels.or(ch);
                    rate
                }
                None if *media == Media::Video => 90000,
                None => 8000,
            },
        };
    }
    for child in p.children() {
        let child = &child;
        if child.is("parameter", NS_RTP) {
            let name = opt_text(child, "parameter", "name")?.unwrap_or("");
            // A key-less fmtp item comes as `<parameter value='0-15'/>` (ours,
            // Conversations), `<parameter name='' value='0-15'/>` (Jitsi), or,
            // without a value, as `<parameter name='0-15'/>` (StanzaJS; ours
            // before): all three read as an empty key.
            let (k, v) = match opt_text(child, "parameter", "value")? {
                Some(v) => (name, v),
                None => ("", name),
            };
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
