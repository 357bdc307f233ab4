//! The CLI library against the in-process bank (BankChain): a whole user flow
//! through the same argument parsing and command functions `lt` runs, error
//! decoding, `--simulate` leaving every byte unchanged, and bad inputs.
//! Mints, redeems, deposits and withdrawals are requests: `lt` waits for the
//! price time (the bank's clock is moved, `lt::pace`), the fixture publishes
//! the update for it, and `lt` executes; with `--no-wait` the request stays
//! pending for `lt requests`, `lt execute` and (after expiry) `lt cancel`.
//!
//! Run with `--nocapture` to see the reports (the README pastes them).
use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use leveraged_token_cli::amount::parse_ui_amount;
use leveraged_token_cli::client::{ata, create_ata_ix};
use leveraged_token_cli::{parse_args, run, Client, Command, Report, TxFailed};
use leveraged_token_harness::bank::Bank;
use leveraged_token_harness::deployment::{Oracle, USD};
use leveraged_token_harness::BankChain;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// A bank with a USDC-like mint, a legacy Pyth account at `price`, and the
/// admin as the client's signer holding 2,000,000 USDC.
struct Env {
    c: Client<BankChain>,
    admin: Keypair,
    usdc: Pubkey,
    oracle: Pubkey,
    price: i64,
}

impl Env {
    async fn new() -> Self {
        let mut bank = Bank::new().await;
        let admin = bank.funded_keypair().await;
        let usdc = bank.create_mint(6).await;
        let oracle = Pubkey::new_unique();
        let c = Client::new(BankChain::new(bank), Some(admin.insecure_clone()));
        let mut e = Env { c, admin, usdc, oracle, price: 100 * USD };
        e.publish().await;
        let a = e.admin.pubkey();
        e.fund(a, 2_000_000_000_000).await;
        e
    }

    fn bank(&mut self) -> &mut Bank {
        &mut self.c.chain.bank
    }

    /// Write the oracle at the current slot.
    async fn publish(&mut self) {
        let (p, o) = (self.price, self.oracle);
        Oracle::legacy(o).publish(self.bank(), p, Oracle::default_conf(p)).await;
    }

    async fn set_price(&mut self, price: i64) {
        self.price = price;
        self.publish().await;
    }

    async fn warp(&mut self, slots: u64) {
        self.bank().warp(slots).await;
        self.publish().await;
    }

    /// Give `owner` `units` of USDC in its associated token account.
    async fn fund(&mut self, owner: Pubkey, units: u64) {
        let payer = self.bank().payer();
        let usdc = self.usdc;
        self.bank().send(&[create_ata_ix(&payer, &owner, &usdc)], &[]).await.unwrap();
        self.bank().mint_to(usdc, ata(&owner, &usdc), units).await;
    }

    async fn user(&mut self, units: u64) -> Keypair {
        let k = self.bank().funded_keypair().await;
        self.fund(k.pubkey(), units).await;
        k
    }

    fn sign_as(&mut self, k: &Keypair) {
        self.c.set_signer(Some(k.insecure_clone()));
    }

    async fn usdc_of(&mut self, owner: Pubkey) -> u64 {
        let a = ata(&owner, &self.usdc);
        self.bank().balance(a).await
    }

    /// Run `lt <args>` through the library, as main does.
    async fn lt(&mut self, args: &[&str]) -> anyhow::Result<Report> {
        let cli = parse_args(std::iter::once("lt").chain(args.iter().copied())).map_err(|e| anyhow::anyhow!("{e}"))?;
        let Command::Chain(cmd) = cli.command else { panic!("not a chain command") };
        self.c.simulate = cli.global.simulate;
        self.c.priority_fee = cli.global.priority_fee;
        run(&mut self.c, cmd).await
    }

    async fn ok(&mut self, args: &[&str]) -> Report {
        match self.lt(args).await {
            Ok(r) => {
                println!("$ lt {}\n{}", args.join(" "), r.to_text());
                r
            }
            Err(e) => panic!("lt {} failed: {e:#}\n{:?}", args.join(" "), e.downcast_ref::<TxFailed>().map(|f| f.logs.clone())),
        }
    }

    /// Config, a market with 1,000,000 USDC of liquidity, a 3x long and a 1x short.
    async fn deployed(&mut self) -> (String, String, String) {
        self.ok(&["config", "init"]).await;
        let (oracle, usdc) = (self.oracle.to_string(), self.usdc.to_string());
        let m = self.ok(&["market", "create", "--oracle", &oracle, "--kind", "legacy", "--collateral-mint", &usdc]).await;
        let market = m.text("market").unwrap();
        self.ok(&["liquidity", "deposit", &market, "1000000"]).await;
        let long = self
            .ok(&["token", "create", &market, "--leverage", "3", "--band-min-bps", "24000", "--band-max-bps", "36000", "--ripcord-bps", "42000", "--deviation-bps", "1000"])
            .await
            .text("token")
            .unwrap();
        let short = self
            .ok(&["token", "create", &market, "--leverage", "-1", "--band-min-bps", "8000", "--band-max-bps", "12000", "--ripcord-bps", "15000", "--deviation-bps", "1000"])
            .await
            .text("token")
            .unwrap();
        (market, long, short)
    }

    async fn snapshot(&mut self, keys: &[Pubkey]) -> Vec<Option<solana_account::Account>> {
        self.bank().snapshot(keys).await
    }
}

fn ui(s: &str) -> u64 {
    parse_ui_amount(s, 6).unwrap()
}

fn key(s: &str) -> Pubkey {
    s.parse().unwrap()
}

