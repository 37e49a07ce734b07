-- User accounts. nickname_key is the nickname in NFC, case-folded (up to three
-- characters per character), which makes nicknames unique without regard to
-- case under the binary collation. users_role serves the locking read of the
-- active superusers that guards the last one.
CREATE TABLE users (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    nickname VARCHAR(32) NOT NULL,
    nickname_key VARCHAR(96) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL,
    timezone VARCHAR(64) NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    token_version INT UNSIGNED NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY users_nickname_key (nickname_key),
    KEY users_role (role, disabled)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Tokens ended by logout, kept until they would have expired anyway.
CREATE TABLE revoked_tokens (
    token_id CHAR(32) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    PRIMARY KEY (token_id),
    KEY revoked_tokens_expiry (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
