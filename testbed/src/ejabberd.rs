//! A real ejabberd (Debian package) run as a child process from a private state directory.
//!
//! The Erlang VM runs non-distributed (no `-sname`): no epmd daemon is started, so stopping
//! the VM leaves no stray process, and `ejabberdctl` cannot reach it. Users and the
//! shared-roster group are created through `mod_http_api` instead, on the template's
//! loopback-only API listener, as the `api-admin` account: testbed registers that account
//! in-band (XEP-0077) right after start, which the template allows from loopback only, and
//! then authenticates every API call with its password (HTTP Basic).

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{self, free_port};
use crate::Error;

/// Where the template lives in the source tree.
const TEMPLATE: &str = include_str!("../../ejabberd-config/ejabberd.yml.in");
/// Debian's ejabberd installs its OTP applications here.
const ERL_LIBS: &str = "/usr/lib/x86_64-linux-gnu";
const ERL: &str = "/usr/bin/erl";
/// ejabberd starts in about a second; a loaded CI machine may take much longer.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// The account the template's `api_permissions` admit (its `api_admin` ACL).
pub const API_USER: &str = "api-admin";
/// The template's loopback entries of `turn_blacklist`, which testbed drops unless
/// [`Options::relay_loopback`] is off.
const TURN_BLACKLIST_LOOPBACK: &str = "      - \"127.0.0.0/8\"\n      - \"::1/128\"\n";

/// What to run: the XMPP domain, the focus component, the users to create.
#[derive(Clone, Debug)]
pub struct Options {
    pub domain: String,
    pub focus_domain: String,
    /// The component's password; empty: a random one is made at start (and stored here).
    pub component_secret: String,
    pub users: Vec<(String, String)>,
    /// ejabberd's `loglevel` (`info`, `warning`, ...).
    pub loglevel: String,
    /// Drop loopback from TURN's `turn_blacklist` (the default). Here every client and
    /// every relayed address is 127.0.0.1, so TURN cannot work otherwise; with `false`
    /// the relay refuses loopback as the production template does.
    pub relay_loopback: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            domain: "localhost".into(),
            focus_domain: "focus.localhost".into(),
            component_secret: String::new(),
            users: Vec::new(),
            loglevel: "warning".into(),
            relay_loopback: true,
        }
    }
}

/// Loopback ports, chosen free at start and kept across restarts.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub c2s: u16,
    /// WebSocket and BOSH.
    pub http: u16,
    /// The HTTP API.
    pub api: u16,
    pub component: u16,
    pub stun: u16,
    pub turn_min: u16,
}

/// A running ejabberd. Dropping it stops the VM and everything the VM started.
pub struct Ejabberd {
    pub options: Options,
    pub ports: Ports,
    pub state_dir: PathBuf,
    /// The password of [`API_USER`], made at start.
    pub api_password: String,
    child: Option<Child>,
    _tempdir: Option<tempfile::TempDir>,
}

impl Ejabberd {
    /// Starts ejabberd in a new temporary state directory and creates the users.
    pub fn start(options: Options) -> Result<Ejabberd, Error> {
        let tempdir = tempfile::Builder::new()
            .prefix("jingle-focus-ejabberd.")
            .tempdir()?;
        let state_dir = tempdir.path().to_path_buf();
        let mut server = Ejabberd::start_in(options, &state_dir)?;
        server._tempdir = Some(tempdir);
        Ok(server)
    }

    /// Starts ejabberd with its state in `state_dir` (kept after stop).
    pub fn start_in(mut options: Options, state_dir: &Path) -> Result<Ejabberd, Error> {
        if options.component_secret.is_empty() {
            options.component_secret = random_token()?;
        }
        let ports = Ports {
            c2s: free_port()?,
            http: free_port()?,
            api: free_port()?,
            component: free_port()?,
            stun: free_port()?,
            // TURN relays: 100 UDP ports below the ephemeral range, spread by pid so that
            // concurrent testbeds rarely share them.
            turn_min: 10_000 + (std::process::id() % 220) as u16 * 100,
        };
        for sub in ["logs", "spool"] {
            fs::create_dir_all(state_dir.join(sub))?;
        }
        let config = render(TEMPLATE, &options, &ports, state_dir, &random_token()?)?;
        let mut server = Ejabberd {
            options,
            ports,
            state_dir: state_dir.to_path_buf(),
            api_password: random_token()?,
            child: None,
            _tempdir: None,
        };
        fs::write(server.config_path(), config)?;
        server.boot()?;
        server.provision()?;
        Ok(server)
    }

