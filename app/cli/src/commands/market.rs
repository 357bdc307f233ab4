//! `market create|params`, `liquidity deposit|withdraw` (requests, quoted
//! with the program's pool math and LP fee: [`super::requests`]), `token create|params`.

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, bail, Context, Result};
use leveraged_token::collateral::{check_collateral, CollateralIssue};
use leveraged_token::math::pool::{quote_lp_deposit, quote_lp_withdrawal, Side};
use leveraged_token::state::{OracleKind, RequestKind};
use leveraged_token_sdk::chain::Chain;
use leveraged_token_sdk::{defaults, ix, MarketKeys};

use super::requests::{price_time_unix, submit, Ask};
use super::{describe, hex, load_market, quote_price, spend, tx_fields, MarketState};
use crate::amount::{format_leverage, format_ui_amount, parse_leverage, UiAmount};
use crate::args::{MarketCreateArgs, MarketParamFlags, OracleKindArg, RequestFlags, TokenCreateArgs, TokenParamFlags};
use crate::client::{decode_mint, Client};
use crate::pace::Pace;
use crate::report::Report;

/// Parse a 32-byte feed id from 64 hex characters (optional 0x).
pub fn parse_feed_id(s: &str) -> Result<[u8; 32]> {
    let t = s.trim().trim_start_matches("0x");
    if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--feed-id must be 64 hex characters, got {s:?}");
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&t[2 * i..2 * i + 2], 16)?;
    }
    Ok(out)
}

pub async fn market_create<C: Chain>(c: &mut Client<C>, a: &MarketCreateArgs) -> Result<Report> {
    let admin = c.signer_key()?;
    let endpoint = c.endpoint();
    let mint = decode_mint(&a.collateral_mint, c.fetch_one(a.collateral_mint).await?.as_ref(), &endpoint).context("--collateral-mint")?;
    let (keys, kind) = match a.kind {
        OracleKindArg::Legacy => {
            if a.feed_id.is_some() {
                bail!("--feed-id is for --kind pull; a legacy market is keyed by its --oracle price account");
            }
            (MarketKeys::legacy(a.oracle, a.collateral_mint), OracleKind::PythLegacy)
        }
        OracleKindArg::Pull => {
            let feed = parse_feed_id(a.feed_id.as_deref().ok_or_else(|| anyhow!("--kind pull needs --feed-id <64 hex characters>"))?)?;
            (MarketKeys::pull(feed, a.oracle, a.collateral_mint), OracleKind::PythPull)
        }
    };
    if c.fetch_one(keys.market).await?.is_some() {
        bail!("market {} already exists for this oracle and collateral mint", keys.market);
    }
    if c.fetch_one(a.oracle).await?.is_none() {
        bail!("oracle account {} not found on {endpoint}", a.oracle);
    }
    let params = a.params.apply(defaults::market_params(), mint.decimals)?;
    // The program's own collateral rule, checked before anything is sent.
    match check_collateral(mint.decimals, mint.freeze_authority.into(), a.trusted_freeze_authority) {
        Ok(_) => {}
        Err(CollateralIssue::FreezeAuthorityNotAccepted { authority: f, .. }) => {
            bail!("collateral mint {} has freeze authority {f}, which could freeze the pool vault: pass --trusted-freeze-authority {f} to accept trusting its issuer", a.collateral_mint)
        }
        Err(issue) => bail!("collateral mint {} {issue}", a.collateral_mint),
    }
    let e = c.execute(vec![ix::create_market(admin, &keys, kind, params, a.trusted_freeze_authority)], &[]).await?;
    let mut r = Report::new("market create")
        .field("market", keys.market)
        .field("oracle_kind", format!("{kind:?}"))
        .field("oracle", a.oracle)
        .field("oracle_id", hex(&keys.oracle_id))
        .field("collateral_mint", a.collateral_mint)
        .field("collateral_decimals", mint.decimals)
        .field("pool_vault", keys.pool_vault)
        .field("lp_mint", keys.lp_mint);
    MarketParamFlags::report(&mut r, &params, mint.decimals);
    tx_fields(&mut r, &e);
    Ok(r)
}

