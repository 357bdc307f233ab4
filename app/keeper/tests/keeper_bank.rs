//! The keeper against the in-process bank (`BankChain`): a market with a 3x
//! long, a 1x short and a 2x long whose deviation trigger is 20 % (so a 10 %
//! move opens the first two gates and not the third), 1,000,000 USDC of
//! liquidity and 10,000 USDC minted into each token.

mod common;
use common::{publish, USD, USDC};

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use std::sync::atomic::Ordering;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use leveraged_token::constants::PAUSE_REBALANCE;
use leveraged_token::errors::ErrorCode;
use leveraged_token::events::{LiquidityDeposited, Minted, Rebalanced, RequestCancelled, RequestRefunded, TokenWiped};
use leveraged_token::math::rebalance::TRIGGER_TIME;
use leveraged_token::state::{LeveragedToken, OracleKind, RefundReason, Request, RequestKind};
use leveraged_token_harness::bank::{decode_events, Bank};
use leveraged_token_harness::deployment::{Deployer, Deployment, Holder, MarketSpec, Oracle};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_harness::BankChain;
use leveraged_token_keeper::{Counters, Effect, FireOptions, FireOutcome, Keeper, KeeperConfig, RebalanceAction, RequestOutcome, Verdict};
use leveraged_token_sdk::chain::{Chain, ChainError, TxReport};
use leveraged_token_sdk::{defaults, ix, pda, MarketKeys, TokenKeys};
use solana_account::Account;
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The keeper reward of the default parameters: 1 USDC per rebalance.
const REWARD: u64 = USDC;

/// A [`Chain`] that counts simulations and sends, and can inject failures,
/// drop logs (as an RPC send does) or let a competitor's transaction land
/// just before the next send.
struct Spy {
    inner: BankChain,
    simulates: usize,
    sends: usize,
    send_errors: VecDeque<ChainError>,
    strip_logs: bool,
    front_run: Option<Transaction>,
    /// Answer `latest_blockhash` with this hash for this many more reads (a
    /// node whose blockhash has not moved), then with the bank's.
    pinned_blockhash: Option<(Hash, u32)>,
    /// Signatures of every transaction sent.
    signatures: Vec<String>,
}

impl Spy {
    fn bank(&mut self) -> &mut Bank {
        &mut self.inner.bank
    }
}

impl Chain for Spy {
    fn endpoint(&self) -> String {
        self.inner.endpoint()
    }
    async fn accounts(&mut self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError> {
        self.inner.accounts(keys).await
    }
    async fn program_accounts(&mut self, program: &Pubkey, discriminator: &[u8]) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        self.inner.program_accounts(program, discriminator).await
    }
    async fn slot(&mut self) -> Result<u64, ChainError> {
        self.inner.slot().await
    }
    async fn latest_blockhash(&mut self) -> Result<Hash, ChainError> {
        if let Some((hash, reads)) = self.pinned_blockhash.as_mut().filter(|(_, reads)| *reads > 0) {
            *reads -= 1;
            return Ok(*hash);
        }
        self.inner.latest_blockhash().await
    }
    async fn simulate(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        self.simulates += 1;
        self.inner.simulate(tx).await
    }
    async fn send(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        self.sends += 1;
        self.signatures.push(tx.signatures[0].to_string());
        if let Some(e) = self.send_errors.pop_front() {
            return Err(e);
        }
        if let Some(competitor) = self.front_run.take() {
            let r = self.inner.send(&competitor).await.unwrap();
            assert_eq!(r.err, None, "the competitor's rebalance should land: {:?}", r.logs);
        }
        let mut r = self.inner.send(tx).await?;
        if self.strip_logs {
            r.logs.clear();
        }
        Ok(r)
    }
    async fn transaction_status(&mut self, tx: &Transaction) -> Result<Option<Result<(), solana_transaction_error::TransactionError>>, ChainError> {
        self.inner.transaction_status(tx).await
    }
}

struct Env {
    chain: Spy,
    admin: Keypair,
    market: MarketKeys,
    long3: TokenKeys,
    short1: TokenKeys,
    long2: TokenKeys,
    d: Deployment,
}

impl Env {
    async fn new() -> Self {
        let common::Deployment { chain: inner, admin, market, tokens: [long3, short1, long2], deployment: d } = common::deploy(Pubkey::new_unique()).await;
        Env {
            chain: Spy { inner, simulates: 0, sends: 0, send_errors: VecDeque::new(), strip_logs: false, front_run: None, pinned_blockhash: None, signatures: Vec::new() },
            admin,
            market,
            long3,
            short1,
            long2,
            d,
        }
    }

