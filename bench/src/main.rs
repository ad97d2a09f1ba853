//! `bridge-bench`: the media bridge under a realistic group-call load, against Janus VideoRoom
//! in the same run.
//!
//! Synthetic participants ([`bench::load`]) publish audio and three simulcast video layers and
//! subscribe to every other participant of their room, as XEP-0521 sessions do: one publishing
//! peer connection each, one subscribing peer connection per other participant. The SFU runs
//! as a child process (ours: this binary as `serve-bridge`; Janus: `/usr/bin/janus`), so its
//! CPU time and memory are read from `/proc` apart from the load generator's.

use bench::load::{Generator, PeerId};
use bench::sfu::Sfu;
use bench::{janus, ours, sfu};
use clap::{Parser, Subcommand};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Benchmark of the media bridge against Janus VideoRoom")]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    /// Scenarios: N (one room of N) or RxN (R rooms of N).
    #[arg(long, value_delimiter = ',', default_value = "4,8,16,4x4")]
    scenarios: Vec<String>,
    /// SFUs to measure: ours, janus.
    #[arg(long, value_delimiter = ',', default_value = "ours,janus")]
    sfu: Vec<String>,
    /// Seconds of the measurement window (media flowing, everyone joined).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The address every peer and SFU binds to. Janus never gathers loopback candidates, so
    /// measuring it needs an address on another interface (scripts/bench gives its network
    /// namespace a veth pair); datagrams between local addresses still use the loopback device.
    #[arg(long, default_value = "127.0.0.1")]
    address: std::net::IpAddr,
    /// Seconds between the last join and the window.
    #[arg(long, default_value_t = 3)]
    settle: u64,
}

#[derive(Subcommand)]
enum Sub {
    /// Internal: run our bridge, driven by JSON lines on stdin.
    ServeBridge {
        #[arg(long)]
        bind: std::net::SocketAddr,
    },
}

#[derive(Debug, Clone, Copy)]
struct Scenario {
    rooms: u32,
    per_room: u32,
}

impl Scenario {
    fn parse(s: &str) -> Result<Self, String> {
        let (rooms, per_room) = match s.split_once('x') {
            Some((r, n)) => (r.parse(), n.parse()),
            None => (Ok(1), s.parse()),
        };
        match (rooms, per_room) {
            (Ok(rooms), Ok(per_room)) if rooms > 0 && per_room > 1 => Ok(Self { rooms, per_room }),
            _ => Err(format!("bad scenario {s:?} (N or RxN)")),
        }
    }

    fn participants(&self) -> u32 {
        self.rooms * self.per_room
    }

    /// Peer connections at the SFU: one publishing per participant, one per ordered pair.
    fn transports(&self) -> u32 {
        self.rooms * (self.per_room + self.per_room * (self.per_room - 1))
    }

    fn label(&self) -> String {
        if self.rooms == 1 {
            format!("1 room × {}", self.per_room)
        } else {
            format!("{} rooms × {}", self.rooms, self.per_room)
        }
    }
}

/// /proc figures of the SFU process.
mod procfs {
    /// User + system CPU seconds of the whole process (all threads, dead ones included).
    pub fn cpu_seconds(pid: u32) -> f64 {
        let (user, system) = cpu_split(pid);
        user + system
    }

    /// (user, system) CPU seconds of the whole process.
    pub fn cpu_split(pid: u32) -> (f64, f64) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        // fields after the comm: state is [0], utime [11], stime [12]
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (ticks(11) / hz, ticks(12) / hz)
    }

    /// UDP datagrams the kernel dropped for a full receive buffer, in this network namespace.
    pub fn udp_rcvbuf_errors() -> u64 {
        let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
        let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
        let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
            return 0;
        };
        names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "RcvbufErrors")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    }

    /// Resident set size in bytes.
    pub fn rss(pid: u32) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

