//! The admin's parameter changes are timelocked and never retroactive, and
//! fees are charged exactly however often a token settles (issue: "the admin
//! can never move user or pool funds").

use anchor_lang::prelude::Pubkey;
use leveraged_token::constants::*;
use leveraged_token::events::{ParamProposalCancelled, ParamsProposed, PositionSettled, Redeemed, TokenParamsUpdated};
use leveraged_token::math::fees::streaming_fee_floor_carry;
use leveraged_token::state::{ParamChange, ParamProposal, RequestKind};
use leveraged_token_sdk::{ix, TokenParams};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{Bank, ErrorCode, TestSigner};

fn proposal_key(target: Pubkey) -> Pubkey {
    leveraged_token::pda::param_proposal(&target).0
}

#[tokio::test]
async fn a_change_applies_only_once_its_delay_has_passed_and_an_early_apply_changes_nothing() {
    let mut w = World::new().await;
    let admin = w.admin.insecure_clone();
    let new = TokenParams { mint_fee_bps: 50, ..w.token_state(w.long).await.params };
    let out = w.bank.send(&[ix::propose_token_params(admin.pubkey(), w.long.token, new)], &[&admin]).await;
    let ev = out.events::<ParamsProposed>();
    out.expect_ok("propose");
    let now = w.bank.clock().await.unix_timestamp;
    assert_eq!((ev[0].target, ev[0].proposer, ev[0].proposed_at, ev[0].eta, ev[0].change), (w.long.token, admin.pubkey(), now, now + 86_400, ParamChange::Token(new)));
    let p: ParamProposal = w.bank.account(proposal_key(w.long.token)).await;
    assert_eq!(p.eta, now + MIN_PARAM_DELAY_SECS);

    // Right away, and one second before the delay ends: refused, nothing
    // changes. (No signer but the fee payer: anyone may apply.)
    w.refused(ix::apply_token_params(&w.long, admin.pubkey()), &[], ErrorCode::ProposalNotDue).await;
    w.bank.advance_time(86_399).await;
    w.refused(ix::apply_token_params(&w.long, admin.pubkey()), &[], ErrorCode::ProposalNotDue).await;
    assert_eq!(w.token_state(w.long).await.params.mint_fee_bps, 10);

    // At the delay: anyone applies it; the rent goes back to the proposer.
    w.bank.advance_time(1).await;
    w.set_price(w.price).await;
    let rent = w.bank.raw_account(proposal_key(w.long.token)).await.unwrap().lamports;
    let admin_before = w.bank.raw_account(admin.pubkey()).await.unwrap().lamports;
    let out = w.bank.send(&[ix::apply_token_params(&w.long, admin.pubkey())], &[]).await;
    let ev = out.events::<TokenParamsUpdated>();
    out.expect_ok("apply");
    assert_eq!((ev[0].old.mint_fee_bps, ev[0].new), (10, new));
    assert_eq!(w.token_state(w.long).await.params, new);
    assert!(w.bank.raw_account(proposal_key(w.long.token)).await.is_none(), "the proposal is closed");
    assert_eq!(w.bank.raw_account(admin.pubkey()).await.unwrap().lamports, admin_before + rent);
}