    fn tokens(&self) -> [TokenKeys; 3] {
        [self.long3, self.short1, self.long2]
    }

    /// Publish `price` (USD × 1e8) at the current slot.
    async fn set_price(&mut self, price: i64) {
        let market = self.market;
        publish(self.chain.bank(), &market, price).await;
    }

    /// A keeper with a fresh funded keypair and test-speed backoff.
    async fn keeper(&mut self, dry_run: bool) -> Keeper {
        let kp = self.chain.bank().funded_keypair().await;
        Keeper::new(kp, KeeperConfig { fire: FireOptions { dry_run, backoff: Duration::from_millis(1), ..FireOptions::default() }, ..KeeperConfig::default() })
    }

    async fn rebalance_counts(&mut self) -> [u64; 3] {
        let mut out = [0; 3];
        for (o, t) in out.iter_mut().zip(self.tokens()) {
            *o = self.chain.bank().account::<LeveragedToken>(t.token).await.rebalance_count;
        }
        out
    }

    fn keeper_collateral(&self, k: &Keeper) -> Pubkey {
        get_associated_token_address(&k.pubkey(), &self.market.collateral_mint)
    }

    async fn lamports(&mut self, key: Pubkey) -> u64 {
        self.chain.bank().raw_account(key).await.map(|a| a.lamports).unwrap_or(0)
    }

    /// A user holding `collateral` in its collateral ATA (and empty LP and share ATAs).
    async fn holder(&mut self, collateral: u64) -> Holder {
        self.d.holder(&mut self.chain.inner.bank, collateral).await
    }

    /// `owner` requests `kind` (token `token` for a mint or redeem) of
    /// `amount` with bound `min_out`, through the bank directly; the chain is
    /// told of the request, as the bank has no getProgramAccounts. Its
    /// address and state.
    async fn request(&mut self, owner: &Keypair, kind: RequestKind, token: Option<usize>, amount: u64, min_out: u64) -> (Pubkey, Request) {
        let nonce = next_nonce();
        let ix = self.d.request_ix(owner.pubkey(), kind, token, nonce, amount, min_out);
        self.chain.bank().send(&[ix], &[owner]).await.expect_ok("request");
        let key = pda::request(&owner.pubkey(), nonce).0;
        self.chain.inner.track([key]);
        let r = self.chain.bank().account::<Request>(key).await;
        (key, r)
    }

    /// The oracle account holds the update for price time `target` (a slot)
    /// at `price`, whatever the bank's slot.
    async fn publish_for(&mut self, price: i64, target: i64) {
        let oracle = Oracle::legacy(self.market.oracle);
        oracle.publish_for(self.chain.bank(), price, Oracle::default_conf(price), target).await;
    }
}

#[allow(clippy::too_many_arguments)]
fn counters(checked: u64, sent: u64, landed: u64, skipped: u64, failed: u64, simulated: u64, reward_earned: u64, loops: u64) -> Counters {
    Counters { checked, sent, landed, skipped, failed, simulated, reward_earned, loops, ..Counters::default() }
}

#[tokio::test]
async fn open_gates_land_exactly_one_rebalance_per_open_token_in_one_loop() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(110 * USD).await; // +10 %: opens the 3x long and the 1x short, not the 2x long (20 %).

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.counts, counters(3, 2, 2, 1, 0, 0, 2 * REWARD, 1));
    assert_eq!(keeper.counters(), report.counts);
    assert_eq!(env.rebalance_counts().await, [1, 1, 0]);
    assert_eq!((env.chain.simulates, env.chain.sends), (2, 2), "one simulation and one send per open gate");
    let landed: Vec<Pubkey> = report.outcomes.iter().filter(|(_, o)| matches!(o, FireOutcome::Landed { .. })).map(|(t, _)| *t).collect();
    let mut want = vec![env.long3.token, env.short1.token];
    want.sort();
    assert_eq!(landed, want);
    // The reward went to the keeper's ATA, created idempotently by the first rebalance.
    let ata = env.keeper_collateral(&keeper);
    assert_eq!(env.chain.bank().balance(ata).await, 2 * REWARD);

    // The next loop sees every gate closed and sends nothing.
    let again = keeper.run_once(&mut env.chain).await.unwrap();
    assert_eq!(again.counts, counters(3, 0, 0, 3, 0, 0, 0, 1));
    assert_eq!(env.rebalance_counts().await, [1, 1, 0]);
    assert_eq!(env.chain.sends, 2);
}