/// One scenario's figures for one SFU.
#[derive(Debug, Clone, Default)]
struct Row {
    sfu: String,
    scenario: String,
    participants: u32,
    transports: u32,
    /// Forwarded packets per second, as received by the subscribers.
    pps: f64,
    /// SFU CPU seconds per second in the window.
    cpu: f64,
    /// SFU CPU µs per forwarded packet.
    us_per_packet: f64,
    p50_us: f64,
    p99_us: f64,
    /// RSS growth per participant, bytes.
    mem_per_participant: f64,
    /// RSS growth per peer connection, bytes.
    mem_per_transport: f64,
    /// Join, publish to the first packet at a subscriber: median and worst, ms.
    join_first_ms: (f64, f64),
    /// Join, publish to the first video at every subscriber of the joiner: median, worst.
    join_all_ms: (f64, f64),
    /// SFU CPU of the whole join phase per transport, ms (ICE, DTLS, SDP; media too).
    join_cpu_ms_per_transport: f64,
    /// SFU CPU per second with every transport up and no media (consent checks, RTCP).
    idle_cpu: f64,
    /// Packets sent by the publishers in the window, per second.
    sent_pps: f64,
    /// Packets the SFU reports forwarded per second (ours only).
    own_count_pps: Option<f64>,
    lost_subscriptions: usize,
    /// Packets slower than 20 ms by kind, and keyframes sent, in the window.
    slow: [u64; 4],
    /// The share of the SFU's CPU time spent in the kernel (sockets, wakeups).
    kernel_share: f64,
    /// The load generator's CPU seconds per second in the window (it shares the machine).
    generator_cpu: f64,
    /// Datagrams dropped by the kernel for full receive buffers (SFU and peers), whole run.
    kernel_drops: u64,
    send_errors: [u64; 4],
    keyframes: u64,
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

struct Joined {
    publisher_peer: PeerId,
    published_at: Instant,
}

fn run(kind: &str, scenario: Scenario, cli: &Cli) -> Result<Row, String> {
    let mut sfu: Box<dyn Sfu> = match kind {
        "ours" => Box::new(ours::Ours::start(cli.address).map_err(|e| e.to_string())?),
        "janus" => Box::new(janus::Janus::start(cli.address).map_err(|e| e.to_string())?),
        _ => return Err(format!("unknown sfu {kind}")),
    };
    let pid = sfu.pid();
    let generator = Generator::spawn(cli.address).map_err(|e| e.to_string())?;
    // The SFU has just started: let it finish starting (threads, sockets, Janus's plugins)
    // so that its baseline RSS is not taken mid-way and counted per participant.
    std::thread::sleep(Duration::from_millis(300));
    let rss0 = procfs::rss(pid);
    let drops0 = procfs::udp_rcvbuf_errors();
    let cpu_start = procfs::cpu_seconds(pid);

    let mut joined: HashMap<u32, Joined> = HashMap::new();
    // subscriber peer -> (subscriber participant, publisher participant)
    let mut subscriptions: HashMap<PeerId, (u32, u32)> = HashMap::new();
    for room in 0..scenario.rooms {
        let room_id = 1000 + room;
        sfu.create_room(room_id)?;
        let mut members: Vec<u32> = Vec::new();
        for k in 0..scenario.per_room {
            let participant = room * scenario.per_room + k;
            // the first of each room is the one speaking
            let (peer, offer) = generator
                .add_publisher(participant, k == 0)
                .map_err(|e| e.to_string())?;
            let published_at = Instant::now();
            let answer = sfu.publish(room_id, participant, offer)?;
            let t_answer = published_at.elapsed();
            generator.set_answer(peer, answer)?;
            wait_connected(&generator, &[peer])?;
            let t_peer = published_at.elapsed();
            sfu.published(participant)?;
            let t_sfu = published_at.elapsed();
            // the newcomer subscribes to everyone there, and everyone there to it
            let mut pairs = Vec::new();
            for &m in &members {
                pairs.push((m, participant));
                pairs.push((participant, m));
            }
            let offers = sfu.subscribe(room_id, &pairs)?;
            let mut answers = Vec::new();
            let mut constraints = Vec::new();
            let mut peers = Vec::new();
            for ((sub, offer), &(subscriber, publisher)) in offers.into_iter().zip(&pairs) {
                let (sub_peer, answer) = generator.add_subscriber(offer)?;
                subscriptions.insert(sub_peer, (subscriber, publisher));
                answers.push((sub, answer));
                // a page shows the room's first participant large, the others as thumbnails
                let first =
                    room * scenario.per_room + u32::from(subscriber == room * scenario.per_room);
                constraints.push((sub, publisher == first));
                peers.push(sub_peer);
            }
            let t_offers = published_at.elapsed();
            sfu.answer(answers)?;
            sfu.constrain(&constraints)?;
            if std::env::var_os("BENCH_DEBUG").is_some() {
                eprintln!(
                    "join {participant}: answer {t_answer:?}, peer up {t_peer:?}, sfu up {t_sfu:?}, \
                     subscriptions answered {t_offers:?}, done {:?}",
                    published_at.elapsed()
                );
            }
            joined.insert(
                participant,
                Joined {
                    publisher_peer: peer,
                    published_at,
                },
            );
            members.push(participant);
            if std::env::var_os("BENCH_DEBUG").is_some() {
                if let Some(stats) = sfu.stats() {
                    eprintln!("{kind} stats: {stats}");
                }
                eprintln!(
                    "joined {participant} in {:?}; sfu cpu {:.2}s, bench cpu {:.2}s",
                    published_at.elapsed(),
                    procfs::cpu_seconds(pid),
                    procfs::cpu_seconds(std::process::id())
                );
            }
        }
    }
    // everyone sees everyone's video
    let end = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let r = generator.report();
        let missing = subscriptions
            .iter()
            .filter(|(peer, (_, publisher))| {
                !(1..=3).any(|k| r.first.contains_key(&(**peer, *publisher, k)))
            })
            .count();
        if missing == 0 || Instant::now() > end {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let lost_subscriptions = subscriptions
        .iter()
        .filter(|(peer, (_, publisher))| {
            !(1..=3).any(|k| report.first.contains_key(&(**peer, *publisher, k)))
        })
        .count();
    let cpu_joined = procfs::cpu_seconds(pid);

    // join times: only for those who joined a room with someone in it
    let mut first_ms = Vec::new();
    let mut all_ms = Vec::new();
    for (&participant, j) in &joined {
        if participant % scenario.per_room == 0 {
            continue;
        }
        let subs: Vec<PeerId> = subscriptions
            .iter()
            .filter(|(_, (_, p))| *p == participant)
            .map(|(peer, _)| *peer)
            .collect();
        let firsts: Vec<Instant> = subs
            .iter()
            .filter_map(|s| {
                (0..=3)
                    .filter_map(|k| report.first.get(&(*s, participant, k)).copied())
                    .min()
            })
            .collect();
        if let Some(t) = firsts.iter().min() {
            first_ms.push(t.saturating_duration_since(j.published_at).as_secs_f64() * 1e3);
        }
        let videos: Vec<Option<Instant>> = subs
            .iter()
            .map(|s| {
                (1..=3)
                    .filter_map(|k| report.first.get(&(*s, participant, k)).copied())
                    .min()
            })
            .collect();
        if videos.iter().all(Option::is_some)
            && let Some(t) = videos.iter().flatten().max()
        {
            all_ms.push(t.saturating_duration_since(j.published_at).as_secs_f64() * 1e3);
        }
        let _ = j.publisher_peer;
        if std::env::var_os("BENCH_DEBUG").is_some() {
            for s in &subs {
                let up = report.connected_at.get(s.0).copied().flatten();
                let first = (0..=3)
                    .filter_map(|k| report.first.get(&(*s, participant, k)).copied())
                    .min();
                eprintln!(
                    "publisher {participant} at subscriber peer {}: connected {:?}, first packet {:?}",
                    s.0,
                    up.map(|t| t.saturating_duration_since(j.published_at)),
                    first.map(|t| t.saturating_duration_since(j.published_at))
                );
            }
        }
    }

    std::thread::sleep(Duration::from_secs(cli.settle));
    // the window
    let own0 = sfu.packets_forwarded();
    generator.start_window();
    let split0 = procfs::cpu_split(pid);
    let cpu0 = procfs::cpu_seconds(pid);
    let gen0 = procfs::cpu_seconds(std::process::id());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(cli.seconds));
    let report = generator.report();
    let split1 = procfs::cpu_split(pid);
    let cpu1 = procfs::cpu_seconds(pid);
    let gen1 = procfs::cpu_seconds(std::process::id());
    let own1 = sfu.packets_forwarded();
    let elapsed = report
        .window_started
        .map_or(t0.elapsed(), |t| t.elapsed())
        .as_secs_f64();
    let rss1 = procfs::rss(pid);
    if std::env::var_os("BENCH_DEBUG").is_some() {
        // sockets that dropped datagrams: local address (hex), rx queue, drops
        let udp = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
        let mut dropping: Vec<(String, u64)> = udp
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let drops: u64 = f.last()?.parse().ok()?;
                let port = u16::from_str_radix(f[1].split(':').nth(1)?, 16).ok()?;
                (drops > 0).then(|| (format!("port {port}"), drops))
            })
            .collect();
        dropping.sort_by_key(|d| std::cmp::Reverse(d.1));
        eprintln!(
            "sockets with drops: {} {:?}",
            dropping.len(),
            &dropping[..dropping.len().min(8)]
        );
    }

    // idle: every transport up, no media
    generator.media(false);
    // Let what is in flight drain and the last RTCP of the media period go, so that the
    // window below holds consent checks and idle RTCP only.
    std::thread::sleep(Duration::from_millis(1500));
    let idle0 = procfs::cpu_seconds(pid);
    let idle_t = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let idle_cpu = (procfs::cpu_seconds(pid) - idle0) / idle_t.elapsed().as_secs_f64();

    let pps = report.received as f64 / elapsed;
    let cpu = (cpu1 - cpu0) / elapsed;
    let grown = rss1.saturating_sub(rss0) as f64;
    let row = Row {
        sfu: kind.to_owned(),
        scenario: scenario.label(),
        participants: scenario.participants(),
        transports: scenario.transports(),
        pps,
        cpu,
        us_per_packet: if report.received > 0 {
            (cpu1 - cpu0) * 1e6 / report.received as f64
        } else {
            f64::NAN
        },
        p50_us: report.percentile(0.50).unwrap_or(f64::NAN),
        p99_us: report.percentile(0.99).unwrap_or(f64::NAN),
        mem_per_participant: grown / f64::from(scenario.participants()),
        mem_per_transport: grown / f64::from(scenario.transports()),
        join_first_ms: (
            percentile(&mut first_ms, 0.5),
            percentile(&mut first_ms, 1.0),
        ),
        join_all_ms: (percentile(&mut all_ms, 0.5), percentile(&mut all_ms, 1.0)),
        join_cpu_ms_per_transport: (cpu_joined - cpu_start) * 1e3
            / f64::from(scenario.transports()),
        idle_cpu,
        sent_pps: report.sent as f64 / elapsed,
        own_count_pps: match (own0, own1) {
            (Some(a), Some(b)) => Some((b - a) as f64 / elapsed),
            _ => None,
        },
        lost_subscriptions,
        slow: report.slow,
        kernel_share: {
            let user = split1.0 - split0.0;
            let system = split1.1 - split0.1;
            if user + system > 0.0 {
                system / (user + system)
            } else {
                f64::NAN
            }
        },
        generator_cpu: (gen1 - gen0) / elapsed,
        kernel_drops: procfs::udp_rcvbuf_errors() - drops0,
        send_errors: report.send_errors,
        keyframes: report.keyframes,
    };
    drop(generator);
    Ok(row)
}

