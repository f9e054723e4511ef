//! Inference variables and unification. Variables stand for the element type of `[]` and `{}`,
//! unannotated parameters and return types, and generic built-in results; unification solves
//! them as the checker meets their uses.

use crate::types::{Type, TypeVar};

#[derive(Default)]
pub struct Unifier {
    bindings: Vec<Option<Type>>,
    /// Variables bound since `try_unify` started, so a failed attempt can be undone.
    trail: Option<Vec<u32>>,
}

impl Unifier {
    pub fn fresh(&mut self) -> Type {
        self.bindings.push(None);
        Type::Var(TypeVar(self.bindings.len() as u32 - 1))
    }

    /// Follows variable bindings at the top of the type only.
    pub fn shallow(&self, t: &Type) -> Type {
        let mut t = t.clone();
        while let Type::Var(v) = t {
            match &self.bindings[v.0 as usize] {
                Some(bound) => t = bound.clone(),
                None => return t,
            }
        }
        t
    }

    /// Substitutes every solved variable, all the way down.
    pub fn resolve(&self, t: &Type) -> Type {
        match self.shallow(t) {
            Type::List(e) => Type::List(Box::new(self.resolve(&e))),
            Type::Map(k, v) => Type::Map(Box::new(self.resolve(&k)), Box::new(self.resolve(&v))),
            Type::Result(a, b) => Type::Result(Box::new(self.resolve(&a)), Box::new(self.resolve(&b))),
            Type::Nullable(e) => Type::nullable(self.resolve(&e)),
            Type::Future(e) => Type::Future(Box::new(self.resolve(&e))),
            Type::Ws(i, o) => Type::Ws(Box::new(self.resolve(&i)), Box::new(self.resolve(&o))),
            Type::Fn(ps, r) => Type::Fn(ps.iter().map(|p| self.resolve(p)).collect(), Box::new(self.resolve(&r))),
            Type::Tuple(ts) => Type::Tuple(ts.iter().map(|t| self.resolve(t)).collect()),
            other => other,
        }
    }

    /// Like `resolve`, but variables nothing constrained become `Null`: an empty list that is
    /// never filled can hold anything, and `Null` is the cheapest thing to lay out.
    pub fn finish(&self, t: &Type) -> Type {
        match self.resolve(t) {
            t if !t.is_incomplete() => t,
            t => default_vars(t),
        }
    }

    fn occurs(&self, v: TypeVar, t: &Type) -> bool {
        match self.shallow(t) {
            Type::Var(w) => v == w,
            Type::List(e) | Type::Nullable(e) | Type::Future(e) => self.occurs(v, &e),
            Type::Map(a, b) | Type::Result(a, b) => self.occurs(v, &a) || self.occurs(v, &b),
            Type::Fn(ps, r) => ps.iter().any(|p| self.occurs(v, p)) || self.occurs(v, &r),
            Type::Tuple(ts) => ts.iter().any(|t| self.occurs(v, t)),
            _ => false,
        }
    }

    fn bind(&mut self, v: TypeVar, t: Type) -> bool {
        if let Type::Var(w) = t
            && w == v
        {
            return true;
        }
        if self.occurs(v, &t) {
            return false;
        }
        self.bindings[v.0 as usize] = Some(t);
        if let Some(trail) = &mut self.trail {
            trail.push(v.0);
        }
        true
    }

    /// Makes the two types equal, solving variables; `false` if they cannot be.
    pub fn unify(&mut self, a: &Type, b: &Type) -> bool {
        let a = self.shallow(a);
        let b = self.shallow(b);
        match (&a, &b) {
            (Type::Error, _) | (_, Type::Error) => true,
            (Type::Var(v), _) => self.bind(*v, b.clone()),
            (_, Type::Var(v)) => self.bind(*v, a.clone()),
            (Type::List(x), Type::List(y)) | (Type::Nullable(x), Type::Nullable(y)) | (Type::Future(x), Type::Future(y)) => self.unify(x, y),
            (Type::Map(k1, v1), Type::Map(k2, v2)) | (Type::Result(k1, v1), Type::Result(k2, v2)) | (Type::Ws(k1, v1), Type::Ws(k2, v2)) => {
                self.unify(k1, k2) && self.unify(v1, v2)
            }
            (Type::Fn(p1, r1), Type::Fn(p2, r2)) => p1.len() == p2.len() && p1.iter().zip(p2.iter()).all(|(x, y)| self.unify(x, y)) && self.unify(r1, r2),
            (Type::Tuple(xs), Type::Tuple(ys)) => xs.len() == ys.len() && xs.iter().zip(ys.iter()).all(|(x, y)| self.unify(x, y)),
            _ => a == b,
        }
    }