#[tokio::test]
async fn user_flow_through_the_cli() {
    let mut e = Env::new().await;

    // Admin: config, market, liquidity, two tokens.
    let cfg = e.ok(&["config", "init"]).await;
    assert_eq!(cfg.text("admin").unwrap(), e.admin.pubkey().to_string());
    let (oracle, usdc) = (e.oracle.to_string(), e.usdc.to_string());
    let m = e.ok(&["market", "create", "--oracle", &oracle, "--kind", "legacy", "--collateral-mint", &usdc, "--trade-fee-bps", "5"]).await;
    let market = m.text("market").unwrap();
    assert_eq!(m.text("net_cap_bps").unwrap(), "10000", "defaults fill the unset params");
    assert_eq!(m.text("funding_max_bps").unwrap(), "1500", "defaults fill the unset params");
    let admin_before = e.usdc_of(e.admin.pubkey()).await;
    let d = e.ok(&["liquidity", "deposit", &market, "1000000"]).await;
    // The request waits its 2 s (5 slots on a legacy oracle) and fills at the update for that slot.
    let slot = e.bank().slot().await;
    assert_eq!(d.text("price_time").unwrap(), format!("slot {slot}"));
    assert_eq!(d.text("outcome").unwrap(), "filled");
    assert_eq!(d.text("fill_price").unwrap(), "100");
    // 10 bps LP fee stays in the pool: 999,000 LP shares, as quoted.
    assert_eq!(d.text("quote_lp_fee").unwrap(), "1000");
    assert_eq!(d.text("lp_fee").unwrap(), "1000");
    assert_eq!(d.text("lp_received").unwrap(), "999000");
    assert_eq!(d.text("lp_out").unwrap(), "999000");
    assert_eq!(d.text("quote_lp_out").unwrap(), "999000");
    assert_eq!(d.text("executor_fee_lamports").unwrap(), "50000");
    assert_eq!(d.text("executed_by").unwrap(), e.admin.pubkey().to_string(), "the requester executes its own request");
    assert_eq!(admin_before - e.usdc_of(e.admin.pubkey()).await, 1_000_000_000_000);
    let pool_vault = key(&m.text("pool_vault").unwrap());
    assert_eq!(e.bank().balance(pool_vault).await, 1_000_000_000_000);
    // The tight parameter set (`defaults::responsive_token_params`), so a small move opens each trigger.
    let long = e.ok(&["token", "create", &market, "--leverage", "3", "--band-min-bps", "24000", "--band-max-bps", "36000", "--ripcord-bps", "42000", "--deviation-bps", "1000"]).await;
    assert_eq!(long.text("target_leverage").unwrap(), "3.0000x");
    assert_eq!(long.text("keeper_reward").unwrap(), "1");
    let long = long.text("token").unwrap();
    let short =
        e.ok(&["token", "create", &market, "--leverage=-1", "--band-min-bps", "8000", "--band-max-bps", "12000", "--ripcord-bps", "15000", "--deviation-bps", "1000"]).await.text("token").unwrap();

    // A holder mints 1,000 USDC of the 3x long: exact fees as the program's tests compute them.
    let alice = e.user(10_000_000_000).await;
    e.sign_as(&alice);
    let mint = e.ok(&["mint", &long, "1000"]).await;
    assert_eq!(mint.text("quote_shares_out").unwrap(), "997.5015");
    assert_eq!(mint.text("shares_received").unwrap(), "997.5015");
    assert_eq!(mint.text("shares_out").unwrap(), "997.5015", "the Minted event");
    assert_eq!(mint.text("mint_fee").unwrap(), "1");
    assert_eq!(mint.text("outcome").unwrap(), "filled");
    assert!(mint.text("request").is_some() && mint.text("nonce").is_some() && mint.text("expires_at").unwrap().contains("UTC (unix "));
    // Request and execution in one report, each key once (JSON keeps them all).
    let json: serde_json::Value = serde_json::from_str(&mint.to_json()).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 1 + mint.fields.len(), "the command and each key once: {:?}", mint.fields);
    assert_eq!(mint.text("quote_mint_fee").unwrap(), "1");
    assert_eq!(mint.text("quote_trade_fee").unwrap(), "1.4985");
    assert_eq!(mint.text("min_shares_out").unwrap(), "987.526485", "1 % default slippage below the quote");
    assert_eq!(e.usdc_of(alice.pubkey()).await, 9_000_000_000);
    let share_mint = key(&mint_share_mint(&mut e, &long).await);
    assert_eq!(e.bank().balance(ata(&alice.pubkey(), &share_mint)).await, 997_501_500);

    // Status: NAV, leverage now vs target, position, pool utilisation, triggers.
    let s = e.ok(&["status", &long]).await;
    let nav = ui(&s.text("nav_per_share").unwrap());
    assert!((999_000..=1_000_000).contains(&nav), "NAV/share {nav}");
    assert_eq!(s.text("leverage").unwrap(), "3.0000x");
    assert_eq!(s.text("leverage_vs_target").unwrap(), "3.0000x vs 3.0000x");
    assert_eq!(s.text("position_base").unwrap(), "29.925045");
    assert_eq!(s.text("position_notional").unwrap(), "2992.5045");
    assert_eq!(s.text("pool_net_notional").unwrap(), "2992.5045 (0.29% of pool value; cap 100.00%)");
    // A lone long is the whole skew: it pays funding at F_max (15 %/yr) and
    // the base borrow plus the kink curve at 0.3 % utilisation.
    let charge = s.text("charge_per_year").unwrap();
    assert!(charge.starts_with("15.55% of notional (funding 15.00%, borrow 0.55%"), "{charge}");
    assert_eq!(s.text("rebalance_now").unwrap(), "no");
    assert_eq!(s.text("trigger_deviation_down").unwrap(), "90 (-10.00%)");
    assert_eq!(s.text("trigger_band_max").unwrap(), "92.307692 (-7.69%)");
    assert!(s.text("closest_trigger").unwrap().starts_with("band max (3.6000x) at 92.307692 (-7.69% away)"), "{:?}", s.text("closest_trigger"));
    assert_eq!(s.text("slots_to_time_trigger").unwrap(), "216000");
    let text = s.to_text();
    assert!(text.contains("nav per share") && text.contains("leverage vs target"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(json["leverage"], "3.0000x");

    // Nothing to do at the same price: the client refuses with the program's reason.
    let err = e.lt(&["rebalance", &long]).await.unwrap_err().to_string();
    assert!(err.contains("RebalanceNotNeeded (6028)"), "{err}");

    // The price rises 11 %: the deviation trigger opens; a keeper rebalances for its reward.
    e.warp(20).await;
    e.set_price(111 * USD).await;
    let s = e.ok(&["status", &long]).await;
    assert!(s.text("rebalance_now").unwrap().starts_with("yes: deviation"), "{:?}", s.text("rebalance_now"));
    assert_eq!(s.text("closest_trigger").unwrap(), "deviation: open now");
    assert_eq!(s.text("trigger_deviation_up").unwrap(), "110 (-0.90%, open now)");
    assert_eq!(s.text("leverage").unwrap().get(..4), Some("2.50"));
    let keeper = e.user(0).await;
    e.sign_as(&keeper);
    let rb = e.ok(&["rebalance", &long]).await;
    assert_eq!(rb.text("trigger").unwrap(), "deviation");
    assert_eq!(rb.text("reward_received").unwrap(), "1");
    assert_eq!(rb.text("rebalance_count").unwrap(), "1");
    let after = rb.text("leverage_after").unwrap();
    assert!(after.starts_with("2.99") || after.starts_with("3.00"), "{after}");
    assert_eq!(e.usdc_of(keeper.pubkey()).await, 1_000_000);

    // Alice redeems everything and gets her gain less fees.
    e.sign_as(&alice);
    let before = e.usdc_of(alice.pubkey()).await;
    let rd = e.ok(&["redeem", &long, "all"]).await;
    let got = e.usdc_of(alice.pubkey()).await - before;
    assert_eq!(ui(&rd.text("collateral_received").unwrap()), got);
    assert_eq!(ui(&rd.text("quote_collateral_out").unwrap()), got, "the quote settles to the price time's slot: exact at the same price");
    assert_eq!(ui(&rd.text("collateral_out").unwrap()), got, "the Redeemed event");
    assert_eq!(rd.text("fill_price").unwrap(), "111");
    assert!(got > 1_300_000_000 && got < 1_340_000_000, "3x of +11 % on ~997.5: {got}");
    assert_eq!(rd.text("share_balance").unwrap(), "0");

    // Fees to the treasury (the admin).
    let treasury_before = e.usdc_of(e.admin.pubkey()).await;
    let fees = e.ok(&["collect-fees", &long]).await;
    let collected = ui(&fees.text("fees").unwrap());
    assert!(collected >= 2_000_000, "mint + redeem fees: {collected}");
    assert_eq!(e.usdc_of(e.admin.pubkey()).await, treasury_before + collected);
    assert_eq!(ui(&fees.text("treasury_balance").unwrap()), treasury_before + collected);

    // List finds the market and both tokens.
    let l = e.ok(&["list"]).await;
    assert_eq!(l.list("markets").len(), 1);
    assert_eq!(l.list("markets")[0].text("market").unwrap(), market);
    assert_eq!(l.list("markets")[0].text("tokens").unwrap(), "2");
    let tokens: Vec<String> = l.list("tokens").iter().map(|t| t.text("token").unwrap()).collect();
    assert!(tokens.contains(&long) && tokens.contains(&short), "{tokens:?}");
    let lev: Vec<String> = l.list("tokens").iter().map(|t| t.text("target_leverage").unwrap()).collect();
    assert_eq!(lev, ["-1.0000x", "3.0000x"]);

    // The LP leaves with the pool's gains and losses.
    e.sign_as(&e.admin.insecure_clone());
    let w = e.ok(&["liquidity", "withdraw", &market, "all"]).await;
    assert_eq!(w.text("lp_balance").unwrap(), "0");
    // The withdrawal waits out the LP cooldown (3,600 s: 9,000 slots) before its price time.
    assert_eq!(w.text("price_time").unwrap(), format!("slot {}", e.bank().slot().await));
    assert_eq!(w.text("outcome").unwrap(), "filled");
    assert_eq!(w.text("collateral_received").unwrap(), w.text("collateral_out").unwrap());
    assert_eq!(w.text("collateral_received").unwrap(), w.text("quote_collateral_out").unwrap(), "same price, quoted at the price time's slot");
    let got = ui(&w.text("collateral_received").unwrap());
    assert!(got > 998_000_000_000 && got < 1_000_000_000_000, "the pool paid alice's gain, the LP fee stays: {got}");
}

async fn mint_share_mint(e: &mut Env, token: &str) -> String {
    e.ok(&["status", token]).await.text("share_mint").unwrap()
}

#[tokio::test]
async fn admin_commands_pause_params_and_admin_transfer() {
    let mut e = Env::new().await;
    let (market, long, _short) = e.deployed().await;
    let p = e.ok(&["pause", "token", &long, "mint,redeem"]).await;
    assert_eq!(p.text("paused_now").unwrap(), "mint,redeem");
    let alice = e.user(1_000_000_000).await;
    e.sign_as(&alice);
    let err = e.lt(&["mint", &long, "10"]).await.unwrap_err();
    let f = err.downcast_ref::<TxFailed>().expect("a program error");
    assert_eq!(f.explained.name, "Paused");
    assert!(err.to_string().contains("Operation is paused"), "{err}");
    let admin = e.admin.insecure_clone();
    e.sign_as(&admin);
    assert_eq!(e.ok(&["unpause", "token", &long, "all"]).await.text("paused_now").unwrap(), "none");
    assert_eq!(e.ok(&["pause", "global", "liquidity"]).await.text("paused_now").unwrap(), "liquidity");
    assert_eq!(e.ok(&["unpause", "global", "liquidity"]).await.text("paused_now").unwrap(), "none");
    assert_eq!(e.ok(&["pause", "market", &market, "rebalance"]).await.text("paused_now").unwrap(), "rebalance");
    assert!(e.lt(&["pause", "global", "everything"]).await.unwrap_err().to_string().contains("unknown pause flag"));

    // Params: show, propose one change, refuse an invalid one with the program's log.
    assert_eq!(e.ok(&["market", "params", &market]).await.text("trade_fee_bps").unwrap(), "5");
    let proposed = e.ok(&["market", "params", &market, "--trade-fee-bps", "7"]).await;
    assert_eq!(proposed.text("trade_fee_bps").unwrap(), "7");
    assert_eq!(proposed.text("param_delay_secs").unwrap(), "86400");
    // Pending, not applied: `market params` shows the current value and the change.
    let shown = e.ok(&["market", "params", &market]).await;
    assert_eq!((shown.text("trade_fee_bps").unwrap(), shown.text("pending.trade_fee_bps").unwrap()), ("5".into(), "5 -> 7".into()));
    assert_eq!(e.ok(&["params", "show", &market]).await.text("due_in_secs").unwrap(), "86400");
    let l = e.ok(&["list"]).await;
    assert!(l.list("markets")[0].text("pending_change").unwrap().ends_with("(in 86400 s)"), "{:?}", l.list("markets")[0].text("pending_change"));
    assert!(l.list("tokens").iter().all(|t| t.text("pending_change").unwrap() == "none"));
    let err = e.lt(&["params", "apply", &market]).await.unwrap_err();
    assert!(err.to_string().contains("is not due"), "{err}");
    let err = e.lt(&["market", "params", &market, "--trade-fee-bps", "8"]).await.unwrap_err();
    assert!(err.to_string().contains("already pending"), "{err}");
    e.bank().advance_time(86_400).await;
    e.ok(&["params", "apply", &market]).await;
    assert_eq!(e.ok(&["market", "params", &market]).await.text("trade_fee_bps").unwrap(), "7");
    assert_eq!(e.ok(&["params", "show", &market]).await.text("pending_change").unwrap(), "none");
    let err = e.lt(&["market", "params", &market, "--trade-fee-bps", "1000"]).await.unwrap_err();
    let f = err.downcast_ref::<TxFailed>().unwrap();
    assert_eq!(f.explained.name, "InvalidMarketParams");
    // On a validator the program's `msg!` (the failed bound) is in the logs; the
    // native bank prints it to stdout instead, so only the failure line is here.
    assert!(f.logs.iter().any(|l| l.contains("custom program error: 0x1778")), "{:?}", f.logs);
    let t = e.ok(&["token", "params", &long, "--keeper-reward", "2.5", "--deviation-bps", "800"]).await;
    assert_eq!(t.text("keeper_reward").unwrap(), "2.5");
    assert_eq!(t.text("deviation_bps").unwrap(), "800");
    assert!(e.ok(&["token", "params", &long]).await.text("pending.deviation_bps").unwrap().ends_with(" -> 800"));
    e.ok(&["params", "cancel", &long]).await;
    assert_eq!(e.ok(&["token", "params", &long]).await.text("pending_change").unwrap(), "none");

    // Two-step admin transfer.
    let next = e.user(0).await;
    let next_key = next.pubkey().to_string();
    e.ok(&["config", "propose-admin", &next_key]).await;
    e.sign_as(&next);
    assert_eq!(e.ok(&["config", "accept-admin"]).await.text("admin").unwrap(), next_key);
    assert_eq!(e.ok(&["config", "show"]).await.text("admin").unwrap(), next_key);
    e.sign_as(&admin);
    let err = e.lt(&["pause", "global", "mint"]).await.unwrap_err();
    assert_eq!(err.downcast_ref::<TxFailed>().unwrap().explained.name, "NotAdmin");
}

#[tokio::test]
async fn a_redeem_below_its_minimum_is_refunded_with_the_reason_and_only_the_fees_change() {
    let (mut e, market, long, alice) = deployed_for_a_user(1_000_000_000).await;
    e.ok(&["mint", &long, "100"]).await;
    let keys = watched(&mut e, &market, &long, &alice).await;
    let before = e.snapshot(&keys).await;
    let r = e.ok(&["redeem", &long, "10", "--min-out", "1000000"]).await;
    // The request escrowed the shares; at its price time the output is below the minimum: refunded.
    assert_eq!(r.text("outcome").unwrap(), "refunded");
    assert!(r.text("refund_reason").unwrap().starts_with("BelowMinOut: "), "{:?}", r.text("refund_reason"));
    assert_eq!(r.text("refunded").unwrap(), "10");
    assert_eq!(r.text("returned_to_owner").unwrap(), "10");
    assert_eq!(r.text("collateral_received").unwrap(), "0");
    assert_eq!(r.text("price_at_price_time").unwrap(), "100");
    assert!(r.get("fill_price").is_none());
    let after = e.snapshot(&keys).await;
    // Market, token, pool, vault, share mint, config and both of alice's token accounts are as before.
    assert_eq!(after[..8], before[..8], "a refunded request changes no market, token or balance");
    // Alice requested and executed: she paid two signature fees and got the executor fee back.
    assert_eq!(before[8].as_ref().unwrap().lamports - after[8].as_ref().unwrap().lamports, 10_000, "two signature fees");
    // Nothing is left pending.
    assert_eq!(e.ok(&["requests"]).await.text("count").unwrap(), "0");
    // The same request in --simulate: the request's transaction succeeds and nothing changes.
    e.warp(1).await;
    let before = e.snapshot(&keys[..8]).await;
    let sim = e.ok(&["--simulate", "redeem", &long, "10", "--min-out", "1000000"]).await;
    assert_eq!(sim.text("simulated").unwrap(), "true");
    assert!(sim.text("price_time").unwrap().starts_with("slot "));
    assert_eq!(e.snapshot(&keys[..8]).await, before);
}

/// A deployed market (its address and the 3x long's) and a new user holding
/// `usdc` units as the signer.
async fn deployed_for_a_user(usdc: u64) -> (Env, String, String, Keypair) {
    let mut e = Env::new().await;
    let (market, long, _) = e.deployed().await;
    let user = e.user(usdc).await;
    e.sign_as(&user);
    (e, market, long, user)
}

/// Every account a mint/redeem/rebalance of `long` by `user` can touch (the
/// share mint as `lt status` shows it).
async fn watched(e: &mut Env, market: &str, long: &str, user: &Keypair) -> Vec<Pubkey> {
    let status = e.ok(&["status", long]).await;
    let (market, long) = (key(market), key(long));
    let share_mint = key(&status.text("share_mint").unwrap());
    let m = leveraged_token::pda::pool_vault(&market).0;
    vec![market, long, m, leveraged_token::pda::token_vault(&long).0, share_mint, leveraged_token::pda::config().0, ata(&user.pubkey(), &e.usdc), ata(&user.pubkey(), &share_mint), user.pubkey()]
}

#[tokio::test]
async fn simulate_changes_nothing_and_says_what_would_change() {
    let (mut e, market, long, alice) = deployed_for_a_user(2_000_000_000).await;
    let keys = watched(&mut e, &market, &long, &alice).await;
    let before = e.snapshot(&keys).await;
    assert!(before[7].is_none(), "alice has no share account yet");

    // A first mint, simulated with a priority fee: share account creation, quote and logs; nothing lands.
    let sim = e.ok(&["--simulate", "--priority-fee", "5000", "mint", &long, "1000"]).await;
    assert_eq!(sim.text("simulated").unwrap(), "true");
    assert_eq!(sim.text("quote_shares_out").unwrap(), "997.5015");
    assert!(sim.get("shares_received").is_none());
    let logs = match sim.get("logs") {
        Some(leveraged_token_cli::Value::Lines(l)) => l.clone(),
        other => panic!("{other:?}"),
    };
    assert!(logs.iter().any(|l| l.contains("ComputeBudget111111111111111111111111111111")), "priority fee instruction: {logs:?}");
    // The simulated request escrows the 1,000 USDC and fixes the price time it reports.
    let opened = leveraged_token_sdk::events::decode_events::<leveraged_token::events::RequestOpened>(&logs);
    assert_eq!(opened.len(), 1, "{logs:?}");
    assert_eq!((opened[0].owner, opened[0].amount, opened[0].executor_fee), (alice.pubkey(), 1_000_000_000, 50_000));
    assert_eq!(sim.text("price_time").unwrap(), format!("slot {}", opened[0].target));
    assert!(sim.text("units_consumed").is_some());
    assert_eq!(e.snapshot(&keys).await, before, "--simulate changed an account");

    // Real mint, then simulated redeem and rebalance after a price move: still nothing changes.
    e.ok(&["mint", &long, "1000"]).await;
    e.warp(20).await;
    e.set_price(111 * USD).await;
    let before = e.snapshot(&keys).await;
    let r = e.ok(&["--simulate", "redeem", &long, "all"]).await;
    assert!(ui(&r.text("quote_collateral_out").unwrap()) > 600_000_000);
    let rb = e.ok(&["--simulate", "rebalance", &long]).await;
    assert_eq!(rb.text("trigger").unwrap(), "deviation");
    assert!(rb.text("expected_leverage_after").unwrap().starts_with("2.99") || rb.text("expected_leverage_after").unwrap().starts_with("3.00"));
    let d = e.ok(&["--simulate", "liquidity", "deposit", &market, "1"]).await;
    assert_eq!(d.text("simulated").unwrap(), "true");
    assert_eq!(e.snapshot(&keys).await, before, "--simulate changed an account");
    let json: serde_json::Value = serde_json::from_str(&rb.to_json()).unwrap();
    assert_eq!(json["simulated"], true);
    assert!(json["logs"].as_array().unwrap().len() > 3);
}

#[tokio::test]
async fn bad_inputs_are_clear_errors() {
    let mut e = Env::new().await;
    let (market, long, _) = e.deployed().await;
    let alice = e.user(1_000_000).await;
    e.sign_as(&alice);

    // Malformed amounts: refused by the parser, or at the mint's decimals.
    let err = e.lt(&["mint", &long, "12.5.3"]).await.unwrap_err().to_string();
    assert!(err.contains("invalid amount \"12.5.3\""), "{err}");
    let err = e.lt(&["mint", &long, "0.0000001"]).await.unwrap_err().to_string();
    assert!(err.contains("more than 6 decimal places"), "{err}");
    let err = e.lt(&["mint", &long, "-5"]).await.unwrap_err().to_string();
    assert!(err.contains("negative") || err.contains("unexpected argument"), "{err}");
    let err = e.lt(&["mint", &long, "2"]).await.unwrap_err().to_string();
    assert_eq!(err, format!("insufficient collateral: {} holds 1, the mint needs 2", ata(&alice.pubkey(), &e.usdc)));
    let err = e.lt(&["mint", &long, "0"]).await.unwrap_err().to_string();
    assert!(err.starts_with("ZeroAmount (6001)"), "{err}");

    // Unknown or wrong addresses.
    let nobody = Pubkey::new_unique().to_string();
    let err = e.lt(&["status", &nobody]).await.unwrap_err().to_string();
    assert_eq!(err, format!("leveraged token {nobody} not found on in-process bank (wrong address or cluster?)"));
    let err = e.lt(&["mint", &market, "1"]).await.unwrap_err().to_string();
    assert!(err.contains("is not a leveraged token: it is another account of the leveraged-token program"), "{err}");
    let usdc = e.usdc.to_string();
    let err = e.lt(&["redeem", &usdc, "1"]).await.unwrap_err().to_string();
    assert!(err.contains(&format!("is not a leveraged token: it is owned by {}", spl_token::ID)), "{err}");
    let err = e.lt(&["status", "not-a-key"]).await.unwrap_err().to_string();
    assert!(err.contains("invalid value 'not-a-key'"), "{err}");
    let err = e.lt(&["redeem", &long, "1"]).await.unwrap_err().to_string();
    assert!(err.contains("holds no shares of token"), "{err}");
    let err = e.lt(&["token", "create", &market, "--leverage", "3"]).await.unwrap_err().to_string();
    assert!(err.contains("a 3.0000x token already exists"), "{err}");
    let err = e.lt(&["market", "create", "--oracle", &nobody, "--kind", "pull", "--collateral-mint", &usdc]).await.unwrap_err().to_string();
    assert!(err.contains("--kind pull needs --feed-id"), "{err}");

    // No keypair: a signing command says so; a missing keypair file is one clear line.
    e.c.set_signer(None);
    let err = e.lt(&["mint", &long, "1"]).await.unwrap_err().to_string();
    assert!(err.contains("no keypair is loaded"), "{err}");
    assert!(e.lt(&["status", &long]).await.is_ok(), "read-only commands need no keypair");
    let err = leveraged_token_cli::settings::load_keypair(std::path::Path::new("/nonexistent/id.json")).unwrap_err().to_string();
    assert!(err.starts_with("keypair file /nonexistent/id.json not found") && !err.contains('\n'), "{err}");

    // A stale oracle is refused before sending, with the program's error name.
    e.sign_as(&alice);
    e.bank().warp(100).await;
    let err = e.lt(&["mint", &long, "1"]).await.unwrap_err().to_string();
    assert!(err.contains("OracleStale (6013)"), "{err}");
}

#[tokio::test]
async fn pull_oracle_market_takes_the_update_account_from_oracle_flag() {
    let mut e = Env::new().await;
    e.ok(&["config", "init"]).await;
    let feed = [7u8; 32];
    let update = Pubkey::new_unique();
    Oracle::pull(update, feed).publish(e.bank(), 100 * USD, (USD / 20) as u64).await;
    let (upd, usdc, feed_hex) = (update.to_string(), e.usdc.to_string(), "07".repeat(32));
    let m = e.ok(&["market", "create", "--kind", "pull", "--feed-id", &feed_hex, "--oracle", &upd, "--collateral-mint", &usdc]).await;
    assert_eq!(m.text("oracle_kind").unwrap(), "PythPull");
    let market = m.text("market").unwrap();
    let err = e.lt(&["liquidity", "deposit", &market, "1000"]).await.unwrap_err().to_string();
    assert!(err.contains("pass --oracle <PriceUpdateV2 account>"), "{err}");
    e.ok(&["liquidity", "deposit", &market, "100000", "--oracle", &upd]).await;
    let long = e.ok(&["token", "create", &market, "--leverage", "2"]).await.text("token").unwrap();
    let m = e.ok(&["mint", &long, "100", "--oracle", &upd]).await;
    assert!(ui(&m.text("shares_received").unwrap()) > 99_000_000);
    let s = e.ok(&["status", &long]).await;
    assert!(s.text("oracle_problem").unwrap().contains("--oracle"), "status without the update account says what is missing");
    let s = e.ok(&["status", &long, "--oracle", &upd]).await;
    assert_eq!(s.text("leverage").unwrap(), "2.0000x");
    let l = e.ok(&["list"]).await;
    assert_eq!(l.list("markets")[0].text("oracle").unwrap(), format!("feed {feed_hex}"));
}

/// The rows of `lt requests [args]`.
async fn pending(e: &mut Env, args: &[&str]) -> Vec<Report> {
    let mut all = vec!["requests"];
    all.extend_from_slice(args);
    let r = e.ok(&all).await;
    let rows = r.list("requests").to_vec();
    assert_eq!(r.text("count").unwrap(), rows.len().to_string());
    rows
}

#[tokio::test]
async fn no_wait_requests_are_listed_then_executed_by_anyone_with_lt_execute() {
    let (mut e, market, long, alice) = deployed_for_a_user(1_000_000_000).await;
    let alice_key = alice.pubkey().to_string();

    // Mint with --no-wait: the collateral is escrowed, the request waits for its price time.
    let m = e.ok(&["mint", &long, "100", "--no-wait"]).await;
    let request = m.text("request").unwrap();
    let slot = e.bank().slot().await;
    assert_eq!(m.text("price_time").unwrap(), format!("slot {}", slot + 5), "2 s at 400 ms a slot");
    assert!(m.text("expires_at").unwrap().contains("UTC (unix "));
    assert_eq!(m.text("escrowed").unwrap(), "100");
    assert!(m.text("status").unwrap().starts_with("pending"));
    assert!(m.get("outcome").is_none(), "not executed");
    assert_eq!(e.usdc_of(alice.pubkey()).await, 900_000_000);
    let expected_key = leveraged_token::pda::request(&alice.pubkey(), m.text("nonce").unwrap().parse().unwrap()).0;
    assert_eq!(request, expected_key.to_string());

    // `lt requests` lists it, with or without the owner filter; another owner has none.
    let rows = pending(&mut e, &[]).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.text("request").unwrap(), request);
    assert_eq!(row.text("kind").unwrap(), "mint");
    assert_eq!(row.text("owner").unwrap(), alice_key);
    assert_eq!(row.text("nonce").unwrap(), m.text("nonce").unwrap());
    assert_eq!(row.text("token").unwrap(), long);
    assert_eq!(row.text("amount").unwrap(), "100");
    assert_eq!(row.text("min_out").unwrap(), m.text("min_shares_out").unwrap());
    assert_eq!(row.text("stage").unwrap(), "waiting 5 slots");
    assert_eq!(row.text("expires_at").unwrap(), m.text("expires_at").unwrap());
    assert_eq!(pending(&mut e, &["--owner", &alice_key]).await.len(), 1);
    let other = Pubkey::new_unique().to_string();
    assert!(pending(&mut e, &["--owner", &other]).await.is_empty());
    e.warp(5).await;
    assert_eq!(pending(&mut e, &[]).await[0].text("stage").unwrap(), "executable");

    // Anyone executes it (here a keeper with no stake) and earns the executor fee; alice gets the shares.
    let keeper = e.user(0).await;
    e.sign_as(&keeper);
    let lamports_before = e.bank().raw_account(keeper.pubkey()).await.unwrap().lamports;
    let x = e.ok(&["execute", &request]).await;
    assert_eq!(x.text("kind").unwrap(), "mint");
    assert_eq!(x.text("owner").unwrap(), alice_key);
    assert_eq!(x.text("outcome").unwrap(), "filled");
    assert_eq!(x.text("executed_by").unwrap(), keeper.pubkey().to_string());
    let shares = ui(&x.text("shares_received").unwrap());
    assert_eq!(shares, ui(&x.text("shares_out").unwrap()));
    assert!(shares > 99_000_000, "{shares}");
    let share_mint = key(&mint_share_mint(&mut e, &long).await);
    assert_eq!(e.bank().balance(ata(&alice.pubkey(), &share_mint)).await, shares);
    let lamports_after = e.bank().raw_account(keeper.pubkey()).await.unwrap().lamports;
    assert_eq!(lamports_after + 5_000, lamports_before + 50_000, "executor fee less the signature fee");
    assert!(pending(&mut e, &[]).await.is_empty(), "executed requests close");
    let err = e.lt(&["execute", &request]).await.unwrap_err().to_string();
    assert!(err.contains("not found") && err.contains("executed, refunded or cancelled"), "{err}");

    // Redeem, deposit and withdraw with --no-wait, then executed: each lists with its kind and fills.
    e.sign_as(&alice);
    let half = (shares / 2) as f64 / 1e6;
    let rd = e.ok(&["redeem", &long, &format!("{half:.6}"), "--no-wait"]).await.text("request").unwrap();
    let dp = e.ok(&["liquidity", "deposit", &market, "50", "--no-wait"]).await.text("request").unwrap();
    let kinds: Vec<String> = pending(&mut e, &["--owner", &alice_key]).await.iter().map(|r| r.text("kind").unwrap()).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"redeem".to_string()) && kinds.contains(&"deposit".to_string()), "{kinds:?}");
    let x = e.ok(&["execute", &rd]).await;
    assert_eq!((x.text("outcome").unwrap(), x.text("kind").unwrap()), ("filled".into(), "redeem".into()));
    assert!(ui(&x.text("collateral_received").unwrap()) > 40_000_000);
    let x = e.ok(&["execute", &dp]).await;
    assert_eq!(x.text("outcome").unwrap(), "filled");
    let lp = ui(&x.text("lp_received").unwrap());
    assert!(lp > 49_000_000, "{lp}");
    let w = e.ok(&["liquidity", "withdraw", &market, "all", "--no-wait"]).await;
    // The withdrawal's price time is an hour out (the LP cooldown): 9,000 slots.
    assert_eq!(w.text("price_time").unwrap(), format!("slot {}", e.bank().slot().await + 9_000));
    assert_eq!(pending(&mut e, &[]).await[0].text("stage").unwrap(), "waiting 9000 slots");
    let x = e.ok(&["execute", &w.text("request").unwrap()]).await;
    assert_eq!((x.text("outcome").unwrap(), x.text("kind").unwrap()), ("filled".into(), "withdraw".into()));
    assert_eq!(x.text("lp_balance").unwrap(), "0");
}