fn wait_connected(generator: &Generator, peers: &[PeerId]) -> Result<(), String> {
    let end = Instant::now() + sfu::DEADLINE;
    loop {
        let r = generator.report();
        if peers
            .iter()
            .all(|p| r.connected.get(p.0).copied().unwrap_or(false))
        {
            return Ok(());
        }
        if let Some(p) = peers
            .iter()
            .find(|p| r.failed.get(p.0).copied().unwrap_or(false))
        {
            return Err(format!("peer {} failed to connect", p.0));
        }
        if Instant::now() > end {
            return Err("peers did not connect in time".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kb(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.2} MB", bytes / 1024.0 / 1024.0)
    } else {
        format!("{:.0} kB", bytes / 1024.0)
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b != 0.0 {
        format!("{:.2}", a / b)
    } else {
        "–".into()
    }
}

fn print_rows(rows: &[Row]) {
    println!();
    println!(
        "| scenario | SFU | fwd pkt/s | CPU | µs CPU/pkt (kernel) | pkt per CPU-s | latency p50 / p99 | mem/participant | mem/transport | join first pkt p50 / max | join all see video p50 / max | join CPU/transport | idle CPU (N² transports, no media) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.0}% | {:.1} ({:.1}) | {:.0} | {:.0} / {:.0} µs | {} | {} | {:.0} / {:.0} ms | {:.0} / {:.0} ms | {:.1} ms | {:.1}% |",
            r.scenario,
            r.sfu,
            r.pps,
            r.cpu * 100.0,
            r.us_per_packet,
            r.us_per_packet * r.kernel_share,
            1e6 / r.us_per_packet,
            r.p50_us,
            r.p99_us,
            kb(r.mem_per_participant),
            kb(r.mem_per_transport),
            r.join_first_ms.0,
            r.join_first_ms.1,
            r.join_all_ms.0,
            r.join_all_ms.1,
            r.join_cpu_ms_per_transport,
            r.idle_cpu * 100.0,
        );
    }
    // ours / janus side by side
    let scenarios: Vec<&str> = {
        let mut s: Vec<&str> = rows.iter().map(|r| r.scenario.as_str()).collect();
        s.dedup();
        s
    };
    let pairs: Vec<(&Row, &Row)> = scenarios
        .iter()
        .filter_map(|s| {
            let o = rows.iter().find(|r| r.scenario == *s && r.sfu == "ours")?;
            let j = rows.iter().find(|r| r.scenario == *s && r.sfu == "janus")?;
            Some((o, j))
        })
        .collect();
    if !pairs.is_empty() {
        println!();
        println!("ours / Janus (lower is better except pkt per CPU-s):");
        println!();
        println!(
            "| scenario | pkt per CPU-s | µs CPU/pkt | latency p50 | latency p99 | mem/participant | join first pkt p50 | join all p50 | join CPU/transport | idle CPU |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (o, j) in pairs {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                o.scenario,
                ratio(1.0 / o.us_per_packet, 1.0 / j.us_per_packet),
                ratio(o.us_per_packet, j.us_per_packet),
                ratio(o.p50_us, j.p50_us),
                ratio(o.p99_us, j.p99_us),
                ratio(o.mem_per_participant, j.mem_per_participant),
                ratio(o.join_first_ms.0, j.join_first_ms.0),
                ratio(o.join_all_ms.0, j.join_all_ms.0),
                ratio(o.join_cpu_ms_per_transport, j.join_cpu_ms_per_transport),
                ratio(o.idle_cpu, j.idle_cpu),
            );
        }
    }
    // the XEP-0521 shape: N publishing + N(N-1) subscribing transports
    println!();
    println!("N² transports (one peer connection per publisher and per ordered pair):");
    println!();
    println!(
        "| scenario | SFU | participants | transports | mem/transport | join CPU/transport | idle CPU per 100 transports | join: all see the newcomer p50 / max |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {:.1} ms | {:.2}% | {:.0} / {:.0} ms |",
            r.scenario,
            r.sfu,
            r.participants,
            r.transports,
            kb(r.mem_per_transport),
            r.join_cpu_ms_per_transport,
            r.idle_cpu * 100.0 * 100.0 / f64::from(r.transports),
            r.join_all_ms.0,
            r.join_all_ms.1,
        );
    }
    println!();
    for r in rows {
        let own = r
            .own_count_pps
            .map_or(String::new(), |o| format!(", bridge's own count {o:.0}/s"));
        println!(
            "{} {}: publishers sent {:.0} pkt/s, subscribers received {:.0} pkt/s{own}; subscriptions without video: {}; \
             SFU CPU in the kernel {:.0}%; load generator CPU {:.0}%; datagrams dropped by full socket buffers: {}; slower than 20 ms (audio, q, h, f): {:?}; keyframes sent: {}; send errors: {:?}",
            r.scenario,
            r.sfu,
            r.sent_pps,
            r.pps,
            r.lost_subscriptions,
            r.kernel_share * 100.0,
            r.generator_cpu * 100.0,
            r.kernel_drops,
            r.slow,
            r.keyframes,
            r.send_errors,
        );
    }
}

