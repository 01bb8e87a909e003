//! TPCH: the eight TPC-H tables at a scale factor, generated once.
//!
//! Rows come from the `tpchgen` crate, a port of the TPC-H kit's `dbgen` that produces the
//! same rows (so SF 0.01 has 150 suppliers… exactly the spec's counts: see the tests).
//! The whole data set is offset 0: it is committed at one timestamp, so every view over it
//! sees all of it or none of it, and the source is finished after that.
//!
//! Column names are the specification's; identifiers are `bigint`, money and quantities
//! `numeric(15,2)`, dates `date`, other strings `text`.

use evert_repr::{Date, Datum, RelationDesc, Row, ScalarType};
use rust_decimal::Decimal;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};

use crate::generator::{LoadGenerator, OutputUpdates};
use crate::nexmark::desc_of;

pub const REGION: usize = 0;
pub const NATION: usize = 1;
pub const SUPPLIER: usize = 2;
pub const CUSTOMER: usize = 3;
pub const PART: usize = 4;
pub const PARTSUPP: usize = 5;
pub const ORDERS: usize = 6;
pub const LINEITEM: usize = 7;

pub fn outputs() -> Vec<(&'static str, RelationDesc)> {
    use ScalarType::{Date, Int32, Int64, String};
    let money = ScalarType::Numeric {
        precision: Some(15),
        scale: Some(2),
    };
    vec![
        (
            "region",
            desc_of(&[
                ("r_regionkey", Int64),
                ("r_name", String),
                ("r_comment", String),
            ]),
        ),
        (
            "nation",
            desc_of(&[
                ("n_nationkey", Int64),
                ("n_name", String),
                ("n_regionkey", Int64),
                ("n_comment", String),
            ]),
        ),
        (
            "supplier",
            desc_of(&[
                ("s_suppkey", Int64),
                ("s_name", String),
                ("s_address", String),
                ("s_nationkey", Int64),
                ("s_phone", String),
                ("s_acctbal", money.clone()),
                ("s_comment", String),
            ]),
        ),
        (
            "customer",
            desc_of(&[
                ("c_custkey", Int64),
                ("c_name", String),
                ("c_address", String),
                ("c_nationkey", Int64),
                ("c_phone", String),
                ("c_acctbal", money.clone()),
                ("c_mktsegment", String),
                ("c_comment", String),
            ]),
        ),
        (
            "part",
            desc_of(&[
                ("p_partkey", Int64),
                ("p_name", String),
                ("p_mfgr", String),
                ("p_brand", String),
                ("p_type", String),
                ("p_size", Int32),
                ("p_container", String),
                ("p_retailprice", money.clone()),
                ("p_comment", String),
            ]),
        ),
        (
            "partsupp",
            desc_of(&[
                ("ps_partkey", Int64),
                ("ps_suppkey", Int64),
                ("ps_availqty", Int32),
                ("ps_supplycost", money.clone()),
                ("ps_comment", String),
            ]),
        ),
        (
            "orders",
            desc_of(&[
                ("o_orderkey", Int64),
                ("o_custkey", Int64),
                ("o_orderstatus", String),
                ("o_totalprice", money.clone()),
                ("o_orderdate", Date),
                ("o_orderpriority", String),
                ("o_clerk", String),
                ("o_shippriority", Int32),
                ("o_comment", String),
            ]),
        ),
        (
            "lineitem",
            desc_of(&[
                ("l_orderkey", Int64),
                ("l_partkey", Int64),
                ("l_suppkey", Int64),
                ("l_linenumber", Int32),
                ("l_quantity", money.clone()),
                ("l_extendedprice", money.clone()),
                ("l_discount", money.clone()),
                ("l_tax", money),
                ("l_returnflag", String),
                ("l_linestatus", String),
                ("l_shipdate", Date),
                ("l_commitdate", Date),
                ("l_receiptdate", Date),
                ("l_shipinstruct", String),
                ("l_shipmode", String),
                ("l_comment", String),
            ]),
        ),
    ]
}

pub struct Tpch {
    scale_factor: f64,
    next: u64,
}

impl Tpch {
    pub fn new(scale_factor: f64, offset: u64) -> Tpch {
        Tpch {
            scale_factor,
            next: offset,
        }
    }
}

fn money(cents: i64) -> Datum<'static> {
    Datum::Numeric(Decimal::new(cents, 2))
}

fn date(days_since_epoch: i32) -> Datum<'static> {
    Datum::Date(Date(days_since_epoch))
}