    /// Stops the VM and starts it again on the same ports with the same data.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        self.boot()
    }

    /// Stops the VM (SIGTERM, then SIGKILL after a deadline) with its whole process group.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::terminate_group(&mut child, Duration::from_secs(10));
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn config_path(&self) -> PathBuf {
        self.state_dir.join("ejabberd.yml")
    }

    pub fn log_path(&self) -> PathBuf {
        self.state_dir.join("logs/ejabberd.log")
    }

    pub fn c2s_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.c2s))
    }

    pub fn component_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.component))
    }

    pub fn websocket_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.ports.http)
    }

    /// A command's URL on the API listener (loopback only; calls need [`Self::api_jid`]).
    pub fn api_url(&self, command: &str) -> String {
        format!("http://127.0.0.1:{}/api/{command}", self.ports.api)
    }

    /// The API account's JID; its password is [`Self::api_password`].
    pub fn api_jid(&self) -> String {
        format!("{API_USER}@{}", self.options.domain)
    }

    /// Creates a user (retrying: registrations right after start-up can fail transiently).
    pub fn register(&self, user: &str, password: &str) -> Result<(), Error> {
        let body = serde_json::json!({
            "user": user, "host": self.options.domain, "password": password,
        });
        self.api_retrying("register", &body, |reply| {
            reply.contains("successfully registered") || reply.contains("already registered")
        })
    }

    /// Removes a user.
    pub fn unregister(&self, user: &str) -> Result<(), Error> {
        let body = serde_json::json!({ "user": user, "host": self.options.domain });
        self.api_retrying("unregister", &body, |reply| reply.trim() == "0")
    }

    fn boot(&mut self) -> Result<(), Error> {
        let dir = &self.state_dir;
        let out = fs::File::create(dir.join("logs/erlang.log"))?;
        let mut command = Command::new(ERL);
        command
            .args(["-noinput", "-noshell", "+K", "true"])
            .args([
                "-mnesia",
                "dir",
                &format!("\"{}\"", dir.join("spool").display()),
            ])
            .args(["-s", "ejabberd"])
            .current_dir(dir)
            .env("HOME", dir)
            .env("EJABBERD_CONFIG_PATH", self.config_path())
            .env("EJABBERD_LOG_PATH", self.log_path())
            .env("ERL_LIBS", ERL_LIBS)
            .env("ERL_CRASH_DUMP_BYTES", "0")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = process::spawn_owned(&mut command)?;
        self.child = Some(child);
        if let Err(e) = self.wait_ready() {
            self.stop();
            return Err(e);
        }
        Ok(())
    }

    /// Ready when the client, component, HTTP and API ports all accept connections.
    fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + START_DEADLINE;
        let p = &self.ports;
        let addrs = [p.c2s, p.component, p.http, p.api]
            .map(|port| SocketAddr::from(([127, 0, 0, 1], port)));
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(Error::Exited("ejabberd", status, self.log_tail()));
                }
            }
            let up = addrs
                .iter()
                .all(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok());
            if up {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout(
                    "ejabberd to accept connections",
                    self.log_tail(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The API account first (through which everything else is made), then one
    /// shared-roster group with every user (`@all@`): everyone sees everyone online.
    fn provision(&self) -> Result<(), Error> {
        self.register_api_account()?;
        let d = &self.options.domain;
        let group = serde_json::json!({
            "group": "everyone", "host": d, "label": "Everyone",
            "description": "All users", "display": "everyone",
        });
        self.api_retrying("srg_create", &group, |r| r.trim() == "0")?;
        let all = serde_json::json!({
            "user": "@all@", "host": d, "group": "everyone", "grouphost": d,
        });
        self.api_retrying("srg_user_add", &all, |r| r.trim() == "0")?;
        for (user, password) in &self.options.users {
            self.register(user, password)?;
        }
        Ok(())
    }

    fn api_retrying(
        &self,
        command: &str,
        body: &serde_json::Value,
        ok: impl Fn(&str) -> bool,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.api(command, body) {
                Ok(reply) if ok(&reply) => return Ok(()),
                Ok(reply) => last = reply,
                Err(e) => last = e.to_string(),
            }
            // Retry interval for transient failures ("Database failure" right after start).
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(Error::Api(command.to_string(), last))
    }

    /// Registers [`API_USER`] in-band (XEP-0077) over a c2s stream from loopback, retrying
    /// until the deadline (right after start-up the database may not answer yet).
    fn register_api_account(&self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.register_in_band(API_USER, &self.api_password) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            // Retry interval for transient failures, as for the API.
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(Error::Register(API_USER.to_string(), last))
    }

    /// One XEP-0077 registration: open a stream, send the request, close the stream, read
    /// everything the server wrote until it closes too, and find the answer in it.
    /// `user` and `password` are written into XML as they are: no markup characters.
    fn register_in_band(&self, user: &str, password: &str) -> Result<(), String> {
        let io = |e: std::io::Error| e.to_string();
        let mut stream =
            TcpStream::connect_timeout(&self.c2s_addr(), Duration::from_secs(5)).map_err(io)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io)?;
        write!(
            stream,
            "<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' \
             xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
             <iq type='set' id='register'><query xmlns='jabber:iq:register'>\
             <username>{user}</username><password>{password}</password></query></iq>\
             </stream:stream>",
            domain = self.options.domain,
        )
        .map_err(io)?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).map_err(io)?;
        registration_outcome(&reply).map_err(|why| format!("{why}; the server wrote: {reply}"))
    }

    fn api(&self, command: &str, body: &serde_json::Value) -> Result<String, Error> {
        use base64::Engine;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let credentials = format!("{}:{}", self.api_jid(), self.api_password);
        let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut reply = agent
            .post(&self.api_url(command))
            .header("Authorization", format!("Basic {basic}"))
            .send(body.to_string())
            .map_err(|e| Error::Api(command.to_string(), e.to_string()))?;
        reply
            .body_mut()
            .read_to_string()
            .map_err(|e| Error::Api(command.to_string(), e.to_string()))
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        for name in ["logs/erlang.log", "logs/ejabberd.log"] {
            if let Ok(t) = fs::read_to_string(self.state_dir.join(name)) {
                let lines: Vec<&str> = t.lines().rev().take(15).collect();
                text.extend(lines.into_iter().rev().map(|l| format!("{l}\n")));
            }
        }
        text
    }
}

