//! The XMPP edge: the XEP-0114 connection, the typed stanza edge, and one module per XEP
//! the focus answers.

pub mod connection;
pub mod disco;
pub mod ping;
pub mod stanza;
pub mod version;
