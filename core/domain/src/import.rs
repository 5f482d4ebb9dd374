//! Loading a client base from a spreadsheet (PRODUCT C2) and the duplicate rules shared by
//! import and the duplicate finder (C9). The file itself (encoding, separator, XLSX) is read
//! elsewhere; this module sees a header row and rows of text cells.
//!
//! The flow: [`guess_columns`] proposes a mapping from the headers, the person edits it,
//! [`check_columns`] accepts it, then every row goes through [`row_to_cards`], which either
//! builds the cards or rejects the row with the column and the reason (the downloadable list of
//! rejected rows). Against existing cards, [`import_duplicate`] says what an incoming card
//! duplicates and [`merge_into`] merges it under [`DuplicatePolicy::Merge`].
//!
//! # How a row becomes cards
//!
//! - A row whose cells are all blank is rejected as `"empty row"`.
//! - Every mapped cell is trimmed and may hold at most [`MAX_FIELD_CHARS`] characters
//!   ([`MAX_DESCRIPTION_CHARS`] for the description); a longer one rejects the row.
//! - Phones: a cell may hold several numbers split by `,`, `;` or line breaks
//!   ([`parse_phone_cell`]); one that cannot be read rejects the row naming the column and
//!   the value — a wrong number costs a call, and the person can fix the cell and load again.
//!   Several phone columns are allowed; all numbers are kept, repeats dropped.
//! - E-mails: split by `,`, `;` or whitespace, each normalised by [`normalize_email`]; an
//!   invalid one rejects the row.
//! - Tags: split by `;` (and `,`), trimmed, repeats dropped (case-insensitively, the first
//!   spelling wins), then the batch tag of [`ImportDefaults::tag`] is added.
//! - INN: checked with [`check_inn`]; an invalid one rejects the row.
//! - Full name ([`split_full_name`]): Russian order. Three or more words are
//!   "Last First Patronymic…", two are "Last First", one is the last name. Separate last,
//!   first and patronymic columns win; the full name only fills the parts they leave empty.
//! - Which cards: a non-empty organization cell makes an organization card; a person name
//!   (any of last, first, patronymic, full name) makes a contact card. A row with neither but
//!   with a phone makes a contact named after its first phone (formatted), like a new lead
//!   from an unknown number (C12). A row with no name, organization or phone is rejected.
//! - The split when both cards are made: the organization gets the company-level fields
//!   (city, industry, website, INN); the contact, nested in it, gets the person fields
//!   (names, position), the phones and e-mails, description, client type and custom fields.
//!   Tags (with the batch tag) go to both cards, so filtering by the batch tag finds both.
//!   When only one card is made, it gets every field of the row.
//! - Cards are stamped `created_at = updated_at = now`, assigned to the default responsible
//!   user and group, and checked with [`Client::validate`].

use crate::Millis;
use crate::client::{
    Client, ClientKind, MAX_CUSTOM_FIELDS, MAX_DESCRIPTION_CHARS, MAX_EMAILS, MAX_FIELD_CHARS,
    MAX_PHONES, MAX_TAGS, person_name,
};
use crate::email::normalize_email;
use crate::ids::{ClientId, GroupId, UserId};
use crate::phone::{format_phone, parse_phone_cell};
use crate::user::{FieldError, check_inn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a column of the file goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "target", content = "name")]
pub enum Column {
    Organization,
    LastName,
    FirstName,
    Patronymic,
    /// "Last First Patronymic" in one cell; see [`split_full_name`].
    FullName,
    Position,
    Phones,
    Emails,
    City,
    Industry,
    Website,
    Inn,
    Description,
    Tags,
    ClientType,
    /// A tenant-defined field, by its name.
    Custom(String),
    /// "Do not import".
    Skip,
}

impl Column {
    /// Targets that may be mapped from several columns (their values are combined).
    pub fn is_multi_valued(&self) -> bool {
        matches!(self, Column::Phones | Column::Emails | Column::Tags)
    }

    /// The target's name for messages, as serde spells it.
    pub fn target_name(&self) -> String {
        let name = match self {
            Column::Organization => "organization",
            Column::LastName => "last_name",
            Column::FirstName => "first_name",
            Column::Patronymic => "patronymic",
            Column::FullName => "full_name",
            Column::Position => "position",
            Column::Phones => "phones",
            Column::Emails => "emails",
            Column::City => "city",
            Column::Industry => "industry",
            Column::Website => "website",
            Column::Inn => "inn",
            Column::Description => "description",
            Column::Tags => "tags",
            Column::ClientType => "client_type",
            Column::Custom(name) => return format!("custom field {name:?}"),
            Column::Skip => "skip",
        };
        name.to_string()
    }

    /// The longest cell this target accepts.
    fn max_chars(&self) -> usize {
        match self {
            Column::Description => MAX_DESCRIPTION_CHARS,
            _ => MAX_FIELD_CHARS,
        }
    }
}