impl Drop for Ejabberd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The config testbed runs: `template` with every `@NAME@` placeholder replaced, and loopback
/// dropped from `turn_blacklist` if `options.relay_loopback` (a comment in its place says so).
fn render(
    template: &str,
    options: &Options,
    ports: &Ports,
    state_dir: &Path,
    turn_secret: &str,
) -> Result<String, Error> {
    let o = options;
    let p = ports;
    let pairs: [(&str, String); 14] = [
        ("DOMAIN", o.domain.clone()),
        ("FOCUS_DOMAIN", o.focus_domain.clone()),
        ("COMPONENT_SECRET", o.component_secret.clone()),
        ("LOGLEVEL", o.loglevel.clone()),
        ("IP", "127.0.0.1".into()),
        ("C2S_PORT", p.c2s.to_string()),
        ("HTTP_PORT", p.http.to_string()),
        ("API_PORT", p.api.to_string()),
        ("COMPONENT_PORT", p.component.to_string()),
        ("STUN_PORT", p.stun.to_string()),
        ("TURN_MIN_PORT", p.turn_min.to_string()),
        ("TURN_MAX_PORT", (p.turn_min + 99).to_string()),
        ("TURN_SECRET", turn_secret.to_string()),
        ("STATE_DIR", state_dir.display().to_string()),
    ];
    let text = pairs
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("@{name}@"), value)
        });
    if !o.relay_loopback {
        return Ok(text);
    }
    if text.matches(TURN_BLACKLIST_LOOPBACK).count() != 1 {
        return Err(Error::Template(format!(
            "turn_blacklist should list loopback exactly once as\n{TURN_BLACKLIST_LOOPBACK}"
        )));
    }
    Ok(text.replacen(
        TURN_BLACKLIST_LOOPBACK,
        "      # testbed: loopback dropped here (Options::relay_loopback), TURN relays on 127.0.0.1\n",
        1,
    ))
}

