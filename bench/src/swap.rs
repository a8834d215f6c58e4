//! The swap scenario: one player walks back and forth across the zone border between two
//! reference backends (`west`, `east`) behind Meridian while a 200 Hz ping stream measures
//! what the player feels.
//!
//! - The player joins through the proxy on `west` (spawn x = −8.5). The walk waits until both
//!   backends have been told their roles on `meridian:sync` (west primary, east dummy): before
//!   that the proxy would postpone the swap, which is not what is measured.
//! - It then walks along z = 0.5 in one-block `move_player_pos` steps, one per tick (20/s),
//!   between x = −4.5 and x = 4.5. The proxy swaps when the player is more than
//!   [`SWAP_MARGIN`] blocks inside the other zone: the move to x = 2.5 going east, to x = −2.5
//!   going west. At each turning point the walk holds until the backends' roles show the swap
//!   (failing the scenario after [`SWAP_DEADLINE`]), so every crossing starts from a settled
//!   primary.
//! - Meanwhile a `ping_request` leaves every 5 ms with its send time as the payload, and one
//!   more right after each crossing move, in the same write. Primary-bound packets are queued
//!   by the proxy during the handoff and delivered to the new primary after it, so
//!   **swap latency** = first `pong_response` for a ping sent at or after the crossing move −
//!   the time that move was sent, and **stall** = the longest gap between consecutive pong
//!   arrivals that overlaps ±[`STALL_WINDOW`] around a crossing.
//! - The first [`WARMUP_CROSSINGS`] crossings are not measured. The proxy's own count of
//!   completed handoffs over the measured ones must equal the crossings measured, and at the
//!   end the admin API must name the expected primary.

use std::{net::SocketAddr, time::Duration};

use bytes::{BufMut, BytesMut};
use meridian_examples::BackendHandle;
use meridian_wire::{
    ids::game::{clientbound, serverbound},
    varint::{read_varint, write_varint},
};
use sync_plugin_protocol::{MessageType, Role};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinHandle,
    time::{Instant, MissedTickBehavior, sleep_until, timeout},
};
use uuid::Uuid;

use crate::{
    client,
    frames::{ping_time, put_small_frame, scan},
    source::TICK,
};

/// The proxy's `[zones] swap_margin` in the generated config (the proxy's default).
pub const SWAP_MARGIN: f64 = 2.0;
/// The ping period of the swap client: 200 Hz.
pub const PING_PERIOD: Duration = Duration::from_millis(5);
/// Pong gaps count for a crossing when they overlap this much either side of it.
pub const STALL_WINDOW: Duration = Duration::from_secs(1);
/// Crossings walked (east, then back west) before measuring.
pub const WARMUP_CROSSINGS: usize = 2;
/// How long after a crossing the backends' roles may take to show the swap.
pub const SWAP_DEADLINE: Duration = Duration::from_secs(5);
/// How long the proxy may take to set both backends' roles after the join.
const LINK_DEADLINE: Duration = Duration::from_secs(15);
/// The turning points of the walk, as block x (the player stands at the block's centre).
const WEST_END: i32 = -5;
const EAST_END: i32 = 4;
/// Where the reference backend spawns a player (block x −9: x = −8.5).
const SPAWN_BLOCK: i32 = -9;
/// Bound on one small write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

const _: () =
    assert!((EAST_END as f64 + 0.5) > SWAP_MARGIN && (WEST_END as f64 + 0.5) < -SWAP_MARGIN);

/// A side of the border, named as the backend that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    West,
    East,
}

impl Side {
    pub fn id(self) -> &'static str {
        match self {
            Side::West => "west",
            Side::East => "east",
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::West => Side::East,
            Side::East => Side::West,
        }
    }
}

/// Which side a move from `from` to `to` (block x of the player) swaps to, if it is the move
/// that takes the player more than `margin` blocks past the border at x = 0.
pub fn crossing(from: f64, to: f64, margin: f64) -> Option<Side> {
    if from <= margin && to > margin {
        Some(Side::East)
    } else if from >= -margin && to < -margin {
        Some(Side::West)
    } else {
        None
    }
}

