//! The server-list ping, answered by the proxy itself so that a backend being down never breaks it.

use std::path::Path;

use azalea_protocol::packets::status::{
    ClientboundPongResponse, ClientboundStatusResponse, ServerboundStatusPacket,
    c_status_response::{Players, Version},
};
use base64::Engine as _;
use meridian_wire::conn::ServerStatus;

use crate::error::ClientError;

/// What the ping shows, built once from config.
#[derive(Debug, Clone)]
pub struct StatusInfo {
    pub motd: String,
    pub max_players: i32,
    /// `data:image/png;base64,…`
    pub favicon: Option<String>,
}

/// Reads a favicon and checks that it is a 64×64 PNG, as clients require.
pub fn load_favicon(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // PNG signature, then the IHDR chunk whose first fields are width and height.
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || !bytes.starts_with(SIGNATURE) || &bytes[12..16] != b"IHDR" {
        return Err(format!("{} is not a PNG file", path.display()));
    }
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if (width, height) != (64, 64) {
        return Err(format!(
            "{} is {width}×{height}; the favicon must be 64×64",
            path.display()
        ));
    }
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    ))
}

/// The status response for a client of `client_protocol`.
pub fn response(info: &StatusInfo, online: i32, client_protocol: i32) -> ClientboundStatusResponse {
    // Answering with the client's own protocol number would tell it we speak its version; answer
    // with ours so an older or newer client shows "incompatible" instead of failing at login.
    let _ = client_protocol;
    ClientboundStatusResponse {
        description: info.motd.clone().into(),
        favicon: info.favicon.clone(),
        players: Players {
            max: info.max_players,
            online,
            sample: Vec::new(),
        },
        version: Version {
            name: format!("Meridian {}", meridian_wire::VERSION_NAME),
            protocol: meridian_wire::PROTOCOL_VERSION,
        },
        enforces_secure_chat: Some(false),
    }
}

/// Serves one status exchange: a status request, then an optional ping.
pub async fn serve(
    mut conn: ServerStatus,
    info: &StatusInfo,
    online: i32,
    client_protocol: i32,
) -> Result<(), ClientError> {
    loop {
        let packet = match conn.read().await {
            Ok(packet) => packet,
            // Clients often close right after the pong, or after the status without pinging.
            Err(e) if e.is_closed() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        match packet {
            ServerboundStatusPacket::StatusRequest(_) => {
                conn.write(response(info, online, client_protocol)).await?;
            }
            ServerboundStatusPacket::PingRequest(ping) => {
                conn.write(ClientboundPongResponse { time: ping.time })
                    .await?;
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn favicon_must_be_a_64_pixel_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("icon.png");
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&64u32.to_be_bytes());
        png.extend_from_slice(&64u32.to_be_bytes());
        std::fs::write(&path, &png).unwrap();
        assert!(
            load_favicon(&path)
                .unwrap()
                .starts_with("data:image/png;base64,iVBORw0KGgo")
        );

        png[16..20].copy_from_slice(&32u32.to_be_bytes());
        std::fs::write(&path, &png).unwrap();
        assert!(load_favicon(&path).unwrap_err().contains("64×64"));

        std::fs::write(&path, b"GIF89a").unwrap();
        assert!(load_favicon(&path).unwrap_err().contains("not a PNG"));
        assert!(
            load_favicon(&dir.path().join("missing.png"))
                .unwrap_err()
                .contains("cannot read")
        );
    }

    #[test]
    fn response_reports_our_protocol() {
        let info = StatusInfo {
            motd: "hi".into(),
            max_players: 10,
            favicon: None,
        };
        let r = response(&info, 3, 1);
        assert_eq!(r.version.protocol, 775);
        assert_eq!((r.players.online, r.players.max), (3, 10));
    }
}
