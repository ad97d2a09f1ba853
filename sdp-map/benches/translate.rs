//! Microseconds per translation, both directions, for every SDP under
//! tests/vectors/ and tests/fixtures/.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use sdp_map::{jingle_to_sdp, sdp_to_jingle, Action, Jingle, Role, SdpType, ToSdp};

fn files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut out = Vec::new();
    for dir in ["vectors", "fixtures"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sdp"))
            .collect();
        paths.sort();
        for p in paths {
            if let Ok(t) = std::fs::read_to_string(&p) {
                let name = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((name, t));
            }
        }
    }
    out
}

/// Options as web/test/lib/vectors.js gives them to the JS translators: the offerer is the
/// initiator; an answer is a `session-accept` written by the responder.
fn options(answer: bool) -> (Jingle, ToSdp) {
    let role = if answer {
        Role::Responder
    } else {
        Role::Initiator
    };
    let action = if answer {
        Action::SessionAccept
    } else {
        Action::SessionInitiate
    };
    let envelope = Jingle {
        initiator: Some("romeo@example.net/orchard".into()),
        responder: Some("juliet@example.com/balcony".into()),
        sdp_from: Some(role),
        ..Jingle::new(action, "vector-sid")
    };
    let to_sdp = ToSdp {
        sdp_type: if answer {
            SdpType::Answer
        } else {
            SdpType::Offer
        },
        from: Some(role),
    };
    (envelope, to_sdp)
}

fn bench(c: &mut Criterion) {
    for (name, sdp) in files() {
        let (opts, to) = options(name.ends_with("answer"));
        let Ok(xml) = sdp_to_jingle(&sdp, opts.clone()) else {
            continue;
        };
        c.bench_function(&format!("sdp_to_jingle/{name}"), |b| {
            b.iter(|| sdp_to_jingle(std::hint::black_box(&sdp), opts.clone()))
        });
        c.bench_function(&format!("jingle_to_sdp/{name}"), |b| {
            b.iter(|| jingle_to_sdp(std::hint::black_box(&xml), &to))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1))
        .sample_size(20);
    targets = bench
}
criterion_main!(benches);
