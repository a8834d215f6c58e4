//! Schema migrations: SQL files embedded in the binary, applied at start-up.
//!
//! Each migration runs in its own transaction holding a transaction-scoped advisory lock,
//! so proxies starting together apply it once between them: the second waits for the
//! first to commit, then finds the version recorded and skips it. Advisory locks are
//! scoped to the current database, so unrelated databases on one server do not contend.

use tokio_postgres::Client;
use tracing::{info, warn};

use crate::error::{Result, StoreError};

/// One schema change, identified by its version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Position in the sequence; recorded in `schema_migrations.version`.
    pub version: i32,
    /// Short name; recorded next to the version so two builds that disagree about what
    /// version N is find out instead of silently diverging.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "zones",
        sql: include_str!("../migrations/0001_zones.sql"),
    },
    Migration {
        version: 2,
        name: "zone_events",
        sql: include_str!("../migrations/0002_zone_events.sql"),
    },
];

/// The migrations this build knows, oldest first.
pub fn migrations() -> &'static [Migration] {
    MIGRATIONS
}

/// Advisory lock key serialising migrations ("MERIDIAN" in ASCII).
const MIGRATION_LOCK: i64 = 0x4d45_5249_4449_414e;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    int PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Brings the schema up to date; returns how many migrations this call applied.
pub(crate) async fn run(client: &mut Client) -> Result<usize> {
    let bootstrap = |source| StoreError::Migrate {
        version: 0,
        name: "schema_migrations",
        source,
    };
    // Even `CREATE TABLE IF NOT EXISTS` fails when two sessions race on it, hence the lock.
    let tx = client.transaction().await.map_err(bootstrap)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(bootstrap)?;
    tx.batch_execute(CREATE_TABLE).await.map_err(bootstrap)?;
    let rows = tx
        .query("SELECT version, name FROM schema_migrations", &[])
        .await
        .map_err(bootstrap)?;
    tx.commit().await.map_err(bootstrap)?;
    let mut recorded = Vec::with_capacity(rows.len());
    for row in &rows {
        let version: i32 = row.try_get(0).map_err(bootstrap)?;
        let name: String = row.try_get(1).map_err(bootstrap)?;
        recorded.push((version, name));
    }
    let newest = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some((version, name)) = recorded.iter().find(|(v, _)| *v > newest) {
        // A newer build migrated this database; its changes are additive by convention.
        warn!(version, name, "database schema is newer than this build");
    }

    let mut applied = 0;
    for migration in MIGRATIONS {
        if let Some((_, found)) = recorded.iter().find(|(v, _)| *v == migration.version) {
            check_name(migration, found)?;
            continue;
        }
        if apply(client, migration).await? {
            applied += 1;
        }
    }
    Ok(applied)
}

/// Applies `migration` unless another session did since we looked; whether it ran here.
async fn apply(client: &mut Client, migration: &Migration) -> Result<bool> {
    let failed = |source| StoreError::Migrate {
        version: migration.version,
        name: migration.name,
        source,
    };
    let tx = client.transaction().await.map_err(failed)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(failed)?;
    let existing = tx
        .query_opt(
            "SELECT name FROM schema_migrations WHERE version = $1",
            &[&migration.version],
        )
        .await
        .map_err(failed)?;
    if let Some(row) = existing {
        let found: String = row.try_get(0).map_err(failed)?;
        return check_name(migration, &found).map(|()| false);
    }
    tx.batch_execute(migration.sql).await.map_err(failed)?;
    tx.execute(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
        &[&migration.version, &migration.name],
    )
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    info!(
        version = migration.version,
        name = migration.name,
        "applied migration"
    );
    Ok(true)
}

fn check_name(migration: &Migration, found: &str) -> Result<()> {
    if found == migration.name {
        Ok(())
    } else {
        Err(StoreError::MigrationMismatch {
            version: migration.version,
            expected: migration.name,
            found: found.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one_and_names_unique() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i32 + 1, "{}", m.name);
            assert!(!m.sql.trim().is_empty(), "{}", m.name);
            assert_eq!(MIGRATIONS.iter().filter(|o| o.name == m.name).count(), 1);
        }
    }
}
