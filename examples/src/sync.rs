//! The backend side of the `meridian:sync` plugin channel.
//!
//! For now the payload is only logged; the message types live in the `sync-plugin-protocol`
//! crate, and this hook is where the backend will decode and act on them.

use uuid::Uuid;

/// The plugin channel the proxy speaks on for its players.
pub const CHANNEL: &str = "meridian:sync";

/// Who a sync message arrived through.
#[derive(Debug, Clone)]
pub struct SyncContext<'a> {
    pub backend_id: &'a str,
    pub player: Uuid,
    pub player_name: &'a str,
}

/// Handles one `custom_payload` on [`CHANNEL`].
pub fn on_payload(ctx: &SyncContext<'_>, payload: &[u8]) {
    tracing::info!(
        backend = ctx.backend_id,
        player = ctx.player_name,
        uuid = %ctx.player,
        len = payload.len(),
        head = ?&payload[..payload.len().min(16)],
        "meridian:sync payload received"
    );
}
