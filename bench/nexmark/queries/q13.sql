-- Nexmark q13: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:ci/scripts/sql/nexmark/q13.sql
-- Changed: the blackhole sink becomes a materialized view; the side input has 10,000 rows
-- (RisingWave's CI takes the count from a variable); the processing-time lookup join
-- (FOR SYSTEM_TIME AS OF PROCTIME()) becomes an ordinary join, which gives the same rows
-- because side_input never changes during the run.

CREATE TABLE side_input(
    key BIGINT PRIMARY KEY,
    value VARCHAR
);
INSERT INTO side_input SELECT v, v::varchar FROM generate_series(0, 10000 - 1) AS s(v);

CREATE MATERIALIZED VIEW nexmark_q13 AS
SELECT B.auction, B.bidder, B.price, B.date_time, S.value
FROM bid B join side_input S on mod(B.auction, 10000) = S.key;
