//! XEP-0293: Jingle RTP Feedback Negotiation — `<rtcp-fb/>`, `<rtcp-fb-trr-int/>`.

use minidom::Element;

use super::{el, opt_text, req_token, set, JingleError, NS_RTCP_FB};
use crate::model::RtcpFb;

/// Writes one feedback element (`trr-int` gets its own element).
pub fn write(fb: &RtcpFb) -> Element {
    match (fb.kind.as_str(), &fb.subtype) {
        ("trr-int", Some(v)) => {
            let mut e = el("rtcp-fb-trr-int", NS_RTCP_FB);
            set(&mut e, "value", v.as_str());
            e
        }
        (kind, sub) => {
            let mut e = el("rtcp-fb", NS_RTCP_FB);
            set(&mut e, "type", kind);
            if let Some(s) = sub {
                set(&mut e, "subtype", s.as_str());
            }
            e
        }
    }
}

/// Reads `<rtcp-fb/>` or `<rtcp-fb-trr-int/>`.
pub fn read(e: &Element) -> Result<RtcpFb, JingleError> {
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