#[tokio::test]
async fn closed_gates_send_nothing_and_count_every_token_as_skipped() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(105 * USD).await; // +5 %: inside every band, below every deviation trigger.
    let before = env.rebalance_counts().await;
    let lamports = env.lamports(keeper.pubkey()).await;

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.counts, counters(3, 0, 0, 3, 0, 0, 0, 1));
    assert_eq!((env.chain.simulates, env.chain.sends), (0, 0), "no transaction attempted, not even simulated");
    assert_eq!(env.rebalance_counts().await, before);
    assert_eq!(env.lamports(keeper.pubkey()).await, lamports, "no fee paid");
}

#[tokio::test]
async fn two_racing_keepers_land_one_rebalance_per_token_and_the_loser_counts_skipped_not_failed() {
    let mut env = Env::new().await;
    let mut a = env.keeper(false).await;
    let mut b = env.keeper(false).await;
    env.set_price(110 * USD).await;

    // Both fetch and decide on the same state...
    let snap_a = a.fetch(&mut env.chain).await.unwrap();
    let snap_b = b.fetch(&mut env.chain).await.unwrap();
    let intents_a = a.decide(&snap_a);
    let intents_b = b.decide(&snap_b);
    assert_eq!(intents_a.len(), 2);
    assert_eq!(intents_b.len(), 2, "B decides to fire too: its snapshot predates A's rebalances");

    // ...A fires first, then B fires on its stale decision.
    a.fire(&mut env.chain, &intents_a).await;
    let outcomes_b = b.fire(&mut env.chain, &intents_b).await;

    assert_eq!(env.rebalance_counts().await, [1, 1, 0], "exactly one rebalance per open gate");
    assert_eq!(a.counters(), counters(3, 2, 2, 1, 0, 0, 2 * REWARD, 0));
    assert_eq!(b.counters(), counters(3, 0, 0, 3, 0, 0, 0, 0), "B: refused in simulation, skipped, nothing sent, nothing failed");
    assert!(outcomes_b.iter().all(|(_, o)| matches!(o, FireOutcome::Skipped { sent: false, .. })), "{outcomes_b:?}");
    let b_ata = env.keeper_collateral(&b);
    assert!(env.chain.bank().raw_account(b_ata).await.is_none(), "B's failed simulation created nothing");
}

#[tokio::test]
async fn a_rebalance_front_run_between_simulation_and_send_counts_skipped_not_failed() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(110 * USD).await;
    // A competitor's rebalance of the first token the keeper fires lands just before the keeper's send.
    let rival = env.chain.bank().funded_keypair().await;
    let rival_collateral = env.chain.bank().create_token_account(env.market.collateral_mint, rival.pubkey()).await;
    let first = *[env.long3.token, env.short1.token].iter().min().unwrap();
    let t = if first == env.long3.token { env.long3 } else { env.short1 };
    let blockhash = env.chain.latest_blockhash().await.unwrap();
    let competitor = Transaction::new_signed_with_payer(&[ix::rebalance(rival.pubkey(), &t, rival_collateral)], Some(&rival.pubkey()), &[&rival], blockhash);
    env.chain.front_run = Some(competitor);

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(env.rebalance_counts().await, [1, 1, 0]);
    assert_eq!(report.counts, counters(3, 2, 1, 2, 0, 0, REWARD, 1), "the front-run send is sent, refused on chain and skipped");
    assert!(matches!(&report.outcomes[0], (tok, FireOutcome::Skipped { sent: true, .. }) if *tok == first), "{:?}", report.outcomes);
}

#[tokio::test]
async fn dry_run_simulates_but_sends_nothing() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(true).await;
    env.set_price(110 * USD).await;
    let lamports = env.lamports(keeper.pubkey()).await;

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.counts, counters(3, 0, 0, 1, 0, 2, 0, 1));
    assert_eq!((env.chain.simulates, env.chain.sends), (2, 0));
    assert_eq!(env.rebalance_counts().await, [0, 0, 0]);
    let ata = env.keeper_collateral(&keeper);
    assert!(env.chain.bank().raw_account(ata).await.is_none(), "no ATA created");
    assert_eq!(env.lamports(keeper.pubkey()).await, lamports);
    for (_, o) in &report.outcomes {
        let FireOutcome::Simulated { compute_limit, .. } = o else { panic!("{o:?}") };
        assert!((50_000..=1_400_000).contains(compute_limit));
    }
}

#[tokio::test]
async fn global_rebalance_pause_skips_every_token_without_sending() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(110 * USD).await;
    let admin = env.admin.insecure_clone();
    env.chain.bank().send(&[ix::set_global_pause(admin.pubkey(), PAUSE_REBALANCE, true)], &[&admin]).await.unwrap();

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.counts, counters(3, 0, 0, 3, 0, 0, 0, 1));
    assert_eq!((env.chain.simulates, env.chain.sends), (0, 0));
    assert_eq!(env.rebalance_counts().await, [0, 0, 0]);
}

