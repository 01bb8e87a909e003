-- Nexmark q14: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:e2e_test/streaming/nexmark/views/q14.slt.part
-- Changed: the SQL function count_char(s, c) (evert has no CREATE FUNCTION) is inlined as
-- its body, LENGTH(extra) - LENGTH(REPLACE(extra, 'c', '')).

CREATE MATERIALIZED VIEW nexmark_q14 AS
SELECT
  auction,
  bidder,
  0.908 * price as price,
  CASE
    WHEN
      extract(hour from date_time) >= 8 AND
      extract(hour from date_time) <= 18
    THEN 'dayTime'
    WHEN
      extract(hour from date_time) <= 6 OR
      extract(hour from date_time) >= 20
    THEN 'nightTime'
    ELSE 'otherTime'
  END AS bidTimeType,
  date_time,
  LENGTH(extra) - LENGTH(REPLACE(extra, 'c', '')) AS c_counts
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
