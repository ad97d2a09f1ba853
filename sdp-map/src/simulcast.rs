//! RFC 8851 `a=rid` and RFC 8853 `a=simulcast` values: the text grammar that the SDP
//! translator and the Jingle elements of [`crate::jingle::ext`] share.
//!
//! ```text
//! a=rid:m send pt=96,97;max-width=640;max-height=360
//! a=simulcast:send h;~m;l,l2 recv r
//! ```
//! A `rid=` before a stream list (the simulcast draft's form, older Firefox) is accepted and
//! written in the RFC form.

use crate::model::{Rid, RidDirection, Simulcast, SimulcastRid, SimulcastStream};

/// What is wrong with a value.
pub(crate) type Malformed = &'static str;

/// Checks `rid-id = 1*(alpha-numeric / "-" / "_")`.
pub(crate) fn rid_id(s: &str) -> Result<&str, Malformed> {
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("invalid rid id");
    }
    Ok(s)
}

/// Splits off the first whitespace-separated token.
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_ascii_start();
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&s[..i], s[i..].trim_ascii_start()),
        None => (s, ""),
    }
}

/// Parses `<id> <send|recv> [<params>]`.
pub(crate) fn parse_rid(value: &str) -> Result<Rid, Malformed> {
    let (id, rest) = token(value);
    let (direction, params) = token(rest);
    let mut rid = Rid {
        id: rid_id(id)?.to_string(),
        direction: RidDirection::from_token(direction)
            .ok_or("rid direction is not send or recv")?,
        payload_types: Vec::new(),
        restrictions: Vec::new(),
    };
    parse_params(&mut rid, params)?;
    Ok(rid)
}

/// Adds the parameters `pt=96,97;max-width=640` to `rid`.
pub(crate) fn parse_params(rid: &mut Rid, params: &str) -> Result<(), Malformed> {
    for p in params.trim_ascii().split(';') {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n.trim_ascii(), Some(v.trim_ascii())),
            None => (p.trim_ascii(), None),
        };
        if name.is_empty() && value.is_none() {
            continue; // `;;` or a trailing `;`
        }
        push_param(rid, name, value)?;
    }
    Ok(())
}

/// Adds one `name[=value]` parameter: `pt` to the payload types, others as restrictions.
pub(crate) fn push_param(rid: &mut Rid, name: &str, value: Option<&str>) -> Result<(), Malformed> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("invalid rid restriction name");
    }
    if value.is_some_and(|v| v.contains([';', ' ', '\t'])) {
        return Err("invalid rid restriction value");
    }
    if name == "pt" {
        for pt in value.ok_or("pt without payload types")?.split(',') {
            let pt = pt
                .trim_ascii()
                .parse()
                .map_err(|_| "invalid rid payload type")?;
            rid.payload_types.push(pt);
        }
    } else {
        rid.restrictions
            .push((name.to_string(), value.map(str::to_string)));
    }
    Ok(())
}

/// Writes the parameters of `rid` (`pt=96,97;max-width=640`), nothing when it has none.
pub(crate) fn write_rid_params(out: &mut String, rid: &Rid) {
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !std::mem::take(&mut first) {
            out.push(';');
        }
    };
    if !rid.payload_types.is_empty() {
        sep(out);
        out.push_str("pt=");
        for (i, pt) in rid.payload_types.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::jingle::xml::push_num(out, u64::from(*pt));
        }
    }
    for (name, value) in &rid.restrictions {
        sep(out);
        out.push_str(name);
        if let Some(v) = value {
            out.push('=');
            out.push_str(v);
        }
    }
}

/// Parses `send <streams> [recv <streams>]` (either order, either alone).
pub(crate) fn parse_simulcast(value: &str) -> Result<Simulcast, Malformed> {
    let mut sim = Simulcast::default();
    let (mut seen_send, mut seen_recv) = (false, false);
    let mut rest = value;
    loop {
        let (direction, after) = token(rest);
        if direction.is_empty() {
            break;
        }
        let (list, after) = token(after);
        let (seen, streams) = match direction {
            "send" => (&mut seen_send, &mut sim.send),
            "recv" => (&mut seen_recv, &mut sim.recv),
            _ => return Err("simulcast direction is not send or recv"),
        };
        if std::mem::replace(seen, true) {
            return Err("simulcast direction given twice");
        }
        *streams = parse_streams(list)?;
        rest = after;
    }
    if !seen_send && !seen_recv {
        return Err("simulcast without streams");
    }
    Ok(sim)
}