pub async fn market_params<C: Chain>(c: &mut Client<C>, market: Pubkey, flags: &MarketParamFlags) -> Result<Report> {
    let m = c.market(market).await?;
    if flags.is_empty() {
        let mut r = Report::new("market params (current; pass flags to propose a change)").field("market", market);
        MarketParamFlags::report(&mut r, &m.params, m.collateral_decimals);
        super::admin::pending_fields(c, &mut r, market).await?;
        return Ok(r);
    }
    let admin = c.signer_key()?;
    let new = flags.apply(m.params, m.collateral_decimals)?;
    let mut r = Report::new("market params proposed").field("market", market);
    MarketParamFlags::report(&mut r, &new, m.collateral_decimals);
    super::admin::propose_params(c, &mut r, market, ix::propose_market_params(admin, market, new)).await?;
    Ok(r)
}

/// A market as the signer of a liquidity operation sees it.
struct LpView {
    owner: Pubkey,
    st: MarketState,
    /// The signer's collateral and LP associated token accounts, with their balances.
    collateral: (Pubkey, Option<u64>),
    lp: (Pubkey, Option<u64>),
}

impl LpView {
    async fn load<C: Chain>(c: &mut Client<C>, market: Pubkey, oracle: Option<Pubkey>) -> Result<Self> {
        let owner = c.signer_key()?;
        let st = load_market(c, market, oracle, Some(owner)).await?;
        let (collateral, lp) = (st.user_collateral.expect("loaded with a user"), st.user_lp.expect("loaded with a user"));
        Ok(LpView { owner, st, collateral, lp })
    }
}

pub async fn deposit<C: Pace>(
    c: &mut Client<C>,
    market: Pubkey,
    amount: &UiAmount,
    min_lp_out: Option<&UiAmount>,
    slippage_bps: u16,
    oracle: Option<Pubkey>,
    request: &RequestFlags,
) -> Result<Report> {
    let LpView { owner, st, collateral: (collateral, balance), lp: (_, lp_balance) } = LpView::load(c, market, oracle).await?;
    let dec = st.decimals();
    let Some(balance) = balance else {
        bail!("the signer {owner} has no collateral account for mint {} (associated token account {collateral} does not exist)", st.market.collateral_mint);
    };
    let amount = spend(amount, dec, balance, collateral, "collateral", "deposit")?;
    let mut r = Report::new("liquidity deposit").field("market", market).field("amount", format_ui_amount(amount, dec));
    let quote = match quote_price(&st.oracle, c.simulate, min_lp_out.is_some())? {
        Some(p) => {
            let value = st.pool_value(&p, Side::High, price_time_unix(&st.market, RequestKind::Deposit, &st.clock))?;
            if value == 0 && st.lp_supply > 0 {
                bail!("{}", describe(leveraged_token::errors::ErrorCode::PoolInsolvent));
            }
            r.push("pool_value", format_ui_amount(u64::try_from(value).unwrap_or(u64::MAX), dec));
            // The program's own quote: the LP fee (rounded up) stays in the pool, the rest buys LP shares.
            let q = quote_lp_deposit(amount, st.market.params.lp_fee_bps, st.lp_supply, value).map_err(|e| anyhow!("quote: {e:?}"))?;
            r.push("quote_lp_fee", format_ui_amount(q.fee, dec));
            Some(u64::try_from(q.out).unwrap_or(u64::MAX))
        }
        None => None,
    };
    let min = super::min_out(min_lp_out, dec, quote, slippage_bps)?;
    r.push("quote_lp_out", quote.map(|q| format_ui_amount(q, dec)));
    r.push("min_lp_out", format_ui_amount(min, dec));
    let ask = Ask {
        kind: RequestKind::Deposit,
        market: st.market.clone(),
        token: None,
        amount,
        min_out: min,
        destination_missing: lp_balance.is_none(),
        oracle,
        no_wait: request.no_wait,
        nonce: request.nonce,
    };
    submit(c, r, ask).await
}

