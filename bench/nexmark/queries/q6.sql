-- Nexmark q6: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:e2e_test/streaming/nexmark/views/q6_group_top1.slt.part
-- RisingWave's q6_group_top1 variant (the original q6 averages each seller's last 10 closed
-- auctions, which needs a notion of closing); unchanged but for the view's name (nexmark_q6).

CREATE MATERIALIZED VIEW nexmark_q6
AS
SELECT
    Q.seller,
    AVG(Q.final) OVER
        (PARTITION BY Q.seller ORDER BY Q.date_time ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
    as avg
FROM (
    SELECT ROW_NUMBER() OVER (PARTITION BY A.id, A.seller ORDER BY B.price) as rank, A.seller, B.price as final,  B.date_time
    FROM auction AS A, bid AS B
    WHERE A.id = B.auction and B.date_time between A.date_time and A.expires
) AS Q
WHERE Q.rank <= 1;
