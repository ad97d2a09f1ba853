//! SDP text <-> [`Session`].
//!
//! A small hand-written parser for what Chromium and Firefox produce (and
//! what older Jingle gateways produce), and a writer that emits CRLF lines.
//! `parse(write(parse(x))) == parse(x)` holds for every accepted input.

use std::fmt::Write as _;

use crate::model::*;

/// Largest SDP accepted, in bytes.
pub const MAX_SDP_LEN: usize = 1 << 20;

/// An SDP parse error: what is wrong and on which line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SDP line {line}: {kind}")]
pub struct SdpError {
    /// 1-based line number (0 for whole-input errors).
    pub line: usize,
    /// What is wrong.
    pub kind: SdpErrorKind,
}

/// What is wrong with an SDP line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpErrorKind {
    /// The input is larger than [`MAX_SDP_LEN`].
    #[error("SDP larger than {MAX_SDP_LEN} bytes")]
    TooLarge,
    /// The input does not start with `v=0`.
    #[error("SDP must start with v=0")]
    MissingVersion,
    /// A line is not `<letter>=<value>`.
    #[error("line is not of the form <type>=<value>")]
    Syntax,
    /// The `o=` line has too few fields.
    #[error("malformed o= line")]
    Origin,
    /// The `m=` line is malformed.
    #[error("malformed m= line")]
    MediaLine,
    /// A numeric field does not parse.
    #[error("invalid number in {field}")]
    Number {
        /// Which field.
        field: &'static str,
    },
    /// An attribute lacks a required part.
    #[error("malformed a={attribute}")]
    Attribute {
        /// Which attribute.
        attribute: &'static str,
    },
    /// More of something than the translator takes ([`MAX_CONTENTS`] and the like).
    #[error("more than {limit} {what}")]
    TooMany {
        /// What, e.g. `m= lines`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A session description without any `m=` line.
    #[error("no m= line: a session description needs one")]
    NoMedia,
    /// An m-line lacks what its Jingle content requires (XEP-0166/0167/0176/0320);
    /// the error's line is the `m=` line.
    #[error("m-line {index} (mid '{mid}') has no {what}")]
    Missing {
        /// 1-based index of the m-line.
        index: usize,
        /// Its `a=mid` (empty when that is what is missing).
        mid: String,
        /// What is missing, e.g. `a=ice-pwd (XEP-0176 <transport pwd>)`.
        what: &'static str,
    },
    /// A dynamic payload type (no RFC 3551 static one) without `a=rtpmap`, or an
    /// `a=rtpmap` without clock rate: Jingle's `<payload-type>` needs name and rate.
    #[error("m-line {index} (mid '{mid}') has no a=rtpmap name and clock rate for payload type {pt} (XEP-0167 <payload-type name clockrate>)")]
    Rtpmap {
        /// 1-based index of the m-line.
        index: usize,
        /// Its `a=mid`.
        mid: String,
        /// The payload type.
        pt: u8,
    },
}

fn err(line: usize, kind: SdpErrorKind) -> SdpError {
    SdpError { line, kind }
}

fn num<T: std::str::FromStr>(s: &str, line: usize, field: &'static str) -> Result<T, SdpError> {
    s.trim_ascii()
        .parse()
        .map_err(|_| err(line, SdpErrorKind::Number { field }))
}

fn bad_attr(line: usize, attribute: &'static str) -> SdpError {
    err(line, SdpErrorKind::Attribute { attribute })
}

fn too_many(line: usize, what: &'static str, limit: usize) -> SdpError {
    err(line, SdpErrorKind::TooMany { what, limit })
}

/// Session-level values that Firefox (and some others) put above the first `m=`.
#[derive(Default)]
struct SessionDefaults {
    ufrag: Option<String>,
    pwd: Option<String>,
    options: Vec<String>,
    fingerprints: Vec<Fingerprint>,
    setup: Option<String>,
    extmap_allow_mixed: bool,
    end_of_candidates: bool,
    direction: Option<Direction>,
}

struct MediaState {
    content: Content,
    port_zero: bool,
    has_mid: bool,
    has_direction: bool,
    /// Line number of the `m=` line.
    line: usize,
}

/// Where each m-line was, for the checks of a session description.
struct MediaLines {
    line: usize,
    has_mid: bool,
}

