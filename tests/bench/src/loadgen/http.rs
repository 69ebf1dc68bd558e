//! Just enough HTTP/1.1 for tests and benchmarks: one request per connection, and a reader
//! for a Server-Sent Events stream that hands over one event at a time.

use super::ClientError;
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn head(method: &str, path: &str, headers: &[(&str, &str)], body_len: usize) -> String {
    let mut h = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {body_len}\r\n"
    );
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

async fn read_head<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
) -> Result<(u16, Vec<(String, String)>), ClientError> {
    let mut line = String::new();
    r.read_line(&mut line).await?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Http(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    Ok((status, headers))
}

/// Sends one request and reads the whole response (the server closes the connection).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, ClientError> {
    let s = TcpStream::connect(addr).await?;
    exchange(s, method, path, headers, body).await
}

/// The same request from another local address (`127.0.0.x` stands for another client).
pub async fn request_from(
    from: std::net::IpAddr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, ClientError> {
    let sock = match from {
        std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    sock.bind(SocketAddr::new(from, 0))?;
    let s = sock.connect(addr).await?;
    exchange(s, method, path, headers, body).await
}

async fn exchange(
    mut s: TcpStream,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, ClientError> {
    s.write_all(head(method, path, headers, body.len()).as_bytes())
        .await?;
    s.write_all(body).await?;
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r).await?;
    let mut raw = Vec::new();
    r.read_to_end(&mut raw).await?;
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let raw = if chunked { dechunk(&raw) } else { raw };
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&raw).into_owned(),
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[(size + 2).min(raw.len())..];
    }
    out
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SseMessage {
    /// `event:` field.
    pub event: String,
    /// `data:` lines joined.
    pub data: String,
    /// `id:` field.
    pub id: Option<String>,
}

/// An open event stream.
pub struct SseStream {
    r: BufReader<TcpStream>,
    chunked: bool,
    pending: String,
}

impl SseStream {
    /// Opens `GET path` and checks that the answer is an event stream.
    pub async fn open(
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Self, ClientError> {
        let mut s = TcpStream::connect(addr).await?;
        let mut h = vec![("Accept", "text/event-stream")];
        h.extend_from_slice(headers);
        s.write_all(head("GET", path, &h, 0).as_bytes()).await?;
        let mut r = BufReader::new(s);
        let (status, headers) = read_head(&mut r).await?;
        let ctype = headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if status != 200 || !ctype.starts_with("text/event-stream") {
            return Err(ClientError::Http(format!(
                "expected an event stream, got {status} {ctype}"
            )));
        }
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        Ok(Self {
            r,
            chunked,
            pending: String::new(),
        })
    }

    async fn line(&mut self) -> Result<Option<String>, ClientError> {
        loop {
            if let Some(i) = self.pending.find('\n') {
                let l: String = self.pending.drain(..=i).collect();
                return Ok(Some(l.trim_end_matches(['\r', '\n']).to_owned()));
            }
            let mut l = String::new();
            if self.r.read_line(&mut l).await? == 0 {
                return Ok(None);
            }
            if self.chunked {
                // A chunk-size line, then that many bytes of data, then CRLF.
                let size = usize::from_str_radix(l.trim(), 16)
                    .map_err(|_| ClientError::Http(format!("bad chunk size {l:?}")))?;
                if size == 0 {
                    return Ok(None);
                }
                let mut buf = vec![0; size + 2];
                self.r.read_exact(&mut buf).await?;
                buf.truncate(size);
                self.pending.push_str(&String::from_utf8_lossy(&buf));
            } else {
                self.pending.push_str(&l);
            }
        }
    }

    /// The next event (comments and keep-alives skipped); `None` when the stream ends.
    pub async fn next(&mut self) -> Result<Option<SseMessage>, ClientError> {
        let mut m = SseMessage::default();
        let mut any = false;
        while let Some(l) = self.line().await? {
            if l.is_empty() {
                if any {
                    return Ok(Some(m));
                }
                continue;
            }
            if l.starts_with(':') {
                continue;
            }
            let (k, v) = l.split_once(':').unwrap_or((l.as_str(), ""));
            let v = v.strip_prefix(' ').unwrap_or(v);
            any = true;
            match k {
                "event" => m.event = v.to_owned(),
                "data" => {
                    if !m.data.is_empty() {
                        m.data.push('\n');
                    }
                    m.data.push_str(v);
                }
                "id" => m.id = Some(v.to_owned()),
                _ => {}
            }
        }
        Ok(None)
    }
}
