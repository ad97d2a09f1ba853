//! Child processes that cannot outlive the launcher.

use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Spawns `command` in its own process group, killed by the kernel if the spawning thread
/// dies (`PR_SET_PDEATHSIG`): a crashed or SIGKILLed launcher leaves nothing behind.
pub fn spawn_owned(command: &mut Command) -> io::Result<Child> {
    command.process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// SIGTERM to the child's process group, SIGKILL once `grace` has passed.
pub fn terminate_group(child: &mut Child, grace: Duration) {
    let group = child.id() as libc::pid_t;
    signal_group(group, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            // The leader is gone; helpers it left in the group go too.
            signal_group(group, libc::SIGKILL);
            return;
        }
        // std has no wait-with-timeout for a child: poll its status until the grace ends.
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_group(group, libc::SIGKILL);
    let _ = child.wait();
}

fn signal_group(group: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is shared.
    unsafe {
        libc::kill(-group, signal);
    }
}

/// A TCP port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
