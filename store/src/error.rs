//! [`StoreError`]: what failed, named so an operator can tell the database from the data.

use std::time::Duration;

use zoning::{ServerId, ZoneError, ZoneId};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL does not parse.
    #[error("invalid database url: {}", chain(.0))]
    Url(#[source] tokio_postgres::Error),
    /// The server could not be reached or refused the session.
    #[error("cannot connect to PostgreSQL: {}", chain(.0))]
    Connect(#[source] tokio_postgres::Error),
    /// A schema migration failed; the database keeps the migrations before it.
    #[error("migration {version} ({name}) failed: {}", chain(.source))]
    Migrate {
        /// Version of the failing migration.
        version: i32,
        /// Its name.
        name: &'static str,
        /// What the server said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The database records a migration under a name this build does not know for that
    /// version: another build wrote the schema and this one must not guess.
    #[error("database has migration {version} named `{found}`, this build expects `{expected}`")]
    MigrationMismatch {
        /// The version both know.
        version: i32,
        /// The name this build has for it.
        expected: &'static str,
        /// The name the database recorded.
        found: String,
    },
    /// A statement failed (including the connection dropping under it).
    #[error("{what} failed: {}", chain(.source))]
    Query {
        /// The operation, e.g. `load zones`.
        what: &'static str,
        /// What the server or driver said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// An operation took longer than allowed; the connection is presumed dead.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// The operation.
        what: &'static str,
        /// The time allowed.
        after: Duration,
    },
    /// The caller's view of the zone is out of date: someone moved it first (fencing).
    #[error("zone `{zone}`: expected epoch {expected}, but it is at epoch {current}")]
    StaleEpoch {
        /// The zone.
        zone: ZoneId,
        /// Its epoch in the database.
        current: u64,
        /// The epoch the caller expected.
        expected: u64,
    },
    /// No zone has that id.
    #[error("no zone `{0}`")]
    UnknownZone(ZoneId),
    /// The new owner is not a server this store was told about (or is empty).
    #[error("zone `{zone}`: `{owner}` is not a known server")]
    UnknownOwner {
        /// The zone.
        zone: ZoneId,
        /// The refused owner.
        owner: ServerId,
    },
    /// Zones given to [`seed`](crate::PgZoneStore::seed) are invalid by themselves.
    #[error("invalid zone spec: {0}")]
    InvalidSpec(#[source] ZoneError),
    /// The zones in the database (after a seed, the merged set) do not form a valid map.
    #[error("zones in the database do not form a valid map: {0}")]
    InvalidMap(#[source] ZoneError),
    /// A row holds a value no zone can have (e.g. a negative epoch), written by hand.
    #[error("zone `{zone}` in the database: {problem}")]
    BadRow {
        /// The zone id of the row.
        zone: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl StoreError {
    /// Whether the error says the database is unreachable or the session broke, rather
    /// than something about the data: retrying on a new connection may help.
    pub fn is_connection(&self) -> bool {
        match self {
            StoreError::Connect(_) | StoreError::Timeout { .. } => true,
            StoreError::Query { source, .. } | StoreError::Migrate { source, .. } => {
                // Class 08 is "connection exception"; 57P01-57P03 are the server shutting
                // down or not accepting sessions yet (a restart in progress).
                source.is_closed()
                    || source.code().is_some_and(|code| {
                        let code = code.code();
                        code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
                    })
            }
            _ => false,
        }
    }

    pub(crate) fn query(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| StoreError::Query { what, source }
    }
}

/// `error` and its causes on one line: the driver's own message is only the kind
/// ("db error"), the server's words are in the source.
pub(crate) fn chain(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
