//! One connection API over the two stores: SQLite (the embedded default)
//! and PostgreSQL (a shared store for several servers).
//!
//! The importers, the snapshot loader and access control are written once
//! against this module. Its shape follows the SQLite binding the store
//! started with (`prepare`, `query_row`, `Row::get`, `params!`,
//! transactions that dereference to their connection), so the SQL and the
//! code around it stay the same for both backends.
//!
//! SQL is written in the subset both understand: numbered parameters
//! (`?1`, or `?` counted in order), `ON CONFLICT … DO UPDATE/NOTHING`,
//! quoted identifiers where PostgreSQL reserves a word (`"user"`). For
//! PostgreSQL, parameters become `$n` and SQLite's `INDEXED BY` hints are
//! dropped; integers are `BIGINT`, reals `DOUBLE PRECISION` and text
//! `TEXT COLLATE "C"` (byte order, as SQLite compares), so both backends
//! order and compare alike.
//!
//! Transactions: `Immediate` takes the store's write lock at `BEGIN`
//! (SQLite's `BEGIN IMMEDIATE`; a transaction-scoped advisory lock on
//! PostgreSQL, so writers queue rather than fail); `Deferred` is a
//! consistent read (PostgreSQL `REPEATABLE READ`). Large reads inside a
//! PostgreSQL transaction stream through a cursor in chunks instead of
//! arriving all at once.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Errors of either backend.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("query returned no rows")]
    QueryReturnedNoRows,
    #[error("{}: {sql}", pg_message(.source))]
    Prepare { sql: String, source: postgres::Error },
    #[error("column {column}: {message}")]
    Column { column: usize, message: String },
    #[error("{0}")]
    Other(String),
}

