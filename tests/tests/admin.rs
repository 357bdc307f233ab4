//! Admin instructions: one-time config, admin-only gates, the two-step admin
//! transfer, parameter and pause-mask validation, parameter updates, and the
//! permissionless fee collection to the treasury.
use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, Discriminator};
use leveraged_token::events::{AdminAccepted, AdminProposed, FeesCollected, MarketParamsUpdated, PauseSet, TokenParamsUpdated};
use leveraged_token::state::Config;
use leveraged_token_sdk::{constants::*, ix, MarketKeys, MarketParams, OracleKind, TokenKeys, TokenParams};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{ErrorCode, TestKeypair, TestSigner, TxOutcome};
use pyth_sdk_solana::state::PriceStatus;

fn config_key() -> Pubkey {
    leveraged_token::pda::config().0
}

/// As `World::refused`, and the accounts the refused instruction would have
/// created (`absent`) still do not exist.
async fn refused_creating(w: &mut World, ix: anchor_lang::solana_program::instruction::Instruction, signers: &[&TestKeypair], code: ErrorCode, absent: &[Pubkey]) {
    w.refused(ix, signers, code).await;
    for k in absent {
        assert!(w.bank.raw_account(*k).await.is_none(), "account {k} was created by a refused instruction");
    }
}

/// A live legacy Pyth account at a fresh address and the keys of the (not yet
/// created) market on it.
async fn new_market_keys(w: &mut World) -> MarketKeys {
    let oracle = Pubkey::new_unique();
    let slot = w.bank.slot().await;
    w.bank.set_account(oracle, 1_000_000_000, legacy_price_account(50 * USD, USD as u64 / 100, EXPO, slot, PriceStatus::Trading), PYTH_LEGACY_DEVNET);
    MarketKeys::legacy(oracle, w.collateral)
}

/// `out` succeeded and emitted exactly one `E`: that event.
fn the_event<E: AnchorDeserialize + Discriminator>(out: TxOutcome) -> E {
    out.clone().unwrap();
    let mut ev = out.events::<E>();
    assert_eq!(ev.len(), 1);
    ev.remove(0)
}

/// A fresh world with its admin's keypair and key.
async fn world_and_admin() -> (World, TestKeypair, Pubkey) {
    let w = World::new().await;
    let admin = w.admin.insecure_clone();
    let a = admin.pubkey();
    (w, admin, a)
}

fn token_accounts(t: &TokenKeys) -> [Pubkey; 3] {
    [t.token, t.share_mint, t.vault]
}

fn market_accounts(m: &MarketKeys) -> [Pubkey; 3] {
    [m.market, m.pool_vault, m.lp_mint]
}

#[tokio::test]
async fn initialize_config_a_second_time_fails_and_leaves_the_config_unchanged() {
    let mut w = World::new().await;
    let before = w.bank.raw_account(config_key()).await.expect("config exists");
    let attacker = w.bank.funded_keypair().await;
    for signer in [w.admin.insecure_clone(), attacker] {
        // The config PDA exists and holds lamports, so `create::create_pda_account`
        // takes its prefunded path: the system program's `allocate` refuses an
        // account that already has data and an owner (SystemError::AccountAlreadyInUse
        // = 0). No one can re-take the admin seat.
        let out = w.bank.send(&[ix::initialize_config(signer.pubkey(), signer.pubkey(), MIN_PARAM_DELAY_SECS)], &[&signer]).await;
        assert!(out.result.is_err(), "re-initialisation succeeded");
        let refused_by_system_program = matches!(
            &out.result,
            Err(solana_transaction_error::TransactionError::InstructionError(1, e))
                if *e == solana_instruction_error::InstructionError::InvalidInstructionData
                    || *e == solana_instruction_error::InstructionError::Custom(0)
        );
        assert!(refused_by_system_program, "{:?}\n{}", out.result, out.logs.join("\n"));
        assert!(out.logs.iter().any(|l| l.starts_with("Program 11111111111111111111111111111111 failed")), "{}", out.logs.join("\n"));
        assert_eq!(w.bank.raw_account(config_key()).await.as_ref(), Some(&before));
    }
    let c: Config = w.bank.account(config_key()).await;
    assert_eq!(c.admin, w.admin.pubkey());
    assert_eq!(c.treasury, w.treasury.pubkey());
}

