//! The typed configuration of `callisto serve`: flags, each with an
//! environment variable, loaded once and passed down.

use anyhow::Context;
use base64::Engine;
use callisto_api::ApiConfig;
use callisto_node::NodeConfig;
use rand::RngCore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Folder for the store, blobs, outbox and keys; survives restarts.
    #[arg(long, env = "CALLISTO_DATA", default_value = "data")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "CALLISTO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL people reach the app at (used in mailed links); defaults to http://<listen>.
    #[arg(long, env = "CALLISTO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Built web app to serve (index.html + assets).
    #[arg(long, env = "CALLISTO_WEB_DIR", default_value = "web/dist")]
    pub web: PathBuf,
    /// Demo company to seed on first start.
    #[arg(
        long,
        env = "CALLISTO_DEMO",
        default_value = "samplesdata/demo-tenant.json"
    )]
    pub demo: PathBuf,
    /// Do not seed the demo company.
    #[arg(long, env = "CALLISTO_NO_DEMO")]
    pub no_demo: bool,
    /// Access-token signing key (base64, ≥ 32 bytes). Default: generated once and kept in DATA/keys/jwt.key.
    #[arg(long, env = "CALLISTO_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Secret SMTP passwords are sealed with (base64, ≥ 32 bytes). Default: generated once and kept in DATA/keys/mail.key.
    #[arg(long, env = "CALLISTO_MAIL_KEY", hide_env_values = true)]
    pub mail_key: Option<String>,
    /// Where the media node takes SIP over UDP (agents' phones, the trunk).
    #[arg(long, env = "CALLISTO_SIP", default_value = "127.0.0.1:5060")]
    pub sip: SocketAddr,
    /// Where the media node takes SIP over WebSocket (browser agents, RFC 7118).
    #[arg(long, env = "CALLISTO_SIP_WS", default_value = "127.0.0.1:5066")]
    pub sip_ws: SocketAddr,
    /// Where the media node takes SIP over secure WebSocket (needs --tls-cert and --tls-key).
    #[arg(long, env = "CALLISTO_SIP_WSS", default_value = "127.0.0.1:5067")]
    pub sip_wss: SocketAddr,
    /// Where the media node takes SIP over TLS (desk phones, trunks; needs --tls-cert and --tls-key).
    #[arg(long, env = "CALLISTO_SIP_TLS", default_value = "127.0.0.1:5061")]
    pub sip_tls: SocketAddr,
    /// PEM certificate chain for WSS and SIP over TLS; both are off without it.
    #[arg(long, env = "CALLISTO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// CA certificates (PEM) trusted for trunks over TLS besides the built-in Mozilla roots.
    #[arg(long, env = "CALLISTO_TRUNK_CA")]
    pub trunk_ca: Option<PathBuf>,
    /// PEM private key for WSS and SIP over TLS.
    #[arg(long, env = "CALLISTO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Address for RTP and in SDP; defaults to the SIP address's IP.
    #[arg(long, env = "CALLISTO_MEDIA_IP")]
    pub media_ip: Option<std::net::IpAddr>,
    /// Service token of the node's control API (/node). Default: generated once and kept in DATA/keys/node.token.
    #[arg(long, env = "CALLISTO_NODE_TOKEN", hide_env_values = true)]
    pub node_token: Option<String>,
    /// WAV played to a caller on hold (8 kHz mono).
    #[arg(
        long,
        env = "CALLISTO_HOLD_MUSIC",
        default_value = "samplesdata/audio/hold-music.wav"
    )]
    pub hold_music: PathBuf,
}

#[derive(Debug)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub web_dir: Option<PathBuf>,
    pub demo_file: Option<PathBuf>,
    pub api: ApiConfig,
    pub node: NodeConfig,
    pub node_token: String,
}

impl ServeConfig {
    pub fn load(args: ServeArgs) -> anyhow::Result<ServeConfig> {
        std::fs::create_dir_all(&args.data)
            .with_context(|| format!("creating data folder {}", args.data.display()))?;
        let secret = match &args.jwt_secret {
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .context("CALLISTO_JWT_SECRET must be base64")?,
            None => persistent_secret(&args.data.join("keys").join("jwt.key"))?,
        };
        let mail_secret = match &args.mail_key {
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .context("CALLISTO_MAIL_KEY must be base64")?,
            None => persistent_secret(&args.data.join("keys").join("mail.key"))?,
        };
        anyhow::ensure!(
            mail_secret.len() >= 32,
            "CALLISTO_MAIL_KEY must be at least 32 bytes"
        );
        let public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.listen));
        let demo_file = (!args.no_demo).then(|| args.demo.clone());
        let node_token = match &args.node_token {
            Some(t) => t.trim().to_string(),
            None => persistent_token(&args.data.join("keys").join("node.token"))?,
        };
        anyhow::ensure!(
            node_token.len() >= 16,
            "CALLISTO_NODE_TOKEN must be at least 16 characters"
        );
        let mut node = NodeConfig::local(
            args.sip,
            args.data.join("spool"),
            persistent_secret(&args.data.join("keys").join("sip-nonce.key"))?,
        );
        node.ws_addr = Some(args.sip_ws);
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            node.wss = Some(callisto_node::TlsConfig {
                addr: args.sip_wss,
                cert: cert.clone(),
                key: key.clone(),
            });
            node.tls = Some(callisto_node::TlsConfig {
                addr: args.sip_tls,
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        node.trunk_ca = args.trunk_ca.clone();
        if let Some(ip) = args.media_ip {
            node.media_ip = ip;
        }
        node.hold_music = args.hold_music.is_file().then(|| args.hold_music.clone());
        if let Some(f) = &demo_file {
            anyhow::ensure!(
                f.is_file(),
                "demo file {} not found (run from the project folder, set CALLISTO_DEMO, or pass --no-demo)",
                f.display()
            );
        }
        Ok(ServeConfig {
            web_dir: args
                .web
                .join("index.html")
                .is_file()
                .then(|| args.web.clone()),
            data_dir: args.data,
            listen: args.listen,
            demo_file,
            api: ApiConfig {
                mail_secret,
                // Browsers on an https page may only use WSS.
                sip_websocket: Some(match &node.wss {
                    Some(wss) => format!("wss://{}", wss.addr),
                    None => format!("ws://{}", args.sip_ws),
                }),
                ..ApiConfig::new(secret, public_url)
            },
            node,
            node_token,
        })
    }
}

/// Reads the signing key, creating it on first start, so tokens survive restarts.
fn persistent_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read(path) {
        anyhow::ensure!(
            existing.len() >= 32,
            "{} is shorter than 32 bytes; delete it to make a new one",
            path.display()
        );
        return Ok(existing);
    }
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_private(path, &key).with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

/// A service token kept as text (so an operator can copy it), made on first start.
fn persistent_token(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().to_string());
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_private(path, token.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(token)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