/// Parses one `a=candidate` value (without the `a=` / `candidate:` prefix
/// stripped or not: both `candidate:...` and the bare value are accepted).
pub fn parse_candidate(value: &str, line: usize) -> Result<Candidate, SdpError> {
    let v = value.trim_ascii();
    let v = v.strip_prefix("a=").unwrap_or(v);
    let v = v.strip_prefix("candidate:").unwrap_or(v);
    let mut it = v.split_ascii_whitespace();
    let mut next = || it.next().ok_or_else(|| bad_attr(line, "candidate"));
    let foundation = next()?.to_string();
    let component = num(next()?, line, "candidate component")?;
    let protocol = next()?.to_string();
    let priority = num(next()?, line, "candidate priority")?;
    let ip = next()?.to_string();
    let port = num(next()?, line, "candidate port")?;
    if next()? != "typ" {
        return Err(bad_attr(line, "candidate"));
    }
    let kind = next()?.to_string();
    let mut c = Candidate {
        foundation,
        component,
        protocol,
        priority,
        ip,
        port,
        kind,
        ..Candidate::default()
    };
    let rest: Vec<&str> = it.collect();
    for pair in rest.chunks(2) {
        let (k, val) = match pair {
            [k, v] => (*k, *v),
            _ => return Err(bad_attr(line, "candidate")),
        };
        match k {
            "raddr" => c.rel_addr = Some(val.to_string()),
            "rport" => c.rel_port = Some(num(val, line, "candidate rport")?),
            "tcptype" => c.tcptype = Some(val.to_string()),
            "generation" => c.generation = Some(num(val, line, "candidate generation")?),
            "network-id" => c.network = Some(num(val, line, "candidate network-id")?),
            "network-cost" => c.network_cost = Some(num(val, line, "candidate network-cost")?),
            "ufrag" => c.ufrag = Some(val.to_string()),
            _ => {} // unknown extension attributes are dropped
        }
    }
    Ok(c)
}

/// Writes a candidate as the value of an `a=candidate` line (starting with `candidate:`).
pub fn write_candidate(c: &Candidate) -> String {
    let mut s = String::with_capacity(96);
    let _ = write!(
        s,
        "candidate:{} {} {} {} {} {} typ {}",
        c.foundation, c.component, c.protocol, c.priority, c.ip, c.port, c.kind
    );
    if let Some(v) = &c.rel_addr {
        let _ = write!(s, " raddr {v}");
    }
    if let Some(v) = c.rel_port {
        let _ = write!(s, " rport {v}");
    }
    if let Some(v) = &c.tcptype {
        let _ = write!(s, " tcptype {v}");
    }
    if let Some(v) = c.generation {
        let _ = write!(s, " generation {v}");
    }
    if let Some(v) = &c.ufrag {
        let _ = write!(s, " ufrag {v}");
    }
    if let Some(v) = c.network {
        let _ = write!(s, " network-id {v}");
    }
    if let Some(v) = c.network_cost {
        let _ = write!(s, " network-cost {v}");
    }
    s
}

/// `str::split_once` for an ASCII byte, without the generic pattern machinery
/// (most SDP fields are a few bytes long).
fn split_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|c| c == b)?;
    Some((&s[..i], &s[i + 1..]))
}

fn parse_fmtp_params(s: &str) -> Vec<(String, String)> {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match split_at_byte(p, b'=') {
            Some((k, v)) => (k.trim_ascii().to_string(), v.trim_ascii().to_string()),
            None => (String::new(), p.to_string()),
        })
        .collect()
}

fn write_fmtp_params(s: &mut String, params: &[(String, String)]) {
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        if !k.is_empty() {
            s.push_str(k);
            s.push('=');
        }
        s.push_str(v);
    }
}

fn parse_rtcp_fb(s: &str) -> RtcpFb {
    let s = s.trim_ascii();
    let (kind, sub) = split_at_byte(s, b' ').unwrap_or((s, ""));
    let sub = sub.trim();
    RtcpFb {
        kind: kind.to_string(),
        subtype: (!sub.is_empty()).then(|| sub.to_string()),
    }
}

impl MediaState {
    fn codec_mut(&mut self, pt: u8) -> Option<&mut Codec> {
        self.content.codecs.iter_mut().find(|c| c.pt == pt)
    }
}

/// Splits "`<pt> <rest>`".
fn pt_and_rest<'a>(
    v: &'a str,
    line: usize,
    attr: &'static str,
) -> Result<(&'a str, &'a str), SdpError> {
    let (pt, rest) = split_at_byte(v, b' ').unwrap_or((v, ""));
    if pt.is_empty() {
        return Err(bad_attr(line, attr));
    }
    Ok((pt, rest.trim_ascii()))
}