/// The two reference backends of the scenario.
#[derive(Debug, Clone)]
pub struct Pair {
    pub west: BackendHandle,
    pub east: BackendHandle,
}

impl Pair {
    fn handle(&self, side: Side) -> &BackendHandle {
        match side {
            Side::West => &self.west,
            Side::East => &self.east,
        }
    }

    /// Whether `side` has the player as its primary and the other side as a dummy.
    fn primary_is(&self, uuid: Uuid, side: Side) -> bool {
        self.handle(side).role(uuid) == Some(Role::Primary)
            && self.handle(side.other()).role(uuid) == Some(Role::Dummy)
    }

    fn set_roles(&self) -> (usize, usize) {
        (
            self.west.sync_received(MessageType::SetRole),
            self.east.sync_received(MessageType::SetRole),
        )
    }

    fn roles(&self, uuid: Uuid) -> String {
        format!(
            "west {:?}, east {:?}",
            self.west.role(uuid),
            self.east.role(uuid)
        )
    }
}

/// One `pong_response`: when its ping was sent and when it arrived, ns since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong {
    pub sent_ns: u64,
    pub arrival_ns: u64,
}

/// For each crossing (ns), the time from it to the arrival of the first pong of a ping sent
/// at or after it; `None` if no such pong came.
pub fn swap_latencies(crossings: &[u64], pongs: &[Pong]) -> Vec<Option<u64>> {
    crossings
        .iter()
        .map(|&c| {
            pongs
                .iter()
                .filter(|p| p.sent_ns >= c)
                .map(|p| p.arrival_ns)
                .min()
                .map(|a| a.saturating_sub(c))
        })
        .collect()
}

/// The longest gap between consecutive arrivals (sorted) that overlaps `[at − window, at +
/// window]`, and when it began: a stall that began before the window or ends after it counts
/// whole.
pub fn stall_around(arrivals: &[u64], at: u64, window: u64) -> Option<(u64, u64)> {
    let (lo, hi) = (at.saturating_sub(window), at.saturating_add(window));
    arrivals
        .windows(2)
        .filter(|w| w[1] >= lo && w[0] <= hi)
        .map(|w| (w[1] - w[0], w[0]))
        .max()
}

/// One measured crossing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    pub to: Side,
    /// Crossing move sent → first pong of a ping sent at or after it.
    pub latency_ns: u64,
    /// The longest pong gap within ±[`STALL_WINDOW`].
    pub stall_ns: u64,
    /// When that gap began, relative to the crossing move, ns.
    pub stall_at_ns: i64,
    /// The longest gap between two ping sends within ±[`STALL_WINDOW`]: the generator's own
    /// share of a stall (the client shares its thread with the backends).
    pub send_gap_ns: u64,
}

/// The swap scenario in one run.
#[derive(Debug, Clone, Default)]
pub struct SwapRun {
    pub crossings: Vec<Crossing>,
    pub pings_sent: u64,
    pub pongs: u64,
    pub keep_alives_answered: u64,
    pub teleports: u64,
    /// The proxy's `meridian_handoff_seconds` over the measured crossings: sum / count, ms.
    pub proxy_handoff_ms_mean: Option<f64>,
    /// Completed handoffs the proxy counted after the warm-up.
    pub handoffs_completed: u64,
    /// From the first measured crossing to the end of the walk, s.
    pub walk_seconds: f64,
    /// Over the whole scenario (join to end), in cores: the proxy's CPU, and other processes'
    /// (the noise the figures were taken in).
    pub proxy_cpu_util: Option<f64>,
    pub other_cpu_util: Option<f64>,
}

/// What the scenario needs from its surroundings.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The proxy's game and admin addresses.
    pub proxy: SocketAddr,
    pub admin: SocketAddr,
    pub secret: Vec<u8>,
    pub name: String,
    pub pair: Pair,
    /// Crossings measured (after the warm-up).
    pub crossings: usize,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for both backends' `SetRole` and a first pong, since.
    Linking(Instant),
    Walking,
    /// Every crossing made and verified; pongs keep coming until the stall window closes.
    Tail(Instant),
}

enum Step {
    Hold,
    Move {
        x: f64,
        crossing: Option<Side>,
    },
    /// The last warm-up swap is verified: measuring starts.
    Measure,
    Done,
}

