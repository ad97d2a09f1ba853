//! The XMPP edge: the XEP-0114 connection, the typed stanza edge (elements in and out), and
//! the link's keepalive. The focus never imports from here.

pub mod connection;
pub mod edge;
pub mod keepalive;
