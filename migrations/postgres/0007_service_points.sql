-- Service points (服务窗口): a counter in a service hall with a standing QR code. `code` is
-- the public part of the link printed on it; the counter's tablet signs in with a separate
-- device secret, of which only the SHA-256 is kept. Revoked points keep their row (records
-- name them) but their link no longer places calls.
CREATE TABLE service_points (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    sign_language TEXT NOT NULL,
    purpose TEXT NOT NULL,
    device_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX service_points_device ON service_points (device_hash);
-- The service point a call came from, if any.
ALTER TABLE call_records ADD COLUMN service_point TEXT;