/// Parses `h;~m;l,l2` (the `rid=` prefix of the simulcast draft is skipped).
pub(crate) fn parse_streams(list: &str) -> Result<Vec<SimulcastStream>, Malformed> {
    let list = list.strip_prefix("rid=").unwrap_or(list);
    if list.is_empty() {
        return Err("simulcast direction without streams");
    }
    list.split(';')
        .map(|stream| {
            let alternatives = stream
                .split(',')
                .map(|id| {
                    let (paused, id) = match id.strip_prefix('~') {
                        Some(id) => (true, id),
                        None => (false, id),
                    };
                    Ok(SimulcastRid {
                        id: rid_id(id)?.to_string(),
                        paused,
                    })
                })
                .collect::<Result<_, Malformed>>()?;
            Ok(SimulcastStream { alternatives })
        })
        .collect()
}

/// Writes a stream list (`h;~m;l,l2`).
pub(crate) fn write_streams(out: &mut String, streams: &[SimulcastStream]) {
    for (i, s) in streams.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        for (j, r) in s.alternatives.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            if r.paused {
                out.push('~');
            }
            out.push_str(&r.id);
        }
    }
}

/// Writes the `a=simulcast` value: `send <streams>` then `recv <streams>`, each when present.
pub(crate) fn write_simulcast(out: &mut String, sim: &Simulcast) {
    if !sim.send.is_empty() {
        out.push_str("send ");
        write_streams(out, &sim.send);
    }
    if !sim.recv.is_empty() {
        if !sim.send.is_empty() {
            out.push(' ');
        }
        out.push_str("recv ");
        write_streams(out, &sim.recv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rid_values() {
        for (value, id, dir, pts, restrictions, written) in [
            ("h send", "h", RidDirection::Send, vec![], vec![], "h send"),
            (
                "m send pt=96,97;max-width=640;max-height=360",
                "m",
                RidDirection::Send,
                vec![96, 97],
                vec![("max-width", Some("640")), ("max-height", Some("360"))],
                "m send pt=96,97;max-width=640;max-height=360",
            ),
            (
                "r_1 recv max-fps=29.97;x-flag;",
                "r_1",
                RidDirection::Recv,
                vec![],
                vec![("max-fps", Some("29.97")), ("x-flag", None)],
                "r_1 recv max-fps=29.97;x-flag",
            ),
        ] {
            let rid = parse_rid(value).expect(value);
            assert_eq!((rid.id.as_str(), rid.direction), (id, dir));
            assert_eq!(rid.payload_types, pts);
            let r: Vec<_> = rid
                .restrictions
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_deref()))
                .collect();
            assert_eq!(r, restrictions);
            let mut out = format!("{} {}", rid.id, rid.direction.as_str());
            let mut params = String::new();
            write_rid_params(&mut params, &rid);
            if !params.is_empty() {
                out.push(' ');
                out.push_str(&params);
            }
            assert_eq!(out, written);
        }
        let rid = parse_rid("m send max-width=640;max-fps=30;depend=h,l").expect("rid");
        assert_eq!(rid.max_width(), Some(640));
        assert_eq!(rid.max_height(), None);
        assert_eq!(rid.max_fps(), Some(30.0));
        assert_eq!(rid.depend().collect::<Vec<_>>(), ["h", "l"]);
        for bad in [
            "",
            "h",
            "h sideways",
            "h{ send",
            "h send pt=x",
            "h send pt=",
            "h send =3",
        ] {
            assert!(parse_rid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn simulcast_values() {
        let sim = parse_simulcast("send h;~m;l,l2 recv r").expect("simulcast");
        let ids: Vec<_> = sim.send_rids().map(|r| (r.id.as_str(), r.paused)).collect();
        assert_eq!(ids, [("h", false), ("m", true), ("l", false)]);
        assert_eq!(sim.send[2].alternatives.len(), 2);
        assert_eq!(sim.recv_rids().next().map(|r| r.id.as_str()), Some("r"));
        let mut out = String::new();
        write_simulcast(&mut out, &sim);
        assert_eq!(out, "send h;~m;l,l2 recv r");
        // either order, the draft's rid= prefix
        let recv_first = parse_simulcast("recv r send rid=h;~m;l,l2").expect("recv first");
        assert_eq!(recv_first, sim);
        for bad in [
            "",
            "send",
            "send h recv",
            "up h",
            "send h send m",
            "send h;;m",
            "send ~",
        ] {
            assert!(parse_simulcast(bad).is_err(), "{bad}");
        }
    }
}