#[tokio::test]
async fn every_admin_instruction_refuses_a_signer_other_than_the_admin() {
    let mut w = World::new().await;
    let x = w.bank.funded_keypair().await;
    let k = x.pubkey();
    w.refused(ix::propose_admin(k, k), &[&x], ErrorCode::NotAdmin).await;
    w.refused(ix::set_global_pause(k, PAUSE_ALL, true), &[&x], ErrorCode::NotAdmin).await;
    w.refused(ix::set_market_pause(k, w.market.market, PAUSE_ALL, true), &[&x], ErrorCode::NotAdmin).await;
    w.refused(ix::set_token_pause(k, w.long.token, PAUSE_ALL, true), &[&x], ErrorCode::NotAdmin).await;
    let mut mp = market_params();
    mp.trade_fee_bps = 100;
    w.refused(ix::propose_market_params(k, w.market.market, mp), &[&x], ErrorCode::NotAdmin).await;
    let mut tp = token_params(LONG_3X);
    tp.mint_fee_bps = 500;
    w.refused(ix::propose_token_params(k, w.long.token, tp), &[&x], ErrorCode::NotAdmin).await;
    // A pending change can be cancelled only by the admin.
    let admin = w.admin.insecure_clone();
    w.bank.send(&[ix::propose_token_params(admin.pubkey(), w.long.token, tp)], &[&admin]).await.expect_ok("propose");
    w.refused(ix::cancel_param_proposal(k, w.long.token, admin.pubkey()), &[&x], ErrorCode::NotAdmin).await;
}

#[tokio::test]
async fn only_the_admin_can_create_a_market() {
    let mut w = World::new().await;
    let x = w.bank.funded_keypair().await;
    let m = new_market_keys(&mut w).await;
    let ixc = ix::create_market(x.pubkey(), &m, OracleKind::PythLegacy, market_params(), None);
    refused_creating(&mut w, ixc, &[&x], ErrorCode::NotAdmin, &market_accounts(&m)).await;
    // The same market is creatable by the admin: the refusal was the signer.
    let admin = w.admin.insecure_clone();
    w.bank.send(&[ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None)], &[&admin]).await.unwrap();
    let c: Config = w.bank.account(config_key()).await;
    assert_eq!(c.market_count, 2);
}

#[tokio::test]
async fn only_the_admin_can_create_a_leveraged_token() {
    let mut w = World::new().await;
    let x = w.bank.funded_keypair().await;
    let t = w.market.token(20_000);
    let ixc = ix::create_leveraged_token(x.pubkey(), &t, token_params(20_000));
    refused_creating(&mut w, ixc, &[&x], ErrorCode::NotAdmin, &token_accounts(&t)).await;
    let admin = w.admin.insecure_clone();
    w.bank.send(&[ix::create_leveraged_token(admin.pubkey(), &t, token_params(20_000))], &[&admin]).await.unwrap();
    assert_eq!(w.market_state().await.token_count, 3);
}

