//! The two steps of every user flow: `mint`, `redeem` and `liquidity
//! deposit|withdraw` send a request (what the owner pays goes into an escrow
//! and the request fixes its price time), then, unless `--no-wait`, wait for
//! that time and the oracle update for it and execute the request themselves
//! (anyone may; the owner too). `lt requests` lists pending requests, `lt
//! execute` executes one, `lt cancel` returns an expired one's escrow.
//!
//! When a request can execute is the SDK's `requests::stage`, the
//! instructions are `requests::execute_ixs` / `cancel_ix`: the same as the
//! keeper's.

use std::sync::atomic::{AtomicU64, Ordering};

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::Discriminator;
use anyhow::{anyhow, bail, Context, Result};
use leveraged_token::errors::ErrorCode;
use leveraged_token::events::{LiquidityDeposited, LiquidityWithdrawn, Minted, Redeemed, RequestCancelled, RequestRefunded};
use leveraged_token::oracle::{sample_at, PriceIssue};
use leveraged_token::state::{secs_to_slots_ceil, LeveragedToken, Market, OracleKind, RefundReason, Request, RequestKind};
use leveraged_token_sdk::chain::Chain;
use leveraged_token_sdk::events::decode_events;
use leveraged_token_sdk::requests::{cancel_ix, decode, execute_ixs, stage, RequestStage};
use leveraged_token_sdk::{ix, pda, MarketKeys, RequestKeys, TokenKeys};

use super::{describe, hex, tx_fields, ui_price};
use crate::amount::format_ui_amount;
use crate::client::{decode_program_account, token_amount, Client};
use crate::pace::Pace;
use crate::report::{Report, Value};

/// Byte offset of `Request::owner` in the account: the discriminator, then
/// `version`, `bump`, `escrow_bump` (u8 each) and `kind` (a one-byte enum).
pub const REQUEST_OWNER_OFFSET: usize = 8 + 4;

/// Process-wide counter mixed into picked nonces.
static NONCE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A nonce for a new request of `owner`: `given`, else this machine's clock
/// in milliseconds times 1,000 plus a process counter; either way one whose
/// request address is free (a nonce is reusable once its request closed).
pub async fn pick_nonce<C: Chain>(c: &mut Client<C>, owner: Pubkey, given: Option<u64>) -> Result<u64> {
    if let Some(n) = given {
        let key = pda::request(&owner, n).0;
        if c.fetch_one(key).await?.is_some() {
            bail!("nonce {n} is in use: {owner} has a pending request {key} with it (`lt requests --owner {owner}`)");
        }
        return Ok(n);
    }
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let mut nonce = ms.saturating_mul(1_000) + NONCE_COUNTER.fetch_add(1, Ordering::Relaxed) % 1_000;
    for _ in 0..64 {
        if c.fetch_one(pda::request(&owner, nonce).0).await?.is_none() {
            return Ok(nonce);
        }
        nonce = nonce.wrapping_add(1);
    }
    bail!("no free request nonce found for {owner} near {nonce}: pass --nonce")
}

/// A unix time as `YYYY-MM-DD HH:MM:SS UTC (unix N)` (the civil date is the replay report's).
pub fn format_time(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    let date = leveraged_token_replay::report::date(unix.saturating_mul(1_000));
    format!("{date} {:02}:{:02}:{:02} UTC (unix {unix})", secs / 3_600, secs % 3_600 / 60, secs % 60)
}

/// A request's price time in its oracle's unit.
pub fn format_price_time(kind: OracleKind, target: i64) -> String {
    match kind {
        OracleKind::PythPull => format_time(target),
        OracleKind::PythLegacy => format!("slot {target}"),
    }
}

/// `waiting N s` / `waiting N slots`, `executable`, `expired`.
pub fn format_stage(s: RequestStage, kind: OracleKind) -> String {
    match s {
        RequestStage::Waiting { wait } => match kind {
            OracleKind::PythPull => format!("waiting {wait} s"),
            OracleKind::PythLegacy => format!("waiting {wait} slots"),
        },
        RequestStage::Executable => "executable".into(),
        RequestStage::Expired => "expired".into(),
    }
}