/// PostgreSQL's own message with its detail, not only "db error".
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `query_row(…).optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::QueryReturnedNoRows) => Ok(None),
            Err(Error::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// How a transaction begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionBehavior {
    /// A consistent read; writes take the lock when they come (SQLite).
    Deferred,
    /// Takes the store's write lock at once: writers queue.
    Immediate,
    /// Takes access control's write lock at once (accounts, keys, sessions,
    /// the audit chain). SQLite has one write lock for everything; on
    /// PostgreSQL this lock is its own, so sign-ins and audit entries do not
    /// wait for an import to commit.
    ImmediateAccess,
}

/// Key of PostgreSQL's transaction-scoped advisory lock that writers of
/// data take.
const WRITE_LOCK: i64 = 0x7461_6c65_6e74;

/// The same for access control's writers.
const ACCESS_LOCK: i64 = 0x7461_6c65_6e75;

/// Rows fetched at a time by a cursor on PostgreSQL.
const CURSOR_CHUNK: i64 = 20_000;

/// Statements kept prepared per PostgreSQL connection.
const PG_STATEMENT_CACHE: usize = 512;

pub mod types {
    /// A value borrowed from a row or a parameter.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum ValueRef<'a> {
        Null,
        Integer(i64),
        Real(f64),
        Text(&'a str),
        Blob(&'a [u8]),
    }

    /// An owned value, for parameter lists built at run time.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Integer(i64),
        Real(f64),
        Text(String),
        Blob(Vec<u8>),
    }

    impl<'a> ValueRef<'a> {
        pub fn as_str(self) -> super::Result<&'a str> {
            match self {
                ValueRef::Text(s) => Ok(s),
                other => Err(super::Error::Other(format!("expected text, found {}", other.kind()))),
            }
        }

        pub fn as_str_or_null(self) -> super::Result<Option<&'a str>> {
            match self {
                ValueRef::Null => Ok(None),
                other => other.as_str().map(Some),
            }
        }

        pub fn as_f64_or_null(self) -> super::Result<Option<f64>> {
            match self {
                ValueRef::Null => Ok(None),
                ValueRef::Real(f) => Ok(Some(f)),
                ValueRef::Integer(i) => Ok(Some(i as f64)),
                other => Err(super::Error::Other(format!("expected a number, found {}", other.kind()))),
            }
        }

        pub fn as_f64(self) -> super::Result<f64> {
            self.as_f64_or_null()?.ok_or_else(|| super::Error::Other("expected a number, found null".into()))
        }

        pub fn as_i64(self) -> super::Result<i64> {
            match self {
                ValueRef::Integer(i) => Ok(i),
                other => Err(super::Error::Other(format!("expected an integer, found {}", other.kind()))),
            }
        }

        pub fn kind(self) -> &'static str {
            match self {
                ValueRef::Null => "null",
                ValueRef::Integer(_) => "integer",
                ValueRef::Real(_) => "real",
                ValueRef::Text(_) => "text",
                ValueRef::Blob(_) => "blob",
            }
        }
    }

    impl Value {
        pub fn as_ref(&self) -> ValueRef<'_> {
            match self {
                Value::Null => ValueRef::Null,
                Value::Integer(i) => ValueRef::Integer(*i),
                Value::Real(f) => ValueRef::Real(*f),
                Value::Text(s) => ValueRef::Text(s),
                Value::Blob(b) => ValueRef::Blob(b),
            }
        }
    }

    impl From<String> for Value {
        fn from(s: String) -> Value {
            Value::Text(s)
        }
    }
    impl From<&str> for Value {
        fn from(s: &str) -> Value {
            Value::Text(s.to_string())
        }
    }
    impl From<i64> for Value {
        fn from(i: i64) -> Value {
            Value::Integer(i)
        }
    }
    impl From<f64> for Value {
        fn from(f: f64) -> Value {
            Value::Real(f)
        }
    }
}

use types::{Value, ValueRef};

/// A parameter value.
pub trait ToSql {
    fn to_sql(&self) -> Result<ValueRef<'_>>;
}

macro_rules! int_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> Result<ValueRef<'_>> {
                i64::try_from(*self)
                    .map(ValueRef::Integer)
                    .map_err(|_| Error::Other(format!("integer {} out of range", self)))
            }
        }
    )*};
}
int_to_sql!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);

impl ToSql for bool {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Integer(*self as i64))
    }
}
impl ToSql for f64 {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Real(*self))
    }
}
impl ToSql for f32 {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Real(*self as f64))
    }
}
impl ToSql for str {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Text(self))
    }
}
impl ToSql for String {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Text(self))
    }
}
impl ToSql for [u8] {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Blob(self))
    }
}
impl ToSql for Vec<u8> {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Blob(self))
    }
}
impl ToSql for Value {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        Ok(self.as_ref())
    }
}
impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        match self {
            Some(v) => v.to_sql(),
            None => Ok(ValueRef::Null),
        }
    }
}
impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> Result<ValueRef<'_>> {
        (**self).to_sql()
    }
}

/// A value read from a row.
pub trait FromSql: Sized {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String>;
}

macro_rules! int_from_sql {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
                match v {
                    ValueRef::Integer(i) => <$t>::try_from(i).map_err(|_| format!("integer {i} out of range")),
                    other => Err(format!("expected an integer, found {}", other.kind())),
                }
            }
        }
    )*};
}
int_from_sql!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

impl FromSql for bool {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Integer(i) => Ok(i != 0),
            other => Err(format!("expected an integer, found {}", other.kind())),
        }
    }
}
impl FromSql for f64 {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {}", other.kind())),
        }
    }
}
impl FromSql for String {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Text(s) => Ok(s.to_string()),
            other => Err(format!("expected text, found {}", other.kind())),
        }
    }
}
impl FromSql for Vec<u8> {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            ValueRef::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("expected a blob, found {}", other.kind())),
        }
    }
}
impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, String> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

/// A list of parameters.
pub trait Params {
    fn values(&self) -> Result<Vec<ValueRef<'_>>>;
}

impl Params for &[&dyn ToSql] {
    fn values(&self) -> Result<Vec<ValueRef<'_>>> {
        self.iter().map(|v| v.to_sql()).collect()
    }
}

impl Params for [&dyn ToSql; 0] {
    fn values(&self) -> Result<Vec<ValueRef<'_>>> {
        Ok(Vec::new())
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn values(&self) -> Result<Vec<ValueRef<'_>>> {
                self.iter().map(|v| v.to_sql()).collect()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

/// Parameters from an iterator of values.
pub struct ParamsFromIter(Vec<Value>);

pub fn params_from_iter<I: IntoIterator<Item = Value>>(values: I) -> ParamsFromIter {
    ParamsFromIter(values.into_iter().collect())
}

impl Params for ParamsFromIter {
    fn values(&self) -> Result<Vec<ValueRef<'_>>> {
        Ok(self.0.iter().map(Value::as_ref).collect())
    }
}

/// `params![a, b]`: a parameter list of values of any [`ToSql`] type.
#[macro_export]
macro_rules! db_params {
    () => { &[] as &[&dyn $crate::store::db::ToSql] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::store::db::ToSql),+] as &[&dyn $crate::store::db::ToSql] };
}
pub use crate::db_params as params;

/// A value as SQLite binds it.
struct SqliteArg<'a>(ValueRef<'a>);

impl rusqlite::ToSql for SqliteArg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as R};
        Ok(ToSqlOutput::Borrowed(match self.0 {
            ValueRef::Null => R::Null,
            ValueRef::Integer(i) => R::Integer(i),
            ValueRef::Real(f) => R::Real(f),
            ValueRef::Text(s) => R::Text(s.as_bytes()),
            ValueRef::Blob(b) => R::Blob(b),
        }))
    }
}

fn sqlite_args<'a>(values: &'a [ValueRef<'a>]) -> rusqlite::ParamsFromIter<impl Iterator<Item = SqliteArg<'a>>> {
    rusqlite::params_from_iter(values.iter().map(|v| SqliteArg(*v)))
}

type PgResult = std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>;

fn enc<T: postgres::types::ToSql>(v: T, ty: &postgres::types::Type, out: &mut bytes::BytesMut) -> PgResult {
    postgres::types::ToSql::to_sql(&v, ty, out)
}

/// A value as PostgreSQL binds it, converted to the parameter's type.
#[derive(Debug)]
struct PgArg<'a>(ValueRef<'a>);

impl postgres::types::ToSql for PgArg<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        let mismatch = || -> Box<dyn std::error::Error + Sync + Send> {
            format!("cannot bind a {} value to a {} parameter", self.0.kind(), ty.name()).into()
        };
        match self.0 {
            ValueRef::Null => Ok(postgres::types::IsNull::Yes),
            ValueRef::Integer(i) => match *ty {
                Type::INT8 => enc(i, ty, out),
                Type::INT4 => enc(i32::try_from(i).map_err(|_| mismatch())?, ty, out),
                Type::INT2 => enc(i16::try_from(i).map_err(|_| mismatch())?, ty, out),
                Type::FLOAT8 => enc(i as f64, ty, out),
                Type::FLOAT4 => enc(i as f32, ty, out),
                Type::BOOL => enc(i != 0, ty, out),
                Type::TEXT | Type::VARCHAR => enc(i.to_string(), ty, out),
                _ => Err(mismatch()),
            },
            ValueRef::Real(f) => match *ty {
                Type::FLOAT8 => enc(f, ty, out),
                Type::FLOAT4 => enc(f as f32, ty, out),
                Type::TEXT | Type::VARCHAR => enc(f.to_string(), ty, out),
                _ => Err(mismatch()),
            },
            ValueRef::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => enc(s, ty, out),
                _ => Err(mismatch()),
            },
            ValueRef::Blob(b) => match *ty {
                Type::BYTEA => enc(b, ty, out),
                _ => Err(mismatch()),
            },
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A column position.
pub trait RowIndex {
    fn index(&self) -> usize;
}

impl RowIndex for usize {
    fn index(&self) -> usize {
        *self
    }
}

/// One row of a result, from either backend.
#[derive(Clone, Copy)]
pub struct Row<'a>(RowInner<'a>);

#[derive(Clone, Copy)]
enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl<'a> Row<'a> {
    /// The value of column `idx` converted to `T`.
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let idx = idx.index();
        let v = self.get_ref(idx)?;
        T::from_sql(v).map_err(|message| Error::Column { column: idx, message })
    }

    /// The value of column `idx`, borrowed from the row.
    pub fn get_ref(&self, idx: usize) -> Result<ValueRef<'a>> {
        match self.0 {
            RowInner::Sqlite(r) => {
                use rusqlite::types::ValueRef as R;
                Ok(match r.get_ref(idx)? {
                    R::Null => ValueRef::Null,
                    R::Integer(i) => ValueRef::Integer(i),
                    R::Real(f) => ValueRef::Real(f),
                    R::Text(t) => ValueRef::Text(
                        std::str::from_utf8(t)
                            .map_err(|e| Error::Column { column: idx, message: format!("text is not UTF-8: {e}") })?,
                    ),
                    R::Blob(b) => ValueRef::Blob(b),
                })
            }
            RowInner::Pg(r) => pg_value(r, idx),
        }
    }
}

fn pg_value(r: &postgres::Row, idx: usize) -> Result<ValueRef<'_>> {
    use postgres::types::Type;
    let column = r.columns().get(idx).ok_or(Error::Column { column: idx, message: "no such column".into() })?;
    let err = |e: postgres::Error| Error::Column { column: idx, message: e.to_string() };
    let v = match *column.type_() {
        Type::INT8 => r.try_get::<_, Option<i64>>(idx).map_err(err)?.map(ValueRef::Integer),
        Type::INT4 => r.try_get::<_, Option<i32>>(idx).map_err(err)?.map(|i| ValueRef::Integer(i.into())),
        Type::INT2 => r.try_get::<_, Option<i16>>(idx).map_err(err)?.map(|i| ValueRef::Integer(i.into())),
        Type::BOOL => r.try_get::<_, Option<bool>>(idx).map_err(err)?.map(|b| ValueRef::Integer(b as i64)),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(idx).map_err(err)?.map(ValueRef::Real),
        Type::FLOAT4 => r.try_get::<_, Option<f32>>(idx).map_err(err)?.map(|f| ValueRef::Real(f.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            r.try_get::<_, Option<&str>>(idx).map_err(err)?.map(ValueRef::Text)
        }
        Type::BYTEA => r.try_get::<_, Option<&[u8]>>(idx).map_err(err)?.map(ValueRef::Blob),
        ref other => {
            return Err(Error::Column { column: idx, message: format!("unsupported column type {}", other.name()) });
        }
    };
    Ok(v.unwrap_or(ValueRef::Null))
}

/// Rewrites SQL of the common subset for PostgreSQL: `?n` and `?` become
/// `$n`; SQLite's `INDEXED BY name` hints go. Quoted text is left alone.
pub fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0u32;
    let mut chars = sql.char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '?' => {
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_digit() {
                        digits.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if digits.is_empty() {
                    next += 1;
                    out.push_str(&format!("${next}"));
                } else {
                    next = digits.parse().unwrap_or(next);
                    out.push('$');
                    out.push_str(&digits);
                }
            }
            'I' | 'i'
                if sql.get(i..i + 11).is_some_and(|w| w.eq_ignore_ascii_case("INDEXED BY "))
                    && sql[..i].ends_with(char::is_whitespace) =>
            {
                // Skip the hint and the index name after it.
                for _ in 0..10 {
                    chars.next();
                }
                while chars.peek().is_some_and(|&(_, d)| d == ' ') {
                    chars.next();
                }
                while chars.peek().is_some_and(|&(_, d)| d.is_ascii_alphanumeric() || d == '_') {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn pg_args<'a>(values: &[ValueRef<'a>]) -> Vec<PgArg<'a>> {
    values.iter().map(|v| PgArg(*v)).collect()
}

fn arg_refs<'a>(args: &'a [PgArg<'_>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn postgres::types::ToSql + Sync)).collect()
}

/// A PostgreSQL connection with its statement cache and transaction state.
struct Pg {
    client: RefCell<postgres::Client>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
    in_transaction: Cell<bool>,
    cursors: Cell<u64>,
}

impl Pg {
    fn client(&self) -> Result<std::cell::RefMut<'_, postgres::Client>> {
        self.client
            .try_borrow_mut()
            .map_err(|_| Error::Other("the PostgreSQL connection is busy reading another result".into()))
    }

    /// The prepared statement of `sql` (already rewritten), from the cache.
    fn statement(&self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let stmt = self
            .client()?
            .prepare(sql)
            .map_err(|source| Error::Prepare { sql: sql.chars().take(300).collect(), source })?;
        let mut cache = self.statements.borrow_mut();
        if cache.len() >= PG_STATEMENT_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    fn execute(&self, stmt: &postgres::Statement, values: &[ValueRef<'_>]) -> Result<usize> {
        let args = pg_args(values);
        Ok(self.client()?.execute(stmt, &arg_refs(&args))? as usize)
    }

    /// Declares a cursor (not prepared: each has its own name).
    fn declare(&self, sql: &str, values: &[ValueRef<'_>]) -> Result<()> {
        let args = pg_args(values);
        self.client()?.execute(sql, &arg_refs(&args))?;
        Ok(())
    }

    fn query(&self, stmt: &postgres::Statement, values: &[ValueRef<'_>]) -> Result<Vec<postgres::Row>> {
        let args = pg_args(values);
        Ok(self.client()?.query(stmt, &arg_refs(&args))?)
    }
}

enum Backend {
    Sqlite(rusqlite::Connection),
    Pg(Box<Pg>),
}

/// A connection to the store.
pub struct Connection {
    backend: Backend,
}

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Connection {
    pub fn from_sqlite(conn: rusqlite::Connection) -> Connection {
        Connection { backend: Backend::Sqlite(conn) }
    }

    /// Connects to PostgreSQL at `url` (`postgres://user@host:port/db`).
    pub fn connect_postgres(url: &str) -> Result<Connection> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        // Notices ("already exists, skipping") are not the log's business.
        client.batch_execute("SET client_min_messages TO warning")?;
        Ok(Connection {
            backend: Backend::Pg(Box::new(Pg {
                client: RefCell::new(client),
                statements: RefCell::new(HashMap::new()),
                in_transaction: Cell::new(false),
                cursors: Cell::new(0),
            })),
        })
    }

    /// Has SQLite call `f` after each commit of this connection with the
    /// number of pages then in the write-ahead log (`sqlite3_wal_hook`;
    /// SQLite's automatic checkpoint, which uses the same hook, must be
    /// off). Nothing on PostgreSQL.
    pub fn on_log_commit(&mut self, mut f: impl FnMut(u64) + Send + 'static) -> Result<()> {
        match &mut self.backend {
            Backend::Sqlite(c) => {
                Ok(c.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
                    f(u64::try_from(pages).unwrap_or(0));
                    Ok(())
                }))?)
            }
            Backend::Pg(_) => Ok(()),
        }
    }

    pub fn kind(&self) -> Kind {
        match self.backend {
            Backend::Sqlite(_) => Kind::Sqlite,
            Backend::Pg(_) => Kind::Postgres,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        let values = params.values()?;
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.prepare_cached(sql)?.execute(sqlite_args(&values))?),
            Backend::Pg(pg) => {
                let stmt = pg.statement(&to_postgres(sql))?;
                pg.execute(&stmt, &values)
            }
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Pg(pg) => Ok(pg.client()?.batch_execute(sql)?),
        }
    }

    /// The first row of a query, mapped by `f`; no row is
    /// [`Error::QueryReturnedNoRows`].
    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(&self, sql: &str, params: P, f: F) -> Result<T> {
        self.prepare(sql)?.query_row(params, f)
    }

    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(Statement { conn: self, inner: StatementInner::Sqlite(c.prepare_cached(sql)?) }),
            Backend::Pg(pg) => {
                let sql = to_postgres(sql);
                let stmt = pg.statement(&sql)?;
                Ok(Statement { conn: self, inner: StatementInner::Pg { sql, stmt } })
            }
        }
    }

    /// As [`Self::prepare`]: both backends keep prepared statements.
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        self.prepare(sql)
    }

    /// Sets a SQLite pragma; PostgreSQL has none of them and ignores it.
    pub fn pragma_update<V: rusqlite::ToSql>(&self, _schema: Option<&str>, name: &str, value: V) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.pragma_update(None, name, value)?),
            Backend::Pg(_) => Ok(()),
        }
    }

    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.transaction_with_behavior(TransactionBehavior::Deferred)
    }

    pub fn transaction_with_behavior(&mut self, behavior: TransactionBehavior) -> Result<Transaction<'_>> {
        self.begin(behavior)?;
        Ok(Transaction { conn: self, done: false })
    }

    fn begin(&self, behavior: TransactionBehavior) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => c.execute_batch(match behavior {
                TransactionBehavior::Deferred => "BEGIN DEFERRED",
                TransactionBehavior::Immediate | TransactionBehavior::ImmediateAccess => "BEGIN IMMEDIATE",
            })?,
            Backend::Pg(pg) => {
                let mut client = pg.client()?;
                match behavior {
                    TransactionBehavior::Deferred => client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")?,
                    TransactionBehavior::Immediate | TransactionBehavior::ImmediateAccess => {
                        let lock = if behavior == TransactionBehavior::Immediate { WRITE_LOCK } else { ACCESS_LOCK };
                        client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")?;
                        pg.in_transaction.set(true);
                        client.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])?;
                    }
                }
                pg.in_transaction.set(true);
            }
        }
        Ok(())
    }

    fn end(&self, commit: bool) -> Result<()> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Pg(pg) => {
                pg.in_transaction.set(false);
                Ok(pg.client()?.batch_execute(sql)?)
            }
        }
    }

    /// Notifications received on a PostgreSQL connection that listens
    /// (`LISTEN channel`), waiting up to `timeout` for the first.
    pub fn wait_for_notifications(&self, timeout: std::time::Duration) -> Result<Vec<(String, String)>> {
        match &self.backend {
            Backend::Sqlite(_) => Err(Error::Other("SQLite has no notifications".into())),
            Backend::Pg(pg) => {
                use postgres::fallible_iterator::FallibleIterator;
                let mut client = pg.client()?;
                let mut got = Vec::new();
                let mut notes = client.notifications();
                let mut iter = notes.timeout_iter(timeout);
                if let Some(n) = iter.next()? {
                    got.push((n.channel().to_string(), n.payload().to_string()));
                }
                drop(iter);
                let mut rest = notes.iter();
                while let Some(n) = rest.next()? {
                    got.push((n.channel().to_string(), n.payload().to_string()));
                }
                Ok(got)
            }
        }
    }

    /// Whether the connection still answers (PostgreSQL: not closed).
    pub fn is_closed(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            Backend::Pg(pg) => pg.client.try_borrow().map(|c| c.is_closed()).unwrap_or(false),
        }
    }
}

