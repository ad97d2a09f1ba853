//! The thin I/O driver: one OS thread owns the UDP socket, the timers and the core.
//!
//! Datagrams are read and written in batches (`recvmmsg`/`sendmmsg`); commands arrive on a
//! channel whose sender wakes the thread through an eventfd that `poll(2)` watches next to
//! the socket. Events go out on a tokio channel, so a current-thread runtime can await them.

use crate::api::{BridgeStats, Command, Event, Limits};
use crate::core::{Bridge, BridgeSetup};
use crate::speaker::SpeakerConfig;
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

/// Datagrams read or written per system call.
const BATCH: usize = 32;
/// Kernel buffer asked for each direction of the shared socket. Every participant's datagrams
/// queue in this one socket while the thread is busy or not scheduled: 16 participants send
/// about 4,000 datagrams (4 MB) a second, and the default buffer (~200 kB) overflows after a
/// 50 ms stall, losing consent checks and handshakes along with media.
const SOCKET_BUFFER: usize = 4 << 20;
/// Largest datagram accepted (anything longer is truncated and fails to decrypt).
const MAX_DATAGRAM: usize = 2048;

/// Where the bridge listens and what it advertises.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The one UDP port of the bridge.
    pub bind: SocketAddr,
    /// The public address put in host candidates (1:1 NAT); the bound address if `None`.
    pub media_address: Option<IpAddr>,
    pub limits: Limits,
    pub speaker: SpeakerConfig,
}

impl BridgeConfig {
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            media_address: None,
            limits: Limits::default(),
            speaker: SpeakerConfig::default(),
        }
    }
}

enum Message {
    Command(Command),
    Stats(oneshot::Sender<BridgeStats>),
    Stop,
}

/// The running bridge. Dropping it stops the thread (after it has closed every endpoint).
pub struct BridgeHandle {
    messages: mpsc::Sender<Message>,
    wake: Arc<OwnedFd>,
    local_addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl BridgeHandle {
    /// Bind the socket and start the bridge thread. Events arrive on the returned receiver.
    pub fn spawn(
        config: BridgeConfig,
    ) -> io::Result<(BridgeHandle, tokio_mpsc::UnboundedReceiver<Event>)> {
        let socket = UdpSocket::bind(config.bind)?;
        socket.set_nonblocking(true)?;
        grow_buffers(&socket);
        let local_addr = socket.local_addr()?;
        let candidate_ip = match (config.media_address, local_addr.ip()) {
            (Some(ip), _) => ip,
            (None, ip) if ip.is_unspecified() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a wildcard bind address needs a media address for the candidates",
                ));
            }
            (None, ip) => ip,
        };
        let setup = BridgeSetup {
            local: local_addr,
            candidate: SocketAddr::new(candidate_ip, local_addr.port()),
            limits: config.limits,
            speaker: config.speaker,
        };
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor owned by nobody else.
        let wake = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        let (messages, inbox) = mpsc::channel();
        let (events, outbox) = tokio_mpsc::unbounded_channel();
        let thread_wake = wake.clone();
        let thread = std::thread::Builder::new()
            .name("bridge".into())
            .spawn(move || {
                let mut driver = Driver {
                    bridge: Bridge::new(setup),
                    socket,
                    wake: thread_wake,
                    inbox,
                    events,
                    recv: RecvBatch::new(),
                    send: SendBatch::default(),
                };
                if let Err(e) = driver.run() {
                    tracing::error!("bridge thread stopped: {e}");
                }
            })?;
        Ok((
            BridgeHandle {
                messages,
                wake,
                local_addr,
                thread: Some(thread),
            },
            outbox,
        ))
    }

    /// The address the UDP socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Queue a command; its outcome arrives as events.
    pub fn send(&self, command: Command) {
        self.post(Message::Command(command));
    }

    /// A snapshot of the counts.
    pub async fn stats(&self) -> Option<BridgeStats> {
        let (tx, rx) = oneshot::channel();
        self.post(Message::Stats(tx));
        rx.await.ok()
    }

    /// A snapshot of the counts, for callers outside a runtime.
    pub fn stats_blocking(&self) -> Option<BridgeStats> {
        let (tx, rx) = oneshot::channel();
        self.post(Message::Stats(tx));
        rx.blocking_recv().ok()
    }

    fn post(&self, message: Message) {
        if self.messages.send(message).is_ok() {
            let one = 1u64.to_ne_bytes();
            // SAFETY: writing 8 bytes to an eventfd we own.
            unsafe { libc::write(self.wake.as_raw_fd(), one.as_ptr().cast(), 8) };
        }
    }
}