#[tokio::test]
async fn a_stale_oracle_is_skipped_not_fired() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(110 * USD).await;
    env.chain.bank().warp(30).await; // max_age_slots is 25

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.counts, counters(3, 0, 0, 3, 0, 0, 0, 1));
    assert_eq!((env.chain.simulates, env.chain.sends), (0, 0));
}

#[tokio::test]
async fn an_expired_blockhash_is_retried_with_a_fresh_one_and_lands() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(110 * USD).await;
    env.chain.send_errors = VecDeque::from([ChainError::BlockhashExpired, ChainError::Timeout]);

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.counts, counters(3, 2, 2, 1, 0, 0, 2 * REWARD, 1));
    assert_eq!(env.rebalance_counts().await, [1, 1, 0]);
    assert!(matches!(report.outcomes[0].1, FireOutcome::Landed { attempts: 3, .. }), "{:?}", report.outcomes[0]);
    assert_eq!(env.chain.sends, 4, "two failed attempts, then one send per token");
}

#[tokio::test]
async fn a_second_rebalance_on_an_unchanged_blockhash_waits_for_a_new_one_instead_of_counting_a_duplicate_as_landed() {
    let mut env = Env::new().await;
    let kp = env.chain.bank().funded_keypair().await;
    let mut keeper = Keeper::new(kp, KeeperConfig { fire: FireOptions { backoff: Duration::from_millis(1), max_attempts: 12, ..FireOptions::default() }, ..KeeperConfig::default() });
    // The node answers one blockhash for both loops (8 reads: a simulation
    // and a send per open gate per loop). The second token the keeper fires
    // in loop 1 (the first carries the create-ATA instruction) is then built
    // byte for byte again in loop 2: same blockhash, same compute limit.
    // Sent, the chain would drop it as already processed.
    let hash = env.chain.inner.latest_blockhash().await.unwrap();
    env.chain.pinned_blockhash = Some((hash, 8));
    env.set_price(110 * USD).await; // +10 %: opens the 3x long and the 1x short.
    let first = keeper.run_once(&mut env.chain).await.unwrap();
    assert_eq!((first.counts.landed, env.rebalance_counts().await), (2, [1, 1, 0]));
    env.set_price(99 * USD).await; // −10 %: both gates open again (the 2x long is 1 % off its last price).

    let second = keeper.run_once(&mut env.chain).await.unwrap();

    // Both landed, and both really ran on chain: nothing counted twice.
    assert_eq!((second.counts.landed, second.counts.failed), (2, 0));
    assert_eq!(env.rebalance_counts().await, [2, 2, 0]);
    assert_eq!(env.chain.sends, 4, "the identical transaction was never sent");
    let mut unique = env.chain.signatures.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "four distinct transactions: {:?}", env.chain.signatures);
}

#[tokio::test]
async fn retries_are_bounded_and_then_count_as_failed() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(110 * USD).await;
    env.chain.send_errors = VecDeque::from([ChainError::Timeout, ChainError::Timeout, ChainError::Timeout]);

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    // The first token exhausts its 3 attempts; the second lands.
    assert_eq!(report.counts, counters(3, 2, 1, 1, 1, 0, REWARD, 1));
    assert!(matches!(&report.outcomes[0].1, FireOutcome::Failed { sent: true, reason } if reason.contains("gave up after 3 attempts")), "{:?}", report.outcomes[0]);
    assert_eq!(env.chain.sends, 4);
}

#[tokio::test]
async fn without_logs_the_reward_is_the_collateral_balance_delta() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(110 * USD).await;
    env.chain.strip_logs = true; // as an RPC send: no logs to decode events from

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.counts.reward_earned, 2 * REWARD);
    let ata = env.keeper_collateral(&keeper);
    assert_eq!(env.chain.bank().balance(ata).await, 2 * REWARD);
}

