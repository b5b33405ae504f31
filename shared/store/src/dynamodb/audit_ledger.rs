//! The random audit's ledger ([`AuditLedger`]): periods and their append-only logs.

use super::*;

#[async_trait]
impl AuditLedger for DynamoStore {
    async fn audit_period(&self, period: Period) -> Result<Option<AuditPeriod>, StoreError> {
        self.body(
            codec::audit_period_pk(period),
            codec::AUDIT_PERIOD_SK,
            "audit period",
        )
        .await?
        .map(|body| codec::decode_audit_period(&body))
        .transpose()
    }

    /// Every page of GSI1 under `AUDIT_PERIODS`.
    async fn audit_periods(&self) -> Result<Vec<AuditPeriod>, StoreError> {
        let mut periods = Vec::new();
        let mut after: Option<IndexCursor> = None;
        loop {
            let page = self
                .gsi_listing(
                    GSI1,
                    (GSI1_PK, GSI1_SK),
                    codec::AUDIT_PERIODS_PK.to_owned(),
                    after.as_ref(),
                    100,
                    codec::decode_audit_period,
                )
                .await?;
            periods.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(periods),
            }
        }
    }

    async fn create_audit_period(&self, period: &AuditPeriod) -> Result<AuditPeriod, StoreError> {
        if self
            .put_if(period_attributes(period)?, must_not_exist())
            .await?
        {
            return Ok(period.clone());
        }
        self.audit_period(period.period).await?.ok_or_else(|| {
            backend(DynamoStoreError::Vanished {
                what: "audit period",
            })
        })
    }

    /// One `PutItem` conditioned on `b = <current's body>`.
    async fn swap_audit_period(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
    ) -> Result<bool, StoreError> {
        crate::check_period_swap(current, next)?;
        let expected = codec::encode_audit_period(current)?;
        self.put_if(period_attributes(next)?, body_is(expected))
            .await
    }

    /// One `TransactWriteItems`: the record's `Put` conditioned on `attribute_not_exists(pk)` and
    /// the period's `Put` conditioned on `b = <current's body>`.
    async fn append_draw(
        &self,
        current: &AuditPeriod,
        next: &AuditPeriod,
        record: &DrawRecord,
    ) -> Result<bool, StoreError> {
        crate::check_append(current, next, record)?;
        let (pk, sk) = codec::draw_keys(record);
        let expected = codec::encode_audit_period(current)?;
        let actions = vec![
            put(
                &self.table,
                body_item(&pk, &sk, &codec::encode_draw(record)?),
                Some(must_not_exist()),
                false,
            )?,
            put(
                &self.table,
                period_attributes(next)?,
                Some(body_is(expected)),
                false,
            )?,
        ];
        let guards = [(0, Guard::LedgerMoved), (1, Guard::LedgerMoved)];
        match self.transact(actions, &guards).await {
            Ok(()) => Ok(true),
            Err(StoreError::VersionConflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn draws(&self, period: Period) -> Result<Vec<DrawRecord>, StoreError> {
        let request = self.sk_begins_with(codec::audit_period_pk(period), codec::DRAW_PREFIX);
        let out = self.query(request, Pages::default()).await?;
        let mut draws = out
            .items
            .iter()
            .map(|item| codec::decode_draw(attribute(item, BODY, "draw record")?))
            .collect::<Result<Vec<_>, _>>()?;
        // The sort keys order them by day already; the port promises it whatever the key format.
        draws.sort_by_key(|d| d.run_on);
        Ok(draws)
    }

    /// A consistent `Query` of the sort keys after the cursor (one more than asked: whether a
    /// next page exists).
    async fn draws_page(
        &self,
        period: Period,
        after: Option<&IndexCursor>,
        limit: usize,
    ) -> Result<Listing<DrawRecord>, StoreError> {
        let limit = limit.max(1);
        let (from, to) = codec::draws_after(after.map(|a| a.0.as_str()));
        let request = self.sk_between(codec::audit_period_pk(period), from, to);
        let out = self
            .query(
                request,
                Pages {
                    at_most: Some(limit.saturating_add(1)),
                    ..Pages::default()
                },
            )
            .await?;
        let more = out.items.len() > limit;
        let mut listing = Listing {
            items: Vec::with_capacity(limit.min(out.items.len())),
            next: None,
        };
        for item in out.items.iter().take(limit) {
            listing
                .items
                .push(codec::decode_draw(attribute(item, BODY, "draw record")?)?);
            if more {
                listing.next = Some(IndexCursor(attribute(item, SK, "draw record")?.to_owned()));
            }
        }
        Ok(listing)
    }
}