struct Walker {
    block: i32,
    heading: i32,
    phase: Phase,
    made: usize,
    total: usize,
    /// A crossing whose swap the backends do not show yet, and when it was made.
    pending: Option<(Side, Instant)>,
    set_roles_before: (usize, usize),
    measuring: bool,
}

impl Walker {
    fn x(block: i32) -> f64 {
        f64::from(block) + 0.5
    }

    /// One tick: `pongs` is how many pongs have come back so far.
    fn step(
        &mut self,
        now: Instant,
        pair: &Pair,
        uuid: Uuid,
        pongs: usize,
    ) -> Result<Step, String> {
        match self.phase {
            Phase::Linking(since) => {
                let (w, e) = pair.set_roles();
                let linked = w > self.set_roles_before.0
                    && e > self.set_roles_before.1
                    && pair.primary_is(uuid, Side::West);
                if linked && pongs > 0 {
                    self.phase = Phase::Walking;
                } else if now - since > LINK_DEADLINE {
                    return Err(if linked {
                        format!(
                            "no pong_response within {LINK_DEADLINE:?}: the primary does not \
                             answer play ping_requests (a stale reference backend build?)"
                        )
                    } else {
                        format!(
                            "the proxy did not set both backends' roles within \
                             {LINK_DEADLINE:?} ({})",
                            pair.roles(uuid)
                        )
                    });
                }
                return Ok(Step::Hold);
            }
            Phase::Tail(since) => {
                return Ok(
                    if now - since >= STALL_WINDOW + Duration::from_millis(300) {
                        Step::Done
                    } else {
                        Step::Hold
                    },
                );
            }
            Phase::Walking => {}
        }
        if let Some((side, at)) = self.pending {
            if pair.primary_is(uuid, side) {
                self.pending = None;
                if self.made == WARMUP_CROSSINGS && !self.measuring {
                    self.measuring = true;
                    return Ok(Step::Measure);
                }
            } else if now - at > SWAP_DEADLINE {
                return Err(format!(
                    "no swap to {} within {SWAP_DEADLINE:?} of crossing #{} ({})",
                    side.id(),
                    self.made,
                    pair.roles(uuid)
                ));
            }
        }
        let end = if self.heading > 0 { EAST_END } else { WEST_END };
        if self.block == end {
            if self.pending.is_some() {
                return Ok(Step::Hold);
            }
            if self.made >= self.total {
                self.phase = Phase::Tail(now);
                return Ok(Step::Hold);
            }
            self.heading = -self.heading;
        }
        let from = Self::x(self.block);
        self.block += self.heading;
        let x = Self::x(self.block);
        let crossed = crossing(from, x, SWAP_MARGIN);
        if let Some(side) = crossed {
            self.made += 1;
            self.pending = Some((side, now));
        }
        Ok(Step::Move {
            x,
            crossing: crossed,
        })
    }
}

fn put_ping(out: &mut BytesMut, time: u64, compressed: bool) {
    let mut packet = [0u8; 9];
    packet[0] = serverbound::PING_REQUEST as u8;
    packet[1..].copy_from_slice(&time.to_be_bytes());
    put_small_frame(out, &packet, compressed);
}

fn put_move(out: &mut BytesMut, x: f64, compressed: bool) {
    let mut packet = Vec::with_capacity(26);
    write_varint(&mut packet, serverbound::MOVE_PLAYER_POS);
    for v in [x, 64.0, 0.5] {
        packet.put_f64(v);
    }
    // On the ground, no horizontal collision.
    packet.put_u8(1);
    put_small_frame(out, &packet, compressed);
}

