-- Nexmark q1: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:e2e_test/streaming/nexmark/views/q1.slt.part
-- Unchanged.

CREATE MATERIALIZED VIEW nexmark_q1
AS
SELECT
    auction,
    bidder,
    0.908 * price as price,
    date_time
FROM bid;
