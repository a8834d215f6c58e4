use super::*;

const MINIMAL: &str = r#"
[[servers]]
id = "west"
address = "127.0.0.1:25566"
[forwarding]
secret = "s3cret"
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn every_example_config_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".example.toml") {
            let mut config = Config::parse(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            config.resolve_secrets(no_env, Some(dir)).unwrap();
            config
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 1, "no example config found");
}

#[test]
fn defaults_fill_a_minimal_config() {
    let config = Config::parse(MINIMAL).unwrap();
    config.validate().unwrap();
    assert_eq!(config.bind.port(), 25565);
    assert_eq!(config.compression(), Some(256));
    assert_eq!(config.default_server(), "west");
    assert_eq!(config.limits.read_timeout(), Duration::from_secs(30));
}

#[test]
fn unknown_keys_are_refused() {
    let err = Config::parse(&format!("{MINIMAL}\n[status]\nmotdd = \"typo\"\n")).unwrap_err();
    assert!(err.to_string().contains("motdd"), "{err}");
}

#[test]
fn secrets_are_masked_in_debug() {
    let mut config = Config::parse(MINIMAL).unwrap();
    config.admin.token = Secret::new("tok3n");
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("s3cret") && !debug.contains("tok3n"),
        "{debug}"
    );
    assert!(debug.contains("***"));
}

#[test]
fn zone_store_url_is_masked() {
    let config = Config::parse(&format!(
        "{MINIMAL}\n[zones]\nstore = \"postgres://u:pw@db/meridian\"\n"
    ))
    .unwrap();
    assert!(matches!(config.zones.store, ZoneStore::Postgres(_)));
    assert!(!format!("{config:?}").contains("pw@db"));
    config.validate().unwrap();
    // A URL that does not parse is refused before anything connects, without its password.
    let bad = Config::parse(&format!(
        "{MINIMAL}\n[zones]\nstore = \"postgres://u:s3cretpw@db:notaport/meridian\"\n"
    ))
    .unwrap();
    match bad.validate() {
        Err(ConfigError::Invalid { field, reason }) => {
            assert_eq!(field, "zones.store");
            assert!(!reason.contains("s3cretpw"), "{reason}");
        }
        other => panic!("expected an invalid zones.store, got {other:?}"),
    }
    assert_eq!(
        Config::parse(MINIMAL).unwrap().zones.store,
        ZoneStore::Static
    );
}

#[test]
fn environment_overrides_secrets() {
    let mut config = Config::parse(MINIMAL).unwrap();
    config
        .resolve_secrets(
            |name| match name {
                FORWARDING_SECRET_ENV => Some("from-env".into()),
                ADMIN_TOKEN_ENV => Some("admin-env".into()),
                _ => None,
            },
            None,
        )
        .unwrap();
    assert_eq!(config.forwarding.secret.expose(), "from-env");
    assert_eq!(config.admin.token.expose(), "admin-env");
}

#[test]
fn secret_file_is_read_relative_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fwd.secret"), "  filesecret\n").unwrap();
    let mut config =
        Config::parse(&MINIMAL.replace("secret = \"s3cret\"", "secret_file = \"fwd.secret\""))
            .unwrap();
    config.resolve_secrets(no_env, Some(dir.path())).unwrap();
    assert_eq!(config.forwarding.secret.expose(), "filesecret");
}

fn invalid_field(text: &str) -> String {
    match Config::parse(text).unwrap().validate() {
        Err(ConfigError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

#[test]
fn validation_names_the_field_at_fault() {
    assert_eq!(
        invalid_field("servers = []\n[forwarding]\nsecret = \"x\""),
        "servers"
    );
    assert_eq!(
        invalid_field(&MINIMAL.replace("127.0.0.1:25566", "127.0.0.1")),
        "servers[0].address"
    );
    assert_eq!(
        invalid_field(&MINIMAL.replace("s3cret", "")),
        "forwarding.secret"
    );
    assert_eq!(
        invalid_field(&format!("default_server = \"nope\"\n{MINIMAL}")),
        "default_server"
    );
    assert_eq!(
        invalid_field(&format!("compression_threshold = -5\n{MINIMAL}")),
        "compression_threshold"
    );
    assert_eq!(
        invalid_field(&format!("{MINIMAL}\n[limits]\nread_timeout_ms = 0\n")),
        "limits.read_timeout_ms"
    );
    let dup = format!("{MINIMAL}\n[[servers]]\nid = \"west\"\naddress = \"127.0.0.1:1\"\n");
    assert_eq!(invalid_field(&dup), "servers[1].id");
    let bad_owner = format!("{MINIMAL}\n[[zones.map]]\nid = \"z\"\nowner = \"mars\"\n");
    assert_eq!(invalid_field(&bad_owner), "zones.map.z");
    let overlap = format!(
        "{MINIMAL}\n[[zones.map]]\nid = \"a\"\nowner = \"west\"\n[[zones.map]]\nid = \"b\"\nowner = \"west\"\n"
    );
    assert_eq!(invalid_field(&overlap), "zones.map");
    let bad_store = format!("{MINIMAL}\n[zones]\nstore = \"mysql://x\"\n");
    assert_eq!(invalid_field(&bad_store), "zones.store");
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = Config::load(Path::new("/nonexistent/meridian.toml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}
