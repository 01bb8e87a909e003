-- Nexmark q8: risingwavelabs/risingwave@448c6570b1b9d636736708340f61a85900c2b7d7:e2e_test/streaming/nexmark/views/q8.slt.part
-- Changed: TUMBLE(person | auction, date_time, INTERVAL '10' SECOND) is rewritten as SQL: a
-- derived table adding window_start = date_time floored to a multiple of 10 s (since the Unix
-- epoch) and window_end = window_start + 10 s.

CREATE MATERIALIZED VIEW nexmark_q8
AS
SELECT
    P.id,
    P.name,
    P.starttime
FROM
    (
        SELECT
            id,
            name,
            window_start AS starttime,
            window_end AS endtime
        FROM (
            SELECT *, window_start + INTERVAL '10' SECOND AS window_end
            FROM (SELECT person.*, TIMESTAMP '1970-01-01 00:00:00'
                + floor(extract(epoch FROM date_time) / 10) * INTERVAL '10' SECOND AS window_start
                FROM person) AS start
        ) AS tumble
        GROUP BY
            id,
            name,
            window_start,
            window_end
    ) P
    JOIN (
        SELECT
            seller,
            window_start AS starttime,
            window_end AS endtime
        FROM (
            SELECT *, window_start + INTERVAL '10' SECOND AS window_end
            FROM (SELECT auction.*, TIMESTAMP '1970-01-01 00:00:00'
                + floor(extract(epoch FROM date_time) / 10) * INTERVAL '10' SECOND AS window_start
                FROM auction) AS start
        ) AS tumble
        GROUP BY
            seller,
            window_start,
            window_end
    ) A ON P.id = A.seller
    AND P.starttime = A.starttime
    AND P.endtime = A.endtime;