#[tokio::test]
async fn tokens_created_later_are_found_at_the_next_discovery_refresh() {
    let mut env = Env::new().await;
    let kp = env.chain.bank().funded_keypair().await;
    let mut keeper = Keeper::new(kp, KeeperConfig { refresh_every: 2, ..KeeperConfig::default() });
    env.set_price(100 * USD).await;
    assert_eq!(keeper.run_once(&mut env.chain).await.unwrap().counts.checked, 3);

    // A 1x long created through the chain (so getProgramAccounts sees it).
    let admin = env.admin.insecure_clone();
    let long1 = env.market.token(10_000);
    let blockhash = env.chain.latest_blockhash().await.unwrap();
    let create = ix::create_leveraged_token(admin.pubkey(), &long1, defaults::responsive_token_params(10_000, USDC));
    let tx = Transaction::new_signed_with_payer(&[create], Some(&admin.pubkey()), &[&admin], blockhash);
    assert_eq!(env.chain.send(&tx).await.unwrap().err, None);

    assert_eq!(keeper.run_once(&mut env.chain).await.unwrap().counts.checked, 3, "not yet rediscovered");
    assert_eq!(keeper.run_once(&mut env.chain).await.unwrap().counts.checked, 4, "refreshed every 2 loops");
    assert!(keeper.discovery().tokens.contains_key(&long1.token));
}

#[tokio::test]
async fn metrics_text_and_endpoint_report_the_counters_with_their_values() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.set_price(110 * USD).await;
    keeper.run_once(&mut env.chain).await.unwrap();

    let text = keeper.metrics().render();
    for line in [
        "lt_keeper_checked_total 3",
        "lt_keeper_sent_total 2",
        "lt_keeper_landed_total 2",
        "lt_keeper_skipped_total 1",
        "lt_keeper_failed_total 0",
        "lt_keeper_simulated_total 0",
        "lt_keeper_reward_earned_total 2000000",
        "lt_keeper_loops_total 1",
        "lt_keeper_tokens 3",
        "# TYPE lt_keeper_checked_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(leveraged_token_keeper::emit::serve_metrics(listener, keeper.metrics()));
    let get = |path: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()).await.unwrap();
        let mut resp = String::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut resp)).await.unwrap().unwrap();
        resp
    };
    let resp = get("/metrics").await;
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("Content-Type: text/plain; version=0.0.4"));
    assert!(resp.ends_with(&text), "the endpoint serves the rendered text:\n{resp}");
    assert!(get("/nope").await.starts_with("HTTP/1.1 404"));
    server.abort();
}

// ---------------------------------------------------------------- requests

#[tokio::test]
async fn a_pending_mint_request_is_executed_at_the_update_for_its_price_time_and_reported_filled() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    let holder = env.holder(1_000 * USDC).await;
    let (request, r) = env.request(&holder.kp, RequestKind::Mint, Some(0), 1_000 * USDC, 1).await;

    // Before its price time the keeper waits: nothing simulated or sent.
    let early = keeper.run_once(&mut env.chain).await.unwrap();
    assert!(early.requests.is_empty(), "{:?}", early.requests);
    assert_eq!(keeper.metrics().requests_pending.load(Ordering::Relaxed), 1);

    // Its price time has passed, but the account holds a later update (the
    // program would refuse it with OracleNotAtTarget): still waiting.
    env.chain.bank().reach(OracleKind::PythLegacy, r.target + 3).await;
    env.set_price(100 * USD).await;
    let later = keeper.run_once(&mut env.chain).await.unwrap();
    assert!(later.requests.is_empty(), "{:?}", later.requests);
    assert_eq!((env.chain.simulates, env.chain.sends), (0, 0), "nothing attempted without the update for its time");

    // The account holds the update for its time (published 3 slots ago): executed, filled.
    env.publish_for(101 * USD, r.target).await;
    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.requests.len(), 1, "{:?}", report.requests);
    let (key, RequestOutcome::Filled { report: tx }) = &report.requests[0] else { panic!("{:?}", report.requests) };
    assert_eq!(*key, request);
    let minted = decode_events::<Minted>(&tx.logs);
    assert_eq!(minted.len(), 1);
    assert_eq!((minted[0].request, minted[0].user, minted[0].collateral_in), (request, holder.key(), 1_000 * USDC));
    assert_eq!(env.chain.bank().balance(holder.shares[0]).await, minted[0].shares_out);
    assert!(minted[0].shares_out > 0);
    assert!(env.chain.bank().raw_account(request).await.is_none(), "the request is closed");
    let c = report.counts;
    assert_eq!((c.requests_executed, c.requests_filled, c.requests_refunded, c.requests_failed, c.executor_fees_earned), (1, 1, 0, 0, r.executor_fee));
    let text = keeper.metrics().render();
    for line in
        ["lt_keeper_requests_filled_total 1", "lt_keeper_requests_executed_total 1", "lt_keeper_requests_pending 0", &format!("lt_keeper_executor_fees_earned_lamports_total {}", r.executor_fee)]
    {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }

    // Nothing left to do.
    let after = keeper.run_once(&mut env.chain).await.unwrap();
    assert!(after.requests.is_empty());
}

