//! The call budget: an SDK interceptor counting DynamoDB operations, and the consumed capacity the
//! adapter reads off each response (`ReturnConsumedCapacity = TOTAL`).
//!
//! A [`CallCounter`] is cheap to clone (the clones share their tallies). Attach it to a client with
//! [`CallCounter::interceptor`] (done by [`super::client`] and [`super::local_client`]); the
//! adapter adds the capacity of each response with [`CallCounter::record_capacity`]. Tests read it
//! with [`CallCounter::take`] around one request to assert "1 read = 1 call".
//!
//! It counts operations (one per `client.op().send()`, whatever the retries) and, separately,
//! attempts (each try on the wire). Nothing about the request or response body is kept.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What one DynamoDB operation (e.g. `Query`) cost since the last [`CallCounter::take`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationCalls {
    /// The operation's name as the SDK knows it: `Query`, `TransactWriteItems`, `GetItem`...
    pub operation: String,
    /// Operations sent (an SDK retry does not add one).
    pub calls: u64,
    /// Attempts on the wire (retries included).
    pub attempts: u64,
    /// Capacity units DynamoDB reported as consumed (`ReturnConsumedCapacity = TOTAL`), summed.
    pub capacity_units: f64,
}

/// A shareable tally of DynamoDB operations and their consumed capacity.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    inner: Arc<Mutex<BTreeMap<String, OperationCalls>>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The interceptor to register on a DynamoDB client (`config::Builder::interceptor`).
    pub fn interceptor(&self) -> CountingInterceptor {
        CountingInterceptor {
            counter: self.clone(),
        }
    }

    /// Forget everything counted so far.
    pub fn reset(&self) {
        self.lock().clear();
    }

    /// Everything counted since the last `take`/`reset`, by operation name, and start afresh.
    pub fn take(&self) -> Vec<OperationCalls> {
        std::mem::take(&mut *self.lock()).into_values().collect()
    }

    /// Everything counted so far, by operation name, without resetting.
    pub fn snapshot(&self) -> Vec<OperationCalls> {
        self.lock().values().cloned().collect()
    }

    /// Add the capacity a response of `operation` reported.
    pub fn record_capacity(&self, operation: &str, capacity_units: f64) {
        self.entry(operation, |e| e.capacity_units += capacity_units);
    }

    fn entry(&self, operation: &str, f: impl FnOnce(&mut OperationCalls)) {
        let mut map = self.lock();
        let e = map
            .entry(operation.to_owned())
            .or_insert_with(|| OperationCalls {
                operation: operation.to_owned(),
                ..OperationCalls::default()
            });
        f(e);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, OperationCalls>> {
        // A panic while counting leaves consistent numbers behind: keep counting.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `(operation, calls)` pairs of a [`CallCounter::take`], for compact assertions.
pub fn counts(calls: &[OperationCalls]) -> Vec<(&str, u64)> {
    calls
        .iter()
        .map(|c| (c.operation.as_str(), c.calls))
        .collect()
}

/// The SDK interceptor behind a [`CallCounter`].
#[derive(Debug, Clone)]
pub struct CountingInterceptor {
    counter: CallCounter,
}

fn operation_name(cfg: &ConfigBag) -> &str {
    cfg.load::<Metadata>().map_or("unknown", Metadata::name)
}

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "recert::CallCounter"
    }

    /// Once per operation (the operation's metadata is not in the bag yet at `before_execution`).
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counter.entry(operation_name(cfg), |e| e.calls += 1);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counter.entry(operation_name(cfg), |e| e.attempts += 1);
        Ok(())
    }
}
