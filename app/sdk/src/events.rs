//! Decoding the program's events from transaction logs (cluster or bank).

use anchor_lang::{AnchorDeserialize, Discriminator};
use base64::Engine;

/// Decode Anchor events of type `T` from transaction logs.
pub fn decode_events<T: AnchorDeserialize + Discriminator>(logs: &[String]) -> Vec<T> {
    logs.iter()
        // A validator logs `Program data: …`; the native bank prefixes `Program log: `.
        .filter_map(|l| l.split_once("Program data: ").map(|(_, b)| b))
        .filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|d| d.starts_with(T::DISCRIMINATOR))
        .filter_map(|d| T::deserialize(&mut &d[T::DISCRIMINATOR.len()..]).ok())
        .collect()
}
