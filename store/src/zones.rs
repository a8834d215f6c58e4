//! [`PgZoneStore`]: zones and their owners in PostgreSQL, changed under epoch fencing.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config, GenericClient, NoTls, Row};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};
use zoning::{ChunkRect, ServerId, Zone, ZoneId, ZoneMap, ZoneSpec};

use crate::error::{Result, StoreError, chain};
use crate::migrate;
use crate::watch::ZoneWatcher;

/// Channel every zone change is announced on; the payload is `<zone_id>:<epoch>`.
pub const NOTIFY_CHANNEL: &str = "meridian_zones";

/// How long establishing a session may take before the server counts as unreachable.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Advisory lock key for changes to the set of zones ("ZONESET" in ASCII): seeding reads
/// every zone to check the merged map, and two seeds must not each check without the other.
const ZONE_SET_LOCK: i64 = 0x005a_4f4e_4553_4554;

const SELECT_ZONES: &str = "SELECT id, owner, epoch, dimension, \
    min_chunk_x, max_chunk_x, min_chunk_z, max_chunk_z FROM zones";

/// Zone ownership shared by every proxy through one PostgreSQL database.
///
/// Holds one session, so operations take `&mut self`: a transaction needs the session to
/// itself. If the session has died (the server restarted), the next operation opens a new
/// one; the operation that found it dead fails with an error whose
/// [`is_connection`](StoreError::is_connection) is true.
pub struct PgZoneStore {
    config: Config,
    client: Client,
    connection: JoinHandle<()>,
    known_owners: Option<HashSet<ServerId>>,
}

impl fmt::Debug for PgZoneStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Config's Debug redacts the password.
        f.debug_struct("PgZoneStore")
            .field("config", &self.config)
            .field("closed", &self.client.is_closed())
            .field("known_owners", &self.known_owners)
            .finish_non_exhaustive()
    }
}

impl Drop for PgZoneStore {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl PgZoneStore {
    /// Connects to `url` (e.g. `postgres://user@host:5432/db`) and migrates the schema.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(parse_url(url)?).await
    }

    /// Connects with a prepared configuration and migrates the schema.
    pub async fn connect_with(config: Config) -> Result<Self> {
        let (client, connection) = open(&config).await?;
        // Built before migrating so that a failure drops it, which stops the connection.
        let mut store = Self {
            config,
            client,
            connection,
            known_owners: None,
        };
        let applied = migrate::run(&mut store.client).await?;
        if applied > 0 {
            info!(applied, "zone store schema is up to date");
        }
        Ok(store)
    }

