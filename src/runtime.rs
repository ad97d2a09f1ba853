//! The tokio glue: keeps the component attached (reconnecting with backoff), reads stanzas
//! at the edge and feeds the sans-IO [`Focus`] typed inputs with the time, feeds the
//! keepalive with time, and carries out every output they return.
//!
//! The focus outlives connections: a reconnection keeps every in-memory state.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use minidom::Element;
use tokio::time::Instant;
use tokio_xmpp::xmlstream::{ReadError, Timeouts};

use crate::config::Config;
use bridge::BridgeHandle;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::focus::bridge::Event;
use crate::focus::{Focus, Input, Output};
use crate::xmpp::connection::{self, ConnectError, Stream, NS_STREAMS};
use crate::xmpp::edge::{self, Rejection};
use crate::xmpp::keepalive::{Keepalive, KeepaliveAction};

/// First retry delay; doubled after each failure up to [`Config::reconnect_max_delay`].
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// How long a clean shutdown may spend closing the stream.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How a connected session ended.
enum End {
    Shutdown,
    Lost(String),
}

/// Runs until `shutdown` resolves (Ok) or the server refuses the component for good (Err),
/// driving `bridge` with the focus's commands and feeding its `events` back.
pub async fn run(
    config: &Config,
    bridge: &BridgeHandle,
    mut events: UnboundedReceiver<Event>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ConnectError> {
    let mut shutdown = pin!(shutdown);
    let mut focus = Focus::new(config.focus(), random_seed(), Instant::now().into_std());
    let mut delay = FIRST_RETRY;
    loop {
        let attempt = connection::connect(
            &config.xmpp_server,
            &config.domain,
            &config.secret,
            timeouts(config),
        );
        let result = tokio::select! {
            result = attempt => result,
            () = shutdown.as_mut() => return Ok(()),
        };
        match result {
            Ok(stream) => {
                delay = FIRST_RETRY;
                tracing::info!(domain = %config.domain, server = %config.xmpp_server,
                    media = %bridge.local_addr(), "component online");
                focus.handle(Input::Connected, Instant::now().into_std());
                let mut link = Link {
                    focus: &mut focus,
                    bridge,
                    events: &mut events,
                };
                let end = link.serve(stream, config, shutdown.as_mut()).await;
                focus.handle(Input::Disconnected, Instant::now().into_std());
                match end {
                    End::Shutdown => return Ok(()),
                    End::Lost(why) => tracing::warn!(%why, "connection lost, reconnecting"),
                }
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64,
                    "cannot connect, retrying");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shutdown.as_mut() => return Ok(()),
                }
                delay = (delay * 2).min(config.reconnect_max_delay);
            }
        }
    }
}

/// tokio-xmpp's own silence timers, as a backstop behind the keepalive.
fn timeouts(config: &Config) -> Timeouts {
    Timeouts {
        read_timeout: config.keepalive_interval + config.keepalive_timeout,
        response_timeout: config.keepalive_timeout * 2,
    }
}

/// What one connected session of the component drives: the focus and the bridge.
struct Link<'a> {
    focus: &'a mut Focus,
    bridge: &'a BridgeHandle,
    events: &'a mut UnboundedReceiver<Event>,
}

