//! The admin HTTP API: read-only views for anyone who can reach it, changes behind a bearer token.

use std::sync::{Arc, atomic::Ordering};

use axum::{
    Json, Router,
    extract::{Path, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    state::{PlayerView, ProxyState, SessionCommand},
    zones::{MoveError, ZoneInfo},
};

/// The JSON of `GET /api/servers`.
#[derive(Debug, Serialize)]
pub struct ServerView {
    pub id: String,
    pub address: String,
    pub online: bool,
    pub players: usize,
}

/// The API's routes over the proxy's state.
pub fn router(state: Arc<ProxyState>) -> Router {
    let protected = Router::new()
        .route("/api/players/{name}/kick", post(kick))
        .route("/api/zones/{id}/owner", post(move_zone))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/api/players", get(players))
        .route("/api/servers", get(servers))
        .route("/api/zones", get(zones))
        .route("/metrics", get(metrics))
        .merge(protected)
        .with_state(state)
}

/// Serves the API until `shutdown`.
pub async fn serve(
    state: Arc<ProxyState>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn players(State(state): State<Arc<ProxyState>>) -> Json<Vec<PlayerView>> {
    let mut players: Vec<PlayerView> = state.players.iter().map(|p| p.view()).collect();
    players.sort_by(|a, b| a.name.cmp(&b.name));
    Json(players)
}

async fn servers(State(state): State<Arc<ProxyState>>) -> Json<Vec<ServerView>> {
    Json(
        state
            .servers
            .iter()
            .map(|s| ServerView {
                id: s.id.clone(),
                address: s.address.clone(),
                online: s.online.load(Ordering::Relaxed),
                players: s.players.load(Ordering::Relaxed),
            })
            .collect(),
    )
}

async fn metrics(State(state): State<Arc<ProxyState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// The JSON of `GET /api/zones`.
#[derive(Debug, Serialize)]
pub struct ZonesView {
    /// `static` or `postgres`.
    pub store: &'static str,
    /// Whether the store is reachable now (always true for `static`); while it is not, the
    /// proxy routes by the last map it had.
    pub connected: bool,
    /// The map's version: the epoch of the assignments backends are given.
    pub epoch: i64,
    /// False while a change waits for old owners to let go.
    pub settled: bool,
    pub zones: Vec<ZoneInfo>,
}

async fn zones(State(state): State<Arc<ProxyState>>) -> Json<ZonesView> {
    let view = state.zones.current();
    let (store, connected) = state.zones.store();
    Json(ZonesView {
        store,
        connected,
        epoch: view.epoch(),
        settled: view.is_settled(),
        zones: view.target().zones().iter().map(ZoneInfo::from).collect(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveRequest {
    owner: String,
    /// Move only if the zone is still at this epoch (compare-and-set).
    #[serde(default)]
    expected_epoch: Option<u64>,
}

async fn move_zone(
    State(state): State<Arc<ProxyState>>,
    Path(id): Path<String>,
    body: Result<Json<MoveRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(request) = match body {
        Ok(body) => body,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "expected {{\"owner\": \"<server id>\"}}: {}",
                    rejection.body_text()
                ),
            );
        }
    };
    match state
        .zones
        .move_zone(&state.servers, &id, &request.owner, request.expected_epoch)
        .await
    {
        Ok((zone, moved)) => {
            Json(serde_json::json!({ "zone": zone, "moved": moved })).into_response()
        }
        Err(e) => {
            let status = match &e {
                MoveError::UnknownZone(_) => StatusCode::NOT_FOUND,
                MoveError::UnknownOwner(_) => StatusCode::BAD_REQUEST,
                MoveError::StaleEpoch { .. } => StatusCode::CONFLICT,
                MoveError::Store(_) | MoveError::StoreTimeout(_) | MoveError::NotRunning => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            };
            error(status, e.to_string())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KickRequest {
    #[serde(default)]
    reason: Option<String>,
}

async fn kick(
    State(state): State<Arc<ProxyState>>,
    Path(name): Path<String>,
    body: Option<Json<KickRequest>>,
) -> Response {
    let reason = body
        .and_then(|Json(b)| b.reason)
        .unwrap_or_else(|| "Kicked by an operator".to_owned());
    // Clone the sender out of the map before awaiting: no DashMap guard may live across `.await`.
    let target = state
        .players
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(&name))
        .map(|p| p.commands.clone());
    let Some(commands) = target else {
        return error(StatusCode::NOT_FOUND, format!("no player named {name}"));
    };
    match commands.send(SessionCommand::Kick(reason)).await {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "kicked": name })),
        )
            .into_response(),
        Err(_) => error(StatusCode::GONE, format!("{name} has already left")),
    }
}

async fn require_token(
    State(state): State<Arc<ProxyState>>,
    request: Request,
    next: Next,
) -> Response {
    let expected = state.config.admin.token.expose();
    if expected.is_empty() {
        return error(
            StatusCode::FORBIDDEN,
            "no admin token is configured, so changes are disabled".into(),
        );
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Comparing digests keeps the comparison time independent of where the strings differ.
    match given {
        Some(token) if Sha256::digest(token) == Sha256::digest(expected) => next.run(request).await,
        _ => {
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "a valid bearer token is required".into(),
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