    /// Restricts [`move_zone`](Self::move_zone) to these owners; anything else is refused
    /// with [`StoreError::UnknownOwner`]. Without it, any non-empty name is accepted.
    pub fn with_known_owners<I>(mut self, owners: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ServerId>,
    {
        self.known_owners = Some(owners.into_iter().map(Into::into).collect());
        self
    }

    /// Starts a [`ZoneWatcher`] on its own session to this store's database.
    pub async fn watch(&self, shutdown: CancellationToken) -> Result<ZoneWatcher> {
        ZoneWatcher::start_with(self.config.clone(), Default::default(), shutdown).await
    }

    /// Inserts the zones of `specs` that the database does not have yet and returns how
    /// many it inserted. Existing rows win, whatever their owner or area: a proxy's static
    /// config seeds an empty database but never undoes a move made since.
    ///
    /// Refuses specs that are invalid by themselves ([`StoreError::InvalidSpec`]) and,
    /// inserting nothing, new zones that would overlap the stored ones
    /// ([`StoreError::InvalidMap`]).
    pub async fn seed(&mut self, specs: &[ZoneSpec]) -> Result<usize> {
        let wanted = ZoneMap::from_specs(specs).map_err(StoreError::InvalidSpec)?;
        let client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(StoreError::query("begin seed"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ZONE_SET_LOCK])
            .await
            .map_err(StoreError::query("lock zone set"))?;
        let insert = tx
            .prepare(
                "INSERT INTO zones (id, owner, epoch, dimension, \
                 min_chunk_x, max_chunk_x, min_chunk_z, max_chunk_z) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
            )
            .await
            .map_err(StoreError::query("prepare seed"))?;
        let mut inserted = 0;
        for zone in wanted.zones() {
            let epoch = epoch_to_sql(zone.epoch);
            let area = &zone.area;
            let rows = tx
                .execute(
                    &insert,
                    &[
                        &zone.id.as_str(),
                        &zone.owner.as_str(),
                        &epoch,
                        &zone.dimension.as_str(),
                        &area.min_x,
                        &area.max_x,
                        &area.min_z,
                        &area.max_z,
                    ],
                )
                .await
                .map_err(StoreError::query("insert zone"))?;
            if rows == 0 {
                continue;
            }
            inserted += 1;
            record_event(&tx, &zone.id, None, &zone.owner, epoch).await?;
            notify(&tx, &zone.id, epoch).await?;
        }
        // The merged set must still be a valid map, or every proxy's next load would fail.
        load_map(&tx).await?;
        tx.commit()
            .await
            .map_err(StoreError::query("commit seed"))?;
        if inserted > 0 {
            info!(inserted, "seeded zones");
        }
        Ok(inserted)
    }

    /// Every zone in the database, as a validated map.
    pub async fn load(&mut self) -> Result<ZoneMap> {
        let client = self.client().await?;
        load_map(client).await
    }

    /// Hands zone `zone_id` to `new_owner` and bumps its epoch, in one transaction that
    /// also records the move and notifies every watcher on commit. Returns the zone as
    /// it now is.
    ///
    /// With `expected_epoch`, the move happens only if the zone is still at that epoch
    /// (compare-and-set); otherwise it fails with [`StoreError::StaleEpoch`], so of several
    /// movers acting on the same view exactly one wins.
    pub async fn move_zone(
        &mut self,
        zone_id: &str,
        new_owner: &str,
        expected_epoch: Option<u64>,
    ) -> Result<Zone> {
        let owner = ServerId::from(new_owner);
        let owner_known = self
            .known_owners
            .as_ref()
            .is_none_or(|known| known.contains(new_owner));
        if new_owner.is_empty() || !owner_known {
            return Err(StoreError::UnknownOwner {
                zone: ZoneId::from(zone_id),
                owner,
            });
        }
        let client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(StoreError::query("begin move"))?;
        // The row lock makes concurrent movers queue; each re-reads the row once the one
        // before it commits, so it sees the bumped epoch and fails the check below.
        let row = tx
            .query_opt(
                &format!("{SELECT_ZONES} WHERE id = $1 FOR UPDATE"),
                &[&zone_id],
            )
            .await
            .map_err(StoreError::query("lock zone"))?
            .ok_or_else(|| StoreError::UnknownZone(ZoneId::from(zone_id)))?;
        let mut zone = zone_from_row(&row)?;
        if let Some(expected) = expected_epoch
            && expected != zone.epoch
        {
            return Err(StoreError::StaleEpoch {
                zone: zone.id,
                current: zone.epoch,
                expected,
            });
        }
        let row = tx
            .query_one(
                "UPDATE zones SET owner = $2, epoch = epoch + 1, updated_at = now() \
                 WHERE id = $1 RETURNING epoch",
                &[&zone_id, &new_owner],
            )
            .await
            .map_err(StoreError::query("update zone"))?;
        let epoch: i64 = row.try_get(0).map_err(StoreError::query("read epoch"))?;
        record_event(&tx, &zone.id, Some(&zone.owner), &owner, epoch).await?;
        notify(&tx, &zone.id, epoch).await?;
        tx.commit()
            .await
            .map_err(StoreError::query("commit move"))?;
        info!(zone = %zone.id, from = %zone.owner, to = %owner, epoch, "moved zone");
        zone.owner = owner;
        zone.epoch = epoch_from_sql(&zone.id, epoch)?;
        Ok(zone)
    }

    /// The session, reopened first if the old one died.
    async fn client(&mut self) -> Result<&mut Client> {
        if self.client.is_closed() {
            debug!("zone store session closed; reconnecting");
            let (client, connection) = open(&self.config).await?;
            self.connection.abort();
            self.client = client;
            self.connection = connection;
        }
        Ok(&mut self.client)
    }
}

/// Parses a PostgreSQL URL (`postgres://user:password@host:port/db?options`) as
/// [`PgZoneStore::connect`] would, without connecting: for validating configuration.
pub fn parse_url(url: &str) -> Result<Config> {
    let mut config: Config = url.parse().map_err(StoreError::Url)?;
    if config.get_application_name().is_none() {
        config.application_name("meridian");
    }
    Ok(config)
}

/// Opens a session whose connection a background task drives (and logs the end of).
async fn open(config: &Config) -> Result<(Client, JoinHandle<()>)> {
    let (client, connection) = connect_raw(config).await?;
    let task = tokio::spawn(async move {
        if let Err(error) = connection.await {
            debug!(error = %chain(&error), "zone store session ended");
        }
    });
    Ok((client, task))
}

pub(crate) async fn connect_raw(
    config: &Config,
) -> Result<(
    Client,
    tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
)> {
    tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls))
        .await
        .map_err(|_| StoreError::Timeout {
            what: "connect",
            after: CONNECT_TIMEOUT,
        })?
        .map_err(StoreError::Connect)
}

