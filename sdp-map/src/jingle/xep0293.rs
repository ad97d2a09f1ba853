//! XEP-0293: Jingle RTP Feedback Negotiation — `<rtcp-fb/>`, `<rtcp-fb-trr-int/>`.

use super::{opt_text, req_token, Element, JingleError, Writer, NS_RTCP_FB};
use crate::model::RtcpFb;

/// Writes one feedback element (`trr-int` gets its own element).
pub fn write(w: &mut Writer, fb: &RtcpFb) {
    match (fb.kind.as_str(), &fb.subtype) {
        ("trr-int", Some(v)) => {
            w.start("rtcp-fb-trr-int", NS_RTCP_FB);
            w.attr("value", v);
        }
        (kind, sub) => {
            w.start("rtcp-fb", NS_RTCP_FB);
            w.attr("type", kind);
            if let Some(s) = sub {
                w.attr("subtype", s);
            }
        }
    }
    w.end();
}

/// Reads `<rtcp-fb/>` or `<rtcp-fb-trr-int/>`.
pub fn read(e: &Element<'_>) -> Result<RtcpFb, JingleError> {
    if e.name() == "rtcp-fb-trr-int" {
        return Ok(RtcpFb {
            kind: "trr-int".into(),
            subtype: Some(req_token(e, "rtcp-fb-trr-int", "value")?.to_string()),
        });
    }
    Ok(RtcpFb {
        kind: req_token(e, "rtcp-fb", "type")?.to_string(),
        subtype: opt_text(e, "rtcp-fb", "subtype")?
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    })
}