#[tokio::test]
async fn admin_transfer_takes_two_steps_and_the_old_admin_loses_every_right() {
    let mut w = World::new().await;
    let old = w.admin.insecure_clone();
    let new = w.bank.funded_keypair().await;
    let stranger = w.bank.funded_keypair().await;

    let ev: AdminProposed = the_event(w.bank.send(&[ix::propose_admin(old.pubkey(), new.pubkey())], &[&old]).await);
    assert_eq!((ev.admin, ev.pending_admin), (old.pubkey(), new.pubkey()));
    let c: Config = w.bank.account(config_key()).await;
    // Proposing alone changes nothing about who is admin.
    assert_eq!((c.admin, c.pending_admin), (old.pubkey(), new.pubkey()));

    // Anyone but the proposed key is refused.
    w.refused(ix::accept_admin(stranger.pubkey()), &[&stranger], ErrorCode::NotPendingAdmin).await;
    w.refused(ix::accept_admin(old.pubkey()), &[&old], ErrorCode::NotPendingAdmin).await;

    let ev: AdminAccepted = the_event(w.bank.send(&[ix::accept_admin(new.pubkey())], &[&new]).await);
    assert_eq!((ev.old_admin, ev.new_admin), (old.pubkey(), new.pubkey()));
    let c: Config = w.bank.account(config_key()).await;
    assert_eq!((c.admin, c.pending_admin), (new.pubkey(), Pubkey::default()));

    // The old admin is now an outsider.
    w.refused(ix::set_global_pause(old.pubkey(), PAUSE_MINT, true), &[&old], ErrorCode::NotAdmin).await;
    w.refused(ix::propose_admin(old.pubkey(), old.pubkey()), &[&old], ErrorCode::NotAdmin).await;
    // The new admin can pause.
    let ev: PauseSet = the_event(w.bank.send(&[ix::set_global_pause(new.pubkey(), PAUSE_MINT, true)], &[&new]).await);
    assert_eq!((ev.scope, ev.old_flags, ev.new_flags), (leveraged_token::pause::PauseScope::Global, 0, PAUSE_MINT));
    let c: Config = w.bank.account(config_key()).await;
    assert_eq!(c.pause_flags, PAUSE_MINT);
    // The proposal was consumed: accepting again is refused.
    w.refused(ix::accept_admin(new.pubkey()), &[&new], ErrorCode::NoPendingAdmin).await;
}

#[tokio::test]
async fn accept_admin_with_nothing_pending_is_refused() {
    let mut w = World::new().await;
    let x = w.bank.funded_keypair().await;
    w.refused(ix::accept_admin(x.pubkey()), &[&x], ErrorCode::NoPendingAdmin).await;
    // A proposal of the default key cancels: nothing is pending again.
    let admin = w.admin.insecure_clone();
    w.bank.send(&[ix::propose_admin(admin.pubkey(), x.pubkey())], &[&admin]).await.unwrap();
    w.bank.send(&[ix::propose_admin(admin.pubkey(), Pubkey::default())], &[&admin]).await.unwrap();
    w.refused(ix::accept_admin(x.pubkey()), &[&x], ErrorCode::NoPendingAdmin).await;
}

