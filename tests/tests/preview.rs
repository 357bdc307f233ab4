//! The settlement preview is the settlement: before every mint and redeem
//! execution (at its request's price slot) and every rebalance of a seeded
//! random walk (price moves of up to ±15 %, gaps of up to 60,000 slots, both
//! tokens), `settlement::preview_settlement` on the fetched accounts predicts
//! exactly what the instruction then settles — its `PositionSettled` event
//! (PnL, borrow fee, streaming fee, transfer, equity), the market's accrued
//! borrow index, and whether the token is wiped. A mint or redeem whose
//! settlement would wipe the token refunds instead (a wipe needs a fresh
//! price), exactly where the preview wipes.

use leveraged_token::events::{PositionSettled, RequestRefunded, TokenWiped};
use leveraged_token::math::price::normalize_price;
use leveraged_token::settlement::{preview_settlement, SettleAt};
use leveraged_token::state::{RefundReason, RequestKind};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::TxOutcome;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEEDS: [u64; 6] = [1, 2, 3, 42, 2026, 77_777];
const STEPS: usize = 40;

#[tokio::test]
async fn the_settlement_preview_equals_what_mint_redeem_and_rebalance_settle() {
    let (mut checked, mut wipes, mut refunded) = (0, 0, 0);
    for seed in SEEDS {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut w = World::new().await;
        for t in [w.long, w.short] {
            w.mint(Who::Alice, t, 20_000 * USDC, 0).await.unwrap();
        }
        for step in 0..STEPS {
            w.bank.warp(rng.gen_range(1..60_000)).await;
            let moved = w.price * (10_000 + rng.gen_range(-1_500..=1_500)) / 10_000;
            w.set_price(moved.max(USD)).await;
            let t = if rng.gen_bool(0.5) { w.long } else { w.short };
            let before = w.token_state(t).await;
            if before.is_wiped() {
                continue;
            }
            // A mint or redeem settles at its execution, at its price slot: request
            // it and move there (publishing the price for it) before previewing.
            let op = rng.gen_range(0..3);
            let nonce = match op {
                0 => Some(w.try_request(Who::Alice, RequestKind::Mint, Some(t), rng.gen_range(1..2_000) * USDC, 0).await),
                1 => {
                    let held = w.bank.balance(w.shares_of(&w.alice, &t)).await;
                    Some(w.try_request(Who::Alice, RequestKind::Redeem, Some(t), held / rng.gen_range(2..10), 0).await)
                }
                _ => None,
            };
            let nonce = match nonce {
                Some((_, out)) if out.result.is_err() => continue, // nothing left to redeem
                Some((nonce, _)) => {
                    w.reach_request(Who::Alice, nonce).await;
                    Some(nonce)
                }
                None => None,
            };
            let market = w.market_state().await;
            let (vault, pool) = (w.bank.balance(t.vault).await, w.bank.balance(w.market.pool_vault).await);
            let clock = w.bank.clock().await;
            let slot = clock.slot;
            let insurance = w.bank.balance(w.market.insurance_vault).await;
            let price = normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
            let at = SettleAt { vault_amount: vault, pool_amount: pool, insurance_amount: insurance, slot, now: clock.unix_timestamp };
            let p = preview_settlement(&market, &before, &price, &at).unwrap();

            let out: TxOutcome = match nonce {
                Some(nonce) => w.execute(Who::Alice, nonce).await,
                None => w.rebalance(Who::Bob, t).await,
            };
            if out.result.is_err() {
                continue; // a refused rebalance gate settles nothing
            }
            // A mint or redeem at a price that would wipe the token refunds (a
            // wipe needs a fresh price, in a rebalance), as does a mint past the
            // caps on the net book; either settles nothing.
            let refunds = out.events::<RequestRefunded>();
            if let Some(r) = refunds.first() {
                match r.reason {
                    RefundReason::TokenWiped => assert!(p.outcome.wiped, "seed {seed} step {step} op {op}: a wipe refund only where the preview wipes"),
                    RefundReason::ExposureCap => assert!(!p.outcome.wiped, "seed {seed} step {step} op {op}: a wiping settlement refunds as a wipe"),
                    other => panic!("seed {seed} step {step} op {op}: refunded {other:?}"),
                }
                refunded += 1;
                continue;
            }
            let ctx = format!("seed {seed} step {step} op {op} token {}", t.target_leverage_bps);
            let settled: Vec<PositionSettled> = out.events();
            assert_eq!(settled.len(), 1, "{ctx}");
            let e = &settled[0];
            assert_eq!(
                (e.price, e.pnl, e.charge, e.borrow_fee, e.funding_fee, e.streaming_fee, e.transfer, e.equity_after),
                (price.price, p.outcome.pnl, p.outcome.charge, p.outcome.borrow_fee, p.outcome.funding_fee, p.streaming_fee, p.outcome.transfer, p.equity),
                "{ctx}: (price, pnl, charge, borrow fee, funding fee, streaming fee, transfer, equity)"
            );
            let m = w.market_state().await;
            assert_eq!(
                (m.long_index, m.short_index, m.long_borrow_index, m.short_borrow_index),
                (p.indices.long, p.indices.short, p.indices.long_borrow, p.indices.short_borrow),
                "{ctx}: accrued indices"
            );
            assert_eq!(out.events::<TokenWiped>().len(), usize::from(p.outcome.wiped), "{ctx}: wiped");
            assert_eq!(w.token_state(t).await.last_fee_slot, slot, "{ctx}");
            checked += 1;
            wipes += usize::from(p.outcome.wiped);
        }
    }
    // The walk must exercise the property, not skip past it.
    assert!(checked >= SEEDS.len() * STEPS / 2, "only {checked} settlements checked");
    println!("{checked} settlements matched their preview ({wipes} wipes); {refunded} mints or redeems refunded where the preview wiped");
}
