//! Round trips of every SDP under tests/vectors/ (real browser output) and
//! tests/fixtures/: SDP -> model -> Jingle -> model -> SDP -> model.

use std::path::{Path, PathBuf};

use sdp_map::{Action, Direction, Dtls, Ice, Jingle, Role, SdpType, Session, ToSdp};

fn sdp_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sdp"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn without_origin(mut s: Session) -> Session {
    s.origin = None;
    s
}

/// What Jingle carries of a session: a rejected content has no direction, ICE or DTLS.
fn as_in_jingle(s: Session) -> Session {
    let mut s = without_origin(s);
    for c in s.contents.iter_mut().filter(|c| c.rejected) {
        c.direction = Direction::Inactive;
        c.ice = Ice::default();
        c.dtls = Dtls::default();
    }
    s
}

fn sdp_type_of(path: &Path) -> SdpType {
    if path.to_string_lossy().contains("answer") {
        SdpType::Answer
    } else {
        SdpType::Offer
    }
}

fn check_file(path: &Path) {
    let text = std::fs::read_to_string(path).expect("read vector");
    let name = path.display();
    let m1 = Session::parse_sdp(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!m1.contents.is_empty(), "{name}: no contents");
    // SDP -> model -> SDP -> model keeps everything, origin included
    let again = Session::parse_sdp(&m1.to_sdp()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(again, m1, "{name}: SDP round trip");
    for from in [Role::Initiator, Role::Responder] {
        let j = Jingle {
            initiator: Some("a@example.org/r".into()),
            sdp_from: Some(from),
            session: m1.clone(),
            ..Jingle::new(Action::SessionInitiate, "sid1")
        };
        let xml = j.to_xml();
        let to_sdp = ToSdp {
            sdp_type: sdp_type_of(path),
            from: Some(from),
        };
        let m2 = Jingle::parse(&xml, &to_sdp)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .session;
        assert_eq!(
            m2,
            as_in_jingle(m1.clone()),
            "{name}: Jingle round trip ({from:?})"
        );
        let sdp3 = m2.to_sdp();
        assert!(sdp3.ends_with("\r\n") && !sdp3.replace("\r\n", "").contains('\n'));
        let m3 = Session::parse_sdp(&sdp3).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            without_origin(m3),
            as_in_jingle(m1.clone()),
            "{name}: SDP -> Jingle -> SDP ({from:?})"
        );
    }
}

#[test]
fn vectors_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files = sdp_files(&dir);
    if dir.exists() {
        assert!(
            !files.is_empty(),
            "tests/vectors exists but has no .sdp file"
        );
    }
    let fixtures = sdp_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    assert!(!fixtures.is_empty(), "no fixtures");
    files.extend(fixtures);
    for f in &files {
        check_file(f);
    }
    println!("{} SDP files round-tripped", files.len());
}
