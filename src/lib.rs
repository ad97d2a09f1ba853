//! Jingle Focus: the conference focus for existing XMPP deployments, attached to the
//! server as an XEP-0114 component.
//!
//! - [`xmpp`]: the edge: the component connection, elements read into typed stanzas and
//!   written back, and the link's keepalive;
//! - [`stanza`]: the typed stanzas the edge and the focus speak;
//! - [`focus`]: the sans-IO core (typed inputs and time in, typed outputs out), one module
//!   per XEP it answers;
//! - [`runtime`]: the tokio glue between them, with reconnection and keepalive;
//! - [`config`]: the TOML file and its command-line overrides.

pub mod config;
pub mod focus;
pub mod runtime;
pub mod stanza;
pub mod xmpp;
