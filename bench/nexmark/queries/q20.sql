-- Nexmark q20: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:e2e_test/streaming/nexmark/views/q20.slt.part
-- Unchanged.

CREATE MATERIALIZED VIEW nexmark_q20 AS
SELECT
    auction, bidder, price, channel, url, B.date_time as bid_date_time, B.extra as bid_extra,
    item_name, description, initial_bid, reserve, A.date_time as auction_date_time, expires, seller, category, A.extra as auction_extra
FROM
    bid AS B INNER JOIN auction AS A on B.auction = A.id
WHERE A.category = 10;