pub async fn withdraw<C: Pace>(
    c: &mut Client<C>,
    market: Pubkey,
    lp_amount: &UiAmount,
    min_out: Option<&UiAmount>,
    slippage_bps: u16,
    oracle: Option<Pubkey>,
    request: &RequestFlags,
) -> Result<Report> {
    let LpView { owner, st, collateral: (_, collateral_balance), lp: (lp_account, lp_balance) } = LpView::load(c, market, oracle).await?;
    let dec = st.decimals();
    let Some(lp_balance) = lp_balance else {
        bail!("the signer {owner} holds no LP shares of market {market} (associated token account {lp_account} does not exist)");
    };
    let lp = spend(lp_amount, dec, lp_balance, lp_account, "LP shares", "withdrawal")?;
    let mut r = Report::new("liquidity withdraw").field("market", market).field("lp_amount", format_ui_amount(lp, dec));
    let quote = match quote_price(&st.oracle, c.simulate, min_out.is_some())? {
        Some(p) => {
            let value = st.pool_value(&p, Side::Low, price_time_unix(&st.market, RequestKind::Withdraw, &st.clock))?;
            r.push("pool_value", format_ui_amount(u64::try_from(value).unwrap_or(u64::MAX), dec));
            // The program's own quote: the LP fee (rounded up) on the gross stays in the pool for the LPs who stay;
            // the payout is at most the LPs' cash (the pool vault less the insurance share owed in it).
            let q = quote_lp_withdrawal(lp, st.market.params.lp_fee_bps, st.lp_supply, value, st.market.lp_cash(st.pool_amount)).map_err(|e| anyhow!("quote: {e:?}"))?;
            r.push("quote_lp_fee", format_ui_amount(q.fee, dec));
            Some(u64::try_from(q.out).unwrap_or(u64::MAX))
        }
        None => None,
    };
    let min = super::min_out(min_out, dec, quote, slippage_bps)?;
    r.push("quote_collateral_out", quote.map(|q| format_ui_amount(q, dec)));
    r.push("min_collateral_out", format_ui_amount(min, dec));
    let ask = Ask {
        kind: RequestKind::Withdraw,
        market: st.market.clone(),
        token: None,
        amount: lp,
        min_out: min,
        destination_missing: collateral_balance.is_none(),
        oracle,
        no_wait: request.no_wait,
        nonce: request.nonce,
    };
    submit(c, r, ask).await
}

pub async fn token_create<C: Chain>(c: &mut Client<C>, a: &TokenCreateArgs) -> Result<Report> {
    let admin = c.signer_key()?;
    let m = c.market(a.market).await?;
    let target = parse_leverage(&a.leverage)?;
    let dec = m.collateral_decimals;
    let keys = MarketKeys::from_market(&m, None).token(target);
    if c.fetch_one(keys.token).await?.is_some() {
        bail!("a {} token already exists on market {}: {}", format_leverage(i64::from(target)), a.market, keys.token);
    }
    let one_unit = 10u64.checked_pow(u32::from(dec)).ok_or_else(|| anyhow!("collateral has {dec} decimals: too many"))?;
    let params = a.params.apply(defaults::token_params(target, one_unit), dec)?;
    let e = c.execute(vec![ix::create_leveraged_token(admin, &keys, params)], &[]).await?;
    let mut r = Report::new("token create")
        .field("token", keys.token)
        .field("market", a.market)
        .field("target_leverage", format_leverage(i64::from(target)))
        .field("share_mint", keys.share_mint)
        .field("vault", keys.vault);
    TokenParamFlags::report(&mut r, &params, dec);
    tx_fields(&mut r, &e);
    Ok(r)
}

pub async fn token_params<C: Chain>(c: &mut Client<C>, token: Pubkey, flags: &TokenParamFlags) -> Result<Report> {
    let t = c.token(token).await?;
    let m = c.market(t.market).await?;
    let dec = m.collateral_decimals;
    if flags.is_empty() {
        let mut r = Report::new("token params (current; pass flags to propose a change)").field("token", token).field("target_leverage", format_leverage(i64::from(t.target_leverage_bps)));
        TokenParamFlags::report(&mut r, &t.params, dec);
        super::admin::pending_fields(c, &mut r, token).await?;
        return Ok(r);
    }
    let admin = c.signer_key()?;
    let new = flags.apply(t.params, dec)?;
    let mut r = Report::new("token params proposed").field("token", token).field("target_leverage", format_leverage(i64::from(t.target_leverage_bps)));
    TokenParamFlags::report(&mut r, &new, dec);
    super::admin::propose_params(c, &mut r, token, ix::propose_token_params(admin, token, new)).await?;
    Ok(r)
}
