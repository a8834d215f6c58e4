//! The floor: a plain TCP relay with tokio's `copy_bidirectional`, run as its own process
//! (`meridian-bench relay`) so that its CPU time and memory are measured like the proxy's.

use std::{net::SocketAddr, time::Duration};

use tokio::net::{TcpListener, TcpStream};

/// Relays every connection on `listen` to `to` until `max` has passed, then returns: the relay
/// stops by itself even if the bench that started it died.
pub async fn run(listen: SocketAddr, to: SocketAddr, max: Duration) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let serve = async {
        loop {
            let (client, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of descriptors, most likely: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            tokio::spawn(async move {
                let Ok(backend) = TcpStream::connect(to).await else {
                    return;
                };
                // The proxy sets TCP_NODELAY on both sides; so does the floor.
                let _ = client.set_nodelay(true);
                let _ = backend.set_nodelay(true);
                let (mut client, mut backend) = (client, backend);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
            });
        }
    };
    tokio::select! {
        () = serve => Ok(()),
        () = tokio::time::sleep(max) => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