/// Rows kept before one `COPY` into the staging table.
const BULK_CHUNK: usize = 50_000;

/// Many rows through one upsert (`INSERT … VALUES (?1, …) ON CONFLICT …`
/// whose first parameter is the row's id). On SQLite each row runs the
/// prepared upsert. On PostgreSQL the rows are copied (`COPY`, in chunks)
/// into a temporary staging table typed like the upsert's parameters, and
/// [`Bulk::finish`] runs the upsert once over the staged rows: the first
/// row of each id is written, and later rows with an id already staged are
/// answered as duplicates, as the SQLite path finds them row by row.
pub struct Bulk<'c> {
    inner: BulkInner<'c>,
}

enum BulkInner<'c> {
    Sqlite(Statement<'c>),
    Pg(Box<PgBulk<'c>>),
}

struct PgBulk<'c> {
    pg: &'c Pg,
    /// The staging table (temporary, dropped at commit).
    stage: String,
    /// The statement that applies the staged rows.
    apply: String,
    types: Vec<postgres::types::Type>,
    buffer: String,
    buffered: usize,
    rows: u64,
}

impl Connection {
    /// A bulk writer of `upsert` (see [`Bulk`]).
    pub fn bulk(&self, upsert: &str) -> Result<Bulk<'_>> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Bulk { inner: BulkInner::Sqlite(self.prepare(upsert)?) }),
            Backend::Pg(pg) => {
                let upsert = to_postgres(upsert);
                let stage = pg.stage_name();
                let apply = staged_upsert(&upsert, &stage)?;
                PgBulk::start(pg, &upsert, stage, apply)
            }
        }
    }

    /// A bulk update of `columns` of the rows of `table` found by `key`:
    /// each row's parameters are the key, then the columns' values. On
    /// SQLite one `UPDATE` per row; on PostgreSQL the rows are staged and
    /// applied by one `UPDATE … FROM` (the last row given for a key wins).
    pub fn bulk_update(&self, table: &str, key: &str, columns: &[&str]) -> Result<Bulk<'_>> {
        let sets: Vec<String> = columns.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 2)).collect();
        let update = format!("UPDATE {table} SET {} WHERE {key} = ?1", sets.join(", "));
        match &self.backend {
            Backend::Sqlite(_) => Ok(Bulk { inner: BulkInner::Sqlite(self.prepare(&update)?) }),
            Backend::Pg(pg) => {
                let stage = pg.stage_name();
                let sets: Vec<String> =
                    columns.iter().enumerate().map(|(i, c)| format!("{c} = s.p{}", i + 2)).collect();
                let apply = format!(
                    "UPDATE {table} t SET {} FROM (SELECT DISTINCT ON (p1) * FROM {stage} ORDER BY p1, n DESC) s \
                     WHERE t.{key} = s.p1",
                    sets.join(", ")
                );
                PgBulk::start(pg, &to_postgres(&update), stage, apply)
            }
        }
    }
}