/// The program's reason for a refund, in words.
pub fn refund_reason(r: RefundReason) -> String {
    format!("{r:?}: {}", r.describe())
}

/// The report labels of what a request of `kind` pays out and pays in:
/// (received, out balance, pay balance).
fn labels(kind: RequestKind) -> [&'static str; 3] {
    match kind {
        RequestKind::Mint => ["shares_received", "share_balance", "collateral_balance"],
        RequestKind::Redeem => ["collateral_received", "collateral_balance", "share_balance"],
        RequestKind::Deposit => ["lp_received", "lp_balance", "collateral_balance"],
        RequestKind::Withdraw => ["collateral_received", "collateral_balance", "lp_balance"],
    }
}

/// The slot a request of `kind` made at `clock` is expected to execute in:
/// a legacy request's price time, a pull request's wait at 400 ms a slot.
/// Quotes settle the token to it.
pub fn price_time_slot(market: &Market, kind: RequestKind, clock: &Clock) -> u64 {
    clock.slot.saturating_add(secs_to_slots_ceil(market.params.request_wait_secs(kind)))
}

/// The unix time a request of `kind` made now executes at, at the soonest:
/// funding and borrow accrue on unix time, so quotes accrue to it.
pub fn price_time_unix(market: &Market, kind: RequestKind, clock: &Clock) -> i64 {
    clock.unix_timestamp.saturating_add(i64::from(market.params.request_wait_secs(kind)))
}

/// The oracle account an execution reads: `--oracle`, else a legacy
/// market's own price account; a pull market needs `--oracle`.
pub fn execution_oracle(market: &Market, oracle: Option<Pubkey>) -> Result<Pubkey> {
    match (oracle, market.oracle_kind) {
        (Some(o), _) => Ok(o),
        (None, OracleKind::PythLegacy) => Ok(Pubkey::new_from_array(market.oracle_id)),
        (None, OracleKind::PythPull) => bail!(
            "this market reads a Pyth pull feed: pass --oracle <PriceUpdateV2 account> that will hold the update of feed {} for the request's price time (or --no-wait, and execute later)",
            hex(&market.oracle_id)
        ),
    }
}

/// What a user flow asks for, once quoted and bounded.
pub struct Ask {
    pub kind: RequestKind,
    pub market: Market,
    /// The token of a mint or redeem.
    pub token: Option<TokenKeys>,
    pub amount: u64,
    pub min_out: u64,
    /// Whether the owner's associated token account of the out mint is missing.
    pub destination_missing: bool,
    pub oracle: Option<Pubkey>,
    pub no_wait: bool,
    pub nonce: Option<u64>,
}