fn main() {
    let cli = Cli::parse();
    // RUST_LOG=... shows what rtc logs in the load generator, BRIDGE_LOG=... in our bridge
    let var = if cli.command.is_some() {
        "BRIDGE_LOG"
    } else {
        "RUST_LOG"
    };
    let _ = env_logger::Builder::from_env(var)
        .format(|f, record| {
            use std::io::Write;
            let thread = std::thread::current();
            writeln!(
                f,
                "[{:.3} {} {} {}] {}",
                bench::load::realtime_ns() as f64 / 1e9 % 1000.0,
                thread.name().unwrap_or("?"),
                record.level(),
                record.target(),
                record.args()
            )
        })
        .try_init();
    if let Some(Sub::ServeBridge { bind }) = cli.command {
        if let Err(e) = ours::serve(bind) {
            eprintln!("serve-bridge: {e}");
            std::process::exit(1);
        }
        return;
    }
    let scenarios: Vec<Scenario> = match cli.scenarios.iter().map(|s| Scenario::parse(s)).collect()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut kinds: Vec<&str> = cli.sfu.iter().map(String::as_str).collect();
    if kinds.contains(&"janus") && !janus::available() {
        eprintln!("Janus is not installed (/usr/bin/janus, videoroom plugin): measuring ours only");
        kinds.retain(|k| *k != "janus");
    }
    if kinds.contains(&"janus") && cli.address.is_loopback() {
        eprintln!(
            "Janus gathers no loopback candidates: give --address of another interface (scripts/bench does)"
        );
        std::process::exit(2);
    }
    let mut rows = Vec::new();
    for scenario in &scenarios {
        for kind in &kinds {
            eprintln!("=== {} against {kind}", scenario.label());
            match run(kind, *scenario, &cli) {
                Ok(row) => {
                    eprintln!("{row:?}");
                    rows.push(row);
                }
                Err(e) => eprintln!("{} against {kind} failed: {e}", scenario.label()),
            }
        }
    }
    print_rows(&rows);
}