/// Header synonyms, compared after [`header_key`] with spaces removed.
const SYNONYMS: &[(Column, &[&str])] = &[
    (
        Column::Organization,
        &[
            "Компания",
            "Организация",
            "Название",
            "Наименование",
            "Название компании",
            "Название организации",
            "Наименование организации",
            "Юрлицо",
            "Юр. лицо",
            "Company",
            "Company name",
            "Organization",
            "Organisation",
            "Organization name",
            "Account",
            "Firma",
            "Nazwa firmy",
            "Organizacja",
        ],
    ),
    (
        Column::LastName,
        &["Фамилия", "Last name", "Surname", "Family name", "Nazwisko"],
    ),
    (
        Column::FirstName,
        &["Имя", "First name", "Given name", "Imię"],
    ),
    (
        Column::Patronymic,
        &["Отчество", "Patronymic", "Middle name"],
    ),
    (
        Column::FullName,
        &[
            "ФИО",
            "Ф.И.О.",
            "Фамилия Имя Отчество",
            "Фамилия Имя",
            "Имя Фамилия",
            "Полное имя",
            "Контактное лицо",
            "Контакт",
            "Full name",
            "Name",
            "Contact",
            "Contact name",
            "Contact person",
            "Imię i nazwisko",
            "Nazwisko i imię",
            "Osoba kontaktowa",
            "Kontakt",
        ],
    ),
    (
        Column::Position,
        &[
            "Должность",
            "Position",
            "Title",
            "Job title",
            "Role",
            "Stanowisko",
        ],
    ),
    (
        Column::Phones,
        &[
            "Телефон",
            "Телефоны",
            "Тел.",
            "Моб.",
            "Мобильный",
            "Сотовый",
            "Номер",
            "Номер телефона",
            "Phone",
            "Phones",
            "Phone number",
            "Mobile",
            "Cell",
            "Tel.",
            "Telephone",
            "Telefon",
            "Telefony",
            "Tel. kom.",
            "Komórka",
            "Numer",
            "Numer telefonu",
        ],
    ),
    (
        Column::Emails,
        &[
            "E-mail",
            "Email",
            "E-mails",
            "Mail",
            "Почта",
            "Эл. почта",
            "Электронная почта",
            "Емейл",
            "Имейл",
            "Poczta",
        ],
    ),
    (
        Column::City,
        &[
            "Город",
            "Населённый пункт",
            "City",
            "Town",
            "Miasto",
            "Miejscowość",
        ],
    ),
    (
        Column::Industry,
        &[
            "Отрасль",
            "Сфера",
            "Сфера деятельности",
            "Вид деятельности",
            "Industry",
            "Sector",
            "Branża",
        ],
    ),
    (
        Column::Website,
        &[
            "Сайт",
            "Веб-сайт",
            "Website",
            "Web site",
            "Site",
            "Web",
            "URL",
            "WWW",
            "Strona",
            "Strona WWW",
            "Strona internetowa",
        ],
    ),
    (
        Column::Inn,
        &["ИНН", "INN", "Tax ID", "Tax number", "VAT ID", "NIP"],
    ),
    (
        Column::Description,
        &[
            "Комментарий",
            "Комментарии",
            "Описание",
            "Примечание",
            "Примечания",
            "Заметки",
            "Comment",
            "Comments",
            "Description",
            "Notes",
            "Note",
            "Uwagi",
            "Opis",
            "Komentarz",
            "Notatki",
        ],
    ),
    (
        Column::Tags,
        &[
            "Теги",
            "Тег",
            "Метки",
            "Метка",
            "Категория",
            "Tags",
            "Tag",
            "Labels",
            "Tagi",
            "Kategoria",
            "Kategorie",
        ],
    ),
    (
        Column::ClientType,
        &[
            "Тип клиента",
            "Тип",
            "Client type",
            "Customer type",
            "Type",
            "Typ klienta",
        ],
    ),
];

/// Words inside a longer header that give its target, most specific first (so "Телефон
/// компании" is a phone and "Город компании" a city, not the organization). A stem ending in
/// `*` matches the start of a word, otherwise the whole word.
const KEYWORDS: &[(Column, &[&str])] = &[
    (
        Column::Emails,
        &["email*", "mail*", "почт*", "емейл*", "имейл*", "poczt*"],
    ),
    (
        Column::Phones,
        &[
            "телефон*",
            "тел",
            "моб*",
            "сотов*",
            "phone*",
            "mobil*",
            "tel",
            "telefon*",
            "kom",
            "komork*",
        ],
    ),
    (Column::City, &["город*", "city", "miast*", "miejscowos*"]),
    (
        Column::Industry,
        &["отрасл*", "сфер*", "industry", "branza"],
    ),
    (
        Column::Website,
        &["сайт*", "website", "site", "url", "www", "strona"],
    ),
    (Column::Inn, &["инн", "inn", "nip"]),
    (
        Column::Description,
        &[
            "коммент*",
            "описан*",
            "примечан*",
            "замет*",
            "comment*",
            "note*",
            "descr*",
            "uwag*",
            "opis*",
            "koment*",
        ],
    ),
    (
        Column::Tags,
        &["тег*", "метк*", "tag*", "label*", "kategor*", "категор*"],
    ),
    (Column::ClientType, &["тип", "type", "typ"]),
    (Column::FullName, &["фио"]),
    (
        Column::Position,
        &["должност*", "position", "title", "stanowisk*"],
    ),
    (Column::Patronymic, &["отчеств*", "patronymic"]),
    (
        Column::LastName,
        &["фамили*", "surname", "nazwisk*", "last"],
    ),
    (Column::FirstName, &["имя", "imie", "first"]),
    (
        Column::Organization,
        &[
            "компани*",
            "организац*",
            "company",
            "firm*",
            "organi*",
            "наименован*",
        ],
    ),
];

/// Lower-case, `ё` as `е`, Polish letters without diacritics, punctuation as spaces,
/// runs of spaces collapsed.
fn header_key(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    // One pass: a run of anything but letters and digits becomes one space,
    // none at either end (the key of every organization name at import).
    let mut gap = false;
    for c in header.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'ё' => 'е',
            'ą' => 'a',
            'ć' => 'c',
            'ę' => 'e',
            'ł' => 'l',
            'ń' => 'n',
            'ó' => 'o',
            'ś' => 's',
            'ź' | 'ż' => 'z',
            c => c,
        };
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

fn compact(key: &str) -> String {
    key.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The target one header suggests; [`Column::Skip`] when nothing fits.
pub fn guess_column(header: &str) -> Column {
    let key = header_key(header);
    if key.is_empty() {
        return Column::Skip;
    }
    let flat = compact(&key);
    for (column, names) in SYNONYMS {
        if names.iter().any(|n| compact(&header_key(n)) == flat) {
            return column.clone();
        }
    }
    let words: Vec<&str> = key.split(' ').collect();
    let has = |stem: &str| match stem.strip_suffix('*') {
        Some(prefix) => words.iter().any(|w| w.starts_with(prefix)),
        None => words.contains(&stem),
    };
    // "Фамилия, имя" / "Name and surname": both parts of a name in one header.
    // ("Last name" alone is a synonym above; "first and last name" has both words.)
    let last =
        ["фамили*", "surname", "nazwisk*"].into_iter().any(has) || (has("last") && has("first"));
    let first = ["имя", "imie", "first", "name"].into_iter().any(has);
    if last && first && !["тел", "phone*", "email*", "mail*"].into_iter().any(has) {
        return Column::FullName;
    }
    KEYWORDS
        .iter()
        .find(|(_, stems)| stems.iter().any(|s| has(s)))
        .map_or(Column::Skip, |(column, _)| column.clone())
}

/// Guesses the mapping of a header row (Russian, English, Polish; case, spacing and
/// punctuation do not matter). Unknown headers become [`Column::Skip`]. A single-valued target
/// is given only to the first column that suggests it; later ones become `Skip`. Phones,
/// e-mails and tags may come from several columns.
pub fn guess_columns(headers: &[String]) -> Vec<Column> {
    let mut taken: Vec<Column> = Vec::new();
    headers
        .iter()
        .map(|h| {
            let column = guess_column(h);
            if column == Column::Skip || column.is_multi_valued() {
                return column;
            }
            if taken.contains(&column) {
                return Column::Skip;
            }
            taken.push(column.clone());
            column
        })
        .collect()
}

/// Why a column mapping cannot be used. Column numbers count from 1, as people see them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "map at least a name or a phone column (organization, last name, first name, full name or phones)"
    )]
    NothingToIdentify,
    #[error("columns {first} and {second} are both mapped to {target}; a card has one {target}")]
    MappedTwice {
        target: String,
        first: usize,
        second: usize,
    },
    #[error("column {column}: a custom field needs a name")]
    UnnamedCustomField { column: usize },
}

