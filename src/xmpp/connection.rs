//! The XEP-0114 component connection: TCP, stream header, handshake.
//!
//! Built on tokio-xmpp's XML stream, read as plain [`Element`]s: a stanza that a strict
//! typed parser would refuse (say, an IQ without `id`) must reach the focus so that it
//! can answer `bad-request`, instead of ending the stream.

use std::io;

use futures::{SinkExt, StreamExt};
use minidom::Element;
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio_xmpp::parsers::component::Handshake;
use tokio_xmpp::xmlstream::{initiate_stream, ReadError, StreamHeader, Timeouts, XmlStream};

use super::edge::NS_COMPONENT;

/// The stream namespace, where stream errors live.
pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
/// Stream error conditions (RFC 6120 §4.9.3).
const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// An established component stream.
pub type Stream = XmlStream<BufStream<TcpStream>, Element>;

/// Why the component could not attach to the server.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach the XMPP server at {addr}: {source}")]
    Unreachable { addr: String, source: io::Error },
    #[error("the XMPP server at {addr} refused the component {domain}: wrong secret, or no such component domain configured (not-authorized)")]
    NotAuthorized { addr: String, domain: String },
    #[error(
        "the XMPP server at {addr} does not accept the component domain {domain} ({condition})"
    )]
    DomainRefused {
        addr: String,
        domain: String,
        condition: String,
    },
    #[error("the XMPP server at {addr} ended the handshake: {reason}")]
    Handshake { addr: String, reason: String },
}

impl ConnectError {
    /// Fatal errors need an operator (fix the secret or the domain); retrying cannot help.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ConnectError::NotAuthorized { .. } | ConnectError::DomainRefused { .. }
        )
    }
}

/// Connects to `addr` and authenticates as `domain` with `secret`.
pub async fn connect(
    addr: &str,
    domain: &str,
    secret: &str,
    timeouts: Timeouts,
) -> Result<Stream, ConnectError> {
    let unreachable = |source| ConnectError::Unreachable {
        addr: addr.into(),
        source,
    };
    let tcp = TcpStream::connect(addr).await.map_err(unreachable)?;
    tcp.set_nodelay(true).map_err(unreachable)?;
    let header = StreamHeader {
        from: None,
        to: Some(domain.into()),
        id: None,
    };
    let handshake_error = |reason: String| ConnectError::Handshake {
        addr: addr.into(),
        reason,
    };
    let mut pending = initiate_stream(BufStream::new(tcp), NS_COMPONENT, header, timeouts)
        .await
        .map_err(|e| handshake_error(e.to_string()))?;
    let stream_id = pending
        .take_header()
        .id
        .ok_or_else(|| handshake_error("the stream header has no id".into()))?;
    let mut stream: Stream = pending.skip_features();
    let handshake = Element::from(Handshake::from_stream_id_and_password(
        stream_id.into_owned(),
        secret,
    ));
    stream
        .send(&handshake)
        .await
        .map_err(|e| handshake_error(e.to_string()))?;
    loop {
        match stream.next().await {
            Some(Ok(el)) if el.is("handshake", NS_COMPONENT) => return Ok(stream),
            Some(Ok(el)) if el.is("error", NS_STREAMS) => {
                return Err(refusal(addr, domain, &stream_error_condition(&el)))
            }
            Some(Ok(el)) => return Err(handshake_error(format!("unexpected <{}/>", el.name()))),
            Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(e)) => return Err(handshake_error(e.to_string())),
            None => return Err(handshake_error("connection closed".into())),
        }
    }
}

/// The condition element's name in a `<stream:error/>`.
pub fn stream_error_condition(error: &Element) -> String {
    error
        .children()
        .find(|c| c.ns() == NS_STREAM_ERRORS && c.name() != "text")
        .map(|c| c.name().to_string())
        .unwrap_or_else(|| "undefined-condition".into())
}

fn refusal(addr: &str, domain: &str, condition: &str) -> ConnectError {
    let (addr, domain) = (addr.to_string(), domain.to_string());
    match condition {
        "not-authorized" => ConnectError::NotAuthorized { addr, domain },
        "host-unknown" | "improper-addressing" | "invalid-from" | "conflict" => {
            ConnectError::DomainRefused {
                addr,
                domain,
                condition: condition.into(),
            }
        }
        other => ConnectError::Handshake {
            addr,
            reason: format!("stream error {other}"),
        },
    }
}
