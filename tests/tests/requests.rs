#![allow(deprecated)]
//! The two-step user flows: request, then execution at the one oracle update
//! for the request's price time.

use leveraged_token::events::{Minted, Redeemed, RequestRefunded};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::*;

#[tokio::test]
async fn a_mint_and_a_redeem_fill_at_the_update_for_their_price_time() {
    let mut w = World::new().await;
    let c0 = w.bank.clock().await;
    let out = w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await;
    let minted = out.events::<Minted>();
    out.expect_ok("execute mint");
    assert_eq!(minted.len(), 1);
    let c1 = w.bank.clock().await;
    eprintln!("clock before {} {} after {} {}", c0.slot, c0.unix_timestamp, c1.slot, c1.unix_timestamp);
    let shares = w.bank.balance(w.alice.long).await;
    assert_eq!(shares, minted[0].shares_out);
    w.bank.warp(10).await;
    let c2 = w.bank.clock().await;
    eprintln!("after warp 10: {} {}", c2.slot, c2.unix_timestamp);
    let out = w.redeem(Who::Alice, w.long, shares, 0).await;
    assert_eq!(out.events::<Redeemed>().len(), 1);
    assert!(out.events::<RequestRefunded>().is_empty());
    out.expect_ok("execute redeem");
}
