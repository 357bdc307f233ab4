//! Footprint measurements of the leveraged-token program — transaction sizes,
//! CPIs, account sizes and rent, handler instruction counts under callgrind, an
//! on-paper compute-unit estimate and keeper throughput. `scripts/footprint.sh`
//! runs them all and writes docs/footprint.md.

pub mod callgrind;
pub mod estimate;
pub mod region_alloc;
pub mod report;
pub mod scenario;
pub mod throughput;
