//! `testbed`: ejabberd + jingle-focus + the web page on loopback, for the demo and the tests.
//!
//! With `--json` it prints one `{"event":"ready",...}` line and then obeys line commands on
//! stdin (`restart-ejabberd`, `stop-focus`, `register USER PASS`, ...), answering each with
//! one JSON line. It stops everything on SIGINT, SIGTERM, `quit`, or end of stdin.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use testbed::{Ejabberd, Error, Focus, Options, WebServer};

#[derive(Parser, Debug)]
#[command(about = "Runs ejabberd, jingle-focus and the web page on 127.0.0.1")]
struct Cli {
    /// Machine-readable mode: one JSON line per event, commands on stdin.
    #[arg(long)]
    json: bool,
    /// Users to create, as NAME:PASSWORD (repeatable).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// Also create the demo users alice, bob and carol with fresh passwords.
    #[arg(long)]
    demo_users: bool,
    /// The jingle-focus binary to run; without it no component is started.
    #[arg(long, value_name = "PATH")]
    focus: Option<PathBuf>,
    /// Tracing filter for jingle-focus.
    #[arg(long, default_value = "info")]
    focus_log: String,
    /// Serve this folder (the web client) on a free port.
    #[arg(long, value_name = "DIR")]
    web: Option<PathBuf>,
    /// The XMPP domain.
    #[arg(long, default_value = "localhost")]
    domain: String,
    /// ejabberd log level.
    #[arg(long, default_value = "warning")]
    ejabberd_log: String,
    /// Keep loopback in TURN's `turn_blacklist`, as in production: the relay then refuses
    /// every client and peer here (all on 127.0.0.1). Without it, TURN works on loopback.
    #[arg(long)]
    no_relay_loopback: bool,
}

