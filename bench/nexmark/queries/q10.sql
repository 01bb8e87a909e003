-- Nexmark q10: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:e2e_test/streaming/nexmark/views/q10.slt.part
-- Unchanged.

CREATE MATERIALIZED VIEW nexmark_q10 AS
SELECT auction, bidder, price, date_time, TO_CHAR(date_time, 'YYYY-MM-DD') as date, TO_CHAR(date_time, 'HH:MI') as time FROM bid;
