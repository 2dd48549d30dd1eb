use super::*;

#[test]
fn repeated_parameters_are_refused() {
    assert!(Form::parse(b"a=1&b=2").is_ok());
    let err = Form::parse(b"scope=a&scope=b").err().unwrap();
    assert!(err.description.contains("scope"), "{}", err.description);
}

#[test]
fn empty_values_count_as_absent_and_encoding_is_decoded() {
    let f = Form::parse(b"a=&b=x%20y+z&c=%ZZ").unwrap();
    assert_eq!(f.get("a"), None);
    assert_eq!(f.get("b"), Some("x y z"));
    assert!(
        f.get("c").is_some(),
        "bad percent-encoding is kept literally, not a crash"
    );
    assert!(f.require("zz").is_err());
}
