//! Serves the web client's folder on loopback, with a generated `config.json` telling the
//! page where the XMPP server is.
//!
//! One thread per connection, one request per connection (`Connection: close`), and a read
//! timeout: a browser's speculative connection that never sends a request holds only its own
//! thread, for a few seconds. (tiny_http, used before, runs connections on a pool that can
//! leave a new connection queued behind idle ones for good: its `spawn` counts a woken worker
//! as still waiting. With the plugin's dozen modules, page loads hung on it.)

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::Error;

/// How long a connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head we read (browsers send well under 8 KiB).
const MAX_HEAD: usize = 16 * 1024;

/// A static file server running on its own threads until dropped.
pub struct WebServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl WebServer {
    /// Serves `root` on a free port of 127.0.0.1; `/config.json` answers `config`.
    pub fn start(root: &Path, config: serde_json::Value) -> Result<WebServer, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::Web(e.to_string()))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Web(e.to_string()))?
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let root = Arc::new(root.to_path_buf());
        let config = Arc::new(config.to_string());
        let acceptor = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (root, config) = (root.clone(), config.clone());
                    std::thread::spawn(move || {
                        let _ = serve(stream, &root, &config);
                    });
                }
            })
        };
        Ok(WebServer {
            port,
            stop,
            acceptor: Some(acceptor),
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the acceptor, which then sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request from `stream` and answers it.
fn serve(mut stream: TcpStream, root: &Path, config: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let path = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(()); // closed before a whole request
        }
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => break request.path.unwrap_or("/").to_string(),
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => continue,
            _ => return respond(&mut stream, 400, "text/plain", b"bad request"),
        }
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    if path == "/config.json" {
        return respond(&mut stream, 200, "application/json", config.as_bytes());
    }
    match resolve(root, path).and_then(|p| fs::read(&p).ok().map(|b| (p, b))) {
        Some((file, bytes)) => respond(&mut stream, 200, content_type(&file), &bytes),
        None => respond(&mut stream, 404, "text/plain", b"not found"),
    }
}

fn respond(stream: &mut TcpStream, status: u16, kind: &str, body: &[u8]) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// Maps a URL path to a file under `root`, refusing `..` and other escapes.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let path = root.join(relative);
    if path.is_dir() {
        Some(path.join("index.html"))
    } else {
        Some(path)
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_escapes() {
        let root = Path::new("/srv/web");
        for (url, expect) in [
            ("/app.js", Some("/srv/web/app.js")),
            ("/lib/x.wasm", Some("/srv/web/lib/x.wasm")),
            ("/../etc/passwd", None),
            ("/lib/../../etc/passwd", None),
            ("/./app.js", None),
        ] {
            assert_eq!(resolve(root, url), expect.map(PathBuf::from), "{url}");
        }
    }

    #[test]
    fn serves_files_and_config_one_request_per_connection() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("index.html"), "<p>hi</p>").unwrap();
        let server = WebServer::start(dir.path(), serde_json::json!({"a": 1})).unwrap();
        // An idle connection (a browser's speculative one) holds up nobody.
        let _idle = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let page = get("/");
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("Content-Type: text/html") && page.ends_with("<p>hi</p>"));
        assert!(get("/config.json").ends_with("{\"a\":1}"));
        assert!(get("/../etc/passwd").starts_with("HTTP/1.1 404"));
        assert!(get("/nope.js").starts_with("HTTP/1.1 404"));
    }
}