/// Accepts a mapping that can identify a client and maps every single-valued target once.
pub fn check_columns(columns: &[Column]) -> Result<(), MappingError> {
    for (i, column) in columns.iter().enumerate() {
        if let Column::Custom(name) = column
            && name.trim().is_empty()
        {
            return Err(MappingError::UnnamedCustomField { column: i + 1 });
        }
        if *column == Column::Skip || column.is_multi_valued() {
            continue;
        }
        let same = |c: &Column| match (c, column) {
            (Column::Custom(a), Column::Custom(b)) => a.trim() == b.trim(),
            _ => c == column,
        };
        if let Some(j) = columns[i + 1..].iter().position(same) {
            return Err(MappingError::MappedTwice {
                target: column.target_name(),
                first: i + 1,
                second: i + 2 + j,
            });
        }
    }
    let identifies = columns.iter().any(|c| {
        matches!(
            c,
            Column::Organization
                | Column::LastName
                | Column::FirstName
                | Column::FullName
                | Column::Phones
        )
    });
    if identifies {
        Ok(())
    } else {
        Err(MappingError::NothingToIdentify)
    }
}

/// What the person chose for the whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDefaults {
    /// ISO region for numbers written without a country code ("RU").
    pub region: String,
    /// The manager the cards are loaded to.
    pub responsible: UserId,
    pub responsible_group: Option<GroupId>,
    /// A tag put on every card of the batch.
    pub tag: Option<String>,
    pub now: Millis,
}

/// One row turned into cards: an organization and/or a contact nested in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCards {
    pub organization: Option<Client>,
    pub contact: Option<Client>,
}

/// A row that cannot be loaded, with the column (its header text) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("row {row}: {reason}")]
pub struct Rejection {
    pub row: usize,
    pub column: Option<String>,
    pub reason: String,
}

/// Splits a full name in Russian order: three or more words are "Last First Patronymic"
/// (words beyond the third stay in the patronymic, e.g. "Алиев Рашид Алиевич оглы"), two
/// are "Last First", one is the last name. Returns (last, first, patronymic).
pub fn split_full_name(full: &str) -> (Option<String>, Option<String>, Option<String>) {
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.as_slice() {
        [] => (None, None, None),
        [last] => (Some((*last).to_string()), None, None),
        [last, first] => (Some((*last).to_string()), Some((*first).to_string()), None),
        [last, first, rest @ ..] => (
            Some((*last).to_string()),
            Some((*first).to_string()),
            Some(rest.join(" ")),
        ),
    }
}

/// The values of one row, gathered by target.
#[derive(Default)]
struct RowValues {
    organization: Option<String>,
    last_name: Option<String>,
    first_name: Option<String>,
    patronymic: Option<String>,
    full_name: Option<String>,
    position: Option<String>,
    phones: Vec<String>,
    emails: Vec<String>,
    city: Option<String>,
    industry: Option<String>,
    website: Option<String>,
    inn: Option<String>,
    description: Option<String>,
    tags: Vec<String>,
    client_type: Option<String>,
    custom: BTreeMap<String, String>,
}

fn set_once(slot: &mut Option<String>, value: &str) {
    if slot.is_none() {
        *slot = Some(value.to_string());
    }
}

fn push_tag(tags: &mut Vec<String>, tag: &str) {
    let lower = tag.to_lowercase();
    if !tags.iter().any(|t| t.to_lowercase() == lower) {
        tags.push(tag.to_string());
    }
}

