//! The command logic, generic over [`Chain`] so the whole CLI runs against the
//! in-process bank in tests. Each function takes parsed arguments and returns
//! a [`Report`]; nothing here prints.

pub mod admin;
pub mod market;
pub mod requests;
pub mod trade;
pub mod view;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{anyhow, bail, Result};
use leveraged_token::errors::ErrorCode;
use leveraged_token::math::pool::Side;
use leveraged_token::math::price::NormalizedPrice;
use leveraged_token::math::PRICE_SCALE;
use leveraged_token::settlement::market_pool_value;
use leveraged_token::state::{Config, LeveragedToken, Market, OracleKind};
use leveraged_token_sdk::chain::Chain;
use leveraged_token_sdk::decide::TokenView;
use leveraged_token_sdk::{MarketKeys, TokenKeys};
use solana_account::Account;

use crate::amount::{format_fixed, format_ui_amount, UiAmount};
use crate::args::*;
use crate::client::{ata, create_ata_ix, decode_mint, decode_program_account, token_amount, Client, Executed};
use crate::oracle::{read_oracle, OracleReading};
use crate::pace::Pace;
use crate::report::{Report, Value};
use anchor_lang::prelude::Clock;
use anchor_lang::solana_program::sysvar::SysvarId;
use leveraged_token_sdk::chain::decode_clock;

/// Run one chain command.
pub async fn run<C: Pace>(c: &mut Client<C>, cmd: ChainCommand) -> Result<Report> {
    match cmd {
        ChainCommand::Config(ConfigCmd::Init { treasury, param_delay_secs }) => admin::config_init(c, treasury, param_delay_secs).await,
        ChainCommand::Params(ParamsCmd::Show { target }) => admin::params_show(c, target).await,
        ChainCommand::Params(ParamsCmd::Apply { target, oracle }) => admin::params_apply(c, target, oracle.oracle).await,
        ChainCommand::Params(ParamsCmd::Cancel { target }) => admin::params_cancel(c, target).await,
        ChainCommand::Config(ConfigCmd::Show) => admin::config_show(c).await,
        ChainCommand::Config(ConfigCmd::ProposeAdmin { new_admin }) => admin::propose_admin(c, new_admin).await,
        ChainCommand::Config(ConfigCmd::AcceptAdmin) => admin::accept_admin(c).await,
        ChainCommand::Pause(scope) => admin::set_pause(c, &scope, true).await,
        ChainCommand::Unpause(scope) => admin::set_pause(c, &scope, false).await,
        ChainCommand::Market(MarketCmd::Create(a)) => market::market_create(c, &a).await,
        ChainCommand::Market(MarketCmd::Params { market, params }) => market::market_params(c, market, &params).await,
        ChainCommand::Liquidity(LiquidityCmd::Deposit { market, amount, min_lp_out, slippage, oracle, request }) => {
            market::deposit(c, market, &amount, min_lp_out.as_ref(), slippage.slippage_bps, oracle.oracle, &request).await
        }
        ChainCommand::Liquidity(LiquidityCmd::Withdraw { market, lp_amount, min_out, slippage, oracle, request }) => {
            market::withdraw(c, market, &lp_amount, min_out.as_ref(), slippage.slippage_bps, oracle.oracle, &request).await
        }
        ChainCommand::Token(TokenCmd::Create(a)) => market::token_create(c, &a).await,
        ChainCommand::Token(TokenCmd::Params { token, params }) => market::token_params(c, token, &params).await,
        ChainCommand::Mint(a) => trade::mint(c, &a).await,
        ChainCommand::Redeem(a) => trade::redeem(c, &a).await,
        ChainCommand::Requests(a) => requests::list(c, a.owner).await,
        ChainCommand::Execute(a) => requests::execute(c, a.request, a.oracle.oracle).await,
        ChainCommand::Cancel(a) => requests::cancel(c, a.request).await,
        ChainCommand::Rebalance(a) => trade::rebalance(c, &a).await,
        ChainCommand::CollectFees(a) => trade::collect_fees(c, a.token).await,
        ChainCommand::Status(a) => view::status(c, a.token, a.oracle.oracle).await,
        ChainCommand::List => view::list(c).await,
    }
}

