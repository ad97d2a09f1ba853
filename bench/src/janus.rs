//! The reference: Debian's Janus (VideoRoom plugin, HTTP transport) as a child process with a
//! generated configuration in a temporary directory: only the videoroom plugin and the HTTP
//! transport are loaded, ICE gathers on loopback only, no STUN. Driven through its HTTP API:
//! one session, a handle per publisher (`joinandconfigure` with the offer) and a handle per
//! subscription (`join` as subscriber to one feed, `start` with the answer, `configure` for the
//! substream) — the same sessions as XEP-0521 gives our bridge.

use crate::sfu::{DEADLINE, Inbox, Other, Result, Sfu, Sub};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

const JANUS: &str = "/usr/bin/janus";
const LIB: &str = "/usr/lib/x86_64-linux-gnu/janus";

pub fn available() -> bool {
    Path::new(JANUS).exists()
        && Path::new(LIB)
            .join("plugins/libjanus_videoroom.so")
            .exists()
}

pub struct Janus {
    child: Child,
    _dir: tempfile::TempDir,
    base: String,
    session: u64,
    agent: ureq::Agent,
    events: Inbox,
    stop: Arc<AtomicBool>,
    transaction: u64,
    control: u64,
    /// participant -> (feed id, publishing handle)
    feeds: HashMap<u32, (u64, u64)>,
    /// subscription handle -> video mid
    video_mids: HashMap<u64, String>,
}

fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    std::fs::write(dir.join(name), text)
}