impl Pg {
    fn stage_name(&self) -> String {
        let n = self.cursors.get() + 1;
        self.cursors.set(n);
        format!("talentmap_stage_{n}")
    }
}

impl<'c> PgBulk<'c> {
    /// A staging table typed like the parameters of `statement`.
    fn start(pg: &'c Pg, statement: &str, stage: String, apply: String) -> Result<Bulk<'c>> {
        let types = pg.statement(statement)?.params().to_vec();
        let columns: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("p{} {}", i + 1, t.name())).collect();
        pg.client()?.batch_execute(&format!(
            "CREATE TEMP TABLE {stage} (n BIGINT NOT NULL, {}) ON COMMIT DROP",
            columns.join(", ")
        ))?;
        let bulk = PgBulk { pg, stage, apply, types, buffer: String::new(), buffered: 0, rows: 0 };
        Ok(Bulk { inner: BulkInner::Pg(Box::new(bulk)) })
    }
}

impl Bulk<'_> {
    /// Writes (SQLite) or stages (PostgreSQL) one row. The answer is the
    /// number of rows the upsert changed (SQLite; 0 for a repeated id), or 1
    /// (PostgreSQL: repeated ids are answered by [`Bulk::finish`]).
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.inner {
            BulkInner::Sqlite(stmt) => stmt.execute(params),
            BulkInner::Pg(b) => {
                let values = params.values()?;
                if values.len() != b.types.len() {
                    return Err(Error::Other(format!("{} values for {} parameters", values.len(), b.types.len())));
                }
                b.buffer.push_str(&b.rows.to_string());
                for v in &values {
                    b.buffer.push('\t');
                    copy_value(&mut b.buffer, *v)?;
                }
                b.buffer.push('\n');
                b.rows += 1;
                b.buffered += 1;
                if b.buffered >= BULK_CHUNK {
                    copy_stage(b.pg, &b.stage, &mut b.buffer)?;
                    b.buffered = 0;
                }
                Ok(1)
            }
        }
    }

    /// Runs the staged upsert (PostgreSQL) and answers the rows, numbered
    /// from 0 in the order they were given, that repeat an id given before
    /// them, with that id. Nothing to do on SQLite.
    pub fn finish(self) -> Result<Vec<(u64, String)>> {
        let BulkInner::Pg(mut b) = self.inner else { return Ok(Vec::new()) };
        copy_stage(b.pg, &b.stage, &mut b.buffer)?;
        let stage = &b.stage;
        let mut client = b.pg.client()?;
        let repeated = client.query(
            &format!(
                "SELECT n, p1::text FROM (SELECT n, p1, row_number() OVER (PARTITION BY p1 ORDER BY n) AS k FROM {stage}) s
                 WHERE k > 1 ORDER BY n"
            ),
            &[],
        )?;
        let repeated = repeated.iter().map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, String>(1))).collect();
        client.batch_execute(&format!("{}; DROP TABLE {stage}", b.apply))?;
        Ok(repeated)
    }
}

