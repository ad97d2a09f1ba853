//! `sdp-map` CLI: `to-jingle` (SDP on stdin -> one `<jingle>` element) and
//! `to-sdp` (Jingle XML on stdin -> SDP with CRLF line ends).
//!
//! ```text
//! sdp-map to-jingle --action session-initiate --sid SID --initiator JID [--responder JID]
//!                   [--from initiator|responder] [--creator initiator|responder]
//!                   [--reason CONDITION [--reason-text TEXT]] < in.sdp
//! sdp-map to-sdp [--type offer|answer] [--from initiator|responder] < in.xml
//! ```
//! Errors: exit code 2 (usage) or 1 (input), one line on stderr.

use std::io::{Read, Write};
use std::process::ExitCode;

use sdp_map::{
    jingle_to_sdp, sdp_to_jingle, Action, Reason, ReasonCondition, Role, SdpType, ToJingle, ToSdp,
};

const USAGE: &str = "usage: sdp-map to-jingle --action ACTION --sid SID [--initiator JID] [--responder JID] [--from initiator|responder] [--creator initiator|responder] [--reason COND] [--reason-text TEXT] < in.sdp | sdp-map to-sdp [--type offer|answer] [--from initiator|responder] < in.xml";

/// Largest input read from stdin (larger input is an error, read no further).
const MAX_INPUT: u64 = 4 << 20;

fn role(v: &str) -> Result<Role, String> {
    match v {
        "initiator" => Ok(Role::Initiator),
        "responder" => Ok(Role::Responder),
        _ => Err(format!("invalid role '{v}' (initiator|responder)")),
    }
}

fn read_stdin() -> Result<String, String> {
    let mut buf = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("reading stdin: {e}"))?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(format!("input larger than {MAX_INPUT} bytes"));
    }
    String::from_utf8(buf).map_err(|e| format!("input is not UTF-8: {e}"))
}

enum Failure {
    Usage(String),
    Input(String),
}

fn run(args: &[String]) -> Result<String, Failure> {
    let usage = |m: String| Failure::Usage(m);
    let (cmd, rest) = args
        .split_first()
        .ok_or_else(|| usage("missing command".into()))?;
    let mut pairs = Vec::new();
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| usage(format!("{flag} needs a value")))?;
        pairs.push((flag.as_str(), value.as_str()));
    }
    match cmd.as_str() {
        "to-jingle" => {
            let mut o = ToJingle::default();
            let mut reason_text = None;
            for (k, v) in pairs {
                match k {
                    "--action" => {
                        o.action = Action::from_token(v)
                            .ok_or_else(|| usage(format!("unknown action '{v}'")))?
                    }
                    "--sid" => o.sid = v.to_string(),
                    "--initiator" => o.initiator = Some(v.to_string()),
                    "--responder" => o.responder = Some(v.to_string()),
                    "--from" => o.sdp_from = Some(role(v).map_err(usage)?),
                    "--creator" => o.creator = role(v).map_err(usage)?,
                    "--reason" => {
                        let condition = ReasonCondition::from_token(v)
                            .ok_or_else(|| usage(format!("unknown reason '{v}'")))?;
                        o.reason = Some(Reason {
                            condition,
                            text: None,
                        })
                    }
                    "--reason-text" => reason_text = Some(v.to_string()),
                    _ => return Err(usage(format!("unknown option {k}"))),
                }
            }
            if o.sid.is_empty() {
                return Err(usage("--sid is required".into()));
            }
            if let (Some(r), Some(t)) = (o.reason.as_mut(), reason_text) {
                r.text = Some(t);
            }
            let input = read_stdin().map_err(Failure::Input)?;
            sdp_to_jingle(&input, &o).map_err(|e| Failure::Input(e.to_string()))
        }
        "to-sdp" => {
            let mut o = ToSdp::default();
            for (k, v) in pairs {
                match k {
                    "--type" => {
                        o.sdp_type = match v {
                            "offer" => SdpType::Offer,
                            "answer" => SdpType::Answer,
                            _ => return Err(usage(format!("invalid type '{v}' (offer|answer)"))),
                        }
                    }
                    "--from" => o.from = Some(role(v).map_err(usage)?),
                    _ => return Err(usage(format!("unknown option {k}"))),
                }
            }
            let input = read_stdin().map_err(Failure::Input)?;
            jingle_to_sdp(&input, &o).map_err(|e| Failure::Input(e.to_string()))
        }
        "-h" | "--help" | "help" => Ok(format!("{USAGE}\n")),
        other => Err(usage(format!("unknown command '{other}'"))),
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            if !out.ends_with('\n') {
                let _ = stdout.write_all(b"\n");
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(m)) => {
            eprintln!("sdp-map: {}; {USAGE}", one_line(&m));
            ExitCode::from(2)
        }
        Err(Failure::Input(m)) => {
            eprintln!("sdp-map: {}", one_line(&m));
            ExitCode::from(1)
        }
    }
}
