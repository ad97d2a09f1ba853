//! Keeping the component link alive with XEP-0199 pings to the server.
//!
//! [`Keepalive`] is sans-IO: the runtime passes the time in and sends what it returns. A
//! link that has been silent for `interval` gets a ping to the server; one that stays
//! silent for `timeout` after that is declared dead, so the runtime reconnects instead of
//! waiting for TCP to notice.

use std::time::{Duration, Instant};

use minidom::Element;

use super::edge::{xml_name, NS_COMPONENT};

const NS_PING: &str = "urn:xmpp:ping";

/// What the keepalive wants done.
#[derive(Debug, PartialEq)]
pub enum KeepaliveAction {
    Send(Element),
    /// Nothing was heard for too long: drop the connection and reconnect.
    Dead,
}

/// Idle detection for one connection.
#[derive(Debug)]
pub struct Keepalive {
    from: String,
    to: String,
    interval: Duration,
    timeout: Duration,
    last_heard: Instant,
    outstanding: Option<(String, Instant)>,
    counter: u64,
}

impl Keepalive {
    /// `from` is the component domain, `to` the server it is attached to.
    pub fn new(from: &str, to: &str, interval: Duration, timeout: Duration, now: Instant) -> Self {
        Keepalive {
            from: from.into(),
            to: to.into(),
            interval,
            timeout,
            last_heard: now,
            outstanding: None,
            counter: 0,
        }
    }

    /// Anything received proves the link alive.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = now;
        self.outstanding = None;
    }

    /// When [`Keepalive::poll`] next has something to do.
    pub fn deadline(&self) -> Instant {
        match &self.outstanding {
            Some((_, sent)) => *sent + self.timeout,
            None => self.last_heard + self.interval,
        }
    }

    /// Called at or after [`Keepalive::deadline`].
    pub fn poll(&mut self, now: Instant) -> Option<KeepaliveAction> {
        match &self.outstanding {
            Some((_, sent)) if now >= *sent + self.timeout => Some(KeepaliveAction::Dead),
            Some(_) => None,
            None if now >= self.last_heard + self.interval => {
                self.counter += 1;
                let id = format!("keepalive-{}", self.counter);
                self.outstanding = Some((id.clone(), now));
                Some(KeepaliveAction::Send(self.ping(&id)))
            }
            None => None,
        }
    }

    fn ping(&self, id: &str) -> Element {
        Element::builder("iq", NS_COMPONENT)
            .attr(xml_name("type"), "get")
            .attr(xml_name("id"), id)
            .attr(xml_name("from"), self.from.as_str())
            .attr(xml_name("to"), self.to.as_str())
            .append(Element::bare("ping", NS_PING))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_when_idle_and_declares_dead_without_answer() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut k = Keepalive::new("focus.x", "x", 30 * s, 10 * s, t0);
        assert_eq!(k.poll(t0 + 29 * s), None);
        assert_eq!(k.deadline(), t0 + 30 * s);
        let Some(KeepaliveAction::Send(ping)) = k.poll(t0 + 30 * s) else {
            panic!("expected a ping");
        };
        assert_eq!(ping.attr("to"), Some("x"));
        assert_eq!(k.poll(t0 + 39 * s), None);
        assert_eq!(k.poll(t0 + 40 * s), Some(KeepaliveAction::Dead));
    }

    #[test]
    fn traffic_postpones_the_ping() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut k = Keepalive::new("focus.x", "x", 30 * s, 10 * s, t0);
        k.heard(t0 + 25 * s);
        assert_eq!(k.poll(t0 + 30 * s), None);
        assert_eq!(k.deadline(), t0 + 55 * s);
        assert!(matches!(
            k.poll(t0 + 55 * s),
            Some(KeepaliveAction::Send(_))
        ));
        k.heard(t0 + 56 * s);
        assert_eq!(k.poll(t0 + 66 * s), None);
    }
}
