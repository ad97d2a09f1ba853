//! `bridge-replay`: the benchmark's load against the bridge core in memory, on a virtual clock
//! (see `bench::replay`). Prints forwarded packets, the bridge's wall time per packet and its
//! heap per participant; run it under
//! `valgrind --tool=callgrind --toggle-collect='*replay*measured*'` for instruction counts.

use clap::Parser;

#[global_allocator]
static ALLOC: bench::replay::Counting = bench::replay::Counting;

#[derive(Parser)]
#[command(about = "The benchmark's load against the bridge core, in memory, on a virtual clock")]
struct Cli {
    /// N (one room of N) or RxN (R rooms of N).
    #[arg(long, default_value = "8")]
    scenario: String,
    /// Virtual seconds of media measured.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
}

fn main() {
    let _ = env_logger::builder().try_init();
    let cli = Cli::parse();
    let (rooms, per_room) = match cli.scenario.split_once('x') {
        Some((r, n)) => (r.parse(), n.parse()),
        None => (Ok(1), cli.scenario.parse()),
    };
    let (Ok(rooms), Ok(per_room)) = (rooms, per_room) else {
        eprintln!("bad scenario {:?} (N or RxN)", cli.scenario);
        std::process::exit(2);
    };
    match bench::replay::run(rooms, per_room, cli.seconds) {
        Ok(o) => {
            println!(
                "{} participants, {} endpoints: {} packets forwarded in {} virtual s ({:.0}/s); \
                 bridge wall time {:.2} µs per forwarded packet; bridge heap {:.0} kB per participant \
                 ({:.0} kB per endpoint: {:.0} kB created, {:.0} kB connected); \
                 publishers connected {} ms after their offers, subscribers {} ms after their \
                 answers (virtual time)",
                o.participants,
                o.endpoints,
                o.forwarded,
                o.seconds,
                o.forwarded as f64 / o.seconds,
                o.bridge_time.as_secs_f64() * 1e6 / o.forwarded.max(1) as f64,
                o.heap as f64 / 1024.0 / f64::from(o.participants),
                o.heap as f64 / 1024.0 / o.endpoints as f64,
                o.heap_created as f64 / 1024.0 / o.endpoints as f64,
                o.heap_connected as f64 / 1024.0 / o.endpoints as f64,
                o.publish_connect.as_millis(),
                o.subscribe_connect.as_millis(),
            );
        }
        Err(e) => {
            eprintln!("replay failed: {e}");
            std::process::exit(1);
        }
    }
}
