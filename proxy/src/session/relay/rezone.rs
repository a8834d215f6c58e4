//! A session following a change of the zone map: assignments for its links' backends, the
//! client's view re-sourced from the new owners, and the player swapped if their zone moved.

use std::{collections::HashMap, sync::Arc};

use sync_plugin_protocol::{self as sync, Message};
use tracing::debug;
use zoning::ChunkPos;

use super::{OVERWORLD, Session};
use crate::{entities::LinkId, error::SessionError, zones::ZoneView};

/// Chunks named in one `ResendChunks`.
const RESEND_BATCH: usize = sync::limits::MAX_RESEND_CHUNKS;

impl Session {
    /// Takes the newest zone view and acts on what changed.
    pub(super) async fn on_zones_changed(
        &mut self,
        view: Arc<ZoneView>,
    ) -> Result<(), SessionError> {
        let previous = std::mem::replace(&mut self.zones, view);
        let told: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| l.sync.is_established())
            .map(|(id, _)| *id)
            .collect();
        for link in told {
            self.send_assignment(link).await?;
        }
        if Arc::ptr_eq(previous.map(), self.zones.map()) {
            // Only assignments changed (old owners are letting go); routing waits for them.
            return Ok(());
        }
        self.resource_moved_chunks().await?;
        self.update_links();
        self.swap_if_due().await
    }

    /// Tells the backend of `link` its zones, unless it already has this epoch's (from this
    /// link) or its grant is still held back.
    pub(super) async fn send_assignment(&mut self, link: LinkId) -> Result<(), SessionError> {
        let Some(l) = self.links.get(&link) else {
            return Ok(());
        };
        if l.assigned_epoch == Some(self.zones.epoch()) {
            return Ok(());
        }
        let Some(assignment) = self.zones.assignment_for(&l.server.id) else {
            return Ok(());
        };
        debug!(server = %l.server.id, epoch = assignment.epoch, zones = assignment.zones.len(), "assigning zones");
        let epoch = assignment.epoch;
        self.send_sync(link, &Message::ZoneAssignment(assignment))
            .await?;
        if let Some(l) = self.links.get_mut(&link) {
            l.assigned_epoch = Some(epoch);
        }
        Ok(())
    }

    /// Chunks the client has from a backend that no longer owns them are re-sourced to the
    /// owner's link, which is asked to send them again: the proxy dropped its copies (and
    /// the entities in them) while the old owner held the zone. Until they arrive the client
    /// keeps what it has, so nothing disappears in between.
    ///
    /// Chunks whose owner has no link yet stay with the old source; the owner's dummy link
    /// sends them when it joins.
    async fn resource_moved_chunks(&mut self) -> Result<(), SessionError> {
        let mut resend: HashMap<LinkId, Vec<sync::ChunkCoords>> = HashMap::new();
        let shown: Vec<(ChunkPos, LinkId)> = self.chunks.iter().collect();
        for (pos, source) in shown {
            if self.shows_chunk_from(source, pos) {
                continue;
            }
            let owner = match self.zones.map().zone_at_chunk(OVERWORLD, pos) {
                Some(_) => self.link_owning(pos),
                None => Some(self.primary),
            };
            let Some(owner) = owner else { continue };
            self.chunks.loaded(pos, owner);
            resend
                .entry(owner)
                .or_default()
                .push(sync::ChunkCoords { x: pos.x, z: pos.z });
        }
        for (link, mut chunks) in resend {
            let Some(l) = self.links.get(&link) else {
                continue;
            };
            if !l.sync.is_established() {
                debug!(server = %l.server.id, chunks = chunks.len(), "cannot ask for chunks again: no sync channel");
                continue;
            }
            debug!(server = %l.server.id, chunks = chunks.len(), "asking the new owner for chunks again");
            // Nearest first, so what the player looks at is replaced first.
            if let Some(here) = self.chunk {
                chunks.sort_by_key(|c| (c.x - here.x).abs().max((c.z - here.z).abs()));
            }
            for batch in chunks.chunks(RESEND_BATCH) {
                let message = Message::ResendChunks(sync::ResendChunks {
                    player: self.player.uuid,
                    dimension: OVERWORLD.to_owned(),
                    chunks: batch.to_vec(),
                });
                self.send_sync(link, &message).await?;
            }
        }
        Ok(())
    }
}