impl Drop for BridgeHandle {
    fn drop(&mut self) {
        self.post(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Driver {
    bridge: Bridge,
    socket: UdpSocket,
    wake: Arc<OwnedFd>,
    inbox: mpsc::Receiver<Message>,
    events: tokio_mpsc::UnboundedSender<Event>,
    recv: RecvBatch,
    send: SendBatch,
}

impl Driver {
    fn run(&mut self) -> io::Result<()> {
        loop {
            if !self.messages()? {
                return Ok(());
            }
            let now = Instant::now();
            if self.bridge.poll_timeout().is_some_and(|t| t <= now) {
                self.bridge.handle_timeout(now);
            }
            self.flush()?;
            let timeout_ms = match self.bridge.poll_timeout() {
                None => -1,
                Some(t) => {
                    let d = t.saturating_duration_since(Instant::now());
                    // round up, so that we do not spin just before a deadline
                    (d.as_micros().div_ceil(1000)).min(i32::MAX as u128) as i32
                }
            };
            let mut fds = [
                libc::pollfd {
                    fd: self.socket.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.wake.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfd structs.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if fds[1].revents != 0 {
                let mut buf = [0u8; 8];
                // SAFETY: reading 8 bytes from our eventfd resets it.
                unsafe { libc::read(self.wake.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
            }
            if fds[0].revents != 0 {
                self.receive()?;
            }
        }
    }

    /// Handle queued messages; false when asked to stop.
    fn messages(&mut self) -> io::Result<bool> {
        loop {
            match self.inbox.try_recv() {
                Ok(Message::Command(c)) => self.bridge.handle_command(c, Instant::now()),
                Ok(Message::Stats(reply)) => {
                    let _ = reply.send(self.bridge.stats());
                }
                Ok(Message::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                    self.flush()?;
                    return Ok(false);
                }
                Err(mpsc::TryRecvError::Empty) => return Ok(true),
            }
        }
    }

    fn receive(&mut self) -> io::Result<()> {
        // a bounded number of batches, so that commands and timers are not starved
        for _ in 0..8 {
            let n = self.recv.receive(self.socket.as_raw_fd())?;
            if n == 0 {
                break;
            }
            let now = Instant::now();
            for i in 0..n {
                let (source, data) = self.recv.datagram(i);
                if let Some(source) = source {
                    self.bridge.handle_datagram(now, source, data);
                }
                // what one datagram produced goes out before the next is read: a publisher's
                // packet reaches its subscribers without waiting for the rest of the batch
                self.transmit()?;
            }
            if n < BATCH {
                break;
            }
        }
        self.flush()
    }

    /// Send every queued datagram, [`BATCH`] per `sendmmsg`.
    fn transmit(&mut self) -> io::Result<()> {
        loop {
            while self.send.transmits.len() < BATCH {
                match self.bridge.poll_transmit() {
                    Some(t) => self.send.transmits.push(t),
                    None => break,
                }
            }
            if self.send.transmits.is_empty() {
                return Ok(());
            }
            self.send.send(self.socket.as_raw_fd());
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.transmit()?;
        while let Some(event) = self.bridge.poll_event() {
            let _ = self.events.send(event);
        }
        Ok(())
    }
}

/// Buffers for `sendmmsg`, kept between calls.
#[derive(Default)]
struct SendBatch {
    transmits: Vec<crate::core::Transmit>,
    addrs: Vec<(libc::sockaddr_storage, u32)>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl SendBatch {
    /// Send and clear `transmits`. A datagram the kernel refuses (a full buffer, an
    /// unreachable peer) is dropped, as UDP does.
    fn send(&mut self, fd: RawFd) {
        self.addrs.clear();
        self.addrs
            .extend(self.transmits.iter().map(|t| to_sockaddr(t.destination)));
        self.iovecs.clear();
        self.iovecs
            .extend(self.transmits.iter().map(|t| libc::iovec {
                iov_base: t.contents.as_ptr() as *mut _,
                iov_len: t.contents.len(),
            }));
        self.headers.clear();
        for (iov, (addr, len)) in self.iovecs.iter_mut().zip(self.addrs.iter_mut()) {
            // SAFETY: plain data; the pointers set below stay valid until the call returns.
            let mut h: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
            h.msg_hdr.msg_name = (addr as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = *len;
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            self.headers.push(h);
        }
        let mut sent = 0;
        while sent < self.headers.len() {
            // SAFETY: headers[sent..] are valid mmsghdr pointing at live buffers.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    self.headers[sent..].as_mut_ptr(),
                    (self.headers.len() - sent) as u32,
                    0,
                )
            };
            if n < 0 {
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    sent += 1;
                }
                continue;
            }
            sent += n as usize;
        }
        self.transmits.clear();
    }
}

/// Buffers for one `recvmmsg` call.
struct RecvBatch {
    buffers: Vec<[u8; MAX_DATAGRAM]>,
    addrs: Vec<libc::sockaddr_storage>,
    lengths: Vec<usize>,
}

impl RecvBatch {
    fn new() -> Self {
        Self {
            buffers: vec![[0; MAX_DATAGRAM]; BATCH],
            // SAFETY: sockaddr_storage is plain data; all zeroes is valid.
            addrs: vec![unsafe { MaybeUninit::zeroed().assume_init() }; BATCH],
            lengths: vec![0; BATCH],
        }
    }

    fn receive(&mut self, fd: RawFd) -> io::Result<usize> {
        let mut iovecs: Vec<libc::iovec> = self
            .buffers
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: MAX_DATAGRAM,
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .zip(self.addrs.iter_mut())
            .map(|(iov, addr)| {
                // SAFETY: msghdr is plain data; the pointers set below stay valid for the call.
                let mut h: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
                h.msg_hdr.msg_name = (addr as *mut libc::sockaddr_storage).cast();
                h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
                h.msg_hdr.msg_iov = iov;
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        // SAFETY: headers point into buffers and addrs owned by self for the whole call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                headers.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                // an ICMP error for an earlier send: not ours to fail on
                io::ErrorKind::ConnectionRefused => Ok(0),
                _ => Err(e),
            };
        }
        let n = n as usize;
        for (length, header) in self.lengths.iter_mut().zip(&headers).take(n) {
            *length = (header.msg_len as usize).min(MAX_DATAGRAM);
        }
        Ok(n)
    }

    fn datagram(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        (
            from_sockaddr(&self.addrs[i]),
            &self.buffers[i][..self.lengths[i]],
        )
    }
}

/// Ask for [`SOCKET_BUFFER`] in both directions: past `net.core.rmem_max`/`wmem_max` with
/// CAP_NET_ADMIN, else as much as those allow.
fn grow_buffers(socket: &UdpSocket) {
    let fd = socket.as_raw_fd();
    for (force, plain, name) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, "net.core.rmem_max"),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, "net.core.wmem_max"),
    ] {
        let set = |option| {
            let size = SOCKET_BUFFER as libc::c_int;
            // SAFETY: setsockopt with an int option on a socket we own.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    option,
                    (&size as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as u32,
                ) == 0
            }
        };
        if !set(force) {
            set(plain);
        }
        let mut size: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as u32;
        // SAFETY: getsockopt writes an int into `size`.
        unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                plain,
                (&mut size as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        // the kernel reports twice the size it was given (bookkeeping overhead)
        if (size as usize) < SOCKET_BUFFER {
            tracing::warn!(
                "UDP socket buffer is {size} bytes, not {SOCKET_BUFFER}: raise {name} to avoid losing datagrams under load"
            );
        }
    }
}

fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, u32) {
    // SAFETY: all-zero sockaddr_storage is valid; we write one of its variants.
    let mut storage: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            (storage, size_of::<libc::sockaddr_in>() as u32)
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            (storage, size_of::<libc::sockaddr_in6>() as u32)
        }
    }
}

fn from_sockaddr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match storage.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says this is a sockaddr_in.
            let sin: &libc::sockaddr_in =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this is a sockaddr_in6.
            let sin6: &libc::sockaddr_in6 =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip() {
        for a in ["127.0.0.1:5000", "[::1]:6000", "[fe80::1%2]:7000"] {
            let addr: SocketAddr = a.parse().unwrap();
            let (storage, _) = to_sockaddr(addr);
            assert_eq!(from_sockaddr(&storage), Some(addr));
        }
    }
}
