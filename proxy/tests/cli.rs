//! The `meridian` binary as a user runs it.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

fn meridian() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_meridian"));
    command
        .env("RUST_LOG", "info")
        .env_remove(meridian::config::FORWARDING_SECRET_ENV);
    command
}

#[test]
fn check_config_accepts_the_example_and_exits_64_on_a_bad_file() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/meridian.example.toml");
    let ok = meridian().args(["check-config", example]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[servers]]\nid = \"west\"\naddress = \"nowhere\"\n[forwarding]\nsecret = \"x\"\n",
    )
    .unwrap();
    let out = meridian().arg("check-config").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("servers[0].address"),
        "the error names the field: {stderr}"
    );

    let missing = meridian()
        .args(["check-config", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(64));

    let run = meridian()
        .arg("run")
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(64),
        "run refuses a bad config before binding anything"
    );
}

/// `meridian demo` starts, says where to join, and answers a server-list ping there.
#[test]
fn demo_starts_and_answers_a_ping() {
    let mut child = meridian()
        .args(["demo", "--bind", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let marker = "join with a Minecraft 26.1 client at ";
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the demo logs where to join");
        if let Some(rest) = line.split(marker).nth(1) {
            break rest.split(';').next().unwrap().trim().to_owned();
        }
    };
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Handshake (protocol 775, status), then a status request.
    let mut handshake = vec![0x00, 0x87, 0x06, 9];
    handshake.extend_from_slice(b"localhost");
    handshake.extend_from_slice(&[0x63, 0xdd, 0x01]);
    stream.write_all(&[handshake.len() as u8]).unwrap();
    stream.write_all(&handshake).unwrap();
    stream.write_all(&[0x01, 0x00]).unwrap();
    let mut response = vec![0; 2048];
    let n = stream.read(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response[..n]);
    assert!(text.contains("\"protocol\":775"), "{text}");
    assert!(text.contains("Meridian demo"), "{text}");
    let _ = child.kill();
    let _ = child.wait();
}

/// A zone database that cannot be reached stops `run` with a message saying so (and not the
/// password), rather than a proxy routing by a map it could not confirm.
#[test]
fn run_with_an_unreachable_zone_database_says_so_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("meridian.toml");
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    std::fs::write(
        &config,
        "bind = \"127.0.0.1:0\"\n[[servers]]\nid = \"west\"\naddress = \"127.0.0.1:1\"\n\
         [forwarding]\nsecret = \"x\"\n[zones]\nstore = \"postgres://meridian:hunter2@127.0.0.1:1/meridian\"\n",
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let mut child = meridian()
        .arg("run")
        .arg("--config")
        .arg(&config)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let stderr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("meridian exits when the database is unreachable");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("zone store"), "{stderr}");
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
}