#[tokio::test]
async fn cancel_refuses_before_expiry_naming_it_and_returns_the_escrow_after() {
    let (mut e, market, long, alice) = deployed_for_a_user(1_000_000_000).await;
    let d = e.ok(&["liquidity", "deposit", &market, "50", "--no-wait"]).await;
    let request = d.text("request").unwrap();
    assert_eq!(e.usdc_of(alice.pubkey()).await, 950_000_000);
    let lamports = e.bank().raw_account(alice.pubkey()).await.unwrap().lamports;

    // Before expiry: refused before sending, with the expiry time and the program's error.
    let err = e.lt(&["cancel", &request]).await.unwrap_err().to_string();
    println!("error: {err}");
    assert!(err.contains("has not expired") && err.contains(&format!("expires at {}", d.text("expires_at").unwrap())), "{err}");
    assert!(err.contains("RequestNotExpired (6"), "{err}");
    assert_eq!(e.bank().raw_account(alice.pubkey()).await.unwrap().lamports, lamports, "nothing was sent");

    // Past expiry (2 s + 120 s): listed as expired, no longer executable, cancelled by anyone.
    e.bank().advance_time(200).await;
    assert_eq!(pending(&mut e, &[]).await[0].text("stage").unwrap(), "expired");
    let err = e.lt(&["execute", &request]).await.unwrap_err().to_string();
    assert!(err.contains("expired at") && err.contains(&format!("lt cancel {request}")), "{err}");
    let stranger = e.user(0).await;
    e.sign_as(&stranger);
    let c = e.ok(&["cancel", &request]).await;
    assert_eq!(c.text("kind").unwrap(), "deposit");
    assert_eq!(c.text("owner").unwrap(), alice.pubkey().to_string());
    assert_eq!(c.text("returned").unwrap(), "50");
    assert_eq!(c.text("refund_balance").unwrap(), "1000");
    assert_eq!(e.usdc_of(alice.pubkey()).await, 1_000_000_000, "the escrow is back");
    // Alice also got the executor fee and both accounts' rent back.
    assert!(e.bank().raw_account(alice.pubkey()).await.unwrap().lamports > lamports + 50_000);
    assert!(pending(&mut e, &[]).await.is_empty());
    let err = e.lt(&["cancel", &request]).await.unwrap_err().to_string();
    assert!(err.contains("not found"), "{err}");

    // A mint request cancels the same way (its token's share mint is looked up).
    e.sign_as(&alice);
    let m = e.ok(&["mint", &long, "10", "--no-wait", "--nonce", "7"]).await;
    assert_eq!(m.text("nonce").unwrap(), "7");
    let err = e.lt(&["mint", &long, "10", "--no-wait", "--nonce", "7"]).await.unwrap_err().to_string();
    assert!(err.contains("nonce 7 is in use"), "{err}");
    e.bank().advance_time(200).await;
    let c = e.ok(&["cancel", &m.text("request").unwrap()]).await;
    assert_eq!((c.text("kind").unwrap(), c.text("returned").unwrap()), ("mint".into(), "10".into()));
    assert_eq!(e.usdc_of(alice.pubkey()).await, 1_000_000_000);
}

