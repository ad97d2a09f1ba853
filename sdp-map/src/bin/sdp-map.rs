//! `sdp-map` CLI: `to-jingle` (SDP on stdin -> one `<jingle>` element) and
//! `to-sdp` (Jingle XML on stdin -> SDP with CRLF line ends). `sdp-map --help`
//! and `sdp-map <command> --help` list every flag with its default.
//!
//! Exit codes: 0, 1 (the input is malformed; one line on stderr), 2 (usage).

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use sdp_map::{
    jingle_to_sdp, sdp_to_jingle, Action, Jingle, Reason, ReasonCondition, Role, SdpType, ToSdp,
};

/// Largest input read from stdin (larger input is an error, read no further).
const MAX_INPUT: u64 = 4 << 20;

/// SDP <-> Jingle (XEP-0166/0167/0176/0320/0338/0339/0293/0294/0343) translation.
///
/// Reads stdin, writes stdout; a malformed input is one line on stderr and exit code 1.
#[derive(Parser, Debug)]
#[command(name = "sdp-map", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// SDP on stdin -> one <jingle xmlns='urn:xmpp:jingle:1'> element on stdout.
    ToJingle(ToJingleArgs),
    /// Jingle XML on stdin (a <jingle> element, or an <iq> holding one) -> SDP on stdout.
    ///
    /// Only actions that carry a session description (session-initiate, session-accept,
    /// content-add, content-accept, description-info) have an SDP.
    ToSdp(ToSdpArgs),
}

#[derive(Args, Debug)]
struct ToJingleArgs {
    /// The Jingle action.
    #[arg(long, default_value = "session-initiate", value_parser = action_parser())]
    action: Action,
    /// Session id (an XML name token).
    #[arg(long, value_name = "SID")]
    sid: String,
    /// Full JID of the initiator (recommended for session-initiate).
    #[arg(long, value_name = "JID")]
    initiator: Option<String>,
    /// Full JID of the responder (recommended for session-accept).
    #[arg(long, value_name = "JID")]
    responder: Option<String>,
    /// Who wrote the SDP (decides `senders`) [default: who sends the action: the
    /// responder for session-accept and transport-accept, the creator for content-add, the
    /// other party for content-accept and content-reject, else the initiator]
    #[arg(long, value_enum)]
    from: Option<RoleArg>,
    /// `creator` of the contents.
    #[arg(long, value_enum, default_value_t = RoleArg::Initiator)]
    creator: RoleArg,
    /// A <reason> condition (e.g. for session-terminate) [default: none]
    #[arg(long, value_parser = reason_parser())]
    reason: Option<ReasonCondition>,
    /// The reason's <text> [default: none]
    #[arg(long, value_name = "TEXT", requires = "reason")]
    reason_text: Option<String>,
}

#[derive(Args, Debug)]
struct ToSdpArgs {
    /// Whether the SDP is an offer or an answer (decides `a=setup` when a fingerprint has
    /// no `setup`: actpass in offers, active in answers).
    #[arg(long = "type", value_name = "TYPE", value_enum, default_value_t = TypeArg::Offer)]
    sdp_type: TypeArg,
    /// Who wrote the Jingle (decides the SDP directions) [default: who sends the action,
    /// as for to-jingle]
    #[arg(long, value_enum)]
    from: Option<RoleArg>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    Initiator,
    Responder,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Initiator => Role::Initiator,
            RoleArg::Responder => Role::Responder,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum TypeArg {
    Offer,
    Answer,
}

fn action_parser() -> impl TypedValueParser<Value = Action> {
    PossibleValuesParser::new(Action::ALL.iter().map(|a| a.as_str()))
        .try_map(|s| Action::from_token(&s).ok_or("unknown action"))
}

fn reason_parser() -> impl TypedValueParser<Value = ReasonCondition> {
    PossibleValuesParser::new(ReasonCondition::ALL.iter().map(|r| r.as_str()))
        .try_map(|s| ReasonCondition::from_token(&s).ok_or("unknown reason"))
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

fn run(command: Command) -> Result<String, String> {
    let input = read_stdin()?;
    match command {
        Command::ToJingle(a) => {
            let envelope = Jingle {
                initiator: a.initiator,
                responder: a.responder,
                sdp_from: a.from.map(Role::from),
                creator: a.creator.into(),
                reason: a.reason.map(|condition| Reason {
                    condition,
                    text: a.reason_text,
                }),
                ..Jingle::new(a.action, a.sid)
            };
            sdp_to_jingle(&input, envelope).map_err(|e| e.to_string())
        }
        Command::ToSdp(a) => {
            let opts = ToSdp {
                sdp_type: match a.sdp_type {
                    TypeArg::Offer => SdpType::Offer,
                    TypeArg::Answer => SdpType::Answer,
                },
                from: a.from.map(Role::from),
            };
            jingle_to_sdp(&input, &opts).map_err(|e| e.to_string())
        }
    }
}

fn main() -> ExitCode {
    // usage errors exit with 2, --help and --version with 0 (clap's convention)
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            if !out.ends_with('\n') {
                let _ = stdout.write_all(b"\n");
            }
            ExitCode::SUCCESS
        }
        Err(m) => {
            eprintln!("sdp-map: {}", m.replace(['\r', '\n'], " "));
            ExitCode::from(1)
        }
    }
}