/// Turns one row into cards; see the module docs for the rules. `row_number` is the row as the
/// person sees it (for the rejection list), `ids` are for the organization and the contact.
pub fn row_to_cards(
    row_number: usize,
    headers: &[String],
    columns: &[Column],
    cells: &[String],
    defaults: &ImportDefaults,
    ids: (ClientId, ClientId),
) -> Result<RowCards, Rejection> {
    let reject = |column: Option<String>, reason: String| Rejection {
        row: row_number,
        column,
        reason,
    };
    let header = |i: usize| {
        headers
            .get(i)
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .map_or_else(|| format!("column {}", i + 1), str::to_string)
    };
    if cells.iter().all(|c| c.trim().is_empty()) {
        return Err(reject(None, "empty row".into()));
    }

    let mut v = RowValues::default();
    for (i, column) in columns.iter().enumerate() {
        let cell = cells.get(i).map_or("", |c| c.trim());
        if cell.is_empty() || *column == Column::Skip {
            continue;
        }
        let max = column.max_chars();
        if cell.chars().count() > max {
            return Err(reject(
                Some(header(i)),
                format!("the cell is longer than {max} characters"),
            ));
        }
        match column {
            Column::Organization => set_once(&mut v.organization, cell),
            Column::LastName => set_once(&mut v.last_name, cell),
            Column::FirstName => set_once(&mut v.first_name, cell),
            Column::Patronymic => set_once(&mut v.patronymic, cell),
            Column::FullName => set_once(&mut v.full_name, cell),
            Column::Position => set_once(&mut v.position, cell),
            Column::City => set_once(&mut v.city, cell),
            Column::Industry => set_once(&mut v.industry, cell),
            Column::Website => set_once(&mut v.website, cell),
            Column::Description => set_once(&mut v.description, cell),
            Column::ClientType => set_once(&mut v.client_type, cell),
            Column::Inn => {
                let inn: String = cell.chars().filter(|c| !c.is_whitespace()).collect();
                check_inn(&inn).map_err(|e| reject(Some(header(i)), e.message))?;
                set_once(&mut v.inn, &inn);
            }
            Column::Phones => {
                let (numbers, errors) = parse_phone_cell(cell, &defaults.region);
                if let Some(e) = errors.first() {
                    return Err(reject(Some(header(i)), e.to_string()));
                }
                for n in numbers {
                    if !v.phones.contains(&n) {
                        v.phones.push(n);
                    }
                }
            }
            Column::Emails => {
                let parts = cell.split(|c: char| c == ',' || c == ';' || c.is_whitespace());
                for part in parts.filter(|p| !p.is_empty()) {
                    let email = normalize_email(part)
                        .map_err(|e| reject(Some(header(i)), e.to_string()))?;
                    if !v.emails.contains(&email) {
                        v.emails.push(email);
                    }
                }
            }
            Column::Tags => {
                for tag in cell
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                {
                    push_tag(&mut v.tags, tag);
                }
            }
            Column::Custom(name) => {
                let name = name.trim();
                if !name.is_empty() && !v.custom.contains_key(name) {
                    v.custom.insert(name.to_string(), cell.to_string());
                }
            }
            Column::Skip => {}
        }
    }
    if let Some(tag) = defaults
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        push_tag(&mut v.tags, tag);
    }
    if let Some(full) = v.full_name.take() {
        let (last, first, patronymic) = split_full_name(&full);
        v.last_name = v.last_name.take().or(last);
        v.first_name = v.first_name.take().or(first);
        v.patronymic = v.patronymic.take().or(patronymic);
    }
    let person = person_name(
        v.first_name.as_deref(),
        v.last_name.as_deref(),
        v.patronymic.as_deref(),
    );
    if person.is_empty() && v.organization.is_none() && v.phones.is_empty() {
        return Err(reject(None, "no name, organization or phone".into()));
    }

    let blank = |id: ClientId, kind: ClientKind, name: String| Client {
        tags: v.tags.clone(),
        responsible_group: defaults.responsible_group.clone(),
        ..Client::blank(id, kind, name, defaults.responsible.clone(), defaults.now)
    };
    let (org_id, contact_id) = ids;
    let mut organization = v
        .organization
        .take()
        .map(|name| blank(org_id, ClientKind::Organization, name));
    let mut contact = if !person.is_empty() || organization.is_none() {
        let name = if person.is_empty() {
            v.phones
                .first()
                .map(|p| format_phone(p))
                .unwrap_or_default()
        } else {
            person
        };
        let mut c = blank(contact_id, ClientKind::Contact, name);
        c.organization = organization.as_ref().map(|o| o.id.clone());
        c.first_name = v.first_name.take();
        c.last_name = v.last_name.take();
        c.patronymic = v.patronymic.take();
        Some(c)
    } else {
        None
    };

    // Company-level fields go to the organization; the rest to the contact if there is one.
    if let Some(org) = organization.as_mut() {
        org.city = v.city.take();
        org.industry = v.industry.take();
        org.website = v.website.take();
        org.inn = v.inn.take();
    }
    let rest = match (contact.as_mut(), organization.as_mut()) {
        (Some(c), _) => c,
        (None, Some(o)) => o,
        (None, None) => return Err(reject(None, "no name, organization or phone".into())),
    };
    rest.position = v.position.take();
    rest.phones = std::mem::take(&mut v.phones);
    rest.emails = std::mem::take(&mut v.emails);
    rest.city = rest.city.take().or(v.city.take());
    rest.industry = rest.industry.take().or(v.industry.take());
    rest.website = rest.website.take().or(v.website.take());
    rest.inn = rest.inn.take().or(v.inn.take());
    rest.description = v.description.take();
    rest.client_type = v.client_type.take();
    rest.custom = std::mem::take(&mut v.custom);

    for card in organization.iter().chain(contact.iter()) {
        card.validate()
            .map_err(|e| field_rejection(row_number, headers, columns, &e))?;
    }
    Ok(RowCards {
        organization,
        contact,
    })
}

/// A card rule broken by the row, pointed at the column that fed the field where possible.
fn field_rejection(
    row: usize,
    headers: &[String],
    columns: &[Column],
    e: &FieldError,
) -> Rejection {
    let target = match e.field.as_ref() {
        "phones" => Some(Column::Phones),
        "emails" => Some(Column::Emails),
        "tags" => Some(Column::Tags),
        "name" => Some(Column::Organization),
        _ => None,
    };
    let column = target
        .and_then(|t| columns.iter().position(|c| *c == t))
        .and_then(|i| headers.get(i).cloned());
    Rejection {
        row,
        column,
        reason: e.to_string(),
    }
}

/// What to do with an incoming card that duplicates an existing one (C2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Do not load it.
    Skip,
    /// Merge it into the existing card with [`merge_into`]; the existing card is the base.
    Merge,
    /// Load it as a new card.
    LoadAnyway,
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeOutcome {
    /// Whether the base card changed (the caller then bumps `updated_at`).
    pub changed: bool,
    /// Phones, e-mails and tags that did not fit the card's limits, and custom field names
    /// that did not fit; reported so nothing disappears silently.
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("an {base:?} card cannot be merged with a {incoming:?} card")]
    KindMismatch {
        base: ClientKind,
        incoming: ClientKind,
    },
}

fn fill(base: &mut Option<String>, incoming: &Option<String>) -> bool {
    let empty = base.as_deref().is_none_or(|b| b.trim().is_empty());
    match incoming {
        Some(v) if empty && !v.trim().is_empty() => {
            *base = Some(v.clone());
            true
        }
        _ => false,
    }
}

/// Appends the values of `incoming` that `base` lacks (by `same`), up to `max`; returns
/// whether anything was added and pushes the values that did not fit to `dropped`.
fn union(
    base: &mut Vec<String>,
    incoming: &[String],
    max: usize,
    same: fn(&str, &str) -> bool,
    dropped: &mut Vec<String>,
) -> bool {
    let mut changed = false;
    for value in incoming {
        if base.iter().any(|b| same(b, value)) {
            continue;
        }
        if base.len() < max {
            base.push(value.clone());
            changed = true;
        } else {
            dropped.push(value.clone());
        }
    }
    changed
}

