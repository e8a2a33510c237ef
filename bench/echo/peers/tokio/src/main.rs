// Tokio TCP echo server for bench/echo: current_thread runtime, a task per
// connection reading up to READ bytes (default 16 KiB) and writing them back,
// TCP_NODELAY on.
//
//     tokio-echo PORT [READ]
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(mut s: TcpStream, readsz: usize) {
    let mut buf = vec![0u8; readsz];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: tokio-echo PORT [READ]");
    let readsz: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(16384);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let ln = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        loop {
            if let Ok((s, _)) = ln.accept().await {
                let _ = s.set_nodelay(true);
                tokio::spawn(serve(s, readsz));
            }
        }
    });
}
