use super::{encodes_control, has_control};

#[test]
fn finds_percent_encoded_control_characters() {
    for bad in ["/t/%00/x", "a=%0a", "a=%0D", "%1f", "x%7F", "x%7f"] {
        assert!(encodes_control(bad), "{bad}");
    }
    for good in [
        "/t/acme/oauth2/token",
        "a=%20b",
        "%41",
        "100%",
        "%2",
        "%c3%a9",
        "%80",
    ] {
        assert!(!encodes_control(good), "{good}");
    }
}

#[test]
fn finds_control_characters() {
    assert!(has_control("a\0b"));
    assert!(has_control("a\nb"));
    assert!(has_control("\u{7f}"));
    assert!(!has_control("bob@acmé.example"));
}