#[tokio::test]
async fn a_request_whose_bound_fails_is_executed_refunded_and_reported_with_its_reason() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    let holder = env.holder(1_000 * USDC).await;
    let (request, r) = env.request(&holder.kp, RequestKind::Mint, Some(1), 1_000 * USDC, u64::MAX).await;
    assert_eq!(env.chain.bank().balance(holder.collateral).await, 0, "escrowed");
    env.chain.bank().reach(OracleKind::PythLegacy, r.target).await;
    env.publish_for(100 * USD, r.target).await;

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    let (key, RequestOutcome::Refunded { reason, report: tx }) = &report.requests[0] else { panic!("{:?}", report.requests) };
    assert_eq!((*key, *reason), (request, RefundReason::BelowMinOut));
    let refunded = decode_events::<RequestRefunded>(&tx.logs);
    assert_eq!((refunded[0].request, refunded[0].reason, refunded[0].amount, refunded[0].executor), (request, RefundReason::BelowMinOut, 1_000 * USDC, keeper.pubkey()));
    assert_eq!(env.chain.bank().balance(holder.collateral).await, 1_000 * USDC, "the escrow went back to the owner");
    assert_eq!(env.chain.bank().balance(holder.shares[1]).await, 0);
    let c = report.counts;
    assert_eq!((c.requests_executed, c.requests_filled, c.requests_refunded, c.requests_failed), (1, 0, 1, 0));
    assert_eq!(c.executor_fees_earned, r.executor_fee, "a refund earns the executor fee too");
    let text = keeper.metrics().render();
    for line in ["lt_keeper_requests_refunded_total{reason=\"below_min_out\"} 1", "lt_keeper_requests_refunded_total{reason=\"paused\"} 0", "lt_keeper_requests_filled_total 0"] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}

#[tokio::test]
async fn an_expired_request_is_cancelled_and_its_escrow_returned_to_the_owner() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    let holder = env.holder(1_000 * USDC).await;
    let (request, r) = env.request(&holder.kp, RequestKind::Mint, Some(0), 1_000 * USDC, 0).await;
    let escrow = pda::escrow(&request).0;
    let held = env.lamports(request).await + env.lamports(escrow).await;
    // Past its expiry (400 slots = 160 s > delay + ttl), with the update for its time at hand.
    env.chain.bank().warp(400).await;
    assert!(env.chain.bank().clock().await.unix_timestamp > r.expires_at);
    env.publish_for(100 * USD, r.target).await;
    let owner_before = env.lamports(holder.key()).await;

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    let (key, RequestOutcome::Cancelled { report: tx }) = &report.requests[0] else { panic!("{:?}", report.requests) };
    assert_eq!(*key, request);
    let cancelled = decode_events::<RequestCancelled>(&tx.logs);
    assert_eq!((cancelled[0].request, cancelled[0].amount), (request, 1_000 * USDC));
    assert_eq!(env.chain.bank().balance(holder.collateral).await, 1_000 * USDC, "the escrow went back to the owner");
    assert!(env.chain.bank().raw_account(request).await.is_none() && env.chain.bank().raw_account(escrow).await.is_none());
    assert_eq!(env.lamports(holder.key()).await - owner_before, held, "rent and executor fee back to the owner");
    let c = report.counts;
    assert_eq!((c.requests_expired, c.requests_executed, c.requests_failed, c.executor_fees_earned), (1, 0, 0, 0));
    assert!(keeper.metrics().render().lines().any(|l| l == "lt_keeper_requests_expired_total 1"));
}

#[tokio::test]
async fn a_request_another_executor_got_to_first_counts_skipped_not_failed() {
    let mut env = Env::new().await;
    let mut a = env.keeper(false).await;
    let mut b = env.keeper(false).await;
    let holder = env.holder(1_000 * USDC).await;
    let (_, r) = env.request(&holder.kp, RequestKind::Mint, Some(0), 1_000 * USDC, 0).await;
    env.chain.bank().reach(OracleKind::PythLegacy, r.target).await;
    env.publish_for(100 * USD, r.target).await;

    let snap_a = a.fetch(&mut env.chain).await.unwrap();
    let snap_b = b.fetch(&mut env.chain).await.unwrap();
    let (ia, ib) = (a.decide_requests(&snap_a), b.decide_requests(&snap_b));
    assert_eq!((ia.len(), ib.len()), (1, 1), "both decide to execute");
    let oa = a.fire_requests(&mut env.chain, &ia).await;
    let ob = b.fire_requests(&mut env.chain, &ib).await;

    assert!(matches!(oa[0].1, RequestOutcome::Filled { .. }), "{oa:?}");
    assert!(matches!(&ob[0].1, RequestOutcome::Skipped { sent: false, reason } if reason.contains("already closed")), "{ob:?}");
    assert_eq!((b.counters().requests_skipped, b.counters().requests_failed), (1, 0));
}