/// Send the request of `ask` signed by the signer (creating its destination
/// account first when missing); with `no_wait` report it and return, else
/// wait for its price time and execute it ([`execute_into`]).
pub async fn submit<C: Pace>(c: &mut Client<C>, mut r: Report, ask: Ask) -> Result<Report> {
    let owner = c.signer_key()?;
    let dec = ask.market.collateral_decimals;
    // Known before anything is sent: the execution will need an oracle account.
    let oracle = if ask.no_wait { None } else { Some(execution_oracle(&ask.market, ask.oracle)?) };
    let mkeys = MarketKeys::from_market(&ask.market, ask.oracle);
    let nonce = pick_nonce(c, owner, ask.nonce).await?;
    let keys = RequestKeys::of(ask.kind, owner, nonce, &mkeys, ask.token.map(|t| t.share_mint));
    let request_ix = match (ask.kind, &ask.token) {
        (RequestKind::Mint, Some(t)) => ix::request_mint(owner, t, nonce, ask.amount, ask.min_out),
        (RequestKind::Redeem, Some(t)) => ix::request_redeem(owner, t, nonce, ask.amount, ask.min_out),
        (RequestKind::Deposit, _) => ix::request_deposit(owner, &mkeys, nonce, ask.amount, ask.min_out),
        (RequestKind::Withdraw, _) => ix::request_withdraw(owner, &mkeys, nonce, ask.amount, ask.min_out),
        (kind, None) => bail!("a {} request needs its token", kind.name()),
    };
    let mut ixs = Vec::new();
    if ask.destination_missing {
        ixs.push(ix::create_associated_token_account(owner, owner, keys.out_mint));
    }
    ixs.push(request_ix);
    let clock = c.clock().await?;
    let e = c.execute(ixs, &[]).await?;
    r.push("request", keys.request);
    r.push("nonce", nonce);
    r.push("executor_fee_lamports", ask.market.params.executor_fee_lamports);
    if e.simulated {
        if let Some(t) = ask.market.params.request_times(ask.market.oracle_kind, ask.kind, clock.unix_timestamp, clock.slot) {
            r.push("price_time", format_price_time(ask.market.oracle_kind, t.target));
            r.push("expires_at", format_time(t.expires_at));
        }
        tx_fields(&mut r, &e);
        return Ok(r);
    }
    r.push("request_signature", e.signature.clone());
    let req: Request = fetch_request(c, keys.request).await?;
    r.push("price_time", format_price_time(ask.market.oracle_kind, req.target));
    r.push("expires_at", format_time(req.expires_at));
    let Some(oracle) = oracle else {
        r.push("status", "pending: any executor may execute it at its price time (`lt execute <REQUEST>`); after expiry `lt cancel <REQUEST>` returns the escrow");
        r.push("escrowed", format_ui_amount(req.amount, dec));
        return Ok(r);
    };
    // The request stands if the execution does not happen: say where it is.
    let key = keys.request;
    execute_into(c, &mut r, key, req, oracle)
        .await
        .with_context(|| format!("request {key} (nonce {nonce}) was sent and is pending; `lt execute {key}` executes it, or after its expiry `lt cancel {key}` returns the escrow"))?;
    Ok(r)
}

/// The request at `key`, with a clear error when it is gone.
pub async fn fetch_request<C: Chain>(c: &mut Client<C>, key: Pubkey) -> Result<Request> {
    let endpoint = c.endpoint();
    match c.fetch_one(key).await? {
        None => bail!("request {key} not found on {endpoint}: it was executed, refunded or cancelled (or never made)"),
        acc => decode_program_account(&key, acc.as_ref(), "request", &endpoint),
    }
}

/// The market and (mint, redeem) token keys of `r`.
async fn request_context<C: Chain>(c: &mut Client<C>, r: &Request, oracle: Option<Pubkey>) -> Result<(Market, MarketKeys, Option<TokenKeys>)> {
    let market = c.market(r.market).await?;
    let mkeys = MarketKeys::from_market(&market, oracle);
    let token = if r.token == Pubkey::default() {
        None
    } else {
        let t: LeveragedToken = c.token(r.token).await?;
        Some(TokenKeys::from_token(mkeys, &t))
    };
    Ok((market, mkeys, token))
}

/// `lt execute <REQUEST>`: wait for its price time and execute it.
pub async fn execute<C: Pace>(c: &mut Client<C>, key: Pubkey, oracle: Option<Pubkey>) -> Result<Report> {
    c.signer_key()?;
    let req = fetch_request(c, key).await?;
    let market = c.market(req.market).await?;
    let oracle = execution_oracle(&market, oracle)?;
    let dec = market.collateral_decimals;
    let mut r = Report::new(format!("execute {} request", req.kind.name()))
        .field("request", key)
        .field("kind", req.kind.name())
        .field("owner", req.owner)
        .field("nonce", req.nonce)
        .field("amount", format_ui_amount(req.amount, dec))
        .field("min_out", format_ui_amount(req.min_out, dec))
        .field("price_time", format_price_time(market.oracle_kind, req.target))
        .field("expires_at", format_time(req.expires_at));
    execute_into(c, &mut r, key, req, oracle).await?;
    Ok(r)
}

/// Upper bound on polls, so a chain whose clock never moves cannot hang `lt`.
const MAX_POLLS: usize = 100_000;