/// `Name (code): message` of a program error.
pub fn describe(code: ErrorCode) -> String {
    format!("{} ({}): {}", code.name(), u32::from(code), code)
}

/// The market's keys; a pull market needs the price-update account from `--oracle`.
pub fn market_keys(market: &Market, oracle: Option<Pubkey>) -> Result<MarketKeys> {
    if market.oracle_kind == OracleKind::PythPull && oracle.is_none() {
        bail!("this market reads a Pyth pull feed: pass --oracle <PriceUpdateV2 account> with a current update of feed {}", hex(&market.oracle_id));
    }
    Ok(MarketKeys::from_market(market, oracle))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Price as collateral UI units per whole base unit.
pub fn ui_price(p: u128, decimals: u8) -> String {
    format_fixed(p / PRICE_SCALE, u32::from(decimals))
}

/// A market as fetched, with its pool, oracle and clock.
pub struct MarketState {
    pub key: Pubkey,
    pub market: Market,
    pub keys: MarketKeys,
    pub config: Option<Config>,
    pub pool_amount: u64,
    pub lp_supply: u64,
    pub clock: Clock,
    pub oracle: Result<OracleReading, String>,
    /// The caller's collateral and LP associated token accounts (when a user was given).
    pub user_collateral: Option<(Pubkey, Option<u64>)>,
    pub user_lp: Option<(Pubkey, Option<u64>)>,
    /// Every token of the market with its vault's balance: the pool's value
    /// counts each token's position, its loss at most what its vault holds.
    pub tokens: Vec<MarketToken>,
}

/// A token of a market, as its pool valuation and an LP request's
/// execution need it.
#[derive(Debug, Clone)]
pub struct MarketToken {
    pub keys: TokenKeys,
    pub token: LeveragedToken,
    pub vault_amount: u64,
}

/// The pool's value by the program's own rule (`settlement::market_pool_value`):
/// LP cash plus each token's settlement at `price` (`side` of its
/// confidence), funding and borrow accrued to unix time `now`.
pub fn pool_value_of(market: &Market, tokens: &[MarketToken], pool_amount: u64, price: &NormalizedPrice, side: Side, now: i64) -> Result<u128> {
    let refs: Vec<(&LeveragedToken, u64)> = tokens.iter().map(|t| (&t.token, t.vault_amount)).collect();
    market_pool_value(market, &refs, pool_amount, price, side, now).map_err(|e| anyhow!("pool value: {e:?}"))
}

/// Every token of the market `keys` (a scan of the program's token
/// accounts) with its vault's balance. Fails unless it finds as many as the
/// market counts: an LP request's execution needs them all.
pub async fn load_market_tokens<C: Chain>(c: &mut Client<C>, keys: &MarketKeys, market: &Market) -> Result<Vec<MarketToken>> {
    use anchor_lang::{AccountDeserialize, Discriminator};
    let found = c.chain.program_accounts(&leveraged_token::ID, LeveragedToken::DISCRIMINATOR).await?;
    let mut tokens: Vec<(TokenKeys, LeveragedToken)> = Vec::new();
    for (key, acc) in found {
        let Ok(t) = LeveragedToken::try_deserialize(&mut &acc.data[..]) else { continue };
        if t.market != keys.market {
            continue;
        }
        let k = TokenKeys::from_token(*keys, &t);
        if k.token != key {
            bail!("token {key} does not sit at its own address (expected {}): refusing to use it", k.token);
        }
        tokens.push((k, t));
    }
    tokens.sort_by_key(|(_, t)| t.target_leverage_bps);
    if tokens.len() != market.token_count as usize {
        bail!("market {} counts {} tokens but {} were found", keys.market, market.token_count, tokens.len());
    }
    let vaults: Vec<Pubkey> = tokens.iter().map(|(k, _)| k.vault).collect();
    let got = c.fetch(&vaults).await?;
    tokens
        .into_iter()
        .zip(got)
        .map(|((keys, token), acc)| {
            let vault_amount = token_amount(acc.as_ref())?.ok_or_else(|| anyhow!("token vault {} missing", keys.vault))?;
            Ok(MarketToken { keys, token, vault_amount })
        })
        .collect()
}

/// A token as fetched, with its market, vault, pool, share supply, oracle and clock.
pub struct TokenState {
    pub key: Pubkey,
    pub keys: TokenKeys,
    pub market: Market,
    pub token: LeveragedToken,
    pub config: Option<Config>,
    pub vault_amount: u64,
    pub pool_amount: u64,
    pub share_supply: u64,
    pub clock: Clock,
    pub oracle: Result<OracleReading, String>,
    /// The caller's collateral and share associated token accounts (when a user was given).
    pub user_collateral: Option<(Pubkey, Option<u64>)>,
    pub user_shares: Option<(Pubkey, Option<u64>)>,
}

fn oracle_result(market: &Market, key: &Pubkey, acc: Option<&Account>, clock: &Clock, pull_without_account: bool) -> Result<OracleReading, String> {
    if pull_without_account {
        return Err("pull market: pass --oracle <PriceUpdateV2 account> to read its price".into());
    }
    read_oracle(market, key, acc, clock).map_err(|e| format!("oracle {key}: {}", describe(e)))
}

/// The price a transaction can be quoted at; `None` (in `--simulate`) when
/// the program would refuse the oracle, so the simulation shows why.
pub fn usable_price(oracle: &Result<OracleReading, String>, simulate: bool) -> Result<Option<NormalizedPrice>> {
    let problem = match oracle {
        Ok(r) => match r.problem {
            None => return Ok(Some(r.price)),
            Some(p) => describe(p),
        },
        Err(e) => e.clone(),
    };
    if simulate {
        Ok(None)
    } else {
        Err(anyhow!("{problem}; the program would refuse this transaction (--simulate shows its logs)"))
    }
}

impl TokenState {
    pub fn decimals(&self) -> u8 {
        self.market.collateral_decimals
    }

    pub fn view(&self) -> TokenView {
        TokenView { market: self.market.clone(), token: self.token.clone(), vault_amount: self.vault_amount, pool_amount: self.pool_amount, share_supply: self.share_supply }
    }

    pub fn amount(&self, units: u64) -> String {
        format_ui_amount(units, self.decimals())
    }
}

impl MarketState {
    pub fn decimals(&self) -> u8 {
        self.market.collateral_decimals
    }

    /// The pool's value at `price` (`side` of its confidence), accrued to unix time `now`.
    pub fn pool_value(&self, price: &NormalizedPrice, side: Side, now: i64) -> Result<u128> {
        pool_value_of(&self.market, &self.tokens, self.pool_amount, price, side, now)
    }
}

/// Fetch a token and everything a quote, a status or a transaction needs, in
/// three round trips; `user` adds that user's collateral and share ATAs.
pub async fn load_token<C: Chain>(c: &mut Client<C>, token_key: Pubkey, oracle: Option<Pubkey>, user: Option<Pubkey>) -> Result<TokenState> {
    let endpoint = c.endpoint();
    let token: LeveragedToken = c.token(token_key).await?;
    let market: Market = c.market(token.market).await?;
    let mkeys = MarketKeys::from_market(&market, oracle);
    let keys = TokenKeys::from_token(mkeys, &token);
    if keys.token != token_key {
        bail!("token {token_key} does not sit at its own address (expected {}): refusing to use it", keys.token);
    }
    let f = fetch_with_oracle(c, &market, &[keys.vault, mkeys.pool_vault, keys.share_mint], oracle, user, keys.share_mint, |got| {
        let vault_amount = token_amount(got[0].as_ref())?.ok_or_else(|| anyhow!("token vault {} missing", keys.vault))?;
        let pool_amount = token_amount(got[1].as_ref())?.ok_or_else(|| anyhow!("pool vault {} missing", mkeys.pool_vault))?;
        let share_supply = decode_mint(&keys.share_mint, got[2].as_ref(), &endpoint)?.supply;
        Ok((vault_amount, pool_amount, share_supply))
    })
    .await?;
    let (vault_amount, pool_amount, share_supply) = f.decoded;
    let (user_collateral, user_shares) = f.user_atas;
    Ok(TokenState { key: token_key, keys, market, token, config: f.config, vault_amount, pool_amount, share_supply, clock: f.clock, oracle: f.oracle, user_collateral, user_shares })
}

/// Fetch a market with its pool, LP mint, oracle and clock; `user` adds that
/// user's collateral and LP ATAs.
pub async fn load_market<C: Chain>(c: &mut Client<C>, market_key: Pubkey, oracle: Option<Pubkey>, user: Option<Pubkey>) -> Result<MarketState> {
    let endpoint = c.endpoint();
    let market: Market = c.market(market_key).await?;
    let keys = MarketKeys::from_market(&market, oracle);
    if keys.market != market_key {
        bail!("market {market_key} does not sit at its own address (expected {})", keys.market);
    }
    let f = fetch_with_oracle(c, &market, &[keys.pool_vault, keys.lp_mint], oracle, user, keys.lp_mint, |got| {
        let pool_amount = token_amount(got[0].as_ref())?.ok_or_else(|| anyhow!("pool vault {} missing", keys.pool_vault))?;
        let lp_supply = decode_mint(&keys.lp_mint, got[1].as_ref(), &endpoint)?.supply;
        Ok((pool_amount, lp_supply))
    })
    .await?;
    let (pool_amount, lp_supply) = f.decoded;
    let (user_collateral, user_lp) = f.user_atas;
    let tokens = load_market_tokens(c, &keys, &market).await?;
    Ok(MarketState { key: market_key, market, keys, config: f.config, pool_amount, lp_supply, clock: f.clock, oracle: f.oracle, user_collateral, user_lp, tokens })
}

/// What [`load_token`] and [`load_market`] read in one `getMultipleAccounts`
/// besides the token or market itself.
struct Fetched<T> {
    config: Option<Config>,
    /// The accounts asked for, as `decode` made them.
    decoded: T,
    clock: Clock,
    oracle: Result<OracleReading, String>,
    /// The user's collateral ATA and ATA of `user_mint`, with their balances.
    user_atas: (Option<(Pubkey, Option<u64>)>, Option<(Pubkey, Option<u64>)>),
}

/// Fetch, in one round trip, the config, `accounts` (handed to `decode`), the
/// market's oracle (a pull market's from `oracle`), the clock (a second round
/// trip if the sysvar is not served) and, for `user`, its ATAs of the market's
/// collateral and of `user_mint`.
async fn fetch_with_oracle<C: Chain, T>(
    c: &mut Client<C>,
    market: &Market,
    accounts: &[Pubkey],
    oracle: Option<Pubkey>,
    user: Option<Pubkey>,
    user_mint: Pubkey,
    decode: impl FnOnce(&[Option<Account>]) -> Result<T>,
) -> Result<Fetched<T>> {
    let endpoint = c.endpoint();
    let pull_without_account = market.oracle_kind == OracleKind::PythPull && oracle.is_none();
    let oracle_key = MarketKeys::from_market(market, oracle).oracle;
    let config_key = leveraged_token::pda::config().0;
    let n = accounts.len();
    let mut want = vec![config_key];
    want.extend_from_slice(accounts);
    want.extend([oracle_key, Clock::id()]);
    let user_atas = user.map(|u| (ata(&u, &market.collateral_mint), ata(&u, &user_mint)));
    if let Some((a, b)) = user_atas {
        want.extend([a, b]);
    }
    let got = c.fetch(&want).await?;
    let config = got[0].as_ref().and_then(|a| decode_program_account::<Config>(&config_key, Some(a), "config", &endpoint).ok());
    let decoded = decode(&got[1..=n])?;
    let clock = match got[n + 2].as_ref().and_then(|a| decode_clock(&a.data)) {
        Some(c) => c,
        None => c.clock().await?,
    };
    let oracle = oracle_result(market, &oracle_key, got[n + 1].as_ref(), &clock, pull_without_account);
    let user_atas = match user_atas {
        Some((a, b)) => (Some((a, token_amount(got[n + 3].as_ref())?)), Some((b, token_amount(got[n + 4].as_ref())?))),
        None => (None, None),
    };
    Ok(Fetched { config, decoded, clock, oracle, user_atas })
}

/// The price to quote a request's default minimum output at: `None` in
/// `--simulate` or when `--min-out` is given and the oracle cannot be read
/// now (the request executes at its own price time's update, not this one).
pub fn quote_price(oracle: &Result<OracleReading, String>, simulate: bool, min_out_given: bool) -> Result<Option<NormalizedPrice>> {
    match usable_price(oracle, true)? {
        Some(p) => Ok(Some(p)),
        None if simulate || min_out_given => Ok(None),
        None => {
            let problem = match oracle {
                Ok(r) => r.problem.map(describe).unwrap_or_default(),
                Err(e) => e.clone(),
            };
            Err(anyhow!("{problem}: no current price to quote the least output at; pass --min-out (the request executes at the oracle update for its price time)"))
        }
    }
}

/// `quote × (1 − slippage)`, rounded down.
pub fn less_slippage(quote: u64, slippage_bps: u16) -> u64 {
    (u128::from(quote) * u128::from(10_000u16.saturating_sub(slippage_bps)) / 10_000) as u64
}

/// The units `amount` (UI units or `all`) comes to, out of the `balance` that
/// `account` holds: refused as the program would (ZeroAmount) when nothing,
/// and as `insufficient {what}` when more than the balance.
pub fn spend(amount: &UiAmount, decimals: u8, balance: u64, account: Pubkey, what: &str, action: &str) -> Result<u64> {
    let units = amount.resolve(decimals, balance)?;
    if units == 0 {
        bail!("{}", describe(ErrorCode::ZeroAmount));
    }
    if units > balance {
        bail!("insufficient {what}: {account} holds {}, the {action} needs {}", format_ui_amount(balance, decimals), format_ui_amount(units, decimals));
    }
    Ok(units)
}

/// The least output to accept: `--min-out` as given, else the quote less the
/// slippage (0 when there is no quote).
pub fn min_out(given: Option<&UiAmount>, decimals: u8, quote: Option<u64>, slippage_bps: u16) -> Result<u64> {
    Ok(match given {
        Some(m) => m.exact(decimals)?,
        None => quote.map(|q| less_slippage(q, slippage_bps)).unwrap_or(0),
    })
}

/// Execute `ix` signed by `user`, first creating the user's associated token
/// account of `mint` (the one `ix` pays into) when it does not exist yet.
pub async fn execute_creating_ata<C: Chain>(c: &mut Client<C>, missing: bool, user: Pubkey, mint: &Pubkey, ix: Instruction) -> Result<Executed> {
    let mut ixs = Vec::new();
    if missing {
        ixs.push(create_ata_ix(&user, &user, mint));
    }
    ixs.push(ix);
    c.execute(ixs, &[]).await
}

/// The transaction part of a report.
pub fn tx_fields(r: &mut Report, e: &Executed) {
    r.push("simulated", e.simulated);
    if e.simulated {
        r.push("units_consumed", e.units_consumed);
        r.push("logs", Value::Lines(e.logs.clone()));
    } else {
        r.push("signature", e.signature.clone());
    }
}
