//! Errors, by the side that caused them.

use meridian_wire::ConnError;

/// Something the client did or suffered.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("unsupported protocol version {0} (Meridian speaks {proto})", proto = meridian_wire::PROTOCOL_VERSION)]
    UnsupportedVersion(i32),
}

impl ClientError {
    /// Whether this is the client leaving, which is not worth more than a debug line.
    pub fn is_ordinary(&self) -> bool {
        matches!(self, ClientError::Conn(e) if e.is_closed())
    }

    /// A short label for the `errors` metric.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Conn(ConnError::Frame(_)) => "client_frame",
            ClientError::Conn(ConnError::Decode(_)) => "client_decode",
            ClientError::Conn(_) => "client_io",
            ClientError::Timeout(_) => "client_timeout",
            ClientError::Protocol(_) | ClientError::UnsupportedVersion(_) => "client_protocol",
        }
    }
}

impl From<meridian_wire::FrameError> for ClientError {
    fn from(e: meridian_wire::FrameError) -> Self {
        ClientError::Conn(e.into())
    }
}

/// Something a backend did or suffered.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("connection timed out")]
    ConnectTimeout,
    #[error("login timed out")]
    LoginTimeout,
    #[error("refused the login: {0}")]
    Refused(String),
    #[error("disconnected the player: {0}")]
    Kicked(String),
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("sent nothing for {0:?}")]
    Silent(std::time::Duration),
}

impl BackendError {
    /// A short label for the `errors` metric.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendError::Resolve(_) | BackendError::Connect(_) | BackendError::ConnectTimeout => {
                "backend_connect"
            }
            BackendError::LoginTimeout | BackendError::Refused(_) => "backend_login",
            BackendError::Kicked(_) => "backend_kick",
            BackendError::Conn(e) if e.is_closed() => "backend_closed",
            BackendError::Conn(_) | BackendError::Protocol(_) => "backend_protocol",
            BackendError::Silent(_) => "backend_timeout",
        }
    }
}

impl From<meridian_wire::FrameError> for BackendError {
    fn from(e: meridian_wire::FrameError) -> Self {
        BackendError::Conn(e.into())
    }
}

/// How a session ended, when it did not end well.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("client: {0}")]
    Client(#[from] ClientError),
    #[error("backend {server}: {source}")]
    Backend {
        server: String,
        source: BackendError,
    },
    #[error("refused: {0}")]
    Refused(String),
}

impl SessionError {
    pub fn backend(server: &str, source: impl Into<BackendError>) -> Self {
        SessionError::Backend {
            server: server.to_owned(),
            source: source.into(),
        }
    }

    /// A short label for the `errors` metric.
    pub fn kind(&self) -> &'static str {
        match self {
            SessionError::Client(e) => e.kind(),
            SessionError::Backend { source, .. } => source.kind(),
            SessionError::Refused(_) => "refused",
        }
    }
}

/// Why the proxy could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("admin API: {0}")]
    Admin(std::io::Error),
    #[error("zone store: {0}")]
    Store(#[from] meridian_store::StoreError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