/// Wait until `req` is executable, then until `oracle` holds the update for
/// its price time, execute it with the signer as executor, and add the
/// outcome to `r`: the fill (amounts, fees, price) or the refund and its
/// reason, from the execution's events, and the owner's balances after.
pub async fn execute_into<C: Pace>(c: &mut Client<C>, r: &mut Report, key: Pubkey, req: Request, oracle: Pubkey) -> Result<()> {
    let executor = c.signer_key()?;
    let (market, mkeys, token) = request_context(c, &req, Some(oracle)).await?;
    let kind = market.oracle_kind;
    let dec = market.collateral_decimals;
    let mut said = false;
    let mut polls = 0;
    // 1. The price time.
    loop {
        polls += 1;
        let clock = c.clock().await?;
        match stage(&req, kind, &clock) {
            RequestStage::Executable => break,
            RequestStage::Expired => bail!(expired_message(key, &req, &clock)),
            RequestStage::Waiting { wait } => {
                if polls > MAX_POLLS {
                    bail!("request {key}: the chain's clock does not reach the price time {}", format_price_time(kind, req.target));
                }
                if c.progress && !said {
                    eprintln!(
                        "request {key}: waiting {} for its price time {}",
                        format_stage(RequestStage::Waiting { wait }, kind).trim_start_matches("waiting "),
                        format_price_time(kind, req.target)
                    );
                    said = true;
                }
                c.chain.pass(kind, wait).await?;
            }
        }
    }
    // 2. The update for it in the oracle account.
    let spec = market.oracle_spec();
    let mut said = false;
    loop {
        polls += 1;
        let got = c.fetch(&[oracle, <Clock as anchor_lang::solana_program::sysvar::SysvarId>::id()]).await?;
        let clock = match got[1].as_ref().and_then(|a| leveraged_token_sdk::chain::decode_clock(&a.data)) {
            Some(cl) => cl,
            None => c.clock().await?,
        };
        if req.is_expired(clock.unix_timestamp) {
            bail!(expired_message(key, &req, &clock));
        }
        let Some(acc) = got[0].as_ref() else { bail!("oracle account {oracle} not found on {}", c.endpoint()) };
        match sample_at(&spec, &oracle, &acc.owner, &acc.data, &clock, req.target) {
            Ok(_) => break,
            Err(PriceIssue::NotAtTarget { target, prev, published }) if prev >= target => bail!(
                "oracle account {oracle} holds the update published at {} (previous {}), past the request's price time {}: execute with an account holding the update for that time (`lt execute {key} --oracle <ACCOUNT>`) before {}",
                format_price_time(kind, published),
                format_price_time(kind, prev),
                format_price_time(kind, target),
                format_time(req.expires_at)
            ),
            Err(PriceIssue::NotAtTarget { .. } | PriceIssue::InFuture { .. }) => {
                if polls > MAX_POLLS {
                    bail!("request {key}: no update for price time {} appeared in {oracle}", format_price_time(kind, req.target));
                }
                if c.progress && !said {
                    eprintln!("request {key}: waiting for the oracle update for {} in {oracle}", format_price_time(kind, req.target));
                    said = true;
                }
                c.chain.await_update(&market, oracle, req.target).await?;
            }
            Err(issue) => bail!("oracle account {oracle}: {}", describe(issue.error_code())),
        }
    }
    // 3. Execute, and read what happened. An LP request values the pool on
    // every token of the market.
    let market_tokens = match req.kind {
        RequestKind::Deposit | RequestKind::Withdraw => super::load_market_tokens(c, &mkeys, &market).await?.into_iter().map(|t| t.keys).collect(),
        RequestKind::Mint | RequestKind::Redeem => Vec::new(),
    };
    let before = c.fetch(&[req.destination, req.refund_to]).await?;
    let (out_before, pay_before) = (token_amount(before[0].as_ref())?.unwrap_or(0), token_amount(before[1].as_ref())?.unwrap_or(0));
    let e = c.execute_with_logs(execute_ixs(executor, &req, &mkeys, token.as_ref(), oracle, &market_tokens)).await?;
    if e.simulated {
        r.push("executed_by", executor);
        tx_fields(r, &e);
        return Ok(());
    }
    c.chain.executed(&market, oracle).await?;
    let after = c.fetch(&[req.destination, req.refund_to]).await?;
    let (out_after, pay_after) = (token_amount(after[0].as_ref())?.unwrap_or(0), token_amount(after[1].as_ref())?.unwrap_or(0));
    let amount = |u: u64| format_ui_amount(u, dec);
    let price = |p: u128| (p > 0).then(|| ui_price(p, dec));
    if let Some(f) = decode_events::<RequestRefunded>(&e.logs).into_iter().find(|f| f.request == key) {
        r.push("outcome", "refunded");
        r.push("refund_reason", refund_reason(f.reason));
        r.push("refunded", amount(f.amount));
        r.push("price_at_price_time", price(f.price));
    } else {
        r.push("outcome", "filled");
        match req.kind {
            RequestKind::Mint => {
                if let Some(m) = decode_events::<Minted>(&e.logs).into_iter().find(|m| m.request == key) {
                    r.push("fill_price", ui_price(m.price, dec));
                    r.push("shares_out", amount(m.shares_out));
                    r.push("mint_fee", amount(m.mint_fee));
                    r.push("trade_fee", amount(m.trade_fee));
                }
            }
            RequestKind::Redeem => {
                if let Some(m) = decode_events::<Redeemed>(&e.logs).into_iter().find(|m| m.request == key) {
                    r.push("fill_price", ui_price(m.price, dec));
                    r.push("collateral_out", amount(m.collateral_out));
                    r.push("redeem_fee", amount(m.redeem_fee));
                    r.push("trade_fee", amount(m.trade_fee));
                }
            }
            RequestKind::Deposit => {
                if let Some(m) = decode_events::<LiquidityDeposited>(&e.logs).into_iter().find(|m| m.request == key) {
                    r.push("fill_price", ui_price(m.price, dec));
                    r.push("lp_out", amount(m.lp_out));
                    r.push("lp_fee", amount(m.lp_fee));
                }
            }
            RequestKind::Withdraw => {
                if let Some(m) = decode_events::<LiquidityWithdrawn>(&e.logs).into_iter().find(|m| m.request == key) {
                    r.push("fill_price", ui_price(m.price, dec));
                    r.push("collateral_out", amount(m.amount_out));
                    r.push("lp_fee", amount(m.lp_fee));
                }
            }
        }
    }
    let [received, out_balance, pay_balance] = labels(req.kind);
    r.push(received, amount(out_after.saturating_sub(out_before)));
    r.push(out_balance, amount(out_after));
    r.push(pay_balance, amount(pay_after));
    if pay_after > pay_before {
        r.push("returned_to_owner", amount(pay_after - pay_before));
    }
    r.push("executed_by", executor);
    if r.get("executor_fee_lamports").is_none() {
        r.push("executor_fee_lamports", req.executor_fee);
    }
    r.push("execute_signature", e.signature.clone());
    r.push("simulated", false);
    Ok(())
}

