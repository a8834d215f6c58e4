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

use crate::state::{PlayerView, ProxyState, SessionCommand};

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
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/api/players", get(players))
        .route("/api/servers", get(servers))
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
