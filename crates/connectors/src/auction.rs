//! AUCTION: a small auction house, evert's first demo data.
//!
//! Five relations (the names and columns Materialize's auction generator uses):
//!
//! | relation | columns |
//! |---|---|
//! | `organizations` | `id bigint, name text` |
//! | `users` | `id bigint, org_id bigint, name text` |
//! | `accounts` | `id bigint, org_id bigint, balance bigint` |
//! | `auctions` | `id bigint, seller bigint, item text, end_time timestamptz` |
//! | `bids` | `id bigint, buyer bigint, auction_id bigint, amount integer, bid_time timestamptz` |
//!
//! Offset 0 also creates the organizations, users and accounts, which never change. Every
//! tenth offset (0, 10, 20, …) opens an auction that closes ten ticks later; the nine
//! offsets after it are bids on that auction. Who sells, who bids, what and how much are
//! pseudo-random functions of the offset, so a resumed source continues the same story;
//! `end_time` and `bid_time` come from the wall clock when the offset is produced.

use evert_repr::{DateTime, Datum, RelationDesc, Row, ScalarType};

use crate::generator::{LoadGenerator, OutputUpdates};
use crate::nexmark::desc_of;

pub const ORGANIZATIONS: usize = 0;
pub const USERS: usize = 1;
pub const ACCOUNTS: usize = 2;
pub const AUCTIONS: usize = 3;
pub const BIDS: usize = 4;

/// Offsets per auction: the auction itself and its bids.
pub const OFFSETS_PER_AUCTION: u64 = 10;
pub const USER_COUNT: u64 = 1000;

const ORGANIZATION_NAMES: &[&str] = &[
    "Northwind Traders",
    "Blue Harbor Antiques",
    "Copper Kettle Co",
    "Granite Peak Outfitters",
    "Lantern & Loom",
    "Meridian Books",
    "Old Mill Furniture",
    "Quartz Row Jewelers",
    "Red Barn Collectibles",
    "Silver Birch Gallery",
    "Tidewater Instruments",
    "Willow Creek Records",
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Bruno", "Chloe", "Dmitri", "Esme", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi",
    "Luca", "Mira", "Nils", "Oona", "Pavel", "Rosa", "Sami", "Tove", "Umar",
];

const LAST_NAMES: &[&str] = &[
    "Abbott",
    "Brandt",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
];

const ITEMS: &[&str] = &[
    "Brass Telescope",
    "Vintage Typewriter",
    "Signed First Edition",
    "Oak Writing Desk",
    "Pocket Watch",
    "Art Deco Lamp",
    "Porcelain Vase",
    "Vinyl Record Collection",
    "Mountain Bike",
    "Film Camera",
    "Chess Set",
    "Silk Rug",
];

pub fn outputs() -> Vec<(&'static str, RelationDesc)> {
    use ScalarType::{Int32, Int64, String, TimestampTz};
    vec![
        ("organizations", desc_of(&[("id", Int64), ("name", String)])),
        (
            "users",
            desc_of(&[("id", Int64), ("org_id", Int64), ("name", String)]),
        ),
        (
            "accounts",
            desc_of(&[("id", Int64), ("org_id", Int64), ("balance", Int64)]),
        ),
        (
            "auctions",
            desc_of(&[
                ("id", Int64),
                ("seller", Int64),
                ("item", String),
                ("end_time", TimestampTz),
            ]),
        ),
        (
            "bids",
            desc_of(&[
                ("id", Int64),
                ("buyer", Int64),
                ("auction_id", Int64),
                ("amount", Int32),
                ("bid_time", TimestampTz),
            ]),
        ),
    ]
}

/// A 64-bit mix (splitmix64's finalizer): a fixed pseudo-random function of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn pick<'a>(list: &[&'a str], x: u64) -> &'a str {
    list[(x % list.len() as u64) as usize]
}

pub struct AuctionHouse {
    tick_interval_ms: u64,
    next: u64,
}