/// What a server answered to our XEP-0077 registration (`id='register'`): the account was
/// made, or exists already (`conflict`: an earlier attempt whose answer got lost).
fn registration_outcome(reply: &str) -> Result<(), String> {
    let stream: minidom::Element = reply
        .parse()
        .map_err(|e| format!("unreadable stream ({e})"))?;
    let iq = stream
        .children()
        .find(|c| c.name() == "iq" && c.attr("id") == Some("register"))
        .ok_or("no answer to the registration")?;
    match iq.attr("type") {
        Some("result") => Ok(()),
        Some("error") => {
            let condition = iq
                .children()
                .filter(|c| c.name() == "error")
                .flat_map(|e| e.children())
                .find(|c| c.ns() == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name() != "text")
                .map(|c| c.name().to_string())
                .unwrap_or_default();
            if condition == "conflict" {
                Ok(())
            } else {
                Err(format!("registration refused ({condition})"))
            }
        }
        other => Err(format!("unexpected answer type {other:?}")),
    }
}

/// A random hex token for secrets (component password, TURN secret, API password).
pub fn random_token() -> Result<String, Error> {
    let mut urandom = fs::File::open("/dev/urandom").map_err(Error::Random)?;
    token_from(&mut urandom).map_err(Error::Random)
}

/// 16 bytes of `source` as hex; an error if it cannot give them all, never a weaker token.
fn token_from(source: &mut impl Read) -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    source.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that fails, as /dev/urandom does when it cannot be read.
    struct Broken;

    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("no entropy"))
        }
    }

    #[test]
    fn a_token_needs_all_its_random_bytes() {
        assert!(token_from(&mut Broken).is_err());
        assert!(token_from(&mut std::io::empty()).is_err());
        assert!(token_from(&mut &[7u8; 15][..]).is_err());
        assert_eq!(token_from(&mut &[0xabu8; 16][..]).unwrap(), "ab".repeat(16));
    }

    #[test]
    fn random_tokens_differ() {
        let a = random_token().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_token().unwrap());
    }

    fn rendered(relay_loopback: bool) -> String {
        let options = Options {
            component_secret: "s".into(),
            relay_loopback,
            ..Options::default()
        };
        let ports = Ports {
            c2s: 1,
            http: 2,
            api: 3,
            component: 4,
            stun: 5,
            turn_min: 10_000,
        };
        render(TEMPLATE, &options, &ports, Path::new("/state"), "t").unwrap()
    }

    #[test]
    fn every_placeholder_is_filled() {
        for text in [rendered(true), rendered(false)] {
            let left: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter(|l| l.split('@').count() > 2)
                .collect();
            assert_eq!(left, Vec::<&str>::new());
        }
    }

    #[test]
    fn only_loopback_leaves_the_turn_blacklist_and_it_says_so() {
        let production = rendered(false);
        let testbed = rendered(true);
        assert!(production.contains(TURN_BLACKLIST_LOOPBACK));
        assert!(!testbed.contains("127.0.0.0/8\"\n      - \"::1/128"));
        assert!(testbed.contains("testbed: loopback dropped"));
        let removed: Vec<&str> = production
            .lines()
            .filter(|l| !testbed.lines().any(|t| t == *l))
            .collect();
        assert_eq!(removed, ["      - \"127.0.0.0/8\"", "      - \"::1/128\""]);
    }

    #[test]
    fn registration_answers() {
        let stream = |iq: &str| {
            format!(
                "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
                 xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\
                 <stream:features/>{iq}</stream:stream>"
            )
        };
        assert_eq!(
            registration_outcome(&stream("<iq type='result' id='register'/>")),
            Ok(())
        );
        let refused = "<iq type='error' id='register'><error type='auth'><forbidden \
                       xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>";
        assert_eq!(
            registration_outcome(&stream(refused)),
            Err("registration refused (forbidden)".into())
        );
        let exists = refused.replace("forbidden", "conflict");
        assert_eq!(registration_outcome(&stream(&exists)), Ok(()));
        assert!(registration_outcome(&stream("")).is_err());
        assert!(registration_outcome("<stream:stream").is_err());
    }
}
