-- Nexmark q7: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:e2e_test/streaming/nexmark/views/q7.slt.part
-- Changed: TUMBLE(bid, date_time, INTERVAL '10' SECOND) is rewritten as SQL: a derived table
-- adding window_start = date_time floored to a multiple of 10 s (since the Unix epoch) and
-- window_end = window_start + 10 s.

CREATE MATERIALIZED VIEW nexmark_q7
AS
SELECT
    B.auction,
    B.price,
    B.bidder,
    B.date_time
from
    bid B
    JOIN (
        SELECT
            MAX(price) AS maxprice,
            window_end as date_time
        FROM (
            SELECT bid.*,
                TIMESTAMP '1970-01-01 00:00:00'
                    + (floor(extract(epoch FROM date_time) / 10) + 1) * INTERVAL '10' SECOND AS window_end
            FROM bid
        ) AS tumble
        GROUP BY
            window_end
    ) B1 ON B.price = B1.maxprice
WHERE
    B.date_time BETWEEN B1.date_time - INTERVAL '10' SECOND
    AND B1.date_time;
