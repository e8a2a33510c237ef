// Tokio TCP echo server for bench/echo: current_thread runtime, a task per
// connection reading up to 16 KiB and writing it back, TCP_NODELAY on.
//
//     tokio-echo PORT
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(mut s: TcpStream) {
    let mut buf = vec![0u8; 16384];
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
        .expect("usage: tokio-echo PORT");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let ln = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        loop {
            if let Ok((s, _)) = ln.accept().await {
                let _ = s.set_nodelay(true);
                tokio::spawn(serve(s));
            }
        }
    });
}
