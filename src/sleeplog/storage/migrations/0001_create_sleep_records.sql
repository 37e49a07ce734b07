-- Sleep records. Instants are naive UTC, as MariaDB refuses offset literals:
-- the offset each was sent with is kept beside it, in seconds east of UTC.
-- The unique key makes saving idempotent: one record per owner, start and end.
-- (start_utc, id) is the page order; the owner key serves one owner's pages.
CREATE TABLE sleep_records (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    owner VARCHAR(64) NOT NULL,
    start_utc DATETIME(6) NOT NULL,
    start_offset INT NOT NULL,
    end_utc DATETIME(6) NOT NULL,
    end_offset INT NOT NULL,
    timezone VARCHAR(64) NULL,
    source VARCHAR(64) NULL,
    note VARCHAR(1000) NULL,
    client VARCHAR(45) NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY sleep_records_span (owner, start_utc, end_utc),
    KEY sleep_records_start (start_utc, id),
    KEY sleep_records_owner_start (owner, start_utc, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
