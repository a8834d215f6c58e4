//! Drives `node/bot.js`: mineflayer, a real 26.1 client with its own codec, under test control.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
    time::{Instant, timeout_at},
};

/// Where `bot.js` and its `node_modules` live.
pub fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// A mineflayer bot connected (or connecting) to an address.
#[derive(Debug)]
pub struct Bot {
    pub name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// Every event received so far, in order.
    pub events: Vec<Value>,
}

impl Bot {
    /// Starts a bot joining `addr` as `name`. Fails loudly when node or mineflayer is missing:
    /// a test that needs a real client must not pass without one.
    pub async fn join(addr: SocketAddr, name: &str) -> Bot {
        let dir = node_dir();
        assert!(
            dir.join("node_modules/mineflayer").is_dir(),
            "mineflayer is not installed: run `npm ci --prefix tests/node` (scripts/test does this)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("bot.js"))
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node must be installed to run the mineflayer tests");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Bot {
            name: name.to_owned(),
            child,
            stdin,
            stdout,
            events: Vec::new(),
        }
    }

    /// Waits for the next event matching `pred` (earlier matching events already seen are skipped
    /// unless `from` points before them). Panics with the event log on timeout or exit.
    pub async fn wait_for(&mut self, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            match timeout_at(deadline, self.stdout.next_line()).await {
                Err(_) => panic!(
                    "{}: timed out after {within:?}; events: {:#?}",
                    self.name, self.events
                ),
                Ok(Err(e)) => panic!("{}: reading bot output: {e}", self.name),
                Ok(Ok(None)) => panic!("{}: bot exited; events: {:#?}", self.name, self.events),
                Ok(Ok(Some(line))) => {
                    let Ok(event) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    self.events.push(event.clone());
                    if pred(&event) {
                        return event;
                    }
                }
            }
        }
    }

    /// Waits until the bot has spawned; panics if it is kicked first.
    pub async fn spawned(&mut self, within: Duration) -> Value {
        let event = self
            .wait_for(within, |e| {
                matches!(e["event"].as_str(), Some("spawn" | "kicked" | "end"))
            })
            .await;
        assert_eq!(
            event["event"], "spawn",
            "{}: did not spawn: {event}",
            self.name
        );
        event
    }

    /// Sends a chat message (a leading `/` makes it a command).
    pub async fn chat(&mut self, text: &str) {
        self.send(json!({ "cmd": "chat", "text": text })).await;
    }

    /// Waits for the next chat line that satisfies `pred`.
    pub async fn chat_line(&mut self, within: Duration, pred: impl Fn(&str) -> bool) -> String {
        let event = self
            .wait_for(within, |e| {
                e["event"] == "chat" && e["text"].as_str().is_some_and(&pred)
            })
            .await;
        event["text"].as_str().unwrap_or_default().to_owned()
    }

    /// The entities the bot knows of, other than itself.
    pub async fn entities(&mut self, within: Duration) -> Vec<Value> {
        self.send(json!({ "cmd": "entities" })).await;
        let event = self.wait_for(within, |e| e["event"] == "entities").await;
        event["entities"].as_array().cloned().unwrap_or_default()
    }

    /// The name of the block at a position, as the bot's world sees it (`None`: not loaded).
    pub async fn block(&mut self, within: Duration, [x, y, z]: [i32; 3]) -> Option<String> {
        self.send(json!({ "cmd": "block", "x": x, "y": y, "z": z }))
            .await;
        let event = self.wait_for(within, |e| e["event"] == "block").await;
        event["name"].as_str().map(str::to_owned)
    }

    /// Walks to `x, z` with the bot's own physics and returns where it stopped.
    pub async fn walk(&mut self, within: Duration, x: f64, z: f64) -> [f64; 3] {
        self.send(json!({ "cmd": "walk", "x": x, "z": z })).await;
        let event = self.wait_for(within, |e| e["event"] == "arrived").await;
        [
            event["x"].as_f64().unwrap_or(f64::NAN),
            event["y"].as_f64().unwrap_or(f64::NAN),
            event["z"].as_f64().unwrap_or(f64::NAN),
        ]
    }

    /// Events seen so far that are packets of this name.
    pub fn packets(&self, name: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["event"] == "packet" && e["name"] == name)
            .collect()
    }

    /// Sends a raw command object.
    pub async fn send(&mut self, command: Value) {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to bot");
        self.stdin.flush().await.expect("flush to bot");
    }

    /// Disconnects and waits for the process to exit.
    pub async fn quit(mut self) {
        let _ = self.send(json!({ "cmd": "quit" })).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}
