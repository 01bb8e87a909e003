-- Nexmark q11: nexmark/nexmark@6b3646c3baec701f1fa74baf938d235f742e5d3c:nexmark-flink/src/main/resources/queries/q11.sql
-- Changed: Flink's SESSION window (gap 10 s) has no PostgreSQL equivalent; it is rewritten
-- with window functions. A bid opens a new session of its bidder unless the previous bid
-- (by date_time) is at most 10 s older (Flink merges session windows that touch); a running
-- sum of those starts numbers the sessions; a session ends 10 s after its last bid. The
-- blackhole sink table becomes a materialized view.

CREATE MATERIALIZED VIEW nexmark_q11 AS
SELECT
    bidder,
    count(*) AS bid_count,
    min(date_time) AS starttime,
    max(date_time) + INTERVAL '10' SECOND AS endtime
FROM (
    SELECT
        bidder,
        date_time,
        sum(is_start) OVER (PARTITION BY bidder ORDER BY date_time ROWS UNBOUNDED PRECEDING) AS session
    FROM (
        SELECT
            bidder,
            date_time,
            CASE WHEN lag(date_time) OVER (PARTITION BY bidder ORDER BY date_time) >= date_time - INTERVAL '10' SECOND
                THEN 0 ELSE 1 END AS is_start
        FROM bid
    ) AS starts
) AS sessions
GROUP BY bidder, session;
