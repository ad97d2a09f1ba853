//! Our bridge in a process of its own, so that its CPU time and memory are measured apart from
//! the load generator: the benchmark runs itself as `bridge-bench serve-bridge`, which drives a
//! [`BridgeHandle`] from JSON lines on stdin and writes its events as JSON lines on stdout.

use crate::sfu::{Inbox, Other, Result, Sfu, Sub};
use bridge::{BridgeConfig, BridgeHandle, Command, EndpointId, Event, ParticipantId, RoomId};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The child side: run the bridge on `bind` until stdin closes.
pub fn serve(bind: std::net::SocketAddr) -> std::io::Result<()> {
    let (handle, mut events) = BridgeHandle::spawn(BridgeConfig::new(bind))?;
    let stdout = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let line = |out: &std::sync::Mutex<std::io::Stdout>, v: Value| {
        let mut out = out.lock().unwrap();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    };
    line(&stdout, json!({"addr": handle.local_addr().to_string()}));
    let out = stdout.clone();
    std::thread::spawn(move || {
        while let Some(event) = events.blocking_recv() {
            let v = match event {
                Event::Answer { endpoint, sdp } => {
                    json!({"event": "answer", "endpoint": endpoint.0, "sdp": sdp})
                }
                Event::Offer { endpoint, sdp } => {
                    json!({"event": "offer", "endpoint": endpoint.0, "sdp": sdp})
                }
                Event::Connected { endpoint } => {
                    json!({"event": "connected", "endpoint": endpoint.0})
                }
                Event::Closed { endpoint, reason } => {
                    json!({"event": "closed", "endpoint": endpoint.0, "reason": format!("{reason:?}")})
                }
                Event::Refused { endpoint, error } => {
                    json!({"event": "refused", "endpoint": endpoint.0, "error": error.to_string()})
                }
                Event::DominantSpeaker { .. } => continue,
            };
            line(&out, v);
        }
    });
    let handle = std::sync::Arc::new(handle);
    if std::env::var_os("BENCH_DEBUG").is_some() {
        // how long the bridge thread takes to answer: it stalls if this grows
        let handle = handle.clone();
        std::thread::spawn(move || {
            let mut last = None;
            loop {
                std::thread::sleep(std::time::Duration::from_millis(250));
                let t = Instant::now();
                let Some(s) = handle.stats_blocking() else {
                    break;
                };
                let took = t.elapsed();
                if took > Duration::from_millis(50) || last != Some(s.connected_endpoints) {
                    eprintln!(
                        "bridge answered stats in {took:?}: {} connected of {}, {} forwarded, {} dropped",
                        s.connected_endpoints,
                        s.endpoints,
                        s.packets_forwarded,
                        s.datagrams_dropped
                    );
                }
                last = Some(s.connected_endpoints);
            }
        });
    }
    for input in std::io::stdin().lock().lines() {
        let input = input?;
        let Ok(v) = serde_json::from_str::<Value>(&input) else {
            continue;
        };
        let endpoint = EndpointId(v["endpoint"].as_u64().unwrap_or(0));
        let room = RoomId(v["room"].as_u64().unwrap_or(0));
        let command = match v["cmd"].as_str().unwrap_or("") {
            "publish" => Command::Publish {
                endpoint,
                room,
                participant: ParticipantId(v["participant"].as_u64().unwrap_or(0)),
                offer: v["sdp"].as_str().unwrap_or("").to_owned(),
            },
            "subscribe" => Command::Subscribe {
                endpoint,
                room,
                subscriber: ParticipantId(v["subscriber"].as_u64().unwrap_or(0)),
                publisher: ParticipantId(v["publisher"].as_u64().unwrap_or(0)),
            },
            "answer" => Command::Answer {
                endpoint,
                answer: v["sdp"].as_str().unwrap_or("").to_owned(),
            },
            "constrain" => Command::Constrain {
                endpoint,
                max_height: v["max_height"].as_u64().unwrap_or(0) as u32,
            },
            "stats" => {
                if let Some(s) = handle.stats_blocking() {
                    line(
                        &stdout,
                        json!({"event": "stats", "packets_forwarded": s.packets_forwarded,
                               "endpoints": s.endpoints, "connected": s.connected_endpoints,
                               "dropped": s.datagrams_dropped,
                               "keyframe_requests": s.keyframe_requests_relayed}),
                    );
                }
                continue;
            }
            _ => continue,
        };
        handle.send(command);
    }
    Ok(())
}