impl Link<'_> {
    async fn serve(
        &mut self,
        mut stream: Stream,
        config: &Config,
        mut shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> End {
        let mut keepalive = Keepalive::new(
            &config.domain,
            &config.server_domain,
            config.keepalive_interval,
            config.keepalive_timeout,
            Instant::now().into_std(),
        );
        // What the focus did while disconnected (timers, the `Connected` input) goes out first.
        let mut focus_wake = match self.flush(&mut stream).await {
            Ok(wake) => wake,
            Err(e) => return End::Lost(e.to_string()),
        };
        loop {
            let wake = Instant::from_std(keepalive.deadline());
            let focus_due = async {
                match focus_wake {
                    Some(at) => tokio::time::sleep_until(Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.as_mut() => {
                    let _ = tokio::time::timeout(CLOSE_GRACE, stream.shutdown()).await;
                    return End::Shutdown;
                }
                () = focus_due => {
                    self.focus.handle(Input::Timeout, Instant::now().into_std());
                }
                Some(event) = self.events.recv() => {
                    self.focus.handle(Input::Bridge(event), Instant::now().into_std());
                    // Take every event already there before writing.
                    while let Ok(event) = self.events.try_recv() {
                        self.focus.handle(Input::Bridge(event), Instant::now().into_std());
                    }
                }
                () = tokio::time::sleep_until(wake) => {
                    match keepalive.poll(Instant::now().into_std()) {
                        Some(KeepaliveAction::Send(ping)) => {
                            if let Err(e) = stream.send(&ping).await {
                                return End::Lost(e.to_string());
                            }
                        }
                        Some(KeepaliveAction::Dead) => return End::Lost("keepalive ping unanswered".into()),
                        None => {}
                    }
                    continue;
                }
                item = stream.next() => {
                    keepalive.heard(Instant::now().into_std());
                    if let Err(end) = self.receive(&mut stream, item).await {
                        return end;
                    }
                    // Take everything already buffered before writing: replies leave in one batch.
                    while let Some(item) = stream.next().now_or_never() {
                        if let Err(end) = self.receive(&mut stream, item).await {
                            return end;
                        }
                    }
                }
            }
            focus_wake = match self.flush(&mut stream).await {
                Ok(wake) => wake,
                Err(e) => return End::Lost(e.to_string()),
            };
        }
    }

    /// Reads one element at the edge and hands the stanza to the focus; the edge answers what
    /// it refuses itself. `Err` when the connection is over.
    async fn receive(
        &mut self,
        stream: &mut Stream,
        item: Option<Result<Element, ReadError>>,
    ) -> Result<(), End> {
        match item {
            Some(Ok(el)) if el.is("error", NS_STREAMS) => Err(End::Lost(format!(
                "stream error {}",
                connection::stream_error_condition(&el)
            ))),
            Some(Ok(el)) => {
                match edge::read(&el) {
                    Ok(stanza) => self
                        .focus
                        .handle(Input::Stanza(stanza), Instant::now().into_std()),
                    Err(Rejection::Reply(reply)) => {
                        if let Err(e) = stream.feed(&reply).await {
                            return Err(End::Lost(e.to_string()));
                        }
                    }
                    Err(Rejection::Drop(why)) => tracing::debug!(why, "dropped a stanza"),
                }
                Ok(())
            }
            Some(Err(ReadError::SoftTimeout)) => Ok(()),
            Some(Err(ReadError::ParseError(e))) => {
                tracing::warn!(error = %e, "skipped an element that could not be read");
                Ok(())
            }
            Some(Err(ReadError::HardError(e))) => Err(End::Lost(e.to_string())),
            Some(Err(ReadError::StreamFooterReceived)) | None => {
                Err(End::Lost("the server closed the stream".into()))
            }
        }
    }

    /// Carries out every pending output of the focus, then flushes the stream once; returns
    /// when the focus next wants [`Input::Timeout`].
    async fn flush(&mut self, stream: &mut Stream) -> std::io::Result<Option<std::time::Instant>> {
        loop {
            match self.focus.poll_output() {
                Output::Send(stanza) => stream.feed(&edge::write(stanza)).await?,
                Output::Bridge(command) => self.bridge.send(command),
                Output::BridgeStats(request) => {
                    let stats = self.bridge.stats().await.unwrap_or_default();
                    let input = Input::BridgeStats {
                        request: *request,
                        stats,
                    };
                    self.focus.handle(input, Instant::now().into_std());
                }
                Output::Timeout(wake) => {
                    SinkExt::<&Element>::flush(stream).await?;
                    return Ok(wake);
                }
            }
        }
    }
}

/// A seed for the focus's session ids, from the randomness std keys its hash maps with.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}