/// SK merge: existing data wins. Empty fields of `base` (including a contact's missing
/// organization link) are filled from `incoming`; phones, e-mails and tags are unioned (base
/// order first, then new values; tags compared case-insensitively) within the card limits,
/// the values that do not fit are returned in [`MergeOutcome::dropped`]; custom fields fill
/// missing keys; the scenarios either card is closed in and the later last call carry over.
/// Name, responsible user, dates and the bin state stay the base's; `updated_at`
/// is the caller's (it has the clock). Organizations merge with organizations and contacts
/// with contacts; anything else is [`MergeError::KindMismatch`] and leaves `base` untouched.
pub fn merge_into(base: &mut Client, incoming: &Client) -> Result<MergeOutcome, MergeError> {
    if base.kind != incoming.kind {
        return Err(MergeError::KindMismatch {
            base: base.kind,
            incoming: incoming.kind,
        });
    }
    let mut out = MergeOutcome::default();
    let mut changed = false;
    if base.name.trim().is_empty() && !incoming.name.trim().is_empty() {
        base.name = incoming.name.clone();
        changed = true;
    }
    if base.kind == ClientKind::Contact
        && base.organization.is_none()
        && let Some(org) = &incoming.organization
    {
        base.organization = Some(org.clone());
        changed = true;
    }
    for (b, i) in [
        (&mut base.first_name, &incoming.first_name),
        (&mut base.last_name, &incoming.last_name),
        (&mut base.patronymic, &incoming.patronymic),
        (&mut base.position, &incoming.position),
        (&mut base.city, &incoming.city),
        (&mut base.industry, &incoming.industry),
        (&mut base.website, &incoming.website),
        (&mut base.inn, &incoming.inn),
        (&mut base.description, &incoming.description),
        (&mut base.client_type, &incoming.client_type),
    ] {
        changed |= fill(b, i);
    }
    let exact = |a: &str, b: &str| a == b;
    let caseless = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
    changed |= union(
        &mut base.phones,
        &incoming.phones,
        MAX_PHONES,
        exact,
        &mut out.dropped,
    );
    changed |= union(
        &mut base.emails,
        &incoming.emails,
        MAX_EMAILS,
        caseless,
        &mut out.dropped,
    );
    changed |= union(
        &mut base.tags,
        &incoming.tags,
        MAX_TAGS,
        caseless,
        &mut out.dropped,
    );
    for (key, value) in &incoming.custom {
        if base.custom.contains_key(key) || value.trim().is_empty() {
            continue;
        }
        if base.custom.len() < MAX_CUSTOM_FIELDS {
            base.custom.insert(key.clone(), value.clone());
            changed = true;
        } else {
            out.dropped.push(key.clone());
        }
    }
    // The same client, so what was done with either card holds for the merged one.
    for scenario in &incoming.closed_in {
        if !base.closed_in.contains(scenario) {
            crate::work_list::close_in(base, scenario);
            changed = true;
        }
    }
    if incoming.last_call_at > base.last_call_at {
        base.last_call_at = incoming.last_call_at;
        changed = true;
    }
    out.changed = changed;
    Ok(out)
}

/// Whether two cards may be compared as duplicates at all (C9 and the seed): different cards,
/// neither in the recycle bin, of the same kind (organizations with organizations, contacts
/// with contacts), and not two contacts that both sit inside organizations — contacts of one
/// organization are never matched with each other, nor contacts of different organizations.
/// A standalone contact may match a nested one.
pub fn may_pair(a: &Client, b: &Client) -> bool {
    a.id != b.id
        && a.kind == b.kind
        && !a.is_deleted()
        && !b.is_deleted()
        && !(a.kind == ClientKind::Contact && a.organization.is_some() && b.organization.is_some())
}

/// The phones and e-mails two cards share, in `a`'s order: the values to highlight.
pub fn shared_values(a: &Client, b: &Client) -> Vec<String> {
    let phones = a.phones.iter().filter(|p| b.phones.contains(p));
    let emails = a
        .emails
        .iter()
        .filter(|e| b.emails.iter().any(|f| f.eq_ignore_ascii_case(e)));
    phones.chain(emails).cloned().collect()
}

/// Duplicates by C9: the cards [`may_pair`] and share a phone or an e-mail. Names never
/// match, not even in part.
pub fn may_match(a: &Client, b: &Client) -> bool {
    may_pair(a, b) && !shared_values(a, b).is_empty()
}

/// A name compared for import: case-insensitive, `ё` as `е`, spacing and punctuation ignored.
/// An organization's name folded for whole-name matching (case, punctuation, ё/е and
/// Polish diacritics ignored), at most 200 characters so it fits a storage key.
pub fn name_key(name: &str) -> String {
    header_key(name).chars().take(200).collect()
}