/// Copies staged rows in text format and empties the buffer.
fn copy_stage(pg: &Pg, stage: &str, buffer: &mut String) -> Result<()> {
    if buffer.is_empty() {
        return Ok(());
    }
    use std::io::Write;
    let mut client = pg.client()?;
    let mut writer = client.copy_in(&format!("COPY {stage} FROM STDIN"))?;
    writer.write_all(buffer.as_bytes()).map_err(|e| Error::Other(format!("COPY: {e}")))?;
    writer.finish()?;
    buffer.clear();
    Ok(())
}

/// The upsert `INSERT INTO t(…) VALUES (exprs of $n) tail` as
/// `INSERT INTO t(…) SELECT exprs of s.pn FROM (first staged row of each
/// id) s tail`.
fn staged_upsert(upsert: &str, stage: &str) -> Result<String> {
    let bad = || Error::Other("a bulk upsert is INSERT … VALUES (…) …".into());
    let at = upsert.find("VALUES").ok_or_else(bad)?;
    let open = at + upsert[at..].find('(').ok_or_else(bad)?;
    let mut depth = 0usize;
    for (i, c) in upsert[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let exprs = rename_params(&upsert[open + 1..open + i], "s.p");
                    let tail = upsert[open + i + 1..].trim_start();
                    return Ok(format!(
                        "{} SELECT {exprs} FROM (SELECT DISTINCT ON (p1) * FROM {stage} ORDER BY p1, n) s {tail}",
                        upsert[..at].trim_end()
                    ));
                }
            }
            _ => {}
        }
    }
    Err(bad())
}

