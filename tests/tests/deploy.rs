//! The declarative deploy step (`sdk::deploy`, `lt-deploy apply`) against the
//! in-process bank: a first apply creates everything, a second plans and sends
//! nothing, a one-field change becomes exactly one update, and bad files or
//! chain states are refused before anything is sent.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use leveraged_token::state::{Config, LeveragedToken, Market, OracleKind, TokenStatus};
use leveraged_token_harness::bank::Bank;
use leveraged_token_harness::deployment::{Oracle, USD};
use leveraged_token_harness::faults::{FaultyChain, Op, Schedule};
use leveraged_token_harness::BankChain;
use leveraged_token_sdk::deploy::{self, DeployAction, DeployConfig, DeployError, FieldDiff};
use leveraged_token_sdk::{defaults, MarketKeys, MarketParams, TokenKeys, TokenParams, PROGRAM_ID};
use solana_account::Account;
use solana_keypair::Keypair;
use solana_signer::Signer;

const USDC: u64 = 1_000_000;

struct Env {
    /// The bank behind a recorder that counts every send (no faults injected).
    chain: FaultyChain<BankChain>,
    admin: Keypair,
    treasury: Pubkey,
    usdc: Pubkey,
    legacy_oracle: Pubkey,
    feed_id: [u8; 32],
    pull_update: Pubkey,
}

impl Env {
    /// An empty bank (program loaded, nothing created) with a funded admin, a
    /// 6-decimal collateral mint and fresh oracle accounts of both kinds.
    async fn new() -> Self {
        let mut bank = Bank::new().await;
        let admin = bank.funded_keypair().await;
        let usdc = bank.create_mint(6).await;
        let mut env = Env {
            chain: FaultyChain::new(BankChain::new(bank), Schedule::none()),
            admin,
            treasury: Pubkey::new_unique(),
            usdc,
            legacy_oracle: Pubkey::new_unique(),
            feed_id: [0xef; 32],
            pull_update: Pubkey::new_unique(),
        };
        env.chain.probe_sends = false;
        env.publish().await;
        env
    }

    fn bank(&mut self) -> &mut Bank {
        &mut self.chain.inner.bank
    }

    /// Transactions sent so far.
    fn sent(&self) -> u64 {
        self.chain.log.calls(Op::Send)
    }

    /// Write both oracles as fresh at the bank's current slot and time.
    async fn publish(&mut self) {
        let (legacy, pull) = (Oracle::legacy(self.legacy_oracle), Oracle::pull(self.pull_update, self.feed_id));
        legacy.publish(self.bank(), 65_000 * USD, 30 * USD as u64).await;
        pull.publish(self.bank(), 150 * USD, 5_000_000).await;
    }