#[tokio::test]
async fn dry_run_simulates_a_request_execution_and_sends_nothing() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(true).await;
    let holder = env.holder(1_000 * USDC).await;
    let (request, r) = env.request(&holder.kp, RequestKind::Mint, Some(0), 1_000 * USDC, 0).await;
    env.chain.bank().reach(OracleKind::PythLegacy, r.target).await;
    env.publish_for(100 * USD, r.target).await;

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert!(matches!(report.requests[0].1, RequestOutcome::Simulated { effect: Some(Effect::Filled), .. }), "{:?}", report.requests);
    assert_eq!(env.chain.sends, 0);
    assert!(env.chain.bank().raw_account(request).await.is_some(), "still pending");
    assert_eq!(report.counts.requests_executed, 0);
}

// ---------------------------------------------------------------- schedule

#[tokio::test]
async fn a_due_schedule_is_rebalanced_with_the_update_for_its_time_and_not_with_a_fresh_price() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    // A day and 100 slots later: every token's schedule is due (one grid point).
    env.chain.bank().warp(216_000 + 100).await;
    let slot = env.chain.bank().slot().await;
    let fix = env.chain.bank().account::<LeveragedToken>(env.long3.token).await.schedule_fix(OracleKind::PythLegacy, slot).expect("due");
    assert_eq!(slot - fix.anchor_slot, 100);

    // A fresh price, unmoved: the time trigger is the only one, and a fresh
    // update may not act on it. The keeper sends nothing; the program agrees.
    env.set_price(100 * USD).await;
    let fresh = keeper.run_once(&mut env.chain).await.unwrap();
    assert_eq!(fresh.counts, counters(3, 0, 0, 3, 0, 0, 0, 1));
    assert_eq!((env.chain.simulates, env.chain.sends), (0, 0));
    let rival = env.chain.bank().funded_keypair().await;
    let rival_collateral = env.chain.bank().create_token_account(env.market.collateral_mint, rival.pubkey()).await;
    let t = env.long3;
    env.chain.bank().send(&[ix::rebalance(rival.pubkey(), &t, rival_collateral)], &[&rival]).await.expect_err(ErrorCode::RebalanceNotNeeded);

    // The account holds the update for the schedule's time (100 slots old, past
    // the max age of 25): every token rebalances on the time trigger.
    env.publish_for(100 * USD, fix.target).await;
    let snap = keeper.fetch(&mut env.chain).await.unwrap();
    let verdicts = leveraged_token_keeper::decide::decide_all(&snap);
    for v in &verdicts {
        let Verdict::Fire(i) = v else { panic!("{v:?}") };
        assert_eq!(i.schedule_target, Some(fix.target));
        assert!(matches!(i.action, RebalanceAction::Rebalance { trigger: "time", .. }), "{:?}", i.action);
    }
    let report = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!(report.counts, counters(3, 3, 3, 0, 0, 0, report.counts.reward_earned, 1));
    assert_eq!(env.rebalance_counts().await, [1, 1, 1]);
    for (token, o) in &report.outcomes {
        let FireOutcome::Landed { report: tx, .. } = o else { panic!("{o:?}") };
        let ev = decode_events::<Rebalanced>(&tx.logs);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].triggers, TRIGGER_TIME, "the time trigger only");
        let state = env.chain.bank().account::<LeveragedToken>(*token).await;
        assert_eq!((state.schedule_anchor_slot, state.schedule_anchor_time), (fix.anchor_slot, fix.anchor_time), "the schedule moved to the grid point");
    }
    // The schedule is no longer due: the next loop sends nothing.
    let again = keeper.run_once(&mut env.chain).await.unwrap();
    assert_eq!(again.counts.sent, 0);
}

