//! The `jingle-focus` binary against a real ejabberd: how it attaches, fails and stops.
//!
//! Stanza-level behaviour (disco, ping, errors) is tested from a real XMPP client in
//! `web/test/component.test.js`; these tests watch the process itself.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testbed::{Ejabberd, Options};

const BINARY: &str = env!("CARGO_BIN_EXE_jingle-focus");

/// The focus as a child process, its stderr lines delivered through a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(server: &str, domain: &str, secret: &str) -> Running {
        let mut child = Command::new(BINARY)
            .args([
                "serve",
                "--xmpp-server",
                server,
                "--domain",
                domain,
                "--log",
                "info",
                "--media-bind",
                "127.0.0.1:0",
            ])
            .env("JINGLE_FOCUS_SECRET", secret)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn jingle-focus");
        let stderr = child.stderr.take().expect("stderr pipe");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`; returns it.
    fn wait_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with {needle:?} within {within:?}; got:\n{}",
            self.seen.join("\n")
        );
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {within:?}");
            // Waiting for a child has no event API in std; poll its status briefly.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every stderr line up to the end of the stream (call it once the child has exited:
    /// its last lines may still be in the pipe when the exit is seen).
    fn all_lines(&mut self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                // Disconnected: the reader thread reached the end of the stream.
                Err(_) => break,
            }
        }
        self.seen.clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server() -> Ejabberd {
    Ejabberd::start(Options::default()).expect("ejabberd starts")
}

#[test]
fn wrong_secret_is_one_clear_line_and_exit_code_3() {
    let ejabberd = server();
    let addr = ejabberd.component_addr().to_string();
    let mut focus = Running::start(&addr, &ejabberd.options.focus_domain, "not-the-secret");
    let status = focus.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(3));
    let lines = focus.all_lines();
    assert_eq!(lines.len(), 1, "exactly one line: {lines:?}");
    assert!(lines[0].starts_with("jingle-focus: error:"), "{lines:?}");
    assert!(lines[0].contains("not-authorized"), "{lines:?}");
    assert!(
        lines[0].contains(&ejabberd.options.focus_domain),
        "{lines:?}"
    );
}

#[test]
fn unconfigured_domain_is_refused_too() {
    let ejabberd = server();
    let addr = ejabberd.component_addr().to_string();
    let secret = ejabberd.options.component_secret.clone();
    let mut focus = Running::start(&addr, "nobody.localhost", &secret);
    assert_eq!(focus.wait_exit(Duration::from_secs(10)).code(), Some(3));
    let lines = focus.all_lines();
    assert!(
        lines.iter().any(|l| l.contains("nobody.localhost")),
        "{lines:?}"
    );
}

#[test]
fn unreachable_server_is_retried_with_growing_delays() {
    // A port nobody listens on: every attempt is refused.
    let port = testbed::process::free_port().expect("free port");
    let addr = format!("127.0.0.1:{port}");
    let mut focus = Running::start(&addr, "focus.localhost", "s3cret");
    let mut delays = Vec::new();
    for _ in 0..4 {
        let line = focus.wait_line("cannot connect, retrying", Duration::from_secs(10));
        assert!(line.contains("Connection refused"), "says why: {line}");
        let delay: u64 = line
            .split("retry_in_ms=")
            .nth(1)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("retry_in_ms field");
        delays.push(delay);
    }
    assert!(
        delays.windows(2).all(|w| w[1] > w[0]),
        "backoff grows: {delays:?}"
    );
    assert!(delays.iter().all(|&d| d <= 1000), "capped: {delays:?}");
    assert_eq!(
        focus.child.try_wait().expect("try_wait"),
        None,
        "keeps retrying"
    );
}

#[test]
fn sigterm_is_a_clean_shutdown() {
    let ejabberd = server();
    let addr = ejabberd.component_addr().to_string();
    let secret = ejabberd.options.component_secret.clone();
    let mut focus = Running::start(&addr, &ejabberd.options.focus_domain, &secret);
    focus.wait_line("component online", Duration::from_secs(10));
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(focus.child.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = focus.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    focus.wait_line("SIGTERM received", Duration::from_secs(1));
}

#[test]
fn bad_configuration_exits_with_code_2() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["serve", "--domain", "focus.localhost"],
            "no component secret",
        ),
        (&["serve", "--secret", "x"], "no component domain"),
        (
            &["serve", "--config", "/nonexistent/jingle-focus.toml"],
            "cannot read",
        ),
        (
            &[
                "serve",
                "--domain",
                "f.localhost",
                "--secret",
                "x",
                "--media-bind",
                "0.0.0.0:0",
            ],
            "set media_address",
        ),
    ];
    for (args, message) in cases {
        let out = Command::new(BINARY)
            .args(args)
            .env_remove("JINGLE_FOCUS_SECRET")
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
    }
}

#[test]
fn a_media_port_in_use_exits_with_code_4() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP port");
    let port = taken.local_addr().expect("its address").to_string();
    let out = Command::new(BINARY)
        .args([
            "serve",
            "--domain",
            "f.localhost",
            "--secret",
            "x",
            "--media-bind",
            &port,
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot open the media port"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn ejabberd_restart_is_survived() {
    let mut ejabberd = server();
    let addr = ejabberd.component_addr().to_string();
    let secret = ejabberd.options.component_secret.clone();
    let mut focus = Running::start(&addr, &ejabberd.options.focus_domain, &secret);
    focus.wait_line("component online", Duration::from_secs(10));
    ejabberd.restart().expect("restart");
    let restarted = Instant::now();
    focus.wait_line("connection lost", Duration::from_secs(10));
    focus.wait_line("component online", Duration::from_secs(15));
    eprintln!(
        "reattached {:?} after ejabberd accepted connections again",
        restarted.elapsed()
    );
    assert_eq!(focus.child.try_wait().expect("try_wait"), None);
}