/// The measurement: raising the streaming fee from 2 % to 10 %/yr
/// charged the new rate for the whole day since the token's last settlement
/// (27.18 instead of 5.44 USDC on 99,668 of equity). The apply settles at the
/// old rate first, so the day before it pays 2 %.
#[tokio::test]
async fn a_streaming_fee_raise_charges_the_old_rate_up_to_the_apply_and_the_new_one_after() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    let t0 = w.token_state(w.long).await;
    assert_eq!(t0.params.streaming_fee_bps, 200);
    let new = TokenParams { streaming_fee_bps: 1_000, ..t0.params };
    let admin = w.admin.insecure_clone();
    w.bank.send(&[ix::propose_token_params(admin.pubkey(), w.long.token, new)], &[&admin]).await.expect_ok("propose");
    // A day of slots passes before the change is applied.
    w.bank.warp(DAY_SLOTS).await;
    w.bank.wait_out_param_delay().await;
    w.set_price(w.price).await;
    let slot = w.bank.slot().await;
    let out = w.bank.send(&[ix::apply_token_params(&w.long, admin.pubkey())], &[]).await;
    let settled = out.events::<PositionSettled>();
    out.expect_ok("apply");
    // The fee is charged on the equity after PnL and borrow.
    let equity = settled[0].equity_after + settled[0].streaming_fee;
    let old_rate = streaming_fee_floor_carry(equity, 200, slot - t0.last_fee_slot, t0.streaming_fee_carry).unwrap().fee;
    let new_rate = streaming_fee_floor_carry(equity, 1_000, slot - t0.last_fee_slot, t0.streaming_fee_carry).unwrap().fee;
    println!("a day on {equity}: charged {} at the apply (2 %/yr: {old_rate}; the new 10 % would be {new_rate})", settled[0].streaming_fee);
    assert_eq!(settled[0].streaming_fee, old_rate);
    assert!(new_rate > 4 * old_rate);
    // From the apply on, the new rate.
    w.bank.warp(DAY_SLOTS).await;
    w.set_price(w.price).await;
    let t1 = w.token_state(w.long).await;
    let out = w.rebalance(Who::Bob, w.long).await;
    let settled = out.events::<PositionSettled>();
    let slot = w.bank.slot().await;
    let equity = settled[0].equity_after + settled[0].streaming_fee;
    assert_eq!(settled[0].streaming_fee, streaming_fee_floor_carry(equity, 1_000, slot - t1.last_fee_slot, t1.streaming_fee_carry).unwrap().fee);
}

/// A redeem fee raise reaches no one who leaves during the delay.
#[tokio::test]
async fn a_redeem_made_during_the_delay_pays_the_old_redeem_fee() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 10_000 * USDC, 0).await.unwrap();
    let admin = w.admin.insecure_clone();
    let new = TokenParams { redeem_fee_bps: MAX_MINT_REDEEM_FEE_BPS, ..w.token_state(w.long).await.params };
    w.bank.send(&[ix::propose_token_params(admin.pubkey(), w.long.token, new)], &[&admin]).await.expect_ok("propose");
    w.bank.advance_time(86_000).await;
    w.set_price(w.price).await;
    let shares = w.bank.balance(w.alice.long).await;
    let out = w.redeem(Who::Alice, w.long, shares, 0).await;
    let ev = out.events::<Redeemed>();
    out.expect_ok("redeem");
    // 10 bps of ≈ 10,000 USDC, not 500 bps.
    println!("redeem fee during the delay: {} (the proposed 5 % would be ≈ {})", ev[0].redeem_fee, ev[0].collateral_out / 19);
    assert!(ev[0].redeem_fee <= 11 * USDC, "{}", ev[0].redeem_fee);
}