fn expired_message(key: Pubkey, req: &Request, clock: &Clock) -> String {
    format!(
        "request {key} expired at {} (now {}) before it executed: {} (`lt cancel {key}` returns the escrow)",
        format_time(req.expires_at),
        format_time(clock.unix_timestamp),
        describe(ErrorCode::RequestExpired)
    )
}

/// `lt requests [--owner]`: every pending request (of `owner`), with where it stands.
pub async fn list<C: Chain>(c: &mut Client<C>, owner: Option<Pubkey>) -> Result<Report> {
    let endpoint = c.endpoint();
    // The chain filters by discriminator; the owner (at REQUEST_OWNER_OFFSET) is filtered here.
    let accounts = c.chain.program_accounts(&leveraged_token::ID, Request::DISCRIMINATOR).await?;
    let mut requests: Vec<(Pubkey, Request)> = accounts
        .iter()
        .filter(|(_, a)| owner.is_none_or(|o| a.data.get(REQUEST_OWNER_OFFSET..REQUEST_OWNER_OFFSET + 32) == Some(o.as_ref())))
        .filter_map(|(k, a)| decode(&a.data).map(|r| (*k, r)))
        .collect();
    requests.sort_by_key(|(k, r)| (r.expires_at, *k));
    let mut markets: Vec<Pubkey> = requests.iter().map(|(_, r)| r.market).collect();
    markets.sort();
    markets.dedup();
    let got = c.fetch(&markets).await?;
    let decoded: Vec<Option<Market>> = markets.iter().zip(&got).map(|(k, a)| decode_program_account::<Market>(k, a.as_ref(), "market", &endpoint).ok()).collect();
    let market_of = |k: &Pubkey| markets.iter().position(|m| m == k).and_then(|i| decoded[i].as_ref());
    let clock = c.clock().await?;
    let mut rows = Vec::new();
    for (k, r) in &requests {
        let m = market_of(&r.market);
        let dec = m.map(|m| m.collateral_decimals);
        let kind = m.map(|m| m.oracle_kind).unwrap_or(OracleKind::PythPull);
        let amount = |u: u64| -> Value { dec.map(|d| format_ui_amount(u, d)).into() };
        rows.push(
            Report::new("")
                .field("request", *k)
                .field("kind", r.kind.name())
                .field("owner", r.owner)
                .field("nonce", r.nonce)
                .field("market", r.market)
                .field("token", (r.token != Pubkey::default()).then_some(r.token))
                .field("amount", amount(r.amount))
                .field("min_out", amount(r.min_out))
                .field("stage", format_stage(stage(r, kind, &clock), kind))
                .field("price_time", format_price_time(kind, r.target))
                .field("expires_at", format_time(r.expires_at))
                .field("executor_fee_lamports", r.executor_fee),
        );
    }
    let whose = owner.map(|o| format!(" of {o}")).unwrap_or_default();
    Ok(Report::new(format!("pending requests{whose} on {endpoint}")).field("count", rows.len()).field("requests", Value::List(rows)))
}

