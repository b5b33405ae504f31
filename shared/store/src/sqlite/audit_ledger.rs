//! The random audit's ledger ([`AuditLedger`]): periods and their append-only logs.

use super::*;

#[async_trait]
impl AuditLedger for SqliteStore {
    async fn audit_period(&self, period: Period) -> Result<Option<AuditPeriod>, StoreError> {
        let pk = codec::audit_period_pk(period);
        self.with_conn(move |conn| {
            ledger_body(conn, &pk, codec::AUDIT_PERIOD_SK)?
                .map(|body| codec::decode_audit_period(&body))
                .transpose()
        })
        .await
    }

    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM audit_ledger WHERE sk = ?1 ORDER BY pk")
                .map_err(db)?;
            let bodies = stmt
                .query_map(params![codec::AUDIT_PERIOD_SK], |row| {
                    row.get::<_, String>(0)
                })
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            let mut periods = Vec::with_capacity(bodies.len());
            for body in &bodies {
                let period = codec::decode_audit_period(body)?;
                if codec::listed_period(&period) {
                    periods.push(period);
                }
            }
            Ok(periods)
        })
        .await
    }

    async fn create_audit_period(&self, period: &AuditPeriod) -> Result<AuditPeriod, StoreError> {
        let body = codec::encode_audit_period(period)?;
        let pk = codec::audit_period_pk(period.period);
        self.with_conn(move |conn| {
            let stored =
                ledger_put_if_absent(conn, &pk, codec::AUDIT_PERIOD_SK, &body, "audit period")?;
            codec::decode_audit_period(&stored)
        })
        .await
    }

    async fn swap_audit_period(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
    ) -> Result<bool, StoreError> {
        crate::check_period_swap(current, next)?;
        let pk = codec::audit_period_pk(current.period);
        let expected = codec::encode_audit_period(current)?;
        let body = codec::encode_audit_period(next)?;
        self.with_conn(move |conn| ledger_swap(conn, &pk, &expected, &body))
            .await
    }

    async fn append_draw(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
        record: &DrawRecord,
    ) -> Result<bool, StoreError> {
        crate::check_append(current, next, record)?;
        let pk = codec::audit_period_pk(current.period);
        let expected = codec::encode_audit_period(current)?;
        let body = codec::encode_audit_period(next)?;
        let draw = codec::encode_draw(record)?;
        let (_, draw_sk) = codec::draw_keys(record);
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let inserted = tx
                .execute(
                    "INSERT INTO audit_ledger (pk, sk, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                    params![pk, draw_sk, draw],
                )
                .map_err(db)?;
            // Dropping the transaction unwritten rolls the insert back.
            if inserted == 0 || !ledger_swap(&tx, &pk, &expected, &body)? {
                return Ok(false);
            }
            tx.commit().map_err(db)?;
            Ok(true)
        })
        .await
    }

    async fn draws(&self, period: Period) -> Result<Vec<DrawRecord>, StoreError> {
        let listing = self.draws_page(period, None, usize::MAX).await?;
        Ok(listing.items)
    }

    async fn draws_page(
        &self,
        period: Period,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<DrawRecord>, StoreError> {
        let pk = codec::audit_period_pk(period);
        let (from, to) = codec::draws_after(after.map(|a| a.0.as_str()));
        let limit = limit.max(1);
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT sk, body FROM audit_ledger WHERE pk = ?1 AND sk >= ?2 AND sk < ?3
                     ORDER BY sk LIMIT ?4",
                )
                .map_err(db)?;
            // One more than asked: whether a next page exists.
            let rows = stmt
                .query_map(
                    params![pk, from, to, limit_to_sql(limit.saturating_add(1))],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                )
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            let more = rows.len() > limit;
            let mut listing = Listing {
                items: Vec::with_capacity(rows.len().min(limit)),
                next: None,
            };
            for (sk, body) in rows.iter().take(limit) {
                listing.items.push(codec::decode_draw(body)?);
                if more {
                    listing.next = Some(IndexCursor(sk.clone()));
                }
            }
            Ok(listing)
        })
        .await
    }
}