    /// The deploy file: a legacy BTC market with a 3x long (`long_params`
    /// goes under its `[markets.tokens.params]`) and a 1x short, and a pull SOL
    /// market with overridden market and token parameters.
    fn toml(&self, long_params: &str) -> String {
        let feed: String = self.feed_id.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            r#"
cluster = "localnet"
program_id = "{PROGRAM_ID}"
treasury = "{treasury}"

[[markets]]
name = "BTC/USD"
collateral_mint = "{mint}"
oracle_kind = "legacy"
oracle = "{legacy}"

[[markets.tokens]]
target_leverage_bps = 30000
[markets.tokens.params]
{long_params}

[[markets.tokens]]
target_leverage_bps = -10000

[[markets]]
name = "SOL/USD"
collateral_mint = "{mint}"
oracle_kind = "pull"
feed_id = "0x{feed}"
oracle = "{update}"

[markets.params]
trade_fee_bps = 8
max_age_secs = 120

[[markets.tokens]]
target_leverage_bps = 20000
[markets.tokens.params]
mint_fee_bps = 0
max_notional_per_call = 50000000000
"#,
            treasury = self.treasury,
            mint = self.usdc,
            legacy = self.legacy_oracle,
            update = self.pull_update,
        )
    }

    fn config(&self, long_params: &str) -> DeployConfig {
        DeployConfig::from_toml_str(&self.toml(long_params)).expect("parse")
    }

    fn btc(&self) -> MarketKeys {
        MarketKeys::legacy(self.legacy_oracle, self.usdc)
    }

    fn sol(&self) -> MarketKeys {
        MarketKeys::pull(self.feed_id, self.pull_update, self.usdc)
    }

    fn tokens(&self) -> [TokenKeys; 3] {
        [self.btc().token(30_000), self.btc().token(-10_000), self.sol().token(20_000)]
    }

    async fn plan(&mut self, config: &DeployConfig) -> Result<deploy::Plan, DeployError> {
        let admin = self.admin.pubkey();
        deploy::plan(&mut self.chain, config, admin).await
    }

    async fn apply(&mut self, config: &DeployConfig) -> Result<(deploy::Plan, deploy::ApplyReport), DeployError> {
        let admin = self.admin.insecure_clone();
        deploy::apply(&mut self.chain, config, &admin).await
    }

    /// Every account the deployment owns or touches, byte for byte.
    async fn snapshot(&mut self) -> Vec<Option<Account>> {
        let mut keys = vec![leveraged_token::pda::config().0, self.admin.pubkey()];
        for m in [self.btc(), self.sol()] {
            keys.extend([m.market, m.pool_vault, m.lp_mint]);
        }
        for t in self.tokens() {
            keys.extend([t.token, t.share_mint, t.vault]);
        }
        self.bank().snapshot(&keys).await
    }
}

fn kinds(plan: &deploy::Plan) -> Vec<&'static str> {
    plan.actions
        .iter()
        .map(|a| match a {
            DeployAction::InitConfig { .. } => "InitConfig",
            DeployAction::CreateMarket { .. } => "CreateMarket",
            DeployAction::ProposeMarketParams { .. } => "ProposeMarketParams",
            DeployAction::ApplyMarketParams { .. } => "ApplyMarketParams",
            DeployAction::CreateToken { .. } => "CreateToken",
            DeployAction::ProposeTokenParams { .. } => "ProposeTokenParams",
            DeployAction::ApplyTokenParams { .. } => "ApplyTokenParams",
            DeployAction::CancelProposal { .. } => "CancelProposal",
        })
        .collect()
}

fn sol_market_params() -> MarketParams {
    MarketParams { trade_fee_bps: 8, max_age_secs: 120, ..defaults::market_params() }
}

fn sol_token_params() -> TokenParams {
    TokenParams { mint_fee_bps: 0, max_notional_per_call: 50_000 * USDC, ..defaults::token_params(20_000, USDC) }
}

#[tokio::test]
async fn apply_on_an_empty_bank_creates_config_markets_and_tokens() {
    let mut env = Env::new().await;
    let config = env.config("");
    let plan = env.plan(&config).await.unwrap();
    assert_eq!(kinds(&plan), ["InitConfig", "CreateMarket", "CreateToken", "CreateToken", "CreateMarket", "CreateToken"], "{plan}");
    let text = plan.to_string();
    println!("{text}");
    assert!(text.contains("6 action(s)") && text.contains("create token BTC/USD 3x long") && text.contains("create market SOL/USD"), "{text}");

    let (_, report) = env.apply(&config).await.unwrap();
    assert_eq!(report.sent.len(), 6);
    assert_eq!(env.sent(), 6);

    let c: Config = env.bank().account(leveraged_token::pda::config().0).await;
    assert_eq!((c.admin, c.treasury, c.pending_admin, c.pause_flags, c.market_count), (env.admin.pubkey(), env.treasury, Pubkey::default(), 0, 2));

    let (btc, sol) = (env.btc(), env.sol());
    let m: Market = env.bank().account(btc.market).await;
    assert_eq!((m.oracle_kind, m.oracle_id, m.collateral_mint, m.collateral_decimals, m.token_count), (OracleKind::PythLegacy, env.legacy_oracle.to_bytes(), env.usdc, 6, 2));
    assert_eq!(m.params, defaults::market_params());
    let m: Market = env.bank().account(sol.market).await;
    assert_eq!((m.oracle_kind, m.oracle_id, m.token_count), (OracleKind::PythPull, env.feed_id, 1));
    assert_eq!(m.params, sol_market_params());
    assert_eq!(env.bank().supply(sol.lp_mint).await, 0);

    let want = [(30_000, defaults::token_params(30_000, USDC)), (-10_000, defaults::token_params(-10_000, USDC)), (20_000, sol_token_params())];
    for (t, (target, params)) in env.tokens().into_iter().zip(want) {
        let tok: LeveragedToken = env.bank().account(t.token).await;
        assert_eq!((tok.target_leverage_bps, tok.status, tok.share_mint, tok.vault, tok.params), (target, TokenStatus::Active, t.share_mint, t.vault, params));
        let mint = spl_token::state::Mint::unpack(&env.bank().raw_account(t.share_mint).await.unwrap().data).unwrap();
        assert_eq!((mint.decimals, mint.supply, mint.mint_authority.unwrap()), (6, 0, t.token));
    }
    // The default keeper reward is one unit of the collateral (read from the mint's decimals).
    assert_eq!(defaults::token_params(30_000, USDC).keeper_reward, USDC);
}

