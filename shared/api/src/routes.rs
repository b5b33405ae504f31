//! Each route declared once: a handler's `#[utoipa::path]` attribute names its method, path,
//! parameters, body, responses and (where it differs from the document's bearer default) its
//! security; [`routes!`](crate::routes!) serves each handler at exactly that method and path and
//! keeps the same list for the OpenAPI document and for the template's route check.
//!
//! Why not `utoipa-axum`'s `OpenApiRouter` and `routes!`: they build every operation's document
//! (parameters, responses, schemas) while the router is built, that is at every Lambda cold start,
//! for a document no Lambda serves. Here the router takes only each handler's path and methods;
//! the document is built from the same list, only when asked for ([`Routes::document`]:
//! `recert-local openapi`, the local server's `/openapi.json`).

use crate::state::AppState;
use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::HttpMethod;

#[doc(hidden)]
pub use pastey as __pastey;

/// A function's routes: the router serving them and, for each, how to describe it.
#[must_use]
pub struct Routes<S = AppState> {
    router: Router<S>,
    declared: Vec<Declared>,
}

/// What a handler's `#[utoipa::path]` declares, read on demand (no work at a cold start).
#[derive(Clone, Copy)]
struct Declared {
    path: fn() -> String,
    methods: fn() -> Vec<HttpMethod>,
    document: fn(&mut OpenApi),
}

impl<S: Clone + Send + Sync + 'static> std::fmt::Debug for Routes<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.served()).finish()
    }
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            declared: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `handler` where its `#[utoipa::path]` (the type `P`) says. Use [`routes!`](crate::routes!).
    pub fn route<P, H, T>(mut self, handler: H) -> Self
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + utoipa::__dev::Tags<'static>,
        H: Handler<T, S>,
        T: 'static,
    {
        let methods = P::methods();
        let method_router = methods.iter().fold(MethodRouter::new(), |router, method| {
            router.on(filter(method), handler.clone())
        });
        self.router = self.router.route(&P::path(), method_router);
        self.declared.push(Declared {
            path: P::path,
            methods: P::methods,
            document: document::<P>,
        });
        self
    }

    /// Both sets of routes (no path and method may be in both).
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.declared.extend(other.declared);
        self
    }

    /// The router, to layer and serve.
    pub fn into_router(self) -> Router<S> {
        self.router
    }

    /// `(METHOD, path)` of every route, sorted.
    pub fn served(&self) -> Vec<(String, String)> {
        let mut served: Vec<(String, String)> = self
            .declared
            .iter()
            .flat_map(|d| {
                let path = (d.path)();
                (d.methods)()
                    .into_iter()
                    .map(move |m| (method_name(&m).to_string(), path.clone()))
            })
            .collect();
        served.sort();
        served
    }

    /// Add every route's operation, and the schemas it refers to, to `doc`.
    pub fn document(&self, doc: &mut OpenApi) {
        for declared in &self.declared {
            (declared.document)(doc);
        }
    }
}

fn document<P>(doc: &mut OpenApi)
where
    P: utoipa::Path + utoipa::__dev::SchemaReferences + utoipa::__dev::Tags<'static>,
{
    let mut operation = P::operation();
    let tags = P::tags();
    if !tags.is_empty() {
        operation
            .tags
            .get_or_insert_with(Vec::new)
            .extend(tags.into_iter().map(str::to_string));
    }
    doc.paths
        .add_path_operation(P::path(), P::methods(), operation);
    let mut schemas = Vec::new();
    P::schemas(&mut schemas);
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
}

fn filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

/// The [`Routes`] of handlers annotated with `#[utoipa::path]`, each served at the method and path
/// its annotation declares: `routes![submit, get_submission, exam::record_exam_pass]`.
#[macro_export]
macro_rules! routes {
    ($($handlers:tt)+) => {
        $crate::__routes!(@next [$crate::routes::Routes::new()] [] $($handlers)+)
    };
}

/// [`routes!`], one path segment at a time (a module prefix, then the handler's name).
#[doc(hidden)]
#[macro_export]
macro_rules! __routes {
    (@next [$($built:tt)*] [$($prefix:tt)*] $segment:ident :: $($rest:tt)+) => {
        $crate::__routes!(@next [$($built)*] [$($prefix)* $segment ::] $($rest)+)
    };
    (@next [$($built:tt)*] [$($prefix:tt)*] $handler:ident $(, $($rest:tt)*)?) => {
        $crate::__routes!(
            @next
            [$($built)* .route::<$crate::routes::__pastey::paste!($($prefix)* [<__path_ $handler>]), _, _>($($prefix)* $handler)]
            []
            $($($rest)*)?
        )
    };
    (@next [$($built:tt)*] []) => {
        $($built)*
    };
}
