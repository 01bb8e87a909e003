-- Nexmark q5: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:e2e_test/streaming/nexmark/views/q5.slt.part
-- Changed: HOP(bid, date_time, INTERVAL '2' SECOND, INTERVAL '10' SECOND) is rewritten as SQL.
-- A hop of slide 2 s and size 10 s puts each bid in the 10 / 2 = 5 windows whose start is a
-- multiple of 2 s in (date_time - 10 s, date_time]: the bid is crossed with k = 0..4 and
-- window_start = (date_time floored to 2 s) - k * 2 s.

CREATE MATERIALIZED VIEW nexmark_q5
AS
SELECT
    AuctionBids.auction, AuctionBids.num
FROM (
    SELECT
        bid.auction,
        count(*) AS num,
        window_start AS starttime
    FROM (
        SELECT bid.*,
            TIMESTAMP '1970-01-01 00:00:00'
                + (floor(extract(epoch FROM date_time) / 2) - k) * INTERVAL '2' SECOND AS window_start
        FROM bid CROSS JOIN generate_series(0, 4) AS k
    ) AS bid
    GROUP BY
        window_start,
        bid.auction
) AS AuctionBids
JOIN (
    SELECT
        max(CountBids.num) AS maxn,
        CountBids.starttime_c
    FROM (
        SELECT
            count(*) AS num,
            window_start AS starttime_c
        FROM (
            SELECT bid.*,
                TIMESTAMP '1970-01-01 00:00:00'
                    + (floor(extract(epoch FROM date_time) / 2) - k) * INTERVAL '2' SECOND AS window_start
            FROM bid CROSS JOIN generate_series(0, 4) AS k
        ) AS bid
        GROUP BY
            bid.auction,
            window_start
        ) AS CountBids
    GROUP BY
        CountBids.starttime_c
    ) AS MaxBids
ON
    AuctionBids.starttime = MaxBids.starttime_c AND
    AuctionBids.num >= MaxBids.maxn;