#[tokio::test]
async fn an_apply_is_refused_while_the_exits_it_affects_are_paused() {
    let mut w = World::new().await;
    let admin = w.admin.insecure_clone();
    let a = admin.pubkey();
    let tp = TokenParams { redeem_fee_bps: 100, ..w.token_state(w.long).await.params };
    let mp = leveraged_token_sdk::MarketParams { trade_fee_bps: 20, ..w.market_state().await.params };
    w.bank.send(&[ix::propose_token_params(a, w.long.token, tp), ix::propose_market_params(a, w.market.market, mp)], &[&admin]).await.expect_ok("propose");
    w.bank.wait_out_param_delay().await;
    w.set_price(w.price).await;
    // Redeems paused on the token: the token's change waits; paused globally: both wait.
    w.bank.send(&[ix::set_token_pause(a, w.long.token, PAUSE_REDEEM, true)], &[&admin]).await.expect_ok("pause");
    w.refused(ix::apply_token_params(&w.long, a), &[], ErrorCode::ExitsPaused).await;
    w.bank.send(&[ix::set_global_pause(a, PAUSE_REDEEM, true)], &[&admin]).await.expect_ok("pause");
    w.refused(ix::apply_token_params(&w.long, a), &[], ErrorCode::ExitsPaused).await;
    w.refused(ix::apply_market_params(w.market.market, a), &[], ErrorCode::ExitsPaused).await;
    w.bank.send(&[ix::set_token_pause(a, w.long.token, PAUSE_REDEEM, false), ix::set_global_pause(a, PAUSE_REDEEM, false)], &[&admin]).await.expect_ok("unpause");
    // LP withdrawals paused on the market: the market's change waits, the token's does not.
    w.bank.send(&[ix::set_market_pause(a, w.market.market, PAUSE_LIQUIDITY, true)], &[&admin]).await.expect_ok("pause");
    w.refused(ix::apply_market_params(w.market.market, a), &[], ErrorCode::ExitsPaused).await;
    w.bank.send(&[ix::apply_token_params(&w.long, a)], &[]).await.expect_ok("apply token");
    w.bank.send(&[ix::set_market_pause(a, w.market.market, PAUSE_LIQUIDITY, false)], &[&admin]).await.expect_ok("unpause");
    w.bank.send(&[ix::apply_market_params(w.market.market, a)], &[]).await.expect_ok("apply market");
    assert_eq!((w.token_state(w.long).await.params, w.market_state().await.params), (tp, mp));
}

#[tokio::test]
async fn one_change_at_a_time_cancelled_only_by_the_admin_and_never_applied_to_another_target() {
    let mut w = World::new().await;
    let admin = w.admin.insecure_clone();
    let a = admin.pubkey();
    let p = TokenParams { mint_fee_bps: 20, ..w.token_state(w.long).await.params };
    w.bank.send(&[ix::propose_token_params(a, w.long.token, p)], &[&admin]).await.expect_ok("propose");
    // A second proposal for the same token is refused while the first is pending.
    let pending = w.bank.raw_account(proposal_key(w.long.token)).await;
    w.refused(ix::propose_token_params(a, w.long.token, TokenParams { mint_fee_bps: 30, ..p }), &[&admin], ErrorCode::ProposalPending).await;
    assert_eq!(w.bank.raw_account(proposal_key(w.long.token)).await, pending);
    w.bank.wait_out_param_delay().await;
    w.set_price(w.price).await;
    // The long's proposal cannot be applied to the short (its PDA is the long's)
    // nor with another account as the rent receiver.
    let stranger = w.bank.funded_keypair().await;
    let mut wrong_target = ix::apply_token_params(&w.short, a);
    let long_proposal = proposal_key(w.long.token);
    wrong_target.accounts.iter_mut().filter(|m| m.pubkey == proposal_key(w.short.token)).for_each(|m| m.pubkey = long_proposal);
    w.refused_by_anchor(wrong_target, &[], anchor_lang::error::ErrorCode::ConstraintSeeds).await;
    w.refused(ix::apply_token_params(&w.long, stranger.pubkey()), &[], ErrorCode::WrongProposal).await;
    // Cancelled by the admin: gone, with its event; a new proposal may follow.
    let out = w.bank.send(&[ix::cancel_param_proposal(a, w.long.token, a)], &[&admin]).await;
    let ev = out.events::<ParamProposalCancelled>();
    out.expect_ok("cancel");
    assert_eq!((ev[0].target, ev[0].change), (w.long.token, ParamChange::Token(p)));
    assert!(w.bank.raw_account(long_proposal).await.is_none());
    w.bank.send(&[ix::propose_token_params(a, w.long.token, p)], &[&admin]).await.expect_ok("propose again");
}

