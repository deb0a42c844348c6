//! One SQL interface over the two backends (SQLite through rusqlite,
//! PostgreSQL through the synchronous `postgres` client), so every storage
//! function is written once and only its SQL may differ between them.
//!
//! The surface copies the part of rusqlite the storage modules use
//! (`execute`, `query_row`, `prepare_cached`, `query_map`, `params!`,
//! `OptionalExtension`), with owned rows of [`Value`]s. SQL is written with
//! SQLite's `?N` placeholders in the common subset of both dialects
//! (`ON CONFLICT`, `RETURNING`, `COALESCE`, `CAST(.. AS BIGINT)`); for
//! PostgreSQL the placeholders are rewritten to `$N` once per statement
//! text and the prepared statement is cached on its connection. Where the
//! dialects truly differ, a module asks [`Connection::dialect`].
//!
//! Transactions are plain `BEGIN`/`COMMIT` on a connection the
//! [`Connection`] owns, so a storage function takes `&Connection` whether it
//! runs on the SQLite writer, a SQLite reader or a pooled PostgreSQL
//! connection, and no backend type leaks out of `storage`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Which SQL a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A column or parameter value (SQLite's storage classes; PostgreSQL's
/// integers, booleans, floats, text and bytea map onto them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The storage layer's one error type (converted into `ServerError`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("query returned no rows")]
    NoRows,
    /// A UNIQUE or PRIMARY KEY constraint refused the write.
    #[error("unique constraint failed: {0}")]
    Unique(String),
    /// Another constraint (NOT NULL, CHECK, FOREIGN KEY) refused the write.
    #[error("constraint failed: {0}")]
    Constraint(String),
    /// May pass on a retry: busy, locked, deadlock, serialization failure,
    /// lost connection, out of disk.
    #[error("database unavailable: {0}")]
    Transient(String),
    #[error("column {0}: {1}")]
    Type(usize, String),
    #[error("database: {0}")]
    Other(String),
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match &e {
            rusqlite::Error::QueryReturnedNoRows => Error::NoRows,
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                C::ConstraintViolation
                    if matches!(
                        f.extended_code,
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    ) =>
                {
                    Error::Unique(e.to_string())
                }
                C::ConstraintViolation => Error::Constraint(e.to_string()),
                C::DatabaseBusy
                | C::DatabaseLocked
                | C::SystemIoFailure
                | C::DiskFull
                | C::OutOfMemory
                | C::CannotOpen => Error::Transient(e.to_string()),
                _ => Error::Other(e.to_string()),
            },
            _ => Error::Other(e.to_string()),
        }
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        let Some(code) = e.code() else {
            // No SQLSTATE: the connection broke or the client failed.
            return if e.is_closed() {
                Error::Transient(e.to_string())
            } else {
                Error::Other(e.to_string())
            };
        };
        let message = e
            .as_db_error()
            .map(|d| format!("{} ({})", d.message(), d.constraint().unwrap_or("")))
            .unwrap_or_else(|| e.to_string());
        classify(code.code(), message)
    }
}

/// A PostgreSQL SQLSTATE as this layer's error.
fn classify(sqlstate: &str, message: String) -> Error {
    match sqlstate {
        "23505" => Error::Unique(message),
        c if c.starts_with("23") => Error::Constraint(message),
        // serialization failure, deadlock, lock timeout, too many connections,
        // out of disk/memory, admin shutdown, connection exceptions
        "40001" | "40P01" | "55P03" | "53300" | "53100" | "53200" | "57P01" | "57P02" | "57P03" => {
            Error::Transient(message)
        }
        c if c.starts_with("08") => Error::Transient(message),
        _ => Error::Other(message),
    }
}

impl Error {
    /// A bug's error names the statement (its start), so the log says what
    /// to fix; constraint and transient errors stay as they are.
    fn in_statement(self, sql: &str) -> Error {
        match self {
            Error::Other(m) => {
                let head: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
                let head: String = head.chars().take(160).collect();
                Error::Other(format!("{m} in: {head}"))
            }
            e => e,
        }
    }
}

/// `.optional()` on a single-row query, as in rusqlite.
pub(crate) trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

/// A Rust value bindable as a parameter.
pub(crate) trait ToSql {
    fn to_value(&self) -> Value;
}

