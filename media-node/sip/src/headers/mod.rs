//! Header fields: names (with compact forms), the ordered header list of a
//! message, and typed values parsed on demand.

mod addr;
mod auth;
mod cseq;
pub(crate) mod via;

use std::fmt;

pub use addr::{Contact, NameAddr};
pub use auth::{AuthParams, Challenge, Credentials};
pub use cseq::CSeq;
pub use via::Via;

use crate::text::eq_ic;

macro_rules! header_names {
    ($( $variant:ident => $canon:literal $(, $compact:literal)? ;)*) => {
        /// A header field name. Known names compare and print in their
        /// canonical long form; unknown ones keep the spelling they came with.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum HeaderName {
            $( $variant, )*
            Other(String),
        }

        impl HeaderName {
            pub fn parse(s: &str) -> HeaderName {
                $(
                    if eq_ic(s, $canon) $( || eq_ic(s, $compact) )? {
                        return HeaderName::$variant;
                    }
                )*
                HeaderName::Other(s.to_string())
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $canon, )*
                    HeaderName::Other(s) => s,
                }
            }
        }
    };
}

header_names! {
    Accept => "Accept";
    AcceptEncoding => "Accept-Encoding";
    AcceptLanguage => "Accept-Language";
    AlertInfo => "Alert-Info";
    Allow => "Allow";
    AllowEvents => "Allow-Events", "u";
    Authorization => "Authorization";
    CallId => "Call-ID", "i";
    CallInfo => "Call-Info";
    Contact => "Contact", "m";
    ContentDisposition => "Content-Disposition";
    ContentEncoding => "Content-Encoding", "e";
    ContentLength => "Content-Length", "l";
    ContentType => "Content-Type", "c";
    CSeq => "CSeq";
    Date => "Date";
    ErrorInfo => "Error-Info";
    Event => "Event", "o";
    Expires => "Expires";
    From => "From", "f";
    MaxForwards => "Max-Forwards";
    MinExpires => "Min-Expires";
    Path => "Path";
    ProxyAuthenticate => "Proxy-Authenticate";
    ProxyAuthorization => "Proxy-Authorization";
    ProxyRequire => "Proxy-Require";
    RecordRoute => "Record-Route";
    ReferTo => "Refer-To", "r";
    ReferredBy => "Referred-By", "b";
    Require => "Require";
    RetryAfter => "Retry-After";
    Route => "Route";
    Server => "Server";
    ServiceRoute => "Service-Route";
    SessionExpires => "Session-Expires", "x";
    Subject => "Subject", "s";
    Supported => "Supported", "k";
    Timestamp => "Timestamp";
    To => "To", "t";
    Unsupported => "Unsupported";
    UserAgent => "User-Agent";
    Via => "Via", "v";
    Warning => "Warning";
    WwwAuthenticate => "WWW-Authenticate";
    ReplyTo => "Reply-To";
    Reason => "Reason";
    Privacy => "Privacy";
    PAssertedIdentity => "P-Asserted-Identity";
    RSeq => "RSeq";
    RAck => "RAck";
    MinSe => "Min-SE";
    ContentLanguage => "Content-Language";
    MimeVersion => "MIME-Version";
    Organization => "Organization";
    Priority => "Priority";
    InReplyTo => "In-Reply-To";
    SubscriptionState => "Subscription-State";
    ReferSub => "Refer-Sub";
    Replaces => "Replaces";
    Identity => "Identity", "y";
}

impl HeaderName {
    /// Headers whose grammar is a comma-separated list, so one line may carry
    /// several values (§7.3.1). Auth headers and Date contain commas but are not lists.
    pub fn is_list(&self) -> bool {
        use HeaderName::*;
        matches!(
            self,
            Accept
                | AcceptEncoding
                | AcceptLanguage
                | AlertInfo
                | Allow
                | AllowEvents
                | CallInfo
                | Contact
                | ContentEncoding
                | ContentLanguage
                | ErrorInfo
                | InReplyTo
                | Path
                | ProxyRequire
                | RecordRoute
                | Require
                | Route
                | ServiceRoute
                | Supported
                | Unsupported
                | Via
                | Warning
                | Privacy
                | PAssertedIdentity
        )
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        HeaderName::parse(s)
    }
}

/// One header line as received (folding undone) or as built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: String,
}

/// The header fields of a message in order. Values are raw text; typed
/// accessors on [`crate::Request`]/[`crate::Response`] parse them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, name: impl Into<HeaderName>, value: impl Into<String>) {
        self.0.push(Header {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Inserts before the first header of the same name (or at the top),
    /// as a proxy or UAC does with Via.
    pub fn push_front(&mut self, name: impl Into<HeaderName>, value: impl Into<String>) {
        let name = name.into();
        let at = self.0.iter().position(|h| h.name == name).unwrap_or(0);
        self.0.insert(
            at,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Replaces all headers of this name with one value (appended where the
    /// first one was, or at the end).
    pub fn set(&mut self, name: impl Into<HeaderName>, value: impl Into<String>) {
        let name = name.into();
        let at = self.0.iter().position(|h| h.name == name);
        self.0.retain(|h| h.name != name);
        let h = Header {
            name,
            value: value.into(),
        };
        match at {
            Some(i) => self.0.insert(i.min(self.0.len()), h),
            None => self.0.push(h),
        }
    }

    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|h| &h.name != name);
    }

    /// First value of the header.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0
            .iter()
            .find(|h| &h.name == name)
            .map(|h| h.value.as_str())
    }

    /// All lines of a header, in order.
    pub fn get_all(&self, name: &HeaderName) -> impl Iterator<Item = &str> + '_ {
        let name = name.clone();
        self.0
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| h.value.as_str())
    }

    /// All values of a list header, each line split at its top-level commas.
    pub fn values(&self, name: &HeaderName) -> impl Iterator<Item = &str> + '_ {
        self.get_all(name)
            .flat_map(crate::text::split_commas)
            .map(crate::text::trim)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