/// `lt cancel <REQUEST>`: return an expired request's escrow, fee and rent to its owner.
pub async fn cancel<C: Chain>(c: &mut Client<C>, key: Pubkey) -> Result<Report> {
    let caller = c.signer_key()?;
    let req = fetch_request(c, key).await?;
    let clock = c.clock().await?;
    if !req.is_expired(clock.unix_timestamp) {
        bail!(
            "request {key} has not expired: it expires at {} (in {} s), and until then only an execution closes it (`lt execute {key}`); the program refuses a cancel before: {}",
            format_time(req.expires_at),
            req.expires_at - clock.unix_timestamp + 1,
            describe(ErrorCode::RequestNotExpired)
        );
    }
    let (market, mkeys, token) = request_context(c, &req, None).await?;
    let dec = market.collateral_decimals;
    let before = token_amount(c.fetch_one(req.refund_to).await?.as_ref())?;
    let e = c.execute_with_logs(vec![cancel_ix(caller, &req, &mkeys, token.as_ref())]).await?;
    let mut r = Report::new(format!("cancel {} request", req.kind.name()))
        .field("request", key)
        .field("kind", req.kind.name())
        .field("owner", req.owner)
        .field("nonce", req.nonce)
        .field("expired_at", format_time(req.expires_at))
        .field("escrow", format_ui_amount(req.amount, dec))
        .field("refund_to", req.refund_to);
    if !e.simulated {
        let after = token_amount(c.fetch_one(req.refund_to).await?.as_ref())?.ok_or_else(|| anyhow!("refund account {} missing after the cancel", req.refund_to))?;
        let cancelled = decode_events::<RequestCancelled>(&e.logs).into_iter().find(|x| x.request == key).map(|x| x.amount);
        r.push("returned", format_ui_amount(cancelled.unwrap_or(after.saturating_sub(before.unwrap_or(0))), dec));
        r.push("refund_balance", format_ui_amount(after, dec));
        r.push("executor_fee_lamports_returned", req.executor_fee);
    }
    tx_fields(&mut r, &e);
    Ok(r)
}