#[tokio::test]
async fn a_second_run_plans_nothing_and_sends_nothing() {
    let mut env = Env::new().await;
    let config = env.config("");
    env.apply(&config).await.unwrap();
    let sent = env.sent();
    let before = env.snapshot().await;
    // The oracles may go stale meanwhile: existing markets need no oracle.
    env.bank().warp(10_000).await;

    let plan = env.plan(&config).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    assert!(plan.to_string().contains("nothing to do"));
    let (plan, report) = env.apply(&config).await.unwrap();
    assert!(plan.is_empty() && report.sent.is_empty());
    assert_eq!(env.sent(), sent, "a second apply sent a transaction");
    assert_eq!(env.snapshot().await, before, "a second apply changed an account");
}

#[tokio::test]
async fn changing_one_token_param_is_one_proposal_then_after_the_delay_one_apply_with_its_diff() {
    let mut env = Env::new().await;
    env.apply(&env.config("")).await.unwrap();
    let sent = env.sent();

    let changed = env.config("mint_fee_bps = 25");
    let plan = env.plan(&changed).await.unwrap();
    let long = env.btc().token(30_000);
    let want = TokenParams { mint_fee_bps: 25, ..defaults::token_params(30_000, USDC) };
    assert_eq!(
        plan.actions,
        [DeployAction::ProposeTokenParams { label: "BTC/USD 3x long".into(), token: long.token, params: want, diff: vec![FieldDiff { field: "mint_fee_bps", old: "10".into(), new: "25".into() }] }]
    );
    assert!(plan.to_string().contains("mint_fee_bps: 10 -> 25"), "{plan}");
    // The proposal lands; the parameters are unchanged during the delay and the plan waits.
    let (_, report) = env.apply(&changed).await.unwrap();
    assert_eq!((report.sent.len(), env.sent()), (1, sent + 1));
    let tok: LeveragedToken = env.bank().account(long.token).await;
    assert_eq!(tok.params, defaults::token_params(30_000, USDC));
    let plan = env.plan(&changed).await.unwrap();
    assert!(plan.actions.is_empty() && plan.pending.len() == 1, "{plan}");
    assert_eq!(plan.pending[0].due_in_secs, 86_400);
    assert!(plan.to_string().contains("pending: BTC/USD 3x long") && plan.to_string().contains("mint_fee_bps: 10 -> 25"), "{plan}");
    let (_, report) = env.apply(&changed).await.unwrap();
    assert!(report.sent.is_empty(), "nothing is sent while the change waits");
    env.bank().advance_time(86_400).await;
    let sent = env.sent();
    let plan = env.plan(&changed).await.unwrap();
    assert_eq!(kinds(&plan), ["ApplyTokenParams"], "{plan}");

    let others: Vec<Option<Account>> = {
        // (The token's own market changes: the apply settles the token, which accrues it.)
        let keys = [env.btc().token(-10_000).token, env.sol().token(20_000).token, env.sol().market];
        env.bank().snapshot(&keys).await
    };
    let (_, report) = env.apply(&changed).await.unwrap();
    assert_eq!((report.sent.len(), env.sent()), (1, sent + 1));
    let tok: LeveragedToken = env.bank().account(long.token).await;
    assert_eq!(tok.params, want);
    let keys = [env.btc().token(-10_000).token, env.sol().token(20_000).token, env.sol().market];
    assert_eq!(env.bank().snapshot(&keys).await, others, "only the changed token (and its market) may change");
    assert!(env.plan(&changed).await.unwrap().is_empty());

    // Dropping the override returns the field to its default: one proposal back.
    let plan = env.plan(&env.config("")).await.unwrap();
    assert_eq!(kinds(&plan), ["ProposeTokenParams"]);
    // A pending change the file no longer wants is cancelled (and the file's proposed).
    env.apply(&env.config("")).await.unwrap();
    let plan = env.plan(&env.config("mint_fee_bps = 30")).await.unwrap();
    assert_eq!(kinds(&plan), ["CancelProposal", "ProposeTokenParams"], "{plan}");
}

