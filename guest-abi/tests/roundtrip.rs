//! Property: any value of any manifest type, written by `guest_abi::value` at any base
//! address and read back, is equal to itself; and reading arbitrary bytes never panics.

use guest_abi::types::{FieldType, RecordType, ValueType, any_json_types};
use guest_abi::value::{Slot, Types, Value, read_value, write_value};
use proptest::prelude::*;

fn records() -> Vec<RecordType> {
    let f = |name: &str, ty: ValueType| FieldType { name: name.into(), ty, hidden: false, has_default: false };
    vec![
        RecordType { name: "User".into(), fields: vec![f("id", ValueType::Int), f("name", ValueType::Str), f("admin", ValueType::Bool)] },
        RecordType {
            name: "Mixed".into(),
            fields: vec![
                f("b", ValueType::Bool),
                f("score", ValueType::nullable(ValueType::Float)),
                f("when", ValueType::DateTime),
                f("tags", ValueType::list(ValueType::Str)),
                f("owner", ValueType::nullable(ValueType::Record { id: 0 })),
            ],
        },
        RecordType { name: "Empty".into(), fields: vec![] },
    ]
}

/// What `Any` values may hold here: the JSON types, and a few more.
fn any_table() -> Vec<ValueType> {
    let mut t = any_json_types().to_vec();
    t.extend([ValueType::Record { id: 0 }, ValueType::list(ValueType::Int), ValueType::DateTime]);
    t
}

fn scalar_type() -> impl Strategy<Value = ValueType> {
    prop_oneof![
        Just(ValueType::Any),
        Just(ValueType::Int),
        Just(ValueType::Float),
        Just(ValueType::Bool),
        Just(ValueType::Str),
        Just(ValueType::Null),
        Just(ValueType::DateTime),
        Just(ValueType::Date),
        Just(ValueType::Uuid),
        Just(ValueType::Bytes),
        Just(ValueType::Record { id: 0 }),
        Just(ValueType::Record { id: 1 }),
        Just(ValueType::Record { id: 2 }),
    ]
}

fn value_type() -> impl Strategy<Value = ValueType> {
    scalar_type().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(ValueType::list),
            (prop_oneof![Just(ValueType::Str), Just(ValueType::Int), Just(ValueType::Bool)], inner.clone()).prop_map(|(k, v)| ValueType::map(k, v)),
            inner.clone().prop_filter("no nested nullables", |t| !matches!(t, ValueType::Nullable { .. } | ValueType::Null)).prop_map(ValueType::nullable),
            (inner.clone(), inner).prop_map(|(o, e)| ValueType::result(o, e)),
        ]
    })
}

fn value_of(ty: &ValueType, records: &[RecordType]) -> BoxedStrategy<Value> {
    match ty {
        ValueType::Int => any::<i64>().prop_map(Value::Int).boxed(),
        ValueType::DateTime => any::<i64>().prop_map(Value::DateTime).boxed(),
        ValueType::Date => any::<i64>().prop_map(Value::Date).boxed(),
        ValueType::Float => any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan()).prop_map(Value::Float).boxed(),
        ValueType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        ValueType::Str | ValueType::Uuid | ValueType::Secret => "\\PC{0,12}".prop_map(Value::Str).boxed(),
        ValueType::Bytes => prop::collection::vec(any::<u8>(), 0..12).prop_map(Value::Bytes).boxed(),
        ValueType::Null => Just(Value::Null).boxed(),
        ValueType::List { item } => prop::collection::vec(value_of(item, records), 0..4).prop_map(Value::List).boxed(),
        ValueType::Map { key, value } => prop::collection::vec((value_of(key, records), value_of(value, records)), 0..4).prop_map(Value::Map).boxed(),
        ValueType::Nullable { inner } => prop_oneof![Just(Value::Null), value_of(inner, records)].boxed(),
        ValueType::Result { ok, err } => {
            prop_oneof![value_of(ok, records).prop_map(|v| Value::Ok(Box::new(v))), value_of(err, records).prop_map(|v| Value::Err(Box::new(v))),].boxed()
        }
        ValueType::Record { id } => {
            let fields: Vec<BoxedStrategy<Value>> = records[*id as usize].fields.iter().map(|f| value_of(&f.ty, records)).collect();
            fields.prop_map(Value::Record).boxed()
        }
        // A JSON list or object holds more `Any`s: kept shallow here, scalars only.
        ValueType::Any => prop::sample::select(
            any_table().into_iter().filter(|t| !matches!(t, ValueType::List { item } | ValueType::Map { value: item, .. } if **item == ValueType::Any)).collect::<Vec<_>>(),
        )
        .prop_flat_map({
            let records = records.to_vec();
            move |ty| value_of(&ty, &records).prop_map(move |v| Value::Any { ty: ty.clone(), value: Box::new(v) })
        })
        .boxed(),
    }
}

fn typed_value() -> impl Strategy<Value = (ValueType, Value)> {
    value_type().prop_flat_map(|ty| {
        let v = value_of(&ty, &records());
        (Just(ty), v)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn written_values_read_back_equal((ty, v) in typed_value(), base in 8u32..100_000) {
        let (records, any) = (records(), any_table());
        let types = Types { records: &records, any: &any };
        let base = base * 8;
        let (bytes, slot) = write_value(types, &ty, &v, base).expect("write");
        let mut mem = vec![0u8; base as usize];
        mem.extend_from_slice(&bytes);
        let back = read_value(&mem, types, &ty, slot).expect("read");
        prop_assert_eq!(back, v);
    }

    #[test]
    fn reading_garbage_never_panics(ty in value_type(), mem in prop::collection::vec(any::<u8>(), 0..512), p in any::<u32>()) {
        let (records, any) = (records(), any_table());
        let types = Types { records: &records, any: &any };
        let _ = read_value(&mem, types, &ty, Slot::I32(p % 600));
        let _ = read_value(&mem, types, &ty, Slot::I64(i64::from(p)));
    }
}