/// The benchmark's side of the child.
pub struct Ours {
    child: Child,
    stdin: ChildStdin,
    events: Inbox,
    next_endpoint: u64,
    /// participant -> publishing endpoint
    publishing: std::collections::HashMap<u32, u64>,
}

impl Ours {
    pub fn start(address: std::net::IpAddr) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut command = std::process::Command::new(exe);
        command
            .args([
                "serve-bridge",
                "--bind",
                &std::net::SocketAddr::new(address, 0).to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = testbed::process::spawn_owned(&mut command)?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        let mut ours = Self {
            child,
            stdin,
            events: Inbox::new(events, "the bridge"),
            next_endpoint: 1,
            publishing: std::collections::HashMap::new(),
        };
        ours.wait(|v| v.get("addr").is_some())
            .map_err(std::io::Error::other)?;
        Ok(ours)
    }

    fn send(&mut self, v: Value) -> Result<()> {
        writeln!(self.stdin, "{v}").map_err(|e| e.to_string())
    }

    fn wait(&mut self, pick: impl FnMut(&Value) -> bool) -> Result<Value> {
        self.events.wait(pick, |v| {
            if v["event"] == "refused" {
                Other::Fail(format!("bridge refused: {v}"))
            } else if v["event"] == "closed" {
                eprintln!("bridge: {v}");
                Other::Drop
            } else {
                Other::Keep
            }
        })
    }

    fn endpoint(&mut self) -> u64 {
        self.next_endpoint += 1;
        self.next_endpoint
    }

    fn stats_json(&mut self) -> Option<Value> {
        self.send(json!({"cmd": "stats"})).ok()?;
        self.wait(|v| v["event"] == "stats").ok()
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        testbed::process::terminate_group(&mut self.child, Duration::from_secs(2));
    }
}

impl Sfu for Ours {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn create_room(&mut self, _room: u32) -> Result<()> {
        Ok(())
    }

    fn publish(&mut self, room: u32, participant: u32, offer: String) -> Result<String> {
        let endpoint = self.endpoint();
        self.send(json!({"cmd": "publish", "endpoint": endpoint, "room": room,
                         "participant": participant, "sdp": offer}))?;
        let v = self.wait(|v| v["event"] == "answer" && v["endpoint"] == endpoint)?;
        self.publishing.insert(participant, endpoint);
        Ok(v["sdp"].as_str().unwrap_or("").to_owned())
    }

    fn published(&mut self, participant: u32) -> Result<()> {
        let endpoint = *self.publishing.get(&participant).ok_or("not publishing")?;
        self.wait(|v| v["event"] == "connected" && v["endpoint"] == endpoint)?;
        // the subscriptions' connected events are not waited for: drop them
        self.events.forget(|v| v["event"] == "connected");
        Ok(())
    }

    fn subscribe(&mut self, room: u32, pairs: &[(u32, u32)]) -> Result<Vec<(Sub, String)>> {
        let mut endpoints = Vec::new();
        for &(subscriber, publisher) in pairs {
            let endpoint = self.endpoint();
            self.send(
                json!({"cmd": "subscribe", "endpoint": endpoint, "room": room,
                             "subscriber": subscriber, "publisher": publisher}),
            )?;
            endpoints.push(endpoint);
        }
        let mut offers = Vec::new();
        for endpoint in endpoints {
            let v = self.wait(|v| v["event"] == "offer" && v["endpoint"] == endpoint)?;
            offers.push((Sub(endpoint), v["sdp"].as_str().unwrap_or("").to_owned()));
        }
        Ok(offers)
    }

    fn answer(&mut self, answers: Vec<(Sub, String)>) -> Result<()> {
        for (sub, sdp) in answers {
            self.send(json!({"cmd": "answer", "endpoint": sub.0, "sdp": sdp}))?;
        }
        Ok(())
    }

    fn packets_forwarded(&mut self) -> Option<u64> {
        self.stats_json()?["packets_forwarded"].as_u64()
    }

    fn stats(&mut self) -> Option<String> {
        self.stats_json().map(|v| v.to_string())
    }

    fn constrain(&mut self, subs: &[(Sub, bool)]) -> Result<()> {
        for &(sub, large) in subs {
            let max_height = if large { 720 } else { 180 };
            self.send(json!({"cmd": "constrain", "endpoint": sub.0, "max_height": max_height}))?;
        }
        Ok(())
    }
}
