//! The CLI library against the in-process bank (BankChain): a whole user flow
//! through the same argument parsing and command functions `lt` runs, error
//! decoding, `--simulate` leaving every byte unchanged, and bad inputs.
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
    assert_eq!(m.text("oi_cap_bps").unwrap(), "20000", "defaults fill the unset params");
    let admin_before = e.usdc_of(e.admin.pubkey()).await;
    let d = e.ok(&["liquidity", "deposit", &market, "1000000"]).await;
    assert_eq!(d.text("lp_received").unwrap(), "1000000");
    assert_eq!(d.text("quote_lp_out").unwrap(), "1000000");
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
    assert_eq!(s.text("pool_utilisation").unwrap(), "0.29%");
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
    assert_eq!(ui(&rd.text("quote_collateral_out").unwrap()), got, "the quote is exact at the same price and slot");
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
    assert!(ui(&w.text("collateral_received").unwrap()) > 999_000_000_000);
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
async fn failing_redeem_shows_the_program_error_by_name_and_changes_nothing() {
    let (mut e, market, long, alice) = deployed_for_a_user(1_000_000_000).await;
    e.ok(&["mint", &long, "100"]).await;
    let keys = watched(&mut e, &market, &long, &alice).await;
    let before = e.snapshot(&keys).await;
    let err = e.lt(&["redeem", &long, "10", "--min-out", "1000000"]).await.unwrap_err();
    let msg = err.to_string();
    println!("error: {msg}");
    assert!(msg.contains("SlippageExceeded (6002): Slippage bound exceeded: the output is below the minimum you asked for"), "{msg}");
    let f = err.downcast_ref::<TxFailed>().unwrap();
    assert!(!f.simulated);
    assert!(f.logs.iter().any(|l| l.contains("failed: custom program error: 0x1772")), "{:?}", f.logs);
    let after = e.snapshot(&keys).await;
    let n = keys.len() - 1; // the last is the signer: a failed transaction still pays its fee
    assert_eq!(after[..n], before[..n], "a failed transaction changes nothing");
    assert_eq!(before[n].as_ref().unwrap().lamports - after[n].as_ref().unwrap().lamports, 5_000, "only the signature fee");
    // Same through --simulate (in a later slot: the identical transaction under
    // the same blockhash would be refused as AlreadyProcessed, as on a cluster).
    e.warp(1).await;
    let err = e.lt(&["--simulate", "redeem", &long, "10", "--min-out", "1000000"]).await.unwrap_err();
    assert!(err.to_string().starts_with("simulation failed: SlippageExceeded"), "{err}");
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
    assert!(logs.iter().any(|l| l.contains("Instruction: Mint")), "{logs:?}");
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
