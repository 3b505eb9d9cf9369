//! A real HTTP/1.1 server on 127.0.0.1:0 that misbehaves on request:
//! hand-written responses over a raw `TcpListener`, so nothing about our
//! HTTP client is mocked. It answers from a [`Reply`] (or a handler that
//! picks one per request) and records every request it read. [`Refused`]
//! is the opposite: an address where nothing answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Bytes written per write when streaming a large body: the server never
/// holds a large body in memory, so it does not skew RSS measurements.
const CHUNK: usize = 64 * 1024;

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// These bytes, then close.
    Raw(Vec<u8>),
    /// Read the request, then never answer (the connection stays open).
    Hang,
    /// Read the request, then reset the connection (SO_LINGER 0, close).
    Reset,
    /// Read the request, then close cleanly without a word.
    Close,
    /// `200 OK` with a body of `len` bytes of `1`, streamed in small chunks.
    Big { len: usize, framing: Framing },
    /// `200 OK` with `Content-Length: 1000`, ten bytes of body, then silence.
    StallBody,
    /// These bytes, then silence (the connection stays open).
    Partial(Vec<u8>),
}

/// How a large body's end is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    ContentLength,
    /// No `Content-Length`: the body runs until the server closes.
    UntilClose,
    Chunked,
}

impl Reply {
    /// A full response with `Connection: close`.
    pub fn status(code: u16, reason: &str, content_type: &str, body: &str) -> Reply {
        Reply::Raw(
            format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }

    pub fn ok_json(body: &str) -> Reply {
        Reply::status(200, "OK", "application/json", body)
    }

    pub fn ok_text(body: &str) -> Reply {
        Reply::status(200, "OK", "text/plain", body)
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A real HTTP/1.1 server on 127.0.0.1:0. Dropping it stops it and closes
/// every connection it holds.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Answers every request with `reply`.
    pub async fn fixed(reply: Reply) -> Server {
        Server::start(move |_| reply.clone()).await
    }

    /// Answers each request with whatever `handler` says.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let seen = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            // Owned here: aborting the accept loop drops (and so aborts)
            // every connection task, hanging ones included.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let handler = Arc::clone(&handler);
                        let seen = Arc::clone(&seen);
                        connections.spawn(serve(stream, handler, seen));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Server {
            addr,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `127.0.0.1:PORT`, for tcp and tls signals.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, handler: Handler, seen: Arc<Mutex<Vec<Request>>>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let reply = handler(&request);
    seen.lock().unwrap().push(request);
    // Write errors are expected: clients hang up on bodies they refuse.
    let _ = answer(stream, reply).await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    // `GET /path HTTP/1.1`: the method is not needed.
    let target = lines.next()?.split(' ').nth(1)?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Request { target, headers })
}

async fn answer(mut stream: TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Raw(bytes) => {
            stream.write_all(&bytes).await?;
            stream.shutdown().await?;
            // Let the client read to the end before the socket goes away.
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
        }
        Reply::Hang => std::future::pending::<()>().await,
        Reply::Reset => {
            stream.set_zero_linger()?;
            drop(stream);
        }
        Reply::Close => {
            stream.shutdown().await?;
        }
        Reply::Big { len, framing } => {
            let head = match framing {
                Framing::ContentLength => format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                ),
                Framing::UntilClose => {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                        .to_string()
                }
                Framing::Chunked => {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                        .to_string()
                }
            };
            stream.write_all(head.as_bytes()).await?;
            let block = vec![b'1'; CHUNK];
            let mut left = len;
            while left > 0 {
                let n = left.min(CHUNK);
                if framing == Framing::Chunked {
                    stream.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                    stream.write_all(&block[..n]).await?;
                    stream.write_all(b"\r\n").await?;
                } else {
                    stream.write_all(&block[..n]).await?;
                }
                left -= n;
            }
            if framing == Framing::Chunked {
                stream.write_all(b"0\r\n\r\n").await?;
            }
            stream.shutdown().await?;
        }
        Reply::StallBody => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"v\": 1,  ",
                )
                .await?;
            std::future::pending::<()>().await;
        }
        Reply::Partial(bytes) => {
            stream.write_all(&bytes).await?;
            std::future::pending::<()>().await;
        }
    }
    Ok(())
}

/// A loopback port where a connection is refused, held for as long as
/// this lives: bound but never listening, so the kernel answers a connect
/// with a reset and gives the port to no other socket meanwhile (binding
/// a port and closing it would leave it free for any test to take).
pub struct Refused {
    addr: SocketAddr,
    _socket: TcpSocket,
}

impl Refused {
    pub fn new() -> Refused {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind");
        Refused {
            addr: socket.local_addr().expect("local addr"),
            _socket: socket,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `127.0.0.1:PORT`, for tcp and tls signals.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}