impl ToSql for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToSql> ToSql for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToSql::to_value)
    }
}
impl<T: ToSql + ?Sized> ToSql for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
macro_rules! int_to_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_value(&self) -> Value {
                Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_to_sql!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);
impl ToSql for bool {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}
impl ToSql for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToSql for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToSql for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToSql for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToSql for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl<const N: usize> ToSql for [u8; N] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}

/// A column value read into a Rust type.
pub(crate) trait FromSql: Sized {
    fn from_value(v: &Value) -> std::result::Result<Self, String>;
}

impl FromSql for Value {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        Ok(v.clone())
    }
}
impl<T: FromSql> FromSql for Option<T> {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}
macro_rules! int_from_sql {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_value(v: &Value) -> std::result::Result<Self, String> {
                match v {
                    Value::Integer(i) => <$t>::try_from(*i).map_err(|e| e.to_string()),
                    other => Err(format!("expected an integer, got {other:?}")),
                }
            }
        }
    )*};
}
int_from_sql!(i8, i16, i32, i64, u8, u16, u32, u64, usize);
impl FromSql for bool {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Integer(i) => Ok(*i != 0),
            other => Err(format!("expected a boolean, got {other:?}")),
        }
    }
}
impl FromSql for f64 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Integer(i) => Ok(*i as f64),
            other => Err(format!("expected a number, got {other:?}")),
        }
    }
}
impl FromSql for String {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, got {other:?}")),
        }
    }
}
impl FromSql for Vec<u8> {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("expected bytes, got {other:?}")),
        }
    }
}

/// One result row, owned.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    names: Arc<[String]>,
    values: Vec<Value>,
}

/// A column by position or by name.
pub(crate) trait RowIndex {
    fn index(&self, row: &Row) -> Result<usize>;
}
impl RowIndex for usize {
    fn index(&self, row: &Row) -> Result<usize> {
        if *self < row.values.len() {
            Ok(*self)
        } else {
            Err(Error::Type(*self, "no such column".into()))
        }
    }
}
impl RowIndex for &str {
    fn index(&self, row: &Row) -> Result<usize> {
        row.names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(self))
            .ok_or_else(|| Error::Other(format!("no column named {self}")))
    }
}

impl Row {
    pub(crate) fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let i = idx.index(self)?;
        T::from_value(&self.values[i]).map_err(|m| Error::Type(i, m))
    }
}

/// What a statement binds: `params![..]`, `[a, b]`, `()`, `params_from_iter`.
pub(crate) trait Params {
    fn values(self) -> Vec<Value>;
}
impl Params for () {
    fn values(self) -> Vec<Value> {
        Vec::new()
    }
}
impl Params for &[&dyn ToSql] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|p| p.to_value()).collect()
    }
}
impl<const N: usize> Params for &[&dyn ToSql; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|p| p.to_value()).collect()
    }
}
impl<T: ToSql, const N: usize> Params for [T; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(ToSql::to_value).collect()
    }
}
/// Parameters from an iterator (an `IN (...)` list built at run time).
pub(crate) struct ParamsFromIter<I>(I);
pub(crate) fn params_from_iter<I>(iter: I) -> ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    ParamsFromIter(iter)
}
impl<I> Params for ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    fn values(self) -> Vec<Value> {
        self.0.into_iter().map(|p| p.to_value()).collect()
    }
}

/// `params![a, b, c]`, as in rusqlite.
macro_rules! params {
    () => { &[] as &[&dyn $crate::storage::sql::ToSql] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::storage::sql::ToSql),+] as &[&dyn $crate::storage::sql::ToSql] };
}
pub(crate) use params;

/// At most this many rows (or keys) per multi-row statement: below SQLite's
/// 32,766 and PostgreSQL's 65,535 parameters at up to 60 columns.
pub(crate) const MAX_ROWS_PER_STATEMENT: usize = 512;