/// Duplicates at import (the seed's "same name, e-mail or phone"): [`may_match`], or two
/// organizations with the same whole name — in a row with both cards the phones go to the
/// contact, so an organization is usually known only by its name. Contacts are not matched by
/// name: people share names. A nested incoming contact never matches a nested existing one, so
/// merging organizations keeps both contacts inside (the seed: nested contacts are not merged);
/// the caller repoints the contact at the base organization.
pub fn import_duplicate(incoming: &Client, existing: &Client) -> bool {
    if may_match(incoming, existing) {
        return true;
    }
    if !may_pair(incoming, existing) || incoming.kind != ClientKind::Organization {
        return false;
    }
    let key = name_key(&incoming.name);
    !key.is_empty() && key == name_key(&existing.name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn organization_names_fold_case_punctuation_spacing_and_diacritics() {
        use super::name_key;
        for (name, key) in [
            ("  ООО «Ромашка»  ", "ооо ромашка"),
            ("ооо   ромашка", "ооо ромашка"),
            ("Ёлка-Палка", "елка палка"),
            ("Łódź Sp. z o.o.", "lodz sp z o o"),
            ("ACME, Inc.", "acme inc"),
            ("!!!", ""),
            ("", ""),
        ] {
            assert_eq!(name_key(name), key, "{name:?}");
        }
    }

    use super::*;
    use crate::ids::ScenarioId;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn defaults() -> ImportDefaults {
        ImportDefaults {
            region: "RU".into(),
            responsible: UserId::parse("u1").unwrap(),
            responsible_group: Some(GroupId::parse("g1").unwrap()),
            tag: Some("март-2025".into()),
            now: 1_700_000_000_000,
        }
    }

    fn ids() -> (ClientId, ClientId) {
        (
            ClientId::parse("org1").unwrap(),
            ClientId::parse("con1").unwrap(),
        )
    }

    /// Runs one row against headers guessed from `headers`.
    fn row(headers: &[&str], cells: &[&str]) -> Result<RowCards, Rejection> {
        let headers = strings(headers);
        let columns = guess_columns(&headers);
        row_to_cards(7, &headers, &columns, &strings(cells), &defaults(), ids())
    }

    fn card(id: &str, kind: ClientKind) -> Client {
        let id = ClientId::parse(id).unwrap();
        Client::blank(id, kind, "Base".into(), UserId::parse("u1").unwrap(), 1)
    }

    #[test]
    fn guesses_russian_english_polish_headers() {
        use Column::*;
        let cases: &[(&str, Column)] = &[
            ("Компания", Organization),
            ("  ОРГАНИЗАЦИЯ ", Organization),
            ("Название компании", Organization),
            ("Company", Organization),
            ("company_name", Organization),
            ("Firma", Organization),
            ("Nazwa firmy", Organization),
            ("Фамилия", LastName),
            ("Last name", LastName),
            ("LastName", LastName),
            ("Surname", LastName),
            ("Nazwisko", LastName),
            ("Имя", FirstName),
            ("first-name", FirstName),
            ("Imię", FirstName),
            ("IMIE", FirstName),
            ("Отчество", Patronymic),
            ("Patronymic", Patronymic),
            ("Contact last name", LastName),
            ("First and last name", FullName),
            ("Name and surname", FullName),
            ("ФИО", FullName),
            ("Ф.И.О.", FullName),
            ("Фамилия, имя, отчество", FullName),
            ("Full name", FullName),
            ("Imię i nazwisko", FullName),
            ("Должность", Position),
            ("Title", Position),
            ("Stanowisko", Position),
            ("Телефон", Phones),
            ("Тел.", Phones),
            ("Моб.", Phones),
            ("Мобильный телефон", Phones),
            ("Телефон компании", Phones),
            ("Phone", Phones),
            ("Mobile", Phones),
            ("Work phone", Phones),
            ("Telefon", Phones),
            ("Tel. kom.", Phones),
            ("tel.kom", Phones),
            ("E-mail", Emails),
            ("Email", Emails),
            ("e-mail адрес", Emails),
            ("Эл. почта", Emails),
            ("Электронная почта", Emails),
            ("E-MAIL address", Emails),
            ("Adres e-mail", Emails),
            ("Город", City),
            ("City", City),
            ("Miasto", City),
            ("Miejscowość", City),
            ("Отрасль", Industry),
            ("Сфера деятельности", Industry),
            ("Industry", Industry),
            ("Branża", Industry),
            ("Сайт", Website),
            ("Website", Website),
            ("Strona WWW", Website),
            ("ИНН", Inn),
            ("inn", Inn),
            ("Tax ID", Inn),
            ("NIP", Inn),
            ("Комментарий", Description),
            ("Описание", Description),
            ("Comment", Description),
            ("Notes", Description),
            ("Uwagi", Description),
            ("Теги", Tags),
            ("Метки", Tags),
            ("Tags", Tags),
            ("Tagi", Tags),
            ("Kategoria", Tags),
            ("Тип клиента", ClientType),
            ("Client type", ClientType),
            ("Любимый цвет", Skip),
            ("", Skip),
            ("---", Skip),
        ];
        for (header, want) in cases {
            assert_eq!(&guess_column(header), want, "{header:?}");
        }
    }

    #[test]
    fn second_single_valued_column_is_skipped_but_multi_valued_kept() {
        let headers = strings(&[
            "Фамилия",
            "Телефон",
            "фамилия ",
            "Моб.",
            "Email",
            "E-mail 2",
            "Теги",
            "Метки",
            "Компания",
            "Firma",
        ]);
        use Column::*;
        assert_eq!(
            guess_columns(&headers),
            [
                LastName,
                Phones,
                Skip,
                Phones,
                Emails,
                Emails,
                Tags,
                Tags,
                Organization,
                Skip
            ]
        );
        assert!(check_columns(&guess_columns(&headers)).is_ok());
    }

    #[test]
    fn check_columns_errors() {
        use Column::*;
        let err = check_columns(&[City, Emails, Skip]).unwrap_err();
        assert_eq!(err, MappingError::NothingToIdentify);
        assert!(
            err.to_string()
                .contains("map at least a name or a phone column")
        );
        assert!(check_columns(&[]).is_err());
        let err = check_columns(&[Phones, LastName, City, LastName]).unwrap_err();
        assert_eq!(
            err,
            MappingError::MappedTwice {
                target: "last_name".into(),
                first: 2,
                second: 4
            }
        );
        let message = err.to_string();
        assert!(message.contains("columns 2 and 4"), "{message}");
        assert!(
            check_columns(&[Phones, Custom("Бюджет".into()), Custom(" Бюджет".into())]).is_err()
        );
        assert_eq!(
            check_columns(&[Phones, Custom(" ".into())]),
            Err(MappingError::UnnamedCustomField { column: 2 })
        );
        assert!(check_columns(&[Phones, Phones, Emails, Emails, Tags, Tags]).is_ok());
        assert!(check_columns(&[Organization]).is_ok());
        assert!(check_columns(&[FullName, Skip, Skip]).is_ok());
    }

    #[test]
    fn column_serde_shape() {
        let json = serde_json::to_string(&Column::Custom("Бюджет".into())).unwrap();
        assert_eq!(json, r#"{"target":"custom","name":"Бюджет"}"#);
        let json = serde_json::to_string(&Column::LastName).unwrap();
        assert_eq!(json, r#"{"target":"last_name"}"#);
        let back: Column = serde_json::from_str(r#"{"target":"phones"}"#).unwrap();
        assert_eq!(back, Column::Phones);
        let policy: DuplicatePolicy = serde_json::from_str(r#""load_anyway""#).unwrap();
        assert_eq!(policy, DuplicatePolicy::LoadAnyway);
    }

    #[test]
    fn full_name_splitting() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            split_full_name("Петров Иван Сергеевич"),
            (s("Петров"), s("Иван"), s("Сергеевич"))
        );
        assert_eq!(
            split_full_name(" Петров  Иван "),
            (s("Петров"), s("Иван"), None)
        );
        assert_eq!(split_full_name("Петров"), (s("Петров"), None, None));
        assert_eq!(split_full_name("  "), (None, None, None));
        assert_eq!(
            split_full_name("Алиев Рашид Алиевич оглы"),
            (s("Алиев"), s("Рашид"), s("Алиевич оглы"))
        );
        let cards = row(
            &["ФИО", "Телефон"],
            &["Петров Иван Сергеевич", "89123456789"],
        )
        .unwrap();
        let c = cards.contact.unwrap();
        assert_eq!(c.name, "Петров Иван Сергеевич");
        assert_eq!(c.last_name.as_deref(), Some("Петров"));
        assert_eq!(c.first_name.as_deref(), Some("Иван"));
        assert_eq!(c.patronymic.as_deref(), Some("Сергеевич"));
        // A separate column wins over the full name's part.
        let cards = row(&["ФИО", "Имя"], &["Петров Иван", "Ванечка"]).unwrap();
        assert_eq!(cards.contact.unwrap().name, "Петров Ванечка");
    }

    #[test]
    fn several_phones_per_cell_russian_and_foreign() {
        let cards = row(
            &["Фамилия", "Телефон", "Моб."],
            &[
                "Петров",
                "+7 (912) 345-67-89; 8 495 123-45-67 ,74951234567",
                "48 601 234 567\n+380 50 123 4567, 9123456789",
            ],
        )
        .unwrap();
        let c = cards.contact.unwrap();
        assert_eq!(
            c.phones,
            [
                "+79123456789",
                "+74951234567",
                "+48601234567",
                "+380501234567"
            ]
        );
        assert!(cards.organization.is_none());
    }

    #[test]
    fn bad_phone_email_or_long_cell_rejects_the_row() {
        let err = row(&["Фамилия", "Тел."], &["Петров", "89123456789, abc"]).unwrap_err();
        assert_eq!(err.row, 7);
        assert_eq!(err.column.as_deref(), Some("Тел."));
        assert!(err.reason.contains("\"abc\""), "{}", err.reason);
        assert!(err.to_string().starts_with("row 7: "));

        let err = row(&["Фамилия", "E-mail"], &["Петров", "a@b.ru, ivan@"]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("E-mail"));
        assert!(err.reason.contains("\"ivan@\""), "{}", err.reason);

        let long = "я".repeat(MAX_FIELD_CHARS + 1);
        let err = row(&["Фамилия", "Город"], &["Петров", &long]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("Город"));
        assert!(err.reason.contains("250"), "{}", err.reason);
        // A long description is fine up to its own limit.
        assert!(row(&["Фамилия", "Комментарий"], &["Петров", &long]).is_ok());
        // Long text in a skipped column does not matter.
        assert!(row(&["Фамилия", "Любимый цвет"], &["Петров", &long]).is_ok());

        let err = row(&["Компания", "ИНН"], &["Ромашка", "1234567890"]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("ИНН"));
        assert!(err.reason.contains("INN"), "{}", err.reason);

        let err = row(&["Фамилия", "Город"], &["  ", ""]).unwrap_err();
        assert_eq!(err.reason, "empty row");
        assert_eq!(err.column, None);
        let err = row(&["Фамилия", "Город", "E-mail"], &["", "Москва", "a@b.ru"]).unwrap_err();
        assert_eq!(err.reason, "no name, organization or phone");

        let tag = "t".repeat(51);
        let err = row(&["Фамилия", "Теги"], &["Петров", &tag]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("Теги"));
    }

    #[test]
    fn organization_and_contact_split() {
        let headers = [
            "Компания",
            "ФИО",
            "Должность",
            "Телефон",
            "Email",
            "Город",
            "Отрасль",
            "Сайт",
            "ИНН",
            "Комментарий",
            "Теги",
            "Тип клиента",
        ];
        let cells = [
            "ООО Ромашка",
            "Петров Иван",
            "Директор",
            "8 912 345 67 89",
            "Ivan@Romashka.RU",
            "Москва",
            "Розница",
            "romashka.ru",
            "7707083893",
            "Звонить после обеда",
            "лид; горячий;ЛИД",
            "VIP",
        ];
        let cards = row(&headers, &cells).unwrap();
        let org = cards.organization.unwrap();
        let con = cards.contact.unwrap();
        assert_eq!(org.kind, ClientKind::Organization);
        assert_eq!(org.id.as_str(), "org1");
        assert_eq!(org.name, "ООО Ромашка");
        assert_eq!(org.city.as_deref(), Some("Москва"));
        assert_eq!(org.industry.as_deref(), Some("Розница"));
        assert_eq!(org.website.as_deref(), Some("romashka.ru"));
        assert_eq!(org.inn.as_deref(), Some("7707083893"));
        assert!(org.phones.is_empty() && org.emails.is_empty());
        assert_eq!(org.description, None);

        assert_eq!(con.kind, ClientKind::Contact);
        assert_eq!(con.id.as_str(), "con1");
        assert_eq!(con.organization, Some(org.id.clone()));
        assert_eq!(con.name, "Петров Иван");
        assert_eq!(con.position.as_deref(), Some("Директор"));
        assert_eq!(con.phones, ["+79123456789"]);
        assert_eq!(con.emails, ["ivan@romashka.ru"]);
        assert_eq!(con.city, None);
        assert_eq!(con.description.as_deref(), Some("Звонить после обеда"));
        assert_eq!(con.client_type.as_deref(), Some("VIP"));
        // Tags deduplicated, batch tag added, on both cards.
        assert_eq!(con.tags, ["лид", "горячий", "март-2025"]);
        assert_eq!(org.tags, con.tags);
        for c in [&org, &con] {
            assert_eq!(c.created_at, defaults().now);
            assert_eq!(c.updated_at, defaults().now);
            assert_eq!(c.responsible.as_str(), "u1");
            assert_eq!(c.responsible_group.as_ref().unwrap().as_str(), "g1");
        }

        // Organization without a person: everything on the organization.
        let cards = row(
            &["Компания", "Телефон", "Город", "Комментарий"],
            &["ООО Ромашка", "+7 495 123-45-67", "Москва", "головной офис"],
        )
        .unwrap();
        assert!(cards.contact.is_none());
        let org = cards.organization.unwrap();
        assert_eq!(org.phones, ["+74951234567"]);
        assert_eq!(org.city.as_deref(), Some("Москва"));
        assert_eq!(org.description.as_deref(), Some("головной офис"));

        // A person without an organization gets the company-level fields.
        let cards = row(&["Фамилия", "Город"], &["Петров", "Тверь"]).unwrap();
        let con = cards.contact.unwrap();
        assert_eq!(con.organization, None);
        assert_eq!(con.city.as_deref(), Some("Тверь"));
    }

    #[test]
    fn phone_only_row_and_batch_tag() {
        let cards = row(&["Телефон", "Теги"], &["89123456789", ""]).unwrap();
        let con = cards.contact.unwrap();
        assert_eq!(con.name, "+7 912 345-67-89");
        assert_eq!(con.tags, ["март-2025"]);
        let headers = strings(&["Фамилия"]);
        let mut d = defaults();
        d.tag = None;
        let cards = row_to_cards(
            2,
            &headers,
            &[Column::LastName],
            &strings(&["Петров"]),
            &d,
            ids(),
        )
        .unwrap();
        assert!(cards.contact.unwrap().tags.is_empty());
        // The batch tag is not repeated when the row already has it.
        let cards = row(&["Фамилия", "Теги"], &["Петров", "МАРТ-2025"]).unwrap();
        assert_eq!(cards.contact.unwrap().tags, ["МАРТ-2025"]);
        // Custom fields and short rows.
        let headers = strings(&["Фамилия", "Бюджет", "Город"]);
        let columns = [
            Column::LastName,
            Column::Custom("budget".into()),
            Column::City,
        ];
        let cards = row_to_cards(
            3,
            &headers,
            &columns,
            &strings(&["Петров", "100 000"]),
            &defaults(),
            ids(),
        )
        .unwrap();
        let con = cards.contact.unwrap();
        assert_eq!(
            con.custom.get("budget").map(String::as_str),
            Some("100 000")
        );
        assert_eq!(con.city, None);
    }

    #[test]
    fn too_many_phones_rejects_the_row() {
        let many: Vec<String> = (0..21).map(|i| format!("+7912000{i:04}")).collect();
        let (one, two) = many.split_at(11);
        let cells = ["Петров", &one.join(";"), &two.join(";")];
        let err = row(&["Фамилия", "Телефон", "Моб."], &cells).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("Телефон"));
        assert!(err.reason.starts_with("phones:"), "{}", err.reason);
    }

    #[test]
    fn merge_fills_empty_fields_and_keeps_base_values() {
        let mut base = card("b", ClientKind::Contact);
        base.city = Some("Москва".into());
        base.phones = vec!["+79123456789".into()];
        base.tags = vec!["VIP".into()];
        base.custom.insert("budget".into(), "1".into());
        let mut incoming = card("i", ClientKind::Contact);
        incoming.name = "Other".into();
        incoming.city = Some("Тверь".into());
        incoming.position = Some("Директор".into());
        incoming.organization = Some(ClientId::parse("org9").unwrap());
        incoming.phones = vec!["+74951234567".into(), "+79123456789".into()];
        incoming.emails = vec!["a@b.ru".into()];
        incoming.tags = vec!["vip".into(), "лид".into()];
        incoming.custom.insert("budget".into(), "2".into());
        incoming.custom.insert("source".into(), "выставка".into());
        incoming.responsible = UserId::parse("u2").unwrap();
        incoming.closed_in = vec![ScenarioId::parse("s1").unwrap()];
        incoming.last_call_at = Some(7);

        let out = merge_into(&mut base, &incoming).unwrap();
        assert!(out.changed);
        assert_eq!(base.closed_in, [ScenarioId::parse("s1").unwrap()]);
        assert_eq!(base.last_call_at, Some(7));
        assert!(out.dropped.is_empty());
        assert_eq!(base.name, "Base");
        assert_eq!(base.city.as_deref(), Some("Москва"));
        assert_eq!(base.position.as_deref(), Some("Директор"));
        assert_eq!(base.organization.as_ref().unwrap().as_str(), "org9");
        assert_eq!(base.phones, ["+79123456789", "+74951234567"]);
        assert_eq!(base.emails, ["a@b.ru"]);
        assert_eq!(base.tags, ["VIP", "лид"]);
        assert_eq!(base.custom["budget"], "1");
        assert_eq!(base.custom["source"], "выставка");
        assert_eq!(base.responsible.as_str(), "u1");
        assert_eq!(base.updated_at, 1);
        assert_eq!(base.id.as_str(), "b");

        // Merging the same data again changes nothing.
        let again = merge_into(&mut base, &incoming).unwrap();
        assert_eq!(again, MergeOutcome::default());
    }

    #[test]
    fn merge_respects_limits_and_kinds() {
        let mut base = card("b", ClientKind::Organization);
        base.phones = (0..MAX_PHONES - 1)
            .map(|i| format!("+7912000{i:04}"))
            .collect();
        let mut incoming = card("i", ClientKind::Organization);
        incoming.phones = vec![
            "+79120000000".into(),
            "+74951234567".into(),
            "+74951234568".into(),
        ];
        let out = merge_into(&mut base, &incoming).unwrap();
        assert!(out.changed);
        assert_eq!(base.phones.len(), MAX_PHONES);
        assert_eq!(base.phones.last().unwrap(), "+74951234567");
        assert_eq!(out.dropped, ["+74951234568"]);
        assert!(base.validate().is_ok());

        let before = base.clone();
        let err = merge_into(&mut base, &card("c", ClientKind::Contact)).unwrap_err();
        assert!(matches!(err, MergeError::KindMismatch { .. }));
        assert_eq!(base, before);
    }

    #[test]
    fn match_rules() {
        let mut a = card("a", ClientKind::Contact);
        a.phones = vec!["+79123456789".into()];
        let mut b = card("b", ClientKind::Contact);
        b.name = "Someone".into();
        b.emails = vec!["x@y.ru".into()];
        assert!(!may_match(&a, &b), "nothing shared");
        b.phones = vec!["+79123456789".into()];
        assert!(may_match(&a, &b));
        assert_eq!(shared_values(&a, &b), ["+79123456789"]);
        assert!(!may_match(&a, &a), "a card is not its own duplicate");

        // Shared e-mail counts too.
        let mut c = card("c", ClientKind::Contact);
        c.emails = vec!["x@y.ru".into()];
        assert!(may_match(&b, &c));

        // Kinds differ.
        let mut org = card("o", ClientKind::Organization);
        org.phones = a.phones.clone();
        assert!(!may_match(&a, &org));

        // Contacts inside organizations (same or different) are not matched with each other;
        // a standalone contact may match a nested one.
        let o1 = ClientId::parse("o1").unwrap();
        let o2 = ClientId::parse("o2").unwrap();
        a.organization = Some(o1.clone());
        b.organization = Some(o1.clone());
        assert!(!may_match(&a, &b));
        b.organization = Some(o2);
        assert!(!may_match(&a, &b));
        b.organization = None;
        assert!(may_match(&a, &b));

        // Binned cards are not matched.
        b.deleted_at = Some(5);
        assert!(!may_match(&a, &b));

        // Names never match by C9; at import whole organization names do.
        let mut o1c = card("x1", ClientKind::Organization);
        o1c.name = "ООО «Ромашка»".into();
        let mut o2c = card("x2", ClientKind::Organization);
        o2c.name = "ооо ромашка".into();
        assert!(!may_match(&o1c, &o2c));
        assert!(import_duplicate(&o1c, &o2c));
        o2c.name = "ООО Ромашка-Плюс".into();
        assert!(!import_duplicate(&o1c, &o2c), "no partial names");
        let mut p1 = card("p1", ClientKind::Contact);
        p1.name = "Петров Иван".into();
        let mut p2 = card("p2", ClientKind::Contact);
        p2.name = "Петров Иван".into();
        assert!(
            !import_duplicate(&p1, &p2),
            "people are not matched by name"
        );
    }
}
