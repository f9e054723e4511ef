//! Types as the checker sees them, and how they are printed in messages.

use std::fmt;

/// Index of a record type (`type User { … }`) in the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u32);

/// An inference variable, solved by unification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TypeVar(pub u32);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Int,
    Float,
    Str,
    /// Raw bytes (`b"…"`, `bytes(s)`); laid out as a `Str` is, without the promise of UTF-8.
    Bytes,
    Bool,
    Null,
    DateTime,
    /// A calendar day (days since 1970-01-01).
    Date,
    Uuid,
    DbConn,
    /// `WsConn<In, Out>` (`WsConn<T>` is `WsConn<T, T>`): a `@ws` handler's connection, what it
    /// receives and what it sends.
    Ws(Box<Type>, Box<Type>),
    /// `Secret<Str>`: a string that prints as `***` and must be `.expose()`d to use.
    Secret,
    List(Box<Type>),
    Map(Box<Type>, Box<Type>),
    /// `Result<T, E>`; `Result<T>` is `Result<T, Str>`.
    Result(Box<Type>, Box<Type>),
    /// `T?`
    Nullable(Box<Type>),
    Record(RecordId),
    /// `rand.seeded(n)`: a reproducible generator (SplitMix64), shared by reference.
    RandGen,
    /// A value of any type, boxed with its type (upstream's `Any`; heterogeneous literals).
    Any,
    /// `(Int, Str)`: a fixed number of values of their own types; `()` is the empty one.
    Tuple(Vec<Type>),
    Fn(Vec<Type>, Box<Type>),
    Future(Box<Type>),
    /// `a..b`
    Range,
    /// An ORM query still being built (`User.where(…)`); only valid inside one chain.
    Query(RecordId),
    Var(TypeVar),
    /// The type of `return`, `break`, `continue`: no value ever arrives.
    Never,
    /// Stands in after an error, and agrees with everything so one mistake reports once.
    Error,
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn map(k: Type, v: Type) -> Type {
        Type::Map(Box::new(k), Box::new(v))
    }
    pub fn result(t: Type) -> Type {
        Type::Result(Box::new(t), Box::new(Type::Str))
    }
    pub fn nullable(t: Type) -> Type {
        match t {
            Type::Nullable(_) | Type::Null | Type::Error => t,
            other => Type::Nullable(Box::new(other)),
        }
    }
    pub fn future(t: Type) -> Type {
        Type::Future(Box::new(t))
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }

    /// Whether some part of the type is still an unsolved variable or an error.
    pub fn is_incomplete(&self) -> bool {
        match self {
            Type::Var(_) | Type::Error => true,
            Type::List(t) | Type::Nullable(t) | Type::Future(t) => t.is_incomplete(),
            Type::Map(a, b) | Type::Result(a, b) => a.is_incomplete() || b.is_incomplete(),
            Type::Fn(ps, r) => ps.iter().any(Type::is_incomplete) || r.is_incomplete(),
            Type::Tuple(ts) => ts.iter().any(Type::is_incomplete),
            _ => false,
        }
    }
}

/// Prints types the way a user writes them; needs the record names.
pub struct TypeDisplay<'a> {
    pub ty: &'a Type,
    pub records: &'a [String],
}

impl<'a> fmt::Display for TypeDisplay<'a> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let records = self.records;
        let show = |ty: &'a Type| TypeDisplay { ty, records };
        match self.ty {
            Type::Int => f.write_str("Int"),
            Type::Float => f.write_str("Float"),
            Type::Str => f.write_str("Str"),
            Type::Bytes => f.write_str("Bytes"),
            Type::Bool => f.write_str("Bool"),
            Type::Null => f.write_str("Null"),
            Type::DateTime => f.write_str("DateTime"),
            Type::Date => f.write_str("Date"),
            Type::Uuid => f.write_str("Uuid"),
            Type::RandGen => f.write_str("RandGen"),
            Type::Any => f.write_str("Any"),
            Type::DbConn => f.write_str("DbConn"),
            Type::Ws(i, o) if i == o => write!(f, "WsConn<{}>", show(i)),
            Type::Ws(i, o) => write!(f, "WsConn<{}, {}>", show(i), show(o)),
            Type::Secret => f.write_str("Secret<Str>"),
            Type::Range => f.write_str("Range"),
            Type::List(t) => write!(f, "List<{}>", show(t)),
            Type::Map(k, v) => write!(f, "Map<{}, {}>", show(k), show(v)),
            Type::Result(t, e) if **e == Type::Str => write!(f, "Result<{}>", show(t)),
            Type::Result(t, e) => write!(f, "Result<{}, {}>", show(t), show(e)),
            Type::Nullable(t) => match **t {
                Type::Fn(..) => write!(f, "({})?", show(t)),
                _ => write!(f, "{}?", show(t)),
            },
            Type::Record(id) | Type::Query(id) => {
                let name = self.records.get(id.0 as usize).map_or("?", String::as_str);
                if matches!(self.ty, Type::Query(_)) { write!(f, "query of {name}") } else { f.write_str(name) }
            }
            Type::Fn(params, ret) => {
                f.write_str("Fn(")?;
                for (i, p) in params.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", show(p))?;
                }
                write!(f, ") -> {}", show(ret))
            }
            Type::Future(t) => write!(f, "Future<{}>", show(t)),
            Type::Tuple(ts) => {
                f.write_str("(")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", show(t))?;
                }
                f.write_str(if ts.len() == 1 { ",)" } else { ")" })
            }
            Type::Var(_) => f.write_str("_"),
            Type::Never => f.write_str("Never"),
            Type::Error => f.write_str("{unknown}"),
        }
    }
}

impl<'a> TypeDisplay<'a> {
    pub fn new(ty: &'a Type, records: &'a [String]) -> Self {
        TypeDisplay { ty, records }
    }
}