/// `items` in slices of power-of-two lengths (largest first, at most
/// [`MAX_ROWS_PER_STATEMENT`]): a multi-row statement then has one of ten
/// texts, so both backends keep it prepared instead of preparing one per
/// batch size.
pub(crate) fn row_chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = MAX_ROWS_PER_STATEMENT.min(1 << rest.len().ilog2());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// `?start, ?start+1, ...`: `n` placeholders (an `IN (...)` list).
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(?1, ?2, ?3), (?4, ?5, ?6), ...`: `rows` rows of `cols` placeholders.
pub(crate) fn values_list(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A PostgreSQL connection and its prepared statements.
pub(crate) struct PgSession {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

impl PgSession {
    pub(crate) fn new(client: postgres::Client) -> PgSession {
        PgSession {
            client,
            statements: HashMap::new(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// A statement written in PostgreSQL's own SQL (`$N` placeholders,
    /// typed parameters), prepared once per connection.
    pub(crate) fn prepared(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self
            .client
            .prepare(sql)
            .map_err(|e| Error::from(e).in_statement(sql))?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    /// The client, in the connection's transaction, for
    /// [`prepared`](Self::prepared) statements.
    pub(crate) fn client(&mut self) -> &mut postgres::Client {
        &mut self.client
    }
}

enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<PgSession>>),
}

/// A database connection of either backend (see the module comment).
pub(crate) struct Connection {
    backend: Backend,
}

impl Connection {
    pub(crate) fn sqlite(conn: rusqlite::Connection) -> Connection {
        Connection {
            backend: Backend::Sqlite(conn),
        }
    }

    pub(crate) fn postgres(session: PgSession) -> Connection {
        Connection {
            backend: Backend::Postgres(Box::new(RefCell::new(session))),
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite handle back (panics on PostgreSQL: only SQLite code calls it).
    pub(crate) fn into_sqlite(self) -> rusqlite::Connection {
        match self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(_) => panic!("into_sqlite on a PostgreSQL connection"),
        }
    }

    /// The PostgreSQL session, for an aggregate's PostgreSQL implementation
    /// (its own statements, typed parameters); `None` on SQLite. Not
    /// reentrant: `f` must not use this `Connection`.
    pub(crate) fn with_postgres<T>(&self, f: impl FnOnce(&mut PgSession) -> T) -> Option<T> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(s) => Some(f(&mut s.borrow_mut())),
        }
    }

    /// The SQLite handle, for what only SQLite has (checkpoints).
    pub(crate) fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    pub(crate) fn is_broken(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            Backend::Postgres(s) => s.borrow().is_closed(),
        }
    }

    /// Runs one or more statements without parameters or results.
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(s) => Ok(s.borrow_mut().client.batch_execute(sql)?),
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        self.run(sql, params.values())
    }

    /// The first row mapped by `f`; `Error::NoRows` when there is none.
    pub(crate) fn query_row<T, F>(&self, sql: &str, params: impl Params, f: F) -> Result<T>
    where
        F: FnOnce(&Row) -> Result<T>,
    {
        let rows = self.rows(sql, params.values())?;
        rows.first().map_or(Err(Error::NoRows), f)
    }

    pub(crate) fn prepare_cached<'c>(&'c self, sql: &str) -> Result<Statement<'c>> {
        Ok(Statement {
            conn: self,
            sql: sql.to_string(),
        })
    }

    pub(crate) fn prepare<'c>(&'c self, sql: &str) -> Result<Statement<'c>> {
        self.prepare_cached(sql)
    }

    /// Runs `f` in a savepoint: kept when it returns Ok, rolled back (and
    /// the transaction usable again) when it returns Err.
    pub(crate) fn savepoint<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&Connection) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        self.execute_batch("SAVEPOINT sp")?;
        match f(self) {
            Ok(v) => {
                self.execute_batch("RELEASE SAVEPOINT sp")?;
                Ok(v)
            }
            Err(e) => {
                self.execute_batch("ROLLBACK TO SAVEPOINT sp; RELEASE SAVEPOINT sp")?;
                Err(e)
            }
        }
    }

    fn run(&self, sql: &str, values: Vec<Value>) -> Result<usize> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(values.iter()))?)
            }
            Backend::Postgres(s) => {
                let mut s = s.borrow_mut();
                let stmt = s.statement(sql).map_err(|e| e.in_statement(sql))?;
                let refs = pg_params(&values);
                let n = s
                    .client
                    .execute(&stmt, &refs)
                    .map_err(|e| Error::from(e).in_statement(sql))?;
                Ok(n as usize)
            }
        }
    }

    fn rows(&self, sql: &str, values: Vec<Value>) -> Result<Vec<Row>> {
        match &self.backend {
            Backend::Sqlite(c) => sqlite_rows(c, sql, &values),
            Backend::Postgres(s) => {
                let mut s = s.borrow_mut();
                let stmt = s.statement(sql)?;
                let names: Arc<[String]> = stmt
                    .columns()
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect();
                let refs = pg_params(&values);
                s.client
                    .query(&stmt, &refs)?
                    .iter()
                    .map(|r| pg_row(r, &names))
                    .collect()
            }
        }
    }
}

fn sqlite_rows(c: &rusqlite::Connection, sql: &str, values: &[Value]) -> Result<Vec<Row>> {
    let mut stmt = c.prepare_cached(sql)?;
    let names: Arc<[String]> = stmt.column_names().iter().map(|n| n.to_string()).collect();
    let n = names.len();
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let values = (0..n)
            .map(|i| r.get::<_, rusqlite::types::Value>(i).map(Value::from))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(Row {
            names: names.clone(),
            values,
        });
    }
    Ok(out)
}

impl From<rusqlite::types::Value> for Value {
    fn from(v: rusqlite::types::Value) -> Self {
        use rusqlite::types::Value as V;
        match v {
            V::Null => Value::Null,
            V::Integer(i) => Value::Integer(i),
            V::Real(f) => Value::Real(f),
            V::Text(s) => Value::Text(s),
            V::Blob(b) => Value::Blob(b),
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl PgSession {
    /// The prepared statement for `sql` (SQLite placeholders rewritten).
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.client.prepare(&to_postgres(sql))?;
        if self.statements.len() > 500 {
            // Statements built at run time (IN lists of every length) must not grow forever.
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

/// `?1`/`?` placeholders to `$1`, outside string literals.
pub(crate) fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1;
    let mut in_str = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_str = !in_str;
            out.push(c);
        } else if c == '?' && !in_str {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            if digits.is_empty() {
                digits = next.to_string();
            }
            next = digits.parse::<usize>().unwrap_or(next) + 1;
            out.push('$');
            out.push_str(&digits);
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_params(values: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|v| v as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

fn pg_row(r: &postgres::Row, names: &Arc<[String]>) -> Result<Row> {
    let values = (0..r.len())
        .map(|i| {
            r.try_get::<_, Value>(i)
                .map_err(|e| Error::Type(i, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Row {
        names: names.clone(),
        values,
    })
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl postgres::types::ToSql for Value {
    /// Binds to whatever type PostgreSQL inferred for the placeholder, the
    /// way SQLite's affinity would: an integer into INT2/4/8, BOOL or a
    /// float, text into any text type.
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, BoxError> {
        use postgres::types::{IsNull, Type};
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Integer(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Integer(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Integer(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Integer(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Integer(i), &Type::FLOAT4) => (*i as f32).to_sql(ty, out),
            (Value::Integer(i), t) if is_text(t) => i.to_string().as_str().to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Text(s), t) if is_text(t) => s.as_str().to_sql(ty, out),
            (Value::Blob(b), &Type::BYTEA) => b.as_slice().to_sql(ty, out),
            (v, t) => Err(format!("cannot bind {v:?} to a parameter of type {t}").into()),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn is_text(t: &postgres::types::Type) -> bool {
    use postgres::types::Type;
    matches!(
        *t,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

impl<'a> postgres::types::FromSql<'a> for Value {
    fn from_sql(ty: &postgres::types::Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        use postgres::types::Type;
        Ok(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(<Vec<u8>>::from_sql(ty, raw)?),
            ref t if is_text(t) => Value::Text(String::from_sql(ty, raw)?),
            ref t => {
                return Err(format!(
                    "column of type {t} is not read by the server; CAST it in the query"
                )
                .into())
            }
        })
    }

    fn from_sql_null(_: &postgres::types::Type) -> std::result::Result<Self, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
}

/// A statement text bound to its connection (rusqlite's `Statement` shape;
/// the caching happens in the connection).
pub(crate) struct Statement<'c> {
    conn: &'c Connection,
    sql: String,
}

impl Statement<'_> {
    pub(crate) fn execute(&mut self, params: impl Params) -> Result<usize> {
        self.conn.run(&self.sql, params.values())
    }

    pub(crate) fn query_row<T, F>(&mut self, params: impl Params, f: F) -> Result<T>
    where
        F: FnOnce(&Row) -> Result<T>,
    {
        self.conn.query_row(&self.sql, params, f)
    }

    /// Every row mapped by `f` (collected: rows are owned).
    pub(crate) fn query_map<T, F>(
        &mut self,
        params: impl Params,
        mut f: F,
    ) -> Result<std::vec::IntoIter<Result<T>>>
    where
        F: FnMut(&Row) -> Result<T>,
    {
        let rows = self.conn.rows(&self.sql, params.values())?;
        Ok(rows.iter().map(&mut f).collect::<Vec<_>>().into_iter())
    }

    pub(crate) fn exists(&mut self, params: impl Params) -> Result<bool> {
        Ok(!self.conn.rows(&self.sql, params.values())?.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_in_power_of_two_chunks_of_at_most_the_limit() {
        let lens = |n: usize| -> Vec<usize> {
            let items: Vec<usize> = (0..n).collect();
            row_chunks(&items).map(<[usize]>::len).collect()
        };
        assert_eq!(lens(0), Vec::<usize>::new());
        assert_eq!(lens(1), vec![1]);
        assert_eq!(lens(37), vec![32, 4, 1]);
        assert_eq!(lens(512), vec![512]);
        assert_eq!(lens(1300), vec![512, 512, 256, 16, 4]);
        let items: Vec<usize> = (0..37).collect();
        let again: Vec<usize> = row_chunks(&items).flatten().copied().collect();
        assert_eq!(again, items, "every row once, in order");
        assert_eq!(values_list(2, 3), "(?1, ?2, ?3), (?4, ?5, ?6)");
        assert_eq!(placeholders(2, 3), "?2, ?3, ?4");
    }

    #[test]
    fn placeholders_become_dollar_numbers_outside_strings() {
        let cases = [
            ("SELECT ?1, ?2", "SELECT $1, $2"),
            ("SELECT ?, ?", "SELECT $1, $2"),
            (
                "WHERE a = ?3 AND b = '?' AND c = ?",
                "WHERE a = $3 AND b = '?' AND c = $4",
            ),
            ("SELECT 'it''s ?1', ?1", "SELECT 'it''s ?1', $1"),
            ("no params", "no params"),
        ];
        for (sqlite, pg) in cases {
            assert_eq!(to_postgres(sqlite), pg, "{sqlite}");
        }
    }

    #[test]
    fn sqlstates_are_classified() {
        let table = [
            ("23505", "unique"),
            ("23503", "constraint"),
            ("23514", "constraint"),
            ("40001", "transient"),
            ("40P01", "transient"),
            ("08006", "transient"),
            ("57P01", "transient"),
            ("42601", "other"),
            ("22P02", "other"),
        ];
        for (code, want) in table {
            let got = match classify(code, String::new()) {
                Error::Unique(_) => "unique",
                Error::Constraint(_) => "constraint",
                Error::Transient(_) => "transient",
                _ => "other",
            };
            assert_eq!(got, want, "{code}");
        }
    }

    /// Values go in and come back the same on the backend the suite runs
    /// on (PostgreSQL binds integers to BOOLEAN and INT4 columns too).
    #[test]
    fn rows_are_read_and_missing_rows_are_none() {
        let c = super::super::testdb::connection();
        c.execute_batch(match c.dialect() {
            Dialect::Sqlite => {
                "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, b BLOB, flag INTEGER, n INTEGER)"
            }
            Dialect::Postgres => {
                "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, name TEXT, b BYTEA, flag BOOLEAN, n INT4)"
            }
        })
        .unwrap();
        let id: i64 = c
            .query_row(
                "INSERT INTO t (name, b, flag, n) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                params!["张", vec![1u8, 2], true, 7i64],
                |r| r.get(0),
            )
            .unwrap();
        let (flag, n): (bool, i64) = c
            .query_row("SELECT flag, n FROM t WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((flag, n), (true, 7));
        let (name, b): (String, Vec<u8>) = c
            .query_row("SELECT name, b FROM t WHERE id = ?1", [id], |r| {
                Ok((r.get("name")?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((name.as_str(), b), ("张", vec![1, 2]));
        let none: Option<i64> = c
            .query_row("SELECT id FROM t WHERE id = ?1", [id + 1], |r| r.get(0))
            .optional()
            .unwrap();
        assert_eq!(none, None);
        let dup = c
            .execute("INSERT INTO t (id, name) VALUES (?1, 'x')", [id])
            .unwrap_err();
        assert!(matches!(dup, Error::Unique(_)), "{dup:?}");
        let bug = c.execute("SELEC 1", ()).unwrap_err();
        assert!(matches!(bug, Error::Other(_)), "{bug:?}");
    }
}