/// `$n` → `{prefix}n` in an expression list.
fn rename_params(sql: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    for (i, part) in sql.split('$').enumerate() {
        if i > 0 {
            out.push_str(prefix);
        }
        out.push_str(part);
    }
    out
}

/// One parameter value in COPY text format.
fn copy_value(out: &mut String, v: ValueRef<'_>) -> Result<()> {
    match v {
        ValueRef::Null => out.push_str("\\N"),
        ValueRef::Integer(i) => out.push_str(&i.to_string()),
        ValueRef::Real(f) => out.push_str(&format!("{f:?}")),
        ValueRef::Text(s) => escape_copy(out, s),
        ValueRef::Blob(_) => return Err(Error::Other("COPY of a blob value is not supported".into())),
    }
    Ok(())
}

fn escape_copy(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// An open transaction; dereferences to its connection. Dropped without
/// [`Transaction::commit`], it rolls back.
pub struct Transaction<'c> {
    conn: &'c Connection,
    done: bool,
}

impl<'c> Transaction<'c> {
    /// Begins a transaction on a shared connection; the caller makes sure
    /// no other transaction is open on it.
    pub fn new_unchecked(conn: &'c Connection, behavior: TransactionBehavior) -> Result<Transaction<'c>> {
        conn.begin(behavior)?;
        Ok(Transaction { conn, done: false })
    }

    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.end(true)
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.end(false);
        }
    }
}

