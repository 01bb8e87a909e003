-- Nexmark q12: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:ci/scripts/sql/nexmark/q12.sql
-- Changed: the blackhole sink becomes a materialized view. The window is over date_time
-- instead of p_time (processing time): evert has no processing-time column, and a view's
-- contents must be a function of its inputs. TUMBLE is rewritten as SQL (see q7).

CREATE MATERIALIZED VIEW nexmark_q12 AS
SELECT bidder, count(*) as bid_count, window_start, window_end
FROM (
    SELECT *, window_start + INTERVAL '10' SECOND AS window_end
    FROM (SELECT bid.*, TIMESTAMP '1970-01-01 00:00:00'
        + floor(extract(epoch FROM date_time) / 10) * INTERVAL '10' SECOND AS window_start
        FROM bid) AS start
) AS tumble
GROUP BY bidder, window_start, window_end;
