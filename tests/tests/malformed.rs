//! Malformed input from a client ends that connection, with a logged reason, and nobody else's.

use std::time::Duration;

use azalea_protocol::packets::{
    ClientIntention,
    handshake::ServerboundIntention,
    login::{ClientboundLoginPacket, ServerboundHello},
};
use meridian_tests::{cluster::TestCluster, mineflayer::Bot, within};
use meridian_wire::{PROTOCOL_VERSION, conn::ClientHandshake, varint::write_varint};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const WAIT: Duration = Duration::from_secs(20);

/// Writes `bytes` and expects the proxy to close the connection (EOF or reset), ignoring
/// whatever it sent first.
async fn expect_closed(mut stream: TcpStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes).await;
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

fn handshake_frame(intention: i32) -> Vec<u8> {
    let mut body = vec![0x00];
    write_varint(&mut body, PROTOCOL_VERSION);
    body.push(9);
    body.extend_from_slice(b"localhost");
    body.extend_from_slice(&25565u16.to_be_bytes());
    write_varint(&mut body, intention);
    let mut frame = Vec::new();
    write_varint(&mut frame, body.len() as i32);
    frame.extend_from_slice(&body);
    frame
}

#[tokio::test]
async fn malformed_frames_end_only_their_own_connection() {
    within!(90, async {
        let cluster = TestCluster::new().backend("west").run().await;
        let addr = cluster.proxy_addr();
        let mut bystander = Bot::join(addr, "Bystander").await;
        bystander.spawned(WAIT).await;

        // An oversized length: 2^21, one more than a three-byte VarInt holds.
        expect_closed(
            TcpStream::connect(addr).await.unwrap(),
            &[0x80, 0x80, 0x80, 0x01],
        )
        .await;
        // A VarInt that never ends.
        expect_closed(TcpStream::connect(addr).await.unwrap(), &[0xff; 8]).await;
        // An empty frame.
        expect_closed(TcpStream::connect(addr).await.unwrap(), &[0x00]).await;
        // A handshake asking for a state that does not exist.
        expect_closed(TcpStream::connect(addr).await.unwrap(), &handshake_frame(7)).await;
        // An unknown packet id in the handshake state.
        expect_closed(TcpStream::connect(addr).await.unwrap(), &[0x02, 0x05, 0x00]).await;
        // A large but legal-looking length before login is refused, not buffered.
        expect_closed(TcpStream::connect(addr).await.unwrap(), &[0xff, 0xff, 0x7f]).await;

        // A bogus compressed length after login compression is on.
        let mut conn = ClientHandshake::connect(addr).await.unwrap();
        conn.write(ServerboundIntention {
            protocol_version: PROTOCOL_VERSION,
            hostname: "localhost".into(),
            port: 25565,
            intention: ClientIntention::Login,
        })
        .await
        .unwrap();
        let mut conn = conn.login();
        conn.write(ServerboundHello {
            name: "Mallory".into(),
            profile_id: uuid::Uuid::nil(),
        })
        .await
        .unwrap();
        match conn.read().await.unwrap() {
            ClientboundLoginPacket::LoginCompression(p) => assert_eq!(p.compression_threshold, 256),
            other => panic!("expected compression, got {other:?}"),
        }
        // Claims 100 MB uncompressed; written below the codec, which would refuse to frame it.
        let (mut reader, mut writer) = conn.into_split();
        writer
            .get_mut()
            .write_all(&[0x06, 0x80, 0xc2, 0xd7, 0x2f, 0x01, 0x00])
            .await
            .unwrap();
        let closed = tokio::time::timeout(WAIT, async {
            loop {
                if meridian_wire::conn::next_frame(&mut reader).await.is_err() {
                    return;
                }
            }
        })
        .await;
        assert!(
            closed.is_ok(),
            "the proxy must close a connection with a bogus compressed length"
        );

        // The bystander never noticed.
        bystander.chat("/whereami").await;
        bystander.chat_line(WAIT, |t| t == "server=west").await;
        let metrics = cluster.metrics().await;
        assert!(
            metrics.contains("meridian_errors_total{kind=\"client_frame\"}"),
            "{metrics}"
        );
        bystander.quit().await;
    });
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_handshake_timeout() {
    within!(30, async {
        let cluster = TestCluster::new().backend("west").run().await;
        // The cluster's handshake timeout is 2 s; saying nothing must not hold a slot forever.
        expect_closed(TcpStream::connect(cluster.proxy_addr()).await.unwrap(), &[]).await;
    });
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    within!(30, async {
        let cluster = TestCluster::new()
            .backend("west")
            .limit("max_connections", 2)
            .limit("handshake_timeout_ms", 20_000)
            .run()
            .await;
        let addr = cluster.proxy_addr();
        let _a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr).await.unwrap();
        // Wait until the proxy has accepted both, so the third is the one over the limit.
        let metrics = loop {
            let m = cluster.metrics().await;
            if m.contains("meridian_connections_active 2") {
                break m;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(metrics.contains("meridian_connections_active 2"));
        expect_closed(TcpStream::connect(addr).await.unwrap(), &[]).await;
        assert!(
            cluster
                .metrics()
                .await
                .contains("meridian_connections_refused_total 1")
        );
    });
}