/// Appends the whole TPC-H data set at `scale_factor` to `out`.
pub fn generate(scale_factor: f64, out: &mut OutputUpdates) {
    let sf = scale_factor;
    for r in RegionGenerator::new(sf, 1, 1).iter() {
        out[REGION].push((
            Row::pack_slice(&[
                Datum::Int64(r.r_regionkey),
                Datum::String(r.r_name),
                Datum::String(r.r_comment),
            ]),
            1,
        ));
    }
    for n in NationGenerator::new(sf, 1, 1).iter() {
        out[NATION].push((
            Row::pack_slice(&[
                Datum::Int64(n.n_nationkey),
                Datum::String(n.n_name),
                Datum::Int64(n.n_regionkey),
                Datum::String(n.n_comment),
            ]),
            1,
        ));
    }
    for s in SupplierGenerator::new(sf, 1, 1).iter() {
        out[SUPPLIER].push((
            Row::pack_slice(&[
                Datum::Int64(s.s_suppkey),
                Datum::String(&s.s_name.to_string()),
                Datum::String(&s.s_address.to_string()),
                Datum::Int64(s.s_nationkey),
                Datum::String(&s.s_phone.to_string()),
                money(s.s_acctbal.into_inner()),
                Datum::String(&s.s_comment),
            ]),
            1,
        ));
    }
    for c in CustomerGenerator::new(sf, 1, 1).iter() {
        out[CUSTOMER].push((
            Row::pack_slice(&[
                Datum::Int64(c.c_custkey),
                Datum::String(&c.c_name.to_string()),
                Datum::String(&c.c_address.to_string()),
                Datum::Int64(c.c_nationkey),
                Datum::String(&c.c_phone.to_string()),
                money(c.c_acctbal.into_inner()),
                Datum::String(c.c_mktsegment),
                Datum::String(c.c_comment),
            ]),
            1,
        ));
    }
    for p in PartGenerator::new(sf, 1, 1).iter() {
        out[PART].push((
            Row::pack_slice(&[
                Datum::Int64(p.p_partkey),
                Datum::String(&p.p_name.to_string()),
                Datum::String(&p.p_mfgr.to_string()),
                Datum::String(&p.p_brand.to_string()),
                Datum::String(p.p_type),
                Datum::Int32(p.p_size),
                Datum::String(p.p_container),
                money(p.p_retailprice.into_inner()),
                Datum::String(p.p_comment),
            ]),
            1,
        ));
    }
    for ps in PartSuppGenerator::new(sf, 1, 1).iter() {
        out[PARTSUPP].push((
            Row::pack_slice(&[
                Datum::Int64(ps.ps_partkey),
                Datum::Int64(ps.ps_suppkey),
                Datum::Int32(ps.ps_availqty),
                money(ps.ps_supplycost.into_inner()),
                Datum::String(ps.ps_comment),
            ]),
            1,
        ));
    }
    for o in OrderGenerator::new(sf, 1, 1).iter() {
        out[ORDERS].push((
            Row::pack_slice(&[
                Datum::Int64(o.o_orderkey),
                Datum::Int64(o.o_custkey),
                Datum::String(o.o_orderstatus.as_str()),
                money(o.o_totalprice.into_inner()),
                date(o.o_orderdate.to_unix_epoch()),
                Datum::String(o.o_orderpriority),
                Datum::String(&o.o_clerk.to_string()),
                Datum::Int32(o.o_shippriority),
                Datum::String(o.o_comment),
            ]),
            1,
        ));
    }
    for l in LineItemGenerator::new(sf, 1, 1).iter() {
        out[LINEITEM].push((
            Row::pack_slice(&[
                Datum::Int64(l.l_orderkey),
                Datum::Int64(l.l_partkey),
                Datum::Int64(l.l_suppkey),
                Datum::Int32(l.l_linenumber),
                money(l.l_quantity * 100),
                money(l.l_extendedprice.into_inner()),
                money(l.l_discount.into_inner()),
                money(l.l_tax.into_inner()),
                Datum::String(l.l_returnflag),
                Datum::String(l.l_linestatus),
                date(l.l_shipdate.to_unix_epoch()),
                date(l.l_commitdate.to_unix_epoch()),
                date(l.l_receiptdate.to_unix_epoch()),
                Datum::String(l.l_shipinstruct),
                Datum::String(l.l_shipmode),
                Datum::String(l.l_comment),
            ]),
            1,
        ));
    }
}

impl LoadGenerator for Tpch {
    fn position(&self) -> u64 {
        self.next
    }

    fn end(&self) -> Option<u64> {
        Some(1)
    }

    fn produce(&mut self, count: u64, _now_ms: u64, out: &mut OutputUpdates) {
        if self.next == 0 && count > 0 {
            generate(self.scale_factor, out);
            self.next = 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::{empty_updates, GeneratorKind};

    /// The row counts TPC-H's dbgen produces at SF 0.01.
    #[test]
    fn scale_factor_one_hundredth() {
        let mut out = empty_updates(GeneratorKind::Tpch);
        generate(0.01, &mut out);
        let counts: Vec<usize> = out.iter().map(|o| o.len()).collect();
        assert_eq!(counts, vec![5, 25, 100, 1500, 2000, 8000, 15000, 60175]);
        for ((_, desc), rows) in outputs().iter().zip(&out) {
            assert!(rows.iter().all(|(r, _)| r.len() == desc.arity()));
        }
        // Every line item names a part of this scale (2,000 parts) and its order's first
        // line ships in dbgen's date range.
        for (row, _) in &out[LINEITEM] {
            let datums = row.unpack();
            assert!(matches!(datums[1], Datum::Int64(p) if (1..=2000).contains(&p)));
            let Datum::Date(shipped) = datums[10] else {
                unreachable!()
            };
            assert!(shipped >= Date::from_ymd(1992, 1, 2).unwrap());
            assert!(shipped <= Date::from_ymd(1998, 12, 1).unwrap());
        }
    }
}
