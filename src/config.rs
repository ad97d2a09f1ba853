//! Configuration: a TOML file, overridden by command-line flags and the environment.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::focus::limits::{DEFAULT_MAX_PARTICIPANTS, MAX_PARTICIPANTS_CEILING};
use crate::focus::FocusConfig;

/// The file's shape. Every key is optional: flags may supply or override it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub xmpp_server: Option<String>,
    pub domain: Option<String>,
    pub secret: Option<String>,
    pub server_domain: Option<String>,
    pub log: Option<String>,
    pub keepalive_interval_secs: Option<u64>,
    pub keepalive_timeout_secs: Option<u64>,
    pub reconnect_max_delay_ms: Option<u64>,
    pub muc_service: Option<String>,
    pub focus_nick: Option<String>,
    pub max_participants: Option<usize>,
    pub media_bind: Option<SocketAddr>,
    pub media_address: Option<IpAddr>,
}

/// Values given on the command line (or in the environment); they win over the file.
#[derive(Debug, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub xmpp_server: Option<String>,
    pub domain: Option<String>,
    pub secret: Option<String>,
    pub server_domain: Option<String>,
    pub log: Option<String>,
    pub muc_service: Option<String>,
    pub media_bind: Option<SocketAddr>,
    pub media_address: Option<IpAddr>,
}

/// The complete configuration the runtime needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The server's component listener, `HOST:PORT`.
    pub xmpp_server: String,
    /// The component's domain, e.g. `focus.example.org`.
    pub domain: String,
    pub secret: String,
    /// The server domain the component pings to keep the link alive.
    pub server_domain: String,
    pub log: String,
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    pub reconnect_max_delay: Duration,
    /// The MUC service whose rooms have group calls, e.g. `conference.example.org`.
    pub muc_service: String,
    /// The nick the focus takes in those rooms.
    pub focus_nick: String,
    /// Participants per call unless a room's owners set otherwise.
    pub max_participants: usize,
    /// The media bridge's one UDP port.
    pub media_bind: SocketAddr,
    /// The address participants reach that port at (host candidates); the bound one if
    /// `None`, which a wildcard bind cannot be.
    pub media_address: Option<IpAddr>,
}

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("no {0} given (use --{1} or `{2}` in the config file)")]
    Missing(&'static str, &'static str, &'static str),
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    #[error("max_participants must be from 1 to {ceiling}, not {value}")]
    MaxParticipants { value: usize, ceiling: usize },
    #[error("media_bind {0} is a wildcard address: set media_address (--media-address) to the address participants reach it at")]
    MediaAddress(SocketAddr),
}

impl Config {
    /// Merges the file named by `overrides.config` (if any) with the overrides.
    pub fn load(overrides: Overrides) -> Result<Config, Error> {
        let file = match &overrides.config {
            Some(path) => read_file(path)?,
            None => File::default(),
        };
        let domain = overrides.domain.or(file.domain).ok_or(Error::Missing(
            "component domain",
            "domain",
            "domain",
        ))?;
        let secret = overrides.secret.or(file.secret).ok_or(Error::Missing(
            "component secret",
            "secret",
            "secret",
        ))?;
        let server_domain = overrides
            .server_domain
            .or(file.server_domain)
            .unwrap_or_else(|| parent_domain(&domain));
        let media_bind = overrides
            .media_bind
            .or(file.media_bind)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], DEFAULT_MEDIA_PORT)));
        let media_address = overrides.media_address.or(file.media_address);
        let seconds = |v: Option<u64>, default: u64, name| match v.unwrap_or(default) {
            0 => Err(Error::Zero(name)),
            n => Ok(Duration::from_secs(n)),
        };
        let config = Config {
            xmpp_server: overrides
                .xmpp_server
                .or(file.xmpp_server)
                .unwrap_or_else(|| "127.0.0.1:5347".into()),
            domain,
            secret,
            server_domain: server_domain.clone(),
            log: overrides.log.or(file.log).unwrap_or_else(|| "info".into()),
            keepalive_interval: seconds(
                file.keepalive_interval_secs,
                30,
                "keepalive_interval_secs",
            )?,
            keepalive_timeout: seconds(file.keepalive_timeout_secs, 10, "keepalive_timeout_secs")?,
            reconnect_max_delay: Duration::from_millis(file.reconnect_max_delay_ms.unwrap_or(1000)),
            media_bind,
            media_address,
            muc_service: overrides
                .muc_service
                .or(file.muc_service)
                .unwrap_or_else(|| format!("conference.{server_domain}")),
            focus_nick: file.focus_nick.unwrap_or_else(|| "focus".into()),
            max_participants: match file.max_participants {
                None => DEFAULT_MAX_PARTICIPANTS,
                Some(n @ 1..=MAX_PARTICIPANTS_CEILING) => n,
                Some(value) => {
                    return Err(Error::MaxParticipants {
                        value,
                        ceiling: MAX_PARTICIPANTS_CEILING,
                    })
                }
            },
        };
        if config.media_bind.ip().is_unspecified() && config.media_address.is_none() {
            return Err(Error::MediaAddress(config.media_bind));
        }
        Ok(config)
    }
}

