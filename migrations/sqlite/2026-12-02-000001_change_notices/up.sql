-- PostgreSQL announces cache-relevant changes to other replicas (LISTEN/NOTIFY triggers).
-- SQLite serves one process, which drops its own entries as it writes: nothing to add. The
-- migration exists so both dialects keep the same list of migrations.
SELECT 1;