#[tokio::test]
async fn a_settlement_that_would_wipe_at_the_schedules_update_waits_for_a_fresh_price_then_lands_the_wipe() {
    let mut env = Env::new().await;
    let mut keeper = env.keeper(false).await;
    env.chain.bank().warp(216_000 + 100).await;
    let slot = env.chain.bank().slot().await;
    let fix = env.chain.bank().account::<LeveragedToken>(env.long3.token).await.schedule_fix(OracleKind::PythLegacy, slot).expect("due");
    // The update for the schedule's time says −40 %: the 3x long's settlement there wipes it.
    env.publish_for(60 * USD, fix.target).await;

    let report = keeper.run_once(&mut env.chain).await.unwrap();

    // The other two rebalance on the schedule; the 3x long is not sent (the
    // program would refuse: a wipe needs a fresh price).
    let sent: Vec<Pubkey> = report.outcomes.iter().map(|(t, _)| *t).collect();
    assert!(!sent.contains(&env.long3.token), "{:?}", report.outcomes);
    assert_eq!(report.counts.failed, 0);
    let rival = env.chain.bank().funded_keypair().await;
    let rival_collateral = env.chain.bank().create_token_account(env.market.collateral_mint, rival.pubkey()).await;
    let t = env.long3;
    env.chain.bank().send(&[ix::rebalance(rival.pubkey(), &t, rival_collateral)], &[&rival]).await.expect_err(ErrorCode::WipeNeedsFreshPrice);

    // A fresh update at the same price: the keeper lands the wipe.
    env.set_price(60 * USD).await;
    let snap = keeper.fetch(&mut env.chain).await.unwrap();
    let wipe = leveraged_token_keeper::decide::decide_all(&snap).into_iter().find(|v| v.token() == env.long3.token).unwrap();
    assert!(matches!(&wipe, Verdict::Fire(i) if matches!(i.action, RebalanceAction::Wipe { .. })), "{wipe:?}");
    let report = keeper.run_once(&mut env.chain).await.unwrap();
    let (_, FireOutcome::Landed { report: tx, .. }) = report.outcomes.iter().find(|(t, _)| *t == env.long3.token).expect("the 3x long was sent") else { panic!("{:?}", report.outcomes) };
    assert_eq!(decode_events::<TokenWiped>(&tx.logs).len(), 1);
    assert!(env.chain.bank().account::<LeveragedToken>(env.long3.token).await.is_wiped());
}

#[tokio::test]
async fn on_a_pull_market_a_deposit_request_executes_at_the_price_update_for_its_publish_time() {
    let mut bank = Bank::new().await;
    let deployer = Deployer::init(&mut bank, None).await;
    let feed = [9u8; 32];
    let oracle = Oracle::pull(Pubkey::new_unique(), feed);
    let spec = MarketSpec::new(oracle).token(20_000, defaults::responsive_token_params(20_000, USDC)).liquidity(1_000_000 * USDC);
    let d = deployer.market(&mut bank, spec).await;
    let holder = d.holder(&mut bank, 1_000 * USDC).await;
    let nonce = next_nonce();
    bank.send(&[d.request_ix(holder.key(), RequestKind::Deposit, None, nonce, 1_000 * USDC, 1)], &[&holder.kp]).await.expect_ok("request deposit");
    let request = pda::request(&holder.key(), nonce).0;
    let r: Request = bank.account(request).await;
    assert_eq!(r.target, r.requested_at + 2, "a pull request prices at a unix time");
    let mut chain = BankChain::new(bank);
    chain.track(d.program_accounts());
    chain.track([request]);
    let kp = chain.bank.funded_keypair().await;
    // The bank's PriceUpdateV2 account, not the sponsored feed account.
    let mut keeper = Keeper::new(kp, KeeperConfig { pull_oracles: HashMap::from([(feed, oracle.key)]), ..KeeperConfig::default() });
    let conf = Oracle::default_conf(100 * USD);

    // A second past its publish time, the account holds the next update (its
    // predecessor published at the target): not the one, so the keeper waits.
    chain.bank.reach(OracleKind::PythPull, r.target + 1).await;
    oracle.publish(&mut chain.bank, 100 * USD, conf).await;
    let waiting = keeper.run_once(&mut chain).await.unwrap();
    assert!(waiting.requests.is_empty(), "{:?}", waiting.requests);
    assert_eq!(keeper.metrics().requests_pending.load(Ordering::Relaxed), 1);

    // The update for its publish time: executed, filled.
    oracle.publish_for(&mut chain.bank, 100 * USD, conf, r.target).await;
    let report = keeper.run_once(&mut chain).await.unwrap();

    let (key, RequestOutcome::Filled { report: tx }) = &report.requests[0] else { panic!("{:?}", report.requests) };
    assert_eq!(*key, request);
    let deposited = decode_events::<LiquidityDeposited>(&tx.logs);
    assert_eq!((deposited[0].request, deposited[0].owner, deposited[0].amount), (request, holder.key(), 1_000 * USDC));
    assert_eq!(chain.bank.balance(holder.lp).await, deposited[0].lp_out);
    assert!(deposited[0].lp_out > 0);
    assert_eq!(report.counts.requests_filled, 1);
}