/// A prepared statement.
pub struct Statement<'c> {
    conn: &'c Connection,
    inner: StatementInner<'c>,
}

enum StatementInner<'c> {
    Sqlite(rusqlite::CachedStatement<'c>),
    Pg { sql: String, stmt: postgres::Statement },
}

impl Statement<'_> {
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.values()?;
        match &mut self.inner {
            StatementInner::Sqlite(s) => Ok(s.execute(sqlite_args(&values))?),
            StatementInner::Pg { stmt, .. } => match &self.conn.backend {
                Backend::Pg(pg) => pg.execute(stmt, &values),
                Backend::Sqlite(_) => Err(Error::Other("statement of another backend".into())),
            },
        }
    }

    /// The rows of the query, read one at a time.
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        let values = params.values()?;
        match &mut self.inner {
            StatementInner::Sqlite(s) => Ok(Rows { inner: RowsInner::Sqlite(s.query(sqlite_args(&values))?) }),
            StatementInner::Pg { sql, stmt } => {
                let Backend::Pg(pg) = &self.conn.backend else {
                    return Err(Error::Other("statement of another backend".into()));
                };
                if !pg.in_transaction.get()
                    || !sql.trim_start().get(..6).is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
                {
                    let rows = pg.query(stmt, &values)?;
                    return Ok(Rows { inner: RowsInner::Pg { rows, at: 0, cursor: None, pg } });
                }
                // A read inside a transaction: a cursor, fetched in chunks.
                let n = pg.cursors.get() + 1;
                pg.cursors.set(n);
                let name = format!("talentmap_cursor_{n}");
                pg.declare(&format!("DECLARE {name} NO SCROLL CURSOR FOR {sql}"), &values)?;
                let mut rows = Rows { inner: RowsInner::Pg { rows: Vec::new(), at: 0, cursor: Some(name), pg } };
                rows.fetch()?;
                Ok(rows)
            }
        }
    }

    pub fn query_map<T, P: Params, F: FnMut(&Row<'_>) -> Result<T>>(
        &mut self,
        params: P,
        f: F,
    ) -> Result<MappedRows<'_, F>> {
        Ok(MappedRows { rows: self.query(params)?, f })
    }

    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(&mut self, params: P, f: F) -> Result<T> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(r) => f(&r),
            None => Err(Error::QueryReturnedNoRows),
        }
    }
}

/// Rows of a query.
pub struct Rows<'s> {
    inner: RowsInner<'s>,
}

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Pg { rows: Vec<postgres::Row>, at: usize, cursor: Option<String>, pg: &'s Pg },
}

