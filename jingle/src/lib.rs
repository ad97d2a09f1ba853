//! Jingle sessions (XEP-0166), sans-IO.
//!
//! sdp-map owns the `<jingle>` element (envelope, contents, reasons: one parser, one writer,
//! native and wasm); this crate owns what happens *between* those elements:
//!
//! - [`session`]: the state a session is in and the actions each state admits, as one
//!   transition table that both the initiating and the responding side follow;
//! - [`error`]: the XEP-0166 error conditions (`unknown-session`, `out-of-order`, ...) with
//!   the stanza error each travels in;
//! - [`xep0298`]: `<conference-info/>`, which a conference focus (XEP-0521) puts in the
//!   `<jingle>` elements it sends.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod session;
pub mod xep0298;

pub use error::JingleCondition;
pub use sdp_map::{Action, Jingle, Role};
pub use session::{Session, State};
