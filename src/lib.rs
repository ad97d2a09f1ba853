//! Jingle Focus: the conference focus for existing XMPP deployments, attached to the
//! server as an XEP-0114 component.
//!
//! - [`xmpp`]: the component connection and the typed stanza edge, one module per XEP;
//! - [`focus`]: the sans-IO core that answers stanzas (and will run conferences);
//! - [`runtime`]: the tokio glue between the two, with reconnection and keepalive;
//! - [`config`]: the TOML file and its command-line overrides.

pub mod config;
pub mod focus;
pub mod runtime;
pub mod xmpp;