/// `char::is_control` (other than tab) anywhere in `line`, checked on bytes:
/// C0 and DEL are single bytes, C1 (U+0080..U+009F) is `0xC2 0x80..=0x9F`.
fn has_control(line: &str) -> bool {
    let b = line.as_bytes();
    // fast path: printable ASCII and tabs only
    if b.iter().all(|&c| (0x20..0x7f).contains(&c) || c == b'\t') {
        return false;
    }
    b.iter().enumerate().any(|(i, &c)| {
        (c < 0x20 && c != b'\t')
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

impl Session {
    /// Parses SDP text (CRLF or LF line ends) into the model, whatever it describes.
    pub fn parse_sdp(text: &str) -> Result<Session, SdpError> {
        parse(text, &mut Vec::new())
    }

    /// Parses an SDP offer or answer and checks that it has what the Jingle contents of a
    /// session description require (XEP-0166/0167/0176/0320): at least one m-line, and for
    /// every m-line that is not rejected an `a=mid` (the content name), a payload type with
    /// `a=rtpmap` name and clock rate unless it is a static one, and, unless it is
    /// bundle-only, `a=ice-ufrag` and `a=ice-pwd`, plus `a=fingerprint` and `a=setup` when
    /// its protocol uses DTLS. The error names what is missing and the `m=` line.
    pub fn parse_sdp_strict(text: &str) -> Result<Session, SdpError> {
        let mut lines = Vec::new();
        let session = parse(text, &mut lines)?;
        check_description(&session, &lines)?;
        Ok(session)
    }

    /// Writes SDP text with CRLF line ends.
    pub fn to_sdp(&self) -> String {
        write_session(self)
    }
}

/// What [`Session::parse_sdp_strict`] checks.
fn check_description(s: &Session, lines: &[MediaLines]) -> Result<(), SdpError> {
    if s.contents.is_empty() {
        return Err(err(0, SdpErrorKind::NoMedia));
    }
    for (i, (c, at)) in s.contents.iter().zip(lines).enumerate() {
        if c.rejected {
            continue;
        }
        let missing = |what| {
            err(
                at.line,
                SdpErrorKind::Missing {
                    index: i + 1,
                    mid: if at.has_mid {
                        c.mid.clone()
                    } else {
                        String::new()
                    },
                    what,
                },
            )
        };
        if !at.has_mid {
            return Err(missing("a=mid (XEP-0166 <content name>)"));
        }
        if c.is_rtp() {
            if c.codecs.is_empty() {
                return Err(missing("payload type (XEP-0167 <payload-type>)"));
            }
            let unnamed = c.codecs.iter().find(|k| {
                (!k.rtpmap && static_payload_rate(k.pt).is_none()) || (k.rtpmap && k.clockrate == 0)
            });
            if let Some(k) = unnamed {
                return Err(err(
                    at.line,
                    SdpErrorKind::Rtpmap {
                        index: i + 1,
                        mid: c.mid.clone(),
                        pt: k.pt,
                    },
                ));
            }
        }
        if c.bundle_only {
            continue; // its transport is the BUNDLE group's
        }
        if c.ice.ufrag.is_none() {
            return Err(missing("a=ice-ufrag (XEP-0176 <transport ufrag>)"));
        }
        if c.ice.pwd.is_none() {
            return Err(missing("a=ice-pwd (XEP-0176 <transport pwd>)"));
        }
        if c.protocol.contains("TLS") {
            if c.dtls.fingerprints.is_empty() {
                return Err(missing("a=fingerprint (XEP-0320 <fingerprint>)"));
            }
            if c.dtls.setup.is_none() {
                return Err(missing("a=setup (XEP-0320 <fingerprint setup>)"));
            }
        }
    }
    Ok(())
}

/// Parses SDP text, noting where each m-line is in `lines`.
fn parse(text: &str, lines: &mut Vec<MediaLines>) -> Result<Session, SdpError> {
    if text.len() > MAX_SDP_LEN {
        return Err(err(0, SdpErrorKind::TooLarge));
    }
    let mut session = Session::default();
    let mut defaults = SessionDefaults::default();
    let mut media: Option<MediaState> = None;
    let mut seen_version = false;
    let mut explicit_dirs = Vec::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let line = raw.trim_ascii_end();
        if line.trim_ascii().is_empty() {
            continue;
        }
        if has_control(line) {
            return Err(err(line_no, SdpErrorKind::Syntax));
        }
        let (kind, value) = match line.as_bytes() {
            [k, b'=', ..] => (*k, line.get(2..).unwrap_or("")),
            _ => return Err(err(line_no, SdpErrorKind::Syntax)),
        };
        if !seen_version {
            if kind != b'v' || value.trim_ascii() != "0" {
                return Err(err(line_no, SdpErrorKind::MissingVersion));
            }
            seen_version = true;
            continue;
        }
        match kind {
            b'o' => {
                let f: Vec<&str> = value.split_ascii_whitespace().collect();
                match f.as_slice() {
                    [u, id, ver, rest @ ..] if !rest.is_empty() => {
                        session.origin = Some(Origin {
                            username: u.to_string(),
                            session_id: id.to_string(),
                            session_version: ver.to_string(),
                            address: rest.join(" "),
                        })
                    }
                    _ => return Err(err(line_no, SdpErrorKind::Origin)),
                }
            }
            b'm' => {
                if let Some(m) = media.take() {
                    session.contents.push(finish_media(
                        m,
                        session.contents.len(),
                        &mut explicit_dirs,
                        lines,
                    ));
                }
                if session.contents.len() >= MAX_CONTENTS {
                    return Err(too_many(line_no, "m= lines", MAX_CONTENTS));
                }
                media = Some(parse_m_line(value, line_no)?);
            }
            b'b' => {
                if let Some(m) = media.as_mut() {
                    let (k, v) = value
                        .split_once(':')
                        .ok_or_else(|| err(line_no, SdpErrorKind::Syntax))?;
                    m.content.bandwidths.push(Bandwidth {
                        kind: k.to_string(),
                        value: num(v, line_no, "b=")?,
                    });
                }
            }
            b'a' => match media.as_mut() {
                Some(m) => media_attribute(m, value, line_no)?,
                None => session_attribute(&mut session, &mut defaults, value, line_no)?,
            },
            // s=, t=, c=, i=, u=, e=, p=, z=, k=, r=: derived or unused by WebRTC
            _ => {}
        }
    }
    if !seen_version {
        return Err(err(0, SdpErrorKind::MissingVersion));
    }
    if let Some(m) = media.take() {
        session.contents.push(finish_media(
            m,
            session.contents.len(),
            &mut explicit_dirs,
            lines,
        ));
    }
    apply_defaults(&mut session, defaults, &explicit_dirs);
    Ok(session)
}

fn apply_defaults(session: &mut Session, d: SessionDefaults, explicit_dirs: &[bool]) {
    for (i, c) in session.contents.iter_mut().enumerate() {
        if let (Some(dir), Some(false)) = (d.direction, explicit_dirs.get(i)) {
            c.direction = dir;
        }
        if c.rejected {
            continue; // a rejected section has no transport
        }
        if c.ice.ufrag.is_none() {
            c.ice.ufrag.clone_from(&d.ufrag);
        }
        if c.ice.pwd.is_none() {
            c.ice.pwd.clone_from(&d.pwd);
        }
        if c.ice.options.is_empty() {
            c.ice.options.clone_from(&d.options);
        }
        if c.dtls.fingerprints.is_empty() {
            c.dtls.fingerprints.clone_from(&d.fingerprints);
        }
        if c.dtls.setup.is_none() {
            c.dtls.setup.clone_from(&d.setup);
        }
        if d.extmap_allow_mixed && c.is_rtp() {
            c.extmap_allow_mixed = true;
        }
        if d.end_of_candidates {
            c.ice.end_of_candidates = true;
        }
    }
}

fn parse_m_line(value: &str, line: usize) -> Result<MediaState, SdpError> {
    let mut f = value.split_ascii_whitespace();
    let media = f.next().ok_or_else(|| err(line, SdpErrorKind::MediaLine))?;
    let port = f.next().ok_or_else(|| err(line, SdpErrorKind::MediaLine))?;
    let port = port.split('/').next().unwrap_or(port);
    let port: u16 = num(port, line, "m= port")?;
    let protocol = f
        .next()
        .ok_or_else(|| err(line, SdpErrorKind::MediaLine))?
        .to_string();
    let mut content = Content {
        media: Some(Media::from_token(media)),
        protocol,
        ..Content::default()
    };
    if content.is_rtp() {
        let n = value.bytes().filter(|&b| b == b' ').count();
        content.codecs = Vec::with_capacity(n.min(MAX_CODECS));
        for pt in f {
            if content.codecs.len() >= MAX_CODECS {
                return Err(too_many(line, "payload types in an m= line", MAX_CODECS));
            }
            content.codecs.push(Codec {
                pt: num(pt, line, "m= payload type")?,
                ..Codec::default()
            });
        }
    } else {
        content.formats = f.map(str::to_string).collect();
    }
    Ok(MediaState {
        content,
        port_zero: port == 0,
        has_mid: false,
        has_direction: false,
        line,
    })
}

fn finish_media(
    m: MediaState,
    index: usize,
    explicit_dirs: &mut Vec<bool>,
    lines: &mut Vec<MediaLines>,
) -> Content {
    explicit_dirs.push(m.has_direction);
    lines.push(MediaLines {
        line: m.line,
        has_mid: m.has_mid,
    });
    let mut c = m.content;
    c.rejected = m.port_zero && !c.bundle_only;
    if !m.has_mid {
        c.mid = index.to_string();
    }
    c
}

fn split_attr(value: &str) -> (&str, Option<&str>) {
    match split_at_byte(value, b':') {
        Some((n, v)) => (n, Some(v)),
        None => (value, None),
    }
}

fn parse_fingerprint(v: &str, line: usize) -> Result<Fingerprint, SdpError> {
    let (h, val) = v
        .trim_ascii()
        .split_once(' ')
        .ok_or_else(|| bad_attr(line, "fingerprint"))?;
    Ok(Fingerprint {
        hash: h.to_string(),
        value: val.trim_ascii().to_string(),
    })
}

fn session_attribute(
    s: &mut Session,
    d: &mut SessionDefaults,
    value: &str,
    line: usize,
) -> Result<(), SdpError> {
    let (name, v) = split_attr(value);
    match (name, v) {
        ("group", Some(v)) => {
            let mut it = v.split_ascii_whitespace();
            let semantics = it.next().ok_or_else(|| bad_attr(line, "group"))?;
            if s.groups.len() >= MAX_GROUPS {
                return Err(too_many(line, "a=group lines", MAX_GROUPS));
            }
            let mids: Vec<String> = it.map(str::to_string).collect();
            if mids.len() > MAX_CONTENTS {
                return Err(too_many(line, "mids in a group", MAX_CONTENTS));
            }
            s.groups.push(Group {
                semantics: semantics.to_string(),
                mids,
            });
        }
        ("msid-semantic", Some(v)) => s.msid_semantic = Some(v.to_string()),
        ("ice-ufrag", Some(v)) => d.ufrag = Some(v.trim_ascii().to_string()),
        ("ice-pwd", Some(v)) => d.pwd = Some(v.trim_ascii().to_string()),
        ("ice-options", Some(v)) => {
            d.options = v.split_ascii_whitespace().map(str::to_string).collect()
        }
        ("fingerprint", Some(v)) => d.fingerprints.push(parse_fingerprint(v, line)?),
        ("setup", Some(v)) => d.setup = Some(v.trim_ascii().to_string()),
        ("extmap-allow-mixed", None) => d.extmap_allow_mixed = true,
        ("end-of-candidates", None) => d.end_of_candidates = true,
        ("sendrecv" | "sendonly" | "recvonly" | "inactive", None) => {
            d.direction = Direction::from_token(name)
        }
        _ => s.extra.push(value.to_string()),
    }
    Ok(())
}

fn media_attribute(m: &mut MediaState, value: &str, line: usize) -> Result<(), SdpError> {
    let (name, v) = split_attr(value);
    let c = &mut m.content;
    match (name, v) {
        ("mid", Some(v)) => {
            c.mid = v.trim_ascii().to_string();
            m.has_mid = true;
        }
        ("sendrecv" | "sendonly" | "recvonly" | "inactive", None) => {
            c.direction = Direction::from_token(name).unwrap_or_default();
            m.has_direction = true;
        }
        ("rtpmap", Some(v)) => {
            let (pt, rest) = pt_and_rest(v, line, "rtpmap")?;
            let pt: u8 = num(pt, line, "rtpmap payload type")?;
            // <name>/<clock rate>[/<channels>]
            let (name, rates) = split_at_byte(rest, b'/').unwrap_or((rest, ""));
            let name = name.to_string();
            let (clockrate, channels) = if rest.len() == name.len() {
                (0, None)
            } else {
                match split_at_byte(rates, b'/') {
                    Some((r, ch)) => {
                        let ch = split_at_byte(ch, b'/').map_or(ch, |(c, _)| c);
                        (
                            num(r, line, "rtpmap clock rate")?,
                            Some(num(ch, line, "rtpmap channels")?),
                        )
                    }
                    None => (num(rates, line, "rtpmap clock rate")?, None),
                }
            };
            match m.codec_mut(pt) {
                Some(codec) => {
                    codec.name = name;
                    codec.clockrate = clockrate;
                    codec.channels = channels;
                    codec.rtpmap = true;
                }
                None => m.content.extra.push(value.to_string()),
            }
        }
        ("fmtp", Some(v)) => {
            let (pt, rest) = pt_and_rest(v, line, "fmtp")?;
            let pt: u8 = num(pt, line, "fmtp payload type")?;
            match m.codec_mut(pt) {
                Some(codec) if codec.params.is_empty() => codec.params = parse_fmtp_params(rest),
                _ => m.content.extra.push(value.to_string()),
            }
        }
        ("rtcp-fb", Some(v)) => {
            let (pt, rest) = pt_and_rest(v, line, "rtcp-fb")?;
            let fb = parse_rtcp_fb(rest);
            if pt == "*" {
                c.rtcp_fb_all.push(fb);
            } else {
                let pt: u8 = num(pt, line, "rtcp-fb payload type")?;
                match m.codec_mut(pt) {
                    Some(codec) => codec.rtcp_fb.push(fb),
                    None => m.content.extra.push(value.to_string()),
                }
            }
        }
        ("extmap", Some(v)) => {
            let mut it = v.trim_ascii().splitn(3, ' ');
            let idd = it.next().unwrap_or("");
            let uri = it
                .next()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| bad_attr(line, "extmap"))?;
            let attributes = it.next().map(str::to_string);
            let (id, direction) = match idd.split_once('/') {
                Some((id, d)) => (
                    id,
                    Some(Direction::from_token(d).ok_or_else(|| bad_attr(line, "extmap"))?),
                ),
                None => (idd, None),
            };
            c.hdrexts.push(HeaderExtension {
                id: num(id, line, "extmap id")?,
                direction,
                uri: uri.to_string(),
                attributes,
            });
        }
        ("extmap-allow-mixed", None) => c.extmap_allow_mixed = true,
        ("ssrc", Some(v)) => {
            let (ssrc, rest) = split_at_byte(v, b' ').unwrap_or((v, ""));
            let ssrc: u32 = num(ssrc, line, "ssrc")?;
            let rest = rest.trim_ascii();
            let param = if rest.is_empty() {
                None
            } else {
                Some(match split_at_byte(rest, b':') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (rest.to_string(), None),
                })
            };
            // an ssrc's lines come one after another: the last source first
            let found = match c.sources.last() {
                Some(last) if last.ssrc == ssrc => Some(c.sources.len() - 1),
                _ => c.sources.iter().position(|s| s.ssrc == ssrc),
            };
            let src = match found {
                Some(i) => &mut c.sources[i],
                None => {
                    if c.sources.len() >= MAX_SOURCES {
                        return Err(too_many(line, "ssrcs in an m-line", MAX_SOURCES));
                    }
                    c.sources.push(Source {
                        ssrc,
                        params: Vec::new(),
                    });
                    let last = c.sources.len() - 1;
                    &mut c.sources[last]
                }
            };
            if let Some(p) = param {
                src.params.push(p);
            }
        }
        ("ssrc-group", Some(v)) => {
            let mut it = v.split_ascii_whitespace();
            let semantics = it
                .next()
                .ok_or_else(|| bad_attr(line, "ssrc-group"))?
                .to_string();
            let ssrcs = it
                .map(|s| num(s, line, "ssrc-group ssrc"))
                .collect::<Result<Vec<u32>, _>>()?;
            if ssrcs.len() > MAX_GROUP_SSRCS {
                return Err(too_many(line, "ssrcs in an ssrc group", MAX_GROUP_SSRCS));
            }
            if c.ssrc_groups.len() >= MAX_SOURCES {
                return Err(too_many(line, "ssrc groups in an m-line", MAX_SOURCES));
            }
            c.ssrc_groups.push(SsrcGroup { semantics, ssrcs });
        }
        ("msid", Some(v)) => {
            let mut it = v.split_ascii_whitespace();
            let stream = it.next().ok_or_else(|| bad_attr(line, "msid"))?;
            c.msids.push(Msid {
                stream: stream.to_string(),
                track: it.next().map(str::to_string),
            });
        }
        ("rid", Some(v)) => c
            .rids
            .push(crate::simulcast::parse_rid(v).map_err(|_| bad_attr(line, "rid"))?),
        ("simulcast", Some(v)) => {
            c.simulcast = Some(
                crate::simulcast::parse_simulcast(v).map_err(|_| bad_attr(line, "simulcast"))?,
            )
        }
        ("ice-ufrag", Some(v)) => {
            c.ice.ufrag = Some(v.trim_ascii().to_string());
        }
        ("ice-pwd", Some(v)) => {
            c.ice.pwd = Some(v.trim_ascii().to_string());
        }
        ("ice-options", Some(v)) => {
            c.ice.options = v.split_ascii_whitespace().map(str::to_string).collect();
        }
        ("candidate", Some(_)) => c.ice.candidates.push(parse_candidate(value, line)?),
        ("end-of-candidates", None) => c.ice.end_of_candidates = true,
        ("fingerprint", Some(v)) => c.dtls.fingerprints.push(parse_fingerprint(v, line)?),
        ("setup", Some(v)) => {
            c.dtls.setup = Some(v.trim_ascii().to_string());
        }
        ("rtcp-mux", None) => c.rtcp_mux = true,
        ("rtcp-mux-only", None) => c.rtcp_mux_only = true,
        ("rtcp-rsize", None) => c.rtcp_rsize = true,
        ("bundle-only", None) => c.bundle_only = true,
        ("rtcp", Some(_)) => {} // derived: RTCP port, always muxed in WebRTC
        ("sctp-port", Some(v)) => {
            c.sctp.get_or_insert_with(Sctp::default).port = Some(num(v, line, "sctp-port")?)
        }
        ("max-message-size", Some(v)) => {
            c.sctp.get_or_insert_with(Sctp::default).max_message_size =
                Some(num(v, line, "max-message-size")?)
        }
        ("sctpmap", Some(v)) => {
            let mut it = v.split_ascii_whitespace();
            let number = num(
                it.next().ok_or_else(|| bad_attr(line, "sctpmap"))?,
                line,
                "sctpmap number",
            )?;
            let protocol = it
                .next()
                .ok_or_else(|| bad_attr(line, "sctpmap"))?
                .to_string();
            let streams = match it.next() {
                Some(s) => Some(num(s, line, "sctpmap streams")?),
                None => None,
            };
            c.sctp.get_or_insert_with(Sctp::default).sctpmap = Some(SctpMap {
                number,
                protocol,
                streams,
            });
        }
        _ => c.extra.push(value.to_string()),
    }
    Ok(())
}