#[tokio::test]
async fn pull_market_requests_wait_seconds_and_execute_with_the_oracle_flag() {
    let mut e = Env::new().await;
    e.ok(&["config", "init"]).await;
    let feed = [9u8; 32];
    let update = Pubkey::new_unique();
    Oracle::pull(update, feed).publish(e.bank(), 100 * USD, (USD / 20) as u64).await;
    let (upd, usdc) = (update.to_string(), e.usdc.to_string());
    let market = e.ok(&["market", "create", "--kind", "pull", "--feed-id", &"09".repeat(32), "--oracle", &upd, "--collateral-mint", &usdc]).await.text("market").unwrap();
    e.ok(&["liquidity", "deposit", &market, "100000", "--oracle", &upd]).await;
    let long = e.ok(&["token", "create", &market, "--leverage", "2"]).await.text("token").unwrap();
    // Without --oracle a waiting mint is refused before anything is sent; --no-wait needs none to execute later.
    let err = e.lt(&["mint", &long, "10", "--min-out", "0"]).await.unwrap_err().to_string();
    assert!(err.contains("pass --oracle <PriceUpdateV2 account>") && err.contains("--no-wait"), "{err}");
    let now = e.bank().clock().await.unix_timestamp;
    let m = e.ok(&["mint", &long, "10", "--min-out", "0", "--no-wait"]).await;
    assert!(m.text("price_time").unwrap().ends_with(&format!("(unix {})", now + 2)), "{:?}", m.text("price_time"));
    assert_eq!(pending(&mut e, &[]).await[0].text("stage").unwrap(), "waiting 2 s");
    let err = e.lt(&["execute", &m.text("request").unwrap()]).await.unwrap_err().to_string();
    assert!(err.contains("pass --oracle"), "{err}");
    let x = e.ok(&["execute", &m.text("request").unwrap(), "--oracle", &upd]).await;
    assert_eq!(x.text("outcome").unwrap(), "filled");
    assert_eq!(x.text("fill_price").unwrap(), "100");
    assert_eq!(e.bank().clock().await.unix_timestamp, now + 2, "the bank's clock moved to the price time");
    // Waiting (the default) on the pull market: the fixture's update for the price time fills it.
    let r = e.ok(&["redeem", &long, "all", "--oracle", &upd]).await;
    assert_eq!(r.text("outcome").unwrap(), "filled");
    assert_eq!(r.text("share_balance").unwrap(), "0");
    assert!(r.text("price_time").unwrap().ends_with(&format!("(unix {})", now + 4)));

    // An execution that cannot happen leaves the request standing, and the error says where it is.
    let usdc_account = e.usdc.to_string();
    let err = e.lt(&["mint", &long, "10", "--min-out", "0", "--oracle", &usdc_account]).await.unwrap_err();
    let msg = format!("{err:#}");
    let rows = pending(&mut e, &[]).await;
    assert_eq!(rows.len(), 1);
    let request = rows[0].text("request").unwrap();
    assert!(msg.starts_with(&format!("request {request} (nonce ")) && msg.contains("was sent and is pending") && msg.contains(&format!("oracle account {usdc_account}")), "{msg}");
    // An update published after the price time is not the one: refused, naming both times.
    e.bank().advance_time(10).await;
    Oracle::pull(update, feed).publish(e.bank(), 100 * USD, (USD / 20) as u64).await;
    let err = e.lt(&["execute", &request, "--oracle", &upd]).await.unwrap_err().to_string();
    assert!(err.contains("past the request's price time") && err.contains("--oracle <ACCOUNT>"), "{err}");
    // An account holding the update for the price time executes it.
    let target: i64 = rows[0].text("price_time").unwrap().rsplit("unix ").next().unwrap().trim_end_matches(')').parse().unwrap();
    let at_target = Pubkey::new_unique();
    let clock = e.bank().clock().await;
    Oracle::pull(at_target, feed).write(e.bank(), 100 * USD, (USD / 20) as u64, clock.slot, target, leveraged_token_harness::deployment::PriceStatus::Trading);
    let x = e.ok(&["execute", &request, "--oracle", &at_target.to_string()]).await;
    assert_eq!(x.text("outcome").unwrap(), "filled");
}
