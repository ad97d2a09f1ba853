//! Serves the web client's folder on loopback, with a generated `config.json` telling the
//! page where the XMPP server is.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use tiny_http::{Header, Response, Server};

use crate::Error;

/// A static file server running on its own threads until dropped.
pub struct WebServer {
    server: Arc<Server>,
    pub port: u16,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl WebServer {
    /// Serves `root` on a free port of 127.0.0.1; `/config.json` answers `config`.
    pub fn start(root: &Path, config: serde_json::Value) -> Result<WebServer, Error> {
        let server = Server::http("127.0.0.1:0").map_err(|e| Error::Web(e.to_string()))?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| Error::Web("no TCP address".into()))?;
        let server = Arc::new(server);
        let root = Arc::new(root.to_path_buf());
        let config = Arc::new(config.to_string());
        let threads = (0..4)
            .map(|_| {
                let (server, root, config) = (server.clone(), root.clone(), config.clone());
                std::thread::spawn(move || {
                    for request in server.incoming_requests() {
                        let _ = respond(request, &root, &config);
                    }
                })
            })
            .collect();
        Ok(WebServer {
            server,
            port,
            threads,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.server.unblock();
        for _ in 1..self.threads.len() {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn respond(request: tiny_http::Request, root: &Path, config: &str) -> std::io::Result<()> {
    let path = request
        .url()
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .to_string();
    if path == "/config.json" {
        return request.respond(with_type(Response::from_string(config), "application/json"));
    }
    match resolve(root, &path).and_then(|p| fs::read(&p).ok().map(|b| (p, b))) {
        Some((file, bytes)) => {
            let kind = content_type(&file);
            request.respond(with_type(Response::from_data(bytes), kind))
        }
        None => request.respond(with_type(
            Response::from_string("not found").with_status_code(404),
            "text/plain",
        )),
    }
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

/// Sets the content type, and closes the connection after the response: tiny_http's
/// keep-alive handling has left browser requests pending behind an idle connection.
fn with_type<R: std::io::Read>(response: Response<R>, kind: &str) -> Response<R> {
    [("Content-Type", kind), ("Connection", "close")]
        .into_iter()
        .filter_map(|(name, value)| Header::from_bytes(name, value).ok())
        .fold(response, |response, header| response.with_header(header))
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
}
