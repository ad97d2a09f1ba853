//! SDP <-> Jingle translation.