/// What the main thread waits for: a command line or a reason to stop.
enum Input {
    Line(String),
    Stop(&'static str),
}

/// Everything that runs. Field order is drop order: the focus stops before ejabberd.
struct Bed {
    web: Option<WebServer>,
    focus: Option<Focus>,
    ejabberd: Ejabberd,
    focus_binary: Option<PathBuf>,
    focus_log: String,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("testbed: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let inputs = listen_for_input(cli.json)?;
    let mut users = Vec::new();
    for u in &cli.users {
        users.push(match u.split_once(':') {
            Some((name, pw)) => (name.to_string(), pw.to_string()),
            None => (u.clone(), testbed::ejabberd::random_token()?),
        });
    }
    if cli.demo_users {
        for name in ["alice", "bob", "carol"] {
            let password = testbed::ejabberd::random_token()?[..8].to_string();
            users.push((name.to_string(), password));
        }
    }
    let options = Options {
        focus_domain: format!("focus.{}", cli.domain),
        domain: cli.domain.clone(),
        users: users.clone(),
        loglevel: cli.ejabberd_log.clone(),
        relay_loopback: !cli.no_relay_loopback,
        ..Options::default()
    };
    let ejabberd = Ejabberd::start(options)?;
    let focus = match &cli.focus {
        Some(binary) => Some(Focus::start(binary, &ejabberd, &cli.focus_log)?),
        None => None,
    };
    let web = match &cli.web {
        Some(dir) => Some(WebServer::start(dir, page_config(&ejabberd))?),
        None => None,
    };
    let mut bed = Bed {
        web,
        focus,
        ejabberd,
        focus_binary: cli.focus.clone(),
        focus_log: cli.focus_log.clone(),
    };
    announce(&bed, &users, cli.json);
    for input in inputs {
        match input {
            Input::Stop(why) => {
                if !cli.json {
                    eprintln!("testbed: {why}, stopping");
                }
                break;
            }
            Input::Line(line) if line.trim() == "quit" => break,
            Input::Line(line) if line.trim().is_empty() => {}
            Input::Line(line) => {
                let started = Instant::now();
                let reply = match bed.command(line.trim()) {
                    Ok(extra) => json!({ "event": "done", "command": line.trim(),
                        "ms": started.elapsed().as_millis() as u64, "result": extra }),
                    Err(e) => json!({ "event": "error", "command": line.trim(),
                        "error": e.to_string() }),
                };
                println!("{reply}");
            }
        }
    }
    drop(bed);
    if cli.json {
        println!("{}", json!({ "event": "stopped" }));
    }
    Ok(())
}

/// What the web page reads from `/config.json`.
fn page_config(server: &Ejabberd) -> serde_json::Value {
    json!({
        "websocket": server.websocket_url(),
        "domain": server.options.domain,
        "focus": server.options.focus_domain,
        "conference": format!("conference.{}", server.options.domain),
    })
}

fn announce(bed: &Bed, users: &[(String, String)], as_json: bool) {
    let e = &bed.ejabberd;
    let url = bed.web.as_ref().map(|w| w.url());
    if as_json {
        let users: Vec<_> = users
            .iter()
            .map(|(u, p)| json!({ "jid": format!("{u}@{}", e.options.domain), "password": p }))
            .collect();
        let ready = json!({
            "event": "ready",
            "domain": e.options.domain,
            "focus": e.options.focus_domain,
            "conference": format!("conference.{}", e.options.domain),
            "c2s": e.c2s_addr().to_string(),
            "component": e.component_addr().to_string(),
            "componentSecret": e.options.component_secret,
            "websocket": e.websocket_url(),
            "api": e.api_url(""),
            "apiUser": e.api_jid(),
            "apiPassword": e.api_password,
            "stun": format!("127.0.0.1:{}", e.ports.stun),
            "relayLoopback": e.options.relay_loopback,
            "http": url,
            "stateDir": e.state_dir,
            "focusLog": bed.focus.as_ref().map(|f| f.log_path.clone()),
            "focusPid": bed.focus.as_ref().and_then(|f| f.pid()),
            "users": users,
        });
        println!("{ready}");
        return;
    }
    println!(
        "ejabberd {} on 127.0.0.1 (client port {}, WebSocket {})",
        e.options.domain,
        e.ports.c2s,
        e.websocket_url()
    );
    println!(
        "HTTP API {} (loopback only), user {} password {}",
        e.api_url(""),
        e.api_jid(),
        e.api_password
    );
    if e.options.relay_loopback {
        println!("TURN relays on 127.0.0.1: unlike production, loopback is not blacklisted here");
    }
    if bed.focus.is_some() {
        println!("jingle-focus online as {}", e.options.focus_domain);
    }
    for (user, password) in users {
        println!("user {user}@{}  password {password}", e.options.domain);
    }
    println!("logs in {}", e.state_dir.join("logs").display());
    if let Some(url) = url {
        println!("Demo ready: {url}");
    }
}

impl Bed {
    /// Runs one stdin command; returns a JSON result for the reply line.
    fn command(&mut self, line: &str) -> Result<serde_json::Value, Error> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["restart-ejabberd"] => {
                self.ejabberd.restart()?;
                let reconnect_ms = self.wait_focus_online()?;
                Ok(json!({ "focusOnlineAfterMs": reconnect_ms }))
            }
            ["stop-ejabberd"] => {
                self.ejabberd.stop();
                Ok(json!(null))
            }
            ["start-ejabberd"] => {
                self.ejabberd.restart()?;
                let reconnect_ms = self.wait_focus_online()?;
                Ok(json!({ "focusOnlineAfterMs": reconnect_ms }))
            }
            ["stop-focus"] => {
                self.focus = None;
                Ok(json!(null))
            }
            ["start-focus"] => {
                let binary = self.focus_binary.clone().ok_or(Error::NoPipe)?;
                self.focus = None;
                self.focus = Some(Focus::start(&binary, &self.ejabberd, &self.focus_log)?);
                Ok(json!(null))
            }
            ["register", user, password] => {
                self.ejabberd.register(user, password)?;
                Ok(json!(null))
            }
            ["unregister", user] => {
                self.ejabberd.unregister(user)?;
                Ok(json!(null))
            }
            _ => Err(Error::Web(format!("unknown command `{line}`"))),
        }
    }

    /// After a server restart: milliseconds until the focus says it is online again.
    fn wait_focus_online(&mut self) -> Result<Option<u64>, Error> {
        let started = Instant::now();
        match self.focus.as_mut() {
            Some(focus) => {
                focus.wait_online(Duration::from_secs(30))?;
                Ok(Some(started.elapsed().as_millis() as u64))
            }
            None => Ok(None),
        }
    }
}

/// Termination signals and, in command mode, stdin lines: one stream for the main thread.
fn listen_for_input(commands: bool) -> Result<mpsc::Receiver<Input>, Error> {
    let (tx, rx) = mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ])?;
    let signal_tx = tx.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = signal_tx.send(Input::Stop("signal received"));
        }
    });
    if !commands {
        return Ok(rx);
    }
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(Input::Line(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(Input::Stop("end of input"));
    });
    Ok(rx)
}
