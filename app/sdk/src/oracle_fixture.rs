//! Pyth account bytes of both kinds, for the bank, the demo and
//! `lt oracle-fixture` (accounts for `solana-test-validator --account`).

use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorSerialize;
use leveraged_token::oracle::{PriceFeedMessage, PriceUpdateV2, VerificationLevel, PRICE_UPDATE_V2_DISCRIMINATOR};
use pyth_sdk_solana::state::{AccountType, PriceStatus, SolanaPriceAccount, MAGIC, VERSION_2};

/// Bytes of a Pyth legacy price account: its aggregate published at
/// `pub_slot`, the previous one a slot earlier (an update every slot).
pub fn legacy_price_account(price: i64, conf: u64, expo: i32, pub_slot: u64, status: PriceStatus) -> Vec<u8> {
    let mut acc: SolanaPriceAccount = bytemuck::Zeroable::zeroed();
    acc.magic = MAGIC;
    acc.ver = VERSION_2;
    acc.atype = AccountType::Price as u32;
    acc.size = core::mem::size_of::<SolanaPriceAccount>() as u32;
    acc.expo = expo;
    acc.agg.price = price;
    acc.agg.conf = conf;
    acc.agg.status = status;
    acc.agg.pub_slot = pub_slot;
    acc.prev_slot = pub_slot.saturating_sub(1);
    acc.valid_slot = pub_slot;
    acc.last_slot = pub_slot;
    bytemuck::bytes_of(&acc).to_vec()
}

/// Bytes of a Pyth pull `PriceUpdateV2` account: published at
/// `publish_time`, the previous update a second earlier (Pyth's cadence).
pub fn pull_price_account(feed_id: [u8; 32], price: i64, conf: u64, expo: i32, publish_time: i64, level: VerificationLevel, posted_slot: u64) -> Vec<u8> {
    let update = PriceUpdateV2 {
        write_authority: Pubkey::new_unique(),
        verification_level: level,
        price_message: PriceFeedMessage { feed_id, price, conf, exponent: expo, publish_time, prev_publish_time: publish_time - 1, ema_price: price, ema_conf: conf },
        posted_slot,
    };
    let mut data = PRICE_UPDATE_V2_DISCRIMINATOR.to_vec();
    update.serialize(&mut data).unwrap();
    data
}
