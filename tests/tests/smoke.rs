#![allow(deprecated)]
use leveraged_token_tests::fixtures::*;

#[tokio::test]
async fn world_boots_and_a_user_mints_and_redeems() {
    let mut w = World::new().await;
    let logs = w.mint(Who::Alice, w.long, 1_000 * USDC, 0).await.unwrap();
    let shares = w.bank.balance(w.alice.long).await;
    println!("{}", logs.join("\n"));
    assert!(shares > 0);
    w.redeem(Who::Alice, w.long, shares, 0).await.unwrap();
    assert_eq!(w.bank.balance(w.alice.long).await, 0);
}