    /// Tries to unify without leaving any bindings behind when it fails.
    pub fn try_unify(&mut self, a: &Type, b: &Type) -> bool {
        let outer = self.trail.replace(Vec::new());
        let ok = self.unify(a, b);
        let bound = std::mem::replace(&mut self.trail, outer).unwrap_or_default();
        if ok {
            if let Some(outer) = &mut self.trail {
                outer.extend(bound);
            }
        } else {
            for v in bound {
                self.bindings[v as usize] = None;
            }
        }
        ok
    }

    /// The least type both values fit in (branches of `if`/`match`, list elements):
    /// `Int` and `Float` give `Float`, `T` and `Null` give `T?`, `Never` gives the other.
    pub fn join(&mut self, a: &Type, b: &Type) -> Option<Type> {
        let x = self.shallow(a);
        let y = self.shallow(b);
        match (&x, &y) {
            (Type::Never, _) => Some(y),
            (_, Type::Never) => Some(x),
            (Type::Error, _) | (_, Type::Error) => Some(Type::Error),
            // Everything else fits in an `Any` (checked where it is boxed).
            (Type::Any, Type::Var(_)) | (Type::Var(_), Type::Any) => {
                self.unify(&x, &y);
                Some(Type::Any)
            }
            (Type::Any, _) | (_, Type::Any) => Some(Type::Any),
            (Type::Int, Type::Float) | (Type::Float, Type::Int) => Some(Type::Float),
            (Type::Null, Type::Null) => Some(Type::Null),
            (Type::Null, Type::Var(_)) | (Type::Var(_), Type::Null) => {
                // Unknown so far: keep the variable and let later uses decide; `null` fits
                // once it is made nullable.
                let v = if matches!(x, Type::Var(_)) { x } else { y };
                Some(v)
            }
            (Type::Null, other) | (other, Type::Null) => Some(Type::nullable(other.clone())),
            (Type::Nullable(inner), other) | (other, Type::Nullable(inner)) if !matches!(other, Type::Nullable(_)) => {
                let j = self.join(inner, other)?;
                Some(Type::nullable(j))
            }
            _ => {
                if self.unify(&x, &y) {
                    Some(self.resolve(&x))
                } else {
                    None
                }
            }
        }
    }
}

fn default_vars(t: Type) -> Type {
    match t {
        Type::Var(_) => Type::Null,
        Type::List(e) => Type::List(Box::new(default_vars(*e))),
        Type::Map(k, v) => Type::Map(Box::new(default_vars(*k)), Box::new(default_vars(*v))),
        Type::Result(a, b) => Type::Result(Box::new(default_vars(*a)), Box::new(default_vars(*b))),
        Type::Nullable(e) => Type::nullable(default_vars(*e)),
        Type::Future(e) => Type::Future(Box::new(default_vars(*e))),
        Type::Fn(ps, r) => Type::Fn(ps.into_iter().map(default_vars).collect(), Box::new(default_vars(*r))),
        Type::Tuple(ts) => Type::Tuple(ts.into_iter().map(default_vars).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unify_solves_nested_variables() {
        let mut u = Unifier::default();
        let a = u.fresh();
        let b = u.fresh();
        assert!(u.unify(&Type::list(a.clone()), &Type::list(Type::map(Type::Str, b.clone()))));
        assert!(u.unify(&b, &Type::Int));
        assert_eq!(u.resolve(&a), Type::map(Type::Str, Type::Int));
    }

    #[test]
    fn occurs_check_refuses_infinite_types() {
        let mut u = Unifier::default();
        let a = u.fresh();
        assert!(!u.unify(&a, &Type::list(a.clone())));
    }

    #[test]
    fn failed_try_unify_leaves_no_bindings() {
        let mut u = Unifier::default();
        let a = u.fresh();
        let b = u.fresh();
        // Binds `a` to Int, then fails on Str vs Bool: `a` must be free again.
        assert!(!u.try_unify(&Type::map(a.clone(), Type::Str), &Type::map(Type::Int, Type::Bool)));
        assert_eq!(u.resolve(&a), a);
        assert!(u.try_unify(&b, &Type::Float));
        assert_eq!(u.resolve(&b), Type::Float);
    }

    #[test]
    fn join_widens() {
        let mut u = Unifier::default();
        assert_eq!(u.join(&Type::Int, &Type::Float), Some(Type::Float));
        assert_eq!(u.join(&Type::Null, &Type::Str), Some(Type::nullable(Type::Str)));
        assert_eq!(u.join(&Type::Never, &Type::Str), Some(Type::Str));
        assert_eq!(u.join(&Type::Str, &Type::Int), None);
    }
}
