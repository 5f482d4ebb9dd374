//! Sans-IO SIP for the media node: message parsing and printing, transactions
//! (RFC 3261 §17, RFC 6026), dialogs (§12), digest authentication, a registrar
//! and an outbound registration client.
//!
//! Nothing here reads a clock, touches a socket or spawns a task: time comes in
//! as `now: Instant`, bytes come in through `handle_*` and go out through
//! `poll_*`, and ids come from an injected seed ([`ids::Ids`]).

pub mod builder;
pub mod dialog;
pub mod digest;
pub mod error;
pub mod framer;
pub mod headers;
pub mod ids;
pub mod message;
pub mod params;
pub mod parse;
pub mod qualify;
pub mod registrar;
pub mod registration;
pub mod transaction;
pub mod uri;

mod text;

pub use builder::RequestBuilder;
pub use dialog::{Dialog, DialogError, DialogId, DialogState, Role};
pub use error::ParseError;
pub use framer::{Framed, StreamFramer};
pub use headers::{
    CSeq, Challenge, Contact, Credentials, Header, HeaderName, Headers, NameAddr, Via,
};
pub use ids::Ids;
pub use message::{Message, Method, Request, Response, reason_phrase};
pub use params::{Param, Params};
pub use parse::{MAX_HEADERS, MAX_MESSAGE_SIZE, bad_request_response, parse_message};
pub use qualify::{Qualify, QualifyConfig, Reachability};
pub use registrar::{Binding, Registrar, RegistrarConfig};
pub use registration::{RegState, Registration, RegistrationConfig};
pub use transaction::{
    Config, ConnId, Endpoint, Event, Peer, Timers, Transmit, Transport, TxError, TxId,
};
pub use uri::{Host, SipUri, TelUri, Uri, UriError};