/// Runs the scenario once: join, link, walk, verify, measure.
pub async fn run(setup: &Setup) -> Result<SwapRun, String> {
    let pair = &setup.pair;
    let set_roles_before = pair.set_roles();
    let joined = client::join(
        setup.proxy,
        &setup.name,
        &setup.secret,
        Duration::from_secs(30),
    )
    .await?;
    let client::Joined {
        mut reader,
        leftover,
        mut writer,
        compressed,
        ..
    } = joined;
    let started = Instant::now();
    let uuid = loop {
        if let Some(p) = pair
            .west
            .players()
            .into_iter()
            .find(|p| p.name == setup.name)
        {
            break p.uuid;
        }
        if started.elapsed() > LINK_DEADLINE {
            return Err(format!("{} never appeared on west", setup.name));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };

    let epoch = Instant::now();
    let ns = |t: Instant| t.saturating_duration_since(epoch).as_nanos() as u64;
    let total = WARMUP_CROSSINGS + setup.crossings;
    let mut walker = Walker {
        block: SPAWN_BLOCK,
        heading: 1,
        phase: Phase::Linking(Instant::now()),
        made: 0,
        total,
        pending: None,
        set_roles_before,
        measuring: false,
    };
    // Every step is bounded by its own deadline; this is the backstop.
    let limit = Instant::now()
        + LINK_DEADLINE
        + (SWAP_DEADLINE + Duration::from_secs(1)) * total as u32
        + Duration::from_secs(10);
    let mut inbuf = leftover;
    let mut out = BytesMut::with_capacity(256);
    let mut pongs: Vec<Pong> = Vec::with_capacity(16_384);
    let mut ping_sends: Vec<u64> = Vec::with_capacity(16_384);
    let mut crossings: Vec<(u64, Side)> = Vec::new();
    let mut run = SwapRun::default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut next_ping = Instant::now() + PING_PERIOD;
    let mut before: Option<JoinHandle<Result<String, String>>> = None;
    let mut measured_from: Option<(usize, Instant)> = None;
    let mut disconnected = false;
    loop {
        tokio::select! {
            biased;
            read = reader.read_buf(&mut inbuf) => {
                let now = ns(Instant::now());
                match read {
                    Ok(0) => return Err("the proxy closed the connection".into()),
                    Err(e) => return Err(format!("read: {e}")),
                    Ok(_) => {}
                }
                let scanned = scan(&inbuf, compressed, |frame| {
                    let Some(packet) = frame.packet else { return };
                    let Ok((id, n)) = read_varint(packet) else { return };
                    match id {
                        clientbound::PONG_RESPONSE => {
                            if let Some(sent_ns) = ping_time(packet, id) {
                                pongs.push(Pong { sent_ns, arrival_ns: now });
                            }
                        }
                        clientbound::KEEP_ALIVE => {
                            if let Some(id) = packet.get(n..n + 8) {
                                let mut answer = Vec::with_capacity(9);
                                write_varint(&mut answer, serverbound::KEEP_ALIVE);
                                answer.extend_from_slice(id);
                                put_small_frame(&mut out, &answer, compressed);
                                run.keep_alives_answered += 1;
                            }
                        }
                        clientbound::PLAYER_POSITION => {
                            if let Ok((teleport, _)) = read_varint(&packet[n..]) {
                                let mut answer = Vec::with_capacity(6);
                                write_varint(&mut answer, serverbound::ACCEPT_TELEPORTATION);
                                write_varint(&mut answer, teleport);
                                put_small_frame(&mut out, &answer, compressed);
                                run.teleports += 1;
                            }
                        }
                        clientbound::DISCONNECT => disconnected = true,
                        _ => {}
                    }
                });
                let used = scanned.map_err(|e| format!("bad stream from the proxy: {}", e.0))?;
                let _ = inbuf.split_to(used);
                if disconnected {
                    return Err("the proxy disconnected the player".into());
                }
                inbuf.reserve(64 * 1024);
            }
            () = sleep_until(next_ping) => {
                let now = Instant::now();
                put_ping(&mut out, ns(now), compressed);
                ping_sends.push(ns(now));
                run.pings_sent += 1;
                next_ping += PING_PERIOD;
                if next_ping < now {
                    next_ping = now + PING_PERIOD;
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                if now > limit {
                    return Err("the walk did not finish in time".into());
                }
                match walker.step(now, pair, uuid, pongs.len())? {
                    Step::Hold => {}
                    Step::Move { x, crossing } => {
                        let at = Instant::now();
                        put_move(&mut out, x, compressed);
                        if let Some(side) = crossing {
                            // A ping right behind the move: the proxy reads it after the move,
                            // so it waits for the new primary.
                            put_ping(&mut out, ns(at), compressed);
                            ping_sends.push(ns(at));
                            run.pings_sent += 1;
                            crossings.push((ns(at), side));
                        }
                    }
                    Step::Measure => {
                        measured_from = Some((crossings.len(), now));
                        let admin = setup.admin;
                        // Its own task: the ping stream must not wait for the admin API.
                        before = Some(tokio::spawn(async move { http_get(admin, "/metrics").await }));
                    }
                    Step::Done => break,
                }
            }
        }
        if !out.is_empty() {
            match timeout(WRITE_TIMEOUT, writer.write_all(&out)).await {
                Ok(Ok(())) => out.clear(),
                Ok(Err(e)) => return Err(format!("write: {e}")),
                Err(_) => return Err("the proxy stopped reading".into()),
            }
        }
    }
    let last = crossings
        .last()
        .map(|&(_, side)| side)
        .unwrap_or(Side::West);
    let (from, measure_start) = measured_from.ok_or("the warm-up never completed")?;
    run.walk_seconds = measure_start.elapsed().as_secs_f64();
    run.pongs = pongs.len() as u64;

    // The proxy agrees: its primary, its dummies and its handoff count.
    let before = match before {
        Some(task) => task.await.map_err(|e| e.to_string())??,
        None => return Err("no metrics before the measured crossings".into()),
    };
    let after = http_get(setup.admin, "/metrics").await?;
    let players = http_get(setup.admin, "/api/players").await?;
    check_primary(&players, &setup.name, last)?;
    let counter = |text: &str, name: &str| metric(text, name).unwrap_or(0.0);
    let completed = r#"meridian_handoffs_total{outcome="completed"}"#;
    let failed = r#"meridian_handoffs_total{outcome="failed"}"#;
    let measured = &crossings[from..];
    // A proxy of its own per run: every crossing, warm-up included, is a completed handoff.
    let (done, lost) = (counter(&after, completed), counter(&after, failed));
    if done != crossings.len() as f64 || lost > 0.0 {
        return Err(format!(
            "the proxy counted {done} completed and {lost} failed handoffs over {} crossings",
            crossings.len()
        ));
    }
    run.handoffs_completed = (done - counter(&before, completed)) as u64;
    let sum = |text: &str| counter(text, "meridian_handoff_seconds_sum");
    let count = |text: &str| counter(text, "meridian_handoff_seconds_count");
    // Over the measured crossings, unless the first sample raced the last warm-up's count.
    let (s, c) = if counter(&before, completed) == WARMUP_CROSSINGS as f64 {
        (sum(&after) - sum(&before), count(&after) - count(&before))
    } else {
        (sum(&after), count(&after))
    };
    run.proxy_handoff_ms_mean = (c > 0.0).then(|| s / c * 1e3);

    let times: Vec<u64> = measured.iter().map(|&(t, _)| t).collect();
    let mut arrivals: Vec<u64> = pongs.iter().map(|p| p.arrival_ns).collect();
    arrivals.sort_unstable();
    let window = STALL_WINDOW.as_nanos() as u64;
    for (i, (latency, &(at, side))) in swap_latencies(&times, &pongs)
        .into_iter()
        .zip(measured)
        .enumerate()
    {
        let latency = latency.ok_or_else(|| {
            let last = pongs.last().map_or(0, |p| p.sent_ns);
            format!(
                "no pong after measured crossing #{} (to {}): {} pongs for {} pings, the last \
                 for a ping sent {:.1} ms after crossing #1 ({} keep-alives answered)",
                i + 1,
                side.id(),
                pongs.len(),
                run.pings_sent,
                (last as f64 - crossings[0].0 as f64) / 1e6,
                run.keep_alives_answered
            )
        })?;
        let (stall_ns, stall_from) = stall_around(&arrivals, at, window).unwrap_or((0, at));
        run.crossings.push(Crossing {
            to: side,
            latency_ns: latency,
            stall_ns,
            stall_at_ns: stall_from as i64 - at as i64,
            send_gap_ns: stall_around(&ping_sends, at, window).map_or(0, |(gap, _)| gap),
        });
    }
    Ok(run)
}

/// Checks the admin API's `GET /api/players`: `name`'s primary is `side`, its dummy the other.
fn check_primary(players: &str, name: &str, side: Side) -> Result<(), String> {
    let list: serde_json::Value =
        serde_json::from_str(players).map_err(|e| format!("/api/players: {e}"))?;
    let player = list
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .ok_or_else(|| format!("/api/players does not list {name}: {players}"))?;
    let dummies: Vec<&str> = player["dummies"]
        .as_array()
        .map(|d| d.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if player["primary"] != side.id() || dummies != [side.other().id()] {
        return Err(format!(
            "after the walk the proxy has primary {} and dummies {:?}, expected {} and [{}]",
            player["primary"],
            dummies,
            side.id(),
            side.other().id()
        ));
    }
    Ok(())
}

/// The value of the sample named exactly `name` (labels included) in OpenMetrics text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

/// `GET path` from the admin API (HTTP/1.1, one request per connection); the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let fetch = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("admin API {addr}: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("GET {path}: no HTTP response"))?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!(
                "GET {path}: {}",
                head.lines().next().unwrap_or_default()
            ));
        }
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            return Err(format!("GET {path}: chunked responses are not read"));
        }
        Ok(body.to_owned())
    };
    timeout(Duration::from_secs(5), fetch)
        .await
        .map_err(|_| format!("GET {path}: no answer within 5 s"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings_are_the_moves_past_the_margin() {
        assert_eq!(crossing(1.5, 2.5, 2.0), Some(Side::East));
        assert_eq!(crossing(2.5, 3.5, 2.0), None);
        assert_eq!(crossing(-1.5, -2.5, 2.0), Some(Side::West));
        assert_eq!(crossing(-2.5, -1.5, 2.0), None);
        assert_eq!(crossing(-0.5, 0.5, 2.0), None);
        // Exactly on the margin is not past it.
        assert_eq!(crossing(1.0, 2.0, 2.0), None);
    }

    #[test]
    fn latency_is_to_the_first_pong_of_a_later_ping() {
        let p = |sent_ns, arrival_ns| Pong {
            sent_ns,
            arrival_ns,
        };
        // Pings at 0, 5, 10, 15, 20; the crossing at 7 queues 10, 15 and 20 until 40.
        let pongs = [p(0, 1), p(5, 6), p(10, 40), p(15, 40), p(20, 41)];
        assert_eq!(
            swap_latencies(&[7, 10, 16, 30], &pongs),
            vec![Some(33), Some(30), Some(25), None]
        );
    }

    #[test]
    fn stalls_overlap_the_window() {
        let arrivals = [0, 5, 10, 40, 45, 200];
        assert_eq!(stall_around(&arrivals, 20, 10), Some((30, 10)));
        // The gap 45 → 200 starts inside the window [30, 50] and counts whole.
        assert_eq!(stall_around(&arrivals, 40, 10), Some((155, 45)));
        assert_eq!(stall_around(&arrivals, 7, 2), Some((5, 5)));
        assert_eq!(stall_around(&[1], 1, 10), None);
    }

    #[test]
    fn metrics_are_read_by_exact_name() {
        let text = "# TYPE meridian_handoffs counter\n\
            meridian_handoffs_total{outcome=\"completed\"} 4\n\
            meridian_handoffs_total{outcome=\"failed\"} 1\n\
            meridian_handoff_seconds_sum 0.125\n\
            meridian_handoff_seconds_count 4\n";
        assert_eq!(
            metric(text, r#"meridian_handoffs_total{outcome="completed"}"#),
            Some(4.0)
        );
        assert_eq!(metric(text, "meridian_handoff_seconds_sum"), Some(0.125));
        assert_eq!(metric(text, "meridian_handoff_seconds"), None);
    }

    #[test]
    fn the_admin_api_must_name_the_new_primary() {
        let players = r#"[{"name":"s0","uuid":"00000000-0000-0000-0000-000000000000",
            "primary":"east","dummies":["west"],"x":4.5,"y":64.0,"z":0.5}]"#;
        assert!(check_primary(players, "s0", Side::East).is_ok());
        assert!(check_primary(players, "s0", Side::West).is_err());
        assert!(check_primary(players, "other", Side::East).is_err());
    }
}
