//! The media bridge benchmark: a load generator of real WebRTC peers, drivers for our bridge
//! and for Janus VideoRoom as child processes, and a deterministic in-memory replay of the
//! same load against the sans-IO core. The binaries are `bridge-bench` (live, against both
//! SFUs) and `bridge-replay` (instruction counts and heap, for profiling).

pub mod janus;
pub mod load;
pub mod ours;
pub mod replay;
pub mod sfu;