impl AuctionHouse {
    pub fn new(tick_interval_ms: u64, offset: u64) -> AuctionHouse {
        AuctionHouse {
            tick_interval_ms,
            next: offset,
        }
    }

    fn snapshot(out: &mut OutputUpdates) {
        for (i, name) in ORGANIZATION_NAMES.iter().enumerate() {
            let id = i as i64 + 1;
            out[ORGANIZATIONS].push((Row::pack_slice(&[Datum::Int64(id), Datum::String(name)]), 1));
            let balance = 1_000 + (mix(id as u64 ^ 0xacc0) % 99_000) as i64;
            out[ACCOUNTS].push((
                Row::pack_slice(&[Datum::Int64(id), Datum::Int64(id), Datum::Int64(balance)]),
                1,
            ));
        }
        for id in 1..=USER_COUNT {
            let h = mix(id ^ 0x5eed);
            let org = 1 + h % ORGANIZATION_NAMES.len() as u64;
            let name = format!(
                "{} {}",
                pick(FIRST_NAMES, h >> 8),
                pick(LAST_NAMES, h >> 24)
            );
            out[USERS].push((
                Row::pack_slice(&[
                    Datum::Int64(id as i64),
                    Datum::Int64(org as i64),
                    Datum::String(&name),
                ]),
                1,
            ));
        }
    }
}

impl LoadGenerator for AuctionHouse {
    fn position(&self) -> u64 {
        self.next
    }

    fn produce(&mut self, count: u64, now_ms: u64, out: &mut OutputUpdates) {
        let now = Datum::TimestampTz(DateTime::from_millis(now_ms));
        for offset in self.next..self.next + count {
            if offset == 0 {
                Self::snapshot(out);
            }
            let h = mix(offset);
            let auction = (offset / OFFSETS_PER_AUCTION) as i64 + 1;
            let step = offset % OFFSETS_PER_AUCTION;
            let user = (1 + h % USER_COUNT) as i64;
            if step == 0 {
                let end = now_ms + OFFSETS_PER_AUCTION * self.tick_interval_ms;
                out[AUCTIONS].push((
                    Row::pack_slice(&[
                        Datum::Int64(auction),
                        Datum::Int64(user),
                        Datum::String(pick(ITEMS, h >> 32)),
                        Datum::TimestampTz(DateTime::from_millis(end)),
                    ]),
                    1,
                ));
            } else {
                let id = (offset / OFFSETS_PER_AUCTION) * (OFFSETS_PER_AUCTION - 1) + step;
                let amount = 1 + ((h >> 32) % 100) as i32;
                out[BIDS].push((
                    Row::pack_slice(&[
                        Datum::Int64(id as i64),
                        Datum::Int64(user),
                        Datum::Int64(auction),
                        Datum::Int32(amount),
                        now,
                    ]),
                    1,
                ));
            }
        }
        self.next += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::{build, empty_updates, GeneratorKind, GeneratorOptions};

    #[test]
    fn snapshot_then_auctions_and_bids() {
        let mut out = empty_updates(GeneratorKind::Auction);
        build(GeneratorKind::Auction, &GeneratorOptions::default(), 0).produce(25, 0, &mut out);
        assert_eq!(out[ORGANIZATIONS].len(), ORGANIZATION_NAMES.len());
        assert_eq!(out[ACCOUNTS].len(), ORGANIZATION_NAMES.len());
        assert_eq!(out[USERS].len() as u64, USER_COUNT);
        assert_eq!(out[AUCTIONS].len(), 3);
        assert_eq!(out[BIDS].len(), 22);
        // Bid ids are 1, 2, 3, … without gaps.
        let ids: Vec<i64> = out[BIDS]
            .iter()
            .map(|(r, _)| match r.unpack_first() {
                Datum::Int64(i) => i,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(ids, (1..=22).collect::<Vec<_>>());
    }
}
