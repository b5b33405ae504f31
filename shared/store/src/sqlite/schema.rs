//! The embedded store's schema: every step since the first, and the migration that applies the
//! ones a file has not seen yet.

use super::*;

/// The schema, one step per version: `MIGRATIONS[i]` takes `user_version` from `i` to `i + 1`.
/// Append only; never edit a released step.
pub const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE certifications (
        id                 TEXT PRIMARY KEY,
        certificant_id     TEXT NOT NULL,
        certificate_number TEXT NOT NULL UNIQUE,
        version            INTEGER NOT NULL,
        body               TEXT NOT NULL
    );
    CREATE INDEX certifications_by_certificant ON certifications (certificant_id);

    CREATE TABLE items (
        certification_id TEXT NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
        sk               TEXT NOT NULL,
        body             TEXT NOT NULL,
        expires_at       INTEGER NULL,
        PRIMARY KEY (certification_id, sk)
    );

    CREATE TABLE certificants (
        id    TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        body  TEXT NOT NULL
    );
    "#,
    // 2: entries and renewals kept by cycle (`CYCLE#<start>#ENTRY#<id>`; every existing one
    // belongs to its certification's current cycle: no cycle had rolled over before this step),
    // the history under `LOG#<seq>`, and the sparse index keys (queue = GSI2, due date = GSI3),
    // backfilled: an active root falls due on its closing date, a renewal in review waits in the
    // review queue since its submission (RFC 3339 with nine fraction digits, as the codec writes).
    r#"
    CREATE TABLE index_keys (
        certification_id TEXT NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
        sk               TEXT NOT NULL,
        idx              TEXT NOT NULL,
        ipk              TEXT NOT NULL,
        isk              TEXT NOT NULL,
        PRIMARY KEY (certification_id, sk, idx)
    );
    CREATE INDEX index_keys_by_key ON index_keys (idx, ipk, isk);

    UPDATE items
    SET sk = 'CYCLE#' || (
            SELECT json_extract(c.body, '$.cycle_starts_on') FROM certifications c
            WHERE c.id = items.certification_id
        ) || '#' || sk,
        body = json_set(body, '$.cycle_starts_on', (
            SELECT json_extract(c.body, '$.cycle_starts_on') FROM certifications c
            WHERE c.id = items.certification_id
        ))
    WHERE substr(sk, 1, 6) = 'ENTRY#' OR substr(sk, 1, 8) = 'RENEWAL#';

    UPDATE items SET sk = 'LOG#' || substr(sk, 6) WHERE substr(sk, 1, 5) = 'HIST#';

    INSERT INTO index_keys (certification_id, sk, idx, ipk, isk)
    SELECT id, 'META', 'gsi3',
           'DUE#' || max(json_extract(body, '$.expires_on'),
                         coalesce(json_extract(body, '$.extended_to'), '')),
           'cycle_closes#' || id || '#META'
    FROM certifications
    WHERE json_extract(body, '$.status') = 'active';

    INSERT INTO index_keys (certification_id, sk, idx, ipk, isk)
    SELECT certification_id, sk, 'gsi2', 'QUEUE#renewal_review',
           substr(t, 1, 19) || '.'
             || substr(CASE WHEN substr(t, 20, 1) = '.' THEN substr(t, 21, length(t) - 21)
                            ELSE '' END || '000000000', 1, 9)
             || 'Z#' || certification_id || '#' || sk
    FROM (SELECT certification_id, sk, json_extract(body, '$.submitted_at') AS t, body
          FROM items
          WHERE substr(sk, 1, 6) = 'CYCLE#' AND instr(sk, '#RENEWAL#') > 0)
    WHERE json_extract(body, '$.status') = 'in_review';
    "#,
    // 3: the random audit's ledger (periods and draw records), under the DynamoDB keys.
    r#"
    CREATE TABLE audit_ledger (
        pk   TEXT NOT NULL,
        sk   TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (pk, sk)
    );
    "#,
    // 4: a paid renewal waits for the audit draw before review: those not yet drawn move from the
    // review queue to the draw queue (same sort key: oldest payment first).
    r#"
    UPDATE index_keys SET ipk = 'QUEUE#audit_draw'
    WHERE idx = 'gsi2' AND ipk = 'QUEUE#renewal_review'
      AND (certification_id, sk) IN (
          SELECT certification_id, sk FROM items WHERE json_extract(body, '$.draw') IS NULL);
    "#,
    // 5: each certificant's calendar feed (the SHA-256 of its secret, never the secret). No
    // foreign key to `certificants`: DynamoDB's item does not depend on the profile either.
    r#"
    CREATE TABLE calendar_feed (
        certificant_id TEXT PRIMARY KEY,
        body           TEXT NOT NULL
    );
    "#,
    // 6: partner providers and their postings (one row per completion a provider posted; created
    // once, alone or in a certification's commit). `listed` is the provider's listing order,
    // `queued` the reconciliation queue's (set while the posting awaits staff), as the codec
    // writes them for DynamoDB's GSI1 and GSI2.
    r#"
    CREATE TABLE providers (
        id      TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        body    TEXT NOT NULL
    );
    CREATE TABLE postings (
        provider_id   TEXT NOT NULL,
        completion_id TEXT NOT NULL,
        body          TEXT NOT NULL,
        listed        TEXT NOT NULL,
        queued        TEXT NULL,
        PRIMARY KEY (provider_id, completion_id)
    );
    CREATE INDEX postings_listed ON postings (provider_id, listed);
    CREATE INDEX postings_queued ON postings (queued) WHERE queued IS NOT NULL;
    "#,
];

/// Bring the schema up to the last of [`MIGRATIONS`]; a no-op on an up-to-date database.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE: two processes opening a new file at once cannot both run a step.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db)?;
    let known = MIGRATIONS.len();
    let current = usize::try_from(found)
        .ok()
        .filter(|v| *v <= known)
        .ok_or_else(|| backend(SqliteStoreError::SchemaTooNew { found, known }))?;
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = step + 1;
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", version as i64)
            .map_err(db)?;
        tracing::info!(schema_version = version, "store migration applied");
    }
    tx.commit().map_err(db)
}