impl Rows<'_> {
    /// The next row, or `None` after the last.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        if self.pg_exhausted() {
            self.fetch()?;
        }
        match &mut self.inner {
            RowsInner::Sqlite(rows) => Ok(rows.next()?.map(|r| Row(RowInner::Sqlite(r)))),
            RowsInner::Pg { rows, at, .. } => {
                let i = *at;
                if i >= rows.len() {
                    return Ok(None);
                }
                *at += 1;
                Ok(Some(Row(RowInner::Pg(&rows[i]))))
            }
        }
    }

    fn pg_exhausted(&self) -> bool {
        matches!(&self.inner, RowsInner::Pg { rows, at, cursor: Some(_), .. } if *at >= rows.len() && !rows.is_empty())
    }

    fn fetch(&mut self) -> Result<()> {
        if let RowsInner::Pg { rows, at, cursor: Some(name), pg } = &mut self.inner {
            let fetched = pg.client()?.query(&format!("FETCH {CURSOR_CHUNK} FROM {name}"), &[])?;
            *at = 0;
            *rows = fetched;
        }
        Ok(())
    }
}

impl Drop for Rows<'_> {
    fn drop(&mut self) {
        if let RowsInner::Pg { cursor: Some(name), pg, .. } = &self.inner
            && pg.in_transaction.get()
            && let Ok(mut client) = pg.client()
        {
            let _ = client.batch_execute(&format!("CLOSE {name}"));
        }
    }
}

/// Rows mapped by a function, as an iterator.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F: FnMut(&Row<'_>) -> Result<T>> Iterator for MappedRows<'_, F> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(r)) => Some((self.f)(&r)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_hints_are_rewritten_for_postgres() {
        assert_eq!(to_postgres("SELECT a FROM t WHERE b = ?1 AND c = ?2"), "SELECT a FROM t WHERE b = $1 AND c = $2");
        assert_eq!(to_postgres("UPDATE t SET a = ?, b = ? WHERE id = ?1"), "UPDATE t SET a = $1, b = $2 WHERE id = $1");
        assert_eq!(to_postgres("SELECT '?' , \"a?\" FROM t WHERE x = ?"), "SELECT '?' , \"a?\" FROM t WHERE x = $1");
        assert_eq!(
            to_postgres("SELECT x FROM talents INDEXED BY talents_home WHERE a = ?1"),
            "SELECT x FROM talents  WHERE a = $1"
        );
        // Only the hint, as a word; text of any script around it is kept.
        assert_eq!(to_postgres("SELECT reindexed by FROM t"), "SELECT reindexed by FROM t");
        assert_eq!(to_postgres("SELECT '区' AS 名, x FROM t WHERE y = ?"), "SELECT '区' AS 名, x FROM t WHERE y = $1");
    }

    #[test]
    fn copy_values_are_escaped() {
        let mut s = String::new();
        copy_value(&mut s, ValueRef::Text("a\tb\\c\nd")).unwrap();
        assert_eq!(s, "a\\tb\\\\c\\nd");
        s.clear();
        copy_value(&mut s, ValueRef::Null).unwrap();
        assert_eq!(s, "\\N");
        s.clear();
        copy_value(&mut s, ValueRef::Real(0.1)).unwrap();
        assert_eq!(s, "0.1");
    }

    #[test]
    fn a_bulk_upsert_selects_from_the_staging_table() {
        let upsert = to_postgres(
            "INSERT INTO t(id, a, b, c) VALUES (?1, ?2, 1, lower(?2)) ON CONFLICT(id) DO UPDATE SET a = excluded.a",
        );
        assert_eq!(
            staged_upsert(&upsert, "talentmap_stage_1").unwrap(),
            "INSERT INTO t(id, a, b, c) SELECT s.p1, s.p2, 1, lower(s.p2) \
             FROM (SELECT DISTINCT ON (p1) * FROM talentmap_stage_1 ORDER BY p1, n) s \
             ON CONFLICT(id) DO UPDATE SET a = excluded.a"
        );
    }

    #[test]
    fn sqlite_round_trip_through_the_common_api() {
        let mut conn = Connection::from_sqlite(rusqlite::Connection::open_in_memory().unwrap());
        conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, x REAL, s TEXT)").unwrap();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        tx.execute("INSERT INTO t VALUES (?1, ?2, ?3, ?4)", params!["a", 3i64, 1.5, None::<String>]).unwrap();
        tx.commit().unwrap();
        let (n, x, s): (i64, f64, Option<String>) = conn
            .query_row("SELECT n, x, s FROM t WHERE id = ?1", params!["a"], |r| {
                Ok((r.get(0usize)?, r.get(1usize)?, r.get(2usize)?))
            })
            .unwrap();
        assert_eq!((n, x, s), (3, 1.5, None));
        let none =
            conn.query_row("SELECT n FROM t WHERE id = 'b'", [], |r| r.get::<_, i64>(0usize)).optional().unwrap();
        assert_eq!(none, None);
        {
            let _tx = conn.transaction().unwrap();
            _tx.execute("DELETE FROM t", []).unwrap();
        }
        let count: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0usize)).unwrap();
        assert_eq!(count, 1, "a dropped transaction rolls back");
    }
}
