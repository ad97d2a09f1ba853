//! The tokio glue: keeps the component attached (reconnecting with backoff), feeds the
//! sans-IO [`Focus`] with stanzas and the keepalive with time, and writes what they return.
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
use crate::focus::{Focus, Output};
use crate::xmpp::connection::{self, ConnectError, Stream, NS_STREAMS};
use crate::xmpp::ping::{Keepalive, KeepaliveAction};

/// First retry delay; doubled after each failure up to [`Config::reconnect_max_delay`].
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// How long a clean shutdown may spend closing the stream.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How a connected session ended.
enum End {
    Shutdown,
    Lost(String),
}

/// Runs until `shutdown` resolves (Ok) or the server refuses the component for good (Err).
pub async fn run(config: &Config, shutdown: impl Future<Output = ()>) -> Result<(), ConnectError> {
    let mut shutdown = pin!(shutdown);
    let mut focus = Focus::new(&config.domain);
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
                    "component online");
                match serve(&mut focus, stream, config, shutdown.as_mut()).await {
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

async fn serve(
    focus: &mut Focus,
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
    loop {
        let wake = Instant::from_std(keepalive.deadline());
        tokio::select! {
            () = shutdown.as_mut() => {
                let _ = tokio::time::timeout(CLOSE_GRACE, stream.shutdown()).await;
                return End::Shutdown;
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
            }
            item = stream.next() => {
                keepalive.heard(Instant::now().into_std());
                if let Err(end) = receive(focus, item) {
                    return end;
                }
                // Take everything already buffered before writing: replies leave in one batch.
                while let Some(item) = stream.next().now_or_never() {
                    if let Err(end) = receive(focus, item) {
                        return end;
                    }
                }
                if let Err(e) = flush(focus, &mut stream).await {
                    return End::Lost(e.to_string());
                }
            }
        }
    }
}

/// Hands one read result to the focus; `Err` when the connection is over.
fn receive(focus: &mut Focus, item: Option<Result<Element, ReadError>>) -> Result<(), End> {
    match item {
        Some(Ok(el)) if el.is("error", NS_STREAMS) => Err(End::Lost(format!(
            "stream error {}",
            connection::stream_error_condition(&el)
        ))),
        Some(Ok(el)) => {
            focus.handle_stanza(&el);
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

async fn flush(focus: &mut Focus, stream: &mut Stream) -> std::io::Result<()> {
    let mut any = false;
    while let Some(Output::Send(stanza)) = focus.poll_output() {
        stream.feed(&stanza).await?;
        any = true;
    }
    if any {
        SinkExt::<&Element>::flush(stream).await?;
    }
    Ok(())
}