/// Reads every zone, ordered by id so that equal contents give equal maps.
pub(crate) async fn load_map(client: &impl GenericClient) -> Result<ZoneMap> {
    let rows = client
        .query(&format!("{SELECT_ZONES} ORDER BY id"), &[])
        .await
        .map_err(StoreError::query("load zones"))?;
    let zones = rows.iter().map(zone_from_row).collect::<Result<Vec<_>>>()?;
    ZoneMap::new(zones).map_err(StoreError::InvalidMap)
}

fn zone_from_row(row: &Row) -> Result<Zone> {
    let decode = StoreError::query("decode zone row");
    let id: String = row.try_get(0).map_err(decode)?;
    let get = |i| -> Result<Option<i32>> {
        row.try_get(i)
            .map_err(StoreError::query("decode zone bounds"))
    };
    let area = ChunkRect::new(get(4)?, get(5)?, get(6)?, get(7)?);
    let owner: String = row
        .try_get(1)
        .map_err(StoreError::query("decode zone owner"))?;
    let epoch: i64 = row
        .try_get(2)
        .map_err(StoreError::query("decode zone epoch"))?;
    let dimension: String = row
        .try_get(3)
        .map_err(StoreError::query("decode zone dimension"))?;
    let id = ZoneId::from(id);
    let epoch = epoch_from_sql(&id, epoch)?;
    Ok(Zone::new(id, owner, area)
        .in_dimension(dimension)
        .with_epoch(epoch))
}

fn epoch_from_sql(zone: &ZoneId, epoch: i64) -> Result<u64> {
    u64::try_from(epoch).map_err(|_| StoreError::BadRow {
        zone: zone.to_string(),
        problem: format!("negative epoch {epoch}"),
    })
}

/// Epochs start at 1 and grow by one per move: they never get near `i64::MAX`.
fn epoch_to_sql(epoch: u64) -> i64 {
    i64::try_from(epoch).unwrap_or(i64::MAX)
}

async fn record_event(
    tx: &impl GenericClient,
    zone: &ZoneId,
    old_owner: Option<&ServerId>,
    new_owner: &ServerId,
    epoch: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO zone_events (zone_id, old_owner, new_owner, epoch) VALUES ($1, $2, $3, $4)",
        &[
            &zone.as_str(),
            &old_owner.map(ServerId::as_str),
            &new_owner.as_str(),
            &epoch,
        ],
    )
    .await
    .map_err(StoreError::query("record zone event"))?;
    Ok(())
}

/// Queues the notification; PostgreSQL delivers it only if the transaction commits.
async fn notify(tx: &impl GenericClient, zone: &ZoneId, epoch: i64) -> Result<()> {
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&NOTIFY_CHANNEL, &format!("{zone}:{epoch}")],
    )
    .await
    .map_err(StoreError::query("notify"))?;
    Ok(())
}
