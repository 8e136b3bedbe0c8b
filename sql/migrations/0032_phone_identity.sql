-- Phones as identifiers are normalised before they link ids, so that
-- "+86 138-0013-8000", "0086 13800138000" and "13800138000" are one
-- identifier: keep the digits; drop a China country code (86 before 11
-- digits, 0086 before 11 digits); fewer than 5 digits is no identifier (it
-- never merges). cdp.PhoneID is the same rule in Go (the API looks a phone
-- up by it). The table is rebuilt from `events`, the source of truth, with
-- the same columns, granules and view shape as 0031; only the phone
-- expression changes. Every statement is safe to run again after a crash.
DROP TABLE IF EXISTS identity_links_present_mv;

DROP TABLE IF EXISTS identity_links;

-- siyu:recreate identity_links as in 0031;

CREATE MATERIALIZED VIEW IF NOT EXISTS identity_links_phone_mv TO identity_links AS
SELECT
    tenant,
    if(k % 2 = 0, subject, if(k < 2, unionid,
        if(length(multiIf(
            length(replaceRegexpAll(phone, '[^0-9]', '') AS phone_digits) = 13 AND substring(phone_digits, 1, 2) = '86',
            substring(phone_digits, 3),
            length(phone_digits) = 15 AND substring(phone_digits, 1, 4) = '0086', substring(phone_digits, 5),
            phone_digits) AS phone_national) >= 5, phone_national, '') AS phone_id)) AS node,
    if(k % 2 = 0, if(k < 2, unionid, phone_id), subject) AS peer,
    if(k < 2, 'unionid', 'phone') AS kind,
    toUInt8(k % 2 = 0) AS dir
FROM events
ARRAY JOIN multiIf(bitAnd(present, 5120) = 5120, [toUInt8(0), 1, 2, 3],
                   bitAnd(present, 4096) != 0, [toUInt8(0), 1],
                   bitAnd(present, 1024) != 0, [toUInt8(2), 3],
                   emptyArrayUInt8()) AS k
WHERE node != '' AND peer != '' AND node != peer;

INSERT INTO identity_links (tenant, node, peer, kind, dir)
SELECT tenant, node, peer, kind, dir
FROM (
    -- siyu:select identity_links_phone_mv
);