impl Janus {
    pub fn start(address: std::net::IpAddr) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let d = dir.path();
        for sub in ["plugins", "transports", "none"] {
            std::fs::create_dir(d.join(sub))?;
        }
        std::os::unix::fs::symlink(
            Path::new(LIB).join("plugins/libjanus_videoroom.so"),
            d.join("plugins/libjanus_videoroom.so"),
        )?;
        std::os::unix::fs::symlink(
            Path::new(LIB).join("transports/libjanus_http.so"),
            d.join("transports/libjanus_http.so"),
        )?;
        let port = testbed::process::free_port()?;
        let p = d.display();
        write(
            d,
            "janus.jcfg",
            &format!(
                r#"general: {{
	configs_folder = "{p}"
	plugins_folder = "{p}/plugins"
	transports_folder = "{p}/transports"
	events_folder = "{p}/none"
	loggers_folder = "{p}/none"
	debug_level = 3
	session_timeout = 0
}}
media: {{
	ipv6 = false
}}
nat: {{
	nice_debug = false
	ice_enforce_list = "{address}"
	ignore_mdns = true
}}
"#
            ),
        )?;
        write(
            d,
            "janus.transport.http.jcfg",
            &format!(
                r#"general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
}}
"#
            ),
        )?;
        write(d, "janus.plugin.videoroom.jcfg", "general: {\n}\n")?;
        let log = std::fs::File::create(d.join("janus.log"))?;
        let mut command = std::process::Command::new(JANUS);
        command
            .arg("-F")
            .arg(d)
            .arg("-C")
            .arg(d.join("janus.jcfg"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = testbed::process::spawn_owned(&mut command)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}/janus");
        // wait for the HTTP transport
        let end = Instant::now() + DEADLINE;
        let session = loop {
            let reply = agent
                .post(&base)
                .send(json!({"janus": "create", "transaction": "0"}).to_string())
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|s| serde_json::from_str::<Value>(&s).ok());
            if let Some(id) = reply.as_ref().and_then(|v| v["data"]["id"].as_u64()) {
                break id;
            }
            if Instant::now() > end {
                return Err(std::io::Error::other(format!(
                    "janus did not start; its log: {}",
                    std::fs::read_to_string(d.join("janus.log")).unwrap_or_default()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let (tx, events) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (agent, url, stop) = (
                agent.clone(),
                format!("{base}/{session}?maxev=50"),
                stop.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut reply) = agent.get(&url).call() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    let Ok(text) = reply.body_mut().read_to_string() else {
                        continue;
                    };
                    let Ok(v) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    let list = match v {
                        Value::Array(list) => list,
                        v => vec![v],
                    };
                    for v in list {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        let mut janus = Self {
            child,
            _dir: dir,
            base,
            session,
            agent,
            events: Inbox::new(events, "janus"),
            stop,
            transaction: 0,
            control: 0,
            feeds: HashMap::new(),
            video_mids: HashMap::new(),
        };
        janus.control = janus.attach().map_err(std::io::Error::other)?;
        Ok(janus)
    }

    fn post(&mut self, path: &str, mut body: Value) -> Result<(String, Value)> {
        self.transaction += 1;
        let transaction = self.transaction.to_string();
        body["transaction"] = json!(transaction);
        let url = format!("{}{path}", self.base);
        let text = self
            .agent
            .post(&url)
            .send(body.to_string())
            .map_err(|e| e.to_string())?
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        if v["janus"] == "error" {
            return Err(format!("janus: {v}"));
        }
        Ok((transaction, v))
    }

    fn attach(&mut self) -> Result<u64> {
        let (_, v) = self.post(
            &format!("/{}", self.session),
            json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}),
        )?;
        v["data"]["id"]
            .as_u64()
            .ok_or_else(|| format!("attach: {v}"))
    }

    /// A plugin message; the transaction of its asynchronous answer.
    fn message(
        &mut self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<(String, Value)> {
        let mut m = json!({"janus": "message", "body": body});
        if let Some(jsep) = jsep {
            m["jsep"] = jsep;
        }
        self.post(&format!("/{}/{handle}", self.session), m)
    }

    fn wait(&mut self, pick: impl FnMut(&Value) -> bool) -> Result<Value> {
        self.events.wait(pick, |v| {
            if v["janus"] == "event" || v["janus"] == "error" || v["janus"] == "webrtcup" {
                Other::Keep
            } else {
                Other::Drop
            }
        })
    }

    /// The plugin's asynchronous answer to `transaction`, or its error.
    fn reply(&mut self, transaction: &str) -> Result<Value> {
        let v = self.wait(|v| v["transaction"] == transaction)?;
        let data = &v["plugindata"]["data"];
        if data["error"].is_string() || v["janus"] == "error" {
            return Err(format!("janus: {v}"));
        }
        Ok(v)
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        testbed::process::terminate_group(&mut self.child, Duration::from_secs(3));
    }
}

impl Sfu for Janus {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn create_room(&mut self, room: u32) -> Result<()> {
        let (_, v) = self.message(
            self.control,
            json!({
                "request": "create", "room": room, "publishers": 32, "bitrate": 0,
                "fir_freq": 0, "audiocodec": "opus", "videocodec": "vp8",
                "audiolevel_ext": true, "audiolevel_event": false,
                "transport_wide_cc_ext": true, "videoorient_ext": false,
                "playoutdelay_ext": false, "notify_joining": false
            }),
            None,
        )?;
        if v["plugindata"]["data"]["videoroom"] != "created" {
            return Err(format!("create room: {v}"));
        }
        Ok(())
    }

    fn publish(&mut self, room: u32, participant: u32, offer: String) -> Result<String> {
        let handle = self.attach()?;
        let feed = u64::from(participant) + 1;
        let (t, _) = self.message(
            handle,
            json!({"request": "joinandconfigure", "ptype": "publisher", "room": room,
                   "id": feed, "display": format!("p{participant}"), "audio": true, "video": true}),
            Some(json!({"type": "offer", "sdp": offer, "trickle": false, "rid_order": "lmh"})),
        )?;
        let v = self.reply(&t)?;
        let sdp = v["jsep"]["sdp"]
            .as_str()
            .ok_or_else(|| format!("publish without an answer: {v}"))?;
        self.feeds.insert(participant, (feed, handle));
        Ok(sdp.to_owned())
    }

    fn published(&mut self, participant: u32) -> Result<()> {
        let (_, handle) = *self.feeds.get(&participant).ok_or("not publishing")?;
        self.wait(|v| v["janus"] == "webrtcup" && v["sender"] == handle)?;
        Ok(())
    }

    fn subscribe(&mut self, room: u32, pairs: &[(u32, u32)]) -> Result<Vec<(Sub, String)>> {
        let mut pending = Vec::new();
        for &(_, publisher) in pairs {
            let (feed, _) = *self.feeds.get(&publisher).ok_or("unknown publisher")?;
            let handle = self.attach()?;
            let (t, _) = self.message(
                handle,
                json!({"request": "join", "ptype": "subscriber", "room": room,
                       "streams": [{"feed": feed}]}),
                None,
            )?;
            pending.push((handle, t));
        }
        let mut offers = Vec::new();
        for (handle, t) in pending {
            let v = self.reply(&t)?;
            let sdp = v["jsep"]["sdp"]
                .as_str()
                .ok_or_else(|| format!("subscribe without an offer: {v}"))?;
            if let Some(streams) = v["plugindata"]["data"]["streams"].as_array()
                && let Some(mid) = streams
                    .iter()
                    .find(|s| s["type"] == "video")
                    .and_then(|s| s["mid"].as_str())
            {
                self.video_mids.insert(handle, mid.to_owned());
            }
            offers.push((Sub(handle), sdp.to_owned()));
        }
        Ok(offers)
    }

    fn answer(&mut self, answers: Vec<(Sub, String)>) -> Result<()> {
        let mut pending = Vec::new();
        for (sub, sdp) in answers {
            let (t, _) = self.message(
                sub.0,
                json!({"request": "start"}),
                Some(json!({"type": "answer", "sdp": sdp, "trickle": false})),
            )?;
            pending.push(t);
        }
        for t in pending {
            self.reply(&t)?;
        }
        Ok(())
    }

    fn constrain(&mut self, subs: &[(Sub, bool)]) -> Result<()> {
        let mut pending = Vec::new();
        for &(sub, large) in subs {
            let Some(mid) = self.video_mids.get(&sub.0).cloned() else {
                continue;
            };
            let substream = if large { 2 } else { 0 };
            let (t, _) = self.message(
                sub.0,
                json!({"request": "configure", "streams": [{"mid": mid, "substream": substream}]}),
                None,
            )?;
            pending.push(t);
        }
        for t in pending {
            self.reply(&t)?;
        }
        Ok(())
    }
}