#[tokio::test]
async fn invalid_market_parameters_are_refused_on_update_and_create() {
    let (mut w, admin, a) = world_and_admin().await;
    let cases: [(&str, fn(&mut MarketParams)); 23] = [
        ("trade fee above 100 bps", |p| p.trade_fee_bps = MAX_TRADE_FEE_BPS + 1),
        ("funding above 500 %/yr", |p| p.funding_max_bps = MAX_FUNDING_BPS + 1),
        ("borrow base above 100 %/yr", |p| p.borrow_base_bps = MAX_BORROW_RATE_BPS + 1),
        ("zero kink utilisation", |p| p.borrow_kink_utilization_bps = 0),
        ("kink utilisation at 100 %", |p| p.borrow_kink_utilization_bps = 10_000),
        ("kink rate above the max rate", |p| p.borrow_kink_rate_bps = p.borrow_max_rate_bps + 1),
        ("max borrow rate above 1000 %/yr", |p| p.borrow_max_rate_bps = MAX_BORROW_MAX_RATE_BPS + 1),
        ("insurance share above 50 %", |p| p.insurance_share_bps = MAX_INSURANCE_SHARE_BPS + 1),
        ("zero side cap", |p| p.side_cap_bps = 0),
        ("zero net cap", |p| p.net_cap_bps = 0),
        ("net cap above the side cap", |p| p.net_cap_bps = p.side_cap_bps + 1),
        ("zero stress jump", |p| p.stress_jump_bps = 0),
        ("zero stress loss cap", |p| p.stress_loss_cap_bps = 0),
        ("zero max age in slots", |p| p.max_age_slots = 0),
        ("zero max age in seconds", |p| p.max_age_secs = 0),
        ("conf above 1000 bps", |p| p.max_conf_bps = MAX_CONF_BPS + 1),
        ("zero request delay", |p| p.request_delay_secs = 0),
        ("request delay above 60 s", |p| p.request_delay_secs = MAX_REQUEST_DELAY_SECS + 1),
        ("request ttl below 10 s", |p| p.request_ttl_secs = MIN_REQUEST_TTL_SECS - 1),
        ("request ttl above a day", |p| p.request_ttl_secs = MAX_REQUEST_TTL_SECS + 1),
        ("lp cooldown above a week", |p| p.lp_cooldown_secs = MAX_LP_COOLDOWN_SECS + 1),
        ("lp fee above 100 bps", |p| p.lp_fee_bps = MAX_LP_FEE_BPS + 1),
        ("executor fee above 0.01 SOL", |p| p.executor_fee_lamports = MAX_EXECUTOR_FEE_LAMPORTS + 1),
    ];
    let m = new_market_keys(&mut w).await;
    for (what, f) in cases {
        let mut p = market_params();
        f(&mut p);
        println!("market case: {what}");
        w.refused(ix::propose_market_params(a, w.market.market, p), &[&admin], ErrorCode::InvalidMarketParams).await;
        refused_creating(&mut w, ix::create_market(a, &m, OracleKind::PythLegacy, p, None), &[&admin], ErrorCode::InvalidMarketParams, &market_accounts(&m)).await;
    }
    // The bounds themselves are accepted: the upper ones, then the lower ones.
    let edge = MarketParams {
        trade_fee_bps: MAX_TRADE_FEE_BPS,
        funding_max_bps: MAX_FUNDING_BPS,
        borrow_base_bps: MAX_BORROW_RATE_BPS,
        borrow_kink_utilization_bps: 9_999,
        borrow_kink_rate_bps: MAX_BORROW_MAX_RATE_BPS,
        borrow_max_rate_bps: MAX_BORROW_MAX_RATE_BPS,
        insurance_share_bps: MAX_INSURANCE_SHARE_BPS,
        side_cap_bps: MAX_CAP_BPS,
        net_cap_bps: MAX_CAP_BPS,
        stress_jump_bps: 9_999,
        stress_loss_cap_bps: 10_000,
        max_age_slots: MAX_ORACLE_AGE_SLOTS,
        max_age_secs: MAX_ORACLE_AGE_SECS,
        max_conf_bps: MAX_CONF_BPS,
        request_delay_secs: MAX_REQUEST_DELAY_SECS,
        request_ttl_secs: MAX_REQUEST_TTL_SECS,
        lp_cooldown_secs: MAX_LP_COOLDOWN_SECS,
        lp_fee_bps: MAX_LP_FEE_BPS,
        executor_fee_lamports: MAX_EXECUTOR_FEE_LAMPORTS,
    };
    w.change_market_params(edge).await.expect_ok("apply the upper edge parameters");
    assert_eq!(w.market_state().await.params, edge);
    let low = MarketParams {
        trade_fee_bps: 0,
        funding_max_bps: 0,
        borrow_base_bps: 0,
        borrow_kink_utilization_bps: 1,
        borrow_kink_rate_bps: 0,
        borrow_max_rate_bps: 0,
        insurance_share_bps: 0,
        side_cap_bps: 1,
        net_cap_bps: 1,
        stress_jump_bps: 1,
        stress_loss_cap_bps: 1,
        max_age_slots: 1,
        max_age_secs: 1,
        max_conf_bps: 1,
        request_delay_secs: 1,
        request_ttl_secs: MIN_REQUEST_TTL_SECS,
        lp_cooldown_secs: 0,
        lp_fee_bps: 0,
        executor_fee_lamports: 0,
    };
    w.change_market_params(low).await.expect_ok("apply the lower edge parameters");
    assert_eq!(w.market_state().await.params, low);
}