#[tokio::test]
async fn initialize_config_refuses_a_delay_below_a_day_or_above_thirty_days() {
    let mut bank = Bank::new().await;
    let admin = bank.funded_keypair().await;
    let config = leveraged_token::pda::config().0;
    for delay in [0, 3_600, MIN_PARAM_DELAY_SECS - 1, MAX_PARAM_DELAY_SECS + 1, -1] {
        let before = bank.raw_account(admin.pubkey()).await;
        let out = bank.send(&[ix::initialize_config(admin.pubkey(), admin.pubkey(), delay)], &[&admin]).await;
        out.expect_err(ErrorCode::InvalidParamDelay);
        assert!(bank.raw_account(config).await.is_none());
        assert_eq!(bank.raw_account(admin.pubkey()).await, before);
    }
    bank.send(&[ix::initialize_config(admin.pubkey(), admin.pubkey(), MAX_PARAM_DELAY_SECS)], &[&admin]).await.expect_ok("30 days");
    let c: leveraged_token::state::Config = bank.account(config).await;
    assert_eq!(c.param_delay_secs, MAX_PARAM_DELAY_SECS);
}

/// The measurement: a 1-share redeem every slot charged holders 400
/// units of fees over 200 slots where one settlement charges 2 (each
/// settlement rounded its streaming and borrow fees up). With the carried
/// remainders, 200 one-slot settlements charge what one 200-slot settlement
/// charges.
#[tokio::test]
async fn two_hundred_one_share_redeems_charge_the_fees_of_one_settlement() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    w.mint(Who::Bob, w.long, 1_000 * USDC, 0).await.unwrap();
    let t0 = w.token_state(w.long).await;
    let equity = w.bank.balance(w.long.vault).await - t0.fees_owed;
    let (mut streaming, mut charge) = (0u64, 0i128);
    // One request a slot; each executes at its price slot, a few slots later:
    // from then on one settlement every slot.
    let mut pending = std::collections::VecDeque::new();
    let mut executed = 0;
    while executed < 200 {
        w.bank.warp(1).await;
        w.set_price(w.price).await;
        if executed + pending.len() < 200 {
            pending.push_back(w.request(Who::Bob, RequestKind::Redeem, Some(w.long), 1, 0).await);
        }
        let slot = w.bank.slot().await;
        let due = w.request_state(Who::Bob, pending[0]).await.target as u64;
        if due == slot {
            let out = w.execute(Who::Bob, pending.pop_front().unwrap()).await;
            let ev = out.events::<PositionSettled>();
            out.expect_ok("redeem one share");
            assert_eq!(w.token_state(w.long).await.last_fee_slot, slot);
            streaming += ev[0].streaming_fee;
            charge += ev[0].charge;
            executed += 1;
        }
    }
    let t1 = w.token_state(w.long).await;
    let slots = t1.last_fee_slot - t0.last_fee_slot;
    let once = streaming_fee_floor_carry(equity, t0.params.streaming_fee_bps, slots, t0.streaming_fee_carry).unwrap().fee;
    // The long side's charge index (funding and borrow: a lone long pays both).
    let index = w.market_state().await.long_index;
    let charge_once = leveraged_token::math::funding::charge_ceil_prepaid(t0.cost.unsigned_abs(), index, t0.index_snapshot, t0.charge_prepaid).unwrap().fee;
    assert!(charge_once > 0, "the long pays funding and borrow");
    println!("over {slots} slots: streaming {streaming} (one settlement: {once}), charge {charge} (one settlement: {charge_once}); a ceil per settlement added up to {slots} to each");
    // The equity and cost moved by the redeemed shares only: within a unit or two of the one-shot fees.
    assert!(streaming.abs_diff(once) <= 1, "streaming {streaming} vs {once}");
    assert!(charge.abs_diff(charge_once) <= 2, "charge {charge} vs {charge_once}");
}