/// Ssrc groups whose ssrcs all have a `<source>`/`a=ssrc` description: Chromium rejects
/// groups naming undescribed ssrcs. (StanzaJS 12's FID groups are completed when read,
/// see [`crate::jingle::xep0339::complete_fid_groups`]; what remains undescribed is dropped.)
pub fn described_groups(c: &Content) -> impl Iterator<Item = &SsrcGroup> {
    c.ssrc_groups.iter().filter(move |g| {
        g.ssrcs
            .iter()
            .all(|s| c.sources.iter().any(|src| src.ssrc == *s))
    })
}

fn write_session(s: &Session) -> String {
    let mut o = String::with_capacity(4096);
    o.push_str("v=0\r\n");
    match &s.origin {
        Some(or) => {
            let _ = write!(
                o,
                "o={} {} {} {}\r\n",
                or.username, or.session_id, or.session_version, or.address
            );
        }
        None => o.push_str("o=- 1 2 IN IP4 127.0.0.1\r\n"),
    }
    o.push_str("s=-\r\nt=0 0\r\n");
    for g in &s.groups {
        let _ = write!(o, "a=group:{}", g.semantics);
        for m in &g.mids {
            o.push(' ');
            o.push_str(m);
        }
        o.push_str("\r\n");
    }
    let mut live_rtp = s
        .contents
        .iter()
        .filter(|c| c.is_rtp() && !c.rejected)
        .peekable();
    let mixed_at_session = live_rtp.peek().is_some() && live_rtp.all(|c| c.extmap_allow_mixed);
    if mixed_at_session {
        o.push_str("a=extmap-allow-mixed\r\n");
    }
    if let Some(ms) = &s.msid_semantic {
        let _ = write!(o, "a=msid-semantic:{ms}\r\n");
    }
    for e in &s.extra {
        let _ = write!(o, "a={e}\r\n");
    }
    for c in &s.contents {
        write_content(&mut o, c, mixed_at_session);
    }
    o
}