#[tokio::test]
async fn invalid_token_parameters_are_refused_on_update() {
    let (mut w, admin, a) = world_and_admin().await;
    // For the 3x long: band 24,000..36,000, ripcord 42,000.
    let cases: [(&str, fn(&mut TokenParams)); 10] = [
        ("band_min above |target|", |p| p.band_min_bps = 30_001),
        ("band_max below |target|", |p| p.band_max_bps = 29_999),
        ("ripcord not above band_max", |p| p.ripcord_bps = p.band_max_bps),
        // 1e8 / 30,000 = 3,333.3 bps is the move that zeroes a 3x token.
        ("deviation at the zeroing move", |p| p.deviation_bps = 3_334),
        ("zero deviation", |p| p.deviation_bps = 0),
        ("zero rebalance_period_slots", |p| p.rebalance_period_slots = 0),
        ("rebalance period below 750 slots", |p| p.rebalance_period_slots = MIN_REBALANCE_PERIOD_SLOTS - 1),
        // 10 bps a period over 21,600-slot periods is 100 bps a day: one bps more is refused.
        ("keeper rewards above 1 % of equity a day", |p| (p.rebalance_period_slots, p.keeper_reward_cap_bps) = (21_599, 10)),
        ("mint fee above 500 bps", |p| p.mint_fee_bps = MAX_MINT_REDEEM_FEE_BPS + 1),
        ("redeem fee above 500 bps", |p| p.redeem_fee_bps = MAX_MINT_REDEEM_FEE_BPS + 1),
    ];
    for (what, f) in cases {
        let mut p = token_params(LONG_3X);
        f(&mut p);
        println!("token case: {what}");
        w.refused(ix::propose_token_params(a, w.long.token, p), &[&admin], ErrorCode::InvalidTokenParams).await;
    }
    // Just inside the bounds is accepted.
    let mut p = token_params(LONG_3X);
    p.deviation_bps = 3_332;
    (p.rebalance_period_slots, p.keeper_reward_cap_bps) = (21_600, 10);
    w.change_token_params(w.long, p).await.expect_ok("apply the edge parameters");
    assert_eq!(w.token_state(w.long).await.params, p);
}

#[tokio::test]
async fn a_token_with_invalid_target_leverage_or_parameters_cannot_be_created() {
    let (mut w, admin, a) = world_and_admin().await;
    // Target 0 and 20x are outside 0.1x..=10x whatever the other parameters.
    for target in [0, 200_000, -200_000, 999] {
        let t = w.market.token(target);
        refused_creating(&mut w, ix::create_leveraged_token(a, &t, token_params(LONG_3X)), &[&admin], ErrorCode::InvalidTokenParams, &token_accounts(&t)).await;
    }
    // A valid target with parameters that fail the band check.
    let t = w.market.token(20_000);
    let mut p = token_params(20_000);
    p.band_min_bps = 20_001;
    refused_creating(&mut w, ix::create_leveraged_token(a, &t, p), &[&admin], ErrorCode::InvalidTokenParams, &token_accounts(&t)).await;
    assert_eq!(w.market_state().await.token_count, 2);
}

#[tokio::test]
async fn pause_masks_that_are_empty_or_carry_unknown_bits_are_refused() {
    let (mut w, admin, a) = world_and_admin().await;
    for mask in [0u8, 0x10, 0x80, PAUSE_ALL | 0x10] {
        for paused in [true, false] {
            w.refused(ix::set_global_pause(a, mask, paused), &[&admin], ErrorCode::InvalidPauseFlags).await;
            w.refused(ix::set_market_pause(a, w.market.market, mask, paused), &[&admin], ErrorCode::InvalidPauseFlags).await;
            w.refused(ix::set_token_pause(a, w.long.token, mask, paused), &[&admin], ErrorCode::InvalidPauseFlags).await;
        }
    }
}