/// Every field of the SDK's one field list, changed alone in the deploy file
/// (to its default ± 1, whichever the program's `validate` accepts), is
/// planned as exactly one update naming that field: no field can be left out
/// of `lt-deploy`'s diff.
#[tokio::test]
async fn every_param_field_changed_alone_is_planned_as_one_update_naming_it() {
    use leveraged_token_sdk::params::{market_param_values, token_param_values, MarketParamsSpec, TokenParamsSpec};
    let mut env = Env::new().await;
    env.apply(&env.config("")).await.unwrap();
    let long = env.btc().token(30_000);
    let mut reported = Vec::new();
    for (field, v) in token_param_values(&defaults::token_params(30_000, USDC)) {
        for cand in [v + 1, v - 1] {
            let Ok(plan) = env.plan(&env.config(&format!("{field} = {cand}"))).await else { continue };
            match plan.actions.as_slice() {
                [DeployAction::ProposeTokenParams { token, diff, .. }] => {
                    assert_eq!(*token, long.token, "{field}");
                    assert_eq!(diff, &[FieldDiff { field, old: v.to_string(), new: cand.to_string() }]);
                }
                other => panic!("{field} = {cand}: expected one token update, got {other:?}"),
            }
            reported.push(field);
            break;
        }
    }
    assert_eq!(reported, TokenParamsSpec::FIELDS, "every token field, each reported");

    let btc_oracle = format!("oracle = \"{}\"\n", env.legacy_oracle);
    let mut reported = Vec::new();
    for (field, v) in market_param_values(&defaults::market_params()) {
        for cand in [v + 1, v - 1] {
            let text = env.toml("").replacen(&btc_oracle, &format!("{btc_oracle}\n[markets.params]\n{field} = {cand}\n"), 1);
            let Ok(plan) = env.plan(&DeployConfig::from_toml_str(&text).unwrap()).await else { continue };
            match plan.actions.as_slice() {
                [DeployAction::ProposeMarketParams { market, diff, .. }] => {
                    assert_eq!(*market, env.btc().market, "{field}");
                    assert_eq!(diff, &[FieldDiff { field, old: v.to_string(), new: cand.to_string() }]);
                }
                other => panic!("{field} = {cand}: expected one market update, got {other:?}"),
            }
            reported.push(field);
            break;
        }
    }
    assert_eq!(reported, MarketParamsSpec::FIELDS, "every market field, each reported");
}