fn write_content(o: &mut String, c: &Content, mixed_at_session: bool) {
    let media = c.media.as_ref().map(Media::as_str).unwrap_or("audio");
    let port = if c.rejected || c.bundle_only { 0 } else { 9 };
    let protocol = if c.protocol.is_empty() {
        c.default_protocol()
    } else {
        &c.protocol
    };
    let _ = write!(o, "m={media} {port} {protocol}");
    if protocol.contains("RTP") {
        for codec in &c.codecs {
            o.push(' ');
            num_to(o, codec.pt);
        }
    } else {
        for f in &c.formats {
            let _ = write!(o, " {f}");
        }
    }
    o.push_str("\r\nc=IN IP4 0.0.0.0\r\n");
    for b in &c.bandwidths {
        let _ = write!(o, "b={}:{}\r\n", b.kind, b.value);
    }
    for cand in &c.ice.candidates {
        let _ = write!(o, "a={}\r\n", write_candidate(cand));
    }
    if c.ice.end_of_candidates {
        o.push_str("a=end-of-candidates\r\n");
    }
    if let Some(u) = &c.ice.ufrag {
        let _ = write!(o, "a=ice-ufrag:{u}\r\n");
    }
    if let Some(p) = &c.ice.pwd {
        let _ = write!(o, "a=ice-pwd:{p}\r\n");
    }
    if !c.ice.options.is_empty() {
        let _ = write!(o, "a=ice-options:{}\r\n", c.ice.options.join(" "));
    }
    for f in &c.dtls.fingerprints {
        let _ = write!(o, "a=fingerprint:{} {}\r\n", f.hash, f.value);
    }
    if let Some(setup) = &c.dtls.setup {
        let _ = write!(o, "a=setup:{setup}\r\n");
    }
    let _ = write!(o, "a=mid:{}\r\n", c.mid);
    if c.bundle_only {
        o.push_str("a=bundle-only\r\n");
    }
    for h in &c.hdrexts {
        o.push_str("a=extmap:");
        num_to(o, h.id);
        if let Some(d) = h.direction {
            o.push('/');
            o.push_str(d.as_str());
        }
        o.push(' ');
        o.push_str(&h.uri);
        if let Some(a) = &h.attributes {
            o.push(' ');
            o.push_str(a);
        }
        o.push_str("\r\n");
    }
    if c.extmap_allow_mixed && !(mixed_at_session && c.is_rtp() && !c.rejected) {
        o.push_str("a=extmap-allow-mixed\r\n");
    }
    if c.is_rtp() || c.direction != Direction::SendRecv {
        let _ = write!(o, "a={}\r\n", c.direction.as_str());
    }
    for m in &c.msids {
        let _ = write!(o, "a=msid:{}", m.stream);
        if let Some(t) = &m.track {
            let _ = write!(o, " {t}");
        }
        o.push_str("\r\n");
    }
    if c.rtcp_mux {
        o.push_str("a=rtcp-mux\r\n");
    }
    if c.rtcp_mux_only {
        o.push_str("a=rtcp-mux-only\r\n");
    }
    if c.rtcp_rsize {
        o.push_str("a=rtcp-rsize\r\n");
    }
    for codec in &c.codecs {
        if codec.rtpmap {
            o.push_str("a=rtpmap:");
            num_to(o, codec.pt);
            o.push(' ');
            o.push_str(&codec.name);
            o.push('/');
            num_to(o, codec.clockrate);
            if let Some(ch) = codec.channels {
                o.push('/');
                num_to(o, ch);
            }
            o.push_str("\r\n");
        }
        for fb in &codec.rtcp_fb {
            write_fb(o, Some(codec.pt), fb);
        }
        if !codec.params.is_empty() {
            o.push_str("a=fmtp:");
            num_to(o, codec.pt);
            o.push(' ');
            write_fmtp_params(o, &codec.params);
            o.push_str("\r\n");
        }
    }
    for fb in &c.rtcp_fb_all {
        write_fb(o, None, fb);
    }
    for r in &c.rids {
        let _ = write!(o, "a=rid:{} {}", r.id, r.direction.as_str());
        if !r.payload_types.is_empty() || !r.restrictions.is_empty() {
            o.push(' ');
            crate::simulcast::write_rid_params(o, r);
        }
        o.push_str("\r\n");
    }
    if let Some(sim) = &c.simulcast {
        o.push_str("a=simulcast:");
        crate::simulcast::write_simulcast(o, sim);
        o.push_str("\r\n");
    }
    for g in described_groups(c) {
        let _ = write!(o, "a=ssrc-group:{}", g.semantics);
        for s in &g.ssrcs {
            let _ = write!(o, " {s}");
        }
        o.push_str("\r\n");
    }
    for src in &c.sources {
        if src.params.is_empty() {
            // an ssrc without parameters still needs one line to exist
            let _ = write!(o, "a=ssrc:{}\r\n", src.ssrc);
        }
        for (n, v) in &src.params {
            o.push_str("a=ssrc:");
            num_to(o, src.ssrc);
            o.push(' ');
            o.push_str(n);
            if let Some(v) = v {
                o.push(':');
                o.push_str(v);
            }
            o.push_str("\r\n");
        }
    }
    if let Some(sctp) = &c.sctp {
        if let Some(p) = sctp.port {
            let _ = write!(o, "a=sctp-port:{p}\r\n");
        }
        if let Some(m) = sctp.max_message_size {
            let _ = write!(o, "a=max-message-size:{m}\r\n");
        }
        if let Some(m) = &sctp.sctpmap {
            let _ = write!(o, "a=sctpmap:{} {}", m.number, m.protocol);
            if let Some(s) = m.streams {
                let _ = write!(o, " {s}");
            }
            o.push_str("\r\n");
        }
    }
    for e in &c.extra {
        let _ = write!(o, "a={e}\r\n");
    }
}

fn write_fb(o: &mut String, pt: Option<u8>, fb: &RtcpFb) {
    o.push_str("a=rtcp-fb:");
    match pt {
        Some(pt) => num_to(o, pt),
        None => o.push('*'),
    }
    o.push(' ');
    o.push_str(&fb.kind);
    if let Some(s) = &fb.subtype {
        o.push(' ');
        o.push_str(s);
    }
    o.push_str("\r\n");
}

fn num_to(o: &mut String, v: impl Into<u64>) {
    crate::jingle::xml::push_num(o, v.into());
}