/// The media bridge's UDP port unless configured.
pub const DEFAULT_MEDIA_PORT: u16 = 10000;

impl Config {
    /// What the sans-IO focus needs of it.
    pub fn focus(&self) -> FocusConfig {
        FocusConfig {
            domain: self.domain.clone(),
            muc_service: self.muc_service.clone(),
            nick: self.focus_nick.clone(),
            max_participants: self.max_participants,
            server_domain: self.server_domain.clone(),
        }
    }

    /// What the media bridge needs of it. The bridge enforces the ceiling; the focus enforces
    /// each room's own limit.
    pub fn bridge(&self) -> bridge::BridgeConfig {
        let mut config = bridge::BridgeConfig::new(self.media_bind);
        config.media_address = self.media_address;
        config.limits.participants_per_room = crate::focus::limits::MAX_PARTICIPANTS_CEILING;
        config
    }
}

fn read_file(path: &Path) -> Result<File, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| Error::Parse {
        path: path.into(),
        message: e.message().to_string(),
    })
}

/// `focus.example.org` is attached to `example.org`.
fn parent_domain(domain: &str) -> String {
    match domain.split_once('.') {
        Some((_, parent)) if parent.contains('.') || parent == "localhost" => parent.into(),
        _ => domain.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config file that is removed when dropped.
    fn file(text: &str) -> tempfile::TempPath {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut f, text.as_bytes()).expect("write");
        f.into_temp_path()
    }

    #[test]
    fn flags_override_the_file() {
        let f = file(
            "domain = \"focus.a.org\"\nsecret = \"s\"\nxmpp_server = \"h:1\"\nmedia_address = \"203.0.113.5\"\n",
        );
        let c = Config::load(Overrides {
            config: Some(f.to_path_buf()),
            xmpp_server: Some("h:2".into()),
            ..Overrides::default()
        })
        .expect("valid");
        assert_eq!(
            (c.domain.as_str(), c.xmpp_server.as_str()),
            ("focus.a.org", "h:2")
        );
        assert_eq!(c.server_domain, "a.org");
        assert_eq!(c.muc_service, "conference.a.org");
        assert_eq!(c.max_participants, 16);
        assert_eq!(c.keepalive_interval, Duration::from_secs(30));
    }

    #[test]
    fn errors_name_the_problem() {
        let unknown = file("domian = \"x\"\n");
        let e = Config::load(Overrides {
            config: Some(unknown.to_path_buf()),
            ..Default::default()
        })
        .expect_err("unknown key");
        assert!(e.to_string().contains("unknown field `domian`"), "{e}");
        let e = Config::load(Overrides {
            domain: Some("f.x.org".into()),
            ..Default::default()
        })
        .expect_err("no secret");
        assert!(matches!(e, Error::Missing("component secret", ..)));
        let zero = file("keepalive_interval_secs = 0\n");
        let e = Config::load(Overrides {
            config: Some(zero.to_path_buf()),
            domain: Some("f.x.org".into()),
            secret: Some("s".into()),
            ..Default::default()
        })
        .expect_err("zero");
        assert!(matches!(e, Error::Zero("keepalive_interval_secs")));
        let e = Config::load(Overrides {
            config: Some("/nonexistent.toml".into()),
            ..Default::default()
        })
        .expect_err("missing file");
        assert!(matches!(e, Error::Read { .. }));
        let e = Config::load(Overrides {
            domain: Some("f.x.org".into()),
            secret: Some("s".into()),
            ..Default::default()
        })
        .expect_err("a wildcard media port needs its public address");
        assert!(matches!(e, Error::MediaAddress(_)), "{e}");
    }

    #[test]
    fn parent_domains() {
        for (domain, parent) in [
            ("focus.localhost", "localhost"),
            ("focus.example.org", "example.org"),
            ("focus", "focus"),
            ("focus.org", "focus.org"),
        ] {
            assert_eq!(parent_domain(domain), parent, "{domain}");
        }
    }
}