#[tokio::test]
async fn changing_a_market_param_is_one_market_proposal_applied_after_the_delay() {
    let mut env = Env::new().await;
    env.apply(&env.config("")).await.unwrap();
    let text = env.toml("").replace("trade_fee_bps = 8", "trade_fee_bps = 9");
    let plan = env.plan(&DeployConfig::from_toml_str(&text).unwrap()).await.unwrap();
    match plan.actions.as_slice() {
        [DeployAction::ProposeMarketParams { market, diff, .. }] => {
            assert_eq!(*market, env.sol().market);
            assert_eq!(diff, &[FieldDiff { field: "trade_fee_bps", old: "8".into(), new: "9".into() }]);
        }
        other => panic!("expected one market proposal, got {other:?}"),
    }
    env.apply(&DeployConfig::from_toml_str(&text).unwrap()).await.unwrap();
    let sol = env.sol().market;
    let m: Market = env.bank().account(sol).await;
    assert_eq!(m.params.trade_fee_bps, 8, "unchanged during the delay");
    env.bank().advance_time(86_400).await;
    let (plan, _) = env.apply(&DeployConfig::from_toml_str(&text).unwrap()).await.unwrap();
    assert_eq!(kinds(&plan), ["ApplyMarketParams"], "{plan}");
    let sol = env.sol().market;
    let m: Market = env.bank().account(sol).await;
    assert_eq!(m.params.trade_fee_bps, 9);
}

#[tokio::test]
async fn a_half_finished_deployment_is_completed_by_the_next_run() {
    let mut env = Env::new().await;
    // First run: only the BTC market with its short.
    let full = env.toml("");
    let partial = full.split("[[markets]]\nname = \"SOL/USD\"").next().unwrap().replace("target_leverage_bps = 30000\n[markets.tokens.params]\n\n\n[[markets.tokens]]\n", "");
    let partial = DeployConfig::from_toml_str(&partial).unwrap();
    assert_eq!(partial.markets.len(), 1);
    assert_eq!(partial.markets[0].tokens.len(), 1);
    env.apply(&partial).await.unwrap();
    env.publish().await;
    let plan = env.plan(&env.config("")).await.unwrap();
    assert_eq!(kinds(&plan), ["CreateToken", "CreateMarket", "CreateToken"], "{plan}");
    env.apply(&env.config("")).await.unwrap();
    assert!(env.plan(&env.config("")).await.unwrap().is_empty());
}

#[tokio::test]
async fn placeholders_bad_files_and_conflicting_chains_are_refused_before_sending() {
    let mut env = Env::new().await;

    // A placeholder oracle address: refused with the field named.
    let text = env.toml("").replace(&env.legacy_oracle.to_string(), "FILL_IN_PYTH_PRICE_ACCOUNT");
    let e = env.plan(&DeployConfig::from_toml_str(&text).unwrap()).await.unwrap_err();
    assert!(matches!(&e, DeployError::Config(m) if m.contains("markets[0] (BTC/USD).oracle is still the placeholder \"FILL_IN_PYTH_PRICE_ACCOUNT\"")), "{e}");

    // A typo in a parameter name is an error, not a silent default.
    let e = DeployConfig::from_toml_str(&env.toml("mint_fee = 25")).unwrap_err();
    assert!(e.to_string().contains("unknown field `mint_fee`"), "{e}");

    // Parameters the program's validate() refuses.
    let e = env.plan(&env.config("band_max_bps = 29000")).await.unwrap_err();
    assert!(matches!(&e, DeployError::Config(m) if m.contains("markets[0] (BTC/USD).tokens[0].params: TokenParams::validate refuses")), "{e}");

    // A file for another program id.
    let text = env.toml("").replace(&PROGRAM_ID.to_string(), &Pubkey::new_unique().to_string());
    let e = env.plan(&DeployConfig::from_toml_str(&text).unwrap()).await.unwrap_err();
    assert!(e.to_string().contains("this build of the SDK targets"), "{e}");

    // A stale oracle: create_market would fail, so the plan refuses first.
    env.bank().warp(100).await;
    let e = env.plan(&env.config("")).await.unwrap_err();
    println!("{e}");
    assert!(matches!(&e, DeployError::State(m) if m.contains("create_market would refuse oracle") && m.contains("OracleStale")), "{e}");
    assert_eq!(env.sent(), 0);

    // A config made by someone else: another admin cannot change anything.
    env.publish().await;
    env.apply(&env.config("")).await.unwrap();
    let intruder = env.bank().funded_keypair().await;
    let changed = env.config("mint_fee_bps = 25");
    let e = deploy::plan(&mut env.chain, &changed, intruder.pubkey()).await.unwrap_err();
    assert!(e.to_string().contains("config admin is") && e.to_string().contains("only the admin"), "{e}");

    // A different treasury cannot be applied: the program cannot change it.
    let text = env.toml("").replace(&env.treasury.to_string(), &Pubkey::new_unique().to_string());
    let e = env.plan(&DeployConfig::from_toml_str(&text).unwrap()).await.unwrap_err();
    assert!(e.to_string().contains("no instruction to change the treasury"), "{e}");
    assert_eq!(env.sent(), 6, "only the one good apply sent transactions");
}

