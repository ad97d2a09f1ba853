//! The `jingle-focus` binary, run as a child process against a testbed ejabberd.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::ejabberd::Ejabberd;
use crate::process;
use crate::Error;

/// The log line the focus prints each time its component stream is established.
pub const ONLINE_MARKER: &str = "component online";

/// A running focus. Its log goes to `log_path`; dropping it stops the process.
pub struct Focus {
    child: Option<Child>,
    pub log_path: PathBuf,
    online: mpsc::Receiver<()>,
}

impl Focus {
    /// Starts `binary serve` for the server's focus domain and waits until it is online.
    pub fn start(binary: &Path, server: &Ejabberd, log_filter: &str) -> Result<Focus, Error> {
        let log_path = server.state_dir.join("logs/jingle-focus.log");
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .args(["--xmpp-server", &server.component_addr().to_string()])
            .args(["--domain", &server.options.focus_domain])
            .args([
                "--muc-service",
                &format!("conference.{}", server.options.domain),
            ])
            // Media on loopback, a free port: the tests and the demo run on one machine.
            .args(["--media-bind", "127.0.0.1:0"])
            // The online marker is an info line of the runtime: keep it whatever the filter.
            .args(["--log", &format!("{log_filter},jingle_focus::runtime=info")])
            .env("JINGLE_FOCUS_SECRET", &server.options.component_secret)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = process::spawn_owned(&mut command)?;
        let stderr = child.stderr.take().ok_or(Error::NoPipe)?;
        let (tx, online) = mpsc::channel();
        let mut log = fs::File::create(&log_path)?;
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if line.contains(ONLINE_MARKER) {
                    let _ = tx.send(());
                }
            }
        });
        let mut focus = Focus {
            child: Some(child),
            log_path,
            online,
        };
        focus.wait_online(Duration::from_secs(30))?;
        Ok(focus)
    }

    /// Waits for the next "component online" line (first connection or a reconnection).
    pub fn wait_online(&mut self, deadline: Duration) -> Result<(), Error> {
        match self.online.recv_timeout(deadline) {
            Ok(()) => Ok(()),
            Err(_) => {
                let tail = fs::read_to_string(&self.log_path).unwrap_or_default();
                Err(Error::Timeout("jingle-focus to come online", tail))
            }
        }
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Stops the process (SIGTERM, the clean shutdown path).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::terminate_group(&mut child, Duration::from_secs(10));
        }
    }
}

impl Drop for Focus {
    fn drop(&mut self) {
        self.stop();
    }
}
