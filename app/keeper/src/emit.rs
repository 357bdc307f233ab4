//! Emit: counters, a per-loop log line, and a Prometheus text endpoint
//! (`GET /metrics`) on a plain tokio `TcpListener`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leveraged_token::state::RefundReason;
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
    /// Requests executed (landed): filled, refunded, or (no logs) unknown which.
    pub requests_executed: AtomicU64,
    pub requests_filled: AtomicU64,
    pub requests_refunded: AtomicU64,
    /// Refunds by reason, indexed by [`refund_index`].
    pub refunds: [AtomicU64; REFUND_REASONS.len()],
    /// Expired requests this keeper cancelled (escrow back to the owner).
    pub requests_expired: AtomicU64,
    /// Executions or cancellations somebody else got to first, or whose
    /// update moved on before the send.
    pub requests_skipped: AtomicU64,
    /// Executions or cancellations that failed (simulation, send).
    pub requests_failed: AtomicU64,
    /// Executor fees received, lamports.
    pub executor_fees_earned: AtomicU64,
    /// Gauges: tokens known, slot of the last fetch, requests seen waiting
    /// (for their price time or its update) at the last fetch.
    pub tokens: AtomicU64,
    pub last_slot: AtomicU64,
    pub requests_pending: AtomicU64,
}

/// Every refund reason, in the order of [`refund_index`] (the program's list).
pub const REFUND_REASONS: [RefundReason; 9] = RefundReason::ALL;

/// The position of `r` in [`REFUND_REASONS`].
pub fn refund_index(r: RefundReason) -> usize {
    REFUND_REASONS.iter().position(|x| *x == r).unwrap_or(0)
}

/// The metric label of a refund reason (the program's).
pub fn refund_label(r: RefundReason) -> &'static str {
    r.label()
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
    pub requests_executed: u64,
    pub requests_filled: u64,
    pub requests_refunded: u64,
    pub requests_expired: u64,
    pub requests_skipped: u64,
    pub requests_failed: u64,
    pub executor_fees_earned: u64,
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
            requests_executed: self.requests_executed - earlier.requests_executed,
            requests_filled: self.requests_filled - earlier.requests_filled,
            requests_refunded: self.requests_refunded - earlier.requests_refunded,
            requests_expired: self.requests_expired - earlier.requests_expired,
            requests_skipped: self.requests_skipped - earlier.requests_skipped,
            requests_failed: self.requests_failed - earlier.requests_failed,
            executor_fees_earned: self.executor_fees_earned - earlier.executor_fees_earned,
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
            requests_executed: g(&self.requests_executed),
            requests_filled: g(&self.requests_filled),
            requests_refunded: g(&self.requests_refunded),
            requests_expired: g(&self.requests_expired),
            requests_skipped: g(&self.requests_skipped),
            requests_failed: g(&self.requests_failed),
            executor_fees_earned: g(&self.executor_fees_earned),
        }
    }

    /// Refunds counted per reason.
    pub fn refunds_by_reason(&self) -> Vec<(RefundReason, u64)> {
        REFUND_REASONS.iter().map(|r| (*r, self.refunds[refund_index(*r)].load(Ordering::Relaxed))).collect()
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let c = self.counters();
        let mut out = String::new();
        let counters: [(&str, u64, &str); 15] = [
            ("lt_keeper_checked_total", c.checked, "Tokens checked (one per token per loop)."),
            ("lt_keeper_sent_total", c.sent, "Rebalance transactions sent."),
            ("lt_keeper_landed_total", c.landed, "Rebalance transactions that landed."),
            ("lt_keeper_skipped_total", c.skipped, "Tokens not rebalanced: gate closed off- or on-chain, paused, or oracle unusable."),
            ("lt_keeper_failed_total", c.failed, "Rebalances that failed (simulation, send or decision)."),
            ("lt_keeper_simulated_total", c.simulated, "Dry-run simulations that passed (rebalances and requests; nothing sent)."),
            ("lt_keeper_reward_earned_total", c.reward_earned, "Keeper rewards received, collateral native units summed over markets."),
            ("lt_keeper_loops_total", c.loops, "Keeper loops run."),
            ("lt_keeper_loop_errors_total", c.loop_errors, "Loops that could not fetch from the chain."),
            ("lt_keeper_requests_executed_total", c.requests_executed, "Requests this keeper executed (landed): filled, refunded, or unknown which without logs."),
            ("lt_keeper_requests_filled_total", c.requests_filled, "Requests this keeper executed that filled."),
            ("lt_keeper_requests_expired_total", c.requests_expired, "Expired requests this keeper cancelled (escrow returned to the owner)."),
            ("lt_keeper_requests_skipped_total", c.requests_skipped, "Request executions or cancellations another sender got to first, or whose update moved on."),
            ("lt_keeper_requests_failed_total", c.requests_failed, "Request executions or cancellations that failed (simulation or send)."),
            ("lt_keeper_executor_fees_earned_lamports_total", c.executor_fees_earned, "Executor fees received for executed requests, lamports."),
        ];
        for (name, v, help) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        let name = "lt_keeper_requests_refunded_total";
        let _ = writeln!(out, "# HELP {name} Requests this keeper executed that refunded the escrow, by the program's RefundReason.\n# TYPE {name} counter");
        for (reason, v) in self.refunds_by_reason() {
            let _ = writeln!(out, "{name}{{reason=\"{}\"}} {v}", refund_label(reason));
        }
        let gauges = [
            ("lt_keeper_tokens", self.tokens.load(Ordering::Relaxed), "Leveraged tokens known to the keeper."),
            ("lt_keeper_last_slot", self.last_slot.load(Ordering::Relaxed), "Slot of the last fetch."),
            ("lt_keeper_requests_pending", self.requests_pending.load(Ordering::Relaxed), "Requests waiting for their price time or its update at the last fetch."),
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
            requests_filled = this_loop.requests_filled,
            requests_refunded = this_loop.requests_refunded,
            requests_expired = this_loop.requests_expired,
            requests_skipped = this_loop.requests_skipped,
            requests_failed = this_loop.requests_failed,
            total_checked = t.checked,
            total_sent = t.sent,
            total_landed = t.landed,
            total_skipped = t.skipped,
            total_failed = t.failed,
            total_reward_earned = t.reward_earned,
            total_requests_filled = t.requests_filled,
            total_requests_refunded = t.requests_refunded,
            total_requests_expired = t.requests_expired,
            total_requests_failed = t.requests_failed,
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
