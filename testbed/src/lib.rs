//! Runs real parts on loopback for the demo and the tests: ejabberd (Debian package) from a
//! generated config in a private state directory, the `jingle-focus` component, and a static
//! server for the web client. Everything started here stops when its handle is dropped, and
//! the kernel kills it if the launcher itself dies.

pub mod ejabberd;
pub mod focus;
pub mod process;
pub mod web;

pub use ejabberd::{Ejabberd, Options, Ports, API_USER};
pub use focus::Focus;
pub use web::WebServer;

/// Why a part could not be started or driven.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0} exited ({1}) during start-up; last log lines:\n{2}")]
    Exited(&'static str, std::process::ExitStatus, String),
    #[error("timed out waiting for {0}; last log lines:\n{1}")]
    Timeout(&'static str, String),
    #[error("ejabberd HTTP API `{0}` failed: {1}")]
    Api(String, String),
    #[error("in-band registration of `{0}` failed: {1}")]
    Register(String, String),
    #[error("ejabberd config template: {0}")]
    Template(String),
    #[error("cannot read random bytes from /dev/urandom: {0}")]
    Random(std::io::Error),
    #[error("web server: {0}")]
    Web(String),
    #[error("child process has no stderr pipe")]
    NoPipe,
}