#[tokio::test]
async fn a_token_parameter_change_applies_after_the_delay_and_emits_the_old_and_new_parameters() {
    let mut w = World::new().await;
    let admin = w.admin.insecure_clone();
    let old = token_params(LONG_3X);
    let new = TokenParams {
        band_min_bps: 25_000,
        band_max_bps: 35_000,
        ripcord_bps: 45_000,
        deviation_bps: 2_000,
        rebalance_period_slots: 43_200,
        max_notional_per_call: 50_000 * USDC,
        keeper_reward: 2 * USDC,
        keeper_reward_cap_bps: 20,
        mint_fee_bps: 30,
        redeem_fee_bps: 40,
        streaming_fee_bps: 300,
    };
    assert_eq!(w.token_state(w.long).await.params, old);
    let _ = &admin;
    let ev: TokenParamsUpdated = the_event(w.change_token_params(w.long, new).await);
    assert_eq!(ev.token, w.long.token);
    assert_eq!(ev.old, old);
    assert_eq!(ev.new, new);
    let t = w.token_state(w.long).await;
    assert_eq!(t.params, new);
    assert_eq!(t.target_leverage_bps, LONG_3X);
    // The other token is untouched.
    assert_eq!(w.token_state(w.short).await.params, token_params(SHORT_1X));
}

#[tokio::test]
async fn a_market_parameter_change_applies_after_the_delay_and_emits_the_old_and_new_parameters() {
    let mut w = World::new().await;
    let admin = w.admin.insecure_clone();
    let old = market_params();
    let new = MarketParams {
        trade_fee_bps: 7,
        funding_max_bps: 2_500,
        borrow_base_bps: 100,
        borrow_kink_utilization_bps: 5_000,
        borrow_kink_rate_bps: 1_500,
        borrow_max_rate_bps: 20_000,
        insurance_share_bps: 2_000,
        side_cap_bps: 40_000,
        net_cap_bps: 15_000,
        stress_jump_bps: 5_000,
        stress_loss_cap_bps: 2_000,
        max_age_slots: 50,
        max_age_secs: 30,
        max_conf_bps: 100,
        request_delay_secs: 5,
        request_ttl_secs: 300,
        lp_cooldown_secs: 600,
        lp_fee_bps: 20,
        executor_fee_lamports: 100_000,
    };
    assert_eq!(w.market_state().await.params, old);
    let _ = &admin;
    let ev: MarketParamsUpdated = the_event(w.change_market_params(new).await);
    assert_eq!(ev.market, w.market.market);
    assert_eq!(ev.old, old);
    assert_eq!(ev.new, new);
    assert_eq!(w.market_state().await.params, new);
}

#[tokio::test]
async fn collect_fees_moves_exactly_the_fees_owed_to_the_treasury_once() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    let owed = w.token_state(w.long).await.fees_owed;
    // The 10 bps mint fee on 1,000 USDC.
    assert_eq!(owed, USDC);
    let vault = w.bank.balance(w.long.vault).await;
    let treasury = w.bank.balance(w.treasury_collateral).await;
    assert_eq!(treasury, 0);
    let t_before = w.token_state(w.long).await;

    // Permissionless: no signer but the fee payer.
    let ev: FeesCollected = the_event(w.bank.send(&[ix::collect_fees(&w.long, w.treasury_collateral)], &[]).await);
    assert_eq!(w.bank.balance(w.treasury_collateral).await, treasury + owed);
    assert_eq!(w.bank.balance(w.long.vault).await, vault - owed);
    let t = w.token_state(w.long).await;
    assert_eq!(t.fees_owed, 0);
    // Only fees moved: the position is untouched.
    assert_eq!((t.base, t.cost), (t_before.base, t_before.cost));
    assert_eq!((ev.token, ev.treasury_account, ev.amount), (w.long.token, w.treasury_collateral, owed));

    w.refused(ix::collect_fees(&w.long, w.treasury_collateral), &[], ErrorCode::NothingToCollect).await;
}

#[tokio::test]
async fn collect_fees_refuses_a_collateral_account_not_owned_by_the_treasury() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    assert!(w.token_state(w.long).await.fees_owed > 0);
    // A caller's own collateral account.
    w.refused(ix::collect_fees(&w.long, w.bob.collateral), &[], ErrorCode::WrongTreasury).await;
    // The treasury's owner key with a token account of another mint is refused too.
    let other_mint = w.bank.create_mint(DECIMALS).await;
    let other = w.bank.create_token_account(other_mint, w.treasury.pubkey()).await;
    w.refused(ix::collect_fees(&w.long, other), &[], ErrorCode::WrongCollateralMint).await;
    assert_eq!(w.bank.balance(other).await, 0);
}
