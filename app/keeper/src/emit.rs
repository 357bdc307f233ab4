//! Emit: counters, a per-loop log line, and a Prometheus text endpoint
//! (`GET /metrics`) on a plain tokio `TcpListener`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The keeper's counters and gauges, shared with the metrics endpoint.
#[derive(Debug, Default)]
pub struct Metrics {
    pub checked: AtomicU64,
    pub sent: AtomicU64,
    pub landed: AtomicU64,
    pub skipped: AtomicU64,
    pub failed: AtomicU64,
    pub simulated: AtomicU64,
    pub reward_earned: AtomicU64,
    pub loops: AtomicU64,
    pub loop_errors: AtomicU64,
    /// Gauges: tokens known, slot of the last fetch.
    pub tokens: AtomicU64,
    pub last_slot: AtomicU64,
}

/// A plain copy of the counters, for assertions and per-loop deltas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub checked: u64,
    pub sent: u64,
    pub landed: u64,
    pub skipped: u64,
    pub failed: u64,
    pub simulated: u64,
    pub reward_earned: u64,
    pub loops: u64,
    pub loop_errors: u64,
}

impl Counters {
    /// `self − earlier`, counter by counter.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            checked: self.checked - earlier.checked,
            sent: self.sent - earlier.sent,
            landed: self.landed - earlier.landed,
            skipped: self.skipped - earlier.skipped,
            failed: self.failed - earlier.failed,
            simulated: self.simulated - earlier.simulated,
            reward_earned: self.reward_earned - earlier.reward_earned,
            loops: self.loops - earlier.loops,
            loop_errors: self.loop_errors - earlier.loop_errors,
        }
    }
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    pub fn counters(&self) -> Counters {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            checked: g(&self.checked),
            sent: g(&self.sent),
            landed: g(&self.landed),
            skipped: g(&self.skipped),
            failed: g(&self.failed),
            simulated: g(&self.simulated),
            reward_earned: g(&self.reward_earned),
            loops: g(&self.loops),
            loop_errors: g(&self.loop_errors),
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let c = self.counters();
        let mut out = String::new();
        let counters: [(&str, u64, &str); 9] = [
            ("lt_keeper_checked_total", c.checked, "Tokens checked (one per token per loop)."),
            ("lt_keeper_sent_total", c.sent, "Rebalance transactions sent."),
            ("lt_keeper_landed_total", c.landed, "Rebalance transactions that landed."),
            ("lt_keeper_skipped_total", c.skipped, "Tokens not rebalanced: gate closed off- or on-chain, paused, or oracle unusable."),
            ("lt_keeper_failed_total", c.failed, "Rebalances that failed (simulation, send or decision)."),
            ("lt_keeper_simulated_total", c.simulated, "Dry-run simulations that passed (nothing sent)."),
            ("lt_keeper_reward_earned_total", c.reward_earned, "Keeper rewards received, collateral native units summed over markets."),
            ("lt_keeper_loops_total", c.loops, "Keeper loops run."),
            ("lt_keeper_loop_errors_total", c.loop_errors, "Loops that could not fetch from the chain."),
        ];
        for (name, v, help) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        let gauges = [
            ("lt_keeper_tokens", self.tokens.load(Ordering::Relaxed), "Leveraged tokens known to the keeper."),
            ("lt_keeper_last_slot", self.last_slot.load(Ordering::Relaxed), "Slot of the last fetch."),
        ];
        for (name, v, help) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }

    /// One info line with this loop's counts and the running totals.
    pub fn log_loop(&self, loop_no: u64, this_loop: &Counters, slot: u64) {
        let t = self.counters();
        tracing::info!(
            target: "lt_keeper::loop",
            loop_no,
            slot,
            checked = this_loop.checked,
            sent = this_loop.sent,
            landed = this_loop.landed,
            skipped = this_loop.skipped,
            failed = this_loop.failed,
            simulated = this_loop.simulated,
            reward_earned = this_loop.reward_earned,
            total_checked = t.checked,
            total_sent = t.sent,
            total_landed = t.landed,
            total_skipped = t.skipped,
            total_failed = t.failed,
            total_reward_earned = t.reward_earned,
            "loop done"
        );
    }
}

/// Answer `GET /metrics` on `listener` until the task is dropped.
pub async fn serve_metrics(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let m = metrics.clone();
                tokio::spawn(async move {
                    if let Err(e) = answer(stream, &m).await {
                        tracing::debug!(error = %e, "metrics connection");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics listener accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // Read the request head (bounded in size and time).
    let read = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(())
    };
    if tokio::time::timeout(Duration::from_secs(5), read).await.is_err() {
        return Ok(());
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = path.split('?').next().unwrap_or_default();
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.render()),
        ("GET", _) => ("404 Not Found", "text/plain; charset=utf-8", "not found: try /metrics\n".to_string()),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n".to_string()),
    };
    let resp = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}
