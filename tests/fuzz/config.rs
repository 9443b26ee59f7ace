//! The config loader (TOML profiles) and what is made of a profile it
//! accepted: its case table and field map, its transport settings.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use guichet::backend::servicenow::{Schema, ServiceNow, Settings};
use guichet::config::{Config, Profile};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::harness::{Bytes, corpus, fuzz, mutated, raw};

const WORDS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "[profiles.",
    "[profiles.a]",
    "[profiles.a.fields]",
    "=",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "\n",
    "#",
    ",",
    "{",
    "}",
    ".",
    "url",
    "user",
    "backend",
    "language",
    "insecure_http",
    "proxy",
    "read_timeout_secs",
    "connect_timeout_secs",
    "requests_in_flight",
    "auth",
    "oauth_client_id",
    "case_table",
    "fields",
    "encrypt_store",
    "retention_days",
    "closed_retention_days",
    "lock_after_minutes",
    "default_profile",
    "true",
    "0",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "1979-05-27T07:32:00Z",
    "inf",
    "nan",
    "\"http://127.0.0.1:8080\"",
    "\"https://[::1]:443/\"",
    "\"oauth\"",
    "\"incident\"",
    "\\u0000",
    "é",
];

const KEYS: &[&str] = &[
    "url",
    "user",
    "backend",
    "language",
    "insecure_http",
    "proxy",
    "read_timeout_secs",
    "connect_timeout_secs",
    "requests_in_flight",
    "auth",
    "oauth_client_id",
    "ca_cert",
    "case_table",
    "fields",
    "encrypt_store",
    "retention_days",
    "closed_retention_days",
    "lock_after_minutes",
    "citizen",
    "due",
    "x",
];

/// A TOML value of any type (the wrong one, most often).
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "\"[ -~é]{0,20}\"",
        "-?[0-9]{1,22}",
        proptest::sample::select(
            &[
                "true",
                "false",
                "1.5",
                "inf",
                "-nan",
                "1979-05-27",
                "07:32:00",
                "1979-05-27T07:32:00Z",
                "\"\"",
                "\"http://\"",
                "\"http://user:pw@[::1\"",
                "\"http://10.0.0.1/\"",
                "\"socks5://proxy:1080\"",
                "\"basic\"",
                "\"oauth\"",
                "\"auto\"",
                "\"sn_customerservice_case\"",
                "\"incident;drop\"",
                "\"fr\"",
                "0",
                "4294967296",
                "18446744073709551615",
            ][..]
        )
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..4).prop_map(
                |v| {
                    let pairs: Vec<String> = v.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    format!("{{ {} }}", pairs.join(", "))
                }
            ),
        ]
    })
}

/// A config of the right shape: profiles with keys of the wrong types.
fn structured() -> impl Strategy<Value = Vec<u8>> {
    let profile = (
        "[a-z_-]{1,6}|[A-Za-z0-9 .]{0,4}",
        proptest::collection::vec((proptest::sample::select(KEYS), toml_value()), 0..10),
        proptest::collection::vec(("[a-z_]{1,10}", toml_value()), 0..3),
    );
    (
        proptest::option::of(toml_value()),
        proptest::collection::vec(profile, 0..3),
    )
        .prop_map(|(default, profiles)| {
            let mut text = String::new();
            if let Some(default) = default {
                text.push_str(&format!("default_profile = {default}\n"));
            }
            for (name, keys, fields) in profiles {
                text.push_str(&format!("[profiles.\"{name}\"]\n"));
                for (key, value) in keys {
                    text.push_str(&format!("{key} = {value}\n"));
                }
                if !fields.is_empty() {
                    text.push_str(&format!("[profiles.\"{name}\".fields]\n"));
                    for (key, value) in fields {
                        text.push_str(&format!("{key} = {value}\n"));
                    }
                }
            }
            text.into_bytes()
        })
}

fn write_private(path: &Path, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("config file");
    file.write_all(bytes).expect("write config");
}

/// What Guichet makes of a profile before it speaks to the back-end (the
/// CA file is left out: the fuzzer would name files to read).
fn use_profile(
    config: &Config,
    name: &str,
    profile: &Profile,
    sample: u64,
) -> Result<(), TestCaseError> {
    let _ = config.profile(Some(name));
    let _ = profile.retention();
    let _ = profile.idle_lock_minutes();
    let schema = Schema::new(profile.case_table.as_deref(), &profile.fields);
    let mut settings = Settings::new(&profile.url, &profile.user, "password");
    settings.auth = profile.auth;
    settings.allow_http = profile.insecure_http;
    settings.proxy = profile.proxy.clone();
    if let Some(secs) = profile.read_timeout_secs {
        settings.read_timeout = std::time::Duration::from_secs(secs.max(1));
    }
    if let Some(secs) = profile.connect_timeout_secs {
        settings.connect_timeout = std::time::Duration::from_secs(secs.max(1));
    }
    if let Some(n) = profile.requests_in_flight {
        settings.requests_in_flight = n.max(1);
    }
    if let Some(proxy) = &settings.proxy {
        let _ = reqwest::Proxy::all(proxy.as_str());
    }
    if let Ok(schema) = schema {
        let _ = schema.case_fields();
        // Making the HTTP client loads the system's roots (~30 ms): done for
        // every plain-http URL, which is refused or accepted before that,
        // and for one profile in eight otherwise.
        let refused_early = settings.url.starts_with("http://") && !settings.allow_http;
        if refused_early || sample.is_multiple_of(8) {
            let _ = ServiceNow::new(settings, schema);
        }
    }
    Ok(())
}

#[test]
fn config_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    let strategy = prop_oneof![
        3 => mutated(corpus("config"), WORDS),
        2 => structured(),
        1 => raw(WORDS),
    ]
    .prop_map(Bytes);
    fuzz("config_files", strategy, |Bytes(bytes)| {
        write_private(&path, &bytes);
        let Ok(config) = Config::load(&path) else {
            return Ok(());
        };
        let _ = config.profile(None);
        let sample = bytes
            .iter()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(*b)));
        for (name, profile) in &config.profiles {
            use_profile(&config, name, profile, sample)?;
        }
        // Saved as `login` saves it, it loads back the same.
        let saved = dir.path().join("saved.toml");
        let _ = std::fs::remove_file(&saved);
        if config.save(&saved).is_ok() {
            let back = Config::load(&saved);
            prop_assert!(
                back.is_ok(),
                "a saved config does not load: {:?}",
                back.err()
            );
            let back = back.expect("loaded");
            prop_assert_eq!(&back.profiles, &config.profiles);
            prop_assert_eq!(&back.default_profile, &config.default_profile);
        }
        Ok(())
    });
}