#[tokio::test]
async fn a_missing_collateral_mint_is_reported() {
    let mut env = Env::new().await;
    let text = env.toml("").replace(&env.usdc.to_string(), &Pubkey::new_unique().to_string());
    let e = env.plan(&DeployConfig::from_toml_str(&text).unwrap()).await.unwrap_err();
    assert!(e.to_string().contains("collateral mint") && e.to_string().contains("does not exist"), "{e}");
}

/// The committed files parse; localnet resolves, devnet stops at its placeholder.
#[test]
fn the_committed_migration_files_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let local = DeployConfig::load(&dir.join("localnet.toml")).unwrap();
    let desired = local.resolve(Pubkey::new_unique()).unwrap();
    assert!(!desired.markets.is_empty() && desired.markets.iter().all(|m| !m.tokens.is_empty()));
    assert_eq!(local.default_url().as_deref(), Some("http://127.0.0.1:8899"));

    let devnet = DeployConfig::load(&dir.join("devnet.toml")).unwrap();
    assert_eq!(devnet.default_url().as_deref(), Some("https://api.devnet.solana.com"));
    match devnet.resolve(Pubkey::new_unique()) {
        Err(DeployError::Config(m)) => assert!(m.contains("treasury is still the placeholder"), "{m}"),
        other => panic!("devnet.toml should stop at its treasury placeholder, got {other:?}"),
    }
    let filled = std::fs::read_to_string(dir.join("devnet.toml")).unwrap().replace("FILL_IN_TREASURY_PUBKEY", &Pubkey::new_unique().to_string());
    let desired = DeployConfig::from_toml_str(&filled).unwrap().resolve(Pubkey::new_unique()).unwrap();
    assert!(!desired.markets.is_empty());
}

/// A collateral mint with a freeze authority (USDC has one) is created only
/// when the file names that authority: the plan refuses before sending
/// anything and says what to write; named, the market stores it.
#[tokio::test]
async fn a_collateral_mint_with_a_freeze_authority_needs_it_named_in_the_file() {
    let mut env = Env::new().await;
    let issuer = Pubkey::new_unique();
    let frozen = env.bank().create_mint_with_freeze_authority(6, issuer).await;
    let text = env.toml("").replace(&env.usdc.to_string(), &frozen.to_string());
    let err = env.plan(&DeployConfig::from_toml_str(&text).unwrap()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("trusted_freeze_authority = \"{issuer}\"")), "{msg}");
    assert_eq!(env.sent(), 0);
    let named = text
        .replace("oracle_kind = \"legacy\"", &format!("oracle_kind = \"legacy\"\ntrusted_freeze_authority = \"{issuer}\""))
        .replace("oracle_kind = \"pull\"", &format!("oracle_kind = \"pull\"\ntrusted_freeze_authority = \"{issuer}\""));
    env.apply(&DeployConfig::from_toml_str(&named).unwrap()).await.unwrap();
    let key = MarketKeys::legacy(env.legacy_oracle, frozen).market;
    let m: Market = env.bank().account(key).await;
    assert_eq!((m.collateral_mint, m.trusted_freeze_authority), (frozen, issuer));
}