/// What the admin signs — pauses, proposals, cancellations, creating a
/// token, handing over the role — moves no token balance anywhere.
#[tokio::test]
async fn no_instruction_the_admin_signs_moves_a_token_balance() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 10_000 * USDC, 0).await.unwrap();
    w.mint(Who::Bob, w.short, 10_000 * USDC, 0).await.unwrap();
    let admin = w.admin.insecure_clone();
    let a = admin.pubkey();
    let accounts = [w.long.vault, w.short.vault, w.market.pool_vault, w.treasury_collateral, w.alice.collateral, w.alice.long, w.bob.collateral, w.bob.short, w.lp.collateral, w.lp.lp];
    let mut before = Vec::new();
    for k in accounts {
        before.push(w.bank.balance(k).await);
    }
    let supplies = (w.bank.supply(w.long.share_mint).await, w.bank.supply(w.short.share_mint).await, w.bank.supply(w.market.lp_mint).await);
    let tp = TokenParams { keeper_reward: 1_000 * USDC, ..w.token_state(w.long).await.params };
    let mp = leveraged_token_sdk::MarketParams { trade_fee_bps: 100, ..w.market_state().await.params };
    let next = w.bank.funded_keypair().await;
    let steps = [
        ix::set_global_pause(a, PAUSE_ALL, true),
        ix::set_market_pause(a, w.market.market, PAUSE_ALL, true),
        ix::set_token_pause(a, w.long.token, PAUSE_ALL, true),
        ix::set_global_pause(a, PAUSE_ALL, false),
        ix::set_market_pause(a, w.market.market, PAUSE_ALL, false),
        ix::set_token_pause(a, w.long.token, PAUSE_ALL, false),
        ix::propose_token_params(a, w.long.token, tp),
        ix::propose_market_params(a, w.market.market, mp),
        ix::cancel_param_proposal(a, w.long.token, a),
        ix::cancel_param_proposal(a, w.market.market, a),
        ix::create_leveraged_token(a, &w.market.token(20_000), token_params(20_000)),
        ix::propose_admin(a, next.pubkey()),
    ];
    for i in steps {
        w.bank.send(&[i], &[&admin]).await.expect_ok("admin instruction");
    }
    w.bank.send(&[ix::accept_admin(next.pubkey())], &[&next]).await.expect_ok("accept");
    let mut after = Vec::new();
    for k in accounts {
        after.push(w.bank.balance(k).await);
    }
    assert_eq!(after, before);
    assert_eq!((w.bank.supply(w.long.share_mint).await, w.bank.supply(w.short.share_mint).await, w.bank.supply(w.market.lp_mint).await), supplies);
}

/// A stranger's lamports at a future proposal address (F1's attack on the
/// timelock: it would block every change of the token for ever) stay there
/// and do not stop the admin's proposal.
#[tokio::test]
async fn prefunding_a_proposal_address_does_not_block_a_proposal() {
    let mut w = World::new().await;
    let mallory = w.bank.funded_keypair().await;
    let at = proposal_key(w.long.token);
    let gift = w.bank.ctx.banks_client.get_rent().await.unwrap().minimum_balance(0);
    w.bank.send(&[anchor_lang::solana_program::system_instruction::transfer(&mallory.pubkey(), &at, gift)], &[&mallory]).await.expect_ok("gift");
    let admin = w.admin.insecure_clone();
    let p = TokenParams { mint_fee_bps: 20, ..w.token_state(w.long).await.params };
    w.bank.send(&[ix::propose_token_params(admin.pubkey(), w.long.token, p)], &[&admin]).await.expect_ok("propose");
    let acc = w.bank.raw_account(at).await.unwrap();
    assert_eq!(acc.owner, leveraged_token::ID);
    let proposal: ParamProposal = w.bank.account(at).await;
    assert_eq!((proposal.target, proposal.change), (w.long.token, ParamChange::Token(p)));
}
